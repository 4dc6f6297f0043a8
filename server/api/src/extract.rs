//! Extractors whose rejections use the API's error format (malformed JSON, wrong types,
//! unknown fields, oversized bodies and bad paths all become clear 4xx answers).

use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Request, rejection::{JsonRejection, PathRejection, QueryRejection}},
    http::{HeaderValue, StatusCode, header, request::Parts},
    response::{IntoResponse, Response},
};
use serde::{Serialize, de::DeserializeOwned};
use tandem_proto::codes;

use crate::error::ApiError;

/// JSON body in, JSON body out.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Json(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::JsonDataError(e) => {
            // serde's message names the field and what was expected, e.g. "unknown field `x`".
            let message = e.body_text();
            let message = message.trim_start_matches("Failed to deserialize the JSON body into the target type: ");
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, codes::VALIDATION, message.to_owned())
        }
        JsonRejection::JsonSyntaxError(e) => ApiError::bad_request(format!("malformed JSON: {}", e.body_text().trim_start_matches("Failed to parse the request body as JSON: "))),
        JsonRejection::MissingJsonContentType(_) => {
            ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, codes::UNSUPPORTED_MEDIA_TYPE, "send the body as `content-type: application/json`")
        }
        JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, codes::PAYLOAD_TOO_LARGE, "the request body is too large")
        }
        other => ApiError::bad_request(other.body_text()),
    }
}

/// Room reserved for a JSON answer before it is written: a page of 50 tickets is ~36 KiB,
/// most other answers are under 4 KiB. (axum's own `Json` starts from 128 bytes and writes
/// through `BytesMut`: on the ticket list that growing and copying was ~11 % of the server's
/// CPU.)
const RESPONSE_CAPACITY: usize = 8 * 1024;

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        match json_bytes(&self.0) {
            Ok(body) => json_response(body),
            Err(e) => e.into_response(),
        }
    }
}

/// `value` as JSON text (an internal error, logged, if it cannot be written).
pub(crate) fn json_bytes<T: Serialize>(value: &T) -> Result<Bytes, ApiError> {
    let mut body = Vec::with_capacity(RESPONSE_CAPACITY);
    match serde_json::to_writer(&mut body, value) {
        Ok(()) => Ok(Bytes::from(body)),
        Err(e) => {
            tracing::error!(error = %e, "serialising a JSON answer");
            Err(ApiError::internal())
        }
    }
}

/// A 200 answer with a JSON body.
pub(crate) fn json_response(body: Bytes) -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response()
}

/// Query string, with the API's error format.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Query(q.0))
            .map_err(|e: QueryRejection| ApiError::bad_request(e.body_text().replace("Failed to deserialize query string: ", "bad query string: ")))
    }
}

/// Path parameters, with the API's error format (`/tickets/abc` is a 400, not a 500).
#[derive(Debug, Clone, Copy, Default)]
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Path(p.0))
            .map_err(|e: PathRejection| ApiError::bad_request(format!("bad path: {}", e.body_text())))
    }
}
