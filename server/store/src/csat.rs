//! Customer satisfaction: the signing secret, the link added to a reply that solves a
//! ticket, and ratings given through that link (no account: the signed token is the
//! credential, see `tandem_domain::csat`).

use sea_orm::{ConnectionTrait, FromQueryResult};
use serde_json::json;
use tandem_domain::{
    DomainError,
    csat::{self, Signer, TokenError},
    validate,
};
use tandem_proto::{self as proto, ActorKind};

use crate::{
    Store,
    db::{Db, from_micros, query_one},
    error::{Result, StoreError},
    events::{NewEvent, Who, record},
    rows::parse,
};

#[derive(Debug, FromQueryResult)]
struct Secret {
    value: String,
}

#[derive(Debug, FromQueryResult)]
struct RatingRow {
    rating: String,
    score: Option<i64>,
    comment: Option<String>,
    rated_at: i64,
}

#[derive(Debug, FromQueryResult)]
struct RatedTicket {
    number: i64,
    subject: String,
    language: Option<String>,
    merged_into: Option<i64>,
    contact_id: i64,
    contact_name: String,
    csat_scale: String,
}

/// A satisfaction link that cannot be used; the public page tells the two apart.
fn refused(error: TokenError) -> StoreError {
    match error {
        TokenError::Invalid => StoreError::NotFound("satisfaction link"),
        TokenError::Expired => StoreError::Domain(DomainError::State("this satisfaction link has expired".into())),
    }
}

/// The rating of a ticket, if its customer gave one.
pub(crate) async fn satisfaction_of<C: ConnectionTrait>(db: &Db, conn: &C, ticket_id: i64) -> Result<Option<proto::Satisfaction>> {
    let row: Option<RatingRow> =
        query_one(conn, db.stmt("SELECT rating, score, comment, rated_at FROM csat_ratings WHERE ticket_id = ?", vec![ticket_id.into()])).await?;
    row.map(|r| Ok(proto::Satisfaction { rating: parse("csat_ratings", "rating", &r.rating)?, score: r.score, comment: r.comment, rated_at: from_micros(r.rated_at) }))
        .transpose()
}

#[derive(Debug, FromQueryResult)]
struct Switch {
    csat_enabled: bool,
}

impl Store {
    /// Whether replies that solve tickets of this inbox carry a satisfaction link.
    pub(crate) async fn csat_enabled<C: ConnectionTrait>(&self, conn: &C, inbox_id: i64) -> Result<bool> {
        let row: Option<Switch> = query_one(conn, self.db.stmt("SELECT csat_enabled FROM inboxes WHERE id = ?", vec![inbox_id.into()])).await?;
        Ok(row.is_some_and(|r| r.csat_enabled))
    }

