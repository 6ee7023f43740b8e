//! The "Simulate traffic" card: starts a run of virtual users on the server, follows its
//! progress and live charts, and shows and downloads the results.

use leptos::prelude::*;

use crate::client;
use crate::components::chart::{LineChart, Series};
use crate::components::dashboard_state::DashboardState;
use crate::components::numbers::fixed;
use crate::model::{Mode, ModeResult, SimulationModes, SimulationRequest, SimulationState};

#[component]
pub fn SimulateTraffic() -> impl IntoView {
    let state = DashboardState::expect();
    let virtual_users = RwSignal::new(String::from("50"));
    let pages_per_user = RwSignal::new(String::from("20"));
    let think_time_ms = RwSignal::new(String::from("0"));
    let modes = RwSignal::new(SimulationModes::Both);
    let running = move || {
        state
            .simulation
            .with(|run| run.as_ref().is_some_and(|run| run.state == SimulationState::Running))
    };

    let start = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        // Fields that do not parse go to the server as 0, which answers with the reason.
        let request = SimulationRequest {
            virtual_users: virtual_users.get_untracked().trim().parse().unwrap_or(0),
            pages_per_user: pages_per_user.get_untracked().trim().parse().unwrap_or(0),
            think_time_ms: think_time_ms.get_untracked().trim().parse().unwrap_or(0),
            modes: modes.get_untracked(),
        };
        leptos::task::spawn_local(async move {
            match client::api::start_simulation(&request).await {
                Ok(status) => {
                    state.notice.set(None);
                    state.merge_simulation(status);
                }
                Err(error) => state.notice.set(Some(error.reason)),
            }
        });
    };
    let cancel = move |_| {
        let Some(id) = state.simulation.with_untracked(|run| run.as_ref().map(|run| run.id.clone())) else {
            return;
        };
        leptos::task::spawn_local(async move {
            if let Err(error) = client::api::cancel_simulation(&id).await {
                state.notice.set(Some(error.reason));
            }
        });
    };

    view! {
        <section class="card" aria-labelledby="simulate-title">
            <h2 id="simulate-title">"Simulate traffic"</h2>
            <form class="simulate" on:submit=start>
                <NumberField id="sim-users" label="Virtual users" value=virtual_users/>
                <NumberField id="sim-pages" label="Pages per user" value=pages_per_user/>
                <NumberField id="sim-think" label="Think time (ms)" value=think_time_ms/>
                <label class="field wide" for="sim-modes">
                    <span>"Mode"</span>
                    <select id="sim-modes" data-testid="sim-modes"
                        on:change=move |event| modes.set(match event_target_value(&event).as_str() {
                            "stateful" => SimulationModes::Stateful,
                            "jwt" => SimulationModes::Jwt,
                            _ => SimulationModes::Both,
                        })>
                        <option value="both" selected>"Both, back to back"</option>
                        <option value="stateful">"Traditional (Stateful)"</option>
                        <option value="jwt">"JWT (Stateless)"</option>
                    </select>
                </label>
                <div class="row actions">
                    <button type="submit" class="primary" data-testid="sim-start" disabled=running>"Start"</button>
                    <button type="button" data-testid="sim-cancel" disabled=move || !running() on:click=cancel>
                        "Cancel"
                    </button>
                </div>
            </form>
            <p class="hint">
                "Each virtual user signs in, then requests pages over real HTTP on this machine's "
                "loopback, through the same middleware as your clicks."
            </p>
            <Show when=move || state.simulation.with(Option::is_some)>
                <SimulationProgress/>
            </Show>
        </section>
    }
}

#[component]
fn NumberField(id: &'static str, label: &'static str, value: RwSignal<String>) -> impl IntoView {
    view! {
        <label class="field" for=id>
            <span>{label}</span>
            <input id=id data-testid=id type="number" min="0" inputmode="numeric"
                prop:value=move || value.get() on:input=move |event| value.set(event_target_value(&event))/>
        </label>
    }
}

