//! The web UI in a real headless Chromium, driven over WebDriver (chromedriver + fantoccini)
//! against a real server that serves the built UI (`web/dist`) at `/`.
//!
//! Needs `TANDEM_WEB_DIR`, `TANDEM_CHROMEDRIVER` and `TANDEM_CHROMIUM`, which `./x test` sets
//! (after building the UI and installing Chromium). Without them the test fails: it never skips.

use std::{
    net::{Ipv4Addr, TcpListener},
    os::unix::process::CommandExt,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use fantoccini::{Client, ClientBuilder, Locator, elements::Element, error::CmdError};
use serde_json::{Value, json};
use tandem_api::ApiSettings;
use tandem_store::testing::Backend;
use tandem_tests::{PASSWORD, TestServer};
use tempfile::TempDir;

/// How long any one wait on the page may take.
const WAIT: Duration = Duration::from_secs(10);
/// How long chromedriver may take to answer after it is started.
const DRIVER_START: Duration = Duration::from_secs(10);

/// A path from the environment that must exist; anything else fails the test with the fix.
fn required_path(var: &str, what: &str) -> PathBuf {
    let Some(value) = std::env::var_os(var).filter(|v| !v.is_empty()) else {
        panic!("{var} is not set: it must point to {what}. Run the browser tests through `./x test`, which builds the web UI, installs Chromium and sets it.");
    };
    let path = PathBuf::from(value);
    assert!(
        path.exists(),
        "{var}={} points nowhere: it must point to {what}. Run the browser tests through `./x test`, which builds the web UI, installs Chromium and sets it.",
        path.display()
    );
    path
}

fn web_dir() -> PathBuf {
    let dir = required_path("TANDEM_WEB_DIR", "the built web UI (web/dist)");
    assert!(
        dir.join("index.html").is_file(),
        "TANDEM_WEB_DIR={} has no index.html: run `./x build-web`, or the tests through `./x test`.",
        dir.display()
    );
    dir
}

/// chromedriver on a free loopback port with one headless Chromium session. Dropping it kills
/// chromedriver and everything it started (its own process group).
struct Browser {
    client: Client,
    driver: Child,
    _profile: TempDir,
}

impl std::fmt::Debug for Browser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Browser").field("driver", &self.driver.id()).finish_non_exhaustive()
    }
}

impl Browser {
    async fn start() -> Browser {
        let chromedriver = required_path("TANDEM_CHROMEDRIVER", "the chromedriver binary");
        let chromium = required_path("TANDEM_CHROMIUM", "the Chromium binary");
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|listener| listener.local_addr())
            .expect("a free port for chromedriver")
            .port();
        let profile = tempfile::Builder::new().prefix("tandem-chromium-").tempdir().expect("a profile directory");
        let mut driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group, so that Drop can kill chromedriver with the browser.
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {}: {e}", chromedriver.display()));
        let webdriver = format!("http://127.0.0.1:{port}");
        if let Err(message) = wait_until_ready(&webdriver, &mut driver).await {
            kill_group(&mut driver);
            panic!("chromedriver ({}) did not start: {message}", chromedriver.display());
        }

        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".to_owned(),
            json!({
                "binary": chromium,
                "args": [
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--no-first-run",
                    "--disable-quic",
                    format!("--user-data-dir={}", profile.path().display()),
                    "--window-size=1280,800",
                ],
            }),
        );
        // Two rustls crypto providers are linked into the test binary (ring for the mail
        // channel, aws-lc-rs for fantoccini's hyper-rustls): name the process default.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let connected = match ClientBuilder::rustls() {
            Ok(mut builder) => builder.capabilities(capabilities).connect(&webdriver).await.map_err(|e| e.to_string()),
            Err(e) => Err(format!("rustls: {e}")),
        };
        match connected {
            Ok(client) => Browser { client, driver, _profile: profile },
            Err(message) => {
                kill_group(&mut driver);
                panic!("no Chromium session through chromedriver ({}): {message}", chromium.display());
            }
        }
    }

    /// Waits (at most [`WAIT`]) until `css` matches an element.
    async fn wait_for(&self, css: &str) -> Element {
        match self.client.wait().at_most(WAIT).for_element(Locator::Css(css)).await {
            Ok(element) => element,
            Err(e) => panic!("waiting for `{css}`: {e}\npage text:\n{}", self.page_text().await),
        }
    }

    /// Whether `css` matches something right now.
    async fn is_present(&self, css: &str) -> bool {
        !self.client.find_all(Locator::Css(css)).await.expect("find_all").is_empty()
    }

    async fn text(&self, css: &str) -> String {
        self.wait_for(css).await.text().await.expect("text")
    }

    async fn type_into(&self, css: &str, text: &str) {
        self.wait_for(css).await.send_keys(text).await.unwrap_or_else(|e| panic!("typing into `{css}`: {e}"));
    }

    async fn click(&self, css: &str) {
        self.wait_for(css).await.click().await.unwrap_or_else(|e| panic!("clicking `{css}`: {e}"));
    }

    async fn page_text(&self) -> String {
        match self.client.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_else(|e| format!("(no text: {e})")),
            Err(e) => format!("(no body: {e})"),
        }
    }

    /// Ends the WebDriver session (chromedriver quits Chromium), then stops chromedriver.
    async fn close(self) {
        let closed: Result<(), CmdError> = self.client.clone().close().await;
        closed.expect("closing the browser");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        kill_group(&mut self.driver);
    }
}

