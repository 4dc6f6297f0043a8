//! One error type for every handler, rendered as `{ "error": { "code", "message", "field"? } }`.
//! Internal details (database errors and the like) are logged, never sent to the client.

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use tandem_domain::DomainError;
use tandem_proto::{Conflict, ErrorBody, ErrorDetail, codes};
use tandem_store::StoreError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    /// Boxed: handlers return `Result<_, ApiError>` and the conflict payload is large.
    pub detail: Box<ErrorDetail>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        ApiError { status, detail: Box::new(ErrorDetail { code: code.to_owned(), message: message.into(), field: None, conflict: None }) }
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.detail.field = Some(field.into());
        self
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, codes::BAD_REQUEST, message)
    }

    pub fn validation(field: &str, message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, codes::VALIDATION, message).with_field(field)
    }

    pub fn unauthenticated() -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, codes::UNAUTHENTICATED, "sign in first, or send an API token as `Authorization: Bearer …`")
    }

    pub fn not_found(what: &str) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, codes::NOT_FOUND, format!("{what} not found"))
    }

    pub fn internal() -> Self {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, codes::INTERNAL, "internal error; the server log has the details")
    }

    fn conflict(conflict: Conflict, message: String) -> Self {
        let mut err = ApiError::new(StatusCode::CONFLICT, codes::CONFLICT, message);
        err.detail.conflict = Some(conflict);
        err
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Domain(DomainError::Validation { field, message }) => {
                let mut e = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, codes::VALIDATION, message);
                e.detail.field = field;
                e
            }
            StoreError::Domain(e @ DomainError::InvalidTransition { .. }) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_transition", e.to_string()).with_field("status")
            }
            StoreError::Domain(DomainError::State(message)) => ApiError::new(StatusCode::CONFLICT, "invalid_state", message),
            StoreError::Domain(DomainError::Forbidden(message)) => ApiError::new(StatusCode::FORBIDDEN, codes::FORBIDDEN, message),
            StoreError::NotFound(what) => ApiError::not_found(what),
            StoreError::Conflict { conflict, seen } => {
                let n = conflict.unseen_messages.len();
                let message = if n > 0 {
                    format!("{n} new message(s) arrived since version {seen}: read them, then send again with seen_version {}", conflict.current_version)
                } else {
                    format!("the ticket changed since version {seen}; it is now at version {}", conflict.current_version)
                };
                ApiError::conflict(*conflict, message)
            }
            StoreError::Duplicate { field, message } => ApiError::new(StatusCode::CONFLICT, "duplicate", message).with_field(field),
            StoreError::InvalidCredentials => ApiError::new(StatusCode::UNAUTHORIZED, "invalid_credentials", "wrong email or password"),
            other => {
                tracing::error!(error = %other, "request failed");
                ApiError::internal()
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::warn!(status = %self.status, code = %self.detail.code, "error response");
        }
        (self.status, Json(ErrorBody { error: *self.detail })).into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
