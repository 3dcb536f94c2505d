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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unscraped_latency_samples_do_not_pile_up() {
    // 4,000,000 samples held until a scrape are 32 MB or more.
    const SAMPLES: u32 = 4_000_000;
    let _upkeep = gateway::telemetry::spawn_metrics_upkeep(Duration::from_millis(5));
    let seconds = metrics::histogram!("waitroom_upkeep_test_seconds");
    seconds.record(0.001);
    let before = rss_kb();
    for i in 0..SAMPLES {
        seconds.record(f64::from(i % 1_000) / 1e6);
        if i % 100_000 == 0 {
            // Lets the upkeep catch up on a machine with one free core.
            tokio::task::yield_now().await;
        }
    }
    let grown = rss_kb().saturating_sub(before);
    assert!(grown < 12_000, "{grown} kB more after {SAMPLES} samples");
    // Folded, not dropped: the scrape counts every sample.
    let text = gateway::telemetry::metrics_handle().render();
    let count = text
        .lines()
        .find_map(|l| l.strip_prefix("waitroom_upkeep_test_seconds_count "))
        .and_then(|v| v.trim().parse::<u64>().ok());
    assert_eq!(count, Some(u64::from(SAMPLES) + 1), "{text}");
}
