//! `tandem serve`: bind, serve, and stop gracefully on SIGTERM or Ctrl-C.

use anyhow::Context;
use tandem_api::{ApiSettings, AppState};
use tandem_store::Store;
use tokio::signal::unix::{SignalKind, signal};

use crate::config::Config;

pub async fn serve(config: Config, store: Store) -> anyhow::Result<()> {
    let web_dir = config.web_dir();
    if web_dir.is_none() {
        tracing::warn!("no web UI found (web/dist/index.html): the API works, the UI does not; build it with `./x build-web`");
    }
    let settings = ApiSettings {
        secure_cookies: config.secure_cookies,
        web_dir,
        max_body_bytes: config.max_body_bytes,
        max_raw_message_bytes: config.max_raw_message_bytes,
        read_cache_ttl: std::time::Duration::from_millis(config.read_cache_ms),
    };
    let plugins = open_plugins(&config, &store).await?;
    let intake = tandem_channel::Intake::new(store.clone(), Some(plugins.clone()), config.mail_limits());
    // Recovery of unprocessed intake, IMAP workers and the outbox sender; stopped on drop.
    let _channel = tandem_channel::Channel::start(intake.clone(), config.channel_settings());
    // SLA alerts, snoozes, reminders and auto-solve; stopped on drop.
    let _scheduler = crate::scheduler::start(store.clone());
    let state = AppState::new(store, plugins, intake, settings);
    let listener = tokio::net::TcpListener::bind(config.listen).await.with_context(|| format!("binding {}", config.listen))?;
    let address = listener.local_addr()?;
    tracing::info!(%address, database = %config.redacted_database_url(), "tandem is listening");
    println!("Tandem is running on http://{address}");
    tandem_api::serve(listener, state, shutdown()).await.context("serving")?;
    tracing::info!("tandem stopped");
    Ok(())
}

/// The plugin runtime, the registry (bundled plugins installed on first start) and the pipeline.
pub async fn open_plugins(config: &Config, store: &Store) -> anyhow::Result<tandem_plugins::Pipeline> {
    let mut runtime = tandem_plugins::Runtime::new(config.plugin_cache_dir()).context("starting the plugin runtime")?;
    match std::env::current_exe() {
        Ok(program) => runtime = runtime.with_compiler(program),
        Err(e) => tracing::warn!(error = %e, "cannot find this executable: plugins compile in the server process"),
    }
    let registry = tandem_plugins::Registry::open(store.clone(), runtime).await.context("loading plugins")?;
    match config.bundled_plugins_dir() {
        Some(dir) => {
            let installed = registry.install_bundled(&dir).await.context("installing the bundled plugins")?;
            if !installed.is_empty() {
                tracing::info!(plugins = ?installed, "bundled plugins installed and enabled");
            }
        }
        None => tracing::warn!("no bundled plugins found (target/wasm32-wasip2/plugin): build them with `./x plugins`"),
    }
    Ok(tandem_plugins::Pipeline::new(registry))
}

async fn shutdown() {
    let terminate = async {
        match signal(SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
    tracing::info!("shutting down: finishing requests in flight");
}
