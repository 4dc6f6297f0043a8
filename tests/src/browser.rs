//! The browser harness: chromedriver + a headless Debian Chromium driven over WebDriver
//! (fantoccini), for the browser tests and the web UI benchmark.
//!
//! Needs `TANDEM_WEB_DIR`, `TANDEM_CHROMEDRIVER` and `TANDEM_CHROMIUM`, which `./x test` sets
//! (after building the UI and installing Chromium). Without them it fails: it never skips.

use std::{
    net::{Ipv4Addr, TcpListener},
    os::unix::process::CommandExt,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use fantoccini::{Client, ClientBuilder, Locator, elements::Element, error::CmdError};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use tandem_api::ApiSettings;
use tandem_store::testing::Backend;
use tempfile::TempDir;

use crate::{PASSWORD, TestServer};

/// How long any one wait on the page may take.
pub const WAIT: Duration = Duration::from_secs(10);
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

pub fn web_dir() -> PathBuf {
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
pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: TempDir,
}

impl std::fmt::Debug for Browser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Browser").field("driver", &self.driver.id()).finish_non_exhaustive()
    }
}

impl Browser {
    pub async fn start() -> Browser {
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
        // chromedriver speaks plain HTTP on loopback.
        let connected = ClientBuilder::new(HttpConnector::new()).capabilities(capabilities).connect(&webdriver).await.map_err(|e| e.to_string());
        match connected {
            Ok(client) => Browser { client, driver, _profile: profile },
            Err(message) => {
                kill_group(&mut driver);
                panic!("no Chromium session through chromedriver ({}): {message}", chromium.display());
            }
        }
    }

    /// Waits (at most [`WAIT`]) until `css` matches an element.
    pub async fn wait_for(&self, css: &str) -> Element {
        match self.client.wait().at_most(WAIT).for_element(Locator::Css(css)).await {
            Ok(element) => element,
            Err(e) => panic!("waiting for `{css}`: {e}\npage text:\n{}", self.page_text().await),
        }
    }

    /// Whether `css` matches something right now.
    pub async fn is_present(&self, css: &str) -> bool {
        !self.client.find_all(Locator::Css(css)).await.expect("find_all").is_empty()
    }

    pub async fn text(&self, css: &str) -> String {
        self.wait_for(css).await.text().await.expect("text")
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        self.wait_for(css).await.send_keys(text).await.unwrap_or_else(|e| panic!("typing into `{css}`: {e}"));
    }

    pub async fn click(&self, css: &str) {
        self.wait_for(css).await.click().await.unwrap_or_else(|e| panic!("clicking `{css}`: {e}"));
    }

    pub async fn page_text(&self) -> String {
        match self.client.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_else(|e| format!("(no text: {e})")),
            Err(e) => format!("(no body: {e})"),
        }
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap_or_else(|e| panic!("opening {url}: {e}"));
    }

    /// Picks the `<option value=…>` of a `<select>`.
    pub async fn select(&self, css: &str, value: &str) {
        self.wait_for(css)
            .await
            .select_by_value(value)
            .await
            .unwrap_or_else(|e| panic!("selecting {value:?} in `{css}`: {e}"));
    }

    /// Waits until the text of `css` contains `needle`; returns the text.
    pub async fn wait_text(&self, css: &str, needle: &str) -> String {
        let started = Instant::now();
        loop {
            let text = match self.client.find(Locator::Css(css)).await {
                Ok(element) => element.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if text.contains(needle) {
                return text;
            }
            if started.elapsed() > WAIT {
                panic!("`{css}` never contained {needle:?}; it says {text:?}\npage text:\n{}", self.page_text().await);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until `css` matches nothing.
    pub async fn wait_gone(&self, css: &str) {
        let started = Instant::now();
        while self.is_present(css).await {
            if started.elapsed() > WAIT {
                panic!("`{css}` is still there\npage text:\n{}", self.page_text().await);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Runs JavaScript in the page and returns its result.
    pub async fn js(&self, script: &str) -> Value {
        self.client.execute(script, vec![]).await.unwrap_or_else(|e| panic!("script {script:?}: {e}"))
    }

    /// Runs axe-core (`TANDEM_AXE_JS`, which `./x test` installs from npm) on the current
    /// page for the WCAG 2.1 A and AA rules and returns each violation as one readable line
    /// (rule, impact, what to fix, the first elements concerned); empty when the page passes.
    pub async fn accessibility_violations(&self) -> Vec<String> {
        let axe = required_path("TANDEM_AXE_JS", "axe.min.js of the npm package axe-core");
        let source = std::fs::read_to_string(&axe).unwrap_or_else(|e| panic!("reading {}: {e}", axe.display()));
        // axe's UMD wrapper sets `window.axe`; the script runs through the driver, which the
        // page's Content-Security-Policy does not govern.
        let script = format!(
            "{source}\n;const done = arguments[arguments.length - 1];\n\
             window.axe.run(document, {{ runOnly: {{ type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }} }})\n\
             .then(r => done(r.violations.map(v => `${{v.id}} (${{v.impact}}): ${{v.help}}: ` + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', '))))\n\
             .catch(e => done(['axe failed: ' + e]));"
        );
        let result = self.client.execute_async(&script, vec![]).await.unwrap_or_else(|e| panic!("running axe-core: {e}"));
        serde_json::from_value(result).expect("axe's answer is a list of strings")
    }

    /// Saves a PNG of the window under `target/screenshots/` (test artefacts).
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("screenshot directory");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("write screenshot");
    }

    /// Ends the WebDriver session (chromedriver quits Chromium), then stops chromedriver.
    pub async fn close(self) {
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

/// `target/screenshots` (or under `CARGO_TARGET_DIR`).
pub fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("screenshots")
}

/// The real `tandem` binary serving the built UI over the small desk, and a browser signed
/// in as `email`.
pub async fn signed_in(email: &str) -> (TestServer, Browser) {
    signed_in_to(TestServer::start_binary(ui_settings()).await, email).await
}

/// Like [`signed_in`], but the server runs inside the test process on the test clock: for the
/// tests that move time (SLA deadlines, report periods), which the binary cannot.
pub async fn signed_in_on_test_clock(email: &str) -> (TestServer, Browser) {
    signed_in_to(TestServer::start_with(Backend::Sqlite, ui_settings()).await, email).await
}

/// Server settings that serve the built UI.
pub fn ui_settings() -> ApiSettings {
    ApiSettings { web_dir: Some(web_dir()), ..Default::default() }
}

async fn signed_in_to(server: TestServer, email: &str) -> (TestServer, Browser) {
    let browser = Browser::start().await;
    browser.goto(&server.url("/")).await;
    sign_in(&browser, email, PASSWORD).await;
    browser.wait_for("#whoami").await;
    (server, browser)
}

pub async fn sign_in(browser: &Browser, email: &str, password: &str) {
    let field = browser.wait_for("#login-email").await;
    field.clear().await.expect("clear email");
    field.send_keys(email).await.expect("type email");
    browser.type_into("#login-password", password).await;
    browser.click("#login-submit").await;
}

/// `data-number` of every row of the ticket table, once the table is shown.
pub async fn ticket_rows(browser: &Browser) -> Vec<String> {
    let table = browser.wait_for("#ticket-list").await;
    let mut numbers = Vec::new();
    for row in table.find_all(Locator::Css(".ticket-row")).await.expect("ticket rows") {
        numbers.push(row.attr("data-number").await.expect("data-number").unwrap_or_default());
    }
    numbers
}
