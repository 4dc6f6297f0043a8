//! Passwords (argon2id), browser sessions and personal API tokens.
//!
//! Secrets are random 32-byte values shown to the client once; the database keeps only their
//! SHA-256, so a leaked database does not leak live sessions or tokens.

use std::{
    collections::{BTreeSet, HashMap},
    sync::{Mutex, OnceLock},
    time::{Duration as StdDuration, Instant},
};

use argon2::{
    Algorithm, Argon2, Block, Params, Version,
    password_hash::phc::{Output, ParamsString, PasswordHash, Salt},
};
use chrono::Duration;
use sea_orm::{ConnectionTrait, FromQueryResult};
use sha2::{Digest, Sha256};
use tandem_domain::{Actor, validate};
use tandem_proto as proto;

use crate::{
    Store,
    db::{from_micros, opt_from_micros, query_all, query_one, to_micros},
    error::{Result, StoreError},
    rows::{IdRow, USER_COLUMNS, UserRow},
};

pub const SESSION_TTL_DAYS: i64 = 14;
/// How long a session → actor lookup is reused without asking the database again.
///
/// Within this process the cache is exact: every committed write transaction (sign-out,
/// password change, user disabled, role or membership changed — and any other write)
/// invalidates all entries, and a session's expiry is checked on every use. Changes made by
/// *another* process (the `tandem user passwd` CLI, a second server on the same PostgreSQL
/// database) take effect after at most this long.
pub const SESSION_CACHE_SECONDS: u64 = 5;
/// Beyond this many cached sessions, stale entries are dropped (and all of them if none are).
const SESSION_CACHE_MAX: usize = 10_000;
const TOKEN_PREFIX: &str = "tdm_";

/// A new browser session: the secret goes into the cookie.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub secret: String,
    pub me: proto::Me,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

fn random_secret() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| StoreError::Hash(e.to_string()))?;
    Ok(hex::encode(bytes))
}

pub(crate) fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// argon2id's working memory (19 MiB with the default parameters), owned by the password
/// thread: reused while hashes are queued (a burst of sign-ins), dropped when the queue is
/// empty.
///
/// Allocating it per call (as `Argon2::hash_password` does) left ~19 MiB more resident after
/// every sign-in, up to the 64 MiB of a malloc arena (measured: 16 MiB idle, 75 MiB after four
/// sign-ins). Dropping it gives it back only because the `tandem` binary pins glibc's mmap
/// threshold (`main.rs`); elsewhere the block may stay with the allocator.
type WorkingMemory = Vec<Block>;

/// Runs argon2 work (hashing, verifying) on one dedicated thread, one job after another: a
/// burst of sign-ins queues here instead of taking every core from the requests being served.
fn run_argon2<T: Send + 'static>(job: impl FnOnce(&mut WorkingMemory) -> T + Send + 'static) -> impl Future<Output = Result<T>> {
    type Job = Box<dyn FnOnce(&mut WorkingMemory) + Send>;
    static WORKER: OnceLock<std::result::Result<std::sync::mpsc::Sender<Job>, String>> = OnceLock::new();
    let worker = WORKER.get_or_init(|| {
        let (sender, jobs) = std::sync::mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("tandem-argon2".into())
            .spawn(move || {
                let mut memory = WorkingMemory::new();
                let mut next = jobs.recv().ok();
                while let Some(job) = next {
                    job(&mut memory);
                    next = match jobs.try_recv() {
                        Ok(job) => Some(job),
                        Err(_) => {
                            // Nothing queued: the working memory goes until the next sign-in.
                            memory = WorkingMemory::new();
                            jobs.recv().ok()
                        }
                    };
                }
            })
            .map(|_| sender)
            .map_err(|e| format!("cannot start the password thread: {e}"))
    });
    let (done, result) = tokio::sync::oneshot::channel();
    let sent = worker.as_ref().map_err(Clone::clone).and_then(|sender| {
        sender
            .send(Box::new(move |memory: &mut WorkingMemory| {
                // The caller may have gone away (request cancelled): nothing to report then.
                let _ = done.send(job(memory));
            }))
            .map_err(|_| "the password thread has stopped".to_owned())
    });
    async move {
        sent.map_err(StoreError::Hash)?;
        result.await.map_err(|_| StoreError::Hash("the password thread dropped a job".into()))
    }
}

