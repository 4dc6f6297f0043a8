//! `./x bench`: seeds a large desk and measures the ticket list with `wrk`, on SQLite and
//! PostgreSQL, against the release binary on 127.0.0.1; also the idle RSS of a demo server.
//!
//! For each backend: `tandem bench-seed` (demo users and inboxes through the normal store
//! operations, then the bulk tickets), `tandem serve` on a free loopback port with
//! `TANDEM_LOG=warn`, sign-in as a demo agent through `POST /api/v1/session`, a check that the
//! first page really has 50 open tickets of the inbox, a warm-up, then
//! `wrk -t2 -cN -dDs --latency` with a small Lua `done()` that prints exact percentiles, for
//! every N of `--connections`, in three modes: the response cache off (`TANDEM_READ_CACHE_MS=0`:
//! every request reads the database), on (the default), and on while a writer adds a note to a
//! listed ticket ten times a second (each write makes every cached answer stale). Everything
//! ends with a Markdown report (stdout, and `--out`).
//!
//! Servers, temp dirs and the PostgreSQL cluster are cleaned up by Drop guards.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value as Json;

use crate::{deps, pg, util};

const DEMO_USER: &str = "agent2@demo.test";
const DEMO_PASSWORD: &str = "tandem-demo";
const GOAL_P99_US: f64 = 5_000.0;
const GOAL_RPS: f64 = 5_000.0;

const WRK_SCRIPT: &str = r#"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH_WRK requests=%d duration_us=%d p50=%d p90=%d p99=%d p999=%d max=%d mean=%.1f status_errors=%d socket_errors=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9), latency.max, latency.mean,
    e.status, e.connect + e.read + e.write + e.timeout))
end
"#;

#[derive(Debug, Clone)]
struct Options {
    tickets: u64,
    messages_per_ticket: u32,
    duration_s: u64,
    connections: Vec<u32>,
    threads: u32,
    backends: Vec<Backend>,
    modes: Vec<Mode>,
    out: Option<PathBuf>,
    skip_build: bool,
}

/// How the server answers the measured list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// `TANDEM_READ_CACHE_MS=0`: every request runs the query.
    Uncached,
    /// The default response cache, nothing written meanwhile.
    Cached,
    /// The default response cache while notes are added at [`WRITES_PER_SECOND`].
    CachedWithWrites,
}

/// The writer's pace in [`Mode::CachedWithWrites`].
const WRITES_PER_SECOND: u64 = 10;

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Uncached => "cache off",
            Mode::Cached => "cache on",
            Mode::CachedWithWrites => "cache on, 10 writes/s",
        }
    }

    fn cache_ms(self) -> &'static str {
        if self == Mode::Uncached { "0" } else { "1000" }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }
}

fn parse_options(args: &[std::ffi::OsString]) -> Result<Options, String> {
    let mut o = Options {
        tickets: 100_000,
        messages_per_ticket: 3,
        duration_s: 20,
        connections: vec![8, 16, 32],
        threads: 2,
        backends: vec![Backend::Sqlite, Backend::Postgres],
        modes: vec![Mode::Uncached, Mode::Cached, Mode::CachedWithWrites],
        out: None,
        skip_build: false,
    };
    let args: Vec<String> = args.iter().map(|a| a.to_string_lossy().into_owned()).collect();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) => (f.to_owned(), Some(v.to_owned())),
            None => (arg.clone(), None),
        };
        let mut value = || -> Result<String, String> {
            inline.clone().or_else(|| it.next().cloned()).ok_or_else(|| format!("{flag} needs a value"))
        };
        let num = |v: String| -> Result<u64, String> { v.replace('_', "").parse().map_err(|_| format!("{flag}: not a number: {v}")) };
        match flag.as_str() {
            "--tickets" => o.tickets = num(value()?)?,
            "--messages-per-ticket" => o.messages_per_ticket = num(value()?)? as u32,
            "--duration" => o.duration_s = num(value()?)?.max(1),
            "--threads" => o.threads = num(value()?)?.max(1) as u32,
            "--connections" => {
                o.connections = value()?.split(',').map(|c| num(c.trim().to_owned()).map(|n| n.max(1) as u32)).collect::<Result<_, _>>()?
            }
            "--backends" => {
                o.backends = value()?
                    .split(',')
                    .map(|b| match b.trim() {
                        "sqlite" => Ok(Backend::Sqlite),
                        "postgres" | "postgresql" | "pg" => Ok(Backend::Postgres),
                        other => Err(format!("--backends: unknown backend `{other}` (sqlite, postgres)")),
                    })
                    .collect::<Result<_, _>>()?
            }
            "--modes" => {
                o.modes = value()?
                    .split(',')
                    .map(|m| match m.trim() {
                        "off" => Ok(Mode::Uncached),
                        "on" => Ok(Mode::Cached),
                        "writes" => Ok(Mode::CachedWithWrites),
                        other => Err(format!("--modes: unknown mode `{other}` (off, on, writes)")),
                    })
                    .collect::<Result<_, _>>()?
            }
            "--out" => o.out = Some(PathBuf::from(value()?)),
            "--skip-build" => o.skip_build = true,
            other => return Err(format!("bench: unknown option `{other}`\n{BENCH_HELP}")),
        }
    }
    Ok(o)
}

