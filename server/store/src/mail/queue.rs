//! What the two mail queues (the outbox and the notifications waiting to be mailed) share:
//! claiming the rows that are due, in the order they fell due, as `sending`, with one read
//! and one write whatever their number.

use sea_orm::{ConnectionTrait, Value};

use crate::{
    db::{Db, WriteTx, marks, query_all},
    error::Result,
    rows::IdRow,
};

/// One queue's table and columns.
pub(super) struct Queue {
    pub table: &'static str,
    /// The delivery state: `queued`, `sending`, `sent` or `failed`.
    pub state: &'static str,
    /// When the row is due (µs).
    pub due: &'static str,
    /// A column set to the time of the claim, if the queue keeps one.
    pub touched: Option<&'static str>,
}

/// Marks up to `limit` rows of `queue` that are due at `now` as `sending` and answers their
/// ids, the earliest due first. On PostgreSQL rows another sender has locked are skipped.
pub(super) async fn claim_due(db: &Db, tx: &WriteTx, queue: &Queue, now: i64, limit: u64) -> Result<Vec<i64>> {
    let Queue { table, state, due, touched } = queue;
    let skip_locked = if db.is_postgres() { " FOR UPDATE SKIP LOCKED" } else { "" };
    let ids: Vec<IdRow> = query_all(
        &tx.tx,
        db.stmt(
            &format!("SELECT id FROM {table} WHERE {state} = 'queued' AND {due} <= ? ORDER BY {due}, id LIMIT ?{skip_locked}"),
            vec![now.into(), i64::try_from(limit).unwrap_or(i64::MAX).into()],
        ),
    )
    .await?;
    let ids: Vec<i64> = ids.into_iter().map(|r| r.id).collect();
    if ids.is_empty() {
        return Ok(ids);
    }
    let mut values: Vec<Value> = Vec::with_capacity(ids.len() + 1);
    let touch = match touched {
        Some(column) => {
            values.push(now.into());
            format!(", {column} = ?")
        }
        None => String::new(),
    };
    values.extend(ids.iter().map(|&id| Value::from(id)));
    tx.tx
        .execute_raw(db.stmt(&format!("UPDATE {table} SET {state} = 'sending'{touch} WHERE id IN ({})", marks(ids.len())), values))
        .await?;
    Ok(ids)
}
