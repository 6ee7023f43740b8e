//! The workshop room from the browser: joining, the presenter's calls, and the presenter
//! view's stream of room snapshots.

use leptos::prelude::*;

#[cfg(feature = "hydrate")]
use super::api::{http, NO_BODY};
#[cfg(not(feature = "hydrate"))]
use super::api::not_in_browser;
use super::api::CallError;
use crate::model::room::{
    JoinInfo, JoinRequest, PresenterKeyRequest, PresenterStatus, RoomModeRequest, RoomSnapshot, RoomSummary,
    RoundRequest,
};
use crate::model::Mode;

/// `POST /api/room/participants`: joins the room under `name`.
pub async fn join(name: String) -> Result<RoomSummary, CallError> {
    #[cfg(feature = "hydrate")]
    return http::call("POST", "/api/room/participants", Some(&JoinRequest { name })).await;
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = JoinRequest { name };
        not_in_browser()
    }
}

/// `GET /api/room/join`.
pub async fn join_info() -> Result<JoinInfo, CallError> {
    #[cfg(feature = "hydrate")]
    return http::call("GET", "/api/room/join", NO_BODY).await;
    #[cfg(not(feature = "hydrate"))]
    not_in_browser()
}

/// `GET /api/room/presenter`: returns whether this browser has the presenter key.
pub async fn is_presenter() -> bool {
    #[cfg(feature = "hydrate")]
    return http::call::<PresenterStatus>("GET", "/api/room/presenter", NO_BODY)
        .await
        .is_ok_and(|status| status.presenter);
    #[cfg(not(feature = "hydrate"))]
    false
}

/// `POST /api/room/presenter/key`.
pub async fn enter_presenter_key(key: String) -> Result<PresenterStatus, CallError> {
    #[cfg(feature = "hydrate")]
    return http::call("POST", "/api/room/presenter/key", Some(&PresenterKeyRequest { key })).await;
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = PresenterKeyRequest { key };
        not_in_browser()
    }
}

/// `POST /api/room/mode`.
pub async fn set_mode(mode: Mode) -> Result<RoomSummary, CallError> {
    #[cfg(feature = "hydrate")]
    return http::call("POST", "/api/room/mode", Some(&RoomModeRequest { mode })).await;
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = RoomModeRequest { mode };
        not_in_browser()
    }
}

/// `POST /api/room/rounds`.
pub async fn start_round(requests_each: u32, seconds: u32) -> Result<RoomSummary, CallError> {
    let request = RoundRequest { requests_each, seconds };
    #[cfg(feature = "hydrate")]
    return http::call("POST", "/api/room/rounds", Some(&request)).await;
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = request;
        not_in_browser()
    }
}

/// `POST /api/room/reset`.
pub async fn reset() -> Result<RoomSummary, CallError> {
    #[cfg(feature = "hydrate")]
    return http::call("POST", "/api/room/reset", NO_BODY).await;
    #[cfg(not(feature = "hydrate"))]
    not_in_browser()
}

/// Opens the presenter's stream on `/api/room/events` and writes each snapshot to `snapshot`.
/// `connected` follows whether the stream is open. The browser reconnects a dropped stream
/// by itself.
pub fn watch(snapshot: RwSignal<Option<RoomSnapshot>>, connected: RwSignal<bool>) {
    #[cfg(feature = "hydrate")]
    browser::open(snapshot, connected);
    #[cfg(not(feature = "hydrate"))]
    let _ = (snapshot, connected);
}

#[cfg(feature = "hydrate")]
mod browser {
    use leptos::prelude::*;
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;
    use web_sys::{EventSource, MessageEvent};

    use crate::client::api::parse;
    use crate::model::room::RoomSnapshot;

    pub fn open(snapshot: RwSignal<Option<RoomSnapshot>>, connected: RwSignal<bool>) {
        let Ok(source) = EventSource::new("/api/room/events") else {
            connected.set(false);
            return;
        };
        let on_room = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            if let Some(room) = event.data().as_string().and_then(|data| parse::<RoomSnapshot>(&data)) {
                snapshot.set(Some(room));
            }
        });
        let _ = source.add_event_listener_with_callback("room", on_room.as_ref().unchecked_ref());
        on_room.forget();
        let on_open = Closure::<dyn FnMut()>::new(move || connected.set(true));
        source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        on_open.forget();
        let on_error = Closure::<dyn FnMut()>::new(move || connected.set(false));
        source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        on_error.forget();
    }
}
