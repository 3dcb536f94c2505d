//! Rate limits per route class, keyed per client IP group and per visitor
//! (governor's keyed GCRA limiters, in process).
//!
//! Each process keeps its own budgets: with N processes behind a load
//! balancer a client can spend up to N budgets (README, "Bots and abuse").
//! The limits that must hold across processes — places per IP, CAPTCHA
//! replay — live in Redis instead (`places`, `replay`).

use super::client_ip::IpGroup;
use super::settings::{RateLimitSettings, RouteLimit};
use axum::http::{HeaderMap, HeaderValue, Method};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use std::num::NonZeroU32;
use std::time::Duration;

/// The routes that have their own budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RouteClass {
    /// Taking a place.
    Join,
    /// Polling the position.
    Status,
    /// Opening the live-position socket.
    Ws,
    /// Fetching a CAPTCHA challenge.
    Challenge,
    /// Holding seats.
    Hold,
    /// Starting payment.
    Checkout,
    /// Signing in.
    Login,
    /// Creating an account.
    Register,
}

impl RouteClass {
    /// Every class, in a fixed order (the limiter table's index).
    pub const ALL: [RouteClass; 8] = [
        Self::Join,
        Self::Status,
        Self::Ws,
        Self::Challenge,
        Self::Hold,
        Self::Checkout,
        Self::Login,
        Self::Register,
    ];

    /// The label in metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Join => "join",
            Self::Status => "status",
            Self::Ws => "ws",
            Self::Challenge => "challenge",
            Self::Hold => "hold",
            Self::Checkout => "checkout",
            Self::Login => "login",
            Self::Register => "register",
        }
    }

    /// The class of a request, by the route that matched (its template,
    /// as `MatchedPath` gives it) and the method. Never by the raw path:
    /// the router decodes `%6D` to `m`, and so must the edge's view of it.
    pub fn of(method: &Method, route: &str) -> Option<Self> {
        let get = method == Method::GET || method == Method::HEAD;
        let post = method == Method::POST;
        Some(match route {
            "/api/v1/queue/{event}/join" if post => Self::Join,
            "/api/v1/queue/{event}/status" if get => Self::Status,
            "/api/v1/queue/{event}/ws" if get => Self::Ws,
            "/api/v1/queue/{event}/challenge" if get => Self::Challenge,
            "/api/v1/events/{event}/holds" if post => Self::Hold,
            "/api/v1/holds/{hold}/checkout" if post => Self::Checkout,
            "/api/v1/auth/login" if post => Self::Login,
            "/api/v1/auth/register" if post => Self::Register,
            _ => return None,
        })
    }

    fn limit(self, s: &RateLimitSettings) -> RouteLimit {
        match self {
            Self::Join => s.join,
            Self::Status => s.status,
            Self::Ws => s.ws,
            Self::Challenge => s.challenge,
            Self::Hold => s.hold,
            Self::Checkout => s.checkout,
            Self::Login => s.login,
            Self::Register => s.register,
        }
    }
}

type Keyed<K> = RateLimiter<K, DefaultKeyedStateStore<K>, DefaultClock, StateInformationMiddleware>;

/// The two limiters of one class; `None` where the rate is 0.
struct ClassLimiters {
    ip: Option<Keyed<IpGroup>>,
    visitor: Option<Keyed<String>>,
}

fn quota(per_minute: u32, burst: u32) -> Option<Quota> {
    let rate = NonZeroU32::new(per_minute)?;
    let burst = NonZeroU32::new(burst.max(1))?;
    Some(Quota::per_minute(rate).allow_burst(burst))
}

/// What one check decided, and what the `RateLimit-*` headers say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Whether the request may proceed.
    pub allowed: bool,
    /// The class checked.
    pub class: RouteClass,
    /// Which key bound the decision: `ip` or `visitor`.
    pub key: &'static str,
    /// The binding key's burst size.
    pub limit: u32,
    /// Requests left in the burst after this one.
    pub remaining: u32,
    /// When refused: until the next request is allowed; else until the
    /// whole burst is back.
    pub reset: Duration,
}

impl Decision {
    /// Whole seconds for headers, rounded up so a client that waits this
    /// long is never refused for being a few milliseconds early.
    pub fn reset_seconds(&self) -> u64 {
        let s = self.reset.as_secs() + u64::from(self.reset.subsec_nanos() > 0);
        if self.allowed {
            s
        } else {
            s.max(1)
        }
    }

    /// Whether less than half of the burst is left: the "limits are near"
    /// of the `on_suspicion` CAPTCHA policy.
    pub fn near(&self) -> bool {
        self.remaining.saturating_mul(2) < self.limit
    }

    /// Writes `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset`
    /// (the IETF draft's names), plus `Retry-After` when refused.
    pub fn write_headers(&self, h: &mut HeaderMap) {
        h.insert("ratelimit-limit", HeaderValue::from(self.limit));
        h.insert("ratelimit-remaining", HeaderValue::from(self.remaining));
        h.insert("ratelimit-reset", HeaderValue::from(self.reset_seconds()));
        if !self.allowed {
            h.insert(
                axum::http::header::RETRY_AFTER,
                HeaderValue::from(self.reset_seconds()),
            );
        }
    }
}

/// Every class's limiters.
pub struct Limits {
    classes: Vec<ClassLimiters>,
    max_keys: usize,
}

impl std::fmt::Debug for Limits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limits")
            .field("keys", &self.keys())
            .finish_non_exhaustive()
    }
}

