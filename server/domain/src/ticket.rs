//! Ticket rules: status transitions, field updates with their audit changes, what a new
//! message does to a ticket, the preconditions of merge and split, and when a failed
//! delivery may be sent again.
//!
//! Functions here mutate an in-memory [`TicketState`] and return the [`Change`]s to record;
//! the storage layer persists both in one transaction and bumps the version.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tandem_proto::{DeliveryState, MessageKind, Priority, TicketStatus};

use crate::{DomainError, policy::Action, validate};

/// The mutable state of a ticket, as the rules see it.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketState {
    pub number: i64,
    pub subject: String,
    pub status: TicketStatus,
    pub priority: Priority,
    pub inbox_id: i64,
    pub team_id: Option<i64>,
    pub assignee_id: Option<i64>,
    pub tags: Vec<String>,
    pub category: Option<String>,
    pub language: Option<String>,
    pub snoozed_until: Option<DateTime<Utc>>,
    pub merged_into: Option<i64>,
    pub first_response_at: Option<DateTime<Utc>>,
    pub last_customer_message_at: Option<DateTime<Utc>>,
    pub last_agent_message_at: Option<DateTime<Utc>>,
    pub solved_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub version: i64,
}

/// One field's move, recorded as an audit event.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub field: &'static str,
    pub before: Value,
    pub after: Value,
}

/// A requested update; `None` leaves a field alone, `Some(None)` clears a nullable one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TicketPatch {
    pub subject: Option<String>,
    pub status: Option<TicketStatus>,
    pub priority: Option<Priority>,
    pub inbox_id: Option<i64>,
    pub team_id: Option<Option<i64>>,
    pub assignee_id: Option<Option<i64>>,
    pub tags: Option<Vec<String>>,
    pub category: Option<Option<String>>,
    pub language: Option<Option<String>>,
    pub snoozed_until: Option<Option<DateTime<Utc>>>,
}

impl TicketPatch {
    pub fn is_empty(&self) -> bool {
        *self == TicketPatch::default()
    }
}

/// Whether a ticket may go from `from` to `to`.
///
/// - `closed` is final: a customer writing again opens a new ticket linked to the old one.
/// - `new` means "nobody looked yet": no way back to it.
/// - Everything else moves freely (spam can be undone to `open`).
pub fn check_transition(from: TicketStatus, to: TicketStatus) -> Result<(), DomainError> {
    use TicketStatus::*;
    let ok = from == to || !matches!((from, to), (Closed, _) | (_, New));
    if ok { Ok(()) } else { Err(DomainError::InvalidTransition { from, to }) }
}

fn record<T: serde::Serialize + PartialEq>(changes: &mut Vec<Change>, field: &'static str, slot: &mut T, value: T) {
    if *slot != value {
        changes.push(Change { field, before: json!(slot), after: json!(value) });
        *slot = value;
    }
}

/// Sets the status and the timestamps that go with it.
pub fn set_status(state: &mut TicketState, to: TicketStatus, now: DateTime<Utc>) -> Result<Vec<Change>, DomainError> {
    check_transition(state.status, to)?;
    let mut changes = Vec::new();
    if state.status == to {
        return Ok(changes);
    }
    record(&mut changes, "status", &mut state.status, to);
    match to {
        TicketStatus::Solved => record(&mut changes, "solved_at", &mut state.solved_at, Some(now)),
        TicketStatus::Closed => {
            if state.solved_at.is_none() {
                record(&mut changes, "solved_at", &mut state.solved_at, Some(now));
            }
            record(&mut changes, "closed_at", &mut state.closed_at, Some(now));
        }
        _ => record(&mut changes, "solved_at", &mut state.solved_at, None),
    }
    if !to.is_active() {
        record(&mut changes, "snoozed_until", &mut state.snoozed_until, None);
    }
    Ok(changes)
}

