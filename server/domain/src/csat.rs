//! Customer satisfaction (CSAT): the signed link a customer rates a solved ticket with, and
//! the ratings.
//!
//! A link carries a token: the ticket id, an expiry and an HMAC-SHA256 (128-bit, truncated)
//! over both with the deployment's secret. Without the secret no token can be made; changing
//! the ticket id or the expiry breaks the signature, so a token rates its own ticket only, and
//! only until it expires. The same link may change the rating until then.

use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// How long a satisfaction link works.
pub const LINK_DAYS: i64 = 30;
/// Longest comment, in characters.
pub const MAX_COMMENT_CHARS: usize = 2000;

const CONTEXT: &[u8] = b"tandem-csat-v1";
const MAC_BYTES: usize = 16;
/// ticket id (8) + expiry in seconds (8) + MAC.
const TOKEN_BYTES: usize = 16 + MAC_BYTES;

/// Why a token was refused. The public page shows one message for all of them but the
/// expiry, so a forger learns nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("this link is not valid")]
    Invalid,
    #[error("this link has expired")]
    Expired,
}

/// What a valid token stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    pub ticket_id: i64,
    pub expires_at: DateTime<Utc>,
}

/// Signs and checks tokens with the deployment's secret.
#[derive(Clone)]
pub struct Signer {
    key: [u8; 32],
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer(..)")
    }
}

impl Signer {
    pub fn new(key: [u8; 32]) -> Signer {
        Signer { key }
    }

    fn mac(&self, body: &[u8]) -> Hmac<Sha256> {
        // HMAC takes keys of any length: 32 bytes cannot fail.
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key).unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
        mac.update(CONTEXT);
        mac.update(body);
        mac
    }

    /// A token for `ticket_id`, valid for [`LINK_DAYS`] from `now`.
    pub fn issue(&self, ticket_id: i64, now: DateTime<Utc>) -> String {
        let expires = (now + Duration::days(LINK_DAYS)).timestamp();
        let mut bytes = Vec::with_capacity(TOKEN_BYTES);
        bytes.extend_from_slice(&ticket_id.to_be_bytes());
        bytes.extend_from_slice(&expires.to_be_bytes());
        let tag = self.mac(&bytes).finalize().into_bytes();
        bytes.extend_from_slice(&tag[..MAC_BYTES]);
        hex::encode(bytes)
    }

    /// Checks a token's form, signature (in constant time) and expiry.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<Grant, TokenError> {
        let bytes = hex::decode(token.trim()).map_err(|_| TokenError::Invalid)?;
        if bytes.len() != TOKEN_BYTES {
            return Err(TokenError::Invalid);
        }
        let (body, tag) = bytes.split_at(16);
        self.mac(body).verify_truncated_left(tag).map_err(|_| TokenError::Invalid)?;
        let ticket_id = i64::from_be_bytes(body[..8].try_into().map_err(|_| TokenError::Invalid)?);
        let expires = i64::from_be_bytes(body[8..].try_into().map_err(|_| TokenError::Invalid)?);
        let expires_at = DateTime::<Utc>::from_timestamp(expires, 0).ok_or(TokenError::Invalid)?;
        if now >= expires_at {
            return Err(TokenError::Expired);
        }
        Ok(Grant { ticket_id, expires_at })
    }
}

/// The line added to a reply that solves a ticket, in the ticket's language.
/// What a rating amounts to: a good / okay / bad rating, or a score on an inbox that rates
/// on five points (4–5 good, 3 okay, 1–2 bad). Exactly one of the two must be given, and a
/// score only where the scale has five points.
pub fn resolve(scale: tandem_proto::CsatScale, rating: Option<tandem_proto::CsatRating>, score: Option<i64>) -> Result<(tandem_proto::CsatRating, Option<i64>), crate::DomainError> {
    use tandem_proto::{CsatRating, CsatScale};
    match (rating, score) {
        (Some(rating), None) => Ok((rating, None)),
        (None, Some(score)) if scale == CsatScale::Five => match score {
            1 | 2 => Ok((CsatRating::Bad, Some(score))),
            3 => Ok((CsatRating::Okay, Some(score))),
            4 | 5 => Ok((CsatRating::Good, Some(score))),
            _ => Err(crate::DomainError::validation("score", "a score is 1 to 5")),
        },
        (None, Some(_)) => Err(crate::DomainError::validation("score", "this inbox rates good, okay or bad: give `rating`")),
        _ => Err(crate::DomainError::validation("rating", "give either `rating` (good, okay, bad) or `score` (1 to 5)")),
    }
}

