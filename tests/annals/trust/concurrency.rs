//! Issue 6, concurrency: sixteen HTTP writers and four readers against one server for a
//! bounded run of [`EVENTS`] events, in batches, some writers retrying the same ids. No
//! event is lost or duplicated, seq is gapless, the chain verifies, and no reader ever
//! sees a seq go backwards or a hole that closes later.
//!
//! The writers: 0–3 send every other batch twice (the repeat must be answered 200 with
//! the first receipts); 4–5 send each batch together with the one before (the old half
//! answered as existing, at its first seqs); 12 and 13, and 14 and 15, send the same
//! batches at the same time (whoever comes second gets the first's receipts); the rest
//! send each batch once. Every receipt for an id must agree on its seq and hash.
use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::{
    helpers::open,
    server::app::{spawn_app, TestApp, Who},
};

/// Distinct events the writers record in all.
const EVENTS: u64 = 20_000;
const WRITERS: usize = 16;
const READERS: usize = 4;
/// Writers 12–15 are two pairs sharing a sequence of batches, so 14 sequences.
const SEQUENCES: u64 = 14;
/// The run must end within this, or something is stuck.
const LIMIT: Duration = Duration::from_secs(180);

const MARK: u128 = 0xC0C0_2024;

fn id(sequence: u64, n: u64) -> Uuid {
    Uuid::from_u128(MARK << 96 | u128::from(sequence) << 64 | u128::from(n))
}

fn draft(sequence: u64, n: u64) -> Value {
    json!({
        "id": id(sequence, n).to_string(),
        "kind": "meeting_held",
        "occurred": format!("2023-{:02}-{:02}", 1 + n % 12, 1 + n % 28),
        "data": {"type": "theory_study", "title": format!("并发 s{sequence} #{n}"), "attendees": n % 500},
    })
}

/// The events of one sequence, cut into batches of 1–60 that look random but are the
/// same for both writers of a pair.
fn batches(sequence: u64) -> Vec<Vec<u64>> {
    let quota = EVENTS / SEQUENCES + u64::from(sequence < EVENTS % SEQUENCES);
    let mut state = sequence.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::new();
    let mut n = 0;
    while n < quota {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let size = (1 + state % 60).min(quota - n);
        out.push((n..n + size).collect());
        n += size;
    }
    out
}

/// What every receipt said, by id: (seq, hash).
#[derive(Default)]
struct Seen {
    receipts: HashMap<Uuid, (u64, String)>,
    requests: usize,
    repeats_answered_200: usize,
    existing: usize,
}

impl Seen {
    fn note(&mut self, receipts: &[Value]) {
        for r in receipts {
            let id: Uuid = r["id"].as_str().unwrap().parse().unwrap();
            let now = (
                r["seq"].as_u64().unwrap(),
                r["hash"].as_str().unwrap().to_owned(),
            );
            if let Some(before) = self.receipts.insert(id, now.clone()) {
                assert_eq!(before, now, "two receipts for {id} disagree");
            }
            self.existing += usize::from(r["existing"] == true);
        }
    }
}

