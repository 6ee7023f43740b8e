//! The `session-journey` server binary.

use clap::Parser;
use session_journey::server::config::Settings;
use session_journey::server::startup;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,tower_http=warn,sqlx=warn,tower_sessions=warn")),
        )
        .init();

    let settings = Settings::parse();
    match run(settings).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "session-journey failed");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(settings: Settings) -> Result<(), startup::StartupError> {
    let shutdown = startup::shutdown_signal();
    let listener = startup::bind(&settings).await?;
    let addr = listener.local_addr().map_err(startup::StartupError::Serve)?;
    let state = startup::build_state(settings).await?;
    tracing::info!(data_dir = %state.settings.data_dir.display(), "data directory ready");
    let urls = session_journey::server::serving_urls::announce(addr);
    // The first URL is one that the room can reach, when the server listens on the network.
    let presenter_base = urls.first().map_or_else(|| format!("http://{addr}"), |url| url.url.clone());
    // The key goes to standard output only, not to the log, because it unlocks the
    // presenter's actions.
    println!(
        "Presenter view: {presenter_base}/present\nPresenter key: {}",
        state.presenter_key.expose()
    );
    startup::serve(listener, state, shutdown).await
}
