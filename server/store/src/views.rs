//! Saved views: a user's named ticket-list filters, in their own sidebar order. Only their
//! owner changes them (someone else's id is "not found"); a view its owner shared (only
//! supervisors and admins share) is listed to everyone, after the caller's own, and admins
//! may delete one.

use sea_orm::{ConnectionTrait, FromQueryResult};
use tandem_domain::{
    Actor,
    policy::{self, Action},
    view,
};
use tandem_proto as proto;

use crate::{
    Store,
    db::{from_micros, query_all, query_one},
    directory::unique,
    error::{Result, StoreError},
    rows::IdRow,
};

const VIEW_SELECT: &str = "SELECT v.id, v.name, v.filter, v.position, v.created_at, v.shared, v.user_id, u.display_name AS owner_name \
     FROM saved_views v JOIN users u ON u.id = v.user_id";

#[derive(Debug, Clone, FromQueryResult)]
struct ViewRow {
    id: i64,
    name: String,
    filter: String,
    position: i64,
    created_at: i64,
    shared: bool,
    user_id: i64,
    owner_name: String,
}

impl ViewRow {
    fn into_view(self) -> Result<proto::SavedView> {
        let filter = serde_json::from_str(&self.filter).map_err(|e| corrupt(e.to_string()))?;
        Ok(proto::SavedView {
            id: self.id,
            name: self.name,
            filter,
            position: self.position,
            created_at: from_micros(self.created_at),
            shared: self.shared,
            owner_id: self.user_id,
            owner_name: self.owner_name,
        })
    }
}

fn corrupt(detail: String) -> StoreError {
    StoreError::Corrupt { table: "saved_views", column: "filter", detail }
}

/// The checked filter, as stored.
fn filter_json(raw: &proto::ViewFilter) -> Result<String> {
    serde_json::to_string(&view::filter(raw)?).map_err(|e| corrupt(e.to_string()))
}

fn duplicate(name: &str) -> String {
    format!("you already have a view named {name}")
}

impl Store {
    /// The actor's saved views in sidebar order, then the views others shared, by name.
    pub async fn list_saved_views(&self, actor: &Actor) -> Result<Vec<proto::SavedView>> {
        let mut rows: Vec<ViewRow> = query_all(
            self.db.connection(),
            self.db.stmt(&format!("{VIEW_SELECT} WHERE v.user_id = ? OR v.shared = ?"), vec![actor.user_id.into(), true.into()]),
        )
        .await?;
        let me = actor.user_id;
        rows.sort_by(|a, b| {
            let key = |v: &ViewRow| (v.user_id != me, if v.user_id == me { v.position } else { 0 }, v.name.to_lowercase(), v.id);
            key(a).cmp(&key(b))
        });
        rows.into_iter().map(ViewRow::into_view).collect()
    }

    async fn saved_view(&self, actor: &Actor, id: i64) -> Result<proto::SavedView> {
        let row: Option<ViewRow> = query_one(
            self.db.connection(),
            self.db.stmt(&format!("{VIEW_SELECT} WHERE v.id = ? AND v.user_id = ?"), vec![id.into(), actor.user_id.into()]),
        )
        .await?;
        row.ok_or(StoreError::NotFound("saved view"))?.into_view()
    }

    /// Saves a new view, last in the sidebar.
    pub async fn create_saved_view(&self, actor: &Actor, input: proto::CreateSavedView) -> Result<proto::SavedView> {
        let name = view::name(&input.name)?;
        let filter = filter_json(&input.filter)?;
        if input.shared {
            policy::authorize(actor, Action::ShareViews)?;
        }
        let now = self.now_micros();
        let tx = self.db.write().await?;
        let existing: Vec<ViewRow> =
            query_all(&tx.tx, self.db.stmt(&format!("{VIEW_SELECT} WHERE v.user_id = ?"), vec![actor.user_id.into()])).await?;
        if existing.len() >= view::MAX_VIEWS_PER_USER {
            return Err(StoreError::validation("name", format!("you have {} saved views, the most there can be", existing.len())));
        }
        let position = existing.iter().map(|v| v.position + 1).max().unwrap_or(0);
        let row: Option<IdRow> = query_one(
            &tx.tx,
            self.db.stmt(
                "INSERT INTO saved_views (user_id, name, filter, position, created_at, updated_at, shared) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                vec![actor.user_id.into(), name.clone().into(), filter.into(), position.into(), now.into(), now.into(), input.shared.into()],
            ),
        )
        .await
        .map_err(|e| match e {
            StoreError::Db(e) => unique(e, "name", duplicate(&name)),
            e => e,
        })?;
        let id = row.ok_or(StoreError::NotFound("saved view"))?.id;
        tx.commit().await?;
        self.saved_view(actor, id).await
    }

