//! Shared fixtures of the end-to-end tests: a real Tandem HTTP server on 127.0.0.1 (port 0)
//! over a fresh database, with the small desk of `tandem_store::testing`, and clients
//! authenticated as each role.

pub mod browser;
pub mod mailserver;
pub mod process;

use std::{net::SocketAddr, sync::Arc};

use reqwest::{Client, Method, Response};
use serde_json::Value;
use tandem_api::{ApiSettings, AppState};
use tandem_domain::FixedClock;
use tandem_proto as proto;
use tandem_store::{
    Store,
    testing::{self, Backend, Desk, TestDb},
};
use tokio::sync::oneshot;

pub use tandem_store::testing::{Backend as DbBackend, PASSWORD};

/// Set by `./x test` to one directory for the whole run: the test servers share their compiled
/// plugin code, as a server's restarts do (the cache is keyed by the component's SHA-256 and
/// the engine's compatibility hash, and written by atomic renames), so the bundled plugins
/// compile once a run instead of once a test. Unset, each test compiles into its own data
/// directory. The compiling itself is tested with fresh caches in `server/plugins/tests`.
pub const PLUGIN_CACHE_ENV: &str = "TANDEM_TEST_PLUGIN_CACHE";

fn plugin_cache_dir(db: &TestDb) -> std::path::PathBuf {
    match std::env::var_os(PLUGIN_CACHE_ENV) {
        Some(dir) if !dir.is_empty() => dir.into(),
        _ => db.data_dir.join("plugin-cache"),
    }
}

/// A running server and what it runs on. Stops when dropped.
pub struct TestServer {
    pub base: String,
    pub store: Store,
    /// The server's plugin pipeline and registry (empty until a test installs plugins).
    pub plugins: tandem_plugins::Pipeline,
    pub desk: Desk,
    /// The store's clock, unless the server runs on the system clock (`start_mail`).
    pub clock: Arc<FixedClock>,
    /// The mail intake the server uses (the raw-message API and, with `start_mail`, IMAP).
    pub mail: tandem_channel::Intake,
    _channel: Option<tandem_channel::Channel>,
    _db: Arc<TestDb>,
    address: SocketAddr,
    settings: ApiSettings,
    stop: Option<oneshot::Sender<()>>,
    serving: Option<tokio::task::JoinHandle<()>>,
    /// Set when the server is the real `tandem` binary ([`TestServer::start_binary`]); the
    /// fields above then serve only the test's own reads and writes of the same database.
    process: Option<process::ServerProcess>,
    binary: bool,
}

impl std::fmt::Debug for TestServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestServer").field("base", &self.base).finish_non_exhaustive()
    }
}

impl TestServer {
    pub async fn start(backend: Backend) -> TestServer {
        Self::start_with(backend, ApiSettings::default()).await
    }

    pub async fn start_with(backend: Backend, settings: ApiSettings) -> TestServer {
        Self::start_full(backend, settings, None).await
    }

    /// A server on the system clock whose email channel runs (IMAP workers, outbox sender).
    pub async fn start_mail(backend: Backend, channel: tandem_channel::ChannelSettings) -> TestServer {
        Self::start_full(backend, ApiSettings::default(), Some(channel)).await
    }

    async fn start_full(backend: Backend, settings: ApiSettings, channel: Option<tandem_channel::ChannelSettings>) -> TestServer {
        let db = testing::fresh_database(backend).await;
        let clock = testing::clock();
        let store_clock: Arc<dyn tandem_domain::Clock> = if channel.is_some() { Arc::new(tandem_domain::SystemClock) } else { clock.clone() };
        let store = testing::open_store(&db, store_clock).await;
        let desk = testing::desk(&store).await;
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await.expect("bind");
        let address = listener.local_addr().expect("address");
        let (plugins, mail) = Self::services(&db, &store).await;
        let channel = channel.map(|c| tandem_channel::Channel::start(mail.clone(), c));
        let mut server = TestServer {
            base: format!("http://{address}"),
            store,
            plugins,
            desk,
            clock,
            mail,
            _channel: channel,
            _db: Arc::new(db),
            address,
            settings,
            stop: None,
            serving: None,
            process: None,
            binary: false,
        };
        server.serve(listener);
        server
    }

