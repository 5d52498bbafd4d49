//! Issue 6, crash and restart: a child process appends and logs every acknowledgement;
//! the harness kills it with SIGKILL at random moments and, after each kill, reopens the
//! store with no manual step and checks that it verifies, that every acknowledged event
//! is there exactly once at its acknowledged seq, that seq has no gap, and that no batch
//! is half there.
//!
//! Three writers, one test each: single events one per append and batches of varying
//! size, both through the library API (the child is this test binary run again, as
//! `crash_child`), and batches through the HTTP API of a real `annals serve`.
//!
//! The store is the same folder for every round of a test, so each round also starts on
//! a store the last round left after a kill. A round resumes with the first batch not
//! acknowledged before, sent again with the same ids, as a client that lost its answer
//! would: if the batch was committed but its answer lost, the retry must get the first
//! seqs back and write nothing.
//!
//! `ANNALS_CRASH_KILLS=N` sets the kills of the three tests together (default
//! [`DEFAULT_KILLS`]): two fifths each to the library writers, one fifth to HTTP.
use std::{
    collections::{BTreeMap, BTreeSet, HashMap, HashSet},
    fs::{File, OpenOptions},
    io::{BufRead, BufReader, Seek, SeekFrom, Write},
    os::unix::process::ExitStatusExt,
    path::Path,
    process::{Child, Command, Stdio},
    sync::{mpsc, Arc},
    time::{Duration, Instant, SystemTime},
};

use annals::store::{Batch, Filter, Store};
use events::{Catalog, Draft, NewEvent};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{annals, catalog, open};

/// Kills of the three tests together in a plain `cargo test`.
pub const DEFAULT_KILLS: u32 = 55;
/// The most a round waits for its child to start appending.
const STARTUP_LIMIT: Duration = Duration::from_secs(30);
/// The child stops by itself after this long, should the harness die first.
const CHILD_LIFETIME: Duration = Duration::from_secs(60);

const CHILD_TEST: &str = "trust::crash::crash_child";
const CHILD_MODE: &str = "ANNALS_TRUST_CRASH_MODE";
const CHILD_STORE: &str = "ANNALS_TRUST_CRASH_STORE";
const CHILD_ACKS: &str = "ANNALS_TRUST_CRASH_ACKS";
const CHILD_FROM: &str = "ANNALS_TRUST_CRASH_FROM";

/// This test's share of the kills: `fifths` fifths of `ANNALS_CRASH_KILLS` (rounded up).
fn kills(fifths: u32) -> u32 {
    let total = std::env::var("ANNALS_CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_KILLS);
    (total * fifths).div_ceil(5).max(1)
}

// ---------------------------------------------------------------------------------
// The events: each id says which writer and batch it belongs to, its place in the batch
// and the batch's size, so the checker can tell a whole batch from part of one.
// ---------------------------------------------------------------------------------

const MARK: u128 = 0xC4A5_11ED;

/// Where an event belongs: (writer, batch, index, size).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slot {
    writer: u16,
    batch: u32,
    index: u16,
    size: u16,
}

impl Slot {
    fn id(self) -> Uuid {
        Uuid::from_u128(
            MARK << 96
                | u128::from(self.writer) << 80
                | u128::from(self.batch) << 48
                | u128::from(self.index) << 32
                | u128::from(self.size) << 16,
        )
    }

    fn of(id: Uuid) -> Option<Slot> {
        let n = id.as_u128();
        (n >> 96 == MARK).then_some(Slot {
            writer: (n >> 80) as u16,
            batch: (n >> 48) as u32,
            index: (n >> 32) as u16,
            size: (n >> 16) as u16,
        })
    }

    /// The draft, the same every time it is asked for, so a retry is an exact repeat.
    fn draft(self) -> Value {
        let day = 1 + (self.batch + u32::from(self.index)) % 28;
        json!({
            "id": self.id().to_string(),
            "kind": "meeting_held",
            "occurred": format!("2023-{:02}-{day:02}", 1 + self.batch % 12),
            "data": {
                "type": "branch_general",
                "title": format!("崩溃测试 w{} b{} {}/{}", self.writer, self.batch, self.index + 1, self.size),
                "attendees": (self.batch + u32::from(self.index)) % 100,
            },
        })
    }
}

