//! Project chores, run as `./x <command>` (or `cargo xtask <command>`); see `HELP`.
//! Std plus serde_json (for the benchmark), so that it compiles in seconds on a fresh machine.

mod bench;
mod deps;
mod fuzz;
mod pg;
mod plugins;
mod util;
mod web;

use std::ffi::OsString;
use std::io::Write;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, ExitStatus};

const HELP: &str = "\
Usage: ./x <command> [args]      (or: cargo xtask <command> [args])

Commands:
  run [-- ARGS]   install what is missing, build the web UI and the server (release), then
                  start Tandem with demo data on http://127.0.0.1:8080;
                  ARGS are passed on to `tandem serve --demo`
  test [ARGS]     install what is missing (PostgreSQL, Chromium, Dovecot, aiosmtpd,
                  cargo-nextest, wasm target, nightly + cargo-fuzz), build the web UI, start a
                  throwaway PostgreSQL and run the whole test suite, then fuzz the mail parser
                  for 20 s;
                  ARGS are passed on to `cargo nextest run` (e.g. a test name filter;
                  with -p NAME only that package's tests run)
  pg              start a throwaway PostgreSQL, print its URL, remove it when Enter is
                  pressed or stdin closes
  build-web       build the web UI into web/dist
  plugins         build the plugin components (bundled ones and test fixtures)
  bench [OPTIONS] seed 100,000 tickets (300,000 messages) and measure the ticket list with wrk
                  on SQLite and a throwaway PostgreSQL, plus the idle RSS (see BENCHMARKS.md);
                  options: --tickets N --duration S --connections 8,16,32
                  --backends sqlite,postgres --out FILE --skip-build
  bench-plugins   build the plugins, then measure plugin calls, the pipeline per message
                  and compile times against native Rust (see BENCHMARKS.md)
  bench-mail      build the plugins, then measure email intake: 10,000 generated mails
                  imported from a real Dovecot with the bundled plugins (vs a plain IMAP
                  FETCH), and arrival → ticket latency with IDLE (see BENCHMARKS.md)
  bench-web       build the web UI, then measure it in headless Chromium: bundle size,
                  first paint and time to render 50 tickets (see BENCHMARKS.md)
  bench-search    full-text search over 1,000,000 messages from gen_mail.py: query p50/p99
                  on SQLite FTS5 and PostgreSQL, index size (see BENCHMARKS.md); set
                  TANDEM_BENCH_SEARCH_MESSAGES for another size
  bench-reports   the report dashboard's queries at 100,000 tickets: p50/p99 per query on
                  SQLite and PostgreSQL (see BENCHMARKS.md)
  fuzz [SECONDS]  fuzz the mail parser (parse, thread, sanitise) with cargo-fuzz on nightly
                  for SECONDS (default 30), seeded with the real-mail fixtures
  help            show this text
";

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let (command, rest) = match args.split_first() {
        Some((c, rest)) => (c.to_string_lossy().into_owned(), rest),
        None => ("help".to_owned(), &[][..]),
    };
    let result = match command.as_str() {
        "run" => run(rest),
        "test" => test(rest),
        "pg" => pg_until_enter(),
        "build-web" => web::build_web(&root()).map(|()| ExitCode::SUCCESS),
        "plugins" => plugins::build_all(&root()).map(|()| ExitCode::SUCCESS),
        "bench" => bench::bench(&root(), rest),
        "bench-plugins" => plugins::bench(&root()).map(|()| ExitCode::SUCCESS),
        "bench-mail" => bench_mail(&root()).map(|()| ExitCode::SUCCESS),
        "bench-web" => bench_web(&root()).map(|()| ExitCode::SUCCESS),
        "bench-search" => bench_search(&root()).map(|()| ExitCode::SUCCESS),
        "bench-reports" => bench_reports(&root()).map(|()| ExitCode::SUCCESS),
        "fuzz" => {
            let seconds = rest.first().and_then(|s| s.to_str()).and_then(|s| s.parse().ok()).unwrap_or(30);
            fuzz::fuzz(&root(), seconds).map(|()| ExitCode::SUCCESS)
        }
        "help" | "-h" | "--help" => {
            // Ignoring a write error is fine: there is nothing useful left to do with it.
            let _ = std::io::stdout().write_all(HELP.as_bytes());
            Ok(ExitCode::SUCCESS)
        }
        other => Err(format!("unknown command `{other}`\n\n{HELP}")),
    };
    result.unwrap_or_else(|e| {
        eprintln!("xtask: error: {e}");
        ExitCode::FAILURE
    })
}