pub const BENCH_HELP: &str = "\
./x bench [--tickets N] [--messages-per-ticket M] [--duration SECONDS] [--connections 8,16,32]
          [--threads T] [--backends sqlite,postgres] [--modes off,on,writes] [--out FILE] [--skip-build]";

/// `./x bench [OPTIONS]`.
pub fn bench(root: &Path, args: &[std::ffi::OsString]) -> Result<ExitCode, String> {
    let options = parse_options(args)?;
    let mut apt = vec!["wrk", "curl"];
    if options.backends.contains(&Backend::Postgres) {
        apt.push("postgresql");
    }
    deps::ensure_apt(&apt)?;
    if !options.skip_build {
        crate::plugins::build(root, crate::plugins::BUNDLED)?;
        util::run(crate::cargo(root).args(["build", "--release", "-p", "tandem"]))?;
    }
    // The server runs as `./x run` starts it: with the bundled plugins installed on first start.
    let _ = BUNDLED_PLUGINS.set(crate::plugins::component_dir(root));
    let bin = crate::target_dir(root).join("release").join("tandem");
    if !bin.is_file() {
        return Err(format!("{} is missing: build it with `cargo build --release -p tandem`", bin.display()));
    }
    let machine = Machine::describe();
    eprintln!("bench: {}", machine.one_line());

    let mut results = Vec::new();
    for &backend in &options.backends {
        results.push(bench_backend(&bin, backend, &options)?);
    }
    let idle = idle_rss(&bin)?;
    let report = markdown(&machine, &options, &results, &idle);
    std::io::stdout().write_all(report.as_bytes()).map_err(|e| format!("writing the report: {e}"))?;
    if let Some(out) = &options.out {
        std::fs::write(out, &report).map_err(|e| format!("writing {}: {e}", out.display()))?;
        eprintln!("bench: report written to {}", out.display());
    }
    Ok(ExitCode::SUCCESS)
}

// ---------------------------------------------------------------------------------------------
// One backend

#[derive(Debug, Clone)]
struct WrkResult {
    mode: Mode,
    /// Notes the writer added during the run ([`Mode::CachedWithWrites`]).
    writes: u64,
    connections: u32,
    requests: u64,
    rps: f64,
    p50_us: f64,
    p90_us: f64,
    p99_us: f64,
    p999_us: f64,
    max_us: f64,
    mean_us: f64,
    status_errors: u64,
    socket_errors: u64,
}

impl WrkResult {
    fn meets_goal(&self) -> bool {
        self.p99_us <= GOAL_P99_US && self.rps >= GOAL_RPS
    }
}

#[derive(Debug, Clone)]
struct BackendResult {
    backend: Backend,
    version: String,
    seed: BTreeMap<String, String>,
    seed_wall_s: f64,
    sizes: Vec<(String, String, i64)>,
    inbox_id: i64,
    open_in_inbox: Option<i64>,
    first_page_items: usize,
    runs: Vec<WrkResult>,
    rss_after_kb: Option<u64>,
    hwm_kb: Option<u64>,
}