/// A mixing function, so batch sizes look random but are the same on every retry.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// How many events a batch holds: one for the single writer; otherwise mostly 1–40,
/// one batch in eight 100–199, so some kills land while a large batch is written.
fn batch_size(mode: Mode, writer: u16, batch: u32) -> u16 {
    match mode {
        Mode::Single => 1,
        Mode::Batches | Mode::Http => {
            let h = mix(u64::from(writer) << 40 | u64::from(batch));
            if h.is_multiple_of(8) {
                100 + ((h >> 8) % 100) as u16
            } else {
                1 + ((h >> 8) % 40) as u16
            }
        }
    }
}

fn slots(mode: Mode, writer: u16, batch: u32) -> Vec<Slot> {
    let size = batch_size(mode, writer, batch);
    (0..size)
        .map(|index| Slot {
            writer,
            batch,
            index,
            size,
        })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Single,
    Batches,
    Http,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Single => "single",
            Mode::Batches => "batches",
            Mode::Http => "http",
        }
    }
}

/// A small xorshift generator seeded from the clock; the seed is printed so a failure
/// shows which delays it drew.
struct Rng(u64);

impl Rng {
    fn from_clock() -> Self {
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
        Rng(mix(nanos) | 1)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }

    fn millis(&mut self, from: u64, to: u64) -> Duration {
        Duration::from_millis(from + self.below(to - from + 1))
    }
}

// ---------------------------------------------------------------------------------
// The child: appends through the library until it is killed, logging each answer.
// ---------------------------------------------------------------------------------

/// Not a test of its own: the harness runs this test binary again with `--exact` and
/// `--ignored` to get a child process that appends. Without the harness's variables it
/// does nothing.
#[test]
#[ignore = "the crash harness's child process; the harness starts it"]
fn crash_child() {
    let Ok(mode) = std::env::var(CHILD_MODE) else {
        return;
    };
    let mode = if mode == "single" {
        Mode::Single
    } else {
        Mode::Batches
    };
    let store = open(Path::new(&std::env::var(CHILD_STORE).unwrap()));
    let mut acks = OpenOptions::new()
        .append(true)
        .create(true)
        .open(std::env::var(CHILD_ACKS).unwrap())
        .unwrap();
    let from: u32 = std::env::var(CHILD_FROM).unwrap().parse().unwrap();
    let catalog = catalog();
    let born = Instant::now();
    for batch in from.. {
        if born.elapsed() > CHILD_LIFETIME {
            return;
        }
        let events = slots(mode, 0, batch)
            .into_iter()
            .map(|s| parse(&catalog, s.draft()))
            .collect();
        let receipts = store
            .append(Batch {
                events,
                expected_seq: None,
                author: "崩溃测试".into(),
                import: None,
            })
            .expect("the append is acknowledged");
        // One write per acknowledgement, so a kill leaves whole lines, or at worst a
        // last line without its newline, which the harness ignores.
        let mut line = String::new();
        for r in receipts {
            line.push_str(&format!("{} {} {}\n", r.id, r.seq, u8::from(r.existing)));
        }
        acks.write_all(line.as_bytes()).unwrap();
    }
}

fn parse(catalog: &Catalog, draft: Value) -> NewEvent {
    let draft: Draft = serde_json::from_value(draft).unwrap();
    NewEvent::parse(catalog, draft).expect("the draft is valid")
}

// ---------------------------------------------------------------------------------
// The check after each kill.
// ---------------------------------------------------------------------------------

/// Everything the writers were told, across every round so far.
#[derive(Default)]
struct Acks {
    /// Acknowledged id → seq.
    seqs: HashMap<Uuid, u64>,
    /// Per writer, the last batch acknowledged in full.
    last_batch: BTreeMap<u16, u32>,
    /// Receipts that said `existing`: retries of a batch committed before a kill.
    existing: usize,
}

impl Acks {
    /// Notes one receipt; panics if an id was acknowledged at two seqs.
    fn note(&mut self, id: Uuid, seq: u64, existing: bool) {
        if let Some(before) = self.seqs.insert(id, seq) {
            assert_eq!(
                before, seq,
                "{id} was acknowledged at seq {before}, then {seq}"
            );
        }
        let slot = Slot::of(id).expect("an id the harness made");
        if slot.index + 1 == slot.size {
            let last = self.last_batch.entry(slot.writer).or_insert(slot.batch);
            *last = (*last).max(slot.batch);
        }
        self.existing += usize::from(existing);
    }

    /// The batch a writer goes on with: the first it was not told about.
    fn next_batch(&self, writer: u16) -> u32 {
        self.last_batch.get(&writer).map_or(0, |b| b + 1)
    }
}

/// What one check saw.
struct Checked {
    head: u64,
    /// Batches in the store whose answer never reached the writer (committed, then killed).
    unacknowledged: usize,
    /// Opening and verifying the store.
    took: Duration,
}

