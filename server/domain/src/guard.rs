//! The send guard ("traffic cop"): a reply or note is written against what its author saw.
//! If a reply, note or customer message arrived since, sending stops and the author is shown
//! what they missed. Field changes (status, tags…) alone do not block a reply.

use tandem_proto::MessageKind;

use crate::DomainError;

/// What the author had seen when they wrote: a ticket version or the newest message id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    Version(i64),
    LastMessage(i64),
}

impl Seen {
    /// Reads the marker from a request: one of the two must be present.
    pub fn from_request(seen_version: Option<i64>, last_seen_message_id: Option<i64>) -> Result<Seen, DomainError> {
        match (seen_version, last_seen_message_id) {
            (Some(v), _) => Ok(Seen::Version(v)),
            (None, Some(id)) => Ok(Seen::LastMessage(id)),
            (None, None) => Err(DomainError::validation(
                "seen_version",
                "send seen_version (or last_seen_message_id): the ticket version you looked at",
            )),
        }
    }

    /// Whether a message (`id`, `kind`, and the ticket version it created) is news to the author.
    pub fn is_unseen(self, id: i64, kind: MessageKind, created_version: i64) -> bool {
        let counts = matches!(kind, MessageKind::Inbound | MessageKind::Reply | MessageKind::Note);
        counts
            && match self {
                Seen::Version(v) => created_version > v,
                Seen::LastMessage(last) => id > last,
            }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_marker_is_required() {
        assert!(Seen::from_request(None, None).is_err());
        assert_eq!(Seen::from_request(Some(3), Some(9)), Ok(Seen::Version(3)));
        assert_eq!(Seen::from_request(None, Some(9)), Ok(Seen::LastMessage(9)));
    }

    #[test]
    fn only_conversation_messages_newer_than_the_marker_block() {
        let seen = Seen::Version(4);
        assert!(seen.is_unseen(10, MessageKind::Inbound, 5));
        assert!(seen.is_unseen(10, MessageKind::Note, 5));
        assert!(!seen.is_unseen(10, MessageKind::Reply, 4), "already seen");
        assert!(!seen.is_unseen(10, MessageKind::System, 9), "system notices do not block");
        assert!(!seen.is_unseen(10, MessageKind::AutoReply, 9));
        let by_id = Seen::LastMessage(10);
        assert!(by_id.is_unseen(11, MessageKind::Reply, 1));
        assert!(!by_id.is_unseen(10, MessageKind::Reply, 99));
    }
}
