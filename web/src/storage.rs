//! What the UI keeps in the browser's `localStorage`: reply drafts (until sent, so a reload,
//! a crash or a server restart loses nothing), and saved filters of earlier versions until
//! they are moved to the server. Keys are per user, so two people sharing a browser profile
//! do not see each other's drafts.

use serde::{Deserialize, Serialize, de::DeserializeOwned};

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

fn read<T: DeserializeOwned>(key: &str) -> Option<T> {
    let text = storage()?.get_item(key).ok().flatten()?;
    serde_json::from_str(&text).ok()
}

fn write<T: Serialize>(key: &str, value: &T) {
    if let (Some(storage), Ok(text)) = (storage(), serde_json::to_string(value)) {
        let _ = storage.set_item(key, &text);
    }
}

fn remove(key: &str) {
    if let Some(storage) = storage() {
        let _ = storage.remove_item(key);
    }
}

/// A reply or note being written on a ticket.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Draft {
    /// `reply` or `note`.
    pub mode: String,
    pub body: String,
    /// The reply's Cc field once the agent edited it (until then it follows the ticket's
    /// "reply all" list), and its Bcc field.
    #[serde(default)]
    pub cc: Option<String>,
    #[serde(default)]
    pub bcc: String,
}

fn draft_key(user_id: i64, number: i64) -> String {
    format!("tandem.draft.{user_id}.{number}")
}

pub fn load_draft(user_id: i64, number: i64) -> Option<Draft> {
    read(&draft_key(user_id, number))
}

pub fn save_draft(user_id: i64, number: i64, draft: &Draft) {
    if draft.body.trim().is_empty() {
        remove(&draft_key(user_id, number));
    } else {
        write(&draft_key(user_id, number), draft);
    }
}

pub fn clear_draft(user_id: i64, number: i64) {
    remove(&draft_key(user_id, number));
}

/// A named filter as earlier versions kept it in the browser (saved views now live on the
/// server, `/api/v1/me/views`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LegacyFilter {
    pub name: String,
    pub filter: crate::list::Filter,
}

fn filters_key(user_id: i64) -> String {
    format!("tandem.filters.{user_id}")
}

/// The filters an earlier version saved in this browser, if any.
pub fn legacy_filters(user_id: i64) -> Vec<LegacyFilter> {
    read(&filters_key(user_id)).unwrap_or_default()
}

/// Forgets them, once they are on the server.
pub fn clear_legacy_filters(user_id: i64) {
    remove(&filters_key(user_id));
}

/// The language of the sign-in page (before anyone is signed in).
pub fn last_language() -> Option<String> {
    read("tandem.language")
}

pub fn set_last_language(tag: &str) {
    write("tandem.language", &tag);
}