/// argon2 into `out` with `params`, growing the working memory when the parameters need more.
fn argon2_into(memory: &mut WorkingMemory, argon: &Argon2<'_>, params: &Params, password: &[u8], salt: &[u8], out: &mut [u8]) -> argon2::Result<()> {
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    argon.hash_password_into_with_memory(password, salt, out, &mut memory[..blocks])
}

/// A new argon2id hash (PHC string, default parameters, random 16-byte salt).
fn hash_with(memory: &mut WorkingMemory, password: &[u8]) -> Result<String> {
    let fail = |e: &dyn std::fmt::Display| StoreError::Hash(e.to_string());
    let params = Params::default();
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut salt = [0u8; argon2::RECOMMENDED_SALT_LEN];
    getrandom::fill(&mut salt).map_err(|e| fail(&e))?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    argon2_into(memory, &argon, &params, password, &salt, &mut out).map_err(|e| fail(&e))?;
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| fail(&e))?,
        salt: Some(Salt::new(&salt).map_err(|e| fail(&e))?),
        hash: Some(Output::new(&out).map_err(|e| fail(&e))?),
    };
    Ok(hash.to_string())
}

/// Whether `password` matches the stored PHC string; anything malformed is a mismatch.
fn verify_with(memory: &mut WorkingMemory, password: &[u8], stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else { return false };
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else { return false };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm.as_str()) else { return false };
    let Ok(version) = parsed.version.map_or(Ok(Version::default()), Version::try_from) else { return false };
    let Ok(params) = Params::try_from(&parsed) else { return false };
    let argon = Argon2::new(algorithm, version, params.clone());
    let mut out = vec![0u8; expected.len()];
    argon2_into(memory, &argon, &params, password, salt.as_ref(), &mut out).is_ok()
        // `Output`'s equality is constant-time.
        && Output::new(&out).is_ok_and(|computed| computed == *expected)
}

/// Hashes a password with argon2id off the async threads (it takes tens of milliseconds).
pub(crate) async fn hash_password(password: String) -> Result<String> {
    run_argon2(move |memory| hash_with(memory, password.as_bytes())).await?
}

/// Verifies off the async threads; a malformed stored hash counts as a mismatch.
async fn verify_password(password: String, hash: String) -> Result<bool> {
    run_argon2(move |memory| verify_with(memory, password.as_bytes(), &hash)).await
}

/// A valid hash of a random password, verified against when the email is unknown so that
/// both failures take the same time.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$QmE7N1w+S9a4cRK4Ekm4nDGL0W1VAd1BLt5yVg1V2S0";

#[derive(Debug, FromQueryResult)]
struct ActorRow {
    id: i64,
    role: String,
    display_name: String,
    disabled: bool,
}

#[derive(Debug, FromQueryResult)]
struct InboxIdRow {
    inbox_id: i64,
}

#[derive(Debug, FromQueryResult)]
struct TokenRow {
    id: i64,
    name: String,
    prefix: String,
    created_at: i64,
    last_used_at: Option<i64>,
    expires_at: Option<i64>,
}

impl From<TokenRow> for proto::ApiToken {
    fn from(r: TokenRow) -> Self {
        proto::ApiToken {
            id: r.id,
            name: r.name,
            prefix: r.prefix,
            created_at: from_micros(r.created_at),
            last_used_at: opt_from_micros(r.last_used_at),
            expires_at: opt_from_micros(r.expires_at),
        }
    }
}

/// Recently looked-up sessions of this process: token hash → the actor, the session's expiry,
/// and the write generation (see `Db`) the entry was read at.
#[derive(Debug, Default)]
pub(crate) struct SessionCache {
    entries: Mutex<HashMap<String, CachedSession>>,
}

