//! The recorder keeps every latency sample until something folds it into
//! its histogram; with no Prometheus scraping, only the upkeep loop does.
//! A binary of its own, so no other test's allocations move the resident
//! size it reads.

use std::time::Duration;

/// Resident size of this process, in kB.
fn rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status")
}

#[tokio::test(start_paused = true)]
async fn unscraped_latency_samples_do_not_pile_up() {
    // 4,000,000 samples held until a scrape are 32 MB or more; recorded
    // 500,000 between upkeeps, at most about 8 MB wait at any time.
    const SAMPLES: u32 = 4_000_000;
    const BETWEEN: u32 = 500_000;
    let every = Duration::from_millis(5);
    let _upkeep = gateway::telemetry::spawn_metrics_upkeep(every);
    let seconds = metrics::histogram!("waitroom_upkeep_test_seconds");
    seconds.record(0.001);
    let before = rss_kb();
    for i in 0..SAMPLES {
        seconds.record(f64::from(i % 1_000) / 1e6);
        if i % BETWEEN == BETWEEN - 1 {
            // The clock is paused: the upkeep runs exactly when its
            // period has passed and this task lets it.
            tokio::time::advance(every).await;
            tokio::task::yield_now().await;
        }
    }
    let grown = rss_kb().saturating_sub(before);
    assert!(grown < 24_000, "{grown} kB more after {SAMPLES} samples");
    // Folded, not dropped: the scrape counts every sample.
    let text = gateway::telemetry::metrics_handle().render();
    let count = text
        .lines()
        .find_map(|l| l.strip_prefix("waitroom_upkeep_test_seconds_count "))
        .and_then(|v| v.trim().parse::<u64>().ok());
    assert_eq!(count, Some(u64::from(SAMPLES) + 1), "{text}");
}