fn bench_backend(bin: &Path, backend: Backend, o: &Options) -> Result<BackendResult, String> {
    eprintln!("\nbench: ===== {} =====", backend.name());
    let dir = TempDir::new(&format!("tandem-bench-{}", backend.name().to_lowercase()))?;
    // Kept alive until the end of this function (its Drop stops the cluster).
    let mut cluster = None;
    let (database_url, version) = match backend {
        Backend::Sqlite => (format!("sqlite://{}?mode=rwc", dir.path.join("tandem.db").display()), String::new()),
        Backend::Postgres => {
            let pg = pg::PgCluster::start()?;
            let base = pg.url.rsplit_once('/').map(|(b, _)| b.to_owned()).ok_or("unexpected cluster URL")?;
            util::output(Command::new("psql").args(["-X", "-q", "-d", &pg.url, "-c", "CREATE DATABASE tandem_bench"]))?;
            let version = util::output(Command::new("psql").args(["-X", "-A", "-t", "-d", &pg.url, "-c", "SHOW server_version"]))?;
            cluster = Some(pg);
            (format!("{base}/tandem_bench"), version.trim().to_owned())
        }
    };
    let version = if version.is_empty() { "bundled SQLite (sqlx), WAL".to_owned() } else { format!("PostgreSQL {version}") };

    // Seed.
    let seed_started = Instant::now();
    let mut seed = tandem(bin, &dir.path, &database_url);
    seed.args(["bench-seed", "--tickets", &o.tickets.to_string(), "--messages-per-ticket", &o.messages_per_ticket.to_string()]);
    eprintln!("bench: {}", util::describe(&seed));
    let out = util::output(&mut seed)?;
    let seed_wall_s = seed_started.elapsed().as_secs_f64();
    let mut seed_figures = BTreeMap::new();
    let mut sizes = Vec::new();
    for line in out.lines() {
        if let Some(rest) = line.strip_prefix("BENCH_SEED ") {
            seed_figures = key_values(rest);
        } else if let Some(rest) = line.strip_prefix("BENCH_SIZE ") {
            let kv = key_values(rest);
            let bytes = kv.get("bytes").and_then(|b| b.parse().ok()).unwrap_or(0);
            sizes.push((kv.get("name").cloned().unwrap_or_default(), kv.get("kind").cloned().unwrap_or_default(), bytes));
        } else if !line.starts_with("  ") && !line.starts_with("Demo logins") {
            eprintln!("bench: {line}");
        }
    }

    // Serve, once per cache setting.
    let script = dir.path.join("report.lua");
    std::fs::write(&script, WRK_SCRIPT).map_err(|e| format!("writing {}: {e}", script.display()))?;
    let mut runs = Vec::new();
    let mut checked = None;
    let (mut rss_after_kb, mut hwm_kb) = (None, None);
    for cached in [false, true] {
        let modes: Vec<Mode> = o.modes.iter().copied().filter(|m| (*m != Mode::Uncached) == cached).collect();
        if modes.is_empty() {
            continue;
        }
        let server = Server::start(bin, &dir.path, &database_url, false, modes[0].cache_ms())?;
        let port = server.port;
        let (cookie, inbox_id) = login(port)?;
        let path = format!("/api/v1/tickets?status=open&inbox={inbox_id}");
        let page = check_first_page(port, &cookie, inbox_id, &path)?;
        if checked.is_none() {
            let open_in_inbox = count_pages(port, &cookie, inbox_id).ok();
            checked = Some((inbox_id, page.len(), open_in_inbox));
        }
        let url = format!("http://127.0.0.1:{port}{path}");
        // A fresh server catches up on background work first (SLA checks of the seeded tickets,
        // their notifications); measuring during that measured the catch-up as well.
        let settled = settle(server.child.id());
        eprintln!("bench: server idle after {settled:.1} s; warm-up (5 s)");
        wrk(&script, &url, &cookie, o.threads, 16, 5)?;
        for mode in modes {
            for &c in &o.connections {
                let writer = (mode == Mode::CachedWithWrites).then(|| Writer::start(port, &cookie, &page));
                let mut r = wrk(&script, &url, &cookie, o.threads, c, o.duration_s)?;
                r.mode = mode;
                if let Some(w) = writer {
                    r.writes = w.stop()?;
                }
                eprintln!(
                    "bench: {} ({}) -c{c}: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, errors {}/{}, writes {}",
                    backend.name(),
                    mode.name(),
                    r.rps,
                    r.p50_us / 1000.0,
                    r.p99_us / 1000.0,
                    r.p999_us / 1000.0,
                    r.status_errors,
                    r.socket_errors,
                    r.writes
                );
                runs.push(r);
            }
        }
        (rss_after_kb, hwm_kb) = proc_rss(server.child.id());
    }
    let (inbox_id, first_page_items, open_in_inbox) = checked.ok_or("--modes is empty")?;
    drop(cluster.take());
    Ok(BackendResult {
        backend,
        version,
        seed: seed_figures,
        seed_wall_s,
        sizes,
        inbox_id,
        open_in_inbox,
        first_page_items,
        runs,
        rss_after_kb,
        hwm_kb,
    })
}

