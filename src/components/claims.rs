//! Claims about sessions and JWTs next to what this server measured for this visitor's
//! requests, and an estimate of the session store's load at a chosen scale.

use leptos::prelude::*;

use crate::components::dashboard_state::DashboardState;
use crate::components::numbers::fixed;
use crate::model::{Comparison, ServerInfo};

/// One row of the claims table: the claim, the measured value and a verdict.
struct ClaimRow {
    claim: &'static str,
    measured: String,
    verdict: String,
}

#[component]
pub fn ClaimsPanel() -> impl IntoView {
    let state = DashboardState::expect();
    let rows = move || {
        let comparison = state.stats.get().map(|stats| stats.comparison).unwrap_or_default();
        claim_rows(&comparison, state.server_info.get().as_ref())
    };

    view! {
        <section class="card" aria-labelledby="claims-title">
            <h2 id="claims-title">"Claims versus measurements"</h2>
            <div class="table-wrap">
                <table class="claims" data-testid="claims">
                    <thead>
                        <tr>
                            <th scope="col">"Claim"</th>
                            <th scope="col">"Measured here"</th>
                            <th scope="col">"Verdict"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {move || rows().into_iter().map(|row| view! {
                            <tr>
                                <th scope="row">{row.claim}</th>
                                <td>{row.measured}</td>
                                <td class="verdict">{row.verdict}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
            <p class="hint">"Measured from your own page requests in each mode: make a few in both to fill the table."</p>
            <ScaleEstimate/>
        </section>
    }
}

fn claim_rows(comparison: &Comparison, info: Option<&ServerInfo>) -> Vec<ClaimRow> {
    let stateful = comparison.stateful;
    let jwt = comparison.jwt;
    let store = info.map(|info| info.database.clone()).unwrap_or_else(|| "the session store".into());
    let simulated = info.map(|info| info.simulated_db_latency_ms).unwrap_or(0);
    let pending = || "make a request in this mode".to_owned();

    let lookup = if stateful.requests == 0 {
        ClaimRow { claim: "A session lookup adds 50–100 ms", measured: pending(), verdict: "–".into() }
    } else {
        let p50_ms = stateful.auth.p50_us as f64 / 1000.0;
        let verdict = if simulated > 0 {
            format!("Includes {simulated} ms of simulated latency per query")
        } else if p50_ms >= 50.0 {
            "True here".into()
        } else {
            format!("Not here: a local {store} answers in well under a millisecond; a remote one adds its round trip")
        };
        ClaimRow {
            claim: "A session lookup adds 50–100 ms",
            measured: format!("{} ms at p50 on {store}", fixed(p50_ms, 3)),
            verdict,
        }
    };

    let queries = if jwt.requests == 0 {
        ClaimRow { claim: "JWT auth needs 0 DB queries", measured: pending(), verdict: "–".into() }
    } else {
        let per_request = jwt.db_hits_per_request();
        ClaimRow {
            claim: "JWT auth needs 0 DB queries",
            measured: format!("{} queries per request", fixed(per_request, 2)),
            verdict: if jwt.db_hits == 0 {
                "True, until you add revocation checks".into()
            } else {
                "False here".into()
            },
        }
    };

    let verify = if jwt.requests == 0 {
        ClaimRow { claim: "JWT verification is effectively free", measured: pending(), verdict: "–".into() }
    } else {
        let ratio = (stateful.requests > 0 && jwt.auth.p50_us > 0)
            .then(|| stateful.auth.p50_us as f64 / jwt.auth.p50_us as f64);
        ClaimRow {
            claim: "JWT verification is effectively free",
            measured: format!("{} µs at p50", jwt.auth.p50_us),
            verdict: match ratio {
                Some(ratio) => format!("Cheap, not free: {}× faster than the session lookup", fixed(ratio, 1)),
                None => "Cheap, not free: a signature check on every request".into(),
            },
        }
    };

    let size = if stateful.credential_bytes == 0 || jwt.credential_bytes == 0 {
        ClaimRow { claim: "A JWT makes each request bigger", measured: "make a request in both modes".into(), verdict: "–".into() }
    } else {
        let ratio = jwt.credential_bytes as f64 / stateful.credential_bytes as f64;
        ClaimRow {
            claim: "A JWT makes each request bigger",
            measured: format!("token {} B vs session cookie {} B", jwt.credential_bytes, stateful.credential_bytes),
            verdict: format!("True: {}× the bytes on every request", fixed(ratio, 0)),
        }
    };

    vec![lookup, queries, verify, size]
}

#[component]
fn ScaleEstimate() -> impl IntoView {
    let state = DashboardState::expect();
    let users = RwSignal::new(String::from("10000"));
    let seconds = RwSignal::new(String::from("30"));

    let estimate = move || {
        let users: u64 = users.get().trim().parse().unwrap_or(0);
        let seconds: u64 = seconds.get().trim().parse().unwrap_or(0);
        let per_request = state
            .stats
            .get()
            .map(|stats| stats.comparison.stateful.db_hits_per_request())
            .unwrap_or(0.0);
        if seconds == 0 || users == 0 {
            return "Enter a whole number of users and a whole number of seconds above zero.".to_owned();
        }
        let queries = users as f64 / seconds as f64 * per_request;
        format!(
            "Estimate: {users} users ÷ {seconds} s × {} queries per stateful request \
             = {} session-store queries per second (JWT mode: 0).",
            fixed(per_request, 2),
            fixed(queries, 0),
        )
    };

    view! {
        <div class="scale">
            <h3>"At scale"</h3>
            <div class="row">
                <label class="field" for="scale-users">
                    <span>"Users"</span>
                    <input id="scale-users" type="number" min="1" prop:value=move || users.get()
                        on:input=move |event| users.set(event_target_value(&event))/>
                </label>
                <label class="field" for="scale-seconds">
                    <span>"One page every (s)"</span>
                    <input id="scale-seconds" type="number" min="1" prop:value=move || seconds.get()
                        on:input=move |event| seconds.set(event_target_value(&event))/>
                </label>
            </div>
            <p data-testid="scale-estimate">{estimate}</p>
            <p class="hint">"An estimate: it multiplies the measured queries per request by the request rate and ignores caching and bursts."</p>
        </div>
    }
}
