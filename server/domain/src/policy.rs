//! Who may do what. Every operation of the storage layer asks [`authorize`] before it writes
//! or reveals anything, so this module is the single place where permissions are decided.
//!
//! Architecture invariant: access to a ticket requires membership of its inbox, except for
//! admins. A ticket the actor may not see is reported as "not found", never as "forbidden",
//! so ticket numbers of other inboxes do not leak (see `tandem_store`).

use tandem_proto::Role;

use crate::{Actor, DomainError};

/// Something an actor wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Read a ticket of this inbox: conversation, timeline, attachments.
    ViewTicket { inbox_id: i64 },
    /// Open a ticket in this inbox on behalf of a contact.
    CreateTicket { inbox_id: i64 },
    /// Reply, add notes, change status, priority, tags, category, language, snooze, merge, split.
    WorkTicket { inbox_id: i64 },
    /// Change a ticket's assignee from `current` to `new`.
    Assign { inbox_id: i64, current: Option<i64>, new: Option<i64> },
    /// Route a ticket to another team.
    ChangeTeam { inbox_id: i64 },
    /// Move a ticket to another inbox.
    MoveTicket { from: i64, to: i64 },
    /// See users, teams, inboxes and tags (everyone signed in: needed to assign and filter).
    ViewDirectory,
    ManageUsers,
    ManageInboxes,
    ManageTeams,
    ViewContacts,
    ManageContacts,
    ViewTemplates,
    ManageTemplates,
    /// The global audit trail.
    ViewAudit,
    ViewReports,
    /// Upload, configure, enable, reorder and dry-run plugins.
    ManagePlugins,
    /// Read SLA policies and business-hours calendars (everyone: due times are on tickets).
    ViewSla,
    /// Create, change and delete SLA policies and calendars.
    ManageSla,
    /// Share a saved view with everyone (team views in every sidebar).
    ShareViews,
}

/// Decides whether `actor` may perform `action`.
pub fn authorize(actor: &Actor, action: Action) -> Result<(), DomainError> {
    use Action::*;
    use Role::*;
    let role = actor.role;
    let allowed = match action {
        _ if role == Admin => true,
        ViewTicket { inbox_id } => actor.belongs_to(inbox_id),
        CreateTicket { inbox_id } | WorkTicket { inbox_id } => {
            matches!(role, Supervisor | Agent) && actor.belongs_to(inbox_id)
        }
        Assign { inbox_id, current, new } => {
            actor.belongs_to(inbox_id)
                && match role {
                    Supervisor => true,
                    // Agents take unassigned tickets, and release their own; reassigning
                    // someone else's work is a supervisor's call.
                    Agent => {
                        let me = Some(actor.user_id);
                        (current.is_none() || current == me) && (new.is_none() || new == me)
                    }
                    Admin | Observer => false,
                }
        }
        ChangeTeam { inbox_id } => role == Supervisor && actor.belongs_to(inbox_id),
        MoveTicket { from, to } => role == Supervisor && actor.belongs_to(from) && actor.belongs_to(to),
        ViewDirectory | ViewContacts | ViewTemplates | ViewSla => true,
        ManageContacts => matches!(role, Supervisor | Agent),
        ManageTemplates | ShareViews => role == Supervisor,
        ViewReports => matches!(role, Supervisor | Observer),
        ManageUsers | ManageInboxes | ManageTeams | ViewAudit | ManagePlugins | ManageSla => false,
    };
    if allowed {
        Ok(())
    } else {
        Err(DomainError::Forbidden(denial_message(action)))
    }
}

fn denial_message(action: Action) -> String {
    use Action::*;
    match action {
        ViewTicket { .. } => "you are not a member of this ticket's inbox",
        CreateTicket { .. } | WorkTicket { .. } => "your role cannot change tickets of this inbox",
        Assign { .. } => "your role cannot make this assignment",
        ChangeTeam { .. } => "only supervisors and admins route tickets to teams",
        MoveTicket { .. } => "only supervisors of both inboxes and admins move tickets",
        ManageUsers => "only admins manage users",
        ManageInboxes => "only admins manage inboxes",
        ManageTeams => "only admins manage teams",
        ManageContacts => "your role cannot change contacts",
        ManageTemplates => "only supervisors and admins manage templates",
        ViewAudit => "only admins read the audit trail",
        ManagePlugins => "only admins manage plugins",
        ManageSla => "only admins manage SLA policies and calendars",
        ShareViews => "only supervisors and admins share views with everyone",
        ViewReports => "your role cannot read reports",
        ViewDirectory | ViewContacts | ViewTemplates | ViewSla => "not allowed",
    }
    .to_owned()
}

