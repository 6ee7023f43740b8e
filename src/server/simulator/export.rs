//! Simulation results as CSV, one row per mode, with the run's settings on every row so that
//! a row copied alone still says what produced it.

use std::fmt::Write;

use crate::model::{ModeResult, SimulationStatus};

const HEADER: &str = "simulation_id,state,database,simulated_db_latency_ms,virtual_users,pages_per_user,think_time_ms,\
modes,mode,requests,errors,failed_sign_ins,db_hits,duration_ms,queries_per_second,\
requests_per_second,auth_p50_us,auth_p95_us,auth_p99_us,auth_max_us,latency_p50_us,\
latency_p95_us,latency_p99_us,latency_max_us,token_refreshes";

/// Renders `status` as CSV with a header row.
pub fn to_csv(status: &SimulationStatus) -> String {
    let mut csv = String::from(HEADER);
    csv.push('\n');
    for result in &status.results {
        write_row(&mut csv, status, result);
    }
    csv
}

fn write_row(csv: &mut String, status: &SimulationStatus, result: &ModeResult) {
    let settings = &status.settings;
    let mode = result.mode.map(|mode| mode.path_segment()).unwrap_or("");
    // Every field is a number or a fixed lowercase word, so none needs quoting.
    let _ = writeln!(
        csv,
        "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{:.1},{:.1},{},{},{},{},{},{},{},{},{}",
        status.id,
        serde_json::to_value(status.state).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
        status.database,
        status.simulated_db_latency_ms,
        settings.virtual_users,
        settings.pages_per_user,
        settings.think_time_ms,
        serde_json::to_value(settings.modes).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
        mode,
        result.requests,
        result.errors,
        result.failed_sign_ins,
        result.db_hits,
        result.duration_ms,
        result.queries_per_second,
        result.requests_per_second,
        result.auth.p50_us,
        result.auth.p95_us,
        result.auth.p99_us,
        result.auth.max_us,
        result.latency.p50_us,
        result.latency.p95_us,
        result.latency.p99_us,
        result.latency.max_us,
        result.token_refreshes,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LatencySummary, Mode, SimulationModes, SimulationRequest, SimulationState};

    #[test]
    fn csv_has_header_and_one_row_per_mode() {
        let status = SimulationStatus {
            id: "run-1".into(),
            state: SimulationState::Finished,
            settings: SimulationRequest {
                virtual_users: 2,
                pages_per_user: 3,
                think_time_ms: 0,
                modes: SimulationModes::Both,
            },
            database: "sqlite".into(),
            simulated_db_latency_ms: 0,
            planned_requests: 12,
            completed_requests: 12,
            started_at_ms: 0,
            finished_at_ms: Some(10),
            message: None,
            results: vec![
                ModeResult {
                    mode: Some(Mode::Stateful),
                    requests: 6,
                    db_hits: 6,
                    auth: LatencySummary { p50_us: 40, p95_us: 50, p99_us: 60, max_us: 70 },
                    ..ModeResult::default()
                },
                ModeResult {
                    mode: Some(Mode::Jwt),
                    requests: 6,
                    ..ModeResult::default()
                },
            ],
            samples: Vec::new(),
        };

        let csv = to_csv(&status);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0], HEADER);
        assert!(lines[1].starts_with("run-1,finished,sqlite,0,2,3,0,both,stateful,6,0,0,6,"));
        assert!(lines[2].starts_with("run-1,finished,sqlite,0,2,3,0,both,jwt,6,0,0,0,"));
        assert_eq!(lines[1].split(',').count(), HEADER.split(',').count());
    }
}