/// `./x run [-- ARGS]`: build everything, then become `tandem serve --demo ARGS`.
fn run(args: &[OsString]) -> Result<ExitCode, String> {
    let root = root();
    let args = args.strip_prefix(&[OsString::from("--")]).unwrap_or(args);
    deps::ensure_rust_target("wasm32-unknown-unknown")?;
    web::build_web(&root)?;
    plugins::build(&root, plugins::BUNDLED)?;
    util::run(cargo(&root).args(["build", "--release", "-p", "tandem"]))?;

    let bin = target_dir(&root).join("release").join("tandem");
    let mut server = Command::new(&bin);
    server.current_dir(&root).args(["serve", "--demo"]).args(args);
    server.env("TANDEM_WEB_DIR", root.join("web").join("dist"));
    server.env("TANDEM_BUNDLED_PLUGINS", plugins::component_dir(&root));
    eprintln!("run: {}", util::describe(&server));
    // exec replaces this process, so Ctrl-C and SIGTERM go straight to the server.
    let err = server.exec();
    Err(format!("could not exec {}: {err}", bin.display()))
}

/// `./x bench-mail`: the email intake benchmark (`tests/benches/mail_intake.rs`).
fn bench_mail(root: &Path) -> Result<(), String> {
    deps::ensure_apt(&["dovecot-imapd", "python3-aiosmtpd", "python3"])?;
    plugins::build_all(root)?;
    util::run(cargo(root).args(["bench", "-p", "tandem-tests", "--bench", "mail_intake"]))
}

/// `./x bench-search`: the search benchmark (`tests/benches/search.rs`) on SQLite and a
/// throwaway PostgreSQL.
fn bench_search(root: &Path) -> Result<(), String> {
    deps::ensure_apt(&["postgresql", "python3"])?;
    let pg = pg::PgCluster::start()?;
    util::run(cargo(root).args(["bench", "-p", "tandem-tests", "--bench", "search"]).env("TANDEM_TEST_PG_URL", &pg.url))
}

/// `./x bench-reports`: the reports benchmark (`tests/benches/reports.rs`) on SQLite and a
/// throwaway PostgreSQL.
fn bench_reports(root: &Path) -> Result<(), String> {
    deps::ensure_apt(&["postgresql"])?;
    let pg = pg::PgCluster::start()?;
    util::run(cargo(root).args(["bench", "-p", "tandem-tests", "--bench", "reports"]).env("TANDEM_TEST_PG_URL", &pg.url))
}

/// `./x bench-web`: the web UI benchmark (`tests/benches/web_ui.rs`).
fn bench_web(root: &Path) -> Result<(), String> {
    deps::ensure_apt(&["chromium", "chromium-driver"])?;
    deps::ensure_rust_target("wasm32-unknown-unknown")?;
    web::build_web(root)?;
    util::run(
        cargo(root)
            .args(["bench", "-p", "tandem-tests", "--bench", "web_ui"])
            .env("TANDEM_WEB_DIR", root.join("web").join("dist"))
            .env("TANDEM_CHROMEDRIVER", "/usr/bin/chromedriver")
            .env("TANDEM_CHROMIUM", "/usr/bin/chromium"),
    )
}