#[derive(Debug, Clone)]
struct CachedSession {
    actor: Actor,
    expires_at: i64,
    generation: u64,
    cached_at: Instant,
}

impl CachedSession {
    fn is_fresh(&self, generation: u64) -> bool {
        self.generation == generation && self.cached_at.elapsed() < StdDuration::from_secs(SESSION_CACHE_SECONDS)
    }
}

impl SessionCache {
    fn get(&self, token_hash: &str, now: i64, generation: u64) -> Option<Actor> {
        let entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        entries
            .get(token_hash)
            .filter(|e| e.is_fresh(generation) && e.expires_at > now)
            .map(|e| e.actor.clone())
    }

    fn put(&self, token_hash: String, actor: Actor, expires_at: i64, generation: u64) {
        let mut entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if entries.len() >= SESSION_CACHE_MAX {
            entries.retain(|_, e| e.is_fresh(generation));
            if entries.len() >= SESSION_CACHE_MAX {
                entries.clear();
            }
        }
        entries.insert(token_hash, CachedSession { actor, expires_at, generation, cached_at: Instant::now() });
    }

    fn remove(&self, token_hash: &str) {
        self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(token_hash);
    }
}

impl Store {
    /// Checks email and password and opens a session.
    pub async fn login(&self, email: &str, password: &str) -> Result<NewSession> {
        let email = email.trim().to_lowercase();
        let row: Option<UserRow> = query_one(
            self.db.connection(),
            self.db.stmt(&format!("SELECT {USER_COLUMNS} FROM users WHERE email = ?"), vec![email.into()]),
        )
        .await?;
        let (hash, user) = match row {
            Some(user) => (user.password_hash.clone(), Some(user)),
            None => (DUMMY_HASH.to_owned(), None),
        };
        let ok = verify_password(password.to_owned(), hash).await?;
        let user = match user {
            Some(user) if ok && !user.disabled => user,
            _ => return Err(StoreError::InvalidCredentials),
        };
        let secret = random_secret()?;
        let now = self.clock.now();
        let expires_at = now + Duration::days(SESSION_TTL_DAYS);
        let tx = self.db.write().await?;
        tx.tx
            .execute_raw(self.db.stmt(
                "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
                vec![secret_hash(&secret).into(), user.id.into(), to_micros(now).into(), to_micros(expires_at).into()],
            ))
            .await?;
        // Expired sessions of anyone are swept on the way.
        tx.tx
            .execute_raw(self.db.stmt("DELETE FROM sessions WHERE expires_at < ?", vec![to_micros(now).into()]))
            .await?;
        tx.commit().await?;
        let actor = self.actor_by_id(user.id).await?.ok_or(StoreError::InvalidCredentials)?;
        let me = self.me(&actor).await?;
        Ok(NewSession { secret, me, expires_at })
    }

    /// Ends a session (sign-out). Unknown secrets are ignored.
    pub async fn logout(&self, secret: &str) -> Result<()> {
        let hash = secret_hash(secret);
        self.db.sessions.remove(&hash);
        let tx = self.db.write().await?;
        tx.tx.execute_raw(self.db.stmt("DELETE FROM sessions WHERE token_hash = ?", vec![hash.clone().into()])).await?;
        // Committing invalidates every cached session; removing it again covers a lookup
        // that raced with this sign-out.
        let done = tx.commit().await;
        self.db.sessions.remove(&hash);
        done
    }

