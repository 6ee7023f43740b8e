//! The presenter view at `/present`. It shows the join address and its QR code, the room's live
//! totals per mode, a chart of the room's DB load and the latest requests of all participants.
//! Once the presenter key is entered, it adds the controls for the room's mode, rounds and reset.
//!
//! It is made to be read on a projector: large type, few words, and every number from the
//! server's stream of room snapshots.

use leptos::prelude::*;

use crate::client;
use crate::components::chart::{LineChart, Series};
use crate::components::clock::ticking_clock;
use crate::components::numbers::fixed;
use crate::model::room::{
    JoinInfo, LoadSample, ModeTotals, RoomSnapshot, LOAD_WINDOW_SECS, MAX_ROUND_REQUESTS, MAX_ROUND_SECS,
    MIN_ROUND_SECS,
};
use crate::model::Mode;

#[component]
pub fn Presenter() -> impl IntoView {
    let snapshot = RwSignal::new(None::<RoomSnapshot>);
    let connected = RwSignal::new(false);
    let join_info = RwSignal::new(None::<JoinInfo>);
    let presenter = RwSignal::new(false);
    let notice = RwSignal::new(None::<Result<String, String>>);

    // Effects run only in the browser, after hydration.
    Effect::new(move |_| {
        client::room::watch(snapshot, connected);
        leptos::task::spawn_local(async move {
            join_info.set(client::room::join_info().await.ok());
            presenter.set(client::room::is_presenter().await);
        });
    });

    let summary = move || snapshot.with(|room| room.as_ref().map(|room| room.summary.clone()));
    let totals = move |mode: Mode| {
        summary().map_or_else(ModeTotals::default, |room| match mode {
            Mode::Stateful => room.stateful,
            Mode::Jwt => room.jwt,
        })
    };

    view! {
        <div class="presenter" data-testid="presenter">
            <header class="presenter-head">
                <h1>"Session Journey · Workshop"</h1>
                <p class="stream-state" data-testid="presenter-stream"
                    data-state=move || if connected.get() { "open" } else { "connecting" }>
                    {move || if connected.get() { "● live" } else { "○ connecting…" }}
                </p>
            </header>
            <Controls presenter notice/>
            <RoundLine snapshot/>
            <div class="presenter-grid">
                <div class="presenter-side">
                    <section class="card join" aria-labelledby="join-title">
                        <h2 id="join-title">"Join"</h2>
                        <img class="qr" src="/present/qr.svg" width="240" height="240"
                            alt="QR code of the join address"/>
                        <p class="join-url" data-testid="join-url">
                            {move || join_info.get().map(|info| info.join_url).unwrap_or_default()}
                        </p>
                        <Show when=move || join_info.get().is_some_and(|info| info.loopback_only)>
                            <p class="notice" data-testid="join-warning">
                                "This address works on this computer only. Open the presenter view at "
                                "one of the network addresses the server printed at start, or start it "
                                "with " <code class="option">"--public-url"</code> "."
                            </p>
                        </Show>
                        <p class="hint">"Scan the code or type the address, then sign in with your name."</p>
                    </section>
                    <RecentActivity snapshot/>
                </div>
                <div class="presenter-main">
                    <section class="card room-numbers" aria-labelledby="numbers-title">
                        <h2 id="numbers-title">
                            <span data-testid="presenter-participants">{move || summary().map_or(0, |room| room.participants)}</span>
                            {move || if summary().map_or(0, |room| room.participants) == 1 { " participant" } else { " participants" }}
                        </h2>
                        <table class="presenter-totals" data-testid="presenter-totals">
                            <thead>
                                <tr>
                                    <th scope="col">"The room"</th>
                                    <th scope="col" class="stateful">"Stateful"</th>
                                    <th scope="col" class="jwt">"JWT"</th>
                                </tr>
                            </thead>
                            <tbody>
                                <tr>
                                    <th scope="row">"People"</th>
                                    <td>{move || totals(Mode::Stateful).participants}</td>
                                    <td>{move || totals(Mode::Jwt).participants}</td>
                                </tr>
                                <tr>
                                    <th scope="row">"Requests"</th>
                                    <td data-testid="presenter-stateful-requests">{move || totals(Mode::Stateful).requests}</td>
                                    <td data-testid="presenter-jwt-requests">{move || totals(Mode::Jwt).requests}</td>
                                </tr>
                                <tr>
                                    <th scope="row">"DB hits"</th>
                                    <td data-testid="presenter-stateful-db-hits">{move || totals(Mode::Stateful).db_hits}</td>
                                    <td data-testid="presenter-jwt-db-hits">{move || totals(Mode::Jwt).db_hits}</td>
                                </tr>
                                <tr>
                                    <th scope="row">"DB hits/s"</th>
                                    <td>{move || fixed(totals(Mode::Stateful).db_hits_per_sec, 1)}</td>
                                    <td>{move || fixed(totals(Mode::Jwt).db_hits_per_sec, 1)}</td>
                                </tr>
                            </tbody>
                        </table>
                        <p class="hint">
                            {move || match summary().and_then(|room| room.mode) {
                                Some(mode) => format!("Everyone is in {} mode.", mode.label()),
                                None => "Each participant picks a mode.".to_owned(),
                            }}
                        </p>
                    </section>
                    <section class="card load" aria-labelledby="load-title">
                        <h2 id="load-title">"DB hits per second, last minute"</h2>
                        <LineChart series=Signal::derive(move || load_series(snapshot)) unit="hits/s"
                            label="The room's DB hits per second by mode" x_label="seconds →"
                            test_id="presenter-load-chart"/>
                    </section>
                </div>
            </div>
        </div>
    }
}