/// Polls chromedriver's `/status` until it reports ready.
async fn wait_until_ready(webdriver: &str, driver: &mut Child) -> Result<(), String> {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(1)).build().map_err(|e| e.to_string())?;
    let started = Instant::now();
    let mut last = String::from("no answer");
    while started.elapsed() < DRIVER_START {
        if let Ok(Some(status)) = driver.try_wait() {
            return Err(format!("it exited with {status}"));
        }
        match http.get(format!("{webdriver}/status")).send().await {
            Ok(response) => match response.json::<Value>().await {
                Ok(body) if body["value"]["ready"] == true => return Ok(()),
                Ok(body) => last = format!("not ready: {body}"),
                Err(e) => last = e.to_string(),
            },
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(format!("not ready after {DRIVER_START:?} ({last})"))
}

/// Kills chromedriver's process group (chromedriver, Chromium and its helpers) and reaps it.
fn kill_group(driver: &mut Child) {
    let group = format!("-{}", driver.id());
    let killed = Command::new("kill")
        .args(["-KILL", "--", &group])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !killed {
        let _ = driver.kill();
    }
    let _ = driver.wait();
}

async fn sign_in(browser: &Browser, email: &str, password: &str) {
    let field = browser.wait_for("#login-email").await;
    field.clear().await.expect("clear email");
    field.send_keys(email).await.expect("type email");
    browser.type_into("#login-password", password).await;
    browser.click("#login-submit").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_shows_own_tickets_and_sign_out() {
    let web_dir = web_dir();
    let server = TestServer::start_with(Backend::Sqlite, ApiSettings { web_dir: Some(web_dir), ..Default::default() }).await;
    let browser = Browser::start().await;
    let agent = &server.desk.agent;
    assert_eq!(agent.email, "agent@desk.test");

    browser.client.goto(&server.url("/")).await.expect("open the web UI");
    browser.wait_for("#login-email").await;
    browser.wait_for("#login-password").await;
    assert!(!browser.is_present("#login-error").await, "an error before any attempt");

    // A wrong password: an error, still signed out.
    sign_in(&browser, &agent.email, "wrong password").await;
    let error = browser.text("#login-error").await;
    assert!(error.contains("wrong email or password"), "login error: {error:?}");
    assert!(!browser.is_present("#whoami").await, "signed in with a wrong password");

    // The right password (the form emptied the password field after the failure).
    sign_in(&browser, &agent.email, PASSWORD).await;
    assert_eq!(browser.text("#whoami").await, agent.display_name);
    assert_eq!(agent.display_name, "agent");
    assert!(!browser.is_present("#login-email").await, "the sign-in form stays after signing in");

    // Only the tickets of the agent's inboxes: #1001 (inbox A), not #1002 (inbox B).
    let expect_rows = |numbers: &[String]| {
        assert!(numbers.contains(&server.desk.ticket_a.to_string()), "ticket rows {numbers:?}");
        assert!(!numbers.contains(&server.desk.ticket_b.to_string()), "ticket rows {numbers:?}");
    };
    assert_eq!((server.desk.ticket_a, server.desk.ticket_b), (1001, 1002));
    let rows = ticket_rows(&browser).await;
    expect_rows(&rows);
    let table = browser.text("#ticket-list").await;
    assert!(table.contains("#1001") && table.contains("Cannot log in"), "ticket table: {table}");
    assert!(!table.contains("#1002"), "ticket table: {table}");

    // The session survives a reload.
    let cookie = browser.client.get_named_cookie("tandem_session").await.expect("the session cookie");
    browser.client.refresh().await.expect("reload");
    assert_eq!(browser.text("#whoami").await, agent.display_name);
    expect_rows(&ticket_rows(&browser).await);

    // Sign out: the form is back, and the old session cookie no longer works.
    browser.click("#logout").await;
    browser.wait_for("#login-email").await;
    assert!(!browser.is_present("#whoami").await, "still signed in after signing out");
    browser.client.refresh().await.expect("reload");
    browser.wait_for("#login-email").await;
    assert!(!browser.is_present("#whoami").await, "signed in again after a reload");
    let status = reqwest::Client::new()
        .get(server.url("/api/v1/me"))
        .header(reqwest::header::COOKIE, format!("tandem_session={}", cookie.value()))
        .send()
        .await
        .expect("request")
        .status();
    assert_eq!(status, 401, "the signed-out session cookie still works");

    browser.close().await;
}

/// `data-number` of every row of the ticket table, once the table is shown.
async fn ticket_rows(browser: &Browser) -> Vec<String> {
    let table = browser.wait_for("#ticket-list").await;
    let mut numbers = Vec::new();
    for row in table.find_all(Locator::Css(".ticket-row")).await.expect("ticket rows") {
        numbers.push(row.attr("data-number").await.expect("data-number").unwrap_or_default());
    }
    numbers
}
