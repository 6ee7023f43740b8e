//! The token inspector: this visitor's JWT split into header, payload and signature, with its
//! times, a live countdown to its expiry, and its size next to the session cookie's.

use leptos::prelude::*;

use crate::client;
use crate::components::clock::{browser_now_ms, ticking_clock};
use crate::components::dashboard_state::DashboardState;
use crate::components::numbers::{countdown, fixed, utc_time_of_day};
use crate::model::{TokenInspection, MAX_PERMISSION_CLAIMS};

#[component]
pub fn TokenInspector() -> impl IntoView {
    let state = DashboardState::expect();
    let inspection = RwSignal::new(None::<TokenInspection>);
    let error = RwSignal::new(None::<String>);
    // Milliseconds since the Unix epoch by the browser's clock, and how many seconds the
    // server's clock is ahead.
    let now = ticking_clock();
    let clock_offset = RwSignal::new(0_i64);

    let load = move || {
        leptos::task::spawn_local(async move {
            match client::api::inspect_token().await {
                Ok(found) => {
                    clock_offset.set(found.server_now as i64 - browser_now_secs() as i64);
                    inspection.set(Some(found));
                    error.set(None);
                }
                Err(failure) => {
                    inspection.set(None);
                    error.set(Some(failure.reason));
                }
            }
        });
    };
    // Loads the token again whenever the visitor signs in or out. Effects run only in the
    // browser.
    Effect::new(move |_| {
        state.user.track();
        load();
    });
    let remaining = move || {
        let expires_at = inspection.with(|found| found.as_ref().and_then(|found| found.expires_at))?;
        let server_now = (now.get() / 1000) as i64 + clock_offset.get();
        Some((expires_at as i64 - server_now).max(0) as u64)
    };

    view! {
        <section class="card" aria-labelledby="inspector-title">
            <div class="card-head">
                <h2 id="inspector-title">"Token inspector"</h2>
                <button type="button" class="small" data-testid="inspect-again" on:click=move |_| load()>
                    "Inspect again"
                </button>
            </div>
            <Show when=move || error.with(Option::is_some)>
                <p class="hint" data-testid="inspector-error">{move || error.get()}</p>
            </Show>
            {move || inspection.get().map(|found| view! {
                <TokenParts found=found.clone()/>
                <dl class="token-facts">
                    <dt>"Issued"</dt>
                    <dd data-testid="token-issued">{found.issued_at.map(utc_time_of_day).unwrap_or_default()}</dd>
                    <dt>"Expires"</dt>
                    <dd data-testid="token-expires">{found.expires_at.map(utc_time_of_day).unwrap_or_default()}</dd>
                    <dt>"Time left"</dt>
                    <dd data-testid="token-countdown">{move || remaining().map(countdown).unwrap_or_default()}</dd>
                    <dt>"Verdict"</dt>
                    <dd data-testid="token-verdict">
                        {match &found.rejection {
                            None => "the JWT route accepts it".to_owned(),
                            Some(rejection) => format!("rejected · {}: {}", rejection.error, rejection.reason),
                        }}
                    </dd>
                </dl>
                <p data-testid="token-sizes">{size_comparison(&found)}</p>
            })}
            <PayloadSize on_reissued=move || load()/>
        </section>
    }
}

/// The payload-size control: re-issues the token with a number of permission claims, and shows
/// the credential bytes that this visitor's JWT requests carried.
#[component]
fn PayloadSize(on_reissued: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let state = DashboardState::expect();
    let count = RwSignal::new(String::from("0"));
    let error = RwSignal::new(None::<String>);
    let reissue = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let Ok(requested) = count.get_untracked().trim().parse::<u32>() else {
            error.set(Some(format!("Enter a whole number from 0 to {MAX_PERMISSION_CLAIMS}.")));
            return;
        };
        leptos::task::spawn_local(async move {
            match client::api::set_permissions(requested).await {
                Ok(_) => {
                    error.set(None);
                    on_reissued();
                }
                Err(failure) => error.set(Some(failure.reason)),
            }
        });
    };
    let jwt_bytes = move || {
        state.stats.with(|stats| {
            stats.as_ref().map(|stats| (stats.comparison.jwt.credential_bytes, stats.comparison.jwt.credential_bytes_total))
        })
    };

    view! {
        <form class="payload-size" on:submit=reissue>
            <label class="field" for="permission-count">
                <span>"Permission claims in new tokens"</span>
                <input id="permission-count" data-testid="permission-count" type="number" min="0"
                    max=MAX_PERMISSION_CLAIMS inputmode="numeric"
                    prop:value=move || count.get() on:input=move |event| count.set(event_target_value(&event))/>
            </label>
            <button type="submit" data-testid="reissue-token">"Re-issue my token"</button>
        </form>
        <Show when=move || error.with(Option::is_some)>
            <p class="notice" role="alert" data-testid="permissions-error">{move || error.get()}</p>
        </Show>
        <p class="hint" data-testid="jwt-bytes">
            {move || match jwt_bytes() {
                Some((latest, total)) if total > 0 => format!(
                    "Your JWT page requests carried {total} credential bytes in all; the latest carried {latest}."
                ),
                _ => "Request a page in JWT mode to see the bytes each request carries.".to_owned(),
            }}
        </p>
    }
}

#[component]
fn TokenParts(found: TokenInspection) -> impl IntoView {
    view! {
        <div class="token-parts">
            <figure class="token-part header">
                <figcaption>{format!("Header · {} bytes", found.header_bytes)}</figcaption>
                <pre data-testid="token-header">{found.header}</pre>
            </figure>
            <figure class="token-part payload">
                <figcaption>{format!("Payload · {} bytes", found.payload_bytes)}</figcaption>
                <pre data-testid="token-payload">{found.payload}</pre>
            </figure>
            <figure class="token-part signature">
                <figcaption>{format!("Signature · {} bytes", found.signature_bytes)}</figcaption>
                <pre data-testid="token-signature">{format!("{}…", found.signature_start)}</pre>
                <p class="hint">
                    "The rest stays hidden, because the whole token signs you in. The cookie that "
                    "carries it is HttpOnly, so this page's scripts never see it."
                </p>
            </figure>
        </div>
    }
}

fn size_comparison(found: &TokenInspection) -> String {
    let token = found.token_bytes;
    match found.session_cookie_bytes {
        Some(cookie) if cookie > 0 => format!(
            "The token is {token} bytes; the session cookie is {cookie} bytes. A JWT request's \
             credential is {}× the size of a stateful one's.",
            fixed(token as f64 / cookie as f64, 1)
        ),
        _ => format!("The token is {token} bytes. This browser has no session cookie to compare."),
    }
}

/// Returns the seconds since the Unix epoch by the browser's clock; 0 on the server.
fn browser_now_secs() -> u64 {
    browser_now_ms() / 1000
}