    /// Renames a view, changes its filter, or moves it (`position` 0 is first; the others
    /// keep their order).
    pub async fn update_saved_view(&self, actor: &Actor, id: i64, input: proto::UpdateSavedView) -> Result<proto::SavedView> {
        let name = input.name.as_deref().map(view::name).transpose()?;
        let filter = input.filter.as_ref().map(filter_json).transpose()?;
        if input.position.is_some_and(|p| p < 0) {
            return Err(StoreError::validation("position", "position starts at 0"));
        }
        let now = self.now_micros();
        let tx = self.db.write().await?;
        let mut order: Vec<ViewRow> = query_all(
            &tx.tx,
            self.db.stmt(&format!("{VIEW_SELECT} WHERE v.user_id = ? ORDER BY v.position, v.id"), vec![actor.user_id.into()]),
        )
        .await?;
        let index = order.iter().position(|v| v.id == id).ok_or(StoreError::NotFound("saved view"))?;
        if let Some(shared) = input.shared {
            // Anyone may stop sharing their own view (a supervisor made agent, say).
            if shared {
                policy::authorize(actor, Action::ShareViews)?;
            }
            tx.tx
                .execute_raw(self.db.stmt("UPDATE saved_views SET shared = ?, updated_at = ? WHERE id = ?", vec![shared.into(), now.into(), id.into()]))
                .await?;
        }
        if let Some(name) = &name {
            tx.tx
                .execute_raw(self.db.stmt("UPDATE saved_views SET name = ?, updated_at = ? WHERE id = ?", vec![name.clone().into(), now.into(), id.into()]))
                .await
                .map_err(|e| unique(e, "name", duplicate(name)))?;
        }
        if let Some(filter) = filter {
            tx.tx
                .execute_raw(self.db.stmt("UPDATE saved_views SET filter = ?, updated_at = ? WHERE id = ?", vec![filter.into(), now.into(), id.into()]))
                .await?;
        }
        if let Some(position) = input.position {
            let moved = order.remove(index);
            let to = usize::try_from(position).unwrap_or(usize::MAX).min(order.len());
            order.insert(to, moved);
            for (new_position, row) in order.iter().enumerate() {
                let new_position = i64::try_from(new_position).unwrap_or(i64::MAX);
                if row.position != new_position {
                    tx.tx
                        .execute_raw(self.db.stmt("UPDATE saved_views SET position = ? WHERE id = ?", vec![new_position.into(), row.id.into()]))
                        .await?;
                }
            }
        }
        tx.commit().await?;
        self.saved_view(actor, id).await
    }

    /// Deletes one of the actor's views; an admin may also delete a view someone shared.
    pub async fn delete_saved_view(&self, actor: &Actor, id: i64) -> Result<()> {
        let tx = self.db.write().await?;
        let done = tx
            .tx
            .execute_raw(self.db.stmt(
                "DELETE FROM saved_views WHERE id = ? AND (user_id = ? OR (shared = ? AND ?))",
                vec![id.into(), actor.user_id.into(), true.into(), (actor.role == proto::Role::Admin).into()],
            ))
            .await?;
        tx.commit().await?;
        if done.rows_affected() == 0 { Err(StoreError::NotFound("saved view")) } else { Ok(()) }
    }
}
