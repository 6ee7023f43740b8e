//! The Load Simulator card: the mode switch and the Request Page button, with the keyboard
//! shortcuts R (Request Page), S (stateful) and J (JWT).

use leptos::prelude::*;

use crate::client;
use crate::components::dashboard_state::DashboardState;
use crate::components::room_status::RoundBanner;
use crate::model::{Mode, PAGES};

#[component]
pub fn LoadSimulator() -> impl IntoView {
    let state = DashboardState::expect();

    let send_request = move || {
        if state.busy.get_untracked() {
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
    let request_page = move |event: leptos::ev::MouseEvent| {
        // The second click of a double click (detail 2) sends nothing, even when the first
        // click's request has already finished. Keys that press the button report 0.
        if event.detail() <= 1 {
            send_request();
        }
    };

    // Effects run only in the browser, where the window exists.
    Effect::new(move |_| {
        let listener = window_event_listener(leptos::ev::keydown, move |event| match shortcut(&event) {
            Some(Shortcut::Request) => send_request(),
            Some(Shortcut::Mode(mode)) => state.mode.set(mode),
            None => {}
        });
        on_cleanup(move || listener.remove());
    });

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
            <RoundBanner/>
            <button type="button" class="primary big" data-testid="request-page"
                on:click=request_page aria-busy=move || state.busy.get().to_string()>
                "Request Page"
            </button>
            <p class="hint">
                "Next: " <code data-testid="next-page">{move || state.next_page_name()}</code>
                " · " {move || explain(state.mode.get())}
            </p>
            <p class="hint keys">
                "Keys: " <kbd>"R"</kbd> " Request Page · " <kbd>"S"</kbd> " Stateful · " <kbd>"J"</kbd> " JWT"
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

/// A keyboard shortcut of the dashboard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shortcut {
    Request,
    Mode(Mode),
}

/// Returns the shortcut that `event` presses. Keys typed into a form field, held with a
/// modifier or repeated by holding the key down are not shortcuts.
fn shortcut(event: &leptos::web_sys::KeyboardEvent) -> Option<Shortcut> {
    if event.repeat() || event.ctrl_key() || event.meta_key() || event.alt_key() || typing_into_field(event) {
        return None;
    }
    shortcut_for_key(&event.key())
}

fn shortcut_for_key(key: &str) -> Option<Shortcut> {
    match key {
        "r" | "R" => Some(Shortcut::Request),
        "s" | "S" => Some(Shortcut::Mode(Mode::Stateful)),
        "j" | "J" => Some(Shortcut::Mode(Mode::Jwt)),
        _ => None,
    }
}

/// Returns whether the key went to a text field, select or editable element.
fn typing_into_field(event: &leptos::web_sys::KeyboardEvent) -> bool {
    use leptos::wasm_bindgen::JsCast;
    let Some(element) = event.target().and_then(|target| target.dyn_into::<leptos::web_sys::Element>().ok()) else {
        return false;
    };
    matches!(element.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT")
        || element.get_attribute("contenteditable").is_some_and(|value| value != "false")
}

fn explain(mode: Mode) -> &'static str {
    match mode {
        Mode::Stateful => "sends only the session ID cookie; the server looks the session up in SQLite.",
        Mode::Jwt => "sends the signed JWT; the server checks its signature and claims in memory.",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_map_to_shortcuts() {
        assert_eq!(shortcut_for_key("r"), Some(Shortcut::Request));
        assert_eq!(shortcut_for_key("R"), Some(Shortcut::Request));
        assert_eq!(shortcut_for_key("s"), Some(Shortcut::Mode(Mode::Stateful)));
        assert_eq!(shortcut_for_key("J"), Some(Shortcut::Mode(Mode::Jwt)));
        assert_eq!(shortcut_for_key("Enter"), None);
    }
}
