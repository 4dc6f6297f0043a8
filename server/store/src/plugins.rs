//! The plugin registry: plugins, their uploaded versions (components are content-addressed
//! blobs) and their health. Compiling and running them is `tandem-plugins`' business; this
//! module only keeps the records, transactionally, with an audit event for every change.

use sea_orm::{ConnectionTrait, FromQueryResult, Value};
use serde_json::json;
use tandem_domain::{Actor, policy::{self, Action}};
use tandem_proto::{self as proto, PluginFailure, PluginLimits, PluginWorld};

use crate::{
    Store,
    db::{Batch, Db, from_micros, opt_from_micros, query_all, query_one},
    error::{Result, StoreError},
    events::{NewEvent, Who, record},
    rows::{IdRow, json as to_json, parse, parse_json},
};

/// Longest plugin name.
pub const MAX_PLUGIN_NAME: usize = 64;

/// A component being registered (upload, or a bundled plugin at first start).
#[derive(Debug, Clone)]
pub struct NewPluginVersion<'a> {
    pub name: &'a str,
    pub world: PluginWorld,
    pub wit_version: &'a str,
    pub bytes: &'a [u8],
    pub bundled: bool,
    /// Whether a plugin created by this upload starts enabled (bundled ones do; uploads wait
    /// for an admin to enable them after a dry run). Existing plugins keep their state.
    pub enable_new: bool,
    /// Configuration of a plugin created by this upload.
    pub initial_config: serde_json::Value,
}

/// What the pipeline needs to run a plugin.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivePlugin {
    pub id: i64,
    pub name: String,
    pub world: PluginWorld,
    pub enabled: bool,
    pub position: i64,
    pub inbox_ids: Vec<i64>,
    pub config: String,
    pub limits: PluginLimits,
    pub version_id: i64,
    pub version_number: i64,
    pub sha256: String,
}

impl ActivePlugin {
    /// Whether the plugin sees messages of `inbox_id`.
    pub fn covers(&self, inbox_id: i64) -> bool {
        self.inbox_ids.is_empty() || self.inbox_ids.contains(&inbox_id)
    }
}

const PLUGIN_COLUMNS: &str = "p.id, p.name, p.world, p.enabled, p.position, p.inbox_ids, p.config, p.memory_mib, p.timeout_ms, \
    p.max_consecutive_failures, p.bundled, p.active_version_id, p.calls, p.failures, p.consecutive_failures, p.last_failure_kind, \
    p.last_failure_message, p.last_failure_at, p.auto_disabled_reason, p.created_at, p.updated_at";

#[derive(Debug, Clone, FromQueryResult)]
struct PluginRow {
    id: i64,
    name: String,
    world: String,
    enabled: bool,
    position: i64,
    inbox_ids: String,
    config: String,
    memory_mib: i64,
    timeout_ms: i64,
    max_consecutive_failures: i64,
    bundled: bool,
    active_version_id: Option<i64>,
    calls: i64,
    failures: i64,
    consecutive_failures: i64,
    last_failure_kind: Option<String>,
    last_failure_message: Option<String>,
    last_failure_at: Option<i64>,
    auto_disabled_reason: Option<String>,
    created_at: i64,
    updated_at: i64,
}

#[derive(Debug, Clone, FromQueryResult)]
struct VersionRow {
    id: i64,
    plugin_id: i64,
    number: i64,
    sha256: String,
    size: i64,
    wit_version: String,
    uploaded_by: Option<String>,
    uploaded_at: i64,
}

impl VersionRow {
    fn into_proto(self) -> proto::PluginVersion {
        proto::PluginVersion {
            id: self.id,
            number: self.number,
            sha256: self.sha256,
            size_bytes: self.size,
            wit_version: self.wit_version,
            uploaded_by: self.uploaded_by,
            uploaded_at: from_micros(self.uploaded_at),
        }
    }
}

