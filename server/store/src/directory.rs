//! Users, inboxes, teams and their memberships.

use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, SqlErr, Value};
use serde_json::json;
use tandem_domain::{Actor, policy::{self, Action}, validate};
use tandem_proto::{self as proto, Role};

use crate::{
    Store,
    auth::hash_password,
    db::{query_all, query_one},
    error::{Result, StoreError},
    events::{NewEvent, Who, record},
    rows::{IdRow, InboxRow, TeamRow, USER_COLUMNS, UserRefRow, UserRow, json as to_json},
};

/// Turns a unique-constraint violation into a friendly error naming the field.
pub(crate) fn unique(err: DbErr, field: &'static str, message: String) -> StoreError {
    match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => StoreError::Duplicate { field, message },
        _ => StoreError::Db(err),
    }
}

#[derive(Debug, FromQueryResult)]
struct MemberRow {
    group_id: i64,
    id: i64,
    display_name: String,
    email: String,
}

impl Store {
    pub(crate) async fn user_row(&self, id: i64) -> Result<UserRow> {
        query_one(self.db.connection(), self.db.stmt(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?"), vec![id.into()]))
            .await?
            .ok_or(StoreError::NotFound("user"))
    }

    /// What `GET /me` shows: the user, their inboxes and teams.
    pub async fn me(&self, actor: &Actor) -> Result<proto::Me> {
        let user = self.user_row(actor.user_id).await?.into_proto()?;
        let inboxes: Vec<InboxRow> = query_all(
            self.db.connection(),
            self.db.stmt(
                "SELECT i.id, i.name, i.address, i.created_at FROM inboxes i JOIN inbox_members m ON m.inbox_id = i.id \
                 WHERE m.user_id = ? ORDER BY i.name",
                vec![actor.user_id.into()],
            ),
        )
        .await?;
        let team_ids: Vec<IdRow> = query_all(
            self.db.connection(),
            self.db.stmt("SELECT team_id AS id FROM team_members WHERE user_id = ?", vec![actor.user_id.into()]),
        )
        .await?;
        let teams = self.teams_by_ids(Some(team_ids.into_iter().map(|r| r.id).collect())).await?;
        Ok(proto::Me { user, inboxes: inboxes.into_iter().map(Into::into).collect(), teams })
    }

    pub async fn update_profile(&self, actor: &Actor, input: proto::UpdateProfile) -> Result<proto::User> {
        let update = proto::UpdateUser {
            display_name: input.display_name,
            language: input.language,
            availability: input.availability,
            ..Default::default()
        };
        self.write_user(actor, actor.user_id, update).await
    }

    // ---- users ----

    pub async fn list_users(&self, actor: &Actor) -> Result<Vec<proto::User>> {
        policy::authorize(actor, Action::ViewDirectory)?;
        let rows: Vec<UserRow> =
            query_all(self.db.connection(), self.db.stmt(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY display_name, id"), vec![]))
                .await?;
        rows.into_iter().map(UserRow::into_proto).collect()
    }

    pub async fn get_user(&self, actor: &Actor, id: i64) -> Result<proto::User> {
        policy::authorize(actor, Action::ViewDirectory)?;
        self.user_row(id).await?.into_proto()
    }

    /// Creates a user. `actor` is `None` for the CLI and demo seeding (trusted callers).
    pub async fn create_user(&self, actor: Option<&Actor>, input: proto::CreateUser) -> Result<proto::User> {
        if let Some(actor) = actor {
            policy::authorize(actor, Action::ManageUsers)?;
        }
        let email = validate::email("email", &input.email)?;
        let display_name = validate::text("display_name", &input.display_name, validate::MAX_NAME_CHARS)?;
        validate::password("password", &input.password)?;
        let language = validate::language("language", input.language.as_deref().unwrap_or("en"))?;
        let skills = validate::tags(&input.skills).map_err(|_| StoreError::validation("skills", "skills are short words without spaces or commas"))?;
        let hash = hash_password(input.password).await?;
        let now = self.now_micros();
        let who = actor.map(Who::user).unwrap_or_else(Who::system);
        let tx = self.db.write().await?;
        let row: Option<IdRow> = query_one(
            &tx.tx,
            self.db.stmt(
                "INSERT INTO users (email, display_name, password_hash, role, language, skills, availability, disabled, created_at, updated_at) \
                 VALUES (?, ?, ?, ?, ?, ?, 'off', FALSE, ?, ?) RETURNING id",
                vec![
                    email.clone().into(),
                    display_name.into(),
                    hash.into(),
                    input.role.as_str().into(),
                    language.into(),
                    to_json(&skills).into(),
                    now.into(),
                    now.into(),
                ],
            ),
        )
        .await
        .map_err(|e| match e {
            StoreError::Db(e) => unique(e, "email", format!("a user with email {email} exists")),
            e => e,
        })?;
        let id = row.ok_or(StoreError::NotFound("user"))?.id;
        record(&self.db, &tx.tx, &who, now, NewEvent {
            ticket_id: None,
            kind: "user.created",
            field: None,
            before: serde_json::Value::Null,
            after: json!({ "id": id, "email": email, "role": input.role }),
        })
        .await?;
        tx.commit().await?;
        self.user_row(id).await?.into_proto()
    }

    pub async fn update_user(&self, actor: &Actor, id: i64, input: proto::UpdateUser) -> Result<proto::User> {
        policy::authorize(actor, Action::ManageUsers)?;
        if id == actor.user_id && (input.role.is_some_and(|r| r != Role::Admin) || input.disabled == Some(true)) {
            return Err(StoreError::validation("role", "admins cannot demote or disable themselves"));
        }
        self.write_user(actor, id, input).await
    }

    pub(crate) async fn set_password(&self, actor: &Actor, user_id: i64, password: &str) -> Result<()> {
        let update = proto::UpdateUser { password: Some(password.to_owned()), ..Default::default() };
        self.write_user(actor, user_id, update).await.map(|_| ())
    }

    /// Applies a user update (permission already checked) with one event per changed field.
    async fn write_user(&self, actor: &Actor, id: i64, input: proto::UpdateUser) -> Result<proto::User> {
        let before = self.user_row(id).await?;
        let mut sets: Vec<(&'static str, Value, serde_json::Value, serde_json::Value)> = Vec::new();
        if let Some(name) = input.display_name {
            let name = validate::text("display_name", &name, validate::MAX_NAME_CHARS)?;
            sets.push(("display_name", name.clone().into(), json!(before.display_name), json!(name)));
        }
        if let Some(role) = input.role {
            sets.push(("role", role.as_str().into(), json!(before.role), json!(role)));
        }
        if let Some(language) = input.language {
            let language = validate::language("language", &language)?;
            sets.push(("language", language.clone().into(), json!(before.language), json!(language)));
        }
        if let Some(skills) = input.skills {
            let skills = validate::tags(&skills).map_err(|_| StoreError::validation("skills", "skills are short words without spaces or commas"))?;
            sets.push(("skills", to_json(&skills).into(), serde_json::from_str(&before.skills).unwrap_or_default(), json!(skills)));
        }
        if let Some(availability) = input.availability {
            sets.push(("availability", availability.as_str().into(), json!(before.availability), json!(availability)));
        }
        if let Some(disabled) = input.disabled {
            sets.push(("disabled", disabled.into(), json!(before.disabled), json!(disabled)));
        }
        if let Some(password) = input.password {
            validate::password("password", &password)?;
            let hash = hash_password(password).await?;
            // The audit trail records that the password changed, never the hash.
            sets.push(("password_hash", hash.into(), json!("…"), json!("…")));
        }
        let now = self.now_micros();
        let tx = self.db.write().await?;
        for (column, value, old, new) in &sets {
            tx.tx
                .execute_raw(self.db.stmt(
                    &format!("UPDATE users SET {column} = ?, updated_at = ? WHERE id = ?"),
                    vec![value.clone(), now.into(), id.into()],
                ))
                .await?;
            record(&self.db, &tx.tx, &Who::user(actor), now, NewEvent {
                ticket_id: None,
                kind: "user.updated",
                field: Some(if *column == "password_hash" { "password" } else { column }),
                before: json!({ "id": id, "value": old }),
                after: json!({ "id": id, "value": new }),
            })
            .await?;
        }
        let ends_sessions = sets.iter().any(|(c, ..)| *c == "password_hash" || *c == "disabled");
        if ends_sessions {
            tx.tx.execute_raw(self.db.stmt("DELETE FROM sessions WHERE user_id = ?", vec![id.into()])).await?;
        }
        tx.commit().await?;
        self.user_row(id).await?.into_proto()
    }

    // ---- inboxes ----

    /// Inboxes the actor belongs to (all of them for admins).
    pub async fn list_inboxes(&self, actor: &Actor) -> Result<Vec<proto::Inbox>> {
        let rows: Vec<InboxRow> = if actor.is_admin() {
            query_all(self.db.connection(), self.db.stmt("SELECT id, name, address, created_at FROM inboxes ORDER BY name, id", vec![])).await?
        } else {
            query_all(
                self.db.connection(),
                self.db.stmt(
                    "SELECT i.id, i.name, i.address, i.created_at FROM inboxes i JOIN inbox_members m ON m.inbox_id = i.id \
                     WHERE m.user_id = ? ORDER BY i.name, i.id",
                    vec![actor.user_id.into()],
                ),
            )
            .await?
        };
        Ok(rows.into_iter().map(Into::into).collect())
    }

    pub async fn get_inbox(&self, actor: &Actor, id: i64) -> Result<proto::Inbox> {
        if !actor.belongs_to(id) {
            return Err(StoreError::NotFound("inbox"));
        }
        self.inbox_row(id).await.map(Into::into)
    }

    async fn inbox_row(&self, id: i64) -> Result<InboxRow> {
        query_one(self.db.connection(), self.db.stmt("SELECT id, name, address, created_at FROM inboxes WHERE id = ?", vec![id.into()]))
            .await?
            .ok_or(StoreError::NotFound("inbox"))
    }

    pub async fn create_inbox(&self, actor: Option<&Actor>, input: proto::CreateInbox) -> Result<proto::Inbox> {
        if let Some(actor) = actor {
            policy::authorize(actor, Action::ManageInboxes)?;
        }
        let name = validate::text("name", &input.name, validate::MAX_NAME_CHARS)?;
        let address = validate::email("address", &input.address)?;
        let now = self.now_micros();
        let who = actor.map(Who::user).unwrap_or_else(Who::system);
        let tx = self.db.write().await?;
        let row: Option<IdRow> = query_one(
            &tx.tx,
            self.db.stmt(
                "INSERT INTO inboxes (name, address, created_at, updated_at) VALUES (?, ?, ?, ?) RETURNING id",
                vec![name.clone().into(), address.clone().into(), now.into(), now.into()],
            ),
        )
        .await
        .map_err(|e| match e {
            StoreError::Db(e) => unique(e, "address", format!("an inbox with address {address} exists")),
            e => e,
        })?;
        let id = row.ok_or(StoreError::NotFound("inbox"))?.id;
        record(&self.db, &tx.tx, &who, now, NewEvent {
            ticket_id: None,
            kind: "inbox.created",
            field: None,
            before: serde_json::Value::Null,
            after: json!({ "id": id, "name": name, "address": address }),
        })
        .await?;
        tx.commit().await?;
        self.inbox_row(id).await.map(Into::into)
    }

    pub async fn update_inbox(&self, actor: &Actor, id: i64, input: proto::UpdateInbox) -> Result<proto::Inbox> {
        policy::authorize(actor, Action::ManageInboxes)?;
        let before = self.inbox_row(id).await?;
        let now = self.now_micros();
        let tx = self.db.write().await?;
        if let Some(name) = input.name {
            let name = validate::text("name", &name, validate::MAX_NAME_CHARS)?;
            tx.tx.execute_raw(self.db.stmt("UPDATE inboxes SET name = ?, updated_at = ? WHERE id = ?", vec![name.clone().into(), now.into(), id.into()])).await?;
            record(&self.db, &tx.tx, &Who::user(actor), now, NewEvent {
                ticket_id: None, kind: "inbox.updated", field: Some("name"),
                before: json!({ "id": id, "value": before.name }), after: json!({ "id": id, "value": name }),
            }).await?;
        }
        if let Some(address) = input.address {
            let address = validate::email("address", &address)?;
            tx.tx
                .execute_raw(self.db.stmt("UPDATE inboxes SET address = ?, updated_at = ? WHERE id = ?", vec![address.clone().into(), now.into(), id.into()]))
                .await
                .map_err(|e| unique(e, "address", format!("an inbox with address {address} exists")))?;
            record(&self.db, &tx.tx, &Who::user(actor), now, NewEvent {
                ticket_id: None, kind: "inbox.updated", field: Some("address"),
                before: json!({ "id": id, "value": before.address }), after: json!({ "id": id, "value": address }),
            }).await?;
        }
        tx.commit().await?;
        self.inbox_row(id).await.map(Into::into)
    }

    pub async fn list_inbox_members(&self, actor: &Actor, inbox_id: i64) -> Result<Vec<proto::UserRef>> {
        if !actor.belongs_to(inbox_id) {
            return Err(StoreError::NotFound("inbox"));
        }
        self.inbox_row(inbox_id).await?;
        let rows: Vec<UserRefRow> = query_all(
            self.db.connection(),
            self.db.stmt(
                "SELECT u.id, u.display_name, u.email FROM users u JOIN inbox_members m ON m.user_id = u.id \
                 WHERE m.inbox_id = ? ORDER BY u.display_name, u.id",
                vec![inbox_id.into()],
            ),
        )
        .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// Adds or removes an inbox or team membership.
    pub async fn set_membership(&self, actor: Option<&Actor>, group: Group, group_id: i64, user_id: i64, member: bool) -> Result<()> {
        let (table, column, action, kind) = match group {
            Group::Inbox => ("inbox_members", "inbox_id", Action::ManageInboxes, if member { "inbox.member_added" } else { "inbox.member_removed" }),
            Group::Team => ("team_members", "team_id", Action::ManageTeams, if member { "team.member_added" } else { "team.member_removed" }),
        };
        if let Some(actor) = actor {
            policy::authorize(actor, action)?;
        }
        match group {
            Group::Inbox => self.inbox_row(group_id).await.map(|_| ())?,
            Group::Team => self.team_row(group_id).await.map(|_| ())?,
        }
        self.user_row(user_id).await.map_err(|_| StoreError::validation("user_id", format!("no user with id {user_id}")))?;
        let now = self.now_micros();
        let who = actor.map(Who::user).unwrap_or_else(Who::system);
        let tx = self.db.write().await?;
        let sql = if member {
            format!("INSERT INTO {table} ({column}, user_id) VALUES (?, ?) ON CONFLICT DO NOTHING")
        } else {
            format!("DELETE FROM {table} WHERE {column} = ? AND user_id = ?")
        };
        let done = tx.tx.execute_raw(self.db.stmt(&sql, vec![group_id.into(), user_id.into()])).await?;
        if done.rows_affected() > 0 {
            record(&self.db, &tx.tx, &who, now, NewEvent {
                ticket_id: None,
                kind,
                field: None,
                before: serde_json::Value::Null,
                after: json!({ column: group_id, "user_id": user_id }),
            })
            .await?;
        } else if !member {
            return Err(StoreError::NotFound("membership"));
        }
        tx.commit().await
    }

    // ---- teams ----

    async fn team_row(&self, id: i64) -> Result<TeamRow> {
        query_one(self.db.connection(), self.db.stmt("SELECT id, name, description FROM teams WHERE id = ?", vec![id.into()]))
            .await?
            .ok_or(StoreError::NotFound("team"))
    }

    async fn teams_by_ids(&self, ids: Option<Vec<i64>>) -> Result<Vec<proto::Team>> {
        let conn = self.db.connection();
        let teams: Vec<TeamRow> = query_all(conn, self.db.stmt("SELECT id, name, description FROM teams ORDER BY name, id", vec![])).await?;
        let members: Vec<MemberRow> = query_all(
            conn,
            self.db.stmt(
                "SELECT m.team_id AS group_id, u.id, u.display_name, u.email FROM team_members m JOIN users u ON u.id = m.user_id \
                 ORDER BY u.display_name, u.id",
                vec![],
            ),
        )
        .await?;
        Ok(teams
            .into_iter()
            .filter(|t| ids.as_ref().is_none_or(|ids| ids.contains(&t.id)))
            .map(|t| proto::Team {
                members: members
                    .iter()
                    .filter(|m| m.group_id == t.id)
                    .map(|m| proto::UserRef { id: m.id, display_name: m.display_name.clone(), email: m.email.clone() })
                    .collect(),
                id: t.id,
                name: t.name,
                description: t.description,
            })
            .collect())
    }

    pub async fn list_teams(&self, actor: &Actor) -> Result<Vec<proto::Team>> {
        policy::authorize(actor, Action::ViewDirectory)?;
        self.teams_by_ids(None).await
    }

    pub async fn get_team(&self, actor: &Actor, id: i64) -> Result<proto::Team> {
        policy::authorize(actor, Action::ViewDirectory)?;
        self.teams_by_ids(Some(vec![id])).await?.pop().ok_or(StoreError::NotFound("team"))
    }

    pub async fn create_team(&self, actor: Option<&Actor>, input: proto::CreateTeam) -> Result<proto::Team> {
        if let Some(actor) = actor {
            policy::authorize(actor, Action::ManageTeams)?;
        }
        let name = validate::text("name", &input.name, validate::MAX_NAME_CHARS)?;
        let now = self.now_micros();
        let who = actor.map(Who::user).unwrap_or_else(Who::system);
        let tx = self.db.write().await?;
        let row: Option<IdRow> = query_one(
            &tx.tx,
            self.db.stmt(
                "INSERT INTO teams (name, description, created_at) VALUES (?, ?, ?) RETURNING id",
                vec![name.clone().into(), input.description.trim().to_owned().into(), now.into()],
            ),
        )
        .await
        .map_err(|e| match e {
            StoreError::Db(e) => unique(e, "name", format!("a team named {name} exists")),
            e => e,
        })?;
        let id = row.ok_or(StoreError::NotFound("team"))?.id;
        record(&self.db, &tx.tx, &who, now, NewEvent {
            ticket_id: None, kind: "team.created", field: None,
            before: serde_json::Value::Null, after: json!({ "id": id, "name": name }),
        })
        .await?;
        tx.commit().await?;
        self.teams_by_ids(Some(vec![id])).await?.pop().ok_or(StoreError::NotFound("team"))
    }

    pub async fn update_team(&self, actor: &Actor, id: i64, input: proto::UpdateTeam) -> Result<proto::Team> {
        policy::authorize(actor, Action::ManageTeams)?;
        let before = self.team_row(id).await?;
        let now = self.now_micros();
        let tx = self.db.write().await?;
        if let Some(name) = input.name {
            let name = validate::text("name", &name, validate::MAX_NAME_CHARS)?;
            tx.tx
                .execute_raw(self.db.stmt("UPDATE teams SET name = ? WHERE id = ?", vec![name.clone().into(), id.into()]))
                .await
                .map_err(|e| unique(e, "name", format!("a team named {name} exists")))?;
            record(&self.db, &tx.tx, &Who::user(actor), now, NewEvent {
                ticket_id: None, kind: "team.updated", field: Some("name"),
                before: json!({ "id": id, "value": before.name }), after: json!({ "id": id, "value": name }),
            }).await?;
        }
        if let Some(description) = input.description {
            tx.tx.execute_raw(self.db.stmt("UPDATE teams SET description = ? WHERE id = ?", vec![description.trim().to_owned().into(), id.into()])).await?;
            record(&self.db, &tx.tx, &Who::user(actor), now, NewEvent {
                ticket_id: None, kind: "team.updated", field: Some("description"),
                before: json!({ "id": id, "value": before.description }), after: json!({ "id": id, "value": description.trim() }),
            }).await?;
        }
        tx.commit().await?;
        self.teams_by_ids(Some(vec![id])).await?.pop().ok_or(StoreError::NotFound("team"))
    }

    /// Looks a user up by email (CLI).
    pub async fn user_by_email(&self, email: &str) -> Result<proto::User> {
        let email = email.trim().to_lowercase();
        query_one::<UserRow, _>(self.db.connection(), self.db.stmt(&format!("SELECT {USER_COLUMNS} FROM users WHERE email = ?"), vec![email.into()]))
            .await?
            .ok_or(StoreError::NotFound("user"))?
            .into_proto()
    }

    /// Sets a password from the CLI (`tandem user passwd`), ending the user's sessions.
    pub async fn reset_password(&self, user_id: i64, password: &str) -> Result<()> {
        let system = Actor {
            user_id: 0,
            role: Role::Admin,
            display_name: "tandem CLI".to_owned(),
            inbox_ids: Default::default(),
        };
        self.write_user(&system, user_id, proto::UpdateUser { password: Some(password.to_owned()), ..Default::default() }).await.map(|_| ())
    }

    /// Users who may currently hold tickets of `inbox_id` — used when validating assignments.
    pub(crate) async fn assignee_check<C: ConnectionTrait>(&self, conn: &C, inbox_id: i64, user_id: i64) -> Result<()> {
        #[derive(FromQueryResult)]
        struct Row {
            role: String,
            disabled: bool,
            member: i64,
        }
        let row: Option<Row> = query_one(
            conn,
            self.db.stmt(
                "SELECT u.role, u.disabled, (SELECT COUNT(*) FROM inbox_members m WHERE m.user_id = u.id AND m.inbox_id = ?) AS member \
                 FROM users u WHERE u.id = ?",
                vec![inbox_id.into(), user_id.into()],
            ),
        )
        .await?;
        let row = row.ok_or_else(|| StoreError::validation("assignee_id", format!("no user with id {user_id}")))?;
        let role: Role = crate::rows::parse("users", "role", &row.role)?;
        policy::check_assignee(role, row.disabled, row.member > 0)?;
        Ok(())
    }

    pub(crate) async fn team_exists<C: ConnectionTrait>(&self, conn: &C, team_id: i64) -> Result<()> {
        let row: Option<IdRow> = query_one(conn, self.db.stmt("SELECT id FROM teams WHERE id = ?", vec![team_id.into()])).await?;
        row.map(|_| ()).ok_or_else(|| StoreError::validation("team_id", format!("no team with id {team_id}")))
    }

    pub(crate) async fn inbox_exists<C: ConnectionTrait>(&self, conn: &C, inbox_id: i64) -> Result<()> {
        let row: Option<IdRow> = query_one(conn, self.db.stmt("SELECT id FROM inboxes WHERE id = ?", vec![inbox_id.into()])).await?;
        row.map(|_| ()).ok_or_else(|| StoreError::validation("inbox_id", format!("no inbox with id {inbox_id}")))
    }
}

/// The two kinds of membership.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    Inbox,
    Team,
}


impl Store {
    /// Every user, for the CLI (`tandem user list`).
    pub async fn list_all_users(&self) -> Result<Vec<proto::User>> {
        let rows: Vec<UserRow> =
            query_all(self.db.connection(), self.db.stmt(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY id"), vec![])).await?;
        rows.into_iter().map(UserRow::into_proto).collect()
    }

    /// Whether any user exists (first run detection).
    pub async fn has_users(&self) -> Result<bool> {
        let row: Option<IdRow> = query_one(self.db.connection(), self.db.stmt("SELECT id FROM users LIMIT 1", vec![])).await?;
        Ok(row.is_some())
    }
}
