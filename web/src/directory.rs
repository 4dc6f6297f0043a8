//! Users, teams and inboxes, loaded once per session for pickers and labels. Context.

use leptos::prelude::*;
use leptos::task::spawn_local;
use tandem_proto::{Inbox, Team, User};

use crate::api;

#[derive(Debug, Clone, Copy)]
pub struct Directory {
    pub users: RwSignal<Vec<User>>,
    pub teams: RwSignal<Vec<Team>>,
    pub inboxes: RwSignal<Vec<Inbox>>,
}

impl Directory {
    pub fn load(inboxes: Vec<Inbox>, teams: Vec<Team>) -> Directory {
        let directory = Directory {
            users: RwSignal::new(Vec::new()),
            teams: RwSignal::new(teams),
            inboxes: RwSignal::new(inboxes),
        };
        directory.reload();
        directory
    }

    /// Fetches users and teams again (after an admin changed them).
    pub fn reload(self) {
        spawn_local(async move {
            if let Ok(users) = api::get::<Vec<User>>("/api/v1/users", &[]).await {
                self.users.set(users);
            }
            if let Ok(teams) = api::get::<Vec<Team>>("/api/v1/teams", &[]).await {
                self.teams.set(teams);
            }
        });
    }

    pub fn inbox_name(self, id: i64) -> String {
        self.inboxes
            .with_untracked(|inboxes| inboxes.iter().find(|i| i.id == id).map(|i| i.name.clone()))
            .unwrap_or_else(|| format!("#{id}"))
    }

    pub fn team_name(self, id: i64) -> String {
        self.teams
            .with_untracked(|teams| teams.iter().find(|t| t.id == id).map(|t| t.name.clone()))
            .unwrap_or_else(|| format!("#{id}"))
    }
}

pub fn use_directory() -> Directory {
    expect_context::<Directory>()
}