fn ensure_not_merged(state: &TicketState) -> Result<(), DomainError> {
    match state.merged_into {
        Some(into) => Err(DomainError::State(format!("ticket #{} was merged into #{into}", state.number))),
        None => Ok(()),
    }
}

/// The permissions a patch needs, given the ticket's current state.
pub fn actions_for_patch(state: &TicketState, patch: &TicketPatch) -> Vec<Action> {
    let inbox_id = state.inbox_id;
    let mut actions = vec![Action::ViewTicket { inbox_id }];
    let touches_work = patch.subject.is_some()
        || patch.status.is_some()
        || patch.priority.is_some()
        || patch.tags.is_some()
        || patch.category.is_some()
        || patch.language.is_some()
        || patch.snoozed_until.is_some();
    if touches_work {
        actions.push(Action::WorkTicket { inbox_id });
    }
    if let Some(new) = patch.assignee_id
        && new != state.assignee_id
    {
        actions.push(Action::Assign { inbox_id, current: state.assignee_id, new });
    }
    if let Some(team) = patch.team_id
        && team != state.team_id
    {
        actions.push(Action::ChangeTeam { inbox_id });
    }
    if let Some(to) = patch.inbox_id
        && to != inbox_id
    {
        actions.push(Action::MoveTicket { from: inbox_id, to });
    }
    actions
}

/// Applies a validated patch. The caller has checked permissions and that referenced
/// inboxes, teams and users exist.
pub fn apply_patch(state: &mut TicketState, patch: TicketPatch, now: DateTime<Utc>) -> Result<Vec<Change>, DomainError> {
    ensure_not_merged(state)?;
    let mut changes = Vec::new();
    if let Some(subject) = patch.subject {
        let subject = validate::text("subject", &subject, validate::MAX_SUBJECT_CHARS)?;
        record(&mut changes, "subject", &mut state.subject, subject);
    }
    if let Some(status) = patch.status {
        changes.extend(set_status(state, status, now)?);
    }
    if let Some(priority) = patch.priority {
        record(&mut changes, "priority", &mut state.priority, priority);
    }
    if let Some(inbox_id) = patch.inbox_id {
        record(&mut changes, "inbox_id", &mut state.inbox_id, inbox_id);
    }
    if let Some(team_id) = patch.team_id {
        record(&mut changes, "team_id", &mut state.team_id, team_id);
    }
    if let Some(assignee_id) = patch.assignee_id {
        record(&mut changes, "assignee_id", &mut state.assignee_id, assignee_id);
    }
    if let Some(tags) = patch.tags {
        let tags = validate::tags(&tags)?;
        record(&mut changes, "tags", &mut state.tags, tags);
    }
    if let Some(category) = patch.category {
        let category = category
            .map(|c| validate::text("category", &c, validate::MAX_NAME_CHARS))
            .transpose()?;
        record(&mut changes, "category", &mut state.category, category);
    }
    if let Some(language) = patch.language {
        let language = language.map(|l| validate::language("language", &l)).transpose()?;
        record(&mut changes, "language", &mut state.language, language);
    }
    if let Some(snoozed_until) = patch.snoozed_until {
        if let Some(until) = snoozed_until {
            if until <= now {
                return Err(DomainError::validation("snoozed_until", "snooze until a time in the future"));
            }
            if !state.status.is_active() {
                return Err(DomainError::validation("snoozed_until", format!("a {} ticket cannot be snoozed", state.status)));
            }
        }
        record(&mut changes, "snoozed_until", &mut state.snoozed_until, snoozed_until);
    }
    Ok(changes)
}

/// A customer wrote (new inbound message on an existing ticket): it wakes the ticket up.
///
/// Closed tickets are final: the caller opens a new ticket instead (see [`check_transition`]).
pub fn on_customer_message(state: &mut TicketState, now: DateTime<Utc>) -> Result<Vec<Change>, DomainError> {
    ensure_not_merged(state)?;
    let mut changes = Vec::new();
    if matches!(state.status, TicketStatus::Pending | TicketStatus::Solved | TicketStatus::OnHold) {
        changes.extend(set_status(state, TicketStatus::Open, now)?);
    } else if state.status == TicketStatus::Closed {
        return Err(DomainError::State(format!("ticket #{} is closed", state.number)));
    }
    record(&mut changes, "snoozed_until", &mut state.snoozed_until, None);
    state.last_customer_message_at = Some(now);
    Ok(changes)
}

