//! Failed-login limits per account and per client address.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

struct Window {
    max: u32,
    failures: HashMap<String, VecDeque<Instant>>,
}

impl Window {
    /// How long until one more attempt is allowed, if the key is at its limit.
    fn wait(&mut self, key: &str, now: Instant, window: Duration) -> Option<Duration> {
        let failures = self.failures.get_mut(key)?;
        while failures.front().is_some_and(|t| now.duration_since(*t) >= window) {
            failures.pop_front();
        }
        if failures.len() < self.max as usize {
            return None;
        }
        let oldest = *failures.front()?;
        Some(window.saturating_sub(now.duration_since(oldest)))
    }

    fn record(&mut self, key: &str, now: Instant, window: Duration) {
        if self.failures.len() > 100_000 {
            self.failures
                .retain(|_, f| f.back().is_some_and(|t| now.duration_since(*t) < window));
        }
        self.failures.entry(key.to_string()).or_default().push_back(now);
    }
}

pub struct LoginLimiter {
    window: Duration,
    state: Mutex<(Window, Window)>,
}

impl LoginLimiter {
    pub fn new(max_per_account: u32, max_per_ip: u32, window: Duration) -> LoginLimiter {
        LoginLimiter {
            window,
            state: Mutex::new((
                Window {
                    max: max_per_account,
                    failures: HashMap::new(),
                },
                Window {
                    max: max_per_ip,
                    failures: HashMap::new(),
                },
            )),
        }
    }

    /// `Err(wait)` when the account or the address must wait before trying again.
    pub fn check(&self, account: &str, ip: IpAddr) -> Result<(), Duration> {
        let now = Instant::now();
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let by_account = state.0.wait(account, now, self.window);
        let by_ip = state.1.wait(&ip.to_string(), now, self.window);
        match by_account.max(by_ip) {
            Some(wait) => Err(wait),
            None => Ok(()),
        }
    }

    pub fn record_failure(&self, account: &str, ip: IpAddr) {
        let now = Instant::now();
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.0.record(account, now, self.window);
        state.1.record(&ip.to_string(), now, self.window);
    }

    pub fn clear_account(&self, account: &str) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.0.failures.remove(account);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_an_account_after_its_limit_and_an_address_after_its_own() {
        let limiter = LoginLimiter::new(2, 3, Duration::from_secs(60));
        let ip: IpAddr = [10, 0, 0, 1].into();
        limiter.record_failure("a@x.de", ip);
        assert!(limiter.check("a@x.de", ip).is_ok());
        limiter.record_failure("a@x.de", ip);
        let wait = limiter.check("a@x.de", ip).unwrap_err();
        assert!(wait > Duration::from_secs(50) && wait <= Duration::from_secs(60));
        assert!(limiter.check("b@x.de", ip).is_ok(), "other accounts are not locked yet");
        limiter.record_failure("b@x.de", ip);
        assert!(limiter.check("c@x.de", ip).is_err(), "the address reached its limit");
        assert!(limiter.check("c@x.de", [10, 0, 0, 2].into()).is_ok());
        limiter.clear_account("a@x.de");
        assert!(limiter.check("a@x.de", [10, 0, 0, 3].into()).is_ok());
    }

    #[test]
    fn failures_expire_with_the_window() {
        let limiter = LoginLimiter::new(1, 10, Duration::from_millis(20));
        let ip: IpAddr = [10, 0, 0, 1].into();
        limiter.record_failure("a@x.de", ip);
        assert!(limiter.check("a@x.de", ip).is_err());
        std::thread::sleep(Duration::from_millis(30));
        assert!(limiter.check("a@x.de", ip).is_ok());
    }
}
