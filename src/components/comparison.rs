//! The comparison panel: this visitor's page requests per mode, with percentiles the server
//! computed from its own timings, and a chart of auth time per request.

use leptos::prelude::*;

use crate::components::chart::{LineChart, Series};
use crate::components::dashboard_state::DashboardState;
use crate::components::numbers::fixed;
use crate::model::{Mode, ModeSummary};

#[component]
pub fn ComparisonPanel() -> impl IntoView {
    let state = DashboardState::expect();
    let summary = move |mode: Mode| {
        state.stats.get().map(|stats| match mode {
            Mode::Stateful => stats.comparison.stateful,
            Mode::Jwt => stats.comparison.jwt,
        })
    };

    // Points come from the streamed log lines: the auth time the server measured for each of
    // the visitor's recent page requests, numbered in order.
    let auth_series = Signal::derive(move || {
        state.log.with(|lines| {
            [Mode::Stateful, Mode::Jwt]
                .into_iter()
                .map(|mode| Series {
                    name: mode.label().to_owned(),
                    class: mode.path_segment(),
                    points: lines
                        .iter()
                        .enumerate()
                        .filter(|(_, line)| line.counted && line.mode == Some(mode) && line.status == 200)
                        .filter_map(|(index, line)| line.auth_us.map(|us| (index as f64, us as f64)))
                        .collect(),
                })
                .collect()
        })
    });

    view! {
        <section class="card" aria-labelledby="comparison-title">
            <h2 id="comparison-title">"Side by side"</h2>
            <div class="charts">
                <div>
                    <div class="table-wrap">
                        <table class="comparison" data-testid="comparison">
                            <thead>
                                <tr>
                                    <th scope="col">"Your page requests"</th>
                                    <th scope="col">"Stateful"</th>
                                    <th scope="col">"JWT"</th>
                                </tr>
                            </thead>
                            <tbody>
                                <SummaryRow label="Requests" summary test_id="requests"
                                    read=|s| s.requests.to_string()/>
                                <SummaryRow label="DB hits" summary test_id="db-hits"
                                    read=|s| s.db_hits.to_string()/>
                                <SummaryRow label="DB hits per request" summary test_id="hits-per-request"
                                    read=|s| fixed(s.db_hits_per_request(), 2)/>
                                <SummaryRow label="Auth p50 / p95 / p99" summary test_id="auth"
                                    read=|s| format!("{} / {} / {} µs", s.auth.p50_us, s.auth.p95_us, s.auth.p99_us)/>
                                <SummaryRow label="Request p50 / p95 / p99" summary test_id="total"
                                    read=|s| format!("{} / {} / {} µs", s.total.p50_us, s.total.p95_us, s.total.p99_us)/>
                            </tbody>
                        </table>
                    </div>
                    <p class="hint">
                        "Percentiles cover your last 500 requests per mode, timed by the server. Request time "
                        "runs from the server's first middleware to its response, so it leaves out the network."
                    </p>
                </div>
                <LineChart series=auth_series unit="µs" label="Auth step per request"
                    x_label="request →" test_id="auth-chart"/>
            </div>
        </section>
    }
}

#[component]
fn SummaryRow<S>(
    label: &'static str,
    summary: S,
    test_id: &'static str,
    read: fn(&ModeSummary) -> String,
) -> impl IntoView
where
    S: Fn(Mode) -> Option<ModeSummary> + Copy + Send + Sync + 'static,
{
    let cell = move |mode: Mode| {
        move || match summary(mode) {
            Some(summary) if summary.requests > 0 => read(&summary),
            Some(_) => "–".to_owned(),
            None => "…".to_owned(),
        }
    };
    view! {
        <tr>
            <th scope="row">{label}</th>
            <td data-testid=format!("comparison-stateful-{test_id}")>{cell(Mode::Stateful)}</td>
            <td data-testid=format!("comparison-jwt-{test_id}")>{cell(Mode::Jwt)}</td>
        </tr>
    }
}
