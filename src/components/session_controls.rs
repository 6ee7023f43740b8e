//! The session card: "revoke everything" for a compromised account, the JWT's remaining
//! lifetime, and the automatic refresh shortly before the JWT expires. "Log out" is in the
//! sign-in card.

use leptos::prelude::*;

use crate::client;
use crate::components::clock::browser_now_ms;
use crate::components::dashboard_state::DashboardState;
use crate::components::numbers::count_of;
use crate::model::{Mode, RevokeAllResponse};

/// How long before the JWT expires the page refreshes it, in milliseconds.
/// NOTE: with a JWT lifetime under this margin, the page refreshes on every tick.
const REFRESH_MARGIN_MS: u64 = 5_000;

/// How often the countdown updates and the refresh deadline is checked, in milliseconds.
const TICK_MS: u64 = 1_000;


/// Describes what "revoke everything" did, for the status line.
fn revoke_notice(revoked: &RevokeAllResponse) -> String {
    let jwt = match (revoked.token_denied, revoked.token_expires_in_secs) {
        (true, _) => "The JWT is on the denylist, so it fails at once.".to_owned(),
        (false, Some(secs)) => format!("The JWT still works for {secs} s, until it expires."),
        (false, None) => "No JWT was sent.".to_owned(),
    };
    format!(
        "Revoked everything: {} and {} deleted. {jwt}",
        count_of(revoked.sessions_deleted, "session"),
        count_of(revoked.refresh_tokens_deleted, "refresh token")
    )
}

#[component]
pub fn SessionControls() -> impl IntoView {
    let state = DashboardState::expect();
    let expires_at_ms = RwSignal::new(None::<u64>);
    let now = RwSignal::new(browser_now_ms());
    let refreshing = RwSignal::new(false);
    let refreshes = RwSignal::new(0_u32);
    // False after "revoke everything", when no refresh token is left to use.
    let can_refresh = RwSignal::new(true);

    // Reads the JWT's expiry from the server whenever the signed-in user changes, because
    // the HttpOnly cookie is out of the page's reach.
    Effect::new(move |_| {
        if state.user.with(Option::is_none) {
            expires_at_ms.set(None);
            return;
        }
        can_refresh.set(true);
        leptos::task::spawn_local(async move {
            let who = client::api::whoami_with_expiry().await;
            expires_at_ms.set(who.and_then(|who| who.access_expires_at_ms));
        });
    });

    let refresh = move || {
        refreshing.set(true);
        leptos::task::spawn_local(async move {
            match client::api::refresh_token().await {
                Ok(refreshed) => {
                    expires_at_ms.set(Some(refreshed.access_expires_at_ms));
                    refreshes.update(|count| *count += 1);
                }
                Err(error) => {
                    can_refresh.set(false);
                    state.notice.set(Some(format!("The automatic token refresh failed: {}", error.reason)));
                }
            }
            refreshing.set(false);
        });
    };

    // Once a second: updates the countdown and, in JWT mode, refreshes the JWT when it is
    // about to expire.
    Effect::new(move |_| {
        let tick = move || {
            let current = browser_now_ms();
            now.set(current);
            let Some(expiry) = expires_at_ms.get_untracked() else {
                return;
            };
            let due = current + REFRESH_MARGIN_MS >= expiry;
            let jwt_mode = state.mode.get_untracked() == Mode::Jwt;
            if due && jwt_mode && can_refresh.get_untracked() && !refreshing.get_untracked() {
                refresh();
            }
        };
        if let Ok(handle) = set_interval_with_handle(tick, std::time::Duration::from_millis(TICK_MS)) {
            on_cleanup(move || handle.clear());
        }
    });

    let revoke = move |_| {
        leptos::task::spawn_local(async move {
            match client::api::revoke_all().await {
                Ok(revoked) => {
                    can_refresh.set(false);
                    if revoked.token_denied {
                        expires_at_ms.set(None);
                    }
                    state.notice.set(Some(revoke_notice(&revoked)));
                }
                Err(error) => state.notice.set(Some(error.reason)),
            }
        });
    };

    let seconds_left = move || {
        expires_at_ms
            .get()
            .map(|expiry| expiry.saturating_sub(now.get()).div_ceil(1_000))
    };

    view! {
        <Show when=move || state.user.with(Option::is_some)>
            <section class="card" aria-labelledby="session-controls-title"
                data-testid="session-controls"
                data-refreshes=move || refreshes.get().to_string()>
                <h2 id="session-controls-title">"Access token"</h2>
                <Show when=move || state.mode.get() == Mode::Jwt && seconds_left().is_some()>
                    <p data-testid="access-countdown">
                        "The JWT expires in "
                        <strong data-testid="access-seconds-left">
                            {move || seconds_left().unwrap_or_default().to_string()}
                        </strong>
                        " s. The page trades the refresh token for a new one 5 s before that."
                    </p>
                </Show>
                <button type="button" data-testid="revoke-all" on:click=revoke>
                    "Account compromised: revoke everything"
                </button>
            </section>
        </Show>
    }
}
