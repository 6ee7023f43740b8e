//! The summary printed at the end of a run, as text or JSON.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::cli::ModeChoice;
use crate::delivery::DeliverySummary;
use crate::latency::LatencySummary;
use crate::load::RequestSummary;
use crate::streams::StreamSummary;

/// Delivery latency target for p99, in milliseconds.
const P99_TARGET_MS: f64 = 200.0;

/// Server memory target, in bytes (150 MB).
const MEMORY_TARGET_BYTES: u64 = 150_000_000;

/// The run's settings.
#[derive(Debug, Serialize)]
pub struct Settings {
    pub url: String,
    pub mode: ModeChoice,
    pub streams: u32,
    pub visitors: u32,
    pub rate: u32,
    pub duration_secs: u64,
    /// Missed-tick behavior of the request schedule: `burst` sends a missed tick at once.
    pub missed_tick_behavior: &'static str,
    /// The start point of `delivery.latency_from_send`.
    pub latency_measured_from: &'static str,
}

/// Sign-in results.
#[derive(Debug, Serialize)]
pub struct SignInSummary {
    pub signed_in: u64,
    /// Failed sign-ins, by status or reason.
    pub errors: BTreeMap<String, u64>,
}

/// The server's memory, in KiB.
#[derive(Debug, Serialize)]
pub struct MemorySummary {
    pub pid: u32,
    /// VmRSS before the tool sent anything but the health check.
    pub rss_at_start_kib: u64,
    /// VmRSS with every visitor signed in, before any stream opened.
    pub rss_signed_in_kib: u64,
    /// VmRSS with every visitor signed in and every stream open, before the load.
    pub rss_streams_open_kib: u64,
    /// The highest VmRSS read during the load phase (read every 200 ms).
    pub peak_rss_sampled_kib: u64,
    /// VmHWM at the end: the kernel's record of the peak since the server started.
    pub vm_hwm_kib: u64,
    /// VmRSS at the end, streams still open.
    pub rss_at_end_kib: u64,
}

/// Whether the run met each target. Reported, not enforced.
#[derive(Debug, Serialize)]
pub struct Targets {
    pub no_errors: bool,
    pub p99_delivery_under_200_ms: bool,
    /// Unknown without `--server-pid`.
    pub server_memory_under_150_mb: Option<bool>,
}

/// Everything the tool reports.
#[derive(Debug, Serialize)]
pub struct Summary {
    pub settings: Settings,
    pub sign_in: SignInSummary,
    pub streams: StreamSummary,
    pub requests: RequestSummary,
    pub delivery: DeliverySummary,
    pub server_memory: Option<MemorySummary>,
    /// Sum of every failure counted above: sign-ins, streams, responses other than 200,
    /// transport and refresh errors, lagged streams, and missing or unexpected events.
    pub errors: u64,
    pub targets: Targets,
}

impl Summary {
    /// Builds the summary and works out the error total and the targets.
    pub fn new(
        settings: Settings,
        sign_in: SignInSummary,
        streams: StreamSummary,
        requests: RequestSummary,
        delivery: DeliverySummary,
        server_memory: Option<MemorySummary>,
    ) -> Self {
        let errors = count_errors(&sign_in, &streams, &requests, &delivery);
        let targets = Targets {
            no_errors: errors == 0,
            p99_delivery_under_200_ms: delivery.latency_from_send.count > 0
                && delivery.latency_from_send.p99_ms < P99_TARGET_MS,
            server_memory_under_150_mb: server_memory.as_ref().map(|memory| {
                memory.vm_hwm_kib.max(memory.peak_rss_sampled_kib) * 1024 < MEMORY_TARGET_BYTES
            }),
        };
        Self {
            settings,
            sign_in,
            streams,
            requests,
            delivery,
            server_memory,
            errors,
            targets,
        }
    }

    /// Formats the summary for people.
    pub fn to_text(&self) -> String {
        let mut text = String::new();
        self.write_text(&mut text)
            .expect("writing to a String cannot fail");
        text
    }

