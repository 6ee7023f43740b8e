//! The console-style live log of what the server did for each of this visitor's requests.

use leptos::prelude::*;

use crate::components::dashboard_state::DashboardState;
use crate::components::numbers::duration_us;
use crate::model::LogLine;

/// Text shown before the first request.
pub const IDLE_LINE: &str = "> System Idle. Awaiting request...";

#[component]
pub fn LiveLog() -> impl IntoView {
    let state = DashboardState::expect();
    let stream_state = move || if state.stream_open.get() { "open" } else { "connecting" };

    view! {
        <section class="card console-card" aria-labelledby="log-title">
            <div class="console-head">
                <h2 id="log-title">"Live log"</h2>
                <span class="stream" data-testid="stream-state" data-state=stream_state>
                    {move || if state.stream_open.get() { "● live" } else { "○ connecting…" }}
                </span>
            </div>
            <div class="console" data-testid="live-log" role="log" aria-live="polite"
                data-stream=stream_state>
                <Show when=move || state.log.with(Vec::is_empty)>
                    <p class="idle" data-testid="idle-line">{IDLE_LINE}</p>
                </Show>
                <For each=move || state.log.get().into_iter().rev() key=|line| line.seq let:line>
                    <LogEntry line/>
                </For>
                <Show when=move || { state.skipped_events.get() > 0 }>
                    <p class="warn">
                        {move || format!("{} events skipped because this tab fell behind", state.skipped_events.get())}
                    </p>
                </Show>
            </div>
        </section>
    }
}

#[component]
fn LogEntry(line: LogLine) -> impl IntoView {
    let status_class = if line.status < 400 { "ok" } else { "err" };
    let mode = line.mode.map(|mode| format!(" · {}", mode.label())).unwrap_or_default();
    let sql_lines = if line.statements.is_empty() {
        view! { <p class="sql none">"  no DB query"</p> }.into_any()
    } else {
        line.statements
            .iter()
            .map(|statement| {
                view! {
                    <p class="sql" data-testid="log-sql">
                        "  SQL " <code>{statement.sql.clone()}</code>
                        <span class="dim">{format!(" ({} µs)", statement.us)}</span>
                        {(statement.simulated_us > 0).then(|| view! {
                            <span class="simulated">{format!(" incl. {} µs simulated", statement.simulated_us)}</span>
                        })}
                    </p>
                }
            })
            .collect_view()
            .into_any()
    };
    let auth = line.auth_us.map(|auth_us| view! { <p class="dim">{format!("  auth step {auth_us} µs")}</p> });
    let service = line.service.clone().map(|service| view! { <span class="tag">{service} " service"</span> });

    view! {
        <article class=format!("log-line {status_class}") data-testid="log-line"
            data-status=line.status data-mode=line.mode.map(|mode| mode.path_segment()).unwrap_or("other")
            data-queries=line.statements.len()>
            <p class="head">
                <span class="dim">{format_time(line.at_ms)}</span>
                " > " <strong>{line.method.clone()} " " {line.path.clone()}</strong>
                {mode}
                {service}
                " → " <span class=format!("status {status_class}")>{line.status}</span>
                <span class="dim">{format!(" in {}", duration_us(line.total_us))}</span>
            </p>
            {sql_lines}
            {auth}
            <p class="message">"  " {line.message.clone()}</p>
        </article>
    }
}

/// Formats Unix milliseconds as a UTC time of day, the same on server and browser.
fn format_time(at_ms: u64) -> String {
    let seconds_of_day = (at_ms / 1000) % 86_400;
    format!(
        "{:02}:{:02}:{:02}.{:03} UTC",
        seconds_of_day / 3600,
        (seconds_of_day / 60) % 60,
        seconds_of_day % 60,
        at_ms % 1000
    )
}