/// Fetches the measured page once and checks it holds 50 open tickets of the inbox and a
/// cursor; returns the tickets' numbers.
fn check_first_page(port: u16, cookie: &str, inbox_id: i64, path: &str) -> Result<Vec<i64>, String> {
    let page = http(port, "GET", path, &[("Cookie", &format!("tandem_session={cookie}"))], None)?;
    if page.status != 200 {
        return Err(format!("GET {path} answered {}: {}", page.status, page.body));
    }
    let json = parse_json(&page.body)?;
    let items = json.get("items").and_then(Json::as_array).ok_or("the ticket page has no `items`")?;
    let all_match = items.iter().all(|t| {
        t.get("status").and_then(Json::as_str) == Some("open") && t.get("inbox_id").and_then(Json::as_f64) == Some(inbox_id as f64)
    });
    if items.len() != 50 || !all_match || json.get("next_cursor").and_then(Json::as_str).is_none() {
        return Err(format!("the first page should hold 50 open tickets of inbox {inbox_id} and a cursor; it has {} items", items.len()));
    }
    eprintln!("bench: first page of {path}: {} items, {} bytes", items.len(), page.body.len());
    Ok(items.iter().filter_map(|t| t.get("number").and_then(Json::as_f64)).map(|n| n as i64).collect())
}

/// Adds an internal note to one of the listed tickets [`WRITES_PER_SECOND`] times a second
/// until stopped, as the signed-in agent (reading the ticket first for the send guard's
/// `seen_version`).
struct Writer {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<Result<u64, String>>,
}

impl Writer {
    fn start(port: u16, cookie: &str, tickets: &[i64]) -> Writer {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (flag, cookie, tickets) = (stop.clone(), format!("tandem_session={cookie}"), tickets.to_vec());
        let thread = std::thread::spawn(move || {
            let period = Duration::from_millis(1000 / WRITES_PER_SECOND);
            let mut next = Instant::now();
            let mut done = 0u64;
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                let number = tickets[done as usize % tickets.len().max(1)];
                // The send guard wants the version the writer saw.
                let seen = http(port, "GET", &format!("/api/v1/tickets/{number}"), &[("Cookie", cookie.as_str())], None)?;
                let version = parse_json(&seen.body)?
                    .get("ticket")
                    .and_then(|t| t.get("version"))
                    .and_then(Json::as_f64)
                    .ok_or_else(|| format!("GET /api/v1/tickets/{number} answered {} without a version", seen.status))?;
                let body = format!(r#"{{"body_text":"bench note {done}","seen_version":{version}}}"#);
                let headers = [("Cookie", cookie.as_str()), ("Content-Type", "application/json")];
                let answer = http(port, "POST", &format!("/api/v1/tickets/{number}/notes"), &headers, Some(&body))?;
                if answer.status != 201 {
                    return Err(format!("adding a note to #{number} answered {}: {}", answer.status, answer.body));
                }
                done += 1;
                next += period;
                std::thread::sleep(next.saturating_duration_since(Instant::now()));
            }
            Ok(done)
        });
        Writer { stop, thread }
    }

    fn stop(self) -> Result<u64, String> {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread.join().map_err(|_| "the writer thread panicked".to_owned())?
    }
}

/// The bundled plugins the measured server installs (set once by `bench`).
static BUNDLED_PLUGINS: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// The tandem binary with a clean environment for `data_dir` and `database_url`.
fn tandem(bin: &Path, data_dir: &Path, database_url: &str) -> Command {
    let mut cmd = Command::new(bin);
    if let Some(dir) = BUNDLED_PLUGINS.get() {
        cmd.env("TANDEM_BUNDLED_PLUGINS", dir);
    }
    // The temp dir as working directory: no stray ./tandem.toml is picked up.
    cmd.current_dir(data_dir)
        .env_remove("TANDEM_CONFIG")
        .env_remove("TANDEM_WEB_DIR")
        .env("TANDEM_DATA_DIR", data_dir)
        .env("DATABASE_URL", database_url)
        .env("TANDEM_LOG", "warn")
        .env("TANDEM_LOG_FORMAT", "human");
    cmd
}

