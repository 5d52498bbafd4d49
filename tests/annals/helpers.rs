//! Shared helpers: temporary stores, drafts, the `annals` binary, and direct access to
//! the log file for tampering.
use std::{
    path::Path,
    process::{Command, ExitStatus},
    sync::{Arc, Once},
};

use annals::{
    intake::{self, IntakeError, Outcome},
    store::{raw, Batch, Filter, Options, Receipt, Store, StoreError},
};
use events::{Catalog, Draft, Envelope, NewEvent};
use serde_json::{json, Value};
use tempfile::TempDir;

/// Who the tests record as.
pub const AUTHOR: &str = "测试";

/// The embedded catalog as every command loads it by default: `target_set`'s metric a
/// choice of the embedded metrics.
pub fn catalog() -> Arc<Catalog> {
    Arc::new(annals::config::load_catalog(None, None).expect("the embedded catalog loads"))
}

/// Installs a tracing subscriber when `TEST_LOG` is set; otherwise tests stay quiet.
fn init_tracing() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new("debug"))
                .with_test_writer()
                .try_init();
        }
    });
}

/// Checks a closed store's folder after a refused import: sled holds exactly `events`
/// events, none of the refused import's left behind.
pub fn assert_log_holds_only(dir: &Path, events: usize) {
    assert_eq!(raw::read_events(dir).unwrap().len(), events);
}

/// Opens the store in `dir` with the embedded catalog and default options.
pub fn open(dir: &Path) -> Store {
    init_tracing();
    Store::open(dir, catalog(), Options::default()).expect("the store opens")
}

/// A store in a fresh temporary folder, removed when dropped.
pub struct TestStore {
    /// The open store.
    pub store: Store,
    /// Its folder; kept alive as long as the store.
    pub dir: TempDir,
}

impl TestStore {
    /// An empty store.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let store = open(dir.path());
        TestStore { store, dir }
    }

    /// A store holding the example dataset.
    pub fn with_example() -> Self {
        let s = Self::new();
        let outcome = s
            .import(annals::EXAMPLE_DATASET.as_bytes())
            .expect("the example imports");
        assert_eq!(outcome.mode, intake::Mode::Appended);
        s
    }

    /// The store's folder.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The head's seq.
    pub fn head_seq(&self) -> u64 {
        self.store.head().expect("the head is readable").seq
    }

    /// Every event, in seq order.
    pub fn events(&self) -> Vec<Envelope> {
        scan(&self.store, Filter::default())
    }

    /// Validates a draft (as JSON) and appends it on its own.
    pub fn try_record(&self, draft: Value) -> Result<Receipt, String> {
        let event = try_new_event(draft)?;
        self.append(vec![event])
            .map(|mut r| r.remove(0))
            .map_err(|e| e.to_string())
    }

    /// Like [`TestStore::try_record`], for drafts that must be accepted.
    pub fn record(&self, draft: Value) -> Receipt {
        self.try_record(draft).expect("the event is recorded")
    }

    /// Appends validated events as one batch.
    pub fn append(&self, events: Vec<NewEvent>) -> Result<Vec<Receipt>, StoreError> {
        self.store.append(Batch {
            events,
            expected_seq: None,
            author: AUTHOR.into(),
            import: None,
        })
    }

    /// Imports JSONL bytes under a test file name.
    pub fn import(&self, bytes: &[u8]) -> Result<Outcome, IntakeError> {
        intake::jsonl::import(
            &self.store,
            bytes,
            "test.jsonl",
            AUTHOR,
            intake::Trust::Operator,
            false,
            &mut |_, _| {},
        )
    }

    /// The whole log as exported JSONL.
    pub fn export(&self) -> Vec<u8> {
        let mut out = Vec::new();
        intake::jsonl::export(&self.store, &mut out).expect("the store exports");
        out
    }

    /// Drops the store (releasing its lock and sled's) and keeps the folder.
    pub fn close(self) -> TempDir {
        drop(self.store);
        self.dir
    }
}

/// Collects a filtered scan.
pub fn scan(store: &Store, filter: Filter) -> Vec<Envelope> {
    store
        .scan(filter)
        .collect::<Result<_, _>>()
        .expect("the log is readable")
}

