//! Notifications (Alertmanager's part): today the durable outbox every mail goes through, and
//! the error mails of thresholds to the client's people.

pub mod alert;
pub mod outbox;
pub mod preferences;
