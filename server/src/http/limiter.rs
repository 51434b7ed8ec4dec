//! Failed-login limits. An attempt is reserved (counted as a failure) before the password
//! is checked, so a burst of parallel guesses gets no more tries than slow ones; a success
//! takes its reservation back. Three limits, each over its own window:
//!
//! - per account *and* address (an IPv6 address counts by its /64): a growing delay after
//!   the third failure and a lock at `login_max_failures_per_account`, so a guesser cannot
//!   lock the real person, who signs in from elsewhere, out;
//! - per address, over all accounts (`login_max_failures_per_ip`);
//! - per account over all addresses in a day (`login_max_failures_per_account_per_day`),
//!   so guessing from many addresses stays slow.
//!
//! Each map is bounded: expired entries go first, then the least recently failed.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most keys one window remembers.
const MAX_KEYS: usize = 100_000;
/// Failures of an account and address allowed without delay; each further one doubles it.
const FREE_FAILURES: usize = 3;
const DAY: Duration = Duration::from_secs(24 * 3600);

/// The key of a client address: IPv4 as it is, IPv6 by its /64 (one household or server).
pub fn address_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

struct Window {
    max: u32,
    span: Duration,
    /// Whether the wait grows with each failure past [`FREE_FAILURES`].
    growing: bool,
    failures: HashMap<String, VecDeque<Instant>>,
}

impl Window {
    fn new(max: u32, span: Duration, growing: bool) -> Window {
        Window {
            max,
            span,
            growing,
            failures: HashMap::new(),
        }
    }

    /// How long until one more attempt is allowed, if it must wait.
    fn wait(&mut self, key: &str, now: Instant) -> Option<Duration> {
        let failures = self.failures.get_mut(key)?;
        while failures.front().is_some_and(|t| now.duration_since(*t) >= self.span) {
            failures.pop_front();
        }
        if failures.len() >= self.max as usize {
            let oldest = *failures.front()?;
            return Some(self.span.saturating_sub(now.duration_since(oldest)));
        }
        if self.growing && failures.len() >= FREE_FAILURES {
            let doublings = (failures.len() - FREE_FAILURES).min(16) as u32;
            let delay = Duration::from_secs(1 << doublings).min(self.span);
            let since = now.duration_since(*failures.back()?);
            return (since < delay).then(|| delay - since);
        }
        None
    }

    fn record(&mut self, key: &str, at: Instant) {
        if self.failures.len() >= MAX_KEYS && !self.failures.contains_key(key) {
            self.make_room(at);
        }
        self.failures.entry(key.to_string()).or_default().push_back(at);
    }

    /// Forgets expired entries, then (when still full) the eighth that failed least recently.
    fn make_room(&mut self, now: Instant) {
        let span = self.span;
        self.failures
            .retain(|_, f| f.back().is_some_and(|t| now.duration_since(*t) < span));
        if self.failures.len() < MAX_KEYS {
            return;
        }
        let mut latest: Vec<Instant> = self.failures.values().filter_map(|f| f.back().copied()).collect();
        let cut = latest.len() / 8;
        let (_, threshold, _) = latest.select_nth_unstable(cut);
        let threshold = *threshold;
        self.failures.retain(|_, f| f.back().is_some_and(|t| *t > threshold));
    }

    /// Takes back the failure recorded at `at` (a reservation that turned out a success).
    fn take_back(&mut self, key: &str, at: Instant) {
        if let Some(failures) = self.failures.get_mut(key) {
            if let Some(i) = failures.iter().rposition(|t| *t == at) {
                failures.remove(i);
            }
            if failures.is_empty() {
                self.failures.remove(key);
            }
        }
    }
}

/// At most `max` events per key in a sliding window (sign-ups to a status page by address and
/// by e-mail), bounded in memory like the login limits.
pub struct RateLimit {
    window: Mutex<Window>,
}

impl RateLimit {
    pub fn new(max: u32, span: Duration) -> RateLimit {
        RateLimit {
            window: Mutex::new(Window::new(max, span, false)),
        }
    }

    /// Counts one event of `key` unless the limit is reached; `false`: refused.
    pub fn allow(&self, key: &str) -> bool {
        let mut window = self.window.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if window.wait(key, now).is_some() {
            return false;
        }
        window.record(key, now);
        true
    }
}

struct Windows {
    account_and_ip: Window,
    ip: Window,
    account_per_day: Window,
}

/// The limits, as configured.
#[derive(Clone, Copy, Debug)]
pub struct LoginLimits {
    pub max_per_account: u32,
    pub max_per_ip: u32,
    pub max_per_account_per_day: u32,
    pub window: Duration,
}

pub struct LoginLimiter {
    state: Mutex<Windows>,
}

/// One attempt, counted as a failure until [`LoginLimiter::succeeded`] takes it back.
#[must_use]
pub struct Reservation {
    account: String,
    account_and_ip: String,
    ip: String,
    at: Instant,
}

impl LoginLimiter {
    pub fn new(limits: LoginLimits) -> LoginLimiter {
        LoginLimiter {
            state: Mutex::new(Windows {
                account_and_ip: Window::new(limits.max_per_account, limits.window, true),
                ip: Window::new(limits.max_per_ip, limits.window, false),
                account_per_day: Window::new(limits.max_per_account_per_day, DAY, false),
            }),
        }
    }

