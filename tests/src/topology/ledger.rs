//! What the driver saw: every 5xx with its time, the restart windows in
//! which 5xx are expected, and the failures that fail the run.

use std::sync::Mutex;
use std::time::Instant;

/// Shared record of the run.
pub struct Ledger {
    started: Instant,
    errors: Mutex<Vec<(f64, String)>>,
    windows: Mutex<Vec<(f64, f64, &'static str)>>,
    failures: Mutex<Vec<String>>,
}

impl Default for Ledger {
    fn default() -> Self {
        Self {
            started: Instant::now(),
            errors: Mutex::default(),
            windows: Mutex::default(),
            failures: Mutex::default(),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Ledger {
    /// Seconds since the run started.
    pub fn now(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// Records an answer's status; keeps 5xx (and 5xx-like handshake
    /// failures) with what was asked.
    pub fn status(&self, status: u16, what: &str) {
        if status >= 500 {
            lock(&self.errors).push((self.now(), format!("{status} {what}")));
        }
    }

    /// Opens a window in which restarts make 5xx expected; returns its start.
    pub fn window_start(&self) -> f64 {
        self.now()
    }

    /// Closes a window opened at `start`, with `settle` seconds more for
    /// the load balancer to notice the process is back.
    pub fn window_end(&self, start: f64, settle: f64, name: &'static str) {
        let end = self.now() + settle;
        lock(&self.windows).push((start, end, name));
    }

    /// A failure of what the topology promises.
    pub fn fail(&self, message: impl Into<String>) {
        let m = message.into();
        eprintln!("FAIL: {m}");
        lock(&self.failures).push(m);
    }

    /// (5xx inside restart windows, 5xx outside them with examples).
    pub fn server_errors(&self) -> (usize, Vec<String>) {
        let windows = lock(&self.windows).clone();
        let mut inside = 0;
        let mut outside = Vec::new();
        for (at, what) in lock(&self.errors).iter() {
            if windows.iter().any(|(s, e, _)| at >= s && at <= e) {
                inside += 1;
            } else {
                outside.push(format!("{what} at {at:.1}s"));
            }
        }
        (inside, outside)
    }

    /// The restart windows, for the report.
    pub fn windows(&self) -> Vec<(f64, f64, &'static str)> {
        lock(&self.windows).clone()
    }

    /// Every failure recorded.
    pub fn failures(&self) -> Vec<String> {
        lock(&self.failures).clone()
    }
}
