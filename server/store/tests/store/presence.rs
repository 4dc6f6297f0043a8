//! Presence shared between processes, on SQLite and PostgreSQL: nodes, their viewers, what
//! another node reads, heartbeats, crashed nodes ignored then pruned, a clean leave.

use chrono::Duration;
use tandem_store::{
    SharedViewer, backend_tests,
    testing::{Backend, clock, desk, fresh_database, open_store},
};

backend_tests! {
    nodes_share_their_viewers,
}

async fn nodes_share_their_viewers(backend: Backend) {
    let db = fresh_database(backend).await;
    let clock = clock();
    let store = open_store(&db, clock.clone()).await;
    let desk = desk(&store).await;
    let fresh = |store: &tandem_store::Store| store.clock().now() - Duration::seconds(30);

    let a = store.register_live_node().await.expect("node a");
    let b = store.register_live_node().await.expect("node b");
    assert_ne!(a, b);
    let viewer = |connection_id: u64, user: &tandem_proto::User, number: i64, typing: bool| SharedViewer {
        connection_id,
        user_id: user.id,
        display_name: user.display_name.clone(),
        number,
        typing,
        since: store.clock().now(),
    };
    let (t1, t2) = (desk.ticket_a, desk.ticket_b);
    store.put_live_viewer(a, &viewer(1, &desk.agent, t1, false)).await.expect("put");
    store.put_live_viewer(a, &viewer(2, &desk.supervisor, t2, false)).await.expect("put");
    store.put_live_viewer(b, &viewer(3, &desk.supervisor, t1, false)).await.expect("put");

    // Each node reads the others' viewers of the tickets asked for, never its own.
    let seen_by_b = store.live_viewers_elsewhere(b, &[t1, t2], fresh(&store)).await.expect("read");
    assert_eq!(seen_by_b.iter().map(|v| (v.connection_id, v.number)).collect::<Vec<_>>(), [(1, t1), (2, t2)]);
    assert_eq!(seen_by_b[0].display_name, desk.agent.display_name);
    let seen_by_a = store.live_viewers_elsewhere(a, &[t1], fresh(&store)).await.expect("read");
    assert_eq!(seen_by_a, [viewer(3, &desk.supervisor, t1, false)]);
    assert!(store.live_viewers_elsewhere(a, &[], fresh(&store)).await.expect("read").is_empty());

    // A connection moves and types (the row is replaced), then stops viewing.
    store.put_live_viewer(a, &viewer(1, &desk.agent, t2, true)).await.expect("move");
    let seen_by_b = store.live_viewers_elsewhere(b, &[t1, t2], fresh(&store)).await.expect("read");
    assert_eq!(seen_by_b.iter().map(|v| (v.connection_id, v.number, v.typing)).collect::<Vec<_>>(), [(1, t2, true), (2, t2, false)]);
    store.remove_live_viewer(a, 2).await.expect("remove");
    store.remove_live_viewer(a, 2).await.expect("removing twice is harmless");
    assert_eq!(store.live_viewers_elsewhere(b, &[t2], fresh(&store)).await.expect("read").len(), 1);

    // Node a stops beating (a crash): after 30 s its viewers are not answered; b's are.
    clock.advance(Duration::seconds(31));
    assert!(store.beat_live_node(b).await.expect("beat"), "b is registered");
    assert!(store.live_viewers_elsewhere(b, &[t1, t2], fresh(&store)).await.expect("read").is_empty(), "a is silent");
    assert_eq!(store.live_viewers_elsewhere(a, &[t1], fresh(&store)).await.expect("read").len(), 1, "b beat");
    // Pruned, a and its rows are gone; a coming back is told so and registered again.
    assert_eq!(store.prune_live_nodes(fresh(&store)).await.expect("prune"), 1);
    assert!(!store.beat_live_node(a).await.expect("beat"), "a had been pruned");
    assert!(store.beat_live_node(a).await.expect("beat"), "and is registered again");
    assert!(store.live_viewers_elsewhere(b, &[t2], fresh(&store)).await.expect("read").is_empty(), "its old rows went with it");
    store.put_live_viewer(a, &viewer(1, &desk.agent, t2, false)).await.expect("publish again");
    assert_eq!(store.live_viewers_elsewhere(b, &[t2], fresh(&store)).await.expect("read").len(), 1);
    // A new node never gets a pruned node's id.
    let c = store.register_live_node().await.expect("node c");
    assert!(c != a && c != b);

    // A clean leave removes the node's viewers at once.
    store.leave_live_node(b).await.expect("leave");
    assert!(store.live_viewers_elsewhere(a, &[t1], fresh(&store)).await.expect("read").is_empty());
    assert!(!store.beat_live_node(b).await.expect("beat"), "b had left");
}