    /// Reserves an attempt for `account` from `ip`, or `Err(wait)` when it must wait first.
    pub fn begin(&self, account: &str, ip: IpAddr) -> Result<Reservation, Duration> {
        let now = Instant::now();
        let ip = address_key(ip);
        let account_and_ip = format!("{account}\u{0}{ip}");
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let wait = [
            state.account_and_ip.wait(&account_and_ip, now),
            state.ip.wait(&ip, now),
            state.account_per_day.wait(account, now),
        ]
        .into_iter()
        .flatten()
        .max();
        if let Some(wait) = wait {
            return Err(wait);
        }
        state.account_and_ip.record(&account_and_ip, now);
        state.ip.record(&ip, now);
        state.account_per_day.record(account, now);
        Ok(Reservation {
            account: account.to_string(),
            account_and_ip,
            ip,
            at: now,
        })
    }

    /// The attempt succeeded: its reservation is taken back, and the failures of this
    /// account from this address are forgotten.
    pub fn succeeded(&self, reservation: Reservation) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.account_and_ip.failures.remove(&reservation.account_and_ip);
        state.ip.take_back(&reservation.ip, reservation.at);
        state.account_per_day.take_back(&reservation.account, reservation.at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(max_per_account: u32, max_per_ip: u32, max_per_account_per_day: u32, window: Duration) -> LoginLimiter {
        LoginLimiter::new(LoginLimits {
            max_per_account,
            max_per_ip,
            max_per_account_per_day,
            window,
        })
    }

    fn fail(limiter: &LoginLimiter, account: &str, ip: IpAddr) {
        let _failed = limiter.begin(account, ip).expect("an attempt is allowed");
    }

    #[test]
    fn a_guesser_locks_the_account_only_from_its_own_address() {
        let limiter = limiter(2, 3, 20, Duration::from_secs(60));
        let guesser: IpAddr = [10, 0, 0, 1].into();
        fail(&limiter, "a@x.de", guesser);
        fail(&limiter, "a@x.de", guesser);
        let wait = limiter
            .begin("a@x.de", guesser)
            .err()
            .expect("locked from this address");
        assert!(
            wait > Duration::from_secs(50) && wait <= Duration::from_secs(60),
            "{wait:?}"
        );
        let owner: IpAddr = [10, 0, 0, 9].into();
        let attempt = limiter.begin("a@x.de", owner).expect("the real person still gets in");
        limiter.succeeded(attempt);
        fail(&limiter, "b@x.de", guesser);
        assert!(
            limiter.begin("c@x.de", guesser).is_err(),
            "the address reached its limit"
        );
        assert!(limiter.begin("c@x.de", [10, 0, 0, 2].into()).is_ok());
    }

    #[test]
    fn the_wait_grows_after_the_free_failures() {
        let limiter = limiter(10, 100, 100, Duration::from_secs(600));
        let ip: IpAddr = [10, 0, 0, 1].into();
        for _ in 0..FREE_FAILURES {
            fail(&limiter, "a@x.de", ip);
        }
        let wait = limiter
            .begin("a@x.de", ip)
            .err()
            .expect("a delay after the free failures");
        assert!(
            wait <= Duration::from_secs(1) && wait > Duration::from_millis(500),
            "{wait:?}"
        );
    }

    #[test]
    fn many_addresses_together_reach_the_daily_ceiling_of_an_account() {
        let limiter = limiter(5, 100, 4, Duration::from_secs(60));
        for i in 0..4u8 {
            fail(&limiter, "a@x.de", [10, 0, 1, i].into());
        }
        assert!(limiter.begin("a@x.de", [10, 0, 2, 1].into()).is_err());
        assert!(
            limiter.begin("b@x.de", [10, 0, 2, 1].into()).is_ok(),
            "other accounts are not affected"
        );
    }

    #[test]
    fn ipv6_addresses_count_by_their_64() {
        assert_eq!(
            address_key("2001:db8:1:2:aaaa::1".parse().unwrap()),
            "2001:db8:1:2::/64"
        );
        assert_eq!(address_key("::ffff:10.0.0.1".parse().unwrap()), "10.0.0.1");
        let limiter = limiter(2, 100, 100, Duration::from_secs(60));
        fail(&limiter, "a@x.de", "2001:db8:1:2::1".parse().unwrap());
        fail(&limiter, "a@x.de", "2001:db8:1:2::2".parse().unwrap());
        assert!(
            limiter
                .begin("a@x.de", "2001:db8:1:2:ffff::3".parse().unwrap())
                .is_err()
        );
        assert!(limiter.begin("a@x.de", "2001:db8:1:3::1".parse().unwrap()).is_ok());
    }

    #[test]
    fn a_success_takes_its_reservation_back() {
        let limiter = limiter(5, 2, 100, Duration::from_secs(60));
        let ip: IpAddr = [10, 0, 0, 1].into();
        for _ in 0..10 {
            let attempt = limiter.begin("a@x.de", ip).expect("successes never count");
            limiter.succeeded(attempt);
        }
    }

    #[test]
    fn failures_expire_with_the_window() {
        let limiter = limiter(1, 10, 10, Duration::from_millis(20));
        let ip: IpAddr = [10, 0, 0, 1].into();
        fail(&limiter, "a@x.de", ip);
        assert!(limiter.begin("a@x.de", ip).is_err());
        std::thread::sleep(Duration::from_millis(30));
        assert!(limiter.begin("a@x.de", ip).is_ok());
    }

    #[test]
    fn a_window_never_holds_more_than_its_bound() {
        let mut window = Window::new(5, Duration::from_secs(60), false);
        let start = Instant::now();
        for i in 0..(MAX_KEYS + 10) {
            window.record(&i.to_string(), start + Duration::from_millis(i as u64));
        }
        assert!(window.failures.len() <= MAX_KEYS);
        assert!(
            window.failures.contains_key(&(MAX_KEYS + 9).to_string()),
            "the newest stays"
        );
        assert!(!window.failures.contains_key("0"), "the least recent went");
    }
}
