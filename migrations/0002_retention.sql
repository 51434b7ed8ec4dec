-- How long the time-series store keeps a client's samples (the seed's 90 days by default).
ALTER TABLE clients ADD COLUMN retention_days INTEGER NOT NULL DEFAULT 90 CHECK (retention_days BETWEEN 1 AND 3650);