/// Walks every page of the benchmarked list: how many open tickets the inbox has.
fn count_pages(port: u16, cookie: &str, inbox: i64) -> Result<i64, String> {
    let mut total = 0;
    let mut cursor: Option<String> = None;
    let started = Instant::now();
    loop {
        let mut path = format!("/api/v1/tickets?status=open&inbox={inbox}&limit=200");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page = http(port, "GET", &path, &[("Cookie", &format!("tandem_session={cookie}"))], None)?;
        let json = parse_json(&page.body)?;
        total += json.get("items").and_then(Json::as_array).map_or(0, |a| a.len()) as i64;
        cursor = json.get("next_cursor").and_then(Json::as_str).map(str::to_owned);
        if cursor.is_none() || started.elapsed() > Duration::from_secs(120) {
            return Ok(total);
        }
    }
}

fn login(port: u16) -> Result<(String, i64), String> {
    let body = format!(r#"{{"email":"{DEMO_USER}","password":"{DEMO_PASSWORD}"}}"#);
    let answer = http(port, "POST", "/api/v1/session", &[("Content-Type", "application/json")], Some(&body))?;
    if answer.status != 200 {
        return Err(format!("signing in as {DEMO_USER} answered {}: {}", answer.status, answer.body));
    }
    let cookie = answer
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
        .find_map(|(_, v)| v.strip_prefix("tandem_session=").map(|rest| rest.split(';').next().unwrap_or_default().to_owned()))
        .ok_or("no tandem_session cookie in the sign-in answer")?;
    let me = parse_json(&answer.body)?;
    let inboxes = me.get("inboxes").and_then(Json::as_array).ok_or("no inboxes in the sign-in answer")?;
    let support = inboxes
        .iter()
        .find(|i| i.get("name").and_then(Json::as_str) == Some("Support"))
        .or_else(|| inboxes.first())
        .and_then(|i| i.get("id"))
        .and_then(Json::as_f64)
        .ok_or(format!("{DEMO_USER} belongs to no inbox"))?;
    Ok((cookie, support as i64))
}

fn wrk(script: &Path, url: &str, cookie: &str, threads: u32, connections: u32, seconds: u64) -> Result<WrkResult, String> {
    let mut cmd = Command::new("wrk");
    cmd.arg(format!("-t{}", threads.min(connections)))
        .arg(format!("-c{connections}"))
        .arg(format!("-d{seconds}s"))
        .arg("--latency")
        .arg("--timeout")
        .arg("5s")
        .arg("-H")
        .arg(format!("Cookie: tandem_session={cookie}"))
        .arg("-s")
        .arg(script)
        .arg(url);
    let out = util::output(&mut cmd)?;
    let line = out.lines().find_map(|l| l.strip_prefix("BENCH_WRK ")).ok_or_else(|| format!("no BENCH_WRK line in wrk's output:\n{out}"))?;
    let kv = key_values(line);
    let f = |k: &str| kv.get(k).and_then(|v| v.parse::<f64>().ok()).unwrap_or(f64::NAN);
    let requests = f("requests");
    Ok(WrkResult {
        mode: Mode::Cached,
        writes: 0,
        connections,
        requests: requests as u64,
        rps: requests / (f("duration_us") / 1e6),
        p50_us: f("p50"),
        p90_us: f("p90"),
        p99_us: f("p99"),
        p999_us: f("p999"),
        max_us: f("max"),
        mean_us: f("mean"),
        status_errors: f("status_errors") as u64,
        socket_errors: f("socket_errors") as u64,
    })
}

#[derive(Debug, Clone)]
struct IdleRss {
    /// The first start, which seeds the demo data in-process.
    rss_kb: Option<u64>,
    hwm_kb: Option<u64>,
    /// A second start on the same (already seeded) database.
    restart_rss_kb: Option<u64>,
    restart_hwm_kb: Option<u64>,
    after_s: f64,
}

/// `tandem serve --demo` on a fresh SQLite directory, left alone for 5 s.
fn idle_rss(bin: &Path) -> Result<IdleRss, String> {
    eprintln!("\nbench: ===== idle RSS (serve --demo, fresh SQLite) =====");
    let dir = TempDir::new("tandem-bench-idle")?;
    let url = format!("sqlite://{}?mode=rwc", dir.path.join("tandem.db").display());
    let server = Server::start(bin, &dir.path, &url, true, "1000")?;
    let idle = Duration::from_secs(5);
    std::thread::sleep(idle);
    let (rss_kb, hwm_kb) = proc_rss(server.child.id());
    eprintln!("bench: idle VmRSS {:?} kB, VmHWM {:?} kB", rss_kb, hwm_kb);
    drop(server);
    let server = Server::start(bin, &dir.path, &url, true, "1000")?;
    std::thread::sleep(idle);
    let (restart_rss_kb, restart_hwm_kb) = proc_rss(server.child.id());
    eprintln!("bench: idle after a restart: VmRSS {:?} kB, VmHWM {:?} kB", restart_rss_kb, restart_hwm_kb);
    Ok(IdleRss { rss_kb, hwm_kb, restart_rss_kb, restart_hwm_kb, after_s: idle.as_secs_f64() })
}

/// CPU time (user + system, clock ticks) the process has used so far.
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may contain spaces.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// Waits (at most 60 s) until the process used under 5 ticks (5 % of a core at the usual
/// 100 ticks per second) over one second; returns the seconds waited.
fn settle(pid: u32) -> f64 {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        let before = cpu_ticks(pid);
        std::thread::sleep(Duration::from_secs(1));
        match (before, cpu_ticks(pid)) {
            (Some(a), Some(b)) if b.saturating_sub(a) < 5 => break,
            (None, _) | (_, None) => break,
            _ => {}
        }
    }
    started.elapsed().as_secs_f64()
}