/// A snooze ran out: the ticket comes back to the inbox as `open`.
pub fn end_snooze(state: &mut TicketState, now: DateTime<Utc>) -> Result<Vec<Change>, DomainError> {
    ensure_not_merged(state)?;
    let mut changes = Vec::new();
    if matches!(state.status, TicketStatus::New | TicketStatus::Pending | TicketStatus::OnHold) {
        changes.extend(set_status(state, TicketStatus::Open, now)?);
    }
    record(&mut changes, "snoozed_until", &mut state.snoozed_until, None);
    Ok(changes)
}

/// The customer has not answered a pending ticket for too long: it is solved.
pub fn auto_solve(state: &mut TicketState, now: DateTime<Utc>) -> Result<Vec<Change>, DomainError> {
    ensure_not_merged(state)?;
    if state.status != TicketStatus::Pending {
        return Err(DomainError::State(format!("ticket #{} is {}, not pending", state.number, state.status)));
    }
    set_status(state, TicketStatus::Solved, now)
}

/// The priority one step up (urgent stays urgent): an SLA escalation.
pub fn raised(priority: Priority) -> Priority {
    match priority {
        Priority::Low => Priority::Normal,
        Priority::Normal => Priority::High,
        Priority::High | Priority::Urgent => Priority::Urgent,
    }
}

/// The line Tandem sends when it solves a pending ticket nobody answered, in the ticket's
/// language (English by default).
pub fn auto_solve_notice(language: Option<&str>, days: i64) -> String {
    match language.unwrap_or("en") {
        "fr" => format!("Sans réponse de votre part depuis {days} jours, nous considérons cette demande comme résolue. Répondez simplement à ce message si vous avez encore besoin d'aide."),
        "pl" => format!("Nie otrzymaliśmy odpowiedzi od {days} dni, więc uznajemy zgłoszenie za rozwiązane. Wystarczy odpowiedzieć na tę wiadomość, jeśli nadal potrzebujesz pomocy."),
        "ru" => format!("Мы не получили ответа в течение {days} дн., поэтому считаем обращение решённым. Если помощь всё ещё нужна, просто ответьте на это письмо."),
        _ => format!("We have not heard back from you for {days} days, so we consider this request solved. Simply reply to this message if you still need help."),
    }
}

/// An agent replied to the customer, optionally setting the status in the same step.
pub fn on_agent_reply(
    state: &mut TicketState,
    set: Option<TicketStatus>,
    now: DateTime<Utc>,
) -> Result<Vec<Change>, DomainError> {
    ensure_not_merged(state)?;
    if matches!(state.status, TicketStatus::Closed | TicketStatus::Spam) && set.is_none_or(|s| s == state.status) {
        return Err(DomainError::State(format!(
            "ticket #{} is {}: reopen it before replying",
            state.number, state.status
        )));
    }
    let mut changes = Vec::new();
    let target = set.unwrap_or(if state.status == TicketStatus::New { TicketStatus::Open } else { state.status });
    changes.extend(set_status(state, target, now)?);
    if state.first_response_at.is_none() {
        record(&mut changes, "first_response_at", &mut state.first_response_at, Some(now));
    }
    state.last_agent_message_at = Some(now);
    Ok(changes)
}

