//! Configuration: `tandem.toml`, then environment variables on top. Unknown keys and bad
//! values are errors, and all of them are reported at once.
//!
//! | key | environment | default |
//! |---|---|---|
//! | `listen` | `TANDEM_LISTEN` | `127.0.0.1:8080` |
//! | `data_dir` | `TANDEM_DATA_DIR` | `./data` |
//! | `database_url` | `DATABASE_URL` | `sqlite://<data_dir>/tandem.db` |
//! | `web_dir` | `TANDEM_WEB_DIR` | `./web/dist` when it exists |
//! | `bundled_plugins_dir` | `TANDEM_BUNDLED_PLUGINS` | `./target/wasm32-wasip2/plugin` when it exists |
//! | `log_format` | `TANDEM_LOG_FORMAT` | `human` on a terminal, else `json` |
//! | `log_level` | `TANDEM_LOG` | `info` (a tracing filter, e.g. `tandem=debug,info`) |
//! | `secure_cookies` | `TANDEM_SECURE_COOKIES` | `false` (set `true` behind HTTPS) |
//! | `max_body_bytes` | `TANDEM_MAX_BODY_BYTES` | `2097152` |
//! | `max_raw_message_bytes` | `TANDEM_MAX_RAW_MESSAGE_BYTES` | `67108864` (raw-message API) |
//! | `max_attachment_bytes` | `TANDEM_MAX_ATTACHMENT_BYTES` | `26214400` (per inbound attachment) |
//! | `max_message_attachment_bytes` | `TANDEM_MAX_MESSAGE_ATTACHMENT_BYTES` | `52428800` (per inbound message) |
//! | `imap_poll_secs` | `TANDEM_IMAP_POLL_SECS` | `30` (servers without IDLE) |
//! | `smtp_retry_base_secs` | `TANDEM_SMTP_RETRY_BASE_SECS` | `30` (first retry; doubles, capped at 60×) |
//! | `read_cache_ms` | `TANDEM_READ_CACHE_MS` | `1000` (ticket list and view counts; `0`: off) |

use std::{io::IsTerminal, net::SocketAddr, path::{Path, PathBuf}};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    pub web_dir: Option<PathBuf>,
    /// Where the bundled plugin components are (installed on first start).
    pub bundled_plugins_dir: Option<PathBuf>,
    pub log_format: LogFormat,
    pub log_level: String,
    pub secure_cookies: bool,
    /// The address customers reach Tandem at (satisfaction links in mail), without a trailing `/`.
    pub public_url: Option<String>,
    pub max_body_bytes: usize,
    pub max_raw_message_bytes: usize,
    pub max_attachment_bytes: usize,
    pub max_message_attachment_bytes: usize,
    pub imap_poll_secs: u64,
    pub smtp_retry_base_secs: u64,
    /// How long the ticket list and view counts may be answered from memory when this
    /// process wrote nothing since (milliseconds; 0 turns the cache off).
    pub read_cache_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./data"),
            database_url: None,
            web_dir: None,
            bundled_plugins_dir: None,
            log_format: if std::io::stderr().is_terminal() { LogFormat::Human } else { LogFormat::Json },
            log_level: "info".to_owned(),
            secure_cookies: false,
            public_url: None,
            max_body_bytes: 2 * 1024 * 1024,
            max_raw_message_bytes: 64 * 1024 * 1024,
            max_attachment_bytes: 25 * 1024 * 1024,
            max_message_attachment_bytes: 50 * 1024 * 1024,
            imap_poll_secs: 30,
            smtp_retry_base_secs: 30,
            read_cache_ms: 1000,
        }
    }
}

/// A value from the file or the environment, with where it came from (for error messages).
struct Source<'a> {
    name: String,
    value: Value<'a>,
}

enum Value<'a> {
    Toml(&'a toml::Value),
    Env(String),
}