    /// The real `tandem` binary (`tandem serve`, see [`process`]) over a fresh SQLite
    /// database with the small desk, serving the web UI of `settings.web_dir`. The test's
    /// `store` writes to the same database (on the system clock, like the binary); `plugins`
    /// and `mail` are the test's own, not the server's.
    pub async fn start_binary(settings: ApiSettings) -> TestServer {
        let db = testing::fresh_database(Backend::Sqlite).await;
        let store = testing::open_store(&db, Arc::new(tandem_domain::SystemClock)).await;
        let desk = testing::desk(&store).await;
        let (plugins, mail) = Self::services(&db, &store).await;
        let process = Self::start_process(&db, settings.web_dir.clone(), SocketAddr::from(([127, 0, 0, 1], 0))).await;
        let address = process.address;
        TestServer {
            base: format!("http://{address}"),
            store,
            plugins,
            desk,
            clock: testing::clock(),
            mail,
            _channel: None,
            _db: Arc::new(db),
            address,
            settings,
            stop: None,
            serving: None,
            process: Some(process),
            binary: true,
        }
    }

    /// A second server process on the same database and clock (as two `tandem serve` behind
    /// a load balancer): its own port, store, plugins, live channel and caches. Only for
    /// servers without a running mail channel.
    pub async fn peer(&self) -> TestServer {
        assert!(self._channel.is_none(), "peer does not start a second mail channel");
        let store = testing::open_store(&self._db, self.clock.clone()).await;
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await.expect("bind");
        let address = listener.local_addr().expect("address");
        let (plugins, mail) = Self::services(&self._db, &store).await;
        let mut peer = TestServer {
            base: format!("http://{address}"),
            store,
            plugins,
            desk: self.desk.clone(),
            clock: self.clock.clone(),
            mail,
            _channel: None,
            _db: Arc::clone(&self._db),
            address,
            settings: self.settings.clone(),
            stop: None,
            serving: None,
            process: None,
            binary: false,
        };
        peer.serve(listener);
        peer
    }

    /// `tandem serve` over `db` on `listen` (waiting for it on a blocking thread).
    async fn start_process(db: &TestDb, web_dir: Option<std::path::PathBuf>, listen: SocketAddr) -> process::ServerProcess {
        let (url, dir) = (db.url.clone(), db.data_dir.clone());
        tokio::task::spawn_blocking(move || process::ServerProcess::start(&url, &dir, web_dir.as_deref(), listen)).await.expect("starting tandem serve")
    }

    /// The plugin pipeline and the mail intake over `store`, as the binary builds them.
    async fn services(db: &TestDb, store: &Store) -> (tandem_plugins::Pipeline, tandem_channel::Intake) {
        let runtime = tandem_plugins::Runtime::new(plugin_cache_dir(db)).expect("plugin runtime");
        let registry = tandem_plugins::Registry::open(store.clone(), runtime).await.expect("plugin registry");
        let plugins = tandem_plugins::Pipeline::new(registry);
        let mail = tandem_channel::Intake::new(store.clone(), Some(plugins.clone()), tandem_mail::Limits::default());
        (plugins, mail)
    }