#[component]
fn SimulationProgress() -> impl IntoView {
    let state = DashboardState::expect();
    let run = move || state.simulation.get();
    let progress = move || {
        run().map(|run| (run.completed_requests, run.planned_requests.max(1))).unwrap_or((0, 1))
    };
    let chart = move |read: fn(&crate::model::SimulationSample) -> f64| {
        Signal::derive(move || {
            let samples = run().map(|run| run.samples).unwrap_or_default();
            [Mode::Stateful, Mode::Jwt]
                .into_iter()
                .map(|mode| Series {
                    name: mode.label().to_owned(),
                    class: mode.path_segment(),
                    points: samples
                        .iter()
                        .filter(|sample| sample.mode == mode)
                        .map(|sample| (sample.at_ms as f64 / 1000.0, read(sample)))
                        .collect(),
                })
                .collect::<Vec<_>>()
        })
    };

    view! {
        <div class="simulation" data-testid="simulation">
            <div class="progress-line">
                <span data-testid="sim-state">{move || run().map(|run| state_label(run.state)).unwrap_or("")}</span>
                <span data-testid="sim-progress">
                    {move || { let (done, planned) = progress(); format!("{done} / {planned} requests") }}
                </span>
            </div>
            <progress max=move || progress().1 value=move || progress().0 aria-label="Simulation progress"></progress>
            <Show when=move || run().and_then(|run| run.message).is_some()>
                <p class="hint">{move || run().and_then(|run| run.message)}</p>
            </Show>
            <div class="charts">
                <LineChart series=chart(|sample| sample.queries_per_second) unit="q/s"
                    label="DB queries per second" x_label="seconds →" test_id="sim-qps-chart"/>
                <LineChart series=chart(|sample| sample.auth.p95_us as f64) unit="µs"
                    label="Auth p95 per half second" x_label="seconds →" test_id="sim-auth-chart"/>
            </div>
            <Show when=move || run().is_some_and(|run| !run.results.is_empty())>
                <ResultTable/>
            </Show>
        </div>
    }
}

#[component]
fn ResultTable() -> impl IntoView {
    let state = DashboardState::expect();
    let run = move || state.simulation.get();
    let results = move || run().map(|run| run.results).unwrap_or_default();
    let link = move |extension: &'static str| {
        move || run().map(|run| format!("/api/simulations/{}/results.{extension}", run.id)).unwrap_or_default()
    };

    view! {
        <div class="table-wrap">
            <table class="results" data-testid="sim-results">
                <thead>
                    <tr>
                        <th scope="col">"Mode"</th>
                        <th scope="col">"Requests"</th>
                        <th scope="col">"Errors"</th>
                        <th scope="col">"DB hits"</th>
                        <th scope="col">"Queries/s"</th>
                        <th scope="col">"Requests/s"</th>
                        <th scope="col">"Auth p50 / p95 / p99"</th>
                        <th scope="col">"Latency p50 / p95 / p99"</th>
                    </tr>
                </thead>
                <tbody>
                    {move || results().into_iter().map(result_row).collect_view()}
                </tbody>
            </table>
        </div>
        <p class="downloads">
            "Download: " <a href=link("csv") data-testid="sim-csv" download>"CSV"</a> " · "
            <a href=link("json") data-testid="sim-json" download>"JSON"</a>
            <span class="hint">
                " · database: " {move || run().map(|run| run.database).unwrap_or_default()}
                {move || run().filter(|run| run.simulated_db_latency_ms > 0).map(|run| {
                    format!(" · simulated +{} ms per DB query", run.simulated_db_latency_ms)
                })}
                {move || {
                    let refreshes: u64 = results().iter().map(|result| result.token_refreshes).sum();
                    (refreshes > 0).then(|| format!(
                        " · virtual users refreshed their JWT {refreshes} times at /api/token/refresh, \
                         statements not counted above"
                    ))
                }}
            </span>
        </p>
    }
}

fn result_row(result: ModeResult) -> impl IntoView {
    let mode = result.mode.map(|mode| mode.label()).unwrap_or("");
    let test_id = result.mode.map(|mode| mode.path_segment()).unwrap_or("other");
    view! {
        <tr data-testid=format!("sim-result-{test_id}")>
            <th scope="row">{mode}</th>
            <td>{result.requests}</td>
            <td>{result.errors + result.failed_sign_ins}</td>
            <td data-testid=format!("sim-db-hits-{test_id}")>{result.db_hits}</td>
            <td>{fixed(result.queries_per_second, 0)}</td>
            <td>{fixed(result.requests_per_second, 0)}</td>
            <td>{format!("{} / {} / {} µs", result.auth.p50_us, result.auth.p95_us, result.auth.p99_us)}</td>
            <td>{format!("{} / {} / {} µs", result.latency.p50_us, result.latency.p95_us, result.latency.p99_us)}</td>
        </tr>
    }
}

fn state_label(state: SimulationState) -> &'static str {
    match state {
        SimulationState::Running => "Running…",
        SimulationState::Finished => "Finished",
        SimulationState::Cancelled => "Cancelled",
        SimulationState::Failed => "Failed",
    }
}
