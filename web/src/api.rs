//! Calls to Tandem's REST API (`/api/v1`) from the browser.
//!
//! The UI is served from the same origin as the API, so `fetch` sends the session cookie by
//! itself (`credentials: same-origin` is the default) and nothing here handles tokens. The UI
//! uses no private endpoint: everything it does, an integrator can do with the same calls.

use std::fmt;

use gloo_net::http::{Request, RequestBuilder, Response};
use serde::{Serialize, de::DeserializeOwned};
use tandem_proto::{Conflict, ErrorBody, LoginRequest, Me, Message};

/// Why a call failed.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// The server answered with an error status. `message` is the server's own explanation
    /// (`ErrorBody.error.message`) when the body had one.
    Status {
        status: u16,
        code: Option<String>,
        message: String,
        /// The messages the caller has not seen, on a send guard 409.
        unseen: Vec<Message>,
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

    /// A 409: the thing changed since the caller loaded it.
    pub fn is_conflict(&self) -> bool {
        matches!(self, ApiError::Status { status: 409, .. })
    }

    pub fn unseen(&self) -> &[Message] {
        match self {
            ApiError::Status { unseen, .. } => unseen,
            _ => &[],
        }
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

pub type ApiResult<T> = Result<T, ApiError>;

/// `GET path?query`, answer as JSON.
pub async fn get<T: DeserializeOwned>(path: &str, query: &[(&str, String)]) -> ApiResult<T> {
    let mut builder = Request::get(path).header("Accept", "application/json");
    if !query.is_empty() {
        // Through `query()`: gloo-net appends a stray `&` to a query written into the URL.
        builder = builder.query(query.iter().map(|(k, v)| (*k, v.as_str())));
    }
    json_body(send(builder.build()).await?).await
}

/// A JSON body sent with `method`, answer as JSON.
pub async fn send_json<B: Serialize, T: DeserializeOwned>(
    method: Method,
    path: &str,
    body: &B,
) -> ApiResult<T> {
    let request = method
        .builder(path)
        .header("Accept", "application/json")
        .json(body);
    json_body(send(request).await?).await
}

/// A request whose answer has no body worth reading (204).
pub async fn send_empty(method: Method, path: &str) -> ApiResult<()> {
    let response = send(
        method
            .builder(path)
            .header("Accept", "application/json")
            .build(),
    )
    .await?;
    if response.ok() {
        Ok(())
    } else {
        Err(error_of(response).await)
    }
}

/// Raw bytes (a file the user picked) with their content type, answer as JSON.
pub async fn post_blob<T: DeserializeOwned>(
    path: &str,
    query: &[(&str, String)],
    content_type: &str,
    blob: &web_sys::Blob,
) -> ApiResult<T> {
    let request = Request::post(path)
        .query(query.iter().map(|(k, v)| (*k, v.as_str())))
        .header("Accept", "application/json")
        .header("Content-Type", content_type)
        .body(blob.clone());
    json_body(send(request).await?).await
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    fn builder(self, path: &str) -> RequestBuilder {
        match self {
            Method::Post => Request::post(path),
            Method::Put => Request::put(path),
            Method::Patch => Request::patch(path),
            Method::Delete => Request::delete(path),
        }
    }
}

/// `GET /api/v1/me`: who is signed in (401 when nobody is).
pub async fn me() -> ApiResult<Me> {
    get("/api/v1/me", &[]).await
}

/// `POST /api/v1/session`: sign in; the server sets the session cookie.
pub async fn sign_in(email: String, password: String) -> ApiResult<Me> {
    send_json(Method::Post, "/api/v1/session", &LoginRequest { email, password }).await
}

/// `DELETE /api/v1/session`: sign out. An already expired session counts as signed out.
pub async fn sign_out() -> ApiResult<()> {
    match send_empty(Method::Delete, "/api/v1/session").await {
        Err(error) if error.is_unauthenticated() => Ok(()),
        other => other,
    }
}

async fn send(request: Result<Request, gloo_net::Error>) -> ApiResult<Response> {
    let request = request.map_err(|e| ApiError::Network(e.to_string()))?;
    request
        .send()
        .await
        .map_err(|e| ApiError::Network(e.to_string()))
}

async fn json_body<T: DeserializeOwned>(response: Response) -> ApiResult<T> {
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
        Ok(body) => {
            let unseen = body
                .error
                .conflict
                .map(|conflict: Conflict| conflict.unseen_messages)
                .unwrap_or_default();
            ApiError::Status {
                status,
                code: Some(body.error.code),
                message: body.error.message,
                unseen,
            }
        }
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
                unseen: Vec::new(),
            }
        }
    }
}

/// A JSON body sent with `method`; the answer's body (if any) is not read.
pub async fn send_empty_json<B: Serialize>(method: Method, path: &str, body: &B) -> ApiResult<()> {
    let request = method
        .builder(path)
        .header("Accept", "application/json")
        .json(body);
    let response = send(request).await?;
    if response.ok() {
        Ok(())
    } else {
        Err(error_of(response).await)
    }
}