    /// The signer with this deployment's secret, made (32 random bytes) on first use and
    /// shared by every process on the database. Never call it inside a write transaction:
    /// on first use it writes the secret itself.
    pub(crate) async fn csat_signer(&self) -> Result<Signer> {
        if let Some(signer) = self.csat.get() {
            return Ok(signer.clone());
        }
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| StoreError::Io(std::io::Error::other(format!("no randomness for the satisfaction secret: {e}"))))?;
        // The first process to get here stores its key; every other one reads that key.
        let tx = self.db.write().await?;
        tx.tx
            .execute_raw(self.db.stmt(
                "INSERT INTO secrets (name, value) VALUES ('csat', ?) ON CONFLICT (name) DO NOTHING",
                vec![hex::encode(key).into()],
            ))
            .await?;
        let stored: Option<Secret> = query_one(&tx.tx, self.db.stmt("SELECT value FROM secrets WHERE name = 'csat'", vec![])).await?;
        tx.commit().await?;
        let stored = stored.ok_or(StoreError::NotFound("satisfaction secret"))?;
        let key: [u8; 32] = hex::decode(&stored.value)
            .ok()
            .and_then(|k| k.try_into().ok())
            .ok_or_else(|| StoreError::Corrupt { table: "secrets", column: "value", detail: "the satisfaction secret is not 32 bytes of hex".into() })?;
        let signer = Signer::new(key);
        let _ = self.csat.set(signer.clone());
        Ok(signer)
    }

    /// The public rating link of a ticket, valid for `csat::LINK_DAYS`.
    pub(crate) fn csat_link(&self, signer: &Signer, ticket_id: i64) -> String {
        format!("{}/csat/{}", self.public_url, signer.issue(ticket_id, self.clock.now()))
    }

    async fn rated_ticket(&self, token: &str) -> Result<(csat::Grant, RatedTicket)> {
        let grant = self.csat_signer().await?.verify(token, self.clock.now()).map_err(refused)?;
        let ticket: Option<RatedTicket> = query_one(
            self.db.connection(),
            self.db.stmt(
                "SELECT t.number, t.subject, t.language, t.merged_into, t.contact_id, c.name AS contact_name, i.csat_scale \
                 FROM tickets t JOIN contacts c ON c.id = t.contact_id JOIN inboxes i ON i.id = t.inbox_id WHERE t.id = ?",
                vec![grant.ticket_id.into()],
            ),
        )
        .await?;
        let ticket = ticket.ok_or(StoreError::NotFound("satisfaction link"))?;
        Ok((grant, ticket))
    }

    /// What the public page shows for a link: the ticket and the rating so far.
    pub async fn csat_form(&self, token: &str) -> Result<proto::CsatForm> {
        let (grant, ticket) = self.rated_ticket(token).await?;
        let current = satisfaction_of(&self.db, self.db.connection(), grant.ticket_id).await?;
        Ok(proto::CsatForm {
            ticket_number: ticket.number,
            subject: ticket.subject,
            language: ticket.language,
            current,
            scale: parse("inboxes", "csat_scale", &ticket.csat_scale)?,
            expires_at: grant.expires_at,
        })
    }

    /// Rates the link's ticket (or changes the rating); an event on the ticket, by the contact.
    pub async fn rate_ticket(&self, token: &str, input: proto::RateTicket) -> Result<proto::CsatForm> {
        let comment = match input.comment.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
            Some(c) => Some(validate::text("comment", c, csat::MAX_COMMENT_CHARS)?),
            None => None,
        };
        let (grant, ticket) = self.rated_ticket(token).await?;
        let (rating, score) = csat::resolve(parse("inboxes", "csat_scale", &ticket.csat_scale)?, input.rating, input.score)?;
        if let Some(into) = ticket.merged_into {
            return Err(StoreError::Domain(DomainError::State(format!("this ticket was merged into #{into}: rate that one"))));
        }
        let at = self.now_micros();
        let tx = self.db.write().await?;
        let before = satisfaction_of(&self.db, &tx.tx, grant.ticket_id).await?;
        tx.tx
            .execute_raw(self.db.stmt(
                "INSERT INTO csat_ratings (ticket_id, rating, score, comment, rated_at) VALUES (?, ?, ?, ?, ?) \
                 ON CONFLICT (ticket_id) DO UPDATE SET rating = excluded.rating, score = excluded.score, comment = excluded.comment, \
                 rated_at = excluded.rated_at",
                vec![grant.ticket_id.into(), rating.as_str().into(), score.into(), comment.clone().into(), at.into()],
            ))
            .await?;
        // The rating counts in reports from now on (per agent, per inbox...).
        crate::sla::refresh_ticket(&self.db, &tx, grant.ticket_id, at).await?;
        let who = Who { kind: ActorKind::Contact, id: Some(ticket.contact_id), name: ticket.contact_name.clone() };
        record(&self.db, &tx.tx, &who, at, NewEvent {
            ticket_id: Some(grant.ticket_id),
            kind: "csat.rated",
            field: Some("satisfaction"),
            before: json!(before.map(|b| json!({ "rating": b.rating, "score": b.score, "comment": b.comment }))),
            after: json!({ "rating": rating, "score": score, "comment": comment }),
        })
        .await?;
        tx.commit().await?;
        self.csat_form(token).await
    }
}
