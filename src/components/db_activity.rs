//! The Database Activity panel: DB hits and request counts, exactly as the server streamed them.

use leptos::prelude::*;

use crate::client;
use crate::components::dashboard_state::DashboardState;
use crate::model::Counters;

#[component]
pub fn DatabaseActivity() -> impl IntoView {
    let state = DashboardState::expect();
    let visitor = move |read: fn(&Counters) -> u64| {
        move || state.stats.get().map(|stats| read(&stats.visitor).to_string()).unwrap_or_else(|| "–".into())
    };
    let server = move |read: fn(&Counters) -> u64| {
        move || state.stats.get().map(|stats| read(&stats.server).to_string()).unwrap_or_else(|| "–".into())
    };

    let reset = move |_| {
        leptos::task::spawn_local(async move {
            if let Err(error) = client::api::reset().await {
                state.notice.set(Some(error.reason));
            }
        });
    };

    view! {
        <section class="card" aria-labelledby="db-title">
            <div class="card-head">
                <h2 id="db-title">"Database Activity"</h2>
                <button type="button" class="small" data-testid="reset" on:click=reset>"Reset"</button>
            </div>
            <div class="hits">
                <span class="hits-label">"DB Hits (Total)"</span>
                <span class="hits-value" data-testid="db-hits-total">{visitor(|c| c.db_hits)}</span>
            </div>
            <dl class="counts">
                <dt>"Traditional (Stateful) requests"</dt>
                <dd data-testid="stateful-requests">{visitor(|c| c.stateful_requests)}</dd>
                <dt>"JWT (Stateless) requests"</dt>
                <dd data-testid="jwt-requests">{visitor(|c| c.jwt_requests)}</dd>
            </dl>
            <p class="hint">
                "Whole server: " <span data-testid="server-db-hits">{server(|c| c.db_hits)}</span> " DB hits over "
                {server(|c| c.stateful_requests)} " stateful and " {server(|c| c.jwt_requests)}
                " JWT page requests. Counted where each SQL statement runs."
            </p>
        </section>
    }
}