    fn serve(&mut self, listener: tokio::net::TcpListener) {
        let (stop, stopped) = oneshot::channel::<()>();
        let state = AppState::new(self.store.clone(), self.plugins.clone(), self.mail.clone(), self.settings.clone());
        self.serving = Some(tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            if let Err(e) = tandem_api::serve(listener, state, shutdown).await {
                panic!("test server failed: {e}");
            }
        }));
        self.stop = Some(stop);
    }

    /// Stops serving as a server process going down does: open WebSockets are closed, then
    /// the port refuses connections until [`TestServer::serve_again`].
    pub async fn stop_serving(&mut self) {
        if let Some(process) = self.process.take() {
            tokio::task::spawn_blocking(move || process.terminate()).await.expect("stopping tandem serve");
            return;
        }
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(serving) = self.serving.take() {
            serving.await.expect("the server stopped cleanly");
        }
    }

    /// Serves again on the same address and database, with everything a process holds in
    /// memory new: the store (its caches), plugins, presence, live connections. Only for
    /// servers without a running mail channel.
    pub async fn serve_again(&mut self) {
        assert!(self._channel.is_none(), "serve_again does not restart the mail channel");
        self.stop_serving().await;
        if self.binary {
            self.process = Some(Self::start_process(&self._db, self.settings.web_dir.clone(), self.address).await);
            return;
        }
        self.store = testing::open_store(&self._db, self.clock.clone()).await;
        (self.plugins, self.mail) = Self::services(&self._db, &self.store).await;
        let listener = tokio::net::TcpListener::bind(self.address).await.expect("bind the same address again");
        self.serve(listener);
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A client without credentials.
    pub fn anonymous(&self) -> Api {
        Api { base: self.base.clone(), client: Client::builder().build().expect("client"), bearer: None }
    }

    /// A client signed in through `POST /api/v1/session` (cookie).
    pub async fn login(&self, email: &str) -> Api {
        let client = Client::builder().cookie_store(true).build().expect("client");
        let response = client
            .post(self.url("/api/v1/session"))
            .json(&serde_json::json!({ "email": email, "password": PASSWORD }))
            .send()
            .await
            .expect("login request");
        assert_eq!(response.status(), 200, "login of {email}: {}", response.text().await.unwrap_or_default());
        Api { base: self.base.clone(), client, bearer: None }
    }

    /// Puts the desk's admin, supervisor and agent online through `admin`'s
    /// `PATCH /api/v1/users/{id}`, speaking French, Polish and English, all with the Russian
    /// skill: the skills-router then assigns as on a real desk, each ticket to the least loaded
    /// of them who can answer it.
    pub async fn desk_at_work(&self, admin: &Api) {
        let desk = &self.desk;
        for (user, language) in [(desk.admin.id, "fr"), (desk.supervisor.id, "pl"), (desk.agent.id, "en")] {
            let body = serde_json::json!({ "availability": "online", "language": language, "skills": ["ru"] });
            let (status, answer) = admin.patch(&format!("/api/v1/users/{user}"), &body).await;
            assert_eq!(status, 200, "{answer}");
        }
    }

    /// A client with a personal API token of `user` (no password hashing: fast).
    pub async fn token_for(&self, user: &proto::User) -> Api {
        let actor = testing::actor(&self.store, user).await;
        let token = self
            .store
            .create_api_token(&actor, proto::CreateApiToken { name: "e2e".into(), expires_in_days: None })
            .await
            .expect("token");
        Api { base: self.base.clone(), client: Client::builder().build().expect("client"), bearer: Some(token.secret) }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// An HTTP client bound to the test server, optionally with a bearer token.
#[derive(Debug, Clone)]
pub struct Api {
    pub base: String,
    pub client: Client,
    pub bearer: Option<String>,
}

impl Api {
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let builder = self.client.request(method, format!("{}{path}", self.base));
        match &self.bearer {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        }
    }

    pub async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> Response {
        let mut builder = self.request(method, path);
        if let Some(body) = body {
            builder = builder.json(body);
        }
        builder.send().await.expect("request")
    }

    /// Sends and returns status and JSON body (Null when empty).
    pub async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> (u16, Value) {
        let response = self.send(method, path, body).await;
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        let json = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        (status, json)
    }

    /// Uploads a component as `POST /api/v1/plugins?name=…` (raw bytes, `application/wasm`).
    pub async fn upload_component(&self, query: &str, bytes: Vec<u8>) -> (u16, Value) {
        let response = self
            .request(Method::POST, &format!("/api/v1/plugins?{query}"))
            .header("content-type", "application/wasm")
            .body(bytes)
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        let json = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        (status, json)
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> (u16, Value) {
        self.call(Method::PATCH, path, Some(body)).await
    }

    /// Every entry of an inbox's intake log (`GET /inboxes/{id}/intake`, all pages), newest first.
    pub async fn intake_log(&self, inbox: i64) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/api/v1/inboxes/{inbox}/intake?limit=200&cursor={c}"),
                None => format!("/api/v1/inboxes/{inbox}/intake?limit=200"),
            };
            let (status, page) = self.get(&path).await;
            assert_eq!(status, 200, "{page}");
            out.extend(page["items"].as_array().cloned().unwrap_or_default());
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return out,
            }
        }
    }
}

/// The value at quantile `p` (0.0–1.0, nearest rank) of a sorted, non-empty sample: the
/// benchmarks' p50 and p99.
pub fn percentile<T: Copy>(sorted: &[T], p: f64) -> T {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// The machine a benchmark ran on, for its report: CPU model and core count.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| c.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or_default().trim().to_owned()))
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    format!("{cpu} × {cores} cores")
}

/// Mails made by `../shared/bench/gen_mail.py` (realistic multilingual support mail, the same
/// bytes for the same arguments), to `support@desk.test`: the directory holding them (removed
/// when dropped) and the `.eml` files in delivery order. `extra` goes to the script as is
/// (`--customers 12`, …).
pub fn generated_mail(n: usize, seed: u64, extra: &[&str]) -> (tempfile::TempDir, Vec<std::path::PathBuf>) {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/bench/gen_mail.py");
    assert!(script.is_file(), "{} is needed here", script.display());
    let out = tempfile::tempdir().expect("temp dir");
    let status = std::process::Command::new("python3")
        .arg(&script)
        .args(["-n", &n.to_string(), "--seed", &seed.to_string(), "--to", "support@desk.test"])
        .args(extra)
        .arg("--out")
        .arg(out.path().join("mail"))
        .status()
        .expect("run gen_mail.py");
    assert!(status.success(), "gen_mail.py failed");
    let mut files: Vec<std::path::PathBuf> =
        std::fs::read_dir(out.path().join("mail")).expect("out").flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "eml")).collect();
    files.sort();
    (out, files)
}
