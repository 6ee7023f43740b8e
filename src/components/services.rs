//! The services panel: sends the visitor's credentials through the Billing, Profile and
//! Settings services and shows how each one authenticated them.

use leptos::prelude::*;

use crate::client;
use crate::components::dashboard_state::DashboardState;
use crate::model::{ServiceCall, ServicesResponse};

/// The page the fan-out requests. Each service serves its own part of it.
const PAGE: &str = "dashboard";

#[component]
pub fn ServicesPanel() -> impl IntoView {
    let state = DashboardState::expect();
    let result = RwSignal::new(None::<ServicesResponse>);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);

    let request = move |_| {
        if busy.get_untracked() {
            return;
        }
        let mode = state.mode.get_untracked();
        busy.set(true);
        leptos::task::spawn_local(async move {
            match client::api::request_services(mode, PAGE).await {
                Ok(response) => {
                    error.set(None);
                    result.set(Some(response));
                }
                Err(failure) => error.set(Some(failure.reason)),
            }
            busy.set(false);
        });
    };

    view! {
        <section class="card" aria-labelledby="services-title">
            <h2 id="services-title">"Services"</h2>
            <p class="hint">
                "Billing, Profile and Settings each authenticate the request themselves: with the "
                "public key from /.well-known/jwks.json in JWT mode, or with a lookup in the shared "
                "session store in stateful mode."
            </p>
            <button type="button" class="primary" data-testid="request-services"
                on:click=request aria-busy=move || busy.get().to_string()>
                "Request page through services"
            </button>
            <Show when=move || error.get().is_some()>
                <p class="notice" role="status" data-testid="services-error">{move || error.get()}</p>
            </Show>
            {move || result.get().map(|response| view! { <ServicesTable response/> })}
        </section>
    }
}

#[component]
fn ServicesTable(response: ServicesResponse) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table data-testid="services-table">
                <caption>{format!("{} mode, {} µs in total", response.mode.label(), response.total_us)}</caption>
                <thead>
                    <tr>
                        <th scope="col">"Service"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col">"Auth time"</th>
                        <th scope="col">"DB hits"</th>
                        <th scope="col">"Verified with"</th>
                    </tr>
                </thead>
                <tbody>
                    {response.calls.into_iter().map(|call| view! { <ServiceRow call/> }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn ServiceRow(call: ServiceCall) -> impl IntoView {
    let auth = call.auth_us.map_or_else(|| "–".to_owned(), |us| format!("{us} µs"));
    let verified = match (call.verified_with, call.error) {
        (Some(verified_with), _) => verified_with,
        (None, Some(error)) => format!("rejected: {error}"),
        (None, None) => "–".to_owned(),
    };
    view! {
        <tr data-testid=format!("service-{}", call.service)>
            <th scope="row">{call.service.clone()}</th>
            <td>{call.status}</td>
            <td>{auth}</td>
            <td>{call.db_hits}</td>
            <td>{verified}</td>
        </tr>
    }
}