/// `./x test [ARGS]`: install, build the web UI, run nextest against a throwaway PostgreSQL.
fn test(args: &[OsString]) -> Result<ExitCode, String> {
    let root = root();
    // The whole suite (no arguments: what CI runs) builds the test binaries in the background
    // from the start, while the packages and tools are installed and the web UI, the plugins
    // and the fuzz target build in the foreground. The test build alone keeps both cores busy;
    // the others spend long stretches on one core (LTO with one codegen unit, componentize-py)
    // or waiting for downloads and dpkg, which the test build fills. They use other profiles
    // and target directories, so no cargo waits for another's lock. A fresh clone's `.ci/run`
    // on the 2-core Intel machine: 28 min 16 s before, 25 min 38 s with the overlap starting
    // after the installs; with cargo-nextest installed by the run, as on CI, 29 min 42 s with
    // it starting after the installs and 26 min 3 s starting before them (2026-12-06).
    let whole_suite = args.is_empty();
    let prebuild = if whole_suite { Some(Prebuild::start(&root)?) } else { None };
    // PostgreSQL, the browser, and the real mail servers the email tests start on loopback.
    deps::ensure_apt(&["postgresql", "chromium", "chromium-driver", "dovecot-imapd", "python3-aiosmtpd"])?;
    // Without the self-update machinery (an HTTP client and its TLS stack), which a suite
    // never uses: 98 s instead of 129 s to install on the 2-core machine (2026-12-03).
    deps::ensure_cargo_tool(
        "cargo-nextest",
        "cargo nextest --version",
        &["cargo-nextest", "--locked", "--no-default-features", "--features", "default-no-update"],
    )?;
    deps::ensure_rust_target("wasm32-unknown-unknown")?;
    web::build_web(&root)?;
    let axe = web::axe_core(&root)?;
    plugins::build_all(&root)?;
    // Without a nightly toolchain or cargo-fuzz (no network to the Rust dist server), the
    // fuzzing after the tests is skipped with a warning. A fuzz target that does not build is
    // reported by the run after the tests, which builds it again.
    let fuzz_tools = whole_suite.then(|| {
        fuzz::tools().map(|()| {
            if let Err(e) = fuzz::build(&root) {
                eprintln!("fuzz: the build failed ({e}); the run after the tests builds it again");
            }
        })
    });
    if let Some(prebuild) = prebuild {
        prebuild.finish();
    }

    // Dropped on every way out of this function (error, panic or not); if xtask itself is
    // killed, the cluster's reaper process cleans up instead (see pg.rs).
    let pg = pg::PgCluster::start()?;
    // One compile cache for the test servers of this run (see tandem_tests::PLUGIN_CACHE_ENV),
    // emptied first so that each run compiles the plugins once. The 20 plugin tests of the e2e
    // binary took 86 s with a cache per test and 27 s with this (2026-12-06).
    let plugin_cache = target_dir(&root).join("test-plugin-cache");
    if plugin_cache.exists() {
        std::fs::remove_dir_all(&plugin_cache).map_err(|e| format!("emptying {}: {e}", plugin_cache.display()))?;
    }
    let mut nextest = cargo(&root);
    nextest.args(["nextest", "run"]);
    if !names_packages(args) {
        nextest.args(SUITE_PACKAGES);
    }
    nextest
        .arg("--no-fail-fast")
        .args(args)
        .env("TANDEM_TEST_PG_URL", &pg.url)
        .env("TANDEM_WEB_DIR", root.join("web").join("dist"))
        // The binary the browser tests start (built by this nextest run, as a dependency of
        // the `tandem` package's own tests).
        .env("TANDEM_BIN", target_dir(&root).join("debug").join("tandem"))
        .env("TANDEM_BUNDLED_PLUGINS", plugins::component_dir(&root))
        .env("TANDEM_TEST_PLUGIN_CACHE", &plugin_cache)
        .env("TANDEM_CHROMEDRIVER", "/usr/bin/chromedriver")
        .env("TANDEM_CHROMIUM", "/usr/bin/chromium")
        .env("TANDEM_AXE_JS", &axe);
    eprintln!("test: {}", util::describe(&nextest));
    let status = util::status(&mut nextest)?;
    drop(pg);
    if !status.success() {
        eprintln!("test: nextest failed ({status})");
        return Ok(exit_code(status));
    }
    // The whole suite also fuzzes the mail parser briefly (a finding fails the run).
    match fuzz_tools {
        Some(Ok(())) => fuzz::run(&root, 20)?,
        Some(Err(e)) => eprintln!("test: WARNING: fuzzing skipped, nightly or cargo-fuzz could not be installed: {e}"),
        None => {}
    }
    Ok(exit_code(status))
}

/// The packages whose tests `./x test` builds and runs, unless its arguments name packages.
/// `tandem-web` is built for the browser and tested there (tests/e2e/browser); its browser-free
/// logic, `tandem-web-core`, has the unit tests. Without Leptos for the host a cold test build
/// took 1,017 s instead of 1,134 s (CPU 2,028 s instead of 2,265 s, `cargo --timings`, 2-core
/// Intel, 2026-12-06).
const SUITE_PACKAGES: [&str; 5] = ["--workspace", "--exclude", "xtask", "--exclude", "tandem-web"];

/// Whether `./x test` was given packages (`-p NAME`, `--package NAME`, `--package=NAME`): then
/// nextest runs those instead of the workspace (cargo's `--workspace` would override them).
fn names_packages(args: &[OsString]) -> bool {
    args.iter().any(|a| a == "-p" || a == "--package" || a.to_string_lossy().starts_with("--package="))
}

