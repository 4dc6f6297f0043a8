use tandem_domain::DomainError;
use tandem_proto::Conflict;

/// Why a storage operation failed. The API maps each variant to one HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A domain rule refused the change (validation, transition, permission).
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// The thing does not exist, or the actor may not know that it does.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The caller worked on a stale version of a ticket.
    #[error("the ticket changed since version {seen}")]
    Conflict { seen: i64, conflict: Box<Conflict> },
    /// A unique value is taken (an email, an inbox address, a team name…).
    #[error("{message}")]
    Duplicate { field: &'static str, message: String },
    /// Wrong email or password (deliberately vague).
    #[error("wrong email or password")]
    InvalidCredentials,
    #[error("database error: {0}")]
    Db(#[from] sea_orm::DbErr),
    #[error("blob store: {0}")]
    Io(#[from] std::io::Error),
    #[error("corrupt stored value in {table}.{column}: {detail}")]
    Corrupt { table: &'static str, column: &'static str, detail: String },
    #[error("password hashing failed: {0}")]
    Hash(String),
}

impl StoreError {
    pub fn validation(field: &str, message: impl Into<String>) -> Self {
        StoreError::Domain(DomainError::validation(field, message))
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