impl PluginRow {
    fn limits(&self) -> PluginLimits {
        let clamp = |v: i64| u32::try_from(v).unwrap_or(u32::MAX);
        PluginLimits {
            memory_mib: clamp(self.memory_mib),
            timeout_ms: clamp(self.timeout_ms),
            max_consecutive_failures: clamp(self.max_consecutive_failures),
        }
    }

    fn into_proto(self, mut versions: Vec<proto::PluginVersion>) -> Result<proto::Plugin> {
        versions.sort_by_key(|v| v.number);
        let active = versions
            .iter()
            .find(|v| Some(v.id) == self.active_version_id)
            .cloned()
            .ok_or(StoreError::Corrupt { table: "plugins", column: "active_version_id", detail: format!("plugin {} has no active version", self.id) })?;
        let last_failure = match (&self.last_failure_kind, &self.last_failure_message) {
            (Some(kind), Some(message)) => Some(PluginFailure { kind: parse("plugins", "last_failure_kind", kind)?, message: message.clone() }),
            _ => None,
        };
        Ok(proto::Plugin {
            id: self.id,
            world: parse("plugins", "world", &self.world)?,
            enabled: self.enabled,
            position: self.position,
            inbox_ids: parse_json("plugins", "inbox_ids", &self.inbox_ids)?,
            config: parse_json("plugins", "config", &self.config)?,
            limits: self.limits(),
            bundled: self.bundled,
            active_version: active,
            versions,
            health: proto::PluginHealth {
                calls: self.calls,
                failures: self.failures,
                consecutive_failures: self.consecutive_failures,
                last_failure,
                last_failure_at: opt_from_micros(self.last_failure_at),
                auto_disabled_reason: self.auto_disabled_reason,
            },
            name: self.name,
            created_at: from_micros(self.created_at),
            updated_at: from_micros(self.updated_at),
        })
    }
}

fn validate_name(name: &str) -> Result<String> {
    let name = name.trim();
    let ok = !name.is_empty()
        && name.len() <= MAX_PLUGIN_NAME
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-');
    if ok {
        Ok(name.to_owned())
    } else {
        Err(StoreError::validation("name", format!("plugin names are 1–{MAX_PLUGIN_NAME} characters of a–z, 0–9 and `-`")))
    }
}

fn validate_limits(limits: &PluginLimits) -> Result<()> {
    if !(1..=256).contains(&limits.memory_mib) {
        return Err(StoreError::validation("limits.memory_mib", "between 1 and 256"));
    }
    if !(1..=10_000).contains(&limits.timeout_ms) {
        return Err(StoreError::validation("limits.timeout_ms", "between 1 and 10000"));
    }
    if !(1..=1_000).contains(&limits.max_consecutive_failures) {
        return Err(StoreError::validation("limits.max_consecutive_failures", "between 1 and 1000"));
    }
    Ok(())
}

/// Largest configuration document, in bytes of JSON.
pub const MAX_CONFIG_BYTES: usize = 256 * 1024;

fn validate_config(config: &serde_json::Value) -> Result<String> {
    if !config.is_object() {
        return Err(StoreError::validation("config", "the configuration must be a JSON object"));
    }
    let text = to_json(config);
    if text.len() > MAX_CONFIG_BYTES {
        return Err(StoreError::validation("config", format!("the configuration is limited to {MAX_CONFIG_BYTES} bytes of JSON")));
    }
    Ok(text)
}

