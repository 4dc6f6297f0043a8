//! Human labels for wire enums.

use tandem_proto::{Priority, Role, TicketStatus};

pub fn role(role: Role) -> &'static str {
    match role {
        Role::Admin => "Admin",
        Role::Supervisor => "Supervisor",
        Role::Agent => "Agent",
        Role::Observer => "Observer",
    }
}

pub fn status(status: TicketStatus) -> &'static str {
    match status {
        TicketStatus::New => "New",
        TicketStatus::Open => "Open",
        TicketStatus::Pending => "Pending",
        TicketStatus::OnHold => "On hold",
        TicketStatus::Solved => "Solved",
        TicketStatus::Closed => "Closed",
        TicketStatus::Spam => "Spam",
    }
}

pub fn priority(priority: Priority) -> &'static str {
    match priority {
        Priority::Low => "Low",
        Priority::Normal => "Normal",
        Priority::High => "High",
        Priority::Urgent => "Urgent",
    }
}

/// `#1001`.
pub fn ticket_number(number: i64) -> String {
    format!("#{number}")
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
        assert_eq!(status(TicketStatus::OnHold), "On hold");
    }
}
