//! Canned responses and their preview.

use sea_orm::ConnectionTrait;
use serde_json::json;
use tandem_domain::{
    Actor,
    policy::{self, Action},
    template::{self, AgentVars, ContactVars, InboxVars, TemplateContext, TicketVars},
    validate,
};
use tandem_proto as proto;

use crate::{
    Store,
    db::{query_all, query_one},
    directory::unique,
    error::{Result, StoreError},
    events::{NewEvent, Who, record},
    rows::{IdRow, TemplateRow},
};

const TEMPLATE_SELECT: &str = "SELECT id, name, subject, body, created_at, updated_at FROM templates";

impl Store {
    pub async fn list_templates(&self, actor: &Actor) -> Result<Vec<proto::Template>> {
        policy::authorize(actor, Action::ViewTemplates)?;
        let rows: Vec<TemplateRow> = query_all(self.db.connection(), self.db.stmt(&format!("{TEMPLATE_SELECT} ORDER BY name, id"), vec![])).await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    pub async fn get_template(&self, actor: &Actor, id: i64) -> Result<proto::Template> {
        policy::authorize(actor, Action::ViewTemplates)?;
        self.template_row(id).await.map(Into::into)
    }

    async fn template_row(&self, id: i64) -> Result<TemplateRow> {
        query_one(self.db.connection(), self.db.stmt(&format!("{TEMPLATE_SELECT} WHERE id = ?"), vec![id.into()]))
            .await?
            .ok_or(StoreError::NotFound("template"))
    }

    pub async fn create_template(&self, actor: Option<&Actor>, input: proto::CreateTemplate) -> Result<proto::Template> {
        if let Some(actor) = actor {
            policy::authorize(actor, Action::ManageTemplates)?;
        }
        let name = validate::text("name", &input.name, validate::MAX_NAME_CHARS)?;
        template::check("subject", &input.subject)?;
        template::check("body", &input.body)?;
        if input.body.trim().is_empty() {
            return Err(StoreError::validation("body", "body must not be empty"));
        }
        let now = self.now_micros();
        let who = actor.map(Who::user).unwrap_or_else(Who::system);
        let tx = self.db.write().await?;
        let row: Option<IdRow> = query_one(
            &tx.tx,
            self.db.stmt(
                "INSERT INTO templates (name, subject, body, created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                vec![name.clone().into(), input.subject.into(), input.body.into(), actor.map(|a| a.user_id).into(), now.into(), now.into()],
            ),
        )
        .await
        .map_err(|e| match e {
            StoreError::Db(e) => unique(e, "name", format!("a template named {name} exists")),
            e => e,
        })?;
        let id = row.ok_or(StoreError::NotFound("template"))?.id;
        record(&self.db, &tx.tx, &who, now, NewEvent {
            ticket_id: None, kind: "template.created", field: None,
            before: serde_json::Value::Null, after: json!({ "id": id, "name": name }),
        })
        .await?;
        tx.commit().await?;
        self.template_row(id).await.map(Into::into)
    }

    pub async fn update_template(&self, actor: &Actor, id: i64, input: proto::UpdateTemplate) -> Result<proto::Template> {
        policy::authorize(actor, Action::ManageTemplates)?;
        let before = self.template_row(id).await?;
        let name = input.name.map(|n| validate::text("name", &n, validate::MAX_NAME_CHARS)).transpose()?.unwrap_or(before.name.clone());
        let subject = input.subject.unwrap_or(before.subject.clone());
        let body = input.body.unwrap_or(before.body.clone());
        template::check("subject", &subject)?;
        template::check("body", &body)?;
        let now = self.now_micros();
        let tx = self.db.write().await?;
        tx.tx
            .execute_raw(self.db.stmt(
                "UPDATE templates SET name = ?, subject = ?, body = ?, updated_at = ? WHERE id = ?",
                vec![name.clone().into(), subject.clone().into(), body.clone().into(), now.into(), id.into()],
            ))
            .await
            .map_err(|e| unique(e, "name", format!("a template named {name} exists")))?;
        record(&self.db, &tx.tx, &Who::user(actor), now, NewEvent {
            ticket_id: None, kind: "template.updated", field: None,
            before: json!({ "id": id, "name": before.name, "subject": before.subject, "body": before.body }),
            after: json!({ "id": id, "name": name, "subject": subject, "body": body }),
        })
        .await?;
        tx.commit().await?;
        self.template_row(id).await.map(Into::into)
    }

    pub async fn delete_template(&self, actor: &Actor, id: i64) -> Result<()> {
        policy::authorize(actor, Action::ManageTemplates)?;
        let before = self.template_row(id).await?;
        let now = self.now_micros();
        let tx = self.db.write().await?;
        tx.tx.execute_raw(self.db.stmt("DELETE FROM templates WHERE id = ?", vec![id.into()])).await?;
        record(&self.db, &tx.tx, &Who::user(actor), now, NewEvent {
            ticket_id: None, kind: "template.deleted", field: None,
            before: json!({ "id": id, "name": before.name, "subject": before.subject, "body": before.body }),
            after: serde_json::Value::Null,
        })
        .await?;
        tx.commit().await
    }

    /// Renders a saved template or a draft against a ticket (or sample data).
    pub async fn preview_template(&self, actor: &Actor, input: proto::PreviewTemplate) -> Result<proto::RenderedTemplate> {
        policy::authorize(actor, Action::ViewTemplates)?;
        let (subject, body) = match (input.template_id, input.body) {
            (Some(id), None) => {
                let row = self.template_row(id).await?;
                (input.subject.unwrap_or(row.subject), row.body)
            }
            (None, Some(body)) => (input.subject.unwrap_or_default(), body),
            _ => return Err(StoreError::validation("template_id", "give either template_id or body")),
        };
        let ctx = self.template_context(actor, input.ticket_number).await?;
        Ok(proto::RenderedTemplate {
            subject: template::render("subject", &subject, &ctx)?,
            body: template::render("body", &body, &ctx)?,
        })
    }

    /// The variables for a ticket, seen by `actor` (who is the `agent`).
    pub(crate) async fn template_context(&self, actor: &Actor, ticket_number: Option<i64>) -> Result<TemplateContext> {
        let me = self.user_row(actor.user_id).await?;
        let agent = AgentVars { name: me.display_name, email: me.email };
        let Some(number) = ticket_number else { return Ok(TemplateContext::sample(agent)) };
        let detail = self.get_ticket(actor, number).await?;
        let ticket = detail.ticket;
        let contact = self.get_contact(actor, ticket.contact.id).await?;
        let inbox = self.get_inbox(actor, ticket.inbox_id).await?;
        let row = crate::tickets::load_ticket(&self.db, self.db.connection(), number, false).await?;
        let csat_link = self.csat_link(&self.csat_signer().await?, row.id);
        Ok(TemplateContext {
            contact: ContactVars::new(&contact.name, &contact.email, contact.company),
            ticket: TicketVars {
                number: ticket.number,
                subject: ticket.subject,
                status: ticket.status.to_string(),
                priority: ticket.priority.to_string(),
            },
            agent,
            inbox: InboxVars { name: inbox.name, address: inbox.address },
            csat_link,
        })
    }
}
