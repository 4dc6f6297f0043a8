use std::collections::BTreeSet;

use tandem_proto::Role;

/// The signed-in user on whose behalf an operation runs, with what the policy needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user_id: i64,
    pub role: Role,
    pub display_name: String,
    /// Inboxes the user is a member of. Admins may act on every inbox regardless.
    pub inbox_ids: BTreeSet<i64>,
}

impl Actor {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Whether the actor can see tickets of `inbox_id` at all.
    pub fn belongs_to(&self, inbox_id: i64) -> bool {
        self.is_admin() || self.inbox_ids.contains(&inbox_id)
    }

    /// Inboxes whose tickets a list may show; `None` means every inbox (admins).
    pub fn visible_inboxes(&self) -> Option<&BTreeSet<i64>> {
        if self.is_admin() { None } else { Some(&self.inbox_ids) }
    }
}