    /// The user behind a session cookie, if the session is live and the user active.
    ///
    /// Answers from a short-lived cache (see [`SESSION_CACHE_SECONDS`]) when it can.
    pub async fn actor_for_session(&self, secret: &str) -> Result<Option<Actor>> {
        #[derive(FromQueryResult)]
        struct Row {
            user_id: i64,
            expires_at: i64,
        }
        let now = self.now_micros();
        let hash = secret_hash(secret);
        // Read before the queries: a write committed meanwhile makes the new entry stale.
        let generation = self.db.generation();
        if let Some(actor) = self.db.sessions.get(&hash, now, generation) {
            return Ok(Some(actor));
        }
        let row: Option<Row> = query_one(
            self.db.connection(),
            self.db.stmt(
                "SELECT user_id, expires_at FROM sessions WHERE token_hash = ? AND expires_at > ?",
                vec![hash.clone().into(), now.into()],
            ),
        )
        .await?;
        let Some(row) = row else { return Ok(None) };
        let actor = self.actor_by_id(row.user_id).await?;
        if let Some(actor) = &actor {
            self.db.sessions.put(hash, actor.clone(), row.expires_at, generation);
        }
        Ok(actor)
    }

    /// The user behind a bearer token, if it is live; records its last use (at most once a minute).
    pub async fn actor_for_api_token(&self, secret: &str) -> Result<Option<Actor>> {
        let now = self.now_micros();
        #[derive(FromQueryResult)]
        struct Row {
            id: i64,
            user_id: i64,
            last_used_at: Option<i64>,
        }
        let row: Option<Row> = query_one(
            self.db.connection(),
            self.db.stmt(
                "SELECT id, user_id, last_used_at FROM api_tokens WHERE token_hash = ? AND (expires_at IS NULL OR expires_at > ?)",
                vec![secret_hash(secret).into(), now.into()],
            ),
        )
        .await?;
        let Some(row) = row else { return Ok(None) };
        if row.last_used_at.is_none_or(|t| now - t > 60_000_000) {
            let tx = self.db.write().await?;
            tx.tx
                .execute_raw(self.db.stmt("UPDATE api_tokens SET last_used_at = ? WHERE id = ?", vec![now.into(), row.id.into()]))
                .await?;
            tx.commit().await?;
        }
        self.actor_by_id(row.user_id).await
    }

    /// Loads an active user with their inbox memberships.
    pub async fn actor_by_id(&self, user_id: i64) -> Result<Option<Actor>> {
        let conn = self.db.connection();
        let row: Option<ActorRow> = query_one(
            conn,
            self.db.stmt("SELECT id, role, display_name, disabled FROM users WHERE id = ?", vec![user_id.into()]),
        )
        .await?;
        let Some(row) = row.filter(|r| !r.disabled) else { return Ok(None) };
        let inboxes: Vec<InboxIdRow> = query_all(
            conn,
            self.db.stmt("SELECT inbox_id FROM inbox_members WHERE user_id = ?", vec![user_id.into()]),
        )
        .await?;
        Ok(Some(Actor {
            user_id: row.id,
            role: crate::rows::parse("users", "role", &row.role)?,
            display_name: row.display_name,
            inbox_ids: inboxes.into_iter().map(|r| r.inbox_id).collect::<BTreeSet<_>>(),
        }))
    }

    /// Changes one's own password after checking the current one; ends other sessions.
    pub async fn change_password(&self, actor: &Actor, current: &str, new: &str) -> Result<()> {
        validate::password("new_password", new)?;
        let user = self.user_row(actor.user_id).await?;
        if !verify_password(current.to_owned(), user.password_hash).await? {
            return Err(StoreError::validation("current_password", "the current password is wrong"));
        }
        self.set_password(actor, actor.user_id, new).await
    }

