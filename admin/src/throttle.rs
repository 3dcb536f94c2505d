//! Guessing budgets for operator logins and for bearer keys.
//!
//! Every attempt is counted *before* its password or key is checked, under
//! one lock, so parallel attempts cannot all slip in while earlier ones are
//! still being verified; a success gives its count back. Limits:
//!
//! - per (account, client address): a few free attempts, then a wait that
//!   doubles per failure. An attacker elsewhere cannot lock the owner out.
//! - per client address, over all accounts: more free attempts (an office
//!   NAT), then the same doubling wait.
//! - per account, over all addresses: never a refusal, only a delay before
//!   the check, growing with recent failures, so a guesser spread over many
//!   addresses is slowed while the owner still gets in.
//! - per client address, for bearer credentials that are not valid session
//!   tokens (the operator key, API keys, garbage).
//!
//! Counters live in this process: with several admin processes each keeps
//! its own budget, so the budgets above are per process.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Free attempts per (account, address) before the wait starts.
pub const FREE_PER_ACCOUNT_ADDRESS: u32 = 3;
/// Free attempts per address over all accounts.
pub const FREE_PER_ADDRESS: u32 = 10;
/// Failures on one account (from anywhere) before checks are delayed.
pub const FREE_PER_ACCOUNT: u32 = 10;
/// Failed bearer credentials per address before the wait starts.
pub const FREE_BEARER_PER_ADDRESS: u32 = 20;
/// The doubling wait stops growing here.
const MAX_WAIT: Duration = Duration::from_secs(300);
/// The per-account delay starts here and doubles up to [`MAX_DELAY`].
const DELAY_STEP: Duration = Duration::from_millis(250);
/// Longest delay added to a login on a much-guessed account.
pub const MAX_DELAY: Duration = Duration::from_secs(3);
/// Counters idle (and unlocked) this long are forgotten.
const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);
/// Above this many counters, idle ones are dropped (a spray of made-up
/// emails must not grow memory without bound).
const MAX_ENTRIES: usize = 100_000;

/// Which budget refused or locked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// One account from one address.
    AccountAddress,
    /// One address, all accounts.
    Address,
    /// Bearer credentials from one address.
    Bearer,
}

impl Scope {
    /// Name in the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AccountAddress => "account_address",
            Self::Address => "address",
            Self::Bearer => "bearer",
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    count: u32,
    until: Instant,
    last: Instant,
}

/// A budget that blocks once its free attempts are used.
#[derive(Debug, Clone)]
struct Lockable {
    key: String,
    free: u32,
    scope: Scope,
}

/// A counted attempt; hand it back with [`Throttle::settle`].
#[derive(Debug)]
#[must_use = "settle the attempt so a success gives its count back"]
pub struct Attempt {
    locking: Vec<Lockable>,
    account: Option<String>,
    /// Wait this long before checking (a much-guessed account).
    pub delay: Duration,
    /// Budgets this attempt used up, each with the wait it started: a
    /// lockout to audit if the attempt fails.
    pub locks: Vec<(Scope, u64)>,
}

/// The budgets of one admin API.
#[derive(Debug)]
pub struct Throttle {
    entries: Mutex<HashMap<String, Entry>>,
    bearer_free: u32,
}

impl Default for Throttle {
    fn default() -> Self {
        Self::with_bearer_budget(FREE_BEARER_PER_ADDRESS)
    }
}

/// What limits are counted under: the address, or its /64 for IPv6 (one
/// subscriber usually holds a whole /64).
fn address(ip: Option<IpAddr>) -> String {
    match ip.map(|ip| ip.to_canonical()) {
        None => "unknown".to_owned(),
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(IpAddr::V6(v6)) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            format!("{}/64", Ipv6Addr::from(bits))
        }
    }
}

fn doubling(count: u32, free: u32, step: Duration, max: Duration) -> Duration {
    let doublings = count.saturating_sub(free).min(16);
    step.saturating_mul(1u32 << doublings).min(max)
}