/// Whether a message of this ticket may be sent again by mail (an agent's "send again"): only
/// a reply or an auto-reply whose delivery failed (refused by the SMTP server, given up after
/// the retries, bounced, or never attempted because the inbox had no SMTP), and only while
/// the ticket could take a reply. A message on its way or delivered is not sent twice.
pub fn check_resend(state: &TicketState, kind: MessageKind, delivery: Option<DeliveryState>) -> Result<(), DomainError> {
    ensure_not_merged(state)?;
    if !matches!(kind, MessageKind::Reply | MessageKind::AutoReply) {
        return Err(DomainError::State(format!("only replies and auto-replies are sent by mail; this message is {}", kind.as_str().replace('_', " "))));
    }
    match delivery {
        Some(DeliveryState::Failed) => {}
        Some(DeliveryState::Queued | DeliveryState::Sending) => {
            return Err(DomainError::State("the message is already on its way (queued for sending)".to_owned()));
        }
        Some(DeliveryState::Sent) => {
            return Err(DomainError::State("the message was delivered; only a failed delivery is sent again".to_owned()));
        }
        None => return Err(DomainError::State("this message is not sent by mail".to_owned())),
    }
    if matches!(state.status, TicketStatus::Closed | TicketStatus::Spam) {
        return Err(DomainError::State(format!("ticket #{} is {}: reopen it before sending again", state.number, state.status)));
    }
    Ok(())
}

/// Preconditions of merging `source` into `target`.
pub fn check_merge(source: &TicketState, target: &TicketState) -> Result<(), DomainError> {
    if source.number == target.number {
        return Err(DomainError::validation("into", "a ticket cannot be merged into itself"));
    }
    ensure_not_merged(source)?;
    ensure_not_merged(target)?;
    if target.status == TicketStatus::Closed {
        return Err(DomainError::State(format!("ticket #{} is closed and cannot absorb others", target.number)));
    }
    Ok(())
}