/// Lists the latest page requests of all participants, newest first.
#[component]
fn RecentActivity(snapshot: RwSignal<Option<RoomSnapshot>>) -> impl IntoView {
    let recent = move || snapshot.with(|room| room.as_ref().map(|room| room.recent.clone()).unwrap_or_default());
    view! {
        <section class="card activity" aria-labelledby="activity-title">
            <h2 id="activity-title">"Latest requests"</h2>
            <Show when=move || recent().is_empty()>
                <p class="hint">"No requests yet."</p>
            </Show>
            <ol class="room-activity" data-testid="room-activity">
                <For
                    each=recent
                    key=|activity| activity.seq
                    children=|activity| {
                        let class = if activity.status < 400 { activity.mode.path_segment() } else { "failed" };
                        view! {
                            <li class=class>
                                <strong>{activity.participant}</strong>
                                <span>{short_mode(activity.mode)}</span>
                                <span>{activity.status}</span>
                                <span>{format!("{} DB", activity.db_hits)}</span>
                            </li>
                        }
                    }
                />
            </ol>
        </section>
    }
}

/// Shows the current round in one line at the top, with a countdown by the server's clock.
#[component]
fn RoundLine(snapshot: RwSignal<Option<RoomSnapshot>>) -> impl IntoView {
    let now = ticking_clock();
    // The browser's clock minus the server's, taken when the snapshot changes.
    let skew = Memo::new(move |_| {
        snapshot.with(|room| room.as_ref().map_or(0, |room| crate::components::clock::browser_now_ms() as i64 - room.summary.server_now_ms as i64))
    });
    let text = move || {
        let round = snapshot.with(|room| room.as_ref().and_then(|room| room.summary.round))?;
        let participants = snapshot.with(|room| room.as_ref().map_or(0, |room| room.summary.participants));
        let server_now = now.get().saturating_add_signed(-skew.get());
        let done = format!("{} of {participants} done", round.participants_done);
        if server_now >= round.ends_at_ms {
            return Some(format!("Round {} is over: {done}.", round.number));
        }
        let seconds_left = (round.ends_at_ms - server_now).div_ceil(1000);
        Some(format!(
            "Round {}: {} page requests each · {seconds_left} s left · {done}",
            round.number, round.requests_each
        ))
    };
    view! {
        <Show when=move || text().is_some()>
            <p class="round-line" role="status" data-testid="presenter-round">{text}</p>
        </Show>
    }
}

