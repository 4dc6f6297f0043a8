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
    refuse_cross_site(&parts.headers)
}

/// Refuses a request that a browser says comes from another site: `Sec-Fetch-Site` is
/// `cross-site` or `same-site`, or `Origin` is present and is not this server's `Host`.
/// Non-browser clients send neither and pass. Cookie writes are checked this way, and every
/// WebSocket handshake (cross-site WebSocket hijacking: a GET the browser sends with cookies).
pub fn refuse_cross_site(headers: &HeaderMap) -> Result<(), ApiError> {
    let forbidden = || ApiError::new(StatusCode::FORBIDDEN, "csrf", "cross-site request refused");
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && (site == "cross-site" || site == "same-site")
    {
        return Err(forbidden());
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("null");
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
        let origin_host = origin.split_once("://").map(|(_, rest)| rest).unwrap_or(origin);
        if origin == "null" || origin_host != host {
            return Err(forbidden());
        }
    }
    Ok(())
}

/// What a request authenticates with. A long-lived connection (the live socket) keeps it to
/// check again later: a signed-out session or a revoked token ends the connection.
#[derive(Clone)]
pub enum Credential {
    Token(String),
    Session(String),
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret itself.
        f.write_str(match self {
            Credential::Token(_) => "Credential::Token(…)",
            Credential::Session(_) => "Credential::Session(…)",
        })
    }
}

impl Credential {
    /// The request's credential: a bearer token first, else the session cookie.
    pub fn from_headers(headers: &HeaderMap) -> Result<Option<Credential>, ApiError> {
        match bearer(headers) {
            Some(token) => Ok(Some(Credential::Token(token?))),
            None => Ok(session_secret(headers).map(Credential::Session)),
        }
    }

    pub fn via(&self) -> Via {
        match self {
            Credential::Token(_) => Via::Token,
            Credential::Session(_) => Via::Session,
        }
    }

    /// The user it stands for now; `None` once expired, revoked, signed out or disabled.
    pub async fn actor(&self, store: &tandem_store::Store) -> Result<Option<Actor>, ApiError> {
        Ok(match self {
            Credential::Token(token) => store.actor_for_api_token(token).await?,
            Credential::Session(secret) => store.actor_for_session(secret).await?,
        })
    }
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let credential = Credential::from_headers(&parts.headers)?.ok_or_else(ApiError::unauthenticated)?;
        let actor = credential.actor(&state.store).await?.ok_or_else(ApiError::unauthenticated)?;
        let via = credential.via();
        if via == Via::Session {
            check_same_origin(parts)?;
        }
        Ok(Auth { actor, via })
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
        // WebSocket handshakes are GETs, checked whatever the method.
        assert!(refuse_cross_site(&parts(Method::GET, &[("host", "desk.test"), ("origin", "https://evil.test")]).headers).is_err());
        assert!(refuse_cross_site(&parts(Method::GET, &[("host", "desk.test"), ("origin", "http://desk.test")]).headers).is_ok());
        assert!(refuse_cross_site(&parts(Method::GET, &[("host", "desk.test")]).headers).is_ok());
    }

    #[test]
    fn credentials_prefer_the_bearer_token_and_never_print_secrets() {
        let p = parts(Method::GET, &[("cookie", "tandem_session=abc"), ("authorization", "Bearer tok")]);
        let credential = Credential::from_headers(&p.headers).expect("well formed").expect("present");
        assert!(matches!(&credential, Credential::Token(t) if t == "tok"));
        assert!(!format!("{credential:?}").contains("tok"));
        let p = parts(Method::GET, &[("cookie", "tandem_session=abc")]);
        assert!(matches!(Credential::from_headers(&p.headers), Ok(Some(Credential::Session(s))) if s == "abc"));
        assert!(matches!(Credential::from_headers(&parts(Method::GET, &[]).headers), Ok(None)));
        assert!(Credential::from_headers(&parts(Method::GET, &[("authorization", "Basic x")]).headers).is_err());
    }

    #[test]
    fn cookie_flags() {
        let c = session_cookie(Some("s"), 60, true);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.contains("Secure") && c.contains("Max-Age=60"));
        assert!(session_cookie(None, 0, false).contains("Max-Age=0"));
    }
}