impl Store {
    /// Registers an uploaded component: a new plugin, or a new version of an existing one,
    /// which becomes its active version (the previous ones stay, for roll-back). `actor` is
    /// `None` for bundled plugins installed by the server itself.
    pub async fn add_plugin_version(&self, actor: Option<&Actor>, new: NewPluginVersion<'_>) -> Result<proto::Plugin> {
        if let Some(actor) = actor {
            policy::authorize(actor, Action::ManagePlugins)?;
        }
        let name = validate_name(new.name)?;
        let config = validate_config(&new.initial_config)?;
        let who = actor.map(Who::user).unwrap_or_else(Who::system);
        // The blob (up to tens of MiB) is written and synced on a blocking thread, before the
        // rows that point to it are committed.
        let sha256 = self.blobs().put_off_thread(new.bytes).await?;
        let now = self.now_micros();
        let tx = self.db.write().await?;
        crate::attachments::insert_blob_row(&self.db, &tx.tx, &sha256, new.bytes.len(), now).await?;
        let existing: Option<PluginRow> =
            query_one(&tx.tx, self.db.stmt(&format!("SELECT {PLUGIN_COLUMNS} FROM plugins p WHERE p.name = ?{}", self.db.for_update()), vec![name.clone().into()]))
                .await?;
        let plugin_id = match &existing {
            Some(row) => {
                if row.world != new.world.as_str() {
                    return Err(StoreError::validation(
                        "world",
                        format!("plugin `{name}` is a {}, but this component implements the {} world", row.world, new.world),
                    ));
                }
                row.id
            }
            None => {
                #[derive(FromQueryResult)]
                struct Pos {
                    position: Option<i64>,
                }
                let pos: Option<Pos> =
                    query_one(&tx.tx, self.db.stmt("SELECT MAX(position) AS position FROM plugins WHERE world = ?", vec![new.world.as_str().into()]))
                        .await?;
                let position = pos.and_then(|p| p.position).map_or(1, |p| p + 1);
                let limits = PluginLimits::default();
                let row: Option<IdRow> = query_one(
                    &tx.tx,
                    self.db.stmt(
                        "INSERT INTO plugins (name, world, enabled, position, inbox_ids, config, memory_mib, timeout_ms, \
                         max_consecutive_failures, bundled, created_at, updated_at) VALUES (?, ?, ?, ?, '[]', ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                        vec![
                            name.clone().into(),
                            new.world.as_str().into(),
                            new.enable_new.into(),
                            position.into(),
                            config.into(),
                            i64::from(limits.memory_mib).into(),
                            i64::from(limits.timeout_ms).into(),
                            i64::from(limits.max_consecutive_failures).into(),
                            new.bundled.into(),
                            now.into(),
                            now.into(),
                        ],
                    ),
                )
                .await?;
                row.ok_or(StoreError::NotFound("plugin"))?.id
            }
        };
        #[derive(FromQueryResult)]
        struct Num {
            number: Option<i64>,
        }
        let last: Option<Num> =
            query_one(&tx.tx, self.db.stmt("SELECT MAX(number) AS number FROM plugin_versions WHERE plugin_id = ?", vec![plugin_id.into()])).await?;
        let number = last.and_then(|n| n.number).map_or(1, |n| n + 1);
        let uploaded_by = actor.map(|a| a.display_name.clone());
        let version: Option<IdRow> = query_one(
            &tx.tx,
            self.db.stmt(
                "INSERT INTO plugin_versions (plugin_id, number, sha256, size, wit_version, uploaded_by, uploaded_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                vec![
                    plugin_id.into(),
                    number.into(),
                    sha256.clone().into(),
                    (new.bytes.len() as i64).into(),
                    new.wit_version.into(),
                    uploaded_by.into(),
                    now.into(),
                ],
            ),
        )
        .await?;
        let version_id = version.ok_or(StoreError::NotFound("plugin version"))?.id;
        // A new version starts with a clean failure streak.
        tx.tx
            .execute_raw(self.db.stmt(
                "UPDATE plugins SET active_version_id = ?, consecutive_failures = 0, updated_at = ? WHERE id = ?",
                vec![version_id.into(), now.into(), plugin_id.into()],
            ))
            .await?;
        record(&self.db, &tx.tx, &who, now, NewEvent {
            ticket_id: None,
            kind: if existing.is_some() { "plugin.version_added" } else { "plugin.created" },
            field: None,
            before: existing.as_ref().map_or(serde_json::Value::Null, |r| json!({ "active_version_id": r.active_version_id })),
            after: json!({ "plugin_id": plugin_id, "name": name, "world": new.world, "version": number, "version_id": version_id, "sha256": sha256 }),
        })
        .await?;
        tx.commit().await?;
        self.plugin_by_id(plugin_id).await
    }

    /// Every plugin, by world and position (admins only).
    pub async fn list_plugins(&self, actor: &Actor) -> Result<Vec<proto::Plugin>> {
        policy::authorize(actor, Action::ManagePlugins)?;
        let conn = self.db.connection();
        let rows: Vec<PluginRow> = query_all(conn, self.db.stmt(&format!("SELECT {PLUGIN_COLUMNS} FROM plugins p ORDER BY p.world, p.position, p.id"), vec![])).await?;
        let mut versions: Vec<VersionRow> = query_all(
            conn,
            self.db.stmt("SELECT id, plugin_id, number, sha256, size, wit_version, uploaded_by, uploaded_at FROM plugin_versions ORDER BY id", vec![]),
        )
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let mine: Vec<proto::PluginVersion> = versions.extract_if(.., |v| v.plugin_id == row.id).map(VersionRow::into_proto).collect();
            out.push(row.into_proto(mine)?);
        }
        Ok(out)
    }

    pub async fn get_plugin(&self, actor: &Actor, id: i64) -> Result<proto::Plugin> {
        policy::authorize(actor, Action::ManagePlugins)?;
        self.plugin_by_id(id).await
    }

    async fn plugin_by_id(&self, id: i64) -> Result<proto::Plugin> {
        let conn = self.db.connection();
        let row: Option<PluginRow> = query_one(conn, self.db.stmt(&format!("SELECT {PLUGIN_COLUMNS} FROM plugins p WHERE p.id = ?"), vec![id.into()])).await?;
        let row = row.ok_or(StoreError::NotFound("plugin"))?;
        let versions: Vec<VersionRow> = query_all(
            conn,
            self.db.stmt(
                "SELECT id, plugin_id, number, sha256, size, wit_version, uploaded_by, uploaded_at FROM plugin_versions WHERE plugin_id = ? ORDER BY number",
                vec![id.into()],
            ),
        )
        .await?;
        row.into_proto(versions.into_iter().map(VersionRow::into_proto).collect())
    }

    /// Changes a plugin's settings: enable, order, scope, configuration, limits, active version.
    pub async fn update_plugin(&self, actor: &Actor, id: i64, input: proto::UpdatePlugin) -> Result<proto::Plugin> {
        policy::authorize(actor, Action::ManagePlugins)?;
        if input == proto::UpdatePlugin::default() {
            return Err(StoreError::validation("enabled", "nothing to change"));
        }
        let config = input.config.as_ref().map(validate_config).transpose()?;
        if let Some(limits) = &input.limits {
            validate_limits(limits)?;
        }
        let now = self.now_micros();
        let tx = self.db.write().await?;
        let row: Option<PluginRow> =
            query_one(&tx.tx, self.db.stmt(&format!("SELECT {PLUGIN_COLUMNS} FROM plugins p WHERE p.id = ?{}", self.db.for_update()), vec![id.into()])).await?;
        let row = row.ok_or(StoreError::NotFound("plugin"))?;
        if let Some(inboxes) = &input.inbox_ids {
            for inbox in inboxes {
                self.inbox_exists(&tx.tx, *inbox).await.map_err(|_| StoreError::validation("inbox_ids", format!("no inbox with id {inbox}")))?;
            }
        }
        if let Some(version_id) = input.active_version_id {
            let found: Option<IdRow> = query_one(
                &tx.tx,
                self.db.stmt("SELECT id FROM plugin_versions WHERE id = ? AND plugin_id = ?", vec![version_id.into(), id.into()]),
            )
            .await?;
            found.ok_or_else(|| StoreError::validation("active_version_id", format!("plugin {id} has no version with id {version_id}")))?;
        }
        let mut sets: Vec<&str> = vec!["updated_at = ?"];
        let mut values: Vec<Value> = vec![now.into()];
        let mut before = serde_json::Map::new();
        let mut after = serde_json::Map::new();
        if let Some(enabled) = input.enabled {
            sets.push("enabled = ?");
            values.push(enabled.into());
            before.insert("enabled".into(), row.enabled.into());
            after.insert("enabled".into(), enabled.into());
            if enabled {
                // Enabling again is the admin's "I fixed it": the failure streak starts over.
                sets.push("consecutive_failures = 0");
                sets.push("auto_disabled_reason = NULL");
            }
        }
        if let Some(position) = input.position {
            sets.push("position = ?");
            values.push(position.into());
            before.insert("position".into(), row.position.into());
            after.insert("position".into(), position.into());
        }
        if let Some(inboxes) = &input.inbox_ids {
            let mut inboxes = inboxes.clone();
            inboxes.sort_unstable();
            inboxes.dedup();
            sets.push("inbox_ids = ?");
            values.push(to_json(&inboxes).into());
            before.insert("inbox_ids".into(), parse_json::<serde_json::Value>("plugins", "inbox_ids", &row.inbox_ids)?);
            after.insert("inbox_ids".into(), json!(inboxes));
        }
        if let Some(config) = config {
            sets.push("config = ?");
            values.push(config.into());
            before.insert("config".into(), parse_json::<serde_json::Value>("plugins", "config", &row.config)?);
            after.insert("config".into(), input.config.clone().unwrap_or_default());
        }
        if let Some(limits) = input.limits {
            sets.push("memory_mib = ?");
            sets.push("timeout_ms = ?");
            sets.push("max_consecutive_failures = ?");
            values.extend([i64::from(limits.memory_mib).into(), i64::from(limits.timeout_ms).into(), i64::from(limits.max_consecutive_failures).into()]);
            before.insert("limits".into(), json!(row.limits()));
            after.insert("limits".into(), json!(limits));
        }
        if let Some(version_id) = input.active_version_id {
            sets.push("active_version_id = ?");
            // A column may be set only once per UPDATE on PostgreSQL.
            if !sets.contains(&"consecutive_failures = 0") {
                sets.push("consecutive_failures = 0");
            }
            values.push(version_id.into());
            before.insert("active_version_id".into(), json!(row.active_version_id));
            after.insert("active_version_id".into(), json!(version_id));
        }
        values.push(id.into());
        tx.tx.execute_raw(self.db.stmt(&format!("UPDATE plugins SET {} WHERE id = ?", sets.join(", ")), values)).await?;
        record(&self.db, &tx.tx, &Who::user(actor), now, NewEvent {
            ticket_id: None,
            kind: "plugin.updated",
            field: None,
            before: json!({ "plugin_id": id, "name": row.name, "changes": before }),
            after: json!({ "plugin_id": id, "name": row.name, "changes": after }),
        })
        .await?;
        tx.commit().await?;
        self.plugin_by_id(id).await
    }

    /// The plugins the pipeline may run, with their active versions, by world and position
    /// (disabled ones included: dry runs use them, the pipeline skips them).
    pub async fn active_plugins(&self) -> Result<Vec<ActivePlugin>> {
        let rows: Vec<PluginRow> = query_all(
            self.db.connection(),
            self.db.stmt(&format!("SELECT {PLUGIN_COLUMNS} FROM plugins p ORDER BY p.world, p.position, p.id"), vec![]),
        )
        .await?;
        let versions: Vec<VersionRow> = query_all(
            self.db.connection(),
            self.db.stmt("SELECT id, plugin_id, number, sha256, size, wit_version, uploaded_by, uploaded_at FROM plugin_versions", vec![]),
        )
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let Some(version) = versions.iter().find(|v| Some(v.id) == row.active_version_id) else { continue };
            out.push(ActivePlugin {
                id: row.id,
                world: parse("plugins", "world", &row.world)?,
                enabled: row.enabled,
                position: row.position,
                inbox_ids: parse_json("plugins", "inbox_ids", &row.inbox_ids)?,
                limits: row.limits(),
                config: row.config.clone(),
                version_id: version.id,
                version_number: version.number,
                sha256: version.sha256.clone(),
                name: row.name,
            });
        }
        Ok(out)
    }

    /// A version of a plugin, with its component's bytes (for loading into the runtime).
    pub async fn plugin_version(&self, plugin_id: i64, version_id: i64) -> Result<(proto::PluginVersion, Vec<u8>)> {
        let row: Option<VersionRow> = query_one(
            self.db.connection(),
            self.db.stmt(
                "SELECT id, plugin_id, number, sha256, size, wit_version, uploaded_by, uploaded_at FROM plugin_versions WHERE id = ? AND plugin_id = ?",
                vec![version_id.into(), plugin_id.into()],
            ),
        )
        .await?;
        let row = row.ok_or(StoreError::NotFound("plugin version"))?;
        let bytes = self.blobs().get_off_thread(&row.sha256).await?;
        Ok((row.into_proto(), bytes))
    }
}