/// Shows the presenter's controls, or the key form for a browser without the key.
#[component]
/// `notice` is the outcome of the last action: what it did, or why it failed.
fn Controls(presenter: RwSignal<bool>, notice: RwSignal<Option<Result<String, String>>>) -> impl IntoView {
    let key = RwSignal::new(String::new());
    let requests = RwSignal::new(String::from("20"));
    let seconds = RwSignal::new(String::from("60"));

    let enter_key = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let key = key.get_untracked();
        leptos::task::spawn_local(async move {
            match client::room::enter_presenter_key(key).await {
                Ok(status) => {
                    presenter.set(status.presenter);
                    notice.set(None);
                }
                Err(error) => notice.set(Some(Err(error.reason))),
            }
        });
    };
    let report = move |result: Result<String, client::api::CallError>| {
        notice.set(Some(result.map_err(|error| error.reason)));
    };
    let switch = move |mode: Mode| {
        leptos::task::spawn_local(async move {
            let result = client::room::set_mode(mode).await;
            report(result.map(|_| format!("The room is now in {} mode.", mode.label())));
        });
    };
    let start_round = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let (Ok(requests_each), Ok(seconds)) =
            (requests.get_untracked().trim().parse::<u32>(), seconds.get_untracked().trim().parse::<u32>())
        else {
            notice.set(Some(Err("Enter whole numbers for the requests and the seconds.".into())));
            return;
        };
        leptos::task::spawn_local(async move {
            let result = client::room::start_round(requests_each, seconds).await;
            report(result.map(|summary| format!("Round {} started.", summary.round.map_or(0, |round| round.number))));
        });
    };
    let reset = move |_| {
        leptos::task::spawn_local(async move {
            report(client::room::reset().await.map(|_| "The room was reset.".to_owned()));
        });
    };

    view! {
        <section class="card controls" aria-labelledby="controls-title">
            <h2 id="controls-title">"Presenter controls"</h2>
            <Show
                when=move || presenter.get()
                fallback=move || view! {
                    <form class="row" on:submit=enter_key>
                        <label for="presenter-key">"Presenter key"</label>
                        <input id="presenter-key" data-testid="presenter-key" type="password"
                            autocomplete="off" prop:value=move || key.get()
                            on:input=move |event| key.set(event_target_value(&event))/>
                        <button type="submit" class="primary" data-testid="enter-presenter-key">"Unlock"</button>
                    </form>
                    <p class="hint">"The server printed the key when it started."</p>
                }
            >
                <div class="row">
                    <button type="button" data-testid="room-mode-stateful" on:click=move |_| switch(Mode::Stateful)>
                        "Everyone: Stateful"
                    </button>
                    <button type="button" data-testid="room-mode-jwt" on:click=move |_| switch(Mode::Jwt)>
                        "Everyone: JWT"
                    </button>
                    <button type="button" data-testid="room-reset" on:click=reset>"Reset the room"</button>
                </div>
                <form class="row round-form" on:submit=start_round>
                    <label for="round-requests">"Requests each"</label>
                    <input id="round-requests" data-testid="round-requests" type="number" min="1"
                        max=MAX_ROUND_REQUESTS inputmode="numeric" prop:value=move || requests.get()
                        on:input=move |event| requests.set(event_target_value(&event))/>
                    <label for="round-seconds">"Seconds"</label>
                    <input id="round-seconds" data-testid="round-seconds" type="number" min=MIN_ROUND_SECS
                        max=MAX_ROUND_SECS inputmode="numeric" prop:value=move || seconds.get()
                        on:input=move |event| seconds.set(event_target_value(&event))/>
                    <button type="submit" class="primary" data-testid="start-round">"Start round"</button>
                </form>
            </Show>
            <Show when=move || notice.with(Option::is_some)>
                <p class=move || if notice.with(|notice| matches!(notice, Some(Err(_)))) { "notice" } else { "done" }
                    role="status" data-testid="presenter-notice">
                    {move || notice.get().map(|outcome| outcome.unwrap_or_else(|reason| reason))}
                </p>
            </Show>
        </section>
    }
}

fn short_mode(mode: Mode) -> &'static str {
    match mode {
        Mode::Stateful => "Stateful",
        Mode::Jwt => "JWT",
    }
}

/// Builds the chart's two lines: DB hits per second of each mode over the last minute.
fn load_series(snapshot: RwSignal<Option<RoomSnapshot>>) -> Vec<Series> {
    snapshot.with(|room| {
        let samples: &[LoadSample] = room.as_ref().map_or(&[], |room| room.load.as_slice());
        let line = |mode: Mode, pick: fn(&LoadSample) -> u64| Series {
            name: mode.label().to_owned(),
            class: mode.path_segment(),
            points: samples
                .iter()
                .enumerate()
                .map(|(second, sample)| (second as f64, pick(sample) as f64))
                .collect(),
        };
        debug_assert!(samples.is_empty() || samples.len() == LOAD_WINDOW_SECS);
        vec![
            line(Mode::Stateful, |sample| sample.stateful_db_hits),
            line(Mode::Jwt, |sample| sample.jwt_db_hits),
        ]
    })
}
