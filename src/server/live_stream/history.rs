//! Recent page-request timings of one visitor, per mode, for the comparison panel.

use std::collections::VecDeque;

use crate::model::{Comparison, LatencySummary, Mode, ModeSummary};

/// Requests per mode whose timings are kept for the percentiles.
pub const SAMPLES_PER_MODE: usize = 500;

/// What the server measured for one page request.
#[derive(Clone, Copy, Debug, Default)]
pub struct RequestTiming {
    pub auth_us: u64,
    pub total_us: u64,
    pub credential_bytes: u64,
}

#[derive(Default)]
struct ModeHistory {
    requests: u64,
    db_hits: u64,
    credential_bytes: u64,
    credential_bytes_total: u64,
    /// (auth step, whole request) in microseconds, oldest first.
    samples: VecDeque<(u64, u64)>,
}

impl ModeHistory {
    fn summary(&self) -> ModeSummary {
        let mut auth: Vec<u64> = self.samples.iter().map(|(auth, _)| *auth).collect();
        let mut total: Vec<u64> = self.samples.iter().map(|(_, total)| *total).collect();
        ModeSummary {
            requests: self.requests,
            db_hits: self.db_hits,
            sampled: self.samples.len() as u64,
            auth: LatencySummary::from_samples(&mut auth),
            total: LatencySummary::from_samples(&mut total),
            credential_bytes: self.credential_bytes,
            credential_bytes_total: self.credential_bytes_total,
        }
    }
}

/// Counts and recent timings of one visitor's page requests.
#[derive(Default)]
pub struct RequestHistory {
    stateful: ModeHistory,
    jwt: ModeHistory,
}

impl RequestHistory {
    pub fn record(&mut self, mode: Mode, db_hits: u64, timing: RequestTiming) {
        let history = match mode {
            Mode::Stateful => &mut self.stateful,
            Mode::Jwt => &mut self.jwt,
        };
        history.requests += 1;
        history.db_hits += db_hits;
        if history.samples.len() == SAMPLES_PER_MODE {
            history.samples.pop_front();
        }
        history.samples.push_back((timing.auth_us, timing.total_us));
        if timing.credential_bytes > 0 {
            history.credential_bytes = timing.credential_bytes;
        }
        history.credential_bytes_total += timing.credential_bytes;
    }

    /// Summarises both modes. Sorts up to [`SAMPLES_PER_MODE`] samples per mode, so callers
    /// only do this for visitors that are watching.
    pub fn comparison(&self) -> Comparison {
        Comparison {
            stateful: self.stateful.summary(),
            jwt: self.jwt.summary(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing(auth_us: u64, total_us: u64) -> RequestTiming {
        RequestTiming {
            auth_us,
            total_us,
            credential_bytes: 0,
        }
    }

    #[test]
    fn comparison_counts_and_percentiles() {
        let mut history = RequestHistory::default();
        for auth in 1..=10 {
            history.record(Mode::Stateful, 1, timing(auth, auth * 10));
        }
        history.record(Mode::Jwt, 0, timing(3, 30));

        let comparison = history.comparison();
        assert_eq!(comparison.stateful.requests, 10);
        assert_eq!(comparison.stateful.db_hits, 10);
        assert_eq!(comparison.stateful.auth.p50_us, 5);
        assert_eq!(comparison.stateful.total.p99_us, 100);
        assert_eq!(comparison.jwt.requests, 1);
        assert_eq!(comparison.jwt.db_hits, 0);
    }

    #[test]
    fn samples_are_capped_but_counts_are_not() {
        let mut history = RequestHistory::default();
        for _ in 0..SAMPLES_PER_MODE + 5 {
            history.record(Mode::Jwt, 0, timing(1, 1));
        }
        let summary = history.comparison().jwt;
        assert_eq!(summary.requests, (SAMPLES_PER_MODE + 5) as u64);
        assert_eq!(summary.sampled, SAMPLES_PER_MODE as u64);
    }

    #[test]
    fn credential_bytes_keep_latest_and_total() {
        let mut history = RequestHistory::default();
        for bytes in [300, 0, 500] {
            let timing = RequestTiming {
                auth_us: 1,
                total_us: 1,
                credential_bytes: bytes,
            };
            history.record(Mode::Jwt, 0, timing);
        }
        let summary = history.comparison().jwt;
        assert_eq!(summary.credential_bytes, 500);
        assert_eq!(summary.credential_bytes_total, 800);
    }
}
