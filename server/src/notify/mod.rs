//! Notifications (Alertmanager's part): the durable outbox every mail and message goes through,
//! the error mails of thresholds to the client's people, and the client's other channels (a team
//! address, webhooks, Slack, PagerDuty).

pub mod alert;
pub mod channels;
pub mod inhibit;
pub mod outbox;
pub mod preferences;
pub mod quiet_hours;
pub mod timing;
