//! SIGKILL the hub in the middle of pushes, again and again: every piece a receipt was
//! given for is still there after each restart, nothing is doubled, and every school's
//! chain in PostgreSQL verifies with the `events` crate's own check.
use std::time::Duration;

use annals::hub::{self, receipt::Receipt};
use events::envelope::ChainCheck;

use super::{
    cli::{free_port, hub_cmd, serve},
    pg,
};
use crate::{
    bench::synth,
    helpers::{run, TestStore},
};

/// How many times the hub is killed (issue 16 asks for 20).
const KILLS: usize = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_hub_mid_push_loses_nothing_acknowledged() {
    let db = pg::database().await;
    run(hub_cmd(&db).arg("init")).ok();
    let pool = hub::db::pool(&db, 2).unwrap();
    let client = pool.get().await.unwrap();
    let token = hub::schools::add(&client, "county-a", "甲县委党校", None)
        .await
        .unwrap();
    let school = TestStore::new();
    school
        .import(&synth::generate(1_500, synth::SEED).jsonl())
        .unwrap();
    let head = school.head_seq();
    let tmp = tempfile::tempdir().unwrap();
    let receipts = tmp.path().join("receipts.jsonl");
    let port = free_port();
    let opts = hub::push::PushOptions {
        to: format!("http://127.0.0.1:{port}"),
        token,
        piece: 20,
        hub_key: None,
        receipts: Some(receipts.clone()),
        timeout: Duration::from_secs(30),
    };
    let mut cut = 0;
    for round in 0..=KILLS {
        let mut server = serve(&db, port);
        let store = school.store.clone();
        let o = opts.clone();
        let pushing =
            tokio::spawn(async move { hub::push::push(&store, &o, &mut |_, _| {}).await });
        if round == KILLS {
            pushing.await.unwrap().expect("the last push finishes");
        } else {
            // Let a few pieces through, then kill the hub while it stores the next.
            tokio::time::sleep(Duration::from_millis(30 + 7 * round as u64)).await;
            server.kill().unwrap();
            cut += usize::from(pushing.await.unwrap().is_err());
        }
        server.kill().ok();
        server.wait().unwrap();
        held_is_whole(&client, &receipts).await;
    }
    let (n, max): (i64, i64) = {
        let row = client
            .query_one("SELECT COUNT(*), MAX(seq) FROM events", &[])
            .await
            .unwrap();
        (row.get(0), row.get(1))
    };
    assert_eq!((n as u64, max as u64), (head, head), "everything, once");
    assert!(
        cut >= KILLS / 2,
        "only {cut} of {KILLS} kills cut a push short"
    );
}

/// Every receipt given is covered by what the hub holds, and the chain verifies.
async fn held_is_whole(client: &deadpool_postgres::Client, receipts: &std::path::Path) {
    let events = hub::ingest::events_after(client, "county-a", 0, u64::MAX / 2)
        .await
        .unwrap();
    let mut chain = ChainCheck::default();
    for e in &events {
        chain.check(e).expect("the hub's copy verifies");
    }
    let text = std::fs::read_to_string(receipts).unwrap_or_default();
    for line in text.lines() {
        let r: Receipt = serde_json::from_str(line).unwrap();
        let held = events
            .get(r.seq as usize - 1)
            .expect("an acknowledged piece is still there");
        assert_eq!(held.hash, r.hash);
    }
}
