//! Latency histograms and their summaries.

use std::sync::Mutex;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

/// Highest latency a histogram records, in microseconds; longer ones are clamped to it.
const MAX_RECORDED_US: u64 = 600_000_000;

/// A thread-safe histogram of latencies in microseconds, with 3 significant digits.
pub struct LatencyHistogram {
    histogram: Mutex<Histogram<u64>>,
}

/// Percentiles of a histogram, in milliseconds.
#[derive(Clone, Debug, Default, Serialize)]
pub struct LatencySummary {
    pub count: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self::new()
    }
}

impl LatencyHistogram {
    pub fn new() -> Self {
        let histogram =
            Histogram::new_with_max(MAX_RECORDED_US, 3).expect("the histogram bounds are valid");
        Self {
            histogram: Mutex::new(histogram),
        }
    }

    /// Adds one latency.
    pub fn record(&self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.lock().saturating_record(micros.max(1));
    }

    /// Returns the count, p50, p99 and maximum.
    pub fn summary(&self) -> LatencySummary {
        let histogram = self.lock();
        let millis = |micros: u64| micros as f64 / 1_000.0;
        LatencySummary {
            count: histogram.len(),
            p50_ms: millis(histogram.value_at_quantile(0.50)),
            p99_ms: millis(histogram.value_at_quantile(0.99)),
            max_ms: millis(histogram.max()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Histogram<u64>> {
        // Recording leaves the histogram consistent, so a poisoned lock is still usable.
        self.histogram
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_reports_percentiles_in_ms() {
        let histogram = LatencyHistogram::new();
        for millis in 1..=100 {
            histogram.record(Duration::from_millis(millis));
        }
        let summary = histogram.summary();
        assert_eq!(summary.count, 100);
        assert!(
            (summary.p50_ms - 50.0).abs() < 0.1,
            "p50 {}",
            summary.p50_ms
        );
        assert!(
            (summary.p99_ms - 99.0).abs() < 0.1,
            "p99 {}",
            summary.p99_ms
        );
        assert!(
            (summary.max_ms - 100.0).abs() < 0.1,
            "max {}",
            summary.max_ms
        );
    }

    #[test]
    fn empty_summary_is_zero() {
        let summary = LatencyHistogram::new().summary();
        assert_eq!(summary.count, 0);
        assert_eq!(summary.max_ms, 0.0);
    }
}