impl Source<'_> {
    fn string(&self) -> Result<String, String> {
        match &self.value {
            Value::Toml(toml::Value::String(s)) => Ok(s.clone()),
            Value::Toml(other) => Err(format!("{}: expected a string, found {}", self.name, other.type_str())),
            Value::Env(s) => Ok(s.clone()),
        }
    }

    fn boolean(&self) -> Result<bool, String> {
        match &self.value {
            Value::Toml(toml::Value::Boolean(b)) => Ok(*b),
            Value::Toml(other) => Err(format!("{}: expected true or false, found {}", self.name, other.type_str())),
            Value::Env(s) => match s.as_str() {
                "true" | "1" | "yes" => Ok(true),
                "false" | "0" | "no" => Ok(false),
                _ => Err(format!("{}: expected true or false, found `{s}`", self.name)),
            },
        }
    }

    fn integer(&self) -> Result<i64, String> {
        match &self.value {
            Value::Toml(toml::Value::Integer(i)) => Ok(*i),
            Value::Toml(other) => Err(format!("{}: expected an integer, found {}", self.name, other.type_str())),
            Value::Env(s) => s.parse().map_err(|_| format!("{}: expected an integer, found `{s}`", self.name)),
        }
    }
}

const KEYS: &[(&str, &str)] = &[
    ("listen", "TANDEM_LISTEN"),
    ("data_dir", "TANDEM_DATA_DIR"),
    ("database_url", "DATABASE_URL"),
    ("web_dir", "TANDEM_WEB_DIR"),
    ("bundled_plugins_dir", "TANDEM_BUNDLED_PLUGINS"),
    ("log_format", "TANDEM_LOG_FORMAT"),
    ("log_level", "TANDEM_LOG"),
    ("secure_cookies", "TANDEM_SECURE_COOKIES"),
    ("public_url", "TANDEM_PUBLIC_URL"),
    ("max_body_bytes", "TANDEM_MAX_BODY_BYTES"),
    ("max_raw_message_bytes", "TANDEM_MAX_RAW_MESSAGE_BYTES"),
    ("max_attachment_bytes", "TANDEM_MAX_ATTACHMENT_BYTES"),
    ("max_message_attachment_bytes", "TANDEM_MAX_MESSAGE_ATTACHMENT_BYTES"),
    ("imap_poll_secs", "TANDEM_IMAP_POLL_SECS"),
    ("smtp_retry_base_secs", "TANDEM_SMTP_RETRY_BASE_SECS"),
    ("read_cache_ms", "TANDEM_READ_CACHE_MS"),
];

impl Config {
    /// The public address: `public_url`, else the listening address.
    pub fn public_url(&self) -> String {
        self.public_url.clone().unwrap_or_else(|| format!("http://{}", self.listen))
    }

    /// Reads `path` (or `./tandem.toml` if present) and the environment.
    pub fn load(path: Option<&Path>) -> Result<Config, Vec<String>> {
        let (text, name) = match path {
            Some(p) => match std::fs::read_to_string(p) {
                Ok(text) => (Some(text), p.display().to_string()),
                Err(e) => return Err(vec![format!("cannot read {}: {e}", p.display())]),
            },
            None => (std::fs::read_to_string("tandem.toml").ok(), "tandem.toml".to_owned()),
        };
        let env: Vec<(String, String)> = std::env::vars().collect();
        Config::from_parts(text.as_deref(), &name, &env)
    }

