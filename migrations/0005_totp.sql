-- A second factor for a login (RFC 6238 TOTP), offered to agency roles: the shared secret
-- sealed with the secret key (context "users.totp user ID"), and the last time step a code
-- was accepted for, so a code works once.
ALTER TABLE users ADD COLUMN totp_secret TEXT;
ALTER TABLE users ADD COLUMN totp_last_step INTEGER NOT NULL DEFAULT 0;