/// Counts successful calls in the plugins' health (each id once per call): one statement for
/// a whole pipeline run, the common case.
pub(crate) fn count_successes(batch: &mut Batch, plugin_ids: &[i64]) {
    if plugin_ids.is_empty() {
        return;
    }
    let marks = crate::db::marks(plugin_ids.len());
    batch.push(
        &format!("UPDATE plugins SET calls = calls + 1, consecutive_failures = 0 WHERE id IN ({marks})"),
        plugin_ids.iter().map(|&id| id.into()).collect(),
    );
}

/// Counts a failed call in the plugin's health. After `max_consecutive_failures` failures in a
/// row the plugin is disabled (with an audit event); returns the reason when this call did that.
pub(crate) async fn count_failure<C: ConnectionTrait>(db: &Db, conn: &C, plugin_id: i64, f: &PluginFailure, now: i64) -> Result<Option<String>> {
    let row: Option<PluginRow> =
        query_one(conn, db.stmt(&format!("SELECT {PLUGIN_COLUMNS} FROM plugins p WHERE p.id = ?{}", db.for_update()), vec![plugin_id.into()])).await?;
    let row = row.ok_or(StoreError::NotFound("plugin"))?;
    let streak = row.consecutive_failures + 1;
    let trip = row.enabled && streak >= row.max_consecutive_failures;
    let reason = trip.then(|| format!("disabled after {streak} consecutive failures; the last: {} ({})", f.message, f.kind));
    conn.execute_raw(db.stmt(
        "UPDATE plugins SET calls = calls + 1, failures = failures + 1, consecutive_failures = ?, last_failure_kind = ?, \
         last_failure_message = ?, last_failure_at = ?, enabled = ?, auto_disabled_reason = COALESCE(?, auto_disabled_reason) WHERE id = ?",
        vec![
            streak.into(),
            f.kind.as_str().into(),
            f.message.chars().take(2_000).collect::<String>().into(),
            now.into(),
            (row.enabled && !trip).into(),
            reason.clone().into(),
            plugin_id.into(),
        ],
    ))
    .await?;
    if let Some(reason) = &reason {
        record(db, conn, &Who::system(), now, NewEvent {
            ticket_id: None,
            kind: "plugin.auto_disabled",
            field: Some("enabled"),
            before: json!({ "plugin_id": plugin_id, "name": row.name, "enabled": true }),
            after: json!({ "plugin_id": plugin_id, "name": row.name, "enabled": false, "reason": reason }),
        })
        .await?;
    }
    Ok(reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_limits_are_checked() {
        assert!(validate_name("keyword-classifier").is_ok());
        for bad in ["", "Upper", "with space", "-lead", "ü", &"x".repeat(65)] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
        assert!(validate_limits(&PluginLimits::default()).is_ok());
        assert!(validate_limits(&PluginLimits { memory_mib: 0, ..PluginLimits::default() }).is_err());
        assert!(validate_limits(&PluginLimits { timeout_ms: 10_001, ..PluginLimits::default() }).is_err());
        assert!(validate_config(&json!({})).is_ok());
        assert!(validate_config(&json!([1])).is_err());
    }
}