    pub fn from_parts(toml_text: Option<&str>, file_name: &str, env: &[(String, String)]) -> Result<Config, Vec<String>> {
        let mut errors = Vec::new();
        let table = match toml_text.map(|t| t.parse::<toml::Table>()) {
            Some(Ok(table)) => table,
            Some(Err(e)) => return Err(vec![format!("{file_name} is not valid TOML: {e}")]),
            None => toml::Table::new(),
        };
        for key in table.keys() {
            if !KEYS.iter().any(|(k, _)| k == key) {
                let known = KEYS.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ");
                errors.push(format!("{file_name}: unknown key `{key}` (known keys: {known})"));
            }
        }
        let mut config = Config::default();
        for (key, env_name) in KEYS {
            let from_env = env.iter().find(|(k, _)| k == env_name).map(|(_, v)| v.clone());
            let source = match (from_env, table.get(*key)) {
                (Some(v), _) => Source { name: format!("environment variable {env_name}"), value: Value::Env(v) },
                (None, Some(v)) => Source { name: format!("{file_name}: {key}"), value: Value::Toml(v) },
                (None, None) => continue,
            };
            let result: Result<(), String> = (|| {
                match *key {
                    "listen" => {
                        let s = source.string()?;
                        config.listen = s.parse().map_err(|_| format!("{}: `{s}` is not an address such as 127.0.0.1:8080", source.name))?;
                    }
                    "data_dir" => config.data_dir = PathBuf::from(source.string()?),
                    "database_url" => {
                        let s = source.string()?;
                        if !(s.starts_with("sqlite:") || s.starts_with("postgres://") || s.starts_with("postgresql://")) {
                            return Err(format!("{}: use sqlite://PATH or postgres://…", source.name));
                        }
                        config.database_url = Some(s);
                    }
                    "web_dir" => config.web_dir = Some(PathBuf::from(source.string()?)),
                    "bundled_plugins_dir" => config.bundled_plugins_dir = Some(PathBuf::from(source.string()?)),
                    "log_format" => {
                        config.log_format = match source.string()?.as_str() {
                            "human" => LogFormat::Human,
                            "json" => LogFormat::Json,
                            other => return Err(format!("{}: `{other}` is neither `human` nor `json`", source.name)),
                        }
                    }
                    "log_level" => config.log_level = source.string()?,
                    "secure_cookies" => config.secure_cookies = source.boolean()?,
                    "public_url" => {
                        let s = source.string()?;
                        if !(s.starts_with("http://") || s.starts_with("https://")) {
                            return Err(format!("{}: use http://HOST or https://HOST", source.name));
                        }
                        config.public_url = Some(s.trim_end_matches('/').to_owned());
                    }
                    "max_body_bytes" => {
                        let n = source.integer()?;
                        if !(1024..=1024 * 1024 * 1024).contains(&n) {
                            return Err(format!("{}: must be between 1024 and 1073741824", source.name));
                        }
                        config.max_body_bytes = n as usize;
                    }
                    "max_raw_message_bytes" | "max_attachment_bytes" | "max_message_attachment_bytes" => {
                        let n = source.integer()?;
                        if !(1024..=1024 * 1024 * 1024).contains(&n) {
                            return Err(format!("{}: must be between 1024 and 1073741824", source.name));
                        }
                        match *key {
                            "max_raw_message_bytes" => config.max_raw_message_bytes = n as usize,
                            "max_attachment_bytes" => config.max_attachment_bytes = n as usize,
                            _ => config.max_message_attachment_bytes = n as usize,
                        }
                    }
                    "imap_poll_secs" | "smtp_retry_base_secs" => {
                        let n = source.integer()?;
                        if !(1..=86_400).contains(&n) {
                            return Err(format!("{}: must be between 1 and 86400 seconds", source.name));
                        }
                        if *key == "imap_poll_secs" { config.imap_poll_secs = n as u64 } else { config.smtp_retry_base_secs = n as u64 }
                    }
                    "read_cache_ms" => {
                        let n = source.integer()?;
                        if !(0..=60_000).contains(&n) {
                            return Err(format!("{}: must be between 0 (off) and 60000 milliseconds", source.name));
                        }
                        config.read_cache_ms = n as u64;
                    }
                    _ => {}
                }
                Ok(())
            })();
            if let Err(e) = result {
                errors.push(e);
            }
        }
        if errors.is_empty() { Ok(config) } else { Err(errors) }
    }

    /// Size limits of inbound mail.
    pub fn mail_limits(&self) -> tandem_mail::Limits {
        tandem_mail::Limits { max_attachment_bytes: self.max_attachment_bytes, max_message_attachment_bytes: self.max_message_attachment_bytes }
    }

