//! The dashboard's "Workshop room" card, with the room's participants and totals and the mode
//! the presenter chose, and the round banner that the Load Simulator card shows next to the
//! Request Page button, with this visitor's own progress.
//!
//! The visitor joins the room under the display name of the signed-in user, so the presenter's
//! activity list shows who sent each request.

use leptos::prelude::*;

use crate::client;
use crate::components::clock::ticking_clock;
use crate::components::dashboard_state::DashboardState;
use crate::components::numbers::fixed;
use crate::model::room::{Round, RoomSummary};
use crate::model::LogLine;

#[component]
pub fn RoomStatus() -> impl IntoView {
    let state = DashboardState::expect();

    // Joins, or renames this visitor in, the room whenever a user signs in, and joins again
    // after the presenter empties the room.
    let resets = Memo::new(move |_| state.room.with(|room| room.as_ref().map(|room| room.resets)));
    Effect::new(move |_| {
        resets.track();
        if let Some(user) = state.user.get() {
            leptos::task::spawn_local(async move {
                if let Err(error) = client::room::join(user.name).await {
                    state.notice.set(Some(error.reason));
                }
            });
        }
    });

    let summary = move || state.room.get();

    view! {
        <section class="card room-status" aria-labelledby="room-title" data-testid="room-card">
            <h2 id="room-title">"Workshop room"</h2>
            <p data-testid="room-participants">{move || summary().map(describe_room).unwrap_or_else(|| "Connecting to the room…".into())}</p>
            <table class="room-totals" data-testid="room-totals">
                <caption class="visually-hidden">"The room's totals per mode"</caption>
                <thead>
                    <tr><th scope="col">"Room"</th><th scope="col">"Stateful"</th><th scope="col">"JWT"</th></tr>
                </thead>
                <tbody>
                    <tr>
                        <th scope="row">"Requests"</th>
                        <td>{move || summary().map(|room| room.stateful.requests).unwrap_or(0)}</td>
                        <td>{move || summary().map(|room| room.jwt.requests).unwrap_or(0)}</td>
                    </tr>
                    <tr>
                        <th scope="row">"DB hits"</th>
                        <td>{move || summary().map(|room| room.stateful.db_hits).unwrap_or(0)}</td>
                        <td>{move || summary().map(|room| room.jwt.db_hits).unwrap_or(0)}</td>
                    </tr>
                    <tr>
                        <th scope="row">"DB hits/s"</th>
                        <td>{move || fixed(summary().map_or(0.0, |room| room.stateful.db_hits_per_sec), 1)}</td>
                        <td>{move || fixed(summary().map_or(0.0, |room| room.jwt.db_hits_per_sec), 1)}</td>
                    </tr>
                </tbody>
            </table>
        </section>
    }
}

/// Shows the current round's task, this visitor's progress and the time left, while the
/// presenter runs a round.
#[component]
pub fn RoundBanner() -> impl IntoView {
    let state = DashboardState::expect();
    let now = ticking_clock();
    let text = move || {
        let round = state.room.with(|room| room.as_ref().and_then(|room| room.round))?;
        let server_now = now.get().saturating_add_signed(-state.clock_skew_ms.get());
        let mine = state.log.with(|log| own_round_requests(log, &round));
        Some(describe_round(&round, mine, server_now))
    };
    view! {
        <Show when=move || text().is_some()>
            <p class="round-banner" role="status" data-testid="round-banner">{text}</p>
        </Show>
    }
}

/// Describes who is in the room and the mode the presenter chose.
fn describe_room(room: RoomSummary) -> String {
    let people = match room.participants {
        0 => "Nobody has joined yet; signing in joins the room.".to_owned(),
        1 => "1 participant.".to_owned(),
        count => format!("{count} participants."),
    };
    match room.mode {
        Some(mode) => format!("{people} The presenter switched the room to {}.", mode.label()),
        None => people,
    }
}

/// Counts this visitor's successful page and service requests of the round among the log
/// lines it shows, as the server counts them.
fn own_round_requests(log: &[LogLine], round: &Round) -> u32 {
    let in_round = |line: &&LogLine| {
        line.mode.is_some()
            && line.counted
            && line.status < 400
            && (round.started_at_ms..round.ends_at_ms).contains(&line.at_ms)
    };
    log.iter().filter(in_round).count() as u32
}

/// Describes the round: the task, this visitor's progress and the time left.
fn describe_round(round: &Round, mine: u32, server_now_ms: u64) -> String {
    let task = format!("Round {}: make {} page requests.", round.number, round.requests_each);
    let progress = format!("You: {}/{}.", mine.min(round.requests_each), round.requests_each);
    if server_now_ms >= round.ends_at_ms {
        return format!("Round {} is over. You made {mine} of {}.", round.number, round.requests_each);
    }
    let seconds_left = (round.ends_at_ms - server_now_ms).div_ceil(1000);
    format!("{task} {progress} {seconds_left} s left · {} done", round.participants_done)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round() -> Round {
        Round {
            number: 2,
            requests_each: 20,
            started_at_ms: 10_000,
            ends_at_ms: 70_000,
            participants_done: 3,
        }
    }

    #[test]
    fn running_round_shows_progress_and_time_left() {
        assert_eq!(
            describe_round(&round(), 7, 40_500),
            "Round 2: make 20 page requests. You: 7/20. 30 s left · 3 done"
        );
    }

    #[test]
    fn finished_round_shows_result() {
        assert_eq!(describe_round(&round(), 20, 70_000), "Round 2 is over. You made 20 of 20.");
    }

    #[test]
    fn room_description_names_presenter_mode() {
        let room = RoomSummary {
            participants: 12,
            mode: Some(crate::model::Mode::Jwt),
            ..RoomSummary::default()
        };
        assert_eq!(describe_room(room), "12 participants. The presenter switched the room to JWT (Stateless).");
    }
}
