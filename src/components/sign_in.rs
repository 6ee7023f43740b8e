//! The sign-in card: creates a session and a JWT for a demo user, and logs out.

use leptos::prelude::*;

use crate::client;
use crate::components::dashboard_state::DashboardState;
use crate::model::MAX_NAME_CHARS;

#[component]
pub fn SignIn() -> impl IntoView {
    let state = DashboardState::expect();
    let name = RwSignal::new(String::from("John Doe"));

    let sign_in = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let name = name.get_untracked();
        leptos::task::spawn_local(async move {
            match client::api::login(name).await {
                Ok(response) => {
                    state.notice.set(Some(format!("Signed in as {}.", response.user.name)));
                    state.user.set(Some(response.user));
                }
                Err(error) => state.notice.set(Some(error.reason)),
            }
        });
    };
    let sign_out = move |_| {
        leptos::task::spawn_local(async move {
            match client::api::logout().await {
                Ok(()) => {
                    state.user.set(None);
                    state.notice.set(Some(
                        "Logged out. The session is gone from the database; a copied JWT would \
                         still work until it expires."
                            .into(),
                    ));
                }
                Err(error) => state.notice.set(Some(error.reason)),
            }
        });
    };

    view! {
        <section class="card" aria-labelledby="sign-in-title">
            <h2 id="sign-in-title">"Demo user"</h2>
            <Show
                when=move || state.user.get().is_some()
                fallback=move || view! {
                    <form class="sign-in" on:submit=sign_in>
                        <label for="name">"Display name"</label>
                        <div class="row">
                            <input id="name" data-testid="name-input" type="text"
                                maxlength=MAX_NAME_CHARS.to_string() autocomplete="off"
                                prop:value=move || name.get()
                                on:input=move |event| name.set(event_target_value(&event))/>
                            <button type="submit" class="primary" data-testid="sign-in">"Sign in"</button>
                        </div>
                        <p class="hint">"Signing in creates a server-side session and a signed JWT."</p>
                    </form>
                }
            >
                <div class="row signed-in">
                    <p>
                        "Signed in as "
                        <strong data-testid="signed-in-user">
                            {move || state.user.get().map(|user| user.name).unwrap_or_default()}
                        </strong>
                    </p>
                    <button type="button" data-testid="sign-out" on:click=sign_out>"Log out"</button>
                </div>
            </Show>
        </section>
    }
}
