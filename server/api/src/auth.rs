//! Who is calling: a session cookie (the web UI) or a bearer token (integrations).
//!
//! Cookie-authenticated writes are CSRF-safe: the cookie is `SameSite=Strict`, JSON bodies
//! need `content-type: application/json` (which a cross-site form cannot send without a CORS
//! preflight that Tandem never grants), and a write whose `Origin` or `Sec-Fetch-Site` says it
//! comes from another site is refused.

use axum::{
    extract::FromRequestParts,
    http::{HeaderMap, Method, StatusCode, header, request::Parts},
};
use tandem_domain::Actor;

use crate::{error::ApiError, state::AppState};

pub const SESSION_COOKIE: &str = "tandem_session";

/// How the caller authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Session,
    Token,
}

/// The authenticated caller. Handlers that take it reject anonymous requests with 401.
#[derive(Debug, Clone)]
pub struct Auth {
    pub actor: Actor,
    pub via: Via,
}

pub fn session_secret(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
        .filter(|v| !v.is_empty())
}

fn bearer(headers: &HeaderMap) -> Option<Result<String, ApiError>> {
    let value = headers.get(header::AUTHORIZATION)?;
    let parsed = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", "the Authorization header must be `Bearer <token>`"));
    Some(parsed)
}

/// Refuses cookie-authenticated writes that come from another site.
fn check_same_origin(parts: &Parts) -> Result<(), ApiError> {
    if matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    let forbidden = || ApiError::new(StatusCode::FORBIDDEN, "csrf", "cross-site request refused");
    if let Some(site) = parts.headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && (site == "cross-site" || site == "same-site")
    {
        return Err(forbidden());
    }
    if let Some(origin) = parts.headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let host = parts.headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
        let origin_host = origin.split_once("://").map(|(_, rest)| rest).unwrap_or(origin);
        if origin == "null" || origin_host != host {
            return Err(forbidden());
        }
    }
    Ok(())
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(token) = bearer(&parts.headers) {
            let token = token?;
            let actor = state.store.actor_for_api_token(&token).await?.ok_or_else(ApiError::unauthenticated)?;
            return Ok(Auth { actor, via: Via::Token });
        }
        let secret = session_secret(&parts.headers).ok_or_else(ApiError::unauthenticated)?;
        let actor = state.store.actor_for_session(&secret).await?.ok_or_else(ApiError::unauthenticated)?;
        check_same_origin(parts)?;
        Ok(Auth { actor, via: Via::Session })
    }
}

/// The `Set-Cookie` value for a new session, or for clearing it (`secret = None`).
pub fn session_cookie(secret: Option<&str>, max_age_seconds: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    match secret {
        Some(secret) => format!("{SESSION_COOKIE}={secret}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_seconds}{secure}"),
        None => format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}"),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderValue, Request};

    use super::*;

    fn parts(method: Method, headers: &[(&str, &str)]) -> Parts {
        let mut req = Request::builder().method(method).uri("/api/v1/tickets");
        for (k, v) in headers {
            req = req.header(*k, HeaderValue::from_str(v).expect("header"));
        }
        req.body(()).expect("request").into_parts().0
    }

    #[test]
    fn cookies_are_found_among_others() {
        let p = parts(Method::GET, &[("cookie", "a=1; tandem_session=abc; b=2")]);
        assert_eq!(session_secret(&p.headers).as_deref(), Some("abc"));
        let p = parts(Method::GET, &[("cookie", "tandem_session=")]);
        assert_eq!(session_secret(&p.headers), None);
    }

    #[test]
    fn cross_site_writes_are_refused() {
        assert!(check_same_origin(&parts(Method::POST, &[("host", "desk.test"), ("origin", "https://evil.test")])).is_err());
        assert!(check_same_origin(&parts(Method::POST, &[("sec-fetch-site", "cross-site")])).is_err());
        assert!(check_same_origin(&parts(Method::POST, &[("origin", "null")])).is_err());
        assert!(check_same_origin(&parts(Method::POST, &[("host", "desk.test"), ("origin", "http://desk.test")])).is_ok());
        assert!(check_same_origin(&parts(Method::GET, &[("origin", "https://evil.test")])).is_ok());
        assert!(check_same_origin(&parts(Method::POST, &[])).is_ok(), "non-browser clients send no Origin");
    }

    #[test]
    fn cookie_flags() {
        let c = session_cookie(Some("s"), 60, true);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.contains("Secure") && c.contains("Max-Age=60"));
        assert!(session_cookie(None, 0, false).contains("Max-Age=0"));
    }
}
