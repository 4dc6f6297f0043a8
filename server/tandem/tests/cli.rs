//! The `tandem` binary as an operator uses it: configuration errors, first run with demo
//! data, every demo role signing in, user commands, and a graceful stop on SIGTERM.

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_tandem");

/// Where `./x plugins` builds the bundled plugins (`./x test` also passes it in the environment).
fn bundled_plugins() -> std::path::PathBuf {
    std::env::var_os("TANDEM_BUNDLED_PLUGINS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/wasm32-wasip2/plugin"))
}

fn tandem(dir: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env("TANDEM_BUNDLED_PLUGINS", bundled_plugins());
    cmd.current_dir(dir)
        .env_remove("DATABASE_URL")
        .env_remove("TANDEM_LISTEN")
        .env("TANDEM_DATA_DIR", dir.join("data"))
        .env("TANDEM_LOG_FORMAT", "json")
        .env("TANDEM_LOG", "warn");
    cmd
}

/// A running `tandem serve`; killed if the test fails before stopping it.
struct Server {
    child: Child,
    base: String,
    stdout: Vec<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(dir: &Path, args: &[&str]) -> Server {
    let mut child = tandem(dir)
        .args(["serve"])
        .args(args)
        .env("TANDEM_LISTEN", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn tandem");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = Vec::new();
    let mut base = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("line");
        if let Some(url) = line.strip_prefix("Tandem is running on ") {
            base = Some(url.trim().to_owned());
            lines.push(line);
            break;
        }
        lines.push(line);
    }
    let base = base.unwrap_or_else(|| panic!("tandem did not start; it printed:\n{}", lines.join("\n")));
    Server { child, base, stdout: lines }
}

#[test]
fn configuration_errors_are_all_reported_at_once() {
    let dir = tempfile::tempdir().expect("dir");
    let config = dir.path().join("tandem.toml");
    std::fs::write(&config, "listen = 8080\nlog_format = \"xml\"\ncolour = true\n").expect("write");
    let output = tandem(dir.path()).env_remove("TANDEM_LOG_FORMAT").env("TANDEM_SECURE_COOKIES", "maybe").args(["--config", "tandem.toml", "migrate"]).output().expect("run");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("4 problem(s)"), "{stderr}");
    for expected in ["unknown key `colour`", "listen: expected a string", "`xml`", "TANDEM_SECURE_COOKIES"] {
        assert!(stderr.contains(expected), "missing {expected:?} in {stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_run_with_demo_data_then_graceful_stop() {
    let dir = tempfile::tempdir().expect("dir");
    let mut server = start(dir.path(), &["--demo"]);
    let printed = server.stdout.join("\n");
    for login in ["admin@demo.test", "supervisor@demo.test", "agent1@demo.test", "agent2@demo.test", "observer@demo.test", "tandem-demo"] {
        assert!(printed.contains(login), "the demo logins are printed: {printed}");
    }
    assert!(dir.path().join("data/tandem.db").is_file(), "SQLite lives under the data directory");
    let mut seen_statuses = std::collections::BTreeSet::new();
    let mut languages = std::collections::BTreeSet::new();
    for (email, role) in [("admin@demo.test", "admin"), ("supervisor@demo.test", "supervisor"), ("agent1@demo.test", "agent"), ("agent2@demo.test", "agent"), ("observer@demo.test", "observer")] {
        let client = reqwest::Client::builder().cookie_store(true).build().expect("client");
        let me: Value = client
            .post(format!("{}/api/v1/session", server.base))
            .json(&json!({ "email": email, "password": "tandem-demo" }))
            .send()
            .await
            .expect("login")
            .json()
            .await
            .expect("json");
        assert_eq!(me["user"]["role"], role, "{me}");
        let page: Value = client.get(format!("{}/api/v1/tickets?limit=200", server.base)).send().await.expect("list").json().await.expect("json");
        let items = page["items"].as_array().expect("items");
        assert!(!items.is_empty(), "{email} sees tickets");
        for t in items {
            seen_statuses.insert(t["status"].as_str().unwrap_or_default().to_owned());
            languages.insert(t["language"].as_str().unwrap_or_default().to_owned());
        }
        if role == "admin" {
            assert!(items.len() >= 50, "about fifty demo tickets, got {}", items.len());
        }
    }
    assert_eq!(seen_statuses.len(), 7, "every status is in the demo: {seen_statuses:?}");
    // The bundled plugins were installed and enabled, compiled by a `tandem plugin-compile`
    // process into the data directory's cache.
    let admin = reqwest::Client::builder().cookie_store(true).build().expect("client");
    admin.post(format!("{}/api/v1/session", server.base)).json(&json!({ "email": "admin@demo.test", "password": "tandem-demo" })).send().await.expect("login");
    let plugins: Value = admin.get(format!("{}/api/v1/plugins", server.base)).send().await.expect("plugins").json().await.expect("json");
    let names: Vec<&str> = plugins.as_array().expect("list").iter().filter(|p| p["enabled"] == true).filter_map(|p| p["name"].as_str()).collect();
    assert_eq!(names.len(), 3, "{plugins}");
    let cached = std::fs::read_dir(dir.path().join("data/plugin-cache")).expect("cache").count();
    assert_eq!(cached, 3, "one compiled artifact per bundled plugin");
    assert_eq!(languages, ["en", "fr", "pl", "ru"].map(String::from).into_iter().collect());
    // The demo's past replies went out (its inboxes have no SMTP: the sender would have failed them).
    let solved: Value = admin.get(format!("{}/api/v1/tickets?status=solved&limit=200", server.base)).send().await.expect("solved").json().await.expect("json");
    let mut replies = 0;
    for t in solved["items"].as_array().expect("items") {
        let detail: Value = admin.get(format!("{}/api/v1/tickets/{}", server.base, t["number"])).send().await.expect("ticket").json().await.expect("json");
        for m in detail["messages"].as_array().expect("messages").iter().filter(|m| m["kind"] == "reply") {
            assert_eq!(m["delivery_state"], "sent", "{m}");
            replies += 1;
        }
    }
    assert!(replies > 0, "solved demo tickets have replies");
    // SIGTERM: requests in flight finish and the process exits cleanly.
    let status = Command::new("kill").args(["-TERM", &server.child.id().to_string()]).status().expect("kill");
    assert!(status.success());
    let started = Instant::now();
    let exit = loop {
        if let Some(exit) = server.child.try_wait().expect("wait") {
            break exit;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "tandem did not stop within 10 s of SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "{exit:?}");
    // A second start keeps the data and does not seed again.
    let again = start(dir.path(), &["--demo"]);
    let client = reqwest::Client::builder().cookie_store(true).build().expect("client");
    client.post(format!("{}/api/v1/session", again.base)).json(&json!({ "email": "admin@demo.test", "password": "tandem-demo" })).send().await.expect("login");
    let page: Value = client.get(format!("{}/api/v1/tickets?limit=200", again.base)).send().await.expect("list").json().await.expect("json");
    assert_eq!(page["items"].as_array().map(Vec::len), Some(tandem_demo_ticket_count()));
}

/// The compiler process the server uses: a component in, a cached artifact out; anything
/// else is refused with exit code 3 and the reason.
#[test]
fn plugin_compile_checks_and_caches() {
    use std::io::Write;
    let dir = tempfile::tempdir().expect("dir");
    let component = bundled_plugins().join("skills_router.wasm");
    let bytes = std::fs::read(&component).unwrap_or_else(|e| panic!("{}: {e} (build with ./x plugins)", component.display()));
    let run = |input: &[u8]| {
        let mut child = tandem(dir.path())
            .args(["plugin-compile", "--cache-dir"])
            .arg(dir.path().join("cache"))
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        child.stdin.take().expect("stdin").write_all(input).expect("write");
        child.wait_with_output().expect("wait")
    };
    let ok = run(&bytes);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    assert_eq!(std::fs::read_dir(dir.path().join("cache")).expect("cache").count(), 1);
    let bad = run(b"\0asm\x01\0\0\0");
    assert_eq!(bad.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("core WebAssembly module"));
}

fn tandem_demo_ticket_count() -> usize {
    52
}

#[test]
fn user_commands() {
    let dir = tempfile::tempdir().expect("dir");
    let output = tandem(dir.path()).args(["migrate"]).output().expect("migrate");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stdout).contains("applied m0001_initial"));
    let output = tandem(dir.path())
        .args(["user", "create", "--email", "Boss@Example.test", "--name", "The Boss", "--role", "admin"])
        .env("TANDEM_PASSWORD", "a very long password")
        .output()
        .expect("create");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let output = tandem(dir.path()).args(["user", "create", "--email", "x@example.test", "--name", "X", "--role", "agent", "--password", "short"]).output().expect("create");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("at least 10 characters"));
    let output = tandem(dir.path()).args(["user", "create", "--email", "x@example.test", "--name", "X", "--role", "king", "--password", "long enough password"]).output().expect("create");
    assert!(!output.status.success());
    let output = tandem(dir.path()).args(["user", "passwd", "--email", "boss@example.test", "--password", "another long password"]).output().expect("passwd");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let output = tandem(dir.path()).args(["user", "list"]).output().expect("list");
    let listing = String::from_utf8_lossy(&output.stdout);
    assert!(listing.contains("boss@example.test") && listing.contains("admin") && !listing.contains("x@example.test"), "{listing}");
}
