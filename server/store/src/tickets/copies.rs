//! A reply's copies (Cc) and blind copies (Bcc): by default everyone on the customer's latest
//! mail ("reply all", [`tandem_domain::recipients::reply_all`]), or the agent's own list.

use sea_orm::ConnectionTrait;
use tandem_domain::recipients;
use tandem_proto::{self as proto, MessageKind};

use super::write::Copies;
use crate::{
    db::{Db, query_one},
    error::{Result, StoreError},
    mail::settings::desk_addresses,
    rows::parse_json,
};

/// Whom a reply to this conversation copies unless the agent says otherwise.
pub(crate) async fn default_cc<C: ConnectionTrait>(db: &Db, conn: &C, messages: &[proto::Message], contact_email: &str) -> Result<Vec<proto::MailAddress>> {
    let Some(latest) = messages.iter().rev().filter(|m| m.kind == MessageKind::Inbound).find_map(|m| m.mail.as_ref()) else {
        return Ok(Vec::new());
    };
    let ours = desk_addresses(db, conn).await?;
    Ok(recipients::reply_all(latest, contact_email, &|a| is_ours(&ours, a)))
}

/// The copies of a reply from what the agent posted: `cc` left out means reply all.
pub(crate) async fn of_reply<C: ConnectionTrait>(db: &Db, conn: &C, ticket_id: i64, contact_email: &str, cc: Option<Vec<String>>, bcc: Vec<String>) -> Result<Copies> {
    let ours = desk_addresses(db, conn).await?;
    let is_ours = |a: &str| is_ours(&ours, a);
    let cc = match cc {
        Some(given) => recipients::parse_copies("cc", &given, contact_email, &is_ours)?,
        None => match latest_mail(db, conn, ticket_id).await? {
            Some(latest) => recipients::reply_all(&latest, contact_email, &is_ours),
            None => Vec::new(),
        },
    };
    let bcc = recipients::parse_copies("bcc", &bcc, contact_email, &is_ours)?;
    if let Some(both) = bcc.iter().find(|b| cc.iter().any(|c| c.email == b.email)) {
        return Err(StoreError::validation("bcc", format!("`{}` is already a copy (cc)", both.email)));
    }
    Ok(Copies { cc, bcc })
}

/// What came with the customer's latest mail on the ticket.
async fn latest_mail<C: ConnectionTrait>(db: &Db, conn: &C, ticket_id: i64) -> Result<Option<proto::MailInfo>> {
    #[derive(sea_orm::FromQueryResult)]
    struct Row {
        mail_json: String,
    }
    let row: Option<Row> = query_one(
        conn,
        db.stmt(
            "SELECT mail_json FROM messages WHERE ticket_id = ? AND kind = 'inbound' AND mail_json IS NOT NULL ORDER BY id DESC LIMIT 1",
            vec![ticket_id.into()],
        ),
    )
    .await?;
    row.map(|r| parse_json("messages", "mail_json", &r.mail_json)).transpose()
}

/// Plus-addressed forms (`support+t12@…`) are ours too.
fn is_ours(ours: &[String], address: &str) -> bool {
    ours.contains(&tandem_mail::thread::base_address(address))
}