/// Whether a user may hold tickets of an inbox: active, not an observer, member (or admin).
pub fn check_assignee(
    role: Role,
    disabled: bool,
    member_of_inbox: bool,
) -> Result<(), DomainError> {
    if disabled {
        return Err(DomainError::validation("assignee_id", "this user is disabled"));
    }
    if role == Role::Observer {
        return Err(DomainError::validation("assignee_id", "observers cannot be assigned tickets"));
    }
    if role != Role::Admin && !member_of_inbox {
        return Err(DomainError::validation(
            "assignee_id",
            "the assignee is not a member of this ticket's inbox",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn actor(role: Role, inboxes: &[i64]) -> Actor {
        Actor {
            user_id: 7,
            role,
            display_name: "Test".into(),
            inbox_ids: inboxes.iter().copied().collect::<BTreeSet<_>>(),
        }
    }

    fn allowed(role: Role, inboxes: &[i64], action: Action) -> bool {
        authorize(&actor(role, inboxes), action).is_ok()
    }

    #[test]
    fn ticket_access_requires_membership_except_for_admins() {
        let view = Action::ViewTicket { inbox_id: 1 };
        for role in Role::ALL {
            assert!(allowed(*role, &[1], view), "{role} member");
            assert_eq!(allowed(*role, &[2], view), *role == Role::Admin, "{role} non-member");
        }
    }

    #[test]
    fn observers_only_read() {
        let work = Action::WorkTicket { inbox_id: 1 };
        assert!(!allowed(Role::Observer, &[1], work));
        assert!(!allowed(Role::Observer, &[1], Action::CreateTicket { inbox_id: 1 }));
        assert!(allowed(Role::Observer, &[1], Action::ViewReports));
        assert!(!allowed(Role::Observer, &[], Action::ManageContacts));
    }

    #[test]
    fn agents_take_and_release_but_do_not_reassign() {
        let me = Some(7);
        let other = Some(8);
        let assign = |current, new| Action::Assign { inbox_id: 1, current, new };
        assert!(allowed(Role::Agent, &[1], assign(None, me)), "take unassigned");
        assert!(allowed(Role::Agent, &[1], assign(me, None)), "release own");
        assert!(!allowed(Role::Agent, &[1], assign(other, me)), "steal");
        assert!(!allowed(Role::Agent, &[1], assign(None, other)), "give away");
        assert!(!allowed(Role::Agent, &[2], assign(None, me)), "other inbox");
        assert!(allowed(Role::Supervisor, &[1], assign(other, me)));
        assert!(!allowed(Role::Supervisor, &[2], assign(other, me)));
    }

    #[test]
    fn admin_areas_are_admin_only() {
        for action in [Action::ManageUsers, Action::ManageInboxes, Action::ManageTeams, Action::ViewAudit] {
            for role in Role::ALL {
                assert_eq!(allowed(*role, &[1], action), *role == Role::Admin, "{role} {action:?}");
            }
        }
        assert!(allowed(Role::Supervisor, &[], Action::ManageTemplates));
        assert!(!allowed(Role::Agent, &[], Action::ManageTemplates));
    }

    #[test]
    fn moving_between_inboxes_needs_both() {
        let mv = Action::MoveTicket { from: 1, to: 2 };
        assert!(allowed(Role::Supervisor, &[1, 2], mv));
        assert!(!allowed(Role::Supervisor, &[1], mv));
        assert!(!allowed(Role::Agent, &[1, 2], mv));
    }

    #[test]
    fn assignees_must_be_active_members_who_work() {
        assert!(check_assignee(Role::Agent, false, true).is_ok());
        assert!(check_assignee(Role::Agent, false, false).is_err());
        assert!(check_assignee(Role::Agent, true, true).is_err());
        assert!(check_assignee(Role::Observer, false, true).is_err());
        assert!(check_assignee(Role::Admin, false, false).is_ok());
    }
}
