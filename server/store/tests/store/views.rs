//! Saved views, on SQLite and PostgreSQL: personal, ordered, renamed, moved, checked.

use tandem_proto::{CreateSavedView, UpdateSavedView, ViewFilter};
use tandem_store::{
    StoreError, backend_tests,
    testing::{Backend, actor, clock, desk, fresh_database, open_store},
};

backend_tests! {
    saved_views_are_personal_ordered_and_checked,
    supervisors_share_views_with_everyone,
}

/// Each user's views are theirs alone; names are unique per user; filters are normalised and
/// checked; moving one keeps the others' order.
async fn saved_views_are_personal_ordered_and_checked(backend: Backend) {
    let db = fresh_database(backend).await;
    let store = open_store(&db, clock()).await;
    let desk = desk(&store).await;
    let agent = actor(&store, &desk.agent).await;
    let other = actor(&store, &desk.supervisor).await;
    let create = |name: &str, status: &str| CreateSavedView {
        name: name.to_owned(),
        filter: ViewFilter { status: Some(status.to_owned()), assignee: Some("me".into()), ..ViewFilter::default() },
        shared: false,
    };

    let urgent = store.create_saved_view(&agent, create(" Urgent ", "open, new")).await.expect("create");
    assert_eq!((urgent.name.as_str(), urgent.position), ("Urgent", 0));
    assert_eq!(urgent.filter.status.as_deref(), Some("new,open"), "normalised");
    let waiting = store.create_saved_view(&agent, create("Waiting", "pending")).await.expect("create");
    let solved = store.create_saved_view(&agent, create("Solved", "solved")).await.expect("create");
    assert_eq!((waiting.position, solved.position), (1, 2));

    // Same name twice: refused; unknown values: refused, nothing stored.
    let dup = store.create_saved_view(&agent, create("Urgent", "open")).await;
    assert!(matches!(dup, Err(StoreError::Duplicate { field: "name", .. })), "{dup:?}");
    let bad = store.create_saved_view(&agent, create("Bad", "open,someday")).await;
    assert!(matches!(&bad, Err(StoreError::Domain(tandem_domain::DomainError::Validation { .. }))), "{bad:?}");
    assert_eq!(store.list_saved_views(&agent).await.expect("list").len(), 3);
    // Someone else's views are theirs: not listed, not found, not changed.
    assert!(store.list_saved_views(&other).await.expect("list").is_empty());
    assert!(matches!(store.delete_saved_view(&other, urgent.id).await, Err(StoreError::NotFound(_))));
    let renamed = store.update_saved_view(&other, urgent.id, UpdateSavedView { name: Some("Mine now".into()), ..Default::default() }).await;
    assert!(matches!(renamed, Err(StoreError::NotFound(_))), "{renamed:?}");
    // The same name is fine for another user.
    store.create_saved_view(&other, create("Urgent", "open")).await.expect("another user's Urgent");

    // Move the last one first; the others keep their order. Rename; change the filter.
    store.update_saved_view(&agent, solved.id, UpdateSavedView { position: Some(0), ..Default::default() }).await.expect("move");
    let names: Vec<String> = store.list_saved_views(&agent).await.expect("list").into_iter().map(|v| v.name).collect();
    assert_eq!(names, ["Solved", "Urgent", "Waiting"]);
    let moved = store.update_saved_view(&agent, urgent.id, UpdateSavedView { position: Some(99), ..Default::default() }).await.expect("move");
    assert_eq!(moved.position, 2);
    let changed = store
        .update_saved_view(&agent, waiting.id, UpdateSavedView {
            name: Some("On hold".into()),
            filter: Some(ViewFilter { status: Some("on_hold".into()), ..ViewFilter::default() }),
            position: None,
            shared: None,
        })
        .await
        .expect("update");
    assert_eq!((changed.name.as_str(), changed.filter.status.as_deref(), changed.filter.assignee.as_deref()), ("On hold", Some("on_hold"), None));
    let clash = store.update_saved_view(&agent, waiting.id, UpdateSavedView { name: Some("Solved".into()), ..Default::default() }).await;
    assert!(matches!(clash, Err(StoreError::Duplicate { .. })), "{clash:?}");

    store.delete_saved_view(&agent, solved.id).await.expect("delete");
    let names: Vec<String> = store.list_saved_views(&agent).await.expect("list").into_iter().map(|v| v.name).collect();
    assert_eq!(names, ["On hold", "Urgent"]);
    assert!(matches!(store.delete_saved_view(&agent, solved.id).await, Err(StoreError::NotFound(_))));
}


