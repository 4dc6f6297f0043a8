//! Per-inbox mail settings. Passwords are stored for the channel's workers and never returned
//! through the API (`password_set` only) nor logged.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde_json::json;
use tandem_domain::{Actor, policy::{self, Action}, validate};
use tandem_proto::{self as proto, AfterImport, ExistingMail, TlsMode};

use crate::{
    Store,
    db::{Db, WriteTx, query_all, query_one},
    error::{Result, StoreError},
    events::{NewEvent, Who, record},
    rows::{json as to_json, parse, parse_json},
};

#[derive(Debug, Clone, FromQueryResult)]
struct SettingsRow {
    id: i64,
    address: String,
    aliases: String,
    from_name_format: String,
    signature: String,
    csat_enabled: bool,
    csat_scale: String,
    auto_solve_after_days: Option<i64>,
    imap_enabled: Option<bool>,
    imap_host: Option<String>,
    imap_port: Option<i64>,
    imap_tls: Option<String>,
    imap_user: Option<String>,
    imap_password: Option<String>,
    imap_folders: Option<String>,
    imap_after_import: Option<String>,
    imap_move_to: Option<String>,
    imap_existing_mail: Option<String>,
    imap_recent_days: Option<i64>,
    smtp_enabled: Option<bool>,
    smtp_host: Option<String>,
    smtp_port: Option<i64>,
    smtp_tls: Option<String>,
    smtp_user: Option<String>,
    smtp_password: Option<String>,
}

const SETTINGS_SELECT: &str = "SELECT i.id, i.address, i.aliases, i.from_name_format, i.signature, i.csat_enabled, i.csat_scale, i.auto_solve_after_days, c.imap_enabled, c.imap_host, \
    c.imap_port, c.imap_tls, c.imap_user, c.imap_password, c.imap_folders, c.imap_after_import, c.imap_move_to, c.imap_existing_mail, c.imap_recent_days, c.smtp_enabled, \
    c.smtp_host, c.smtp_port, c.smtp_tls, c.smtp_user, c.smtp_password FROM inboxes i LEFT JOIN inbox_channels c ON c.inbox_id = i.id";

/// What the IMAP worker of one inbox needs, password included.
#[derive(Clone, PartialEq, Eq)]
pub struct ImapAccount {
    pub inbox_id: i64,
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub user: String,
    pub password: String,
    pub folders: Vec<String>,
    pub after_import: AfterImport,
    pub move_to: Option<String>,
    /// What of the mail already in a folder the folder's first read imports.
    pub existing_mail: ExistingMail,
    pub recent_days: u16,
}

impl std::fmt::Debug for ImapAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImapAccount").field("inbox_id", &self.inbox_id).field("host", &self.host).field("port", &self.port)
            .field("tls", &self.tls).field("user", &self.user).field("password", &"<secret>").field("folders", &self.folders)
            .field("existing_mail", &self.existing_mail).field("recent_days", &self.recent_days).finish()
    }
}

/// Where IMAP intake of one folder stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImapFolderState {
    pub uid_validity: u32,
    /// The highest UID imported (or passed over on purpose): the next read starts above it.
    pub last_uid: u32,
    /// When the folder was last read.
    pub read_at: DateTime<Utc>,
}

/// The days `existing_mail: recent` may reach back.
const RECENT_DAYS: std::ops::RangeInclusive<u16> = 1..=3650;
/// What an inbox's IMAP settings say before anyone set them.
const DEFAULT_RECENT_DAYS: u16 = 14;

/// What the sender needs to deliver an inbox's outbound mail.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpAccount {
    pub inbox_id: i64,
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub user: String,
    pub password: String,
}

impl std::fmt::Debug for SmtpAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpAccount").field("inbox_id", &self.inbox_id).field("host", &self.host).field("port", &self.port)
            .field("tls", &self.tls).field("user", &self.user).field("password", &"<secret>").finish()
    }
}

fn is_loopback(host: &str) -> bool {
    let h = host.trim().trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost") || h.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn check_host(field: &str, host: &str, tls: TlsMode, enabled: bool) -> Result<()> {
    if enabled && host.trim().is_empty() {
        return Err(StoreError::validation(field, "a host is required to enable the connection"));
    }
    if host.len() > 253 || host.chars().any(|c| c.is_whitespace() || c.is_control() || c == '/') {
        return Err(StoreError::validation(field, format!("`{host}` is not a host name")));
    }
    if enabled && tls == TlsMode::None && !is_loopback(host) {
        return Err(StoreError::validation(field, "unencrypted connections (tls: none) are allowed to loopback servers only"));
    }
    Ok(())
}