/// Reopens the store the killed process left and checks every promise about it.
fn check(dir: &Path, acks: &Acks, round: u32, what: &str) -> Checked {
    let started = Instant::now();
    let store = Store::open(dir, catalog(), Default::default()).unwrap_or_else(|e| {
        panic!("{what} round {round}: the store does not reopen after the kill: {e}")
    });
    let report = store
        .verify()
        .expect("the store is readable")
        .unwrap_or_else(|f| panic!("{what} round {round}: the store does not verify: {f}"));
    let took = started.elapsed();
    let head = store.head().unwrap().seq;
    assert_eq!(report.count, head, "{what} round {round}");

    let events: Vec<_> = store
        .scan(Filter::default())
        .collect::<Result<_, _>>()
        .expect("the log is readable");
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert!(
        seqs.iter().copied().eq(1..=head),
        "{what} round {round}: seq has a gap: {} events for head {head}",
        seqs.len()
    );
    let mut ids = HashSet::new();
    for e in &events {
        assert!(
            ids.insert(e.id),
            "{what} round {round}: {} is in the log twice",
            e.id
        );
    }
    for (id, seq) in &acks.seqs {
        match store.get_seq(*seq).unwrap() {
            Some(e) if e.id == *id => {}
            other => panic!(
                "{what} round {round}: acknowledged {id} at seq {seq}, but the log has {:?} there",
                other.map(|e| e.id)
            ),
        }
    }

    // Whole batches only, each in consecutive seqs, and per writer batches 0..=k with
    // at most one past the last acknowledged (the one in flight at the kill).
    let mut batches: BTreeMap<(u16, u32), Vec<(Slot, u64)>> = BTreeMap::new();
    for e in &events {
        let slot = Slot::of(e.id)
            .unwrap_or_else(|| panic!("{what} round {round}: an event the harness did not make"));
        batches
            .entry((slot.writer, slot.batch))
            .or_default()
            .push((slot, e.seq));
    }
    let mut per_writer: BTreeMap<u16, BTreeSet<u32>> = BTreeMap::new();
    for ((writer, batch), items) in &batches {
        let size = items[0].0.size;
        let indexes: Vec<u16> = items.iter().map(|(s, _)| s.index).collect();
        assert!(
            indexes.iter().copied().eq(0..size),
            "{what} round {round}: writer {writer}'s batch {batch} is half there: \
             items {indexes:?} of {size}"
        );
        let first = items[0].1;
        assert!(
            items
                .iter()
                .enumerate()
                .all(|(i, (_, seq))| *seq == first + i as u64),
            "{what} round {round}: writer {writer}'s batch {batch} is not in consecutive seqs"
        );
        per_writer.entry(*writer).or_default().insert(*batch);
    }
    let mut unacknowledged = 0;
    for (writer, present) in &per_writer {
        let last = *present.last().expect("a batch");
        assert!(
            present.iter().copied().eq(0..=last),
            "{what} round {round}: writer {writer} has batches {present:?}: one is missing"
        );
        let told = acks.last_batch.get(writer).copied();
        let allowed = told.map_or(0, |b| b + 1);
        assert!(
            last <= allowed,
            "{what} round {round}: writer {writer} has batch {last}, but batches are sent one at \
             a time and the last acknowledged was {told:?}"
        );
        if told != Some(last) {
            unacknowledged += 1;
        }
    }
    for writer in acks.last_batch.keys() {
        assert!(
            per_writer.contains_key(writer),
            "{what} round {round}: writer {writer}'s acknowledged batches are gone"
        );
    }
    Checked {
        head,
        unacknowledged,
        took,
    }
}

/// Reads the acknowledgements the child logged after byte `from`, ignoring a last line
/// cut by the kill; returns where the next round's lines begin.
fn read_acks(path: &Path, from: u64, acks: &mut Acks) -> u64 {
    let Ok(mut file) = File::open(path) else {
        return from;
    };
    file.seek(SeekFrom::Start(from)).unwrap();
    let mut read = from;
    let mut reader = BufReader::new(file);
    let mut line = String::new();
    while reader.read_line(&mut line).unwrap() > 0 {
        if !line.ends_with('\n') {
            break;
        }
        let mut parts = line.split_whitespace();
        let id: Uuid = parts.next().unwrap().parse().unwrap();
        let seq: u64 = parts.next().unwrap().parse().unwrap();
        let existing = parts.next() == Some("1");
        acks.note(id, seq, existing);
        read += line.len() as u64;
        line.clear();
    }
    read
}

