use serde::{Deserialize, Serialize};

/// Declares a wire enum with its snake_case names, `as_str`, `FromStr` and `ALL`.
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::UnknownVariant;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::UnknownVariant { kind: stringify!($name), value: s.to_owned(), expected: &[$($text),+] }),
                }
            }
        }
    };
}

/// A string that names no variant of a wire enum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownVariant {
    /// The enum's Rust name (`TicketStatus`).
    pub kind: &'static str,
    pub value: String,
    /// The names that are accepted.
    pub expected: &'static [&'static str],
}

impl std::fmt::Display for UnknownVariant {
    /// "unknown ticket status `later` (one of: new, open, …)".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut kind = String::new();
        for (i, c) in self.kind.chars().enumerate() {
            if c.is_uppercase() && i > 0 {
                kind.push(' ');
            }
            kind.extend(c.to_lowercase());
        }
        write!(f, "unknown {kind} `{}` (one of: {})", self.value, self.expected.join(", "))
    }
}

impl std::error::Error for UnknownVariant {}

wire_enum! {
    /// What a user may do. See `tandem_domain::policy` for the full matrix.
    Role {
        /// Everything, including users, inboxes and plugins.
        Admin => "admin",
        /// All tickets of their inboxes, reassignment, templates, reports.
        Supervisor => "supervisor",
        /// Works tickets of their inboxes.
        Agent => "agent",
        /// Read-only, including reports.
        Observer => "observer",
    }
}

wire_enum! {
    /// Lifecycle of a ticket.
    TicketStatus {
        New => "new",
        Open => "open",
        Pending => "pending",
        OnHold => "on_hold",
        Solved => "solved",
        Closed => "closed",
        Spam => "spam",
    }
}

wire_enum! {
    Priority {
        Low => "low",
        Normal => "normal",
        High => "high",
        Urgent => "urgent",
    }
}

wire_enum! {
    /// What a message on a ticket is.
    MessageKind {
        /// Written by the customer (email, API).
        Inbound => "inbound",
        /// An agent's answer to the customer.
        Reply => "reply",
        /// Internal, never sent to the customer.
        Note => "note",
        /// Sent automatically (plugins, acknowledgements).
        AutoReply => "auto_reply",
        /// Written by Tandem itself (merge notices and the like).
        System => "system",
    }
}

wire_enum! {
    /// A customer's rating of a solved ticket.
    CsatRating {
        Good => "good",
        Okay => "okay",
        Bad => "bad",
    }
}

wire_enum! {
    /// How customers rate a solved ticket of an inbox.
    #[derive(Default)]
    CsatScale {
        /// Good / okay / bad.
        #[default]
        Three => "three",
        /// 1 (poor) to 5 (excellent); 4–5 count as good, 3 as okay, 1–2 as bad.
        Five => "five",
    }
}

wire_enum! {
    Availability {
        Online => "online",
        Away => "away",
        Off => "off",
    }
}

wire_enum! {
    /// Who did something: a message author or an event actor.
    ActorKind {
        Contact => "contact",
        User => "user",
        Plugin => "plugin",
        System => "system",
    }
}

wire_enum! {
    /// Delivery of an outbound message (reply, auto-reply).
    DeliveryState {
        /// Waiting in the outbox.
        Queued => "queued",
        /// Handed to the SMTP server right now.
        Sending => "sending",
        Sent => "sent",
        Failed => "failed",
    }
}

wire_enum! {
    /// Sort orders of the ticket list.
    TicketSort {
        /// Most recently updated first (the default).
        UpdatedDesc => "updated_desc",
        UpdatedAsc => "updated_asc",
        CreatedDesc => "created_desc",
        CreatedAsc => "created_asc",
        NumberDesc => "number_desc",
        NumberAsc => "number_asc",
    }
}

impl TicketStatus {
    /// Statuses counted as "still to do" by views such as "All open".
    pub fn is_active(self) -> bool {
        matches!(self, TicketStatus::New | TicketStatus::Open | TicketStatus::Pending | TicketStatus::OnHold)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_serde_and_from_str() {
        for status in TicketStatus::ALL {
            let json = serde_json::to_string(status).expect("serialises");
            assert_eq!(json, format!("\"{}\"", status.as_str()));
            assert_eq!(status.as_str().parse::<TicketStatus>(), Ok(*status));
        }
        assert_eq!("on_hold".parse::<TicketStatus>(), Ok(TicketStatus::OnHold));
        let err = "later".parse::<TicketStatus>().expect_err("unknown");
        assert_eq!(err.to_string(), "unknown ticket status `later` (one of: new, open, pending, on_hold, solved, closed, spam)");
        assert_eq!("x".parse::<Priority>().expect_err("unknown").to_string(), "unknown priority `x` (one of: low, normal, high, urgent)");
    }
}

wire_enum! {
    /// Ticket-list views by service level.
    SlaView {
        Breached => "breached",
        AtRisk => "at_risk",
    }
}
