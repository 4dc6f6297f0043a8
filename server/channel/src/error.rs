use tandem_store::StoreError;

/// What can go wrong while moving mail.
#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("IMAP: {0}")]
    Imap(String),
    #[error("SMTP: {0}")]
    Smtp(String),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("connecting to {address}: {error}")]
    Connect { address: String, error: std::io::Error },
    #[error("{0} timed out")]
    Timeout(&'static str),
}

impl From<async_imap::error::Error> for ChannelError {
    fn from(e: async_imap::error::Error) -> Self {
        ChannelError::Imap(e.to_string())
    }
}
