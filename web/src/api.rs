//! Calls to Tandem's REST API (`/api/v1`) from the browser.
//!
//! The UI is served from the same origin as the API, so `fetch` sends the session cookie by
//! itself (`credentials: same-origin` is the default) and nothing here handles tokens.

use std::fmt;

use gloo_net::http::{Request, Response};
use serde::de::DeserializeOwned;
use tandem_proto::{ErrorBody, LoginRequest, Me, Page, Ticket};

/// How many tickets the first page of the list shows.
pub const TICKET_PAGE_SIZE: u32 = 50;

/// Why a call failed.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// The server answered with an error status. `message` is the server's own explanation
    /// (`ErrorBody.error.message`) when the body had one.
    Status {
        status: u16,
        code: Option<String>,
        message: String,
    },
    /// The request did not reach the server, or the answer did not arrive.
    Network(String),
    /// A success answer whose body is not what the API promises.
    Decode(String),
}

impl ApiError {
    /// The request was refused because there is no valid session.
    pub fn is_unauthenticated(&self) -> bool {
        matches!(self, ApiError::Status { status: 401, .. })
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::Status { message, .. } => f.write_str(message),
            ApiError::Network(detail) => write!(f, "could not reach the server ({detail})"),
            ApiError::Decode(detail) => {
                write!(f, "the server sent an unexpected answer ({detail})")
            }
        }
    }
}

/// `GET /api/v1/me`: who is signed in (401 when nobody is).
pub async fn me() -> Result<Me, ApiError> {
    let response = send(
        Request::get("/api/v1/me")
            .header("Accept", "application/json")
            .build(),
    )
    .await?;
    json_body(response).await
}

/// `POST /api/v1/session`: sign in; the server sets the session cookie.
pub async fn sign_in(email: String, password: String) -> Result<Me, ApiError> {
    let body = LoginRequest { email, password };
    let request = Request::post("/api/v1/session")
        .header("Accept", "application/json")
        .json(&body);
    let response = send(request).await?;
    json_body(response).await
}

/// `DELETE /api/v1/session`: sign out. An already expired session counts as signed out.
pub async fn sign_out() -> Result<(), ApiError> {
    let response = send(
        Request::delete("/api/v1/session")
            .header("Accept", "application/json")
            .build(),
    )
    .await?;
    if response.ok() {
        return Ok(());
    }
    let error = error_of(response).await;
    if error.is_unauthenticated() {
        Ok(())
    } else {
        Err(error)
    }
}

/// `GET /api/v1/tickets?limit=50`: the first page of tickets the user may see.
pub async fn first_ticket_page() -> Result<Page<Ticket>, ApiError> {
    // The query goes through `query()`: gloo-net appends a stray `&` to a query in the URL.
    let limit = TICKET_PAGE_SIZE.to_string();
    let response = send(
        Request::get("/api/v1/tickets")
            .query([("limit", limit.as_str())])
            .header("Accept", "application/json")
            .build(),
    )
    .await?;
    json_body(response).await
}

async fn send(request: Result<Request, gloo_net::Error>) -> Result<Response, ApiError> {
    let request = request.map_err(|e| ApiError::Network(e.to_string()))?;
    request
        .send()
        .await
        .map_err(|e| ApiError::Network(e.to_string()))
}

async fn json_body<T: DeserializeOwned>(response: Response) -> Result<T, ApiError> {
    if !response.ok() {
        return Err(error_of(response).await);
    }
    response
        .json::<T>()
        .await
        .map_err(|e| ApiError::Decode(e.to_string()))
}

/// Reads the `{ "error": { … } }` body of an error answer, falling back to the status line for
/// answers that do not come from the API (a proxy's 502, a static server's 404).
async fn error_of(response: Response) -> ApiError {
    let status = response.status();
    match response.json::<ErrorBody>().await {
        Ok(body) => ApiError::Status {
            status,
            code: Some(body.error.code),
            message: body.error.message,
        },
        Err(_) => {
            let reason = response.status_text();
            let message = if reason.is_empty() {
                format!("the server answered HTTP {status}")
            } else {
                format!("the server answered HTTP {status} {reason}")
            };
            ApiError::Status {
                status,
                code: None,
                message,
            }
        }
    }
}