    fn write_text(&self, out: &mut String) -> std::fmt::Result {
        let settings = &self.settings;
        writeln!(
            out,
            "target            {} (mode {:?})",
            settings.url, settings.mode
        )?;
        writeln!(
            out,
            "load              {} streams over {} visitors, {} requests/s for {} s (missed ticks: {})",
            settings.streams, settings.visitors, settings.rate, settings.duration_secs, settings.missed_tick_behavior
        )?;
        writeln!(
            out,
            "sign-in           {} signed in, errors {}",
            self.sign_in.signed_in,
            labels(&self.sign_in.errors)
        )?;

        let streams = &self.streams;
        writeln!(
            out,
            "streams           {} of {} opened; open errors {}; ended early {}; read errors {}",
            streams.opened,
            streams.requested,
            labels(&streams.open_errors),
            streams.ended_early,
            streams.read_errors
        )?;
        writeln!(
            out,
            "events received   {} ({} log); lagged {} (events skipped {})",
            streams.events_received,
            streams.log_events,
            streams.lagged_events,
            streams.events_skipped
        )?;

        let requests = &self.requests;
        writeln!(
            out,
            "requests sent     {} in {:.2} s ({:.1}/s)",
            requests.sent, requests.send_phase_secs, requests.achieved_rate
        )?;
        writeln!(
            out,
            "responses         {}",
            statuses(&requests.responses_by_status)
        )?;
        writeln!(
            out,
            "transport errors  {}",
            labels(&requests.transport_errors)
        )?;
        writeln!(
            out,
            "token refreshes   {}, errors {}",
            requests.token_refreshes,
            labels(&requests.refresh_errors)
        )?;
        writeln!(
            out,
            "response latency  {}",
            latency(&requests.response_latency)
        )?;

        let delivery = &self.delivery;
        writeln!(
            out,
            "page events       {} matched, {} missing, {} unexpected; {} other log events",
            delivery.page_events_matched,
            delivery.page_events_missing,
            delivery.page_events_unexpected,
            delivery.other_log_events
        )?;
        writeln!(
            out,
            "delivery latency  {}  (from {})",
            latency(&delivery.latency_from_send),
            settings.latency_measured_from
        )?;
        writeln!(
            out,
            "  from server log {}  (event at_ms to arrival, 1 ms resolution)",
            latency(&delivery.latency_from_server_log)
        )?;

        match &self.server_memory {
            Some(memory) => writeln!(
                out,
                "server memory     pid {}: VmRSS {} at start, {} signed in, {} with streams open, peak sampled {}, at end {}; VmHWM {}",
                memory.pid,
                mib(memory.rss_at_start_kib),
                mib(memory.rss_signed_in_kib),
                mib(memory.rss_streams_open_kib),
                mib(memory.peak_rss_sampled_kib),
                mib(memory.rss_at_end_kib),
                mib(memory.vm_hwm_kib)
            )?,
            None => writeln!(out, "server memory     not read (pass --server-pid)")?,
        }

        let targets = &self.targets;
        let memory_target = match targets.server_memory_under_150_mb {
            Some(met) => yes_no(met),
            None => "not measured",
        };
        writeln!(
            out,
            "targets           no errors: {} ({} errors); p99 delivery < 200 ms: {}; server memory < 150 MB: {}",
            yes_no(targets.no_errors),
            self.errors,
            yes_no(targets.p99_delivery_under_200_ms),
            memory_target
        )
    }
}

fn count_errors(
    sign_in: &SignInSummary,
    streams: &StreamSummary,
    requests: &RequestSummary,
    delivery: &DeliverySummary,
) -> u64 {
    let non_ok: u64 = requests
        .responses_by_status
        .iter()
        .filter(|(status, _)| **status != 200)
        .map(|(_, count)| count)
        .sum();
    sign_in.errors.values().sum::<u64>()
        + streams.open_errors.values().sum::<u64>()
        + streams.ended_early
        + streams.read_errors
        + streams.lagged_events
        + non_ok
        + requests.transport_errors.values().sum::<u64>()
        + requests.refresh_errors.values().sum::<u64>()
        + delivery.page_events_missing
        + delivery.page_events_unexpected
}

fn labels(counts: &BTreeMap<String, u64>) -> String {
    if counts.is_empty() {
        return "none".to_owned();
    }
    let parts: Vec<String> = counts
        .iter()
        .map(|(label, count)| format!("{label}: {count}"))
        .collect();
    parts.join(", ")
}

fn statuses(counts: &BTreeMap<u16, u64>) -> String {
    if counts.is_empty() {
        return "none".to_owned();
    }
    let parts: Vec<String> = counts
        .iter()
        .map(|(status, count)| format!("{status}: {count}"))
        .collect();
    parts.join(", ")
}

fn latency(summary: &LatencySummary) -> String {
    format!(
        "p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} samples)",
        summary.p50_ms, summary.p99_ms, summary.max_ms, summary.count
    )
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn yes_no(met: bool) -> &'static str {
    if met {
        "yes"
    } else {
        "no"
    }
}
