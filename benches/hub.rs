//! `cargo bench --bench hub`: the hub's ingest against a plain `COPY` of the same rows
//! into PostgreSQL in the same run (the floor: no verification, no transaction per
//! piece, no receipt), and the all-schools progress query's p50 (issue 16).
//!
//! ```sh
//! cargo bench --bench hub -- --schools 200 --events 10000 --queries 20
//! ```
//!
//! It starts a throw-away PostgreSQL as the tests do, or uses `ANNALS_TEST_DATABASE`.
//! Each school's log is the benchmark's synthetic log (eight seeds shared round-robin),
//! made in a store, read back through the store's API and ingested in pieces of 1 000
//! events, one school after another on one connection.
#[path = "../tests/annals/hub/pg.rs"]
mod pg;
#[path = "common/synth.rs"]
#[allow(dead_code)]
mod synth;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use annals::{
    hub::{self, figures::Folds, http as hub_http, protocol::Piece},
    intake,
    store::{Filter, Options, Store},
};
use chrono::FixedOffset;
use events::{Catalog, Envelope};
use projections::{metric::Metrics, report::Templates};

struct Args {
    schools: usize,
    events: usize,
    queries: usize,
}

fn parse_args() -> Args {
    let mut a = Args {
        schools: 200,
        events: 10_000,
        queries: 20,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut num = || {
            it.next()
                .and_then(|v| v.replace('_', "").parse().ok())
                .expect("a number after the option")
        };
        match arg.as_str() {
            "--schools" => a.schools = num(),
            "--events" => a.events = num(),
            "--queries" => a.queries = num(),
            _ => {}
        }
    }
    a
}

/// A synthetic school log of `n` events, as its store holds it.
fn log(n: usize, seed: u64, catalog: &Arc<Catalog>) -> Vec<Envelope> {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let store = Store::open(dir.path(), catalog.clone(), Options::default()).expect("a store");
    let jsonl = synth::generate(n, seed).jsonl();
    intake::jsonl::import(
        &store,
        &jsonl,
        "synth.jsonl",
        "bench",
        intake::Trust::Operator,
        false,
        &mut |_, _| {},
    )
    .expect("the synthetic log imports");
    store
        .scan(Filter::default())
        .collect::<Result<_, _>>()
        .expect("the log reads")
}

/// The rows of `events` in COPY's text format, as the hub's `events` table holds them.
fn copy_text(school: &str, events: &[Envelope]) -> Vec<u8> {
    let mut out = Vec::new();
    let now = chrono::Utc::now().to_rfc3339();
    for e in events {
        let canonical = String::from_utf8(e.canonical_bytes()).expect("UTF-8");
        // Text format: backslashes doubled; JSON holds no raw tab or newline.
        let line = format!(
            "{school}\t{}\t{}\t{}\t{}\t{}\t{}\t{now}\t{}\t{}\n",
            e.seq,
            e.id,
            e.kind,
            e.occurred.start(),
            e.occurred.end(),
            e.recorded_at.to_rfc3339(),
            e.hash,
            canonical.replace('\\', "\\\\")
        );
        out.extend_from_slice(line.as_bytes());
    }
    out
}

fn p50(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = parse_args();
    let catalog = Arc::new(Catalog::embedded());
    let db = pg::database().await;
    let pool = hub::db::pool(&db, 4).expect("a pool");
    let mut client = pool.get().await.expect("a connection");
    let keys = tempfile::tempdir().expect("a folder for the key");
    let key_file = keys.path().join("hub.key");
    hub::schema::init(&mut client, &key_file)
        .await
        .expect("the schema");
    client
        .batch_execute(
            "CREATE TABLE copy_floor (school VARCHAR(64) NOT NULL, seq BIGINT NOT NULL, id CHAR(36) NOT NULL,
             kind VARCHAR(100) NOT NULL, occurred_from DATE NOT NULL, occurred_to DATE NOT NULL,
             recorded_at TIMESTAMP WITH TIME ZONE NOT NULL, received_at TIMESTAMP WITH TIME ZONE NOT NULL,
             hash CHAR(64) NOT NULL, canonical TEXT NOT NULL, PRIMARY KEY (school, seq))",
        )
        .await
        .expect("the floor's table");
    let key = hub::schema::key(&mut client, &key_file)
        .await
        .expect("the key");
    let logs: Vec<Vec<Envelope>> = (0..8u64.min(args.schools as u64))
        .map(|i| log(args.events, synth::SEED + i, &catalog))
        .collect();
    let (mut ingest, mut copy, mut n) = (Duration::ZERO, Duration::ZERO, 0u64);
    for i in 0..args.schools {
        let id = format!("county-{i:03}");
        hub::schools::add(&client, &id, &format!("{i}号县委党校"), None)
            .await
            .expect("a school");
        let events = &logs[i % logs.len()];
        n += events.len() as u64;
        let started = Instant::now();
        for piece in events.chunks(1000) {
            let piece = Piece {
                events: piece.to_vec(),
                seal: None,
                receipts: Vec::new(),
            };
            hub::ingest::ingest(&mut client, &key, &id, piece)
                .await
                .expect("the piece is stored");
        }
        ingest += started.elapsed();
        let text = copy_text(&id, events);
        let started = Instant::now();
        let sink = client
            .copy_in("COPY copy_floor FROM STDIN")
            .await
            .expect("COPY starts");
        futures_util::pin_mut!(sink);
        use futures_util::SinkExt;
        sink.send(bytes::Bytes::from(text))
            .await
            .expect("COPY sends");
        sink.finish().await.expect("COPY ends");
        copy += started.elapsed();
    }
    let rate = |d: Duration| n as f64 / d.as_secs_f64();
    println!(
        "{} schools × {} events = {n} events",
        args.schools, args.events
    );
    println!(
        "ingest (verify + one transaction per 1 000 + receipt): {:>9.0} events/s ({:.1} s)",
        rate(ingest),
        ingest.as_secs_f64()
    );
    println!(
        "plain COPY of the same rows (the floor):                {:>9.0} events/s ({:.1} s)",
        rate(copy),
        copy.as_secs_f64()
    );

    let reader = hub::schools::add_reader(&client, "bench", None)
        .await
        .expect("a reader");
    drop(client);
    let state = hub_http::HubState::new(hub_http::Inner {
        pool,
        key,
        folds: Folds::new(catalog.clone()),
        metrics: Metrics::embedded(&catalog).expect("metrics"),
        templates: Templates::embedded().expect("templates"),
        config: hub_http::Config {
            open_reads: false,
            body_limit: 16 << 20,
            stale_after: chrono::Duration::days(7),
            offset: FixedOffset::east_opt(8 * 3600).expect("an offset"),
        },
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let url = format!(
        "http://{}/hub/api/progress?year=2025&on=2025-06-30",
        listener.local_addr().expect("its address")
    );
    tokio::spawn(hub_http::serve(listener, state, std::future::pending()));
    let http = reqwest::Client::new();
    let mut times = Vec::new();
    for _ in 0..=args.queries {
        let started = Instant::now();
        let resp = http
            .get(&url)
            .bearer_auth(&reader)
            .send()
            .await
            .expect("an answer");
        assert!(resp.status().is_success());
        resp.bytes().await.expect("the body");
        times.push(started.elapsed());
    }
    let cold = times.remove(0);
    println!("all-schools progress: first (folds every school from PostgreSQL) {:.2} s; then p50 {:.1} ms over {} queries", cold.as_secs_f64(), p50(times).as_secs_f64() * 1e3, args.queries);
}
