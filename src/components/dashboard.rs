//! The "DB Load Simulator" dashboard page.

use leptos::prelude::*;

use crate::client;
use crate::components::dashboard_state::DashboardState;
use crate::components::db_activity::DatabaseActivity;
use crate::components::live_log::LiveLog;
use crate::components::load_simulator::LoadSimulator;
use crate::components::panels::PanelTabs;
use crate::components::room_status::RoomStatus;
use crate::components::session_controls::SessionControls;
use crate::components::sign_in::SignIn;

#[component]
pub fn Dashboard() -> impl IntoView {
    let state = DashboardState::new();
    provide_context(state);

    // Effects run only in the browser, after hydration.
    Effect::new(move |_| {
        client::events::connect(state);
        leptos::task::spawn_local(async move {
            if let Some(user) = client::api::whoami().await {
                state.user.set(Some(user));
            }
            state.server_info.set(client::api::info().await);
        });
    });

    view! {
        <header class="masthead">
            <h1>"Session Journey: DB Load Simulator"</h1>
            <p class="lede">
                "Every click sends a real HTTP request to this server. In stateful mode it looks "
                "the session up in SQLite; in JWT mode it verifies a signed token in memory. The "
                "log and counters below are streamed by the server from what each request ran."
            </p>
            <p class="setup" data-testid="server-info">
                {move || state.server_info.get().map(|info| {
                    let store = match info.database.as_str() {
                        "postgresql" => "a PostgreSQL server",
                        _ => "an embedded SQLite file",
                    };
                    let latency = if info.simulated_db_latency_ms > 0 {
                        format!(" · simulated +{} ms per DB query", info.simulated_db_latency_ms)
                    } else {
                        String::new()
                    };
                    format!("Sessions live in {store}{latency} · JWTs expire after {} s", info.jwt_ttl_secs)
                })}
            </p>
        </header>
        <div class="grid">
            <div class="column">
                <SignIn/>
                <LoadSimulator/>
                <SessionControls/>
                <DatabaseActivity/>
                <RoomStatus/>
            </div>
            <LiveLog/>
        </div>
        <PanelTabs/>
    }
}
