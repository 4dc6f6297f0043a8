use std::path::PathBuf;

use anyhow::bail;
use clap::{Parser, Subcommand};
use tandem_proto::Role;

#[derive(Debug, Parser)]
#[command(name = "tandem", version, about = "Tandem: a self-hosted shared inbox and helpdesk")]
pub struct Cli {
    /// Configuration file (default: ./tandem.toml when it exists). Environment variables override it.
    #[arg(long, global = true, env = "TANDEM_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serves the API and the web UI (creates or migrates the schema first).
    Serve {
        /// Seed demo data when the database has no users yet, and print the demo logins.
        #[arg(long)]
        demo: bool,
    },
    /// Applies pending schema migrations and exits.
    Migrate,
    /// Manages users.
    #[command(subcommand)]
    User(UserCommand),
    /// Demo data.
    #[command(subcommand)]
    Demo(DemoCommand),
    /// Imports mail into an inbox.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Compiles a plugin component (read from stdin) into the compile cache, in a process of
    /// its own (the server runs this so that the compiler's memory does not stay with it).
    #[command(hide = true)]
    PluginCompile {
        #[arg(long)]
        cache_dir: std::path::PathBuf,
    },
    /// Benchmark data: the demo users and inboxes, then many tickets written in bulk
    /// (used by `./x bench`; not for production databases).
    #[command(hide = true)]
    BenchSeed {
        #[arg(long, default_value_t = 100_000)]
        tickets: u64,
        #[arg(long, default_value_t = 3)]
        messages_per_ticket: u32,
        /// Rows per INSERT statement.
        #[arg(long, default_value_t = 500)]
        rows_per_statement: usize,
        /// Tickets per transaction.
        #[arg(long, default_value_t = 5_000)]
        tickets_per_transaction: usize,
        /// Skip `ANALYZE` after seeding.
        #[arg(long)]
        no_analyze: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Imports every message of an mbox file, as if it had arrived by mail. Safe to run again
    /// after an interruption: messages already imported are recognised and skipped.
    Mbox {
        /// The mbox file.
        file: PathBuf,
        /// The inbox: its id or its address.
        #[arg(long)]
        inbox: String,
        /// Do not run the plugins (no classification, routing or automatic replies).
        #[arg(long)]
        no_plugins: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Creates a user.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// The password; read from TANDEM_PASSWORD or standard input when absent.
        #[arg(long, env = "TANDEM_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        #[arg(long)]
        language: Option<String>,
    },
    /// Sets a user's password and ends their sessions.
    Passwd {
        #[arg(long)]
        email: String,
        #[arg(long, env = "TANDEM_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// Lists users.
    List,
}

#[derive(Debug, Subcommand)]
pub enum DemoCommand {
    /// Adds demo inboxes, teams, users and ~50 tickets to an empty database.
    Seed,
}

fn parse_role(raw: &str) -> Result<Role, String> {
    raw.parse().map_err(|_| "one of admin, supervisor, agent, observer".to_owned())
}

/// The password from the flag or environment, else one line of standard input.
pub fn password_from(given: Option<String>) -> anyhow::Result<String> {
    if let Some(password) = given {
        return Ok(password);
    }
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        bail!("no password given: use --password, TANDEM_PASSWORD or standard input");
    }
    Ok(password)
}