/// What merging does to both tickets: the target gains the source's tags and the earliest
/// timestamps; the source is closed and points to the target.
pub fn merge(source: &mut TicketState, target: &mut TicketState, now: DateTime<Utc>) -> Result<(Vec<Change>, Vec<Change>), DomainError> {
    check_merge(source, target)?;
    let mut target_changes = Vec::new();
    let mut tags = target.tags.clone();
    tags.extend(source.tags.iter().cloned());
    tags.sort();
    tags.dedup();
    record(&mut target_changes, "tags", &mut target.tags, tags);
    target.last_customer_message_at = target.last_customer_message_at.max(source.last_customer_message_at);
    target.last_agent_message_at = target.last_agent_message_at.max(source.last_agent_message_at);
    let mut source_changes = Vec::new();
    if source.status != TicketStatus::Closed {
        source_changes.extend(set_status(source, TicketStatus::Closed, now)?);
    }
    record(&mut source_changes, "merged_into", &mut source.merged_into, Some(target.number));
    Ok((source_changes, target_changes))
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};
    use proptest::prelude::*;

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).single().expect("valid")
    }

    fn ticket(status: TicketStatus) -> TicketState {
        TicketState {
            number: 1001,
            subject: "Printer on fire".into(),
            status,
            priority: Priority::Normal,
            inbox_id: 1,
            team_id: None,
            assignee_id: None,
            tags: vec![],
            category: None,
            language: None,
            snoozed_until: None,
            merged_into: None,
            first_response_at: None,
            last_customer_message_at: None,
            last_agent_message_at: None,
            solved_at: None,
            closed_at: None,
            version: 1,
        }
    }

    fn status_strategy() -> impl Strategy<Value = TicketStatus> {
        prop::sample::select(TicketStatus::ALL.to_vec())
    }

    proptest! {
        #[test]
        fn closed_is_final_and_new_is_never_reentered(from in status_strategy(), to in status_strategy()) {
            let result = check_transition(from, to);
            if from == to {
                prop_assert!(result.is_ok());
            } else if from == TicketStatus::Closed || to == TicketStatus::New {
                prop_assert!(result.is_err());
            } else {
                prop_assert!(result.is_ok());
            }
        }

        #[test]
        fn solved_at_is_set_exactly_while_solved_or_closed(path in prop::collection::vec(status_strategy(), 0..12)) {
            let mut state = ticket(TicketStatus::New);
            for (i, to) in path.into_iter().enumerate() {
                let _ = set_status(&mut state, to, now() + Duration::minutes(i as i64));
                let done = matches!(state.status, TicketStatus::Solved | TicketStatus::Closed);
                prop_assert_eq!(state.solved_at.is_some(), done);
            }
        }
    }

    #[test]
    fn patch_records_only_real_changes() {
        let mut state = ticket(TicketStatus::Open);
        let patch = TicketPatch {
            priority: Some(Priority::Normal),
            tags: Some(vec!["Billing".into(), "billing".into()]),
            category: Some(Some("invoices".into())),
            ..TicketPatch::default()
        };
        let changes = apply_patch(&mut state, patch, now()).expect("valid patch");
        let fields: Vec<_> = changes.iter().map(|c| c.field).collect();
        assert_eq!(fields, ["tags", "category"]);
        assert_eq!(state.tags, ["billing"]);
        assert_eq!(changes[0].before, json!([]));
        assert_eq!(changes[0].after, json!(["billing"]));
    }

    #[test]
    fn a_snooze_that_ends_reopens_and_auto_solve_needs_pending() {
        let mut state = ticket(TicketStatus::Pending);
        state.snoozed_until = Some(now() + Duration::hours(1));
        let changes = end_snooze(&mut state, now()).expect("ends");
        assert_eq!((state.status, state.snoozed_until), (TicketStatus::Open, None));
        assert_eq!(changes.iter().map(|c| c.field).collect::<Vec<_>>(), vec!["status", "snoozed_until"]);
        assert!(auto_solve(&mut state, now()).is_err());
        state.status = TicketStatus::Pending;
        auto_solve(&mut state, now()).expect("solves");
        assert_eq!((state.status, state.solved_at), (TicketStatus::Solved, Some(now())));
        assert_eq!(raised(Priority::Low), Priority::Normal);
        assert_eq!(raised(Priority::Urgent), Priority::Urgent);
        assert!(auto_solve_notice(Some("pl"), 7).contains("7 dni"));
    }

    #[test]
    fn snooze_must_be_in_the_future_and_on_active_tickets() {
        let mut state = ticket(TicketStatus::Open);
        let past = TicketPatch { snoozed_until: Some(Some(now() - Duration::hours(1))), ..Default::default() };
        assert!(apply_patch(&mut state, past, now()).is_err());
        let future = TicketPatch { snoozed_until: Some(Some(now() + Duration::hours(1))), ..Default::default() };
        assert!(apply_patch(&mut state, future.clone(), now()).is_ok());
        let mut solved = ticket(TicketStatus::Solved);
        assert!(apply_patch(&mut solved, future, now()).is_err());
        // Solving clears a snooze.
        set_status(&mut state, TicketStatus::Solved, now()).expect("open to solved");
        assert_eq!(state.snoozed_until, None);
    }

    #[test]
    fn customer_reply_reopens_solved_and_pending_but_not_closed() {
        for status in [TicketStatus::Solved, TicketStatus::Pending, TicketStatus::OnHold] {
            let mut state = ticket(status);
            on_customer_message(&mut state, now()).expect("reopens");
            assert_eq!(state.status, TicketStatus::Open);
            assert_eq!(state.last_customer_message_at, Some(now()));
        }
        let mut state = ticket(TicketStatus::New);
        on_customer_message(&mut state, now()).expect("stays new");
        assert_eq!(state.status, TicketStatus::New);
        assert!(on_customer_message(&mut ticket(TicketStatus::Closed), now()).is_err());
    }

    #[test]
    fn first_reply_opens_and_stamps_first_response_once() {
        let mut state = ticket(TicketStatus::New);
        on_agent_reply(&mut state, None, now()).expect("reply");
        assert_eq!(state.status, TicketStatus::Open);
        assert_eq!(state.first_response_at, Some(now()));
        let later = now() + Duration::hours(2);
        on_agent_reply(&mut state, Some(TicketStatus::Pending), later).expect("reply and pend");
        assert_eq!(state.status, TicketStatus::Pending);
        assert_eq!(state.first_response_at, Some(now()));
        assert_eq!(state.last_agent_message_at, Some(later));
        assert!(on_agent_reply(&mut ticket(TicketStatus::Closed), None, now()).is_err());
    }

    #[test]
    fn merge_closes_the_source_and_unites_tags() {
        let mut source = ticket(TicketStatus::Open);
        source.tags = vec!["vip".into()];
        let mut target = ticket(TicketStatus::Pending);
        target.number = 1002;
        target.tags = vec!["billing".into()];
        let (source_changes, _) = merge(&mut source, &mut target, now()).expect("merge");
        assert_eq!(source.status, TicketStatus::Closed);
        assert_eq!(source.merged_into, Some(1002));
        assert_eq!(target.tags, ["billing", "vip"]);
        assert!(source_changes.iter().any(|c| c.field == "merged_into"));
        assert!(merge(&mut source, &mut target, now()).is_err(), "already merged");
        let mut same = ticket(TicketStatus::Open);
        assert!(check_merge(&ticket(TicketStatus::Open), &same).is_err());
        same.number = 5;
        same.status = TicketStatus::Closed;
        assert!(check_merge(&ticket(TicketStatus::Open), &same).is_err());
    }

    #[test]
    fn patch_permissions_follow_what_changes() {
        let state = ticket(TicketStatus::Open);
        let patch = TicketPatch { assignee_id: Some(Some(3)), ..Default::default() };
        assert_eq!(
            actions_for_patch(&state, &patch),
            [Action::ViewTicket { inbox_id: 1 }, Action::Assign { inbox_id: 1, current: None, new: Some(3) }]
        );
        let noop = TicketPatch { assignee_id: Some(None), ..Default::default() };
        assert_eq!(actions_for_patch(&state, &noop), [Action::ViewTicket { inbox_id: 1 }]);
    }

    #[test]
    fn only_a_failed_reply_or_auto_reply_is_sent_again_on_a_ticket_that_takes_replies() {
        let open = ticket(TicketStatus::Open);
        for kind in [MessageKind::Reply, MessageKind::AutoReply] {
            assert_eq!(check_resend(&open, kind, Some(DeliveryState::Failed)), Ok(()), "{kind}");
            for state in [DeliveryState::Queued, DeliveryState::Sending, DeliveryState::Sent] {
                assert!(matches!(check_resend(&open, kind, Some(state)), Err(DomainError::State(_))), "{kind} {state}");
            }
        }
        for kind in [MessageKind::Inbound, MessageKind::Note, MessageKind::System] {
            let refused = check_resend(&open, kind, Some(DeliveryState::Failed));
            assert!(matches!(&refused, Err(DomainError::State(m)) if m.contains("only replies")), "{kind}: {refused:?}");
        }
        assert!(check_resend(&open, MessageKind::Reply, None).is_err(), "a message that was never mail");
        // A solved or waiting ticket still takes a reply; a closed, spam or merged one does not.
        for status in [TicketStatus::New, TicketStatus::Pending, TicketStatus::OnHold, TicketStatus::Solved] {
            assert_eq!(check_resend(&ticket(status), MessageKind::Reply, Some(DeliveryState::Failed)), Ok(()), "{status}");
        }
        for status in [TicketStatus::Closed, TicketStatus::Spam] {
            let refused = check_resend(&ticket(status), MessageKind::Reply, Some(DeliveryState::Failed));
            assert!(matches!(&refused, Err(DomainError::State(m)) if m.contains("reopen")), "{status}: {refused:?}");
        }
        let mut merged = ticket(TicketStatus::Closed);
        merged.merged_into = Some(1002);
        let refused = check_resend(&merged, MessageKind::Reply, Some(DeliveryState::Failed));
        assert!(matches!(&refused, Err(DomainError::State(m)) if m.contains("merged into #1002")), "{refused:?}");
    }
}