/// A supervisor's shared view is in everyone's list (after their own), changed only by its
/// owner; agents cannot share; an admin may delete it; unsharing takes it out of the lists.
async fn supervisors_share_views_with_everyone(backend: Backend) {
    let db = fresh_database(backend).await;
    let store = open_store(&db, clock()).await;
    let desk = desk(&store).await;
    let supervisor = actor(&store, &desk.supervisor).await;
    let agent = actor(&store, &desk.agent).await;
    let observer = actor(&store, &desk.observer).await;
    let admin = actor(&store, &desk.admin).await;
    let filter = ViewFilter { status: Some("open".into()), assignee: Some("none".into()), ..ViewFilter::default() };
    let input = |name: &str, shared: bool| CreateSavedView { name: name.to_owned(), filter: filter.clone(), shared };

    let team = store.create_saved_view(&supervisor, input("Team queue", true)).await.expect("shared");
    assert!(team.shared);
    assert_eq!((team.owner_id, team.owner_name.as_str()), (desk.supervisor.id, desk.supervisor.display_name.as_str()));
    let private = store.create_saved_view(&supervisor, input("My drafts", false)).await.expect("private");
    // Agents cannot share, neither on creation nor later; nothing is kept.
    let refused = store.create_saved_view(&agent, input("Agent's", true)).await;
    assert!(matches!(&refused, Err(StoreError::Domain(tandem_domain::DomainError::Forbidden(_)))), "{refused:?}");
    let own = store.create_saved_view(&agent, input("Mine", false)).await.expect("private view");
    let refused = store.update_saved_view(&agent, own.id, UpdateSavedView { shared: Some(true), ..Default::default() }).await;
    assert!(matches!(&refused, Err(StoreError::Domain(tandem_domain::DomainError::Forbidden(_)))), "{refused:?}");

    // Everyone lists the shared view after their own; the private one stays private.
    let listed = |views: Vec<tandem_proto::SavedView>| views.into_iter().map(|v| (v.name, v.shared)).collect::<Vec<_>>();
    assert_eq!(listed(store.list_saved_views(&agent).await.expect("list")), [("Mine".to_owned(), false), ("Team queue".to_owned(), true)]);
    assert_eq!(listed(store.list_saved_views(&observer).await.expect("list")), [("Team queue".to_owned(), true)]);
    assert_eq!(listed(store.list_saved_views(&supervisor).await.expect("list")), [("Team queue".to_owned(), true), ("My drafts".to_owned(), false)]);
    let seen = store.list_saved_views(&agent).await.expect("list").pop().expect("the shared view");
    assert_eq!((seen.id, seen.filter.clone(), seen.owner_name.clone()), (team.id, team.filter.clone(), team.owner_name.clone()));

    // Only its owner changes it; others get "not found"; an admin may delete it.
    let renamed = store.update_saved_view(&agent, team.id, UpdateSavedView { name: Some("Ours".into()), ..Default::default() }).await;
    assert!(matches!(renamed, Err(StoreError::NotFound(_))), "{renamed:?}");
    assert!(matches!(store.delete_saved_view(&agent, team.id).await, Err(StoreError::NotFound(_))));
    assert!(matches!(store.delete_saved_view(&admin, private.id).await, Err(StoreError::NotFound(_))), "not shared: the admin cannot see it");
    // The owner stops sharing it: gone from the others' lists, still theirs.
    let unshared = store.update_saved_view(&supervisor, team.id, UpdateSavedView { shared: Some(false), ..Default::default() }).await.expect("unshare");
    assert!(!unshared.shared);
    assert_eq!(listed(store.list_saved_views(&agent).await.expect("list")), [("Mine".to_owned(), false)]);
    store.update_saved_view(&supervisor, team.id, UpdateSavedView { shared: Some(true), ..Default::default() }).await.expect("share again");
    store.delete_saved_view(&admin, team.id).await.expect("an admin removes a shared view");
    assert_eq!(listed(store.list_saved_views(&supervisor).await.expect("list")), [("My drafts".to_owned(), false)]);
}