/// (VmRSS, VmHWM) in kB from /proc/PID/status.
fn proc_rss(pid: u32) -> (Option<u64>, Option<u64>) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status.lines().find_map(|l| l.strip_prefix(name)).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    };
    (field("VmRSS:"), field("VmHWM:"))
}

// ---------------------------------------------------------------------------------------------
// The server under test

struct Server {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Server {
    fn start(bin: &Path, dir: &Path, database_url: &str, demo: bool, read_cache_ms: &str) -> Result<Server, String> {
        let port = util::free_port()?;
        let log = dir.join(format!("serve-{port}.log"));
        let log_file = std::fs::File::create(&log).map_err(|e| format!("creating {}: {e}", log.display()))?;
        let err_file = log_file.try_clone().map_err(|e| e.to_string())?;
        let mut cmd = tandem(bin, dir, database_url);
        cmd.env("TANDEM_LISTEN", format!("127.0.0.1:{port}")).env("TANDEM_READ_CACHE_MS", read_cache_ms).arg("serve");
        if demo {
            cmd.arg("--demo");
        }
        cmd.stdin(Stdio::null()).stdout(log_file).stderr(err_file);
        eprintln!("bench: {}", util::describe(&cmd));
        let child = cmd.spawn().map_err(|e| format!("starting {}: {e}", bin.display()))?;
        let mut server = Server { child, port, log };
        let started = Instant::now();
        loop {
            if let Ok(r) = http(port, "GET", "/readyz", &[], None)
                && r.status == 200
            {
                eprintln!("bench: server ready on 127.0.0.1:{port} after {:.1?}", started.elapsed());
                return Ok(server);
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                let log = std::fs::read_to_string(&server.log).unwrap_or_default();
                return Err(format!("the server exited ({status}) before it was ready:\n{log}"));
            }
            if started.elapsed() > Duration::from_secs(120) {
                return Err(format!("the server was not ready after 120 s (log: {})", server.log.display()));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // SIGTERM for a graceful stop; SIGKILL if it takes longer than 10 s.
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct TempDir {
    path: PathBuf,
}

impl TempDir {
    fn new(prefix: &str) -> Result<TempDir, String> {
        util::make_temp_dir(prefix).map(|path| TempDir { path })
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP/1.1 over a std TcpStream (a handful of requests need no HTTP client crate)

struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

fn http(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: Option<&str>) -> Result<Answer, String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("connecting to 127.0.0.1:{port}: {e}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(30))).map_err(|e| e.to_string())?;
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    let body = body.unwrap_or_default();
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(request.as_bytes()).map_err(|e| format!("sending {method} {path}: {e}"))?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).map_err(|e| format!("reading the answer to {method} {path}: {e}"))?;
    let text = String::from_utf8_lossy(&raw);
    let (head, rest) = text.split_once("\r\n\r\n").ok_or_else(|| format!("malformed answer to {method} {path}"))?;
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status line in the answer to {method} {path}"))?;
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned())).collect();
    let chunked = headers.iter().any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked"));
    let body = if chunked { dechunk(rest) } else { rest.to_owned() };
    Ok(Answer { status, headers, body })
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else { break };
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    out
}

/// An API answer's JSON body.
fn parse_json(text: &str) -> Result<Json, String> {
    serde_json::from_str(text).map_err(|e| format!("the answer is not JSON ({e}): {text:.200}"))
}

fn key_values(line: &str) -> BTreeMap<String, String> {
    line.split_whitespace().filter_map(|kv| kv.split_once('=')).map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
}

// ---------------------------------------------------------------------------------------------
// The machine and the report

#[derive(Debug, Clone)]
struct Machine {
    cpu: String,
    cores: usize,
    ram: String,
    kernel: String,
    os: String,
    wrk: String,
    date: String,
    commit: String,
}

impl Machine {
    fn describe() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, v)| v.trim().to_owned()))
            .unwrap_or_else(|| "unknown".into());
        let cores = cpuinfo.lines().filter(|l| l.starts_with("processor")).count();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let ram = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or("unknown".into(), |kb| format!("{:.1} GiB", kb / 1024.0 / 1024.0));
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim().to_owned();
        let os = std::fs::read_to_string("/etc/os-release")
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("PRETTY_NAME=").map(|v| v.trim_matches('"').to_owned()))
            .unwrap_or_default();
        let wrk = Command::new("wrk")
            .arg("-v")
            .output()
            .map(|o| {
                let text = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
                text.lines().next().unwrap_or_default().trim().to_owned()
            })
            .unwrap_or_default();
        let date = util::output(Command::new("date").args(["-u", "+%Y-%m-%d %H:%M UTC"])).unwrap_or_default().trim().to_owned();
        let commit = util::output(Command::new("git").args(["describe", "--always", "--dirty"])).unwrap_or_default().trim().to_owned();
        Machine { cpu, cores, ram, kernel, os, wrk, date, commit }
    }

    fn one_line(&self) -> String {
        format!("{} × {} cores, {} RAM, Linux {} ({})", self.cpu, self.cores, self.ram, self.kernel, self.os)
    }
}

