//! The live stream: each visitor's log lines and counters as Server-Sent Events.

pub mod history;
pub mod hub;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::Extension;
use futures::stream::{self, Stream, StreamExt};
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::wrappers::{BroadcastStream, WatchStream};

pub use hub::{LiveEvent, LiveHub, StreamLimit, Subscription};

use crate::server::error::AppError;
use crate::server::room::Room;
use crate::server::visitor::{IssuedVisitor, VisitorId};

/// How long a browser waits before reconnecting a dropped stream.
const RECONNECT_AFTER: Duration = Duration::from_secs(2);

/// Interval of the comment lines that keep idle connections open through proxies.
const KEEP_ALIVE_EVERY: Duration = Duration::from_secs(15);

/// `GET /api/events`: the visitor's stream. It opens with a `counters` event, then sends a
/// `log` event per request and a `counters` event after each, and a `lagged` event with the
/// number of skipped events when this client fell behind. A `simulation` event reports the
/// progress of the visitor's traffic simulation, and a `room` event the workshop room's
/// summary, first when the stream opens and then at most once a second while it changes.
///
/// A request without a visitor cookie is a new visitor each time, so the streams that such
/// requests open are also capped per client address. A browser has its cookie from the page
/// before it opens the stream, so only clients that keep no cookies meet that cap.
pub async fn events(
    State(hub): State<Arc<LiveHub>>,
    State(room): State<Arc<Room>>,
    Extension(visitor): Extension<VisitorId>,
    issued: Option<Extension<IssuedVisitor>>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, AppError> {
    let cookieless_address = match (issued, peer) {
        (Some(_), Some(Extension(ConnectInfo(peer)))) => Some(peer.ip()),
        _ => None,
    };
    let subscription = hub.subscribe(&visitor, cookieless_address).map_err(|limit| match limit {
        StreamLimit::Server(max) => AppError::client(
            StatusCode::SERVICE_UNAVAILABLE,
            "too_many_streams",
            format!("the server already has its maximum of {max} live streams open; try again later"),
        ),
        StreamLimit::Visitor(max) => AppError::client(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_streams",
            format!("this browser already has {max} live streams open; close a tab and reload"),
        ),
        StreamLimit::CookielessAddress(max) => AppError::client(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_streams",
            format!(
                "this address already has {max} live streams open that were requested without a visitor \
                 cookie; keep the sj_visitor cookie that the server sets, as a browser does, or close a stream"
            ),
        ),
    })?;
    tracing::debug!(visitor = visitor.short(), "live stream opened");
    let room_summaries = WatchStream::from_changes(room.watch_summary());
    let first_summary = room.summary();
    let room_events = stream::once(std::future::ready(json_event("room", &first_summary)))
        .chain(room_summaries.map(|summary| json_event("room", &*summary)));
    Ok(Sse::new(event_stream(subscription, room_events)).keep_alive(KeepAlive::new().interval(KEEP_ALIVE_EVERY)))
}

fn event_stream(
    subscription: Subscription,
    room_events: impl Stream<Item = Event> + Send + 'static,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let Subscription {
        receiver,
        initial,
        shutdown,
        guard,
    } = subscription;
    let first = counters_event(&initial).retry(RECONNECT_AFTER);
    let live = BroadcastStream::new(receiver).map(|item| match item {
        Ok(LiveEvent::Log(line)) => json_event("log", &*line),
        Ok(LiveEvent::Counters(stats)) => counters_event(&stats),
        Ok(LiveEvent::Simulation(status)) => json_event("simulation", &*status),
        Err(BroadcastStreamRecvError::Lagged(skipped)) => {
            Event::default().event("lagged").data(skipped.to_string())
        }
    });
    let closing = WatchStream::new(shutdown).filter(|closing| std::future::ready(*closing));

    // The guard travels with the stream so that its limits are released when the stream ends.
    stream::once(std::future::ready(first))
        .chain(stream::select(live, room_events))
        .take_until(closing.into_future())
        .map(move |event| {
            let _held = &guard;
            Ok(event)
        })
}

fn counters_event(stats: &crate::model::Stats) -> Event {
    json_event("counters", stats)
}

fn json_event<T: serde::Serialize>(name: &str, value: &T) -> Event {
    // Serializing these plain structs cannot fail; an empty event would be harmless anyway.
    let data = serde_json::to_string(value).unwrap_or_default();
    Event::default().event(name).data(data)
}