    /// Timing of the email channel's tasks.
    pub fn channel_settings(&self) -> tandem_channel::ChannelSettings {
        tandem_channel::ChannelSettings {
            imap_poll: std::time::Duration::from_secs(self.imap_poll_secs),
            retry_base_secs: self.smtp_retry_base_secs as i64,
            ..Default::default()
        }
    }

    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}?mode=rwc", self.data_dir.join("tandem.db").display()))
    }

    /// The database URL with any password hidden, for messages and logs.
    pub fn redacted_database_url(&self) -> String {
        let url = self.database_url();
        match (url.find("://"), url.rfind('@')) {
            (Some(scheme), Some(at)) if at > scheme => {
                let userinfo = &url[scheme + 3..at];
                match userinfo.split_once(':') {
                    Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                    None => url,
                }
            }
            _ => url,
        }
    }

    /// The bundled plugins: configured, or where `./x plugins` builds them when that exists.
    pub fn bundled_plugins_dir(&self) -> Option<PathBuf> {
        self.bundled_plugins_dir.clone().or_else(|| Some(PathBuf::from("target/wasm32-wasip2/plugin")).filter(|p| p.is_dir()))
    }

    /// Compiled plugin code, cached across restarts.
    pub fn plugin_cache_dir(&self) -> PathBuf {
        self.data_dir.join("plugin-cache")
    }

    /// The web UI directory: configured, or `./web/dist` when it exists.
    pub fn web_dir(&self) -> Option<PathBuf> {
        self.web_dir.clone().or_else(|| Some(PathBuf::from("web/dist")).filter(|p| p.join("index.html").is_file()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn defaults_match_the_readme() {
        let config = Config::from_parts(None, "tandem.toml", &[]).expect("defaults");
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.database_url(), "sqlite://./data/tandem.db?mode=rwc");
    }

    #[test]
    fn environment_overrides_the_file() {
        let file = "listen = \"127.0.0.1:9000\"\ndata_dir = \"/srv/tandem\"";
        let config = Config::from_parts(Some(file), "tandem.toml", &env(&[("TANDEM_LISTEN", "0.0.0.0:80")])).expect("valid");
        assert_eq!(config.listen.to_string(), "0.0.0.0:80");
        assert_eq!(config.database_url(), "sqlite:///srv/tandem/tandem.db?mode=rwc");
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let file = "listen = 8080\nlog_format = \"xml\"\ncolour = true";
        let errors = Config::from_parts(Some(file), "tandem.toml", &env(&[("TANDEM_SECURE_COOKIES", "maybe"), ("DATABASE_URL", "mysql://x")]))
            .expect_err("invalid");
        assert_eq!(errors.len(), 5, "{errors:#?}");
        assert!(errors.iter().any(|e| e.contains("unknown key `colour`")));
        assert!(errors.iter().any(|e| e.contains("listen: expected a string")));
        assert!(errors.iter().any(|e| e.contains("TANDEM_SECURE_COOKIES")));
        assert!(errors.iter().any(|e| e.contains("DATABASE_URL")));
        assert!(errors.iter().any(|e| e.contains("`xml`")));
    }

    #[test]
    fn the_read_cache_can_be_turned_off_but_not_made_endless() {
        assert_eq!(Config::from_parts(None, "tandem.toml", &[]).expect("defaults").read_cache_ms, 1000);
        let off = Config::from_parts(Some("read_cache_ms = 0"), "tandem.toml", &[]).expect("valid");
        assert_eq!(off.read_cache_ms, 0);
        let errors = Config::from_parts(None, "tandem.toml", &env(&[("TANDEM_READ_CACHE_MS", "3600000")])).expect_err("too long");
        assert!(errors[0].contains("TANDEM_READ_CACHE_MS"), "{errors:?}");
    }

    #[test]
    fn passwords_are_redacted() {
        let config = Config { database_url: Some("postgres://tandem:s3cret@db:5432/tandem".into()), ..Config::default() };
        assert_eq!(config.redacted_database_url(), "postgres://tandem:***@db:5432/tandem");
    }
}
