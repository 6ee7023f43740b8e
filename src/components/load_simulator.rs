//! The Load Simulator card: the mode switch and the Request Page button.

use leptos::prelude::*;

use crate::client;
use crate::components::dashboard_state::DashboardState;
use crate::model::{Mode, PAGES};

#[component]
pub fn LoadSimulator() -> impl IntoView {
    let state = DashboardState::expect();

    let request_page = move |event: leptos::ev::MouseEvent| {
        // The second click of a double click (detail 2) sends nothing, even when the first
        // click's request has already finished. Keys that press the button report 0.
        if event.detail() > 1 || state.busy.get_untracked() {
            return;
        }
        let mode = state.mode.get_untracked();
        let page = PAGES[state.next_page.get_untracked() % PAGES.len()];
        state.busy.set(true);
        leptos::task::spawn_local(async move {
            match client::api::request_page(mode, page).await {
                Ok(response) => {
                    state.notice.set(None);
                    state.last_page.set(Some(response));
                }
                Err(error) => state.notice.set(Some(error.reason)),
            }
            state.next_page.update(|next| *next = (*next + 1) % PAGES.len());
            state.busy.set(false);
        });
    };

    view! {
        <section class="card" aria-labelledby="simulator-title">
            <h2 id="simulator-title">"Load Simulator"</h2>
            <fieldset class="mode-switch">
                <legend>"Authentication mode"</legend>
                <ModeOption mode=Mode::Stateful test_id="mode-stateful"/>
                <ModeOption mode=Mode::Jwt test_id="mode-jwt"/>
            </fieldset>
            <p class="current-mode">
                "Current Mode: "
                <strong data-testid="current-mode">{move || state.mode.get().label()}</strong>
            </p>
            <button type="button" class="primary big" data-testid="request-page"
                on:click=request_page aria-busy=move || state.busy.get().to_string()>
                "Request Page"
            </button>
            <p class="hint">
                "Next: " <code data-testid="next-page">{move || state.next_page_name()}</code>
                " · " {move || explain(state.mode.get())}
            </p>
            <Show when=move || state.notice.get().is_some()>
                <p class="notice" role="status" data-testid="notice">{move || state.notice.get()}</p>
            </Show>
            <Show when=move || state.last_page.get().is_some()>
                <LastPage/>
            </Show>
        </section>
    }
}

#[component]
fn ModeOption(mode: Mode, test_id: &'static str) -> impl IntoView {
    let state = DashboardState::expect();
    let id = format!("mode-{}", mode.path_segment());
    let label_for = id.clone();
    view! {
        <label class="mode-option" for=label_for>
            <input type="radio" name="mode" id=id data-testid=test_id
                prop:checked=move || state.mode.get() == mode
                on:change=move |_| state.mode.set(mode)/>
            <span>{mode.label()}</span>
        </label>
    }
}

#[component]
fn LastPage() -> impl IntoView {
    let state = DashboardState::expect();
    move || {
        state.last_page.get().map(|page| {
            view! {
                <div class="last-page" data-testid="last-page">
                    <h3>{page.title.clone()} <span class="tag">{page.mode.label()}</span></h3>
                    <dl>
                        {page.items.iter().map(|item| view! {
                            <dt>{item.label.clone()}</dt>
                            <dd>{item.value.clone()}</dd>
                        }).collect_view()}
                    </dl>
                </div>
            }
        })
    }
}

fn explain(mode: Mode) -> &'static str {
    match mode {
        Mode::Stateful => "sends only the session ID cookie; the server looks the session up in SQLite.",
        Mode::Jwt => "sends the signed JWT; the server checks its signature and claims in memory.",
    }
}