    /// Personal API tokens of the actor.
    pub async fn list_api_tokens(&self, actor: &Actor) -> Result<Vec<proto::ApiToken>> {
        let rows: Vec<TokenRow> = query_all(
            self.db.connection(),
            self.db.stmt(
                "SELECT id, name, prefix, created_at, last_used_at, expires_at FROM api_tokens WHERE user_id = ? ORDER BY id",
                vec![actor.user_id.into()],
            ),
        )
        .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    pub async fn create_api_token(&self, actor: &Actor, input: proto::CreateApiToken) -> Result<proto::CreatedApiToken> {
        let name = validate::text("name", &input.name, validate::MAX_NAME_CHARS)?;
        let secret = format!("{TOKEN_PREFIX}{}", random_secret()?);
        let prefix: String = secret.chars().take(TOKEN_PREFIX.len() + 6).collect();
        let now = self.clock.now();
        let expires_at = match input.expires_in_days {
            Some(0) => return Err(StoreError::validation("expires_in_days", "a token must live at least one day")),
            Some(days) => Some(to_micros(now + Duration::days(i64::from(days.min(3650))))),
            None => None,
        };
        let tx = self.db.write().await?;
        let row: Option<IdRow> = query_one(
            &tx.tx,
            self.db.stmt(
                "INSERT INTO api_tokens (user_id, name, prefix, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                vec![
                    actor.user_id.into(),
                    name.clone().into(),
                    prefix.clone().into(),
                    secret_hash(&secret).into(),
                    to_micros(now).into(),
                    expires_at.into(),
                ],
            ),
        )
        .await?;
        tx.commit().await?;
        let id = row.map(|r| r.id).ok_or(StoreError::NotFound("api token"))?;
        Ok(proto::CreatedApiToken {
            token: proto::ApiToken { id, name, prefix, created_at: now, last_used_at: None, expires_at: opt_from_micros(expires_at) },
            secret,
        })
    }

    pub async fn revoke_api_token(&self, actor: &Actor, id: i64) -> Result<()> {
        let tx = self.db.write().await?;
        let done = tx
            .tx
            .execute_raw(self.db.stmt("DELETE FROM api_tokens WHERE id = ? AND user_id = ?", vec![id.into(), actor.user_id.into()]))
            .await?;
        tx.commit().await?;
        if done.rows_affected() == 0 { Err(StoreError::NotFound("api token")) } else { Ok(()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_and_verify() {
        let hash = hash_password("correct horse battery".into()).await.expect("hash");
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password("correct horse battery".into(), hash.clone()).await.expect("verify"));
        assert!(!verify_password("wrong".into(), hash).await.expect("verify"));
        assert!(!verify_password("x".into(), "not a hash".into()).await.expect("malformed"));
        assert!(PasswordHash::new(DUMMY_HASH).is_ok(), "the dummy hash must parse");
    }

    /// Hashes from the argon2 crate's own API (as stored before the reused working memory,
    /// and with other parameters) verify, and ours verify with it: the PHC strings agree.
    #[tokio::test]
    async fn hashes_agree_with_the_argon2_crate() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let theirs = Argon2::default().hash_password(b"tandem-demo").expect("hash").to_string();
        assert!(verify_password("tandem-demo".into(), theirs.clone()).await.expect("verify"));
        assert!(!verify_password("tandem-dem0".into(), theirs).await.expect("verify"));
        let small = Params::new(8 * 1024, 3, 1, Some(32)).expect("params");
        let other = Argon2::new(Algorithm::Argon2id, Version::V0x13, small).hash_password(b"pw").expect("hash").to_string();
        assert!(verify_password("pw".into(), other).await.expect("verify"), "other parameters");
        let ours = hash_password("tandem-demo".into()).await.expect("hash");
        let parsed = PasswordHash::new(&ours).expect("a PHC string");
        assert!(Argon2::default().verify_password(b"tandem-demo", &parsed).is_ok(), "{ours}");
        assert!(ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{ours}");
    }

    #[test]
    fn session_cache_respects_writes_and_expiry() {
        let cache = SessionCache::default();
        let actor = Actor { user_id: 7, role: proto::Role::Agent, display_name: "A".into(), inbox_ids: BTreeSet::from([1]) };
        cache.put("h".into(), actor.clone(), 1_000, 3);
        assert_eq!(cache.get("h", 999, 3).map(|a| a.user_id), Some(7));
        assert!(cache.get("h", 1_000, 3).is_none(), "expired sessions are not served");
        assert!(cache.get("h", 999, 4).is_none(), "a committed write makes every entry stale");
        assert!(cache.get("other", 999, 3).is_none());
        cache.remove("h");
        assert!(cache.get("h", 999, 3).is_none(), "sign-out removes the entry");
    }
}