impl Throttle {
    /// Budgets with `free` failed bearer credentials per address before
    /// the wait starts (the other budgets are fixed).
    pub fn with_bearer_budget(free: u32) -> Self {
        Self {
            entries: Mutex::default(),
            bearer_free: free,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts a login attempt for `email` from `ip`, or refuses it with the
    /// seconds to wait.
    pub fn login(&self, email: &str, ip: Option<IpAddr>) -> Result<Attempt, u64> {
        let addr = address(ip);
        let locking = vec![
            Lockable {
                key: format!("login:{addr}:{email}"),
                free: FREE_PER_ACCOUNT_ADDRESS,
                scope: Scope::AccountAddress,
            },
            Lockable {
                key: format!("login:{addr}"),
                free: FREE_PER_ADDRESS,
                scope: Scope::Address,
            },
        ];
        self.reserve(locking, Some(format!("account:{email}")))
    }

    /// Counts a bearer credential check from `ip`, or refuses it.
    pub fn bearer(&self, ip: Option<IpAddr>) -> Result<Attempt, u64> {
        let locking = vec![Lockable {
            key: format!("bearer:{}", address(ip)),
            free: self.bearer_free,
            scope: Scope::Bearer,
        }];
        self.reserve(locking, None)
    }

    fn reserve(&self, locking: Vec<Lockable>, account: Option<String>) -> Result<Attempt, u64> {
        let now = Instant::now();
        let mut map = self.lock();
        if map.len() > MAX_ENTRIES {
            map.retain(|_, e| e.until > now || now.duration_since(e.last) < FORGET_AFTER);
        }
        let fresh = |map: &mut HashMap<String, Entry>, key: &str| {
            let e = map.entry(key.to_owned()).or_insert(Entry {
                count: 0,
                until: now,
                last: now,
            });
            if e.until <= now && now.duration_since(e.last) >= FORGET_AFTER {
                e.count = 0;
            }
            *e
        };
        // Refuse before counting anything, so a refused attempt costs the
        // caller's budgets nothing more.
        let mut wait = Duration::ZERO;
        for l in &locking {
            let e = fresh(&mut map, &l.key);
            if e.until > now {
                wait = wait.max(e.until - now);
            }
        }
        if !wait.is_zero() {
            return Err(wait.as_secs() + 1);
        }
        let mut locks = Vec::new();
        for l in &locking {
            if let Some(e) = map.get_mut(&l.key) {
                e.count += 1;
                e.last = now;
                if e.count >= l.free {
                    let w = doubling(e.count, l.free, Duration::from_secs(1), MAX_WAIT);
                    e.until = now + w;
                    locks.push((l.scope, w.as_secs()));
                }
            }
        }
        let mut delay = Duration::ZERO;
        if let Some(key) = &account {
            fresh(&mut map, key);
            if let Some(e) = map.get_mut(key) {
                if e.count >= FREE_PER_ACCOUNT {
                    delay = doubling(e.count, FREE_PER_ACCOUNT, DELAY_STEP, MAX_DELAY);
                }
                e.count += 1;
                e.last = now;
            }
        }
        Ok(Attempt {
            locking,
            account,
            delay,
            locks,
        })
    }

    /// Ends an attempt: a failure keeps its count; a success gives it back
    /// (lifting a wait it started) and starts the (account, address)
    /// budget afresh.
    pub fn settle(&self, attempt: Attempt, ok: bool) {
        if ok {
            self.undo(&attempt, true);
        }
    }

    /// Gives back an attempt that was never checked (the check itself
    /// could not run: database down, hashing busy).
    pub fn give_back(&self, attempt: Attempt) {
        self.undo(&attempt, false);
    }

    fn undo(&self, attempt: &Attempt, succeeded: bool) {
        let now = Instant::now();
        let mut map = self.lock();
        for l in &attempt.locking {
            if succeeded && l.scope == Scope::AccountAddress {
                map.remove(&l.key);
            } else if let Some(e) = map.get_mut(&l.key) {
                e.count = e.count.saturating_sub(1);
                if e.count < l.free {
                    e.until = e.until.min(now);
                }
            }
        }
        if let Some(e) = attempt.account.as_ref().and_then(|k| map.get_mut(k)) {
            e.count = e.count.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        s.parse().ok()
    }

    #[test]
    fn one_address_locks_only_itself_and_the_account_is_only_slowed() {
        let t = Throttle::default();
        let attacker = ip("192.0.2.1");
        for _ in 0..FREE_PER_ACCOUNT_ADDRESS {
            let a = t.login("owner@x", attacker).expect("free attempt");
            t.settle(a, false);
        }
        assert!(t.login("owner@x", attacker).is_err(), "pair locked");
        let owner = t.login("owner@x", ip("198.51.100.7")).expect("owner");
        assert_eq!(owner.delay, Duration::ZERO);
        t.settle(owner, true);

        // Failures spread over many addresses slow the account, never block.
        for n in 0..20u8 {
            let a = t
                .login("owner@x", ip(&format!("203.0.113.{n}")))
                .expect("fresh address");
            t.settle(a, false);
        }
        let owner = t.login("owner@x", ip("198.51.100.7")).expect("owner");
        assert_eq!(owner.delay, MAX_DELAY);
    }

    #[test]
    fn attempts_are_counted_before_they_finish() {
        let t = Throttle::default();
        let a = ip("192.0.2.2");
        // Nothing settled yet: the budget is spent by attempts in flight.
        let inflight: Vec<_> = (0..FREE_PER_ACCOUNT_ADDRESS)
            .map(|_| t.login("o@x", a).expect("free"))
            .collect();
        assert!(t.login("o@x", a).is_err());
        assert_eq!(inflight.last().map(|i| i.locks.len()), Some(1));
        for i in inflight {
            t.settle(i, true);
        }
        assert!(t.login("o@x", a).is_ok(), "successes give the count back");
    }

    #[test]
    fn ipv6_addresses_share_their_64() {
        let t = Throttle::default();
        for n in 0..FREE_BEARER_PER_ADDRESS {
            let a = t.bearer(ip(&format!("2001:db8:1:2::{n:x}"))).expect("free");
            t.settle(a, false);
        }
        assert!(t.bearer(ip("2001:db8:1:2::ffff")).is_err());
        assert!(t.bearer(ip("2001:db8:1:3::1")).is_ok());
    }
}
