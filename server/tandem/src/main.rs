//! `tandem`: the helpdesk server and its administration commands.

// A command-line program: its answers go to standard output by design.
#![allow(clippy::print_stdout)]

mod bench;
mod cli;
mod config;
mod demo;
mod import;
mod scheduler;
mod serve;
mod telemetry;

use std::{process::ExitCode, sync::Arc};

use anyhow::Context;
use clap::Parser;
use tandem_domain::SystemClock;
use tandem_proto::CreateUser;
use tandem_store::Store;

use crate::{
    cli::{Cli, Command, DemoCommand, ImportCommand, UserCommand},
    config::Config,
};

/// Pins glibc's mmap threshold at 1 MiB.
///
/// By default glibc raises the threshold to the size of the largest mapped block freed so far
/// (up to 32 MiB); blocks below it come from the heap and stay resident after they are freed.
/// The first password hash frees argon2id's 19 MiB working memory, so every later one kept
/// 19 MiB for good (the idle server was 62–65 MiB after `serve --demo`, of which 19 MiB was
/// that block). Pinned, large blocks always get their own mapping and go back to the system
/// when freed; small allocations are unaffected.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn pin_malloc_mmap_threshold() {
    // SAFETY: `mallopt` only sets an allocator parameter; it is called first thing in `main`,
    // before any other thread exists. It returns 0 on failure, which leaves glibc's default.
    let _ = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20) };
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn pin_malloc_mmap_threshold() {}

fn main() -> ExitCode {
    pin_malloc_mmap_threshold();
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref()) {
        Ok(config) => config,
        Err(errors) => {
            eprintln!("tandem: the configuration has {} problem(s):", errors.len());
            for error in errors {
                eprintln!("  - {error}");
            }
            return ExitCode::from(2);
        }
    };
    telemetry::init(&config);
    if let Command::PluginCompile { cache_dir } = &cli.command {
        return plugin_compile(cache_dir);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tandem: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tandem: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `tandem plugin-compile`: exit 0 when compiled into the cache, `EXIT_INVALID` with the
/// reason on stderr when the input is not a usable component, 1 on other errors.
fn plugin_compile(cache_dir: &std::path::Path) -> ExitCode {
    use std::io::Read;
    let mut bytes = Vec::new();
    let limit = tandem_plugins::runtime::MAX_COMPONENT_BYTES as u64 + 1;
    if let Err(e) = std::io::stdin().take(limit).read_to_end(&mut bytes) {
        eprintln!("tandem: reading the component: {e}");
        return ExitCode::FAILURE;
    }
    let result = tandem_plugins::Runtime::new(cache_dir.to_path_buf()).and_then(|runtime| runtime.compile_into_cache(&bytes));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(tandem_plugins::PluginError::Invalid(message)) => {
            eprintln!("{message}");
            ExitCode::from(tandem_plugins::cache::EXIT_INVALID as u8)
        }
        Err(e) => {
            eprintln!("tandem: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn open(config: &Config) -> anyhow::Result<Store> {
    std::fs::create_dir_all(&config.data_dir).with_context(|| format!("creating the data directory {}", config.data_dir.display()))?;
    let store = Store::open(&config.database_url(), &config.data_dir, Arc::new(SystemClock))
        .await
        .with_context(|| format!("opening the database {}", config.redacted_database_url()))?;
    Ok(store.with_public_url(&config.public_url()))
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve { demo } => {
            let store = open(&config).await?;
            if demo {
                demo::seed_if_empty(&config, &store).await?;
            }
            serve::serve(config, store).await
        }
        Command::Migrate => {
            std::fs::create_dir_all(&config.data_dir)?;
            let applied = Store::migrate(&config.database_url()).await.context("migrating")?;
            if applied.is_empty() {
                println!("the schema is up to date");
            }
            for name in applied {
                println!("applied {name}");
            }
            Ok(())
        }
        Command::User(UserCommand::Create { email, name, role, password, language }) => {
            let store = open(&config).await?;
            let password = cli::password_from(password)?;
            let user = store.create_user(None, CreateUser { email, display_name: name, password, role, language, skills: vec![] }).await?;
            println!("created user {} <{}> ({}) with id {}", user.display_name, user.email, user.role, user.id);
            Ok(())
        }
        Command::User(UserCommand::Passwd { email, password }) => {
            let store = open(&config).await?;
            let user = store.user_by_email(&email).await?;
            store.reset_password(user.id, &cli::password_from(password)?).await?;
            println!("password of {} changed; their sessions have ended", user.email);
            Ok(())
        }
        Command::User(UserCommand::List) => {
            let store = open(&config).await?;
            for user in store.list_all_users().await? {
                let state = if user.disabled { " (disabled)" } else { "" };
                println!("{:>4}  {:<32} {:<11} {}{state}", user.id, user.email, user.role.as_str(), user.display_name);
            }
            Ok(())
        }
        Command::BenchSeed { tickets, messages_per_ticket, rows_per_statement, tickets_per_transaction, no_analyze } => {
            let spec = tandem_store::seed::BulkSpec {
                tickets,
                messages_per_ticket,
                rows_per_statement,
                tickets_per_transaction,
                analyze: !no_analyze,
                ..Default::default()
            };
            bench::bench_seed(&config, &open(&config).await?, spec).await
        }
        // Handled in `main`, before the async runtime starts.
        Command::PluginCompile { .. } => Ok(()),
        Command::Import(ImportCommand::Mbox { file, inbox, no_plugins }) => {
            let store = open(&config).await?;
            import::mbox(&config, store, &file, &inbox, !no_plugins).await
        }
        Command::Demo(DemoCommand::Seed) => {
            let store = open(&config).await?;
            if !demo::seed_if_empty(&config, &store).await? {
                println!("the database already has users: demo data not added");
            }
            Ok(())
        }
    }
}