/// Validates a draft written as JSON, returning the validation message on refusal.
pub fn try_new_event(draft: Value) -> Result<NewEvent, String> {
    let draft: Draft = serde_json::from_value(draft).map_err(|e| e.to_string())?;
    NewEvent::parse(&catalog(), draft).map_err(|e| e.to_string())
}

/// Validates a draft that must be valid.
pub fn new_event(draft: Value) -> NewEvent {
    try_new_event(draft).expect("the draft is valid")
}

/// A school committee meeting on a day.
pub fn meeting(day: &str) -> Value {
    json!({"kind": "meeting_held", "occurred": day, "data": {"type": "school_committee"}})
}

/// A main-class session with the given data fields changed from a valid default.
pub fn class_with(occurred: &str, changes: Value) -> Value {
    let mut data = json!({
        "class_id": "2023-ZT-01",
        "class_name": "全县科级干部进修班",
        "category": "main",
        "session": 1,
        "trainees": 45,
    });
    for (k, v) in changes.as_object().expect("changes are an object") {
        if v.is_null() {
            data.as_object_mut().unwrap().remove(k);
        } else {
            data[k] = v.clone();
        }
    }
    json!({"kind": "class_held", "occurred": occurred, "data": data})
}

/// A voiding of `target`.
pub fn void(target: uuid::Uuid) -> Value {
    json!({"kind": "event_voided", "data": {"target": target.to_string(), "reason": "重复录入"}})
}

/// An amendment of `target` with replacement `data`.
pub fn amend(target: uuid::Uuid, data: Value) -> Value {
    json!({"kind": "event_amended", "data": {"target": target.to_string(), "data": data, "reason": "人数有误"}})
}

/// Lines of JSON as a JSONL file.
pub fn jsonl(lines: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    for line in lines {
        out.extend_from_slice(line.to_string().as_bytes());
        out.push(b'\n');
    }
    out
}

/// The `annals` binary with the test's environment cleared of its variables.
pub fn bare_annals() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_annals"));
    for (var, _) in std::env::vars_os() {
        if var.to_string_lossy().starts_with("ANNALS_") {
            cmd.env_remove(var);
        }
    }
    cmd
}

/// The `annals` binary pointed at a store folder.
pub fn annals(store: &Path) -> Command {
    let mut cmd = bare_annals();
    cmd.arg("--store").arg(store);
    cmd
}

/// What a finished command printed.
#[derive(Debug)]
pub struct Run {
    /// Its exit status.
    pub status: ExitStatus,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
}

impl Run {
    /// Panics, showing both streams, unless the command succeeded.
    pub fn ok(self) -> Self {
        assert!(self.status.success(), "the command failed: {self:#?}");
        self
    }

    /// Panics, showing both streams, unless the command failed.
    pub fn failed(self) -> Self {
        assert!(
            !self.status.success(),
            "the command should have failed: {self:#?}"
        );
        self
    }
}

/// Runs a command to completion.
pub fn run(cmd: &mut Command) -> Run {
    let out = cmd.output().expect("the annals binary runs");
    Run {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Reads the closed store's events straight from sled, as an attacker with the files
/// would, lets `f` edit them, and writes them back through sled's own API (ids,
/// corrections and the committed head made to match). `annals.seen` is left as it was;
/// a forger who also rewrites it uses [`forge_seen`].
pub fn tamper(dir: &Path, f: impl FnOnce(&mut Vec<Envelope>)) {
    let mut events = raw::read_events(dir).expect("the closed store's events read");
    f(&mut events);
    raw::write_events(dir, &events).expect("the events are rewritten");
}

/// Opens a store that must be refused as damaged, and returns what it said.
pub fn open_damaged(dir: &Path) -> String {
    init_tracing();
    match Store::open(dir, catalog(), Options::default()) {
        Ok(store) => panic!(
            "the store opened holding {} events; it must be refused as damaged",
            store.head_seq()
        ),
        Err(e @ StoreError::Damaged { .. }) => {
            let message = e.to_string();
            assert!(message.contains("restore it from a backup"), "{message}");
            message
        }
        Err(e) => panic!("the store must be refused as damaged, not: {e}"),
    }
}

/// Rewrites the store's note of how far its log reached, as a thorough forger would.
pub fn forge_seen(dir: &Path, seq: u64) {
    std::fs::write(dir.join("annals.seen"), seq.to_string()).expect("the note is rewritten");
}
