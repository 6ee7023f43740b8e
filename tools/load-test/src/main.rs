//! `load-test`: keeps live streams open against a Session Journey server on loopback while
//! sending page requests at a fixed rate, and reports errors, live-event delivery latency and
//! the server's memory. `scripts/load-test.sh` starts a server and runs it.

mod cli;
mod delivery;
mod latency;
mod load;
mod memory;
mod report;
mod server;
mod streams;
mod target;

use std::collections::BTreeMap;
use std::error::Error;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use futures::StreamExt;
use tokio::sync::watch;

use crate::cli::Args;
use crate::delivery::DeliveryTracker;
use crate::load::{LoadContext, RequestStats};
use crate::memory::MemoryReading;
use crate::report::{MemorySummary, SignInSummary, Summary};
use crate::server::{Server, Visitor};
use crate::streams::{StreamContext, StreamStats};

/// How often the drain step checks whether every expected event has arrived.
const DRAIN_POLL: Duration = Duration::from_millis(20);

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    if let Err(error) = target::check_loopback(&args.url) {
        eprintln!("load-test: invalid --url {}: {error}", args.url);
        return ExitCode::from(2);
    }
    match run(&args).await {
        Ok(summary) if args.json => {
            println!(
                "{}",
                serde_json::to_string_pretty(&summary).expect("the summary serializes")
            );
            ExitCode::SUCCESS
        }
        Ok(summary) => {
            print!("{}", summary.to_text());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("load-test: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the whole test: sign-in, streams, load, drain, and the summary.
async fn run(args: &Args) -> Result<Summary, Box<dyn Error>> {
    let request_timeout = Duration::from_secs(args.request_timeout_secs);
    let concurrency = args.setup_concurrency as usize;
    let server = Arc::new(Server::new(args.url.clone(), request_timeout)?);
    server.check_health().await.map_err(|error| {
        format!(
            "GET /healthz on {} failed ({}); is the server running?",
            args.url,
            error.label()
        )
    })?;
    let memory_at_start = read_memory(args.server_pid)?;

    progress(format!("signing in {} visitors", args.visitor_count()));
    let (visitors, sign_in) =
        sign_in_all(&server, args.visitor_count() as usize, concurrency).await;
    if visitors.is_empty() {
        return Err(format!("no visitor could sign in: {:?}", sign_in.errors).into());
    }
    let memory_signed_in = read_memory(args.server_pid)?;
    let visitors = Arc::new(visitors);
    let tracker = Arc::new(DeliveryTracker::new(args.streams as usize, visitors.len()));

    progress(format!("opening {} live streams", args.streams));
    let (shutdown, shutdown_signal) = watch::channel(false);
    let stream_stats = Arc::new(StreamStats::default());
    let stream_context = Arc::new(StreamContext {
        server: Arc::clone(&server),
        visitors: Arc::clone(&visitors),
        tracker: Arc::clone(&tracker),
        stats: Arc::clone(&stream_stats),
        shutdown: shutdown_signal.clone(),
        first_event_timeout: request_timeout,
    });
    let readers = streams::open_all(stream_context, args.streams as usize, concurrency).await;
    progress(format!("{} streams open", readers.len()));
    let memory_streams_open = read_memory(args.server_pid)?;

    let sampler = args
        .server_pid
        .map(|pid| tokio::spawn(memory::sample_peak_rss(pid, shutdown_signal.clone())));
    let load_context = Arc::new(LoadContext {
        server: Arc::clone(&server),
        visitors: Arc::clone(&visitors),
        tracker: Arc::clone(&tracker),
        stats: RequestStats::default(),
    });
    progress(format!(
        "sending {} page requests/s for {} s",
        args.rate, args.duration_secs
    ));
    let duration = Duration::from_secs(args.duration_secs);
    let outcome = load::run(Arc::clone(&load_context), args.rate, duration, args.mode).await;

    wait_for_events(&tracker, Duration::from_secs(args.drain_secs)).await;
    let memory_at_end = read_memory(args.server_pid)?;
    shutdown.send_replace(true);
    for reader in readers {
        reader.await?;
    }
    let peak_rss_sampled = match sampler {
        Some(sampler) => sampler.await?,
        None => 0,
    };

    let settings = report::Settings {
        url: args.url.to_string(),
        mode: args.mode,
        streams: args.streams,
        visitors: visitors.len() as u32,
        rate: args.rate,
        duration_secs: args.duration_secs,
        missed_tick_behavior: "burst",
        latency_measured_from: "request sent",
    };
    let readings = (
        memory_at_start,
        memory_signed_in,
        memory_streams_open,
        memory_at_end,
    );
    let memory = match (args.server_pid, readings) {
        (Some(pid), (Some(start), Some(signed_in), Some(open), Some(end))) => Some(MemorySummary {
            pid,
            rss_at_start_kib: start.rss_kib,
            rss_signed_in_kib: signed_in.rss_kib,
            rss_streams_open_kib: open.rss_kib,
            peak_rss_sampled_kib: peak_rss_sampled.max(end.rss_kib),
            vm_hwm_kib: end.hwm_kib,
            rss_at_end_kib: end.rss_kib,
        }),
        _ => None,
    };
    Ok(Summary::new(
        settings,
        sign_in,
        stream_stats.summary(u64::from(args.streams)),
        load_context.stats.summary(outcome.sent, outcome.send_phase),
        tracker.summary(),
        memory,
    ))
}

/// Signs in `count` visitors, `concurrency` at a time. Returns the visitors that signed in,
/// renumbered from 0, and the failures by reason.
async fn sign_in_all(
    server: &Server,
    count: usize,
    concurrency: usize,
) -> (Vec<Visitor>, SignInSummary) {
    let results: Vec<_> = futures::stream::iter(0..count)
        .map(|index| server.sign_in(index))
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let mut visitors = Vec::with_capacity(count);
    let mut errors = BTreeMap::new();
    for result in results {
        match result {
            Ok(visitor) => visitors.push(visitor),
            Err(error) => *errors.entry(error.label()).or_default() += 1,
        }
    }
    for (index, visitor) in visitors.iter_mut().enumerate() {
        visitor.index = index;
    }
    let summary = SignInSummary {
        signed_in: visitors.len() as u64,
        errors,
    };
    (visitors, summary)
}

/// Waits until every expected event has arrived, or `limit` has passed.
async fn wait_for_events(tracker: &DeliveryTracker, limit: Duration) {
    let deadline = Instant::now() + limit;
    while tracker.missing() > 0 && Instant::now() < deadline {
        tokio::time::sleep(DRAIN_POLL).await;
    }
}

fn read_memory(pid: Option<u32>) -> Result<Option<MemoryReading>, Box<dyn Error>> {
    let Some(pid) = pid else {
        return Ok(None);
    };
    let reading =
        memory::read(pid).map_err(|error| format!("failed to read /proc/{pid}/status: {error}"))?;
    Ok(Some(reading))
}

fn progress(message: String) {
    eprintln!("load-test: {message}");
}