async fn post(app: &TestApp, body: &Value) -> (StatusCode, Vec<Value>) {
    let resp = app.append(body).await;
    let status = resp.status();
    let text = resp.text().await.unwrap();
    assert!(status.is_success(), "{status}: {text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    (status, v["receipts"].as_array().unwrap().clone())
}

async fn writer(app: Arc<TestApp>, w: usize, seen: Arc<Mutex<Seen>>) {
    let sequence = match w {
        0..12 => w as u64,
        12 | 13 => 12,
        _ => 13,
    };
    let mut previous: Option<Vec<Value>> = None;
    for (i, batch) in batches(sequence).into_iter().enumerate() {
        let drafts: Vec<Value> = batch.iter().map(|n| draft(sequence, *n)).collect();
        let body = match (w, &previous) {
            (4 | 5, Some(prev)) => Value::Array(prev.iter().chain(&drafts).cloned().collect()),
            _ => Value::Array(drafts.clone()),
        };
        let (status, receipts) = post(&app, &body).await;
        if (4..6).contains(&w) && previous.is_some() {
            let old = receipts.len() - drafts.len();
            assert_eq!(status, StatusCode::CREATED);
            assert!(receipts[..old].iter().all(|r| r["existing"] == true));
            assert!(receipts[old..].iter().all(|r| r["existing"] == false));
        }
        if w < 12 {
            assert!(
                receipts[receipts.len() - drafts.len()..]
                    .iter()
                    .all(|r| r["existing"] == false),
                "writer {w}: a new batch came back as existing"
            );
        }
        {
            let mut s = seen.lock().unwrap();
            s.requests += 1;
            s.note(&receipts);
        }
        if w < 4 && i % 2 == 0 {
            let (again, repeat) = post(&app, &body).await;
            assert_eq!(again, StatusCode::OK, "an exact repeat writes nothing");
            assert_eq!(
                repeat
                    .iter()
                    .map(|r| (&r["id"], &r["seq"], &r["hash"]))
                    .collect::<Vec<_>>(),
                receipts
                    .iter()
                    .map(|r| (&r["id"], &r["seq"], &r["hash"]))
                    .collect::<Vec<_>>(),
                "writer {w}: a repeat gets the first receipts"
            );
            let mut s = seen.lock().unwrap();
            s.requests += 1;
            s.repeats_answered_200 += 1;
            s.note(&repeat);
        }
        previous = Some(drafts);
    }
}

/// What a reader saw.
struct Read {
    pages: usize,
    events: u64,
    empty_pages: usize,
    /// Every event it saw after the start, in order: (seq, id, hash).
    log: Vec<(u64, Uuid, String)>,
}

/// The parts of a page a reader checks; the rest of each event is skipped unparsed.
#[derive(serde::Deserialize)]
struct Page {
    events: Vec<Listed>,
    next: Option<u64>,
}

#[derive(serde::Deserialize)]
struct Listed {
    seq: u64,
    id: Uuid,
    prev_hash: String,
    hash: String,
}

/// Pages through the log with the `after` cursor until it has seen `last`: every page
/// must continue exactly where the last ended, each event linking to the one before.
async fn reader(app: Arc<TestApp>, r: usize, start: u64, last: u64) -> Read {
    let mut cursor = 0u64;
    let mut prev_hash = events::GENESIS.to_string();
    let mut state = (r as u64 + 1).wrapping_mul(0x2545_F491_4F6C_DD1D);
    let mut read = Read {
        pages: 0,
        events: 0,
        empty_pages: 0,
        log: Vec::new(),
    };
    let started = Instant::now();
    while cursor < last {
        assert!(
            started.elapsed() < LIMIT,
            "reader {r} is stuck at seq {cursor}"
        );
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let limit = match state % 4 {
            0 => 1 + state % 10,
            _ => 1 + state % 1000,
        };
        let resp = app
            .get(
                &format!("/api/events?after={cursor}&limit={limit}"),
                Who::Reader,
            )
            .await;
        assert_eq!(resp.status(), StatusCode::OK);
        let page: Page = resp.json().await.expect("a page of events");
        let list = &page.events;
        read.pages += 1;
        if list.is_empty() {
            read.empty_pages += 1;
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        }
        assert!(list.len() as u64 <= limit);
        for e in list {
            let seq = e.seq;
            assert_eq!(
                seq,
                cursor + 1,
                "reader {r}: after seq {cursor} came seq {seq}: a hole or a step back"
            );
            assert_eq!(
                e.prev_hash, prev_hash,
                "reader {r}: seq {seq} does not link to the seq before it"
            );
            prev_hash.clone_from(&e.hash);
            cursor = seq;
            if seq > start {
                read.log.push((seq, e.id, e.hash.clone()));
            }
        }
        if let Some(next) = page.next {
            assert_eq!(
                next, cursor,
                "reader {r}: `next` is the last seq of the page"
            );
        }
        read.events += list.len() as u64;
    }
    assert_eq!(cursor, last, "reader {r} read past the end");
    read
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_writers_and_four_readers_lose_nothing_and_duplicate_nothing() {
    let began = Instant::now();
    let app = Arc::new(spawn_app().await);
    let start = app.head_at_start;
    let last = start + EVENTS;
    let seen = Arc::new(Mutex::new(Seen::default()));
    let readers: Vec<_> = (0..READERS)
        .map(|r| tokio::spawn(reader(app.clone(), r, start, last)))
        .collect();
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| tokio::spawn(writer(app.clone(), w, seen.clone())))
        .collect();
    for w in writers {
        tokio::time::timeout(LIMIT, w)
            .await
            .expect("the writers finish in time")
            .expect("a writer does not panic");
    }
    let wrote = began.elapsed();
    let mut reads = Vec::new();
    for r in readers {
        reads.push(
            tokio::time::timeout(LIMIT, r)
                .await
                .expect("the readers finish in time")
                .expect("a reader does not panic"),
        );
    }

    let seen = Arc::try_unwrap(seen).ok().unwrap().into_inner().unwrap();
    assert_eq!(
        seen.receipts.len() as u64,
        EVENTS,
        "every event got a receipt"
    );
    for r in &reads[1..] {
        assert_eq!(r.log, reads[0].log, "every reader read the same log");
    }
    // What the readers read is the log: seq 1 to the head, all of it linked (checked as
    // they read), and the head is on disk; the store's own verify recomputes each hash.
    let log = &reads[0].log;
    assert!(
        log.iter().map(|e| e.0).eq(start + 1..=last),
        "seq is gapless"
    );
    let ids: HashSet<Uuid> = log.iter().map(|e| e.1).collect();
    assert_eq!(ids.len() as u64, EVENTS, "no id is in the log twice");
    for (seq, id, hash) in log {
        let told = seen
            .receipts
            .get(id)
            .unwrap_or_else(|| panic!("{id} is in the log but no writer was told"));
        assert_eq!(
            told,
            &(*seq, hash.clone()),
            "{id}: the log and its receipt differ"
        );
    }
    let app = Arc::try_unwrap(app).ok().expect("the tasks are done");
    let dir = app.shutdown().await;
    let store = open(dir.path());
    assert_eq!(
        store.head().unwrap().seq,
        last,
        "no event lost or duplicated"
    );
    for sequence in 0..SEQUENCES {
        for n in batches(sequence).concat() {
            assert!(ids.contains(&id(sequence, n)), "s{sequence} #{n} was lost");
        }
    }
    let report = store.verify().unwrap().expect("the chain verifies");
    assert_eq!(report.count, last);

    println!(
        "concurrency: {WRITERS} writers and {READERS} readers; {EVENTS} events in {} requests \
         ({} exact repeats answered 200, {} receipts of existing events), written in {:.1} s, \
         {:.1} s in all; readers: {}",
        seen.requests,
        seen.repeats_answered_200,
        seen.existing,
        wrote.as_secs_f64(),
        began.elapsed().as_secs_f64(),
        reads
            .iter()
            .map(|r| format!(
                "{} pages ({} empty), {} events",
                r.pages, r.empty_pages, r.events
            ))
            .collect::<Vec<_>>()
            .join("; "),
    );
}
