//! Contacts (customers) and tags.

use sea_orm::{ConnectionTrait, FromQueryResult, Value};
use serde_json::json;
use tandem_domain::{Actor, policy::{self, Action}, validate};
use tandem_proto as proto;

use crate::{
    Store,
    db::{query_all, query_one},
    directory::unique,
    error::{Result, StoreError},
    events::{NewEvent, Who, record},
    rows::{ContactRow, IdRow},
};

/// `AND t.inbox_id IN (…)` for the actor's visible inboxes (nothing for admins).
pub(crate) fn visible_clause(actor: &Actor, alias: &str) -> String {
    match actor.visible_inboxes() {
        None => String::new(),
        Some(ids) if ids.is_empty() => " AND 1 = 0".to_owned(),
        Some(ids) => {
            let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
            format!(" AND {alias}.inbox_id IN ({list})")
        }
    }
}

impl Store {
    fn contact_select(actor: &Actor) -> String {
        format!(
            "SELECT c.id, c.email, c.name, c.company, c.created_at, \
             (SELECT COUNT(*) FROM tickets t WHERE t.contact_id = c.id{}) AS ticket_count FROM contacts c",
            visible_clause(actor, "t")
        )
    }

    /// Contacts, optionally matching `query` in name, email or company; `after_id` is the cursor.
    pub async fn list_contacts(&self, actor: &Actor, query: Option<&str>, after_id: Option<i64>, limit: u32) -> Result<proto::Page<proto::Contact>> {
        policy::authorize(actor, Action::ViewContacts)?;
        let mut sql = format!("{} WHERE 1 = 1", Self::contact_select(actor));
        let mut values: Vec<Value> = Vec::new();
        if let Some(q) = query.map(str::trim).filter(|q| !q.is_empty()) {
            let pattern = format!("%{}%", q.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
            sql.push_str(" AND (LOWER(c.name) LIKE ? ESCAPE '\\' OR c.email LIKE ? ESCAPE '\\' OR LOWER(COALESCE(c.company, '')) LIKE ? ESCAPE '\\')");
            values.extend([pattern.clone().into(), pattern.clone().into(), pattern.into()]);
        }
        if let Some(after) = after_id {
            sql.push_str(" AND c.id > ?");
            values.push(after.into());
        }
        let limit = limit.clamp(1, 200);
        sql.push_str(&format!(" ORDER BY c.id LIMIT {}", limit + 1));
        let mut rows: Vec<ContactRow> = query_all(self.db.connection(), self.db.stmt(&sql, values)).await?;
        let next_cursor = if rows.len() > limit as usize {
            rows.truncate(limit as usize);
            rows.last().map(|r| r.id.to_string())
        } else {
            None
        };
        Ok(proto::Page { items: rows.into_iter().map(Into::into).collect(), next_cursor })
    }

    pub async fn get_contact(&self, actor: &Actor, id: i64) -> Result<proto::Contact> {
        policy::authorize(actor, Action::ViewContacts)?;
        let sql = format!("{} WHERE c.id = ?", Self::contact_select(actor));
        query_one::<ContactRow, _>(self.db.connection(), self.db.stmt(&sql, vec![id.into()]))
            .await?
            .map(Into::into)
            .ok_or(StoreError::NotFound("contact"))
    }

    pub async fn create_contact(&self, actor: &Actor, input: proto::CreateContact) -> Result<proto::Contact> {
        policy::authorize(actor, Action::ManageContacts)?;
        let email = validate::email("email", &input.email)?;
        let tx = self.db.write().await?;
        let (id, _) = self.insert_contact(&tx.tx, &Who::user(actor), &email, input.name.as_deref(), input.company).await?;
        tx.commit().await?;
        self.get_contact(actor, id).await
    }

    /// Inserts a contact (a name from the address when none is given); answers its id and name.
    async fn insert_contact<C: ConnectionTrait>(&self, conn: &C, who: &Who, email: &str, name: Option<&str>, company: Option<String>) -> Result<(i64, String)> {
        let name = match name.map(str::trim).filter(|n| !n.is_empty()) {
            Some(name) => validate::text("name", name, validate::MAX_NAME_CHARS)?,
            None => email.split('@').next().unwrap_or(email).to_owned(),
        };
        let company = company.map(|c| c.trim().to_owned()).filter(|c| !c.is_empty()).or_else(|| validate::company_from_email(email));
        let now = self.now_micros();
        let row: Option<IdRow> = query_one(
            conn,
            self.db.stmt(
                "INSERT INTO contacts (email, name, company, created_at, updated_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
                vec![email.into(), name.clone().into(), company.into(), now.into(), now.into()],
            ),
        )
        .await
        .map_err(|e| match e {
            StoreError::Db(e) => unique(e, "email", format!("a contact with email {email} exists")),
            e => e,
        })?;
        let id = row.ok_or(StoreError::NotFound("contact"))?.id;
        record(&self.db, conn, who, now, NewEvent {
            ticket_id: None, kind: "contact.created", field: None,
            before: serde_json::Value::Null, after: json!({ "id": id, "email": email, "name": name }),
        })
        .await?;
        Ok((id, name))
    }

    /// The contact with this email, created if new (inside the caller's transaction).
    pub(crate) async fn find_or_create_contact<C: ConnectionTrait>(&self, conn: &C, who: &Who, input: &proto::ContactInput) -> Result<(i64, String)> {
        let email = validate::email("contact.email", &input.email)?;
        #[derive(FromQueryResult)]
        struct Row {
            id: i64,
            name: String,
        }
        let existing: Option<Row> = query_one(conn, self.db.stmt("SELECT id, name FROM contacts WHERE email = ?", vec![email.clone().into()])).await?;
        match existing {
            Some(row) => Ok((row.id, row.name)),
            None => self.insert_contact(conn, who, &email, input.name.as_deref(), None).await,
        }
    }

    pub async fn update_contact(&self, actor: &Actor, id: i64, input: proto::UpdateContact) -> Result<proto::Contact> {
        policy::authorize(actor, Action::ManageContacts)?;
        let before = self.get_contact(actor, id).await?;
        let now = self.now_micros();
        let tx = self.db.write().await?;
        if let Some(name) = input.name {
            let name = validate::text("name", &name, validate::MAX_NAME_CHARS)?;
            tx.tx.execute_raw(self.db.stmt("UPDATE contacts SET name = ?, updated_at = ? WHERE id = ?", vec![name.clone().into(), now.into(), id.into()])).await?;
            crate::search::index::index_contact_tickets(&self.db, &tx.tx, id).await?;
            record(&self.db, &tx.tx, &Who::user(actor), now, NewEvent {
                ticket_id: None, kind: "contact.updated", field: Some("name"),
                before: json!({ "id": id, "value": before.name }), after: json!({ "id": id, "value": name }),
            }).await?;
        }
        if let Some(company) = input.company {
            let company = company.map(|c| c.trim().to_owned()).filter(|c| !c.is_empty());
            tx.tx.execute_raw(self.db.stmt("UPDATE contacts SET company = ?, updated_at = ? WHERE id = ?", vec![company.clone().into(), now.into(), id.into()])).await?;
            record(&self.db, &tx.tx, &Who::user(actor), now, NewEvent {
                ticket_id: None, kind: "contact.updated", field: Some("company"),
                before: json!({ "id": id, "value": before.company }), after: json!({ "id": id, "value": company }),
            }).await?;
        }
        tx.commit().await?;
        self.get_contact(actor, id).await
    }

    /// Tags in use on tickets the actor can see, most used first.
    pub async fn list_tags(&self, actor: &Actor) -> Result<Vec<proto::Tag>> {
        policy::authorize(actor, Action::ViewDirectory)?;
        #[derive(FromQueryResult)]
        struct Row {
            tag: String,
            n: i64,
        }
        let sql = format!(
            "SELECT g.tag, COUNT(*) AS n FROM ticket_tags g JOIN tickets t ON t.id = g.ticket_id WHERE 1 = 1{} \
             GROUP BY g.tag ORDER BY n DESC, g.tag LIMIT 1000",
            visible_clause(actor, "t")
        );
        let rows: Vec<Row> = query_all(self.db.connection(), self.db.stmt(&sql, vec![])).await?;
        Ok(rows.into_iter().map(|r| proto::Tag { name: r.tag, ticket_count: r.n }).collect())
    }
}
