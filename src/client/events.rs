//! The browser's end of the live stream: an `EventSource` on `/api/events` that feeds the
//! dashboard's signals and reconnects by itself.

use crate::components::dashboard_state::DashboardState;

/// How long to wait before opening a new stream after the browser gave up on one, in ms.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
const RECONNECT_DELAY_MS: u64 = 2_000;

/// Opens the visitor's live stream and keeps it open.
pub fn connect(state: DashboardState) {
    #[cfg(feature = "hydrate")]
    browser::open(state);
    #[cfg(not(feature = "hydrate"))]
    let _ = state;
}

#[cfg(feature = "hydrate")]
mod browser {
    use std::time::Duration;

    use leptos::prelude::*;
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;
    use web_sys::{EventSource, MessageEvent};

    use super::RECONNECT_DELAY_MS;
    use crate::client::api::parse;
    use crate::components::dashboard_state::DashboardState;
    use crate::model::room::RoomSummary;
    use crate::model::{LogLine, SimulationStatus, Stats};

    pub fn open(state: DashboardState) {
        let Ok(source) = EventSource::new("/api/events") else {
            state.stream_open.set(false);
            return;
        };

        listen(&source, "log", move |data| {
            if let Some(line) = parse::<LogLine>(&data) {
                state.push_log(line);
            }
        });
        listen(&source, "counters", move |data| {
            if let Some(stats) = parse::<Stats>(&data) {
                state.stats.set(Some(stats));
            }
        });
        listen(&source, "simulation", move |data| {
            if let Some(status) = parse::<SimulationStatus>(&data) {
                state.merge_simulation(status);
            }
        });
        listen(&source, "room", move |data| {
            if let Some(summary) = parse::<RoomSummary>(&data) {
                state.merge_room(summary, js_sys::Date::now() as i64);
            }
        });
        listen(&source, "lagged", move |data| {
            state.skipped_events.update(|skipped| *skipped += data.parse::<u64>().unwrap_or(0));
        });

        let on_open = Closure::<dyn FnMut()>::new(move || state.stream_open.set(true));
        source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        on_open.forget();

        // The browser retries a dropped stream by itself; it gives up (CLOSED) only when the
        // server answers with an error, for example while it restarts behind a proxy.
        let retry_source = source.clone();
        let on_error = Closure::<dyn FnMut()>::new(move || {
            state.stream_open.set(false);
            if retry_source.ready_state() == EventSource::CLOSED {
                set_timeout(move || open(state), Duration::from_millis(RECONNECT_DELAY_MS));
            }
        });
        source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        on_error.forget();
    }

    fn listen(source: &EventSource, name: &str, mut handle: impl FnMut(String) + 'static) {
        let callback = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            if let Some(data) = event.data().as_string() {
                handle(data);
            }
        });
        let _ = source.add_event_listener_with_callback(name, callback.as_ref().unchecked_ref());
        // The stream lives as long as the page, so its listeners do too.
        callback.forget();
    }
}