pub fn invitation(language: Option<&str>, link: &str) -> String {
    let text = match language.unwrap_or("en") {
        "ru" => "Как мы справились? Оцените ответ одним щелчком:",
        "pl" => "Jak nam poszło? Oceń odpowiedź jednym kliknięciem:",
        "fr" => "Comment avons-nous fait ? Notez notre réponse en un clic :",
        _ => "How did we do? Rate our answer with one click:",
    };
    format!("{text} {link}")
}

#[cfg(test)]
mod tests {

    #[test]
    fn scores_map_to_ratings_on_five_point_inboxes_only() {
        use tandem_proto::{CsatRating, CsatScale};
        assert_eq!(resolve(CsatScale::Five, None, Some(4)), Ok((CsatRating::Good, Some(4))));
        assert_eq!(resolve(CsatScale::Five, None, Some(3)), Ok((CsatRating::Okay, Some(3))));
        assert_eq!(resolve(CsatScale::Five, None, Some(1)), Ok((CsatRating::Bad, Some(1))));
        assert_eq!(resolve(CsatScale::Three, Some(CsatRating::Okay), None), Ok((CsatRating::Okay, None)));
        assert!(resolve(CsatScale::Five, None, Some(6)).is_err());
        assert!(resolve(CsatScale::Five, None, Some(0)).is_err());
        assert!(resolve(CsatScale::Three, None, Some(5)).is_err());
        assert!(resolve(CsatScale::Five, Some(CsatRating::Good), Some(5)).is_err());
        assert!(resolve(CsatScale::Five, None, None).is_err());
    }

    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).single().expect("valid")
    }

    #[test]
    fn a_token_rates_its_ticket_until_it_expires() {
        let signer = Signer::new([7; 32]);
        let token = signer.issue(42, now());
        let grant = signer.verify(&token, now() + Duration::days(29)).expect("valid");
        assert_eq!(grant.ticket_id, 42);
        assert_eq!(signer.verify(&token, now() + Duration::days(LINK_DAYS)), Err(TokenError::Expired));
    }

    #[test]
    fn forged_tokens_are_refused() {
        let signer = Signer::new([7; 32]);
        let token = signer.issue(42, now());
        // Another deployment's secret.
        assert_eq!(Signer::new([8; 32]).verify(&token, now()), Err(TokenError::Invalid));
        // Another ticket id or a later expiry with the old signature.
        let mut bytes = hex::decode(&token).expect("hex");
        bytes[7] ^= 1;
        assert_eq!(signer.verify(&hex::encode(&bytes), now()), Err(TokenError::Invalid));
        let mut bytes = hex::decode(&token).expect("hex");
        bytes[14] ^= 1;
        assert_eq!(signer.verify(&hex::encode(&bytes), now()), Err(TokenError::Invalid));
        // Garbage of every shape.
        for bad in ["", "zz", &token[..token.len() - 2], &format!("{token}00"), "../../etc/passwd"] {
            assert_eq!(signer.verify(bad, now()), Err(TokenError::Invalid), "{bad:?}");
        }
    }

    #[test]
    fn invitations_follow_the_ticket_language() {
        assert!(invitation(Some("fr"), "https://x/csat/t").starts_with("Comment"));
        assert!(invitation(None, "https://x/csat/t").ends_with("https://x/csat/t"));
    }
}