fn folder_name(f: &str) -> Result<String> {
    let f = f.trim();
    if f.is_empty() || f.len() > 200 || f.chars().any(char::is_control) {
        return Err(StoreError::validation("imap.folders", format!("`{f}` is not a folder name")));
    }
    Ok(f.to_owned())
}

/// Both accounts of an inbox, secrets included (for the workers and connection tests).
struct Accounts {
    imap: ImapAccount,
    smtp: SmtpAccount,
    smtp_enabled: bool,
}

impl SettingsRow {
    fn into_accounts(self) -> Result<Accounts> {
        let (imap_password, smtp_password) = (self.imap_password.clone().unwrap_or_default(), self.smtp_password.clone().unwrap_or_default());
        let p = self.into_proto()?;
        let (i, s) = (p.imap, p.smtp);
        Ok(Accounts {
            imap: ImapAccount {
                inbox_id: p.inbox_id,
                host: i.host,
                port: i.port,
                tls: i.tls,
                user: i.user,
                password: imap_password,
                folders: i.folders,
                after_import: i.after_import,
                move_to: i.move_to,
                existing_mail: i.existing_mail,
                recent_days: i.recent_days,
            },
            smtp: SmtpAccount { inbox_id: p.inbox_id, host: s.host, port: s.port, tls: s.tls, user: s.user, password: smtp_password },
            smtp_enabled: s.enabled,
        })
    }

    fn into_proto(self) -> Result<proto::MailSettings> {
        let tls = |v: &Option<String>, col| -> Result<TlsMode> { v.as_deref().map_or(Ok(TlsMode::Implicit), |s| parse("inbox_channels", col, s)) };
        Ok(proto::MailSettings {
            inbox_id: self.id,
            address: self.address,
            aliases: parse_json("inboxes", "aliases", &self.aliases)?,
            from_name_format: self.from_name_format,
            signature: self.signature,
            csat_enabled: self.csat_enabled,
            csat_scale: parse("inboxes", "csat_scale", &self.csat_scale)?,
            auto_solve_after_days: self.auto_solve_after_days,
            imap: proto::ImapSettings {
                enabled: self.imap_enabled.unwrap_or(false),
                host: self.imap_host.unwrap_or_default(),
                port: self.imap_port.and_then(|p| u16::try_from(p).ok()).unwrap_or(993),
                tls: tls(&self.imap_tls, "imap_tls")?,
                user: self.imap_user.unwrap_or_default(),
                password_set: self.imap_password.is_some(),
                folders: self.imap_folders.as_deref().map_or(Ok(vec!["INBOX".to_owned()]), |f| parse_json("inbox_channels", "imap_folders", f))?,
                after_import: self.imap_after_import.as_deref().map_or(Ok(AfterImport::Seen), |a| parse("inbox_channels", "imap_after_import", a))?,
                move_to: self.imap_move_to,
                existing_mail: self.imap_existing_mail.as_deref().map_or(Ok(ExistingMail::All), |e| parse("inbox_channels", "imap_existing_mail", e))?,
                recent_days: self.imap_recent_days.and_then(|d| u16::try_from(d).ok()).unwrap_or(DEFAULT_RECENT_DAYS),
            },
            smtp: proto::SmtpSettings {
                enabled: self.smtp_enabled.unwrap_or(false),
                host: self.smtp_host.unwrap_or_default(),
                port: self.smtp_port.and_then(|p| u16::try_from(p).ok()).unwrap_or(465),
                tls: tls(&self.smtp_tls, "smtp_tls")?,
                user: self.smtp_user.unwrap_or_default(),
                password_set: self.smtp_password.is_some(),
            },
        })
    }
}

impl Store {
    async fn settings_row<C: ConnectionTrait>(&self, conn: &C, inbox_id: i64) -> Result<SettingsRow> {
        query_one(conn, self.db.stmt(&format!("{SETTINGS_SELECT} WHERE i.id = ?"), vec![inbox_id.into()])).await?.ok_or(StoreError::NotFound("inbox"))
    }

    /// An inbox's mail settings, without secrets (admins).
    pub async fn mail_settings(&self, actor: &Actor, inbox_id: i64) -> Result<proto::MailSettings> {
        policy::authorize(actor, Action::ManageInboxes)?;
        self.settings_row(self.db.connection(), inbox_id).await?.into_proto()
    }

