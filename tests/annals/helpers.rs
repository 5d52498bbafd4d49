//! Shared helpers: temporary stores, drafts, the `annals` binary, and direct access to
//! the log file for tampering.
use std::{
    ops::Range,
    path::Path,
    process::{Command, ExitStatus},
    sync::{Arc, Once},
};

use annals::{
    import::{self, ImportError, Outcome},
    store::{
        read_log_file, write_log_file, Batch, Filter, Options, Receipt, Store, StoreError, LOG_FILE,
    },
};
use events::{Catalog, Draft, Envelope, NewEvent};
use serde_json::{json, Value};
use tempfile::TempDir;

/// Who the tests record as.
pub const AUTHOR: &str = "测试";

/// The embedded catalog, as every command uses by default.
pub fn catalog() -> Arc<Catalog> {
    Arc::new(Catalog::embedded())
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

/// Checks a closed store's folder after a refused import: its log holds exactly `events`
/// events and nothing was cut off and kept aside as a torn write.
pub fn assert_log_holds_only(dir: &Path, events: usize) {
    let log = dir.join(annals::store::LOG_FILE);
    assert_eq!(annals::store::read_log_file(&log).unwrap().len(), events);
    assert!(
        !std::fs::read_dir(dir).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .contains("torn")),
        "a refused import leaves no torn write behind"
    );
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
        assert_eq!(outcome.mode, import::Mode::Appended);
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
    pub fn import(&self, bytes: &[u8]) -> Result<Outcome, ImportError> {
        import::import(
            &self.store,
            bytes,
            "test.jsonl",
            AUTHOR,
            import::Trust::Operator,
            false,
            &mut |_, _| {},
        )
    }

    /// The whole log as exported JSONL.
    pub fn export(&self) -> Vec<u8> {
        let mut out = Vec::new();
        import::export(&self.store, &mut out).expect("the store exports");
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

/// Reads the closed store's log file directly, as an attacker or a bad disk would, lets
/// `f` edit its events, and writes the file back whole with valid checksums (one frame
/// per event, each at the envelope's own `seq`). `annals.seen` is left as it was; a
/// forger who also rewrites it uses [`forge_seen`].
pub fn tamper(dir: &Path, f: impl FnOnce(&mut Vec<Envelope>)) {
    let path = dir.join(LOG_FILE);
    let mut events = read_log_file(&path).expect("the closed store's log reads");
    f(&mut events);
    write_log_file(&path, &events).expect("the log is rewritten");
}

/// The length of the log file's magic (`ANNALS1\n`) and of a frame's header (u32 payload
/// length, u32 CRC-32 of everything after it, u64 first seq, u32 record count).
pub const MAGIC_LEN: usize = 8;
/// See [`MAGIC_LEN`].
pub const HEADER_LEN: usize = 20;

/// Where each frame of a log file's bytes lies, header and payload, read as the format
/// lays them out (not through the store's own reader). The store may have written zeros
/// ahead past its last frame; they are not a frame.
pub fn frame_spans(log: &[u8]) -> Vec<Range<usize>> {
    let mut spans = Vec::new();
    let mut at = MAGIC_LEN;
    while at + HEADER_LEN <= log.len() && log[at..at + HEADER_LEN].iter().any(|b| *b != 0) {
        let len = u32::from_le_bytes(log[at..at + 4].try_into().expect("4 bytes")) as usize;
        spans.push(at..at + HEADER_LEN + len);
        at += HEADER_LEN + len;
    }
    assert!(
        log[at..].iter().all(|b| *b == 0),
        "only zeros follow the last frame"
    );
    spans
}

/// Where the last frame of a log file's bytes ends.
pub fn frames_end(log: &[u8]) -> usize {
    frame_spans(log).last().map_or(MAGIC_LEN, |span| span.end)
}

/// The bytes of one frame per envelope, checksums and all, as the store writes them.
pub fn frames_of(events: &[Envelope]) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join(LOG_FILE);
    write_log_file(&path, events).expect("the frames are written");
    std::fs::read(&path).expect("the frames read back")[MAGIC_LEN..].to_vec()
}

/// Recomputes the checksum of the frame at `span` of a log's bytes, as a forger who
/// changed its bytes would.
pub fn fix_checksum(log: &mut [u8], span: Range<usize>) {
    let crc = crc32fast::hash(&log[span.start + 8..span.end]);
    log[span.start + 4..span.start + 8].copy_from_slice(&crc.to_le_bytes());
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
