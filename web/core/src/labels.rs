//! Human labels for wire enums, in the user's language, and a person's initials.

use tandem_proto::{Availability, CsatRating, Priority, Role, TicketStatus, SlaState};

use crate::i18n::{Msg, t};

pub fn role(role: Role) -> &'static str {
    t(match role {
        Role::Admin => Msg::RoleAdmin,
        Role::Supervisor => Msg::RoleSupervisor,
        Role::Agent => Msg::RoleAgent,
        Role::Observer => Msg::RoleObserver,
    })
}

pub fn status(status: TicketStatus) -> &'static str {
    t(match status {
        TicketStatus::New => Msg::StatusNew,
        TicketStatus::Open => Msg::StatusOpen,
        TicketStatus::Pending => Msg::StatusPending,
        TicketStatus::OnHold => Msg::StatusOnHold,
        TicketStatus::Solved => Msg::StatusSolved,
        TicketStatus::Closed => Msg::StatusClosed,
        TicketStatus::Spam => Msg::StatusSpam,
    })
}

pub fn priority(priority: Priority) -> &'static str {
    t(match priority {
        Priority::Low => Msg::PriorityLow,
        Priority::Normal => Msg::PriorityNormal,
        Priority::High => Msg::PriorityHigh,
        Priority::Urgent => Msg::PriorityUrgent,
    })
}

pub fn availability(availability: Availability) -> &'static str {
    t(match availability {
        Availability::Online => Msg::AvailabilityOnline,
        Availability::Away => Msg::AvailabilityAway,
        Availability::Off => Msg::AvailabilityOff,
    })
}

/// `#1001`.
pub fn ticket_number(number: i64) -> String {
    format!("#{number}")
}

pub fn sla_state(state: SlaState) -> &'static str {
    t(match state {
        SlaState::OnTrack => Msg::SlaOnTrack,
        SlaState::AtRisk => Msg::SlaAtRisk,
        SlaState::Breached => Msg::SlaBreached,
        SlaState::Paused => Msg::SlaPaused,
    })
}

pub fn csat(rating: CsatRating) -> &'static str {
    t(match rating {
        CsatRating::Good => Msg::CsatGood,
        CsatRating::Okay => Msg::CsatOkay,
        CsatRating::Bad => Msg::CsatBad,
    })
}

/// `Ada Lovelace` → `AL` (avatars).
pub fn initials(name: &str) -> String {
    let letters: String = name.split_whitespace().filter_map(|w| w.chars().next()).take(2).collect();
    if letters.is_empty() { "?".to_owned() } else { letters.to_uppercase() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_has_a_label() {
        assert_eq!(ticket_number(1001), "#1001");
        assert!(TicketStatus::ALL.iter().all(|s| !status(*s).is_empty()));
        assert!(Priority::ALL.iter().all(|p| !priority(*p).is_empty()));
        assert!(Role::ALL.iter().all(|r| !role(*r).is_empty()));
        assert!(Availability::ALL.iter().all(|a| !availability(*a).is_empty()));
        assert_eq!(status(TicketStatus::OnHold), "On hold");
    }

    #[test]
    fn initials_of_names() {
        assert_eq!(initials("Ada Lovelace"), "AL");
        assert_eq!(initials("agent"), "A");
        assert_eq!(initials("  "), "?");
        assert_eq!(initials("Жанна д'Арк Третья"), "ЖД");
    }
}
