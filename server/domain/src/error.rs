use tandem_proto::TicketStatus;

/// Why the domain refused a change. Each variant maps to one HTTP status in the API layer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// The input is malformed or out of range (422).
    #[error("{message}")]
    Validation { field: Option<String>, message: String },
    /// The change is well-formed but not allowed from the current state (422).
    #[error("cannot change status from {from} to {to}")]
    InvalidTransition { from: TicketStatus, to: TicketStatus },
    /// The change conflicts with the current state (409), e.g. merging a merged ticket.
    #[error("{0}")]
    State(String),
    /// The actor lacks the permission (403).
    #[error("{0}")]
    Forbidden(String),
}

impl DomainError {
    pub fn validation(field: &str, message: impl Into<String>) -> Self {
        DomainError::Validation { field: Some(field.to_owned()), message: message.into() }
    }
}