/// The test binaries, built by a child cargo while `./x test` builds the rest; the child is
/// killed if this is dropped before [`Prebuild::finish`] (an earlier step failed).
struct Prebuild {
    child: Option<Child>,
}

impl Prebuild {
    fn start(root: &Path) -> Result<Prebuild, String> {
        // `cargo test --no-run` with the suite's package arguments is the build nextest runs
        // (same profile, packages and targets), so nextest finds it done (checked: afterwards
        // `cargo nextest run … --no-run` compiled nothing, 0.5 s); unlike
        // `cargo nextest run --no-run` it can start before cargo-nextest is installed.
        let mut cmd = cargo(root);
        cmd.args(["test", "--no-run"]).args(SUITE_PACKAGES);
        eprintln!("test: building the test binaries in the background: {}", util::describe(&cmd));
        let child = cmd.spawn().map_err(|e| format!("could not start `{}`: {e}", util::describe(&cmd)))?;
        Ok(Prebuild { child: Some(child) })
    }

    /// Waits for the build. Its failure is not reported here: the nextest run that follows
    /// builds again (what did build is kept) and reports the errors where they belong.
    fn finish(mut self) {
        if let Some(mut child) = self.child.take() {
            match child.wait() {
                Ok(status) if status.success() => eprintln!("test: the test binaries are built"),
                Ok(status) => eprintln!("test: the background build failed ({status}); nextest builds again"),
                Err(e) => eprintln!("test: waiting for the background build: {e}; nextest builds again"),
            }
        }
    }
}

impl Drop for Prebuild {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `./x pg`: a throwaway cluster for poking at by hand.
fn pg_until_enter() -> Result<ExitCode, String> {
    let pg = pg::PgCluster::start()?;
    writeln!(std::io::stdout(), "{}", pg.url).map_err(|e| format!("writing to stdout: {e}"))?;
    eprintln!("pg: press Enter (or close stdin) to stop and remove it");
    // Any outcome (a line, end of file, an error) means: done.
    let _ = std::io::stdin().read_line(&mut String::new());
    Ok(ExitCode::SUCCESS)
}

/// The same exit code as a child's: its code, or 128 + signal like a shell.
fn exit_code(status: ExitStatus) -> ExitCode {
    let code = status.code().or_else(|| status.signal().map(|s| 128 + s)).unwrap_or(1);
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

/// The workspace root: the parent of this crate's directory.
fn root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}

/// Cargo's target directory, honouring CARGO_TARGET_DIR (relative to the root, where cargo runs).
fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root.join(dir),
        _ => root.join("target"),
    }
}

/// The cargo that runs us (`CARGO` is set by `cargo run`), falling back to the one on PATH.
fn cargo_program() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// A cargo command run from the workspace root.
fn cargo(root: &Path) -> Command {
    let mut cmd = Command::new(cargo_program());
    cmd.current_dir(root);
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packages_given_replace_the_workspace() {
        let args = |list: &[&str]| list.iter().map(OsString::from).collect::<Vec<_>>();
        assert!(names_packages(&args(&["-p", "tandem-web-core"])));
        assert!(names_packages(&args(&["--package=tandem-store", "sla"])));
        assert!(!names_packages(&args(&["-E", "binary(e2e)"])));
        assert!(!names_packages(&args(&[])));
    }

    #[test]
    fn exit_code_mirrors_child() {
        let st = |raw| ExitStatus::from_raw(raw);
        assert_eq!(exit_code(st(0)), ExitCode::SUCCESS);
        assert_eq!(exit_code(st(4 << 8)), ExitCode::from(4));
        assert_eq!(exit_code(st(9)), ExitCode::from(128 + 9)); // killed by SIGKILL
    }

    #[test]
    fn target_dir_is_relative_to_the_root() {
        let root = Path::new("/work/repo");
        let dir = target_dir(root);
        match std::env::var_os("CARGO_TARGET_DIR") {
            Some(set) if !set.is_empty() => assert_eq!(dir, root.join(set)),
            _ => assert_eq!(dir, root.join("target")),
        }
    }

    #[test]
    fn root_has_the_workspace_manifest() {
        assert!(root().join("Cargo.toml").is_file());
        assert!(root().join("xtask").is_dir());
    }
}