    /// Changes an inbox's mail settings; secrets are write-only and never enter the audit trail.
    pub async fn update_mail_settings(&self, actor: &Actor, inbox_id: i64, input: proto::UpdateMailSettings) -> Result<proto::MailSettings> {
        policy::authorize(actor, Action::ManageInboxes)?;
        let now = self.now_micros();
        let tx = self.db.write().await?;
        let current = self.settings_row(&tx.tx, inbox_id).await?.into_proto()?;
        let mut next = current.clone();
        if let Some(aliases) = &input.aliases {
            let mut clean = Vec::new();
            for a in aliases {
                let a = validate::email("aliases", a)?;
                if a != current.address && !clean.contains(&a) {
                    clean.push(a);
                }
            }
            next.aliases = clean;
        }
        if let Some(f) = &input.from_name_format {
            next.from_name_format = validate::text("from_name_format", f, validate::MAX_NAME_CHARS)?;
        }
        if let Some(s) = &input.signature {
            if s.len() > 10_000 {
                return Err(StoreError::validation("signature", "the signature is limited to 10,000 bytes"));
            }
            next.signature = s.replace("\r\n", "\n");
        }
        if let Some(on) = input.csat_enabled {
            next.csat_enabled = on;
        }
        if let Some(scale) = input.csat_scale {
            next.csat_scale = scale;
        }
        if let Some(days) = input.auto_solve_after_days {
            if days.is_some_and(|d| !(1..=365).contains(&d)) {
                return Err(StoreError::validation("auto_solve_after_days", "auto-solve after 1 to 365 days (or null: never)"));
            }
            next.auto_solve_after_days = days;
        }
        let (mut imap_password, mut smtp_password): (Option<Option<String>>, Option<Option<String>>) = (None, None);
        if let Some(u) = &input.imap {
            let i = &mut next.imap;
            if let Some(v) = u.enabled { i.enabled = v }
            if let Some(v) = &u.host { i.host = v.trim().to_owned() }
            if let Some(v) = u.port { i.port = v }
            if let Some(v) = u.tls { i.tls = v }
            if let Some(v) = &u.user { i.user = v.trim().to_owned() }
            if let Some(v) = &u.folders {
                if v.is_empty() {
                    return Err(StoreError::validation("imap.folders", "at least one folder"));
                }
                i.folders = v.iter().map(|f| folder_name(f)).collect::<Result<_>>()?;
            }
            if let Some(v) = u.after_import { i.after_import = v }
            if let Some(v) = &u.move_to { i.move_to = v.as_deref().map(folder_name).transpose()? }
            if let Some(v) = u.existing_mail { i.existing_mail = v }
            if let Some(v) = u.recent_days {
                if !RECENT_DAYS.contains(&v) {
                    return Err(StoreError::validation("imap.recent_days", "recent mail reaches back 1 to 3,650 days"));
                }
                i.recent_days = v;
            }
            if let Some(p) = &u.password { imap_password = Some((!p.is_empty()).then(|| p.clone())) }
        }
        if let Some(u) = &input.smtp {
            let s = &mut next.smtp;
            if let Some(v) = u.enabled { s.enabled = v }
            if let Some(v) = &u.host { s.host = v.trim().to_owned() }
            if let Some(v) = u.port { s.port = v }
            if let Some(v) = u.tls { s.tls = v }
            if let Some(v) = &u.user { s.user = v.trim().to_owned() }
            if let Some(p) = &u.password { smtp_password = Some((!p.is_empty()).then(|| p.clone())) }
        }
        check_host("imap.host", &next.imap.host, next.imap.tls, next.imap.enabled)?;
        check_host("smtp.host", &next.smtp.host, next.smtp.tls, next.smtp.enabled)?;
        if next.imap.after_import == AfterImport::Move && next.imap.move_to.is_none() {
            return Err(StoreError::validation("imap.move_to", "after_import `move` needs a move_to folder"));
        }
        if next.imap.port == 0 || next.smtp.port == 0 {
            return Err(StoreError::validation("port", "port 0 is not a port"));
        }
        tx.tx.execute_raw(self.db.stmt(
            "UPDATE inboxes SET aliases = ?, from_name_format = ?, signature = ?, csat_enabled = ?, csat_scale = ?, auto_solve_after_days = ?, updated_at = ? WHERE id = ?",
            vec![
                to_json(&next.aliases).into(),
                next.from_name_format.clone().into(),
                next.signature.clone().into(),
                next.csat_enabled.into(),
                next.csat_scale.as_str().into(),
                next.auto_solve_after_days.into(),
                now.into(),
                inbox_id.into(),
            ],
        )).await?;
        let upsert = "INSERT INTO inbox_channels (inbox_id, imap_enabled, imap_host, imap_port, imap_tls, imap_user, imap_folders, \
            imap_after_import, imap_move_to, imap_existing_mail, imap_recent_days, smtp_enabled, smtp_host, smtp_port, smtp_tls, smtp_user, updated_at) \
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (inbox_id) DO UPDATE SET imap_enabled = excluded.imap_enabled, \
            imap_host = excluded.imap_host, imap_port = excluded.imap_port, imap_tls = excluded.imap_tls, imap_user = excluded.imap_user, \
            imap_folders = excluded.imap_folders, imap_after_import = excluded.imap_after_import, imap_move_to = excluded.imap_move_to, \
            imap_existing_mail = excluded.imap_existing_mail, imap_recent_days = excluded.imap_recent_days, \
            smtp_enabled = excluded.smtp_enabled, smtp_host = excluded.smtp_host, smtp_port = excluded.smtp_port, smtp_tls = excluded.smtp_tls, \
            smtp_user = excluded.smtp_user, updated_at = excluded.updated_at";
        let (i, s) = (&next.imap, &next.smtp);
        tx.tx.execute_raw(self.db.stmt(upsert, vec![
            inbox_id.into(), i.enabled.into(), i.host.clone().into(), i64::from(i.port).into(), i.tls.as_str().into(), i.user.clone().into(),
            to_json(&i.folders).into(), i.after_import.as_str().into(), i.move_to.clone().into(), i.existing_mail.as_str().into(),
            i64::from(i.recent_days).into(), s.enabled.into(), s.host.clone().into(), i64::from(s.port).into(), s.tls.as_str().into(), s.user.clone().into(), now.into(),
        ])).await?;
        if let Some(p) = imap_password {
            tx.tx.execute_raw(self.db.stmt("UPDATE inbox_channels SET imap_password = ? WHERE inbox_id = ?", vec![p.into(), inbox_id.into()])).await?;
        }
        if let Some(p) = smtp_password {
            tx.tx.execute_raw(self.db.stmt("UPDATE inbox_channels SET smtp_password = ? WHERE inbox_id = ?", vec![p.into(), inbox_id.into()])).await?;
        }
        let after = self.settings_row(&tx.tx, inbox_id).await?.into_proto()?;
        // The audit trail gets the public view: `password_set`, never a password.
        record(&self.db, &tx.tx, &Who::user(actor), now, NewEvent {
            ticket_id: None,
            kind: "inbox.mail_settings_changed",
            field: None,
            before: json!(current),
            after: json!(after),
        })
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Every inbox with IMAP intake enabled, with its password (the channel's workers).
    pub async fn imap_accounts(&self) -> Result<Vec<ImapAccount>> {
        let rows: Vec<SettingsRow> = query_all(self.db.connection(), self.db.stmt(&format!("{SETTINGS_SELECT} WHERE c.imap_enabled = ?"), vec![true.into()])).await?;
        rows.into_iter().map(|r| Ok(r.into_accounts()?.imap)).collect()
    }

    /// The IMAP account of one inbox as configured (enabled or not), for "test connection".
    pub async fn imap_account(&self, actor: &Actor, inbox_id: i64) -> Result<ImapAccount> {
        policy::authorize(actor, Action::ManageInboxes)?;
        Ok(self.settings_row(self.db.connection(), inbox_id).await?.into_accounts()?.imap)
    }

    /// The SMTP account of an inbox; `None` when sending is not enabled there.
    pub async fn smtp_account(&self, inbox_id: i64) -> Result<Option<SmtpAccount>> {
        let accounts = self.settings_row(self.db.connection(), inbox_id).await?.into_accounts()?;
        Ok(accounts.smtp_enabled.then_some(accounts.smtp))
    }

    /// The SMTP account as configured (enabled or not), for "test connection" (admins).
    pub async fn smtp_account_for_test(&self, actor: &Actor, inbox_id: i64) -> Result<SmtpAccount> {
        policy::authorize(actor, Action::ManageInboxes)?;
        Ok(self.settings_row(self.db.connection(), inbox_id).await?.into_accounts()?.smtp)
    }

    /// Where IMAP intake of a folder stands; `None` before its first read.
    pub async fn imap_folder_state(&self, inbox_id: i64, folder: &str) -> Result<Option<ImapFolderState>> {
        #[derive(FromQueryResult)]
        struct Row {
            uid_validity: i64,
            last_uid: i64,
            updated_at: i64,
        }
        let row: Option<Row> = query_one(
            self.db.connection(),
            self.db.stmt(
                "SELECT uid_validity, last_uid, updated_at FROM imap_folders WHERE inbox_id = ? AND folder = ?",
                vec![inbox_id.into(), folder.to_owned().into()],
            ),
        )
        .await?;
        Ok(row.map(|r| ImapFolderState {
            uid_validity: u32::try_from(r.uid_validity).unwrap_or(0),
            last_uid: u32::try_from(r.last_uid).unwrap_or(0),
            read_at: DateTime::from_timestamp_micros(r.updated_at).unwrap_or_default(),
        }))
    }

    /// Remembers the highest imported UID of a folder (after the message is committed).
    pub async fn set_imap_folder_state(&self, inbox_id: i64, folder: &str, uid_validity: u32, last_uid: u32) -> Result<()> {
        let now = self.now_micros();
        let tx = self.db.write().await?;
        tx.tx.execute_raw(self.db.stmt(
            "INSERT INTO imap_folders (inbox_id, folder, uid_validity, last_uid, updated_at) VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT (inbox_id, folder) DO UPDATE SET uid_validity = excluded.uid_validity, last_uid = excluded.last_uid, updated_at = excluded.updated_at",
            vec![inbox_id.into(), folder.to_owned().into(), i64::from(uid_validity).into(), i64::from(last_uid).into(), now.into()],
        )).await?;
        tx.commit().await
    }

    /// Every address that is ours ([`desk_addresses`]), read once per write transaction: mail
    /// from them is our own coming back.
    pub(crate) async fn our_addresses(&self, tx: &WriteTx) -> Result<Arc<Vec<String>>> {
        if let Some(ours) = tx.memo().our_addresses.clone() {
            return Ok(ours);
        }
        let ours = Arc::new(desk_addresses(&self.db, &tx.tx).await?);
        tx.memo().our_addresses = Some(Arc::clone(&ours));
        Ok(ours)
    }

    /// The inbox an address delivers to (its address or an alias; `+tags` ignored).
    pub async fn inbox_for_address(&self, address: &str) -> Result<Option<i64>> {
        #[derive(FromQueryResult)]
        struct Row {
            id: i64,
            address: String,
            aliases: String,
        }
        let wanted = tandem_mail::thread::base_address(address);
        let rows: Vec<Row> = query_all(self.db.connection(), self.db.stmt("SELECT id, address, aliases FROM inboxes ORDER BY id", vec![])).await?;
        for r in rows {
            let aliases: Vec<String> = parse_json("inboxes", "aliases", &r.aliases)?;
            if r.address.eq_ignore_ascii_case(&wanted) || aliases.iter().any(|a| a.eq_ignore_ascii_case(&wanted)) {
                return Ok(Some(r.id));
            }
        }
        Ok(None)
    }
}

/// Every address that is this desk's (inbox addresses and aliases), lowercase.
pub(crate) async fn desk_addresses<C: ConnectionTrait>(db: &Db, conn: &C) -> Result<Vec<String>> {
    #[derive(FromQueryResult)]
    struct Row {
        address: String,
        aliases: String,
    }
    let rows: Vec<Row> = query_all(conn, db.stmt("SELECT address, aliases FROM inboxes", vec![])).await?;
    let mut out = Vec::new();
    for r in rows {
        out.push(r.address.to_lowercase());
        let aliases: Vec<String> = parse_json("inboxes", "aliases", &r.aliases)?;
        out.extend(aliases.into_iter().map(|a| a.to_lowercase()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unencrypted_only_to_loopback() {
        assert!(check_host("h", "127.0.0.1", TlsMode::None, true).is_ok());
        assert!(check_host("h", "localhost", TlsMode::None, true).is_ok());
        assert!(check_host("h", "[::1]", TlsMode::None, true).is_ok());
        assert!(check_host("h", "mail.example.com", TlsMode::None, true).is_err());
        assert!(check_host("h", "mail.example.com", TlsMode::Implicit, true).is_ok());
        assert!(check_host("h", "", TlsMode::Implicit, true).is_err());
        assert!(check_host("h", "a b", TlsMode::Implicit, false).is_err());
    }
}
