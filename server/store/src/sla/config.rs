//! SLA policies and business-hours calendars: admins write them, everyone reads them. Every
//! change re-evaluates the open tickets in the same transaction.

use sea_orm::ConnectionTrait;
use tandem_domain::{
    Actor,
    policy::{self, Action},
    sla::{BusinessCalendar, policy::check},
    validate,
};
use tandem_proto as proto;

use super::{CalendarRow, POLICY_SELECT, PolicyRow, refresh_all};
use crate::{
    Store,
    db::{query_all, query_one},
    error::{Result, StoreError},
    events::{NewEvent, Who, record},
    rows::{IdRow, json},
};

const CALENDAR_SELECT: &str = "SELECT id, name, time_zone, hours, holidays FROM sla_calendars";

impl Store {
    pub async fn list_calendars(&self, actor: &Actor) -> Result<Vec<proto::Calendar>> {
        policy::authorize(actor, Action::ViewSla)?;
        let rows: Vec<CalendarRow> = query_all(self.db.connection(), self.db.stmt(&format!("{CALENDAR_SELECT} ORDER BY name, id"), vec![])).await?;
        rows.into_iter().map(CalendarRow::into_proto).collect()
    }

    /// Creates (`id` = `None`) or replaces a calendar.
    pub async fn save_calendar(&self, actor: &Actor, id: Option<i64>, input: proto::SaveCalendar) -> Result<proto::Calendar> {
        policy::authorize(actor, Action::ManageSla)?;
        let name = validate::text("name", &input.name, validate::MAX_NAME_CHARS)?;
        BusinessCalendar::new(&input.time_zone, &input.hours, &input.holidays)?;
        let mut holidays = input.holidays.clone();
        holidays.sort();
        holidays.dedup();
        let at = self.now_micros();
        let tx = self.db.write().await?;
        let id = match id {
            None => {
                let row: Option<IdRow> = query_one(
                    &tx.tx,
                    self.db.stmt(
                        "INSERT INTO sla_calendars (name, time_zone, hours, holidays, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                        vec![name.clone().into(), input.time_zone.clone().into(), json(&input.hours).into(), json(&holidays).into(), at.into(), at.into()],
                    ),
                )
                .await?;
                row.ok_or(StoreError::NotFound("calendar"))?.id
            }
            Some(id) => {
                let done = tx
                    .tx
                    .execute_raw(self.db.stmt(
                        "UPDATE sla_calendars SET name = ?, time_zone = ?, hours = ?, holidays = ?, updated_at = ? WHERE id = ?",
                        vec![name.clone().into(), input.time_zone.clone().into(), json(&input.hours).into(), json(&holidays).into(), at.into(), id.into()],
                    ))
                    .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound("calendar"));
                }
                id
            }
        };
        audit(self, &tx.tx, actor, at, "sla.calendar_saved", serde_json::json!({ "calendar_id": id, "name": name })).await?;
        refresh_all(&self.db, &tx, at).await?;
        tx.commit().await?;
        Ok(proto::Calendar { id, name, time_zone: input.time_zone, hours: input.hours, holidays })
    }

    /// Deletes a calendar no policy uses.
    pub async fn delete_calendar(&self, actor: &Actor, id: i64) -> Result<()> {
        policy::authorize(actor, Action::ManageSla)?;
        let at = self.now_micros();
        let tx = self.db.write().await?;
        let used: Option<IdRow> = query_one(&tx.tx, self.db.stmt("SELECT id FROM sla_policies WHERE calendar_id = ? LIMIT 1", vec![id.into()])).await?;
        if let Some(policy) = used {
            return Err(StoreError::Domain(tandem_domain::DomainError::State(format!(
                "SLA policy {} uses this calendar: change the policy first",
                policy.id
            ))));
        }
        let done = tx.tx.execute_raw(self.db.stmt("DELETE FROM sla_calendars WHERE id = ?", vec![id.into()])).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("calendar"));
        }
        audit(self, &tx.tx, actor, at, "sla.calendar_deleted", serde_json::json!({ "calendar_id": id })).await?;
        tx.commit().await
    }

    /// Every policy, enabled or not, in the order they are tried.
    pub async fn list_sla_policies(&self, actor: &Actor) -> Result<Vec<proto::SlaPolicy>> {
        policy::authorize(actor, Action::ViewSla)?;
        let rows: Vec<PolicyRow> = query_all(self.db.connection(), self.db.stmt(&format!("{POLICY_SELECT} ORDER BY position, id"), vec![])).await?;
        rows.into_iter().map(PolicyRow::into_proto).collect()
    }

    /// Creates (`id` = `None`) or replaces a policy; open tickets are re-evaluated.
    pub async fn save_sla_policy(&self, actor: &Actor, id: Option<i64>, input: proto::SaveSlaPolicy) -> Result<proto::SlaPolicy> {
        policy::authorize(actor, Action::ManageSla)?;
        let p = check(input)?;
        let at = self.now_micros();
        let tx = self.db.write().await?;
        if let Some(inbox) = p.inbox_id {
            self.inbox_exists(&tx.tx, inbox).await?;
        }
        if let Some(team) = p.escalation.team_id {
            self.team_exists(&tx.tx, team).await.map_err(|_| StoreError::validation("escalation.team_id", format!("no team with id {team}")))?;
        }
        if let Some(calendar) = p.calendar_id {
            let found: Option<IdRow> = query_one(&tx.tx, self.db.stmt("SELECT id FROM sla_calendars WHERE id = ?", vec![calendar.into()])).await?;
            found.ok_or_else(|| StoreError::validation("calendar_id", format!("no calendar with id {calendar}")))?;
        }
        let values = vec![
            p.name.clone().into(),
            p.position.into(),
            p.enabled.into(),
            p.inbox_id.into(),
            p.priority.map(|x| x.as_str().to_owned()).into(),
            p.tag.clone().into(),
            p.company.clone().into(),
            p.first_response_minutes.into(),
            p.next_response_minutes.into(),
            p.resolution_minutes.into(),
            p.calendar_id.into(),
            p.warn_before_minutes.into(),
            json(&p.escalation).into(),
            at.into(),
        ];
        let id = match id {
            None => {
                let mut values = values;
                values.push(at.into());
                let row: Option<IdRow> = query_one(
                    &tx.tx,
                    self.db.stmt(
                        "INSERT INTO sla_policies (name, position, enabled, inbox_id, priority, tag, company, first_response_minutes, \
                         next_response_minutes, resolution_minutes, calendar_id, warn_before_minutes, escalation, updated_at, created_at) \
                         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                        values,
                    ),
                )
                .await?;
                row.ok_or(StoreError::NotFound("SLA policy"))?.id
            }
            Some(id) => {
                let mut values = values;
                values.push(id.into());
                let done = tx
                    .tx
                    .execute_raw(self.db.stmt(
                        "UPDATE sla_policies SET name = ?, position = ?, enabled = ?, inbox_id = ?, priority = ?, tag = ?, company = ?, \
                         first_response_minutes = ?, next_response_minutes = ?, resolution_minutes = ?, calendar_id = ?, \
                         warn_before_minutes = ?, escalation = ?, updated_at = ? WHERE id = ?",
                        values,
                    ))
                    .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound("SLA policy"));
                }
                id
            }
        };
        audit(self, &tx.tx, actor, at, "sla.policy_saved", serde_json::json!({ "policy_id": id, "name": p.name })).await?;
        refresh_all(&self.db, &tx, at).await?;
        let row: Option<PolicyRow> = query_one(&tx.tx, self.db.stmt(&format!("{POLICY_SELECT} WHERE id = ?"), vec![id.into()])).await?;
        let saved = row.ok_or(StoreError::NotFound("SLA policy"))?.into_proto()?;
        tx.commit().await?;
        Ok(saved)
    }

    /// Deletes a policy; the tickets it covered are re-evaluated (another policy may match).
    pub async fn delete_sla_policy(&self, actor: &Actor, id: i64) -> Result<()> {
        policy::authorize(actor, Action::ManageSla)?;
        let at = self.now_micros();
        let tx = self.db.write().await?;
        let done = tx.tx.execute_raw(self.db.stmt("DELETE FROM sla_policies WHERE id = ?", vec![id.into()])).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("SLA policy"));
        }
        audit(self, &tx.tx, actor, at, "sla.policy_deleted", serde_json::json!({ "policy_id": id })).await?;
        refresh_all(&self.db, &tx, at).await?;
        tx.commit().await
    }
}

async fn audit<C: ConnectionTrait>(store: &Store, conn: &C, actor: &Actor, at: i64, kind: &str, after: serde_json::Value) -> Result<()> {
    record(&store.db, conn, &Who::user(actor), at, NewEvent { ticket_id: None, kind, field: None, before: serde_json::Value::Null, after }).await
}
