//! The signed-in user's saved views (`/api/v1/me/views`), shared by the sidebar and the list.
//! Filters that an earlier version kept in this browser's storage are moved to the server
//! once, on load.

use leptos::prelude::*;
use leptos::task::spawn_local;
use tandem_proto::{CreateSavedView, SavedView};

use crate::api::{self, ApiError, Method};
use crate::storage;

/// The saved views, in sidebar order (empty until loaded). Context.
#[derive(Debug, Clone, Copy)]
pub struct SavedViews(pub RwSignal<Vec<SavedView>>);

impl SavedViews {
    /// Loads them (moving any browser-kept filters to the server first).
    pub fn load(user_id: i64) -> SavedViews {
        let views = SavedViews(RwSignal::new(Vec::new()));
        spawn_local(async move {
            let legacy = storage::legacy_filters(user_id);
            let mut moved = true;
            for filter in legacy.iter().cloned() {
                let input = CreateSavedView { name: filter.name, filter: filter.filter };
                match api::send_json::<_, SavedView>(Method::Post, "/api/v1/me/views", &input).await {
                    // A name that exists already was moved before (or saved anew): kept.
                    Ok(_) => {}
                    Err(error) if error.is_conflict() => {}
                    // Anything else (offline, refused): they stay here and move next time.
                    Err(_) => moved = false,
                }
            }
            if moved && !legacy.is_empty() {
                storage::clear_legacy_filters(user_id);
            }
            views.reload().await;
        });
        views
    }

    pub async fn reload(self) {
        if let Ok(list) = api::get::<Vec<SavedView>>("/api/v1/me/views", &[]).await {
            self.0.set(list);
        }
    }

    pub fn name(self, id: i64) -> Option<String> {
        self.0.with(|views| views.iter().find(|v| v.id == id).map(|v| v.name.clone()))
    }

    /// Saves a new view; on success it is in the list.
    pub async fn create(self, input: CreateSavedView) -> Result<SavedView, ApiError> {
        let view = api::send_json::<_, SavedView>(Method::Post, "/api/v1/me/views", &input).await?;
        self.0.update(|views| views.push(view.clone()));
        Ok(view)
    }

    pub async fn delete(self, id: i64) -> Result<(), ApiError> {
        api::send_empty(Method::Delete, &format!("/api/v1/me/views/{id}")).await?;
        self.0.update(|views| views.retain(|v| v.id != id));
        Ok(())
    }
}

pub fn use_saved_views() -> SavedViews {
    expect_context::<SavedViews>()
}