fn ms(us: f64) -> String {
    format!("{:.2}", us / 1000.0)
}

fn mib(bytes: i64) -> String {
    format!("{:.1}", bytes as f64 / 1024.0 / 1024.0)
}

fn markdown(m: &Machine, o: &Options, results: &[BackendResult], idle: &IdleRss) -> String {
    let mut s = String::new();
    let w = &mut s;
    let line = |w: &mut String, l: &str| {
        w.push_str(l);
        w.push('\n');
    };
    line(w, &format!("### Run of {} (commit {})", m.date, m.commit));
    line(w, "");
    line(w, &format!("- Machine: {}", m.one_line()));
    line(w, &format!("- Load generator: {} on the same machine, `-t{}`, {} s per run after a 5 s warm-up, 127.0.0.1 only", m.wrk, o.threads, o.duration_s));
    line(w, &format!("- Data: {} tickets × {} messages, 2 inboxes; request `GET /api/v1/tickets?status=open&inbox=<Support>` (first page, 50 rows) as `{DEMO_USER}` (agent, session cookie)", o.tickets, o.messages_per_ticket));
    line(w, "");
    line(w, "Seeding (`tandem bench-seed`, bulk multi-row INSERTs, 500 rows per statement, 5,000 tickets per transaction):");
    line(w, "");
    line(w, "| backend | tickets | messages | rows (all tables) | seconds | rows/s | tickets/s | ANALYZE s | wall s (incl. demo + sizes) |");
    line(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in results {
        let g = |k: &str| r.seed.get(k).cloned().unwrap_or_else(|| "?".into());
        line(w, &format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {:.1} |",
            r.backend.name(), g("tickets"), g("messages"), g("rows"), g("seconds"), g("rows_per_s"), g("tickets_per_s"), g("analyze_s"), r.seed_wall_s
        ));
    }
    line(w, "");
    line(w, "Ticket list under load (latencies in ms, from wrk's exact histogram via a Lua `done()`):");
    line(w, "");
    line(w, "| backend | response cache | connections | requests | req/s | mean | p50 | p90 | p99 | p99.9 | max | non-2xx | socket errors | notes written | goal (p99 ≤ 5 ms and ≥ 5,000 req/s) |");
    line(w, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    for r in results {
        for run in &r.runs {
            line(w, &format!(
                "| {} | {} | {} | {} | {:.0} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                r.backend.name(), run.mode.name(), run.connections, run.requests, run.rps, ms(run.mean_us), ms(run.p50_us), ms(run.p90_us), ms(run.p99_us), ms(run.p999_us), ms(run.max_us),
                run.status_errors, run.socket_errors, run.writes, if run.meets_goal() { "met" } else { "missed" }
            ));
        }
    }
    line(w, "");
    for r in results {
        let mut parts = vec![format!("**{}** ({})", r.backend.name(), r.version)];
        for mode in &o.modes {
            let runs = || r.runs.iter().filter(|x| x.mode == *mode);
            let best = runs().max_by(|a, b| a.rps.total_cmp(&b.rps));
            let best_p99 = runs().filter(|x| x.p99_us <= GOAL_P99_US).max_by(|a, b| a.rps.total_cmp(&b.rps));
            let mut said = Vec::new();
            if let Some(b) = best {
                said.push(format!("best throughput {:.0} req/s at -c{} (p99 {} ms)", b.rps, b.connections, ms(b.p99_us)));
            }
            match best_p99 {
                Some(b) => said.push(format!("best with p99 ≤ 5 ms {:.0} req/s at -c{} (p99 {} ms)", b.rps, b.connections, ms(b.p99_us))),
                None => said.push("no run had p99 ≤ 5 ms".into()),
            }
            parts.push(format!("{}: {}", mode.name(), said.join(", ")));
        }
        if let Some(n) = r.open_in_inbox {
            parts.push(format!("{n} open tickets in inbox {}, first page {} items", r.inbox_id, r.first_page_items));
        }
        if let (Some(rss), Some(hwm)) = (r.rss_after_kb, r.hwm_kb) {
            parts.push(format!("server RSS after the runs {:.1} MiB (peak {:.1} MiB)", rss as f64 / 1024.0, hwm as f64 / 1024.0));
        }
        line(w, &format!("- {}", parts.join("; ")));
    }
    line(w, "");
    line(w, "Database size after seeding (MiB; largest relations):");
    line(w, "");
    line(w, "| backend | whole database | tickets | tickets' indexes | messages | messages' indexes | other |");
    line(w, "|---|---:|---:|---:|---:|---:|---:|");
    for r in results {
        let total = r.sizes.iter().find(|(_, k, _)| k == "database").map_or(0, |x| x.2);
        let by = |name: &str| r.sizes.iter().filter(|(n, k, _)| n == name && k != "index").map(|x| x.2).sum::<i64>();
        let idx = |prefix: &str| r.sizes.iter().filter(|(n, k, _)| k == "index" && (n.starts_with(prefix) || n.starts_with(&format!("sqlite_autoindex_{prefix}")))).map(|x| x.2).sum::<i64>();
        let (t, ti, msg, mi) = (by("tickets"), idx("tickets"), by("messages"), idx("messages"));
        line(w, &format!("| {} | {} | {} | {} | {} | {} | {} |", r.backend.name(), mib(total), mib(t), mib(ti), mib(msg), mib(mi), mib(total - t - ti - msg - mi)));
    }
    line(w, "");
    let rss = |kb: Option<u64>| kb.map_or("?".to_owned(), |kb| format!("{:.1} MiB", kb as f64 / 1024.0));
    let goal = |kb: Option<u64>| if kb.is_some_and(|kb| (kb as f64) * 1024.0 <= 60e6) { "met" } else { "missed" };
    line(w, &format!(
        "Idle server, {} s after ready (goal ≤ 60 MB): `tandem serve --demo` on a fresh SQLite directory (seeds the demo in-process): \
         VmRSS {} (peak {}), {}; the same command again on the seeded directory: VmRSS {} (peak {}), {}",
        idle.after_s, rss(idle.rss_kb), rss(idle.hwm_kb), goal(idle.rss_kb),
        rss(idle.restart_rss_kb), rss(idle.restart_hwm_kb), goal(idle.restart_rss_kb)
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_bodies() {
        assert_eq!(dechunk("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"), "hello world");
    }

    #[test]
    fn options() {
        let args: Vec<std::ffi::OsString> = ["--tickets", "1_000", "--connections=4,8", "--backends", "sqlite"].iter().map(Into::into).collect();
        let o = parse_options(&args).expect("parses");
        assert_eq!((o.tickets, o.connections.clone(), o.backends.clone()), (1000, vec![4, 8], vec![Backend::Sqlite]));
        assert_eq!(o.modes, [Mode::Uncached, Mode::Cached, Mode::CachedWithWrites]);
        let o = parse_options(&["--modes=writes,off".into()]).expect("parses");
        assert_eq!(o.modes, [Mode::CachedWithWrites, Mode::Uncached]);
        assert!(parse_options(&["--nope".into()]).is_err());
        assert!(parse_options(&["--modes".into(), "fast".into()]).is_err());
    }
}
