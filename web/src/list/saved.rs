//! The signed-in user's saved views and those others shared with everyone
//! (`/api/v1/me/views`), used by the sidebar and the list.
//! Filters that an earlier version kept in this browser's storage are moved to the server
//! once, on load.

use leptos::prelude::*;
use leptos::task::spawn_local;
use tandem_proto::{CreateSavedView, SavedView, UpdateSavedView};

use crate::api::{self, ApiError, Method};
use crate::storage;

/// The saved views, in sidebar order. Context.
#[derive(Debug, Clone, Copy)]
pub struct SavedViews {
    pub views: RwSignal<Vec<SavedView>>,
    /// Whether the first load has answered (a saved view's page waits for it).
    pub loaded: RwSignal<bool>,
}

impl SavedViews {
    /// Loads them (moving any browser-kept filters to the server first).
    pub fn load(user_id: i64) -> SavedViews {
        let views = SavedViews { views: RwSignal::new(Vec::new()), loaded: RwSignal::new(false) };
        spawn_local(async move {
            let legacy = storage::legacy_filters(user_id);
            let mut moved = true;
            for filter in legacy.iter().cloned() {
                let input = CreateSavedView { name: filter.name, filter: filter.filter, shared: false };
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

    /// Loads the list; after a failure it stays as it was (a saved view's page then says the
    /// view could not be loaded).
    pub async fn reload(self) {
        if let Ok(list) = api::get::<Vec<SavedView>>("/api/v1/me/views", &[]).await {
            self.views.set(list);
        }
        self.loaded.set(true);
    }

    pub fn name(self, id: i64) -> Option<String> {
        self.views.with(|views| views.iter().find(|v| v.id == id).map(|v| v.name.clone()))
    }

    /// The filter of view `id`: `None` until the list has loaded, `Some(None)` if there is no
    /// such view.
    pub fn filter(self, id: i64) -> Option<Option<tandem_proto::ViewFilter>> {
        self.loaded.get().then(|| self.views.with(|views| views.iter().find(|v| v.id == id).map(|v| v.filter.clone())))
    }

    /// Saves a new view; on success it is in the list.
    pub async fn create(self, input: CreateSavedView) -> Result<SavedView, ApiError> {
        let view = api::send_json::<_, SavedView>(Method::Post, "/api/v1/me/views", &input).await?;
        self.views.update(|views| views.push(view.clone()));
        Ok(view)
    }

    /// Shares one of the user's views with everyone, or stops sharing it.
    pub async fn set_shared(self, id: i64, shared: bool) -> Result<(), ApiError> {
        let change = UpdateSavedView { shared: Some(shared), ..UpdateSavedView::default() };
        let view = api::send_json::<_, SavedView>(Method::Patch, &format!("/api/v1/me/views/{id}"), &change).await?;
        self.views.update(|views| {
            if let Some(slot) = views.iter_mut().find(|v| v.id == id) {
                *slot = view;
            }
        });
        Ok(())
    }

    /// The view, if it is in the list.
    pub fn get(self, id: i64) -> Option<SavedView> {
        self.views.with(|views| views.iter().find(|v| v.id == id).cloned())
    }

    pub async fn delete(self, id: i64) -> Result<(), ApiError> {
        api::send_empty(Method::Delete, &format!("/api/v1/me/views/{id}")).await?;
        self.views.update(|views| views.retain(|v| v.id != id));
        Ok(())
    }
}

pub fn use_saved_views() -> SavedViews {
    expect_context::<SavedViews>()
}