impl Limits {
    /// Limiters for `s`; `None` when rate limiting is off.
    pub fn new(s: &RateLimitSettings) -> Option<Self> {
        if !s.enabled {
            return None;
        }
        let classes = RouteClass::ALL
            .iter()
            .map(|c| {
                let l = c.limit(s);
                ClassLimiters {
                    ip: quota(l.per_ip_per_minute, l.ip_burst)
                        .map(|q| RateLimiter::keyed(q).with_middleware()),
                    visitor: quota(l.per_visitor_per_minute, l.visitor_burst)
                        .map(|q| RateLimiter::keyed(q).with_middleware()),
                }
            })
            .collect();
        Some(Self {
            classes,
            max_keys: s.max_keys.max(1_000),
        })
    }

    fn of(&self, class: RouteClass) -> &ClassLimiters {
        let i = RouteClass::ALL
            .iter()
            .position(|c| *c == class)
            .unwrap_or(0);
        &self.classes[i]
    }

    /// Spends one request of `ip` (and of `visitor`, when known) in
    /// `class`. The key with less left is the one reported.
    pub fn check(&self, class: RouteClass, ip: IpGroup, visitor: Option<&str>) -> Decision {
        let l = self.of(class);
        let mut best: Option<Decision> = None;
        if let Some(lim) = &l.ip {
            let d = decide(lim, &ip, class, "ip");
            if !d.allowed {
                return d;
            }
            best = Some(d);
        }
        if let (Some(lim), Some(v)) = (&l.visitor, visitor) {
            let d = decide(lim, &v.to_owned(), class, "visitor");
            if !d.allowed || best.is_none_or(|b| d.remaining < b.remaining) {
                best = Some(d);
            }
        }
        best.unwrap_or(Decision {
            allowed: true,
            class,
            key: "none",
            limit: 0,
            remaining: 0,
            reset: Duration::ZERO,
        })
    }

    /// Keys held over every limiter.
    pub fn keys(&self) -> usize {
        self.classes
            .iter()
            .map(|c| {
                c.ip.as_ref().map_or(0, |l| l.len()) + c.visitor.as_ref().map_or(0, |l| l.len())
            })
            .sum()
    }

    /// Forgets keys whose budget is full again (they would behave exactly
    /// like new keys), keeping memory proportional to recent clients.
    pub fn evict(&self) {
        for (c, l) in RouteClass::ALL.iter().zip(&self.classes) {
            let mut held = 0;
            if let Some(ip) = &l.ip {
                ip.retain_recent();
                ip.shrink_to_fit();
                held += ip.len();
            }
            if let Some(v) = &l.visitor {
                v.retain_recent();
                v.shrink_to_fit();
                held += v.len();
            }
            metrics::gauge!("waitroom_rate_limit_keys", "class" => c.as_str()).set(held as f64);
        }
    }

    /// Whether an eviction pass should run before the periodic one.
    pub fn crowded(&self) -> bool {
        self.keys() > self.max_keys
    }
}

fn decide<K: std::hash::Hash + Eq + Clone>(
    lim: &Keyed<K>,
    key: &K,
    class: RouteClass,
    key_kind: &'static str,
) -> Decision {
    match lim.check_key(key) {
        Ok(snap) => {
            let q = snap.quota();
            let limit = q.burst_size().get();
            let remaining = snap.remaining_burst_capacity();
            Decision {
                allowed: true,
                class,
                key: key_kind,
                limit,
                remaining,
                reset: q.replenish_interval() * (limit - remaining.min(limit)),
            }
        }
        Err(not_until) => Decision {
            allowed: false,
            class,
            key: key_kind,
            limit: not_until.quota().burst_size().get(),
            remaining: 0,
            reset: not_until.wait_time_from(DefaultClock::default().now()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_classified_by_method_and_template() {
        let c = RouteClass::of;
        assert_eq!(
            c(&Method::POST, "/api/v1/queue/{event}/join"),
            Some(RouteClass::Join)
        );
        assert_eq!(c(&Method::GET, "/api/v1/queue/{event}/join"), None);
        assert_eq!(
            c(&Method::HEAD, "/api/v1/queue/{event}/status"),
            Some(RouteClass::Status)
        );
        assert_eq!(
            c(&Method::POST, "/api/v1/holds/{hold}/checkout"),
            Some(RouteClass::Checkout)
        );
        // A concrete path is not a template: nothing is classified by it.
        assert_eq!(c(&Method::POST, "/api/v1/queue/demo/join"), None);
        assert_eq!(c(&Method::GET, "/queue/{event}"), None);
    }

    #[test]
    fn the_budget_runs_out_and_reports_itself() {
        let s = RateLimitSettings {
            join: RouteLimit::new(60, 3, 0, 0),
            ..RateLimitSettings::default()
        };
        let limits = Limits::new(&s).expect("enabled");
        let ip = IpGroup::of("1.2.3.4".parse().expect("ip"));
        let other = IpGroup::of("1.2.3.5".parse().expect("ip"));
        let seen: Vec<u32> = (0..3)
            .map(|_| limits.check(RouteClass::Join, ip, None).remaining)
            .collect();
        assert_eq!(seen, vec![2, 1, 0]);
        let refused = limits.check(RouteClass::Join, ip, None);
        assert!(!refused.allowed);
        assert_eq!((refused.limit, refused.remaining), (3, 0));
        assert_eq!(refused.reset_seconds(), 1, "one per second comes back");
        assert!(limits.check(RouteClass::Join, other, None).allowed);
    }
}