/// Statistics of one harness, printed with `--nocapture`.
#[derive(Default)]
struct Stats {
    kills: u32,
    /// Killed before it acknowledged anything in that round (starting up, recovering).
    early: u32,
    acked: usize,
    unacknowledged: usize,
    head: u64,
    slowest_check: Duration,
}

impl Stats {
    fn print(&self, what: &str, seed: u64, took: Duration, acks: &Acks) {
        println!(
            "crash harness [{what}] (seed {seed:#x}): {} SIGKILLs in {:.1} s; {} before the \
             round's first acknowledgement; {} acknowledged events, all present at their seqs; \
             {} batches committed but unacknowledged at a kill, later retried: {} receipts \
             came back as existing; final head {}; slowest reopen + verify {} ms",
            self.kills,
            took.as_secs_f64(),
            self.early,
            self.acked,
            self.unacknowledged,
            acks.existing,
            self.head,
            self.slowest_check.as_millis(),
        );
    }
}

fn size_of(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

fn stderr_of(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Kills a running child with SIGKILL; panics if it had already stopped on its own.
fn kill(child: &mut Child, log: &Path, what: &str, round: u32) {
    if let Some(status) = child.try_wait().unwrap() {
        panic!(
            "{what} round {round}: the child stopped on its own ({status}):\n{}",
            stderr_of(log)
        );
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(9), "{what} round {round}: {status}");
}

/// The library writers: the child appends; the harness kills it and checks.
fn library_harness(mode: Mode, kills: u32) {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let acks_path = tmp.path().join("acks");
    let log = tmp.path().join("child.log");
    let seed_rng = Rng::from_clock();
    let seed = seed_rng.0;
    let mut rng = seed_rng;
    let mut acks = Acks::default();
    let mut stats = Stats::default();
    let mut read_from = 0;
    let began = Instant::now();
    let what = mode.name();
    for round in 1..=kills {
        let acked_before = size_of(&acks_path);
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", CHILD_TEST, "--ignored", "--nocapture"])
            .args(["--test-threads", "1"])
            .env(CHILD_MODE, what)
            .env(CHILD_STORE, &store)
            .env(CHILD_ACKS, &acks_path)
            .env(CHILD_FROM, acks.next_batch(0).to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(&log).unwrap())
            .spawn()
            .unwrap();
        if round % 5 == 1 {
            // While it starts: opening the store, sled recovering the last kill's log.
            std::thread::sleep(rng.millis(0, 120));
        } else {
            // While it appends: once it has been answered, a little later.
            let started = Instant::now();
            while size_of(&acks_path) == acked_before {
                assert!(
                    started.elapsed() < STARTUP_LIMIT,
                    "{what} round {round}: the child appended nothing:\n{}",
                    stderr_of(&log)
                );
                if child.try_wait().unwrap().is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_micros(300));
            }
            std::thread::sleep(rng.millis(0, 150));
        }
        kill(&mut child, &log, what, round);
        stats.kills += 1;
        let before = acks.seqs.len();
        // A line cut by the kill is dropped, so the next round's lines start on a line
        // of their own.
        read_from = read_acks(&acks_path, read_from, &mut acks);
        let cut = size_of(&acks_path);
        if cut > read_from {
            OpenOptions::new()
                .write(true)
                .open(&acks_path)
                .unwrap()
                .set_len(read_from)
                .unwrap();
        }
        if acks.seqs.len() == before {
            stats.early += 1;
        }
        let checked = check(&store, &acks, round, what);
        stats.unacknowledged += checked.unacknowledged;
        stats.head = checked.head;
        stats.slowest_check = stats.slowest_check.max(checked.took);
    }
    stats.acked = acks.seqs.len();
    stats.print(what, seed, began.elapsed(), &acks);
    assert!(
        stats.acked > 0,
        "no append was ever acknowledged before a kill"
    );
}

#[test]
fn single_appends_killed_at_random_moments_lose_nothing_acknowledged() {
    library_harness(Mode::Single, kills(2));
}

#[test]
fn batches_killed_at_random_moments_are_all_there_or_not_at_all() {
    library_harness(Mode::Batches, kills(2));
}

// ---------------------------------------------------------------------------------
// The HTTP writer: a real `annals serve`, killed while four clients append batches.
// ---------------------------------------------------------------------------------

/// Concurrent HTTP clients, each sending its own batches one at a time.
const HTTP_WRITERS: u16 = 4;

/// Starts `annals serve` over `store` on a free port; returns it, its address, and the
/// admin token if this start printed one.
fn start_server(store: &Path, log: &Path) -> (Child, String, Option<String>) {
    let port = crate::server::binary::free_port();
    let token_file = crate::server::binary::admin_token_file(store);
    let first_start = !token_file.exists();
    let mut child = annals(store)
        .env("ANNALS_LOG", "warn")
        .env("NO_COLOR", "1")
        .args(["serve", "--no-demo", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(File::create(log).unwrap())
        .spawn()
        .expect("annals serve starts");
    let out = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    loop {
        let line = rx
            .recv_timeout(STARTUP_LIMIT)
            .unwrap_or_else(|_| panic!("annals serve did not start:\n{}", stderr_of(log)));
        if line.contains("http://") {
            break;
        }
    }
    // The first start writes the admin token it made to a file beside the store.
    let token = first_start.then(|| {
        std::fs::read_to_string(&token_file)
            .expect("the first start wrote the admin token")
            .trim()
            .to_owned()
    });
    (child, format!("http://127.0.0.1:{port}"), token)
}

/// One HTTP client: sends its batches from `from` on until the server stops answering;
/// returns the receipts it got as (id, seq, existing).
async fn http_writer(
    client: reqwest::Client,
    url: String,
    token: Arc<String>,
    writer: u16,
    from: u32,
) -> Vec<(Uuid, u64, bool)> {
    let mut acked = Vec::new();
    for batch in from.. {
        let slots = slots(Mode::Http, writer, batch);
        let body = Value::Array(slots.iter().map(|s| s.draft()).collect());
        let sent = client
            .post(&url)
            .bearer_auth(token.as_str())
            .json(&body)
            .send()
            .await;
        let Ok(resp) = sent else { break };
        let status = resp.status();
        let Ok(text) = resp.text().await else { break };
        assert!(
            status.is_success(),
            "writer {writer} batch {batch}: {status} {text}"
        );
        let v: Value = serde_json::from_str(&text).unwrap();
        let receipts = v["receipts"].as_array().unwrap();
        assert_eq!(receipts.len(), slots.len());
        for (r, s) in receipts.iter().zip(&slots) {
            let id: Uuid = r["id"].as_str().unwrap().parse().unwrap();
            assert_eq!(id, s.id(), "receipts come in the batch's order");
            acked.push((id, r["seq"].as_u64().unwrap(), r["existing"] == true));
        }
    }
    acked
}

#[test]
fn http_appends_to_a_server_killed_at_random_moments_lose_nothing_acknowledged() {
    let kills = kills(1);
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let log = tmp.path().join("serve.log");
    let seed_rng = Rng::from_clock();
    let seed = seed_rng.0;
    let mut rng = seed_rng;
    let mut acks = Acks::default();
    let mut stats = Stats::default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let client = crate::server::app::client();
    let mut token: Option<Arc<String>> = None;
    let began = Instant::now();
    for round in 1..=kills {
        let (mut server, address, printed) = start_server(&store, &log);
        if let Some(t) = printed {
            assert!(token.is_none(), "only the first start prints a token");
            token = Some(Arc::new(t));
        }
        let token = token.clone().expect("the first start printed a token");
        let url = format!("{address}/api/events");
        let delay = rng.millis(20, 400);
        let answers: Vec<Vec<(Uuid, u64, bool)>> = runtime.block_on(async {
            let writers: Vec<_> = (0..HTTP_WRITERS)
                .map(|w| {
                    tokio::spawn(http_writer(
                        client.clone(),
                        url.clone(),
                        token.clone(),
                        w,
                        acks.next_batch(w),
                    ))
                })
                .collect();
            tokio::time::sleep(delay).await;
            kill(&mut server, &log, "http", round);
            let mut out = Vec::new();
            for w in writers {
                out.push(w.await.expect("a writer does not panic"));
            }
            out
        });
        stats.kills += 1;
        let before = acks.seqs.len();
        for (id, seq, existing) in answers.into_iter().flatten() {
            acks.note(id, seq, existing);
        }
        if acks.seqs.len() == before {
            stats.early += 1;
        }
        let checked = check(&store, &acks, round, "http");
        stats.unacknowledged += checked.unacknowledged;
        stats.head = checked.head;
        stats.slowest_check = stats.slowest_check.max(checked.took);
    }
    stats.acked = acks.seqs.len();
    stats.print("http", seed, began.elapsed(), &acks);
    assert!(stats.acked > 0, "no append was ever acknowledged");
}
