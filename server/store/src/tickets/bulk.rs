//! The same change or reply applied to many tickets. Each ticket is its own transaction, so
//! one refusal (permission, closed ticket…) neither blocks nor undoes the others; every
//! refusal is reported with its reason.

use tandem_domain::{Actor, ticket::TicketPatch};
use tandem_proto::{self as proto, MessageKind};

use crate::{Store, error::StoreError};

pub const MAX_BULK: usize = 500;

#[derive(Debug, Default)]
pub struct BulkOutcome {
    pub succeeded: Vec<i64>,
    pub failed: Vec<(i64, StoreError)>,
}

fn check_selection(numbers: &[i64]) -> Result<Vec<i64>, StoreError> {
    if numbers.is_empty() {
        return Err(StoreError::validation("numbers", "select at least one ticket"));
    }
    if numbers.len() > MAX_BULK {
        return Err(StoreError::validation("numbers", format!("at most {MAX_BULK} tickets at once")));
    }
    let mut unique = numbers.to_vec();
    unique.sort_unstable();
    unique.dedup();
    Ok(unique)
}

impl Store {
    pub async fn bulk_update(&self, actor: &Actor, input: proto::BulkUpdate) -> Result<BulkOutcome, StoreError> {
        let numbers = check_selection(&input.numbers)?;
        let add = tandem_domain::validate::tags(&input.add_tags)?;
        let remove = tandem_domain::validate::tags(&input.remove_tags)?;
        let base = TicketPatch {
            status: input.status,
            priority: input.priority,
            assignee_id: input.assignee_id,
            team_id: input.team_id,
            ..Default::default()
        };
        if base.is_empty() && add.is_empty() && remove.is_empty() {
            return Err(StoreError::validation("numbers", "nothing to change"));
        }
        let mut outcome = BulkOutcome::default();
        for number in numbers {
            let mut patch = base.clone();
            if !add.is_empty() || !remove.is_empty() {
                // Tags are merged with each ticket's own; a concurrent change is caught by the
                // version check inside apply_patch's transaction.
                match self.list_ticket_tags(actor, number).await {
                    Ok(mut tags) => {
                        tags.extend(add.iter().cloned());
                        tags.retain(|t| !remove.contains(t));
                        patch.tags = Some(tags);
                    }
                    Err(e) => {
                        outcome.failed.push((number, e));
                        continue;
                    }
                }
            }
            match self.apply_patch(actor, number, patch, None).await {
                Ok(_) => outcome.succeeded.push(number),
                Err(e) => outcome.failed.push((number, e)),
            }
        }
        Ok(outcome)
    }

    /// One reply to every selected ticket (an incident notice). The send guard does not
    /// apply: the author chose the selection knowingly.
    pub async fn bulk_reply(&self, actor: &Actor, input: proto::BulkReply) -> Result<BulkOutcome, StoreError> {
        let numbers = check_selection(&input.numbers)?;
        tandem_domain::validate::body("body_text", &input.body_text)?;
        let mut outcome = BulkOutcome::default();
        for number in numbers {
            let version = match self.get_ticket(actor, number).await {
                Ok(detail) => detail.ticket.version,
                Err(e) => {
                    outcome.failed.push((number, e));
                    continue;
                }
            };
            let message = proto::PostMessage {
                body_text: input.body_text.clone(),
                body_html: input.body_html.clone(),
                seen_version: Some(version),
                last_seen_message_id: None,
                set_status: input.set_status,
                attachment_ids: Vec::new(),
                // As a reply written on the ticket would: to everyone on the customer's latest mail.
                cc: None,
                bcc: Vec::new(),
            };
            match self.post_message(actor, number, MessageKind::Reply, message).await {
                Ok(_) => outcome.succeeded.push(number),
                Err(e) => outcome.failed.push((number, e)),
            }
        }
        Ok(outcome)
    }

    async fn list_ticket_tags(&self, actor: &Actor, number: i64) -> Result<Vec<String>, StoreError> {
        let row = super::load_ticket(&self.db, self.db.connection(), number, false).await?;
        if !actor.belongs_to(row.inbox_id) {
            return Err(StoreError::NotFound("ticket"));
        }
        Ok(row.state()?.tags)
    }
}
