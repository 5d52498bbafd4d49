//! Issue 6, hostile input: property tests (proptest) that feed random and mutated input
//! to every parser, to validation, to import and to the HTTP API. Never a panic; always
//! either success or an error that names what is wrong; never a partial write; and no
//! mutation of a stored event that still verifies.
//!
//! Inputs start from the example dataset's real lines (and its export), then have
//! fields removed, replaced or added, bytes flipped, deleted or inserted, lines dropped,
//! repeated or swapped; or they are random JSON, random text and random bytes. Each
//! property prints how many cases it ran and what they came to (`--nocapture`).
//! `ANNALS_FUZZ_CASES=N` runs N cases per property instead of the defaults.
use std::{
    cell::{Cell, RefCell},
    collections::BTreeMap,
    sync::Arc,
};

use annals::{
    http::{self, AppState, Config},
    intake::{self, IntakeError, Mode},
    store::Role,
};
use axum::{
    body::Body,
    http::{header, Method, Request, StatusCode},
    Router,
};
use events::{envelope::ChainCheck, Catalog, Draft, Envelope, NewEvent};
use http_body_util::BodyExt;
use projections::{
    metric::Metrics,
    period::{Bucket, Lang, Period, Query},
    report::Templates,
};
use proptest::{
    collection, option,
    prelude::*,
    sample::{self, Index},
    test_runner::{Config as RunConfig, TestCaseError, TestRunner},
};
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::{
    helpers::{catalog, TestStore, AUTHOR},
    server::app::open_store,
};

/// Cases per property unless `ANNALS_FUZZ_CASES` says otherwise.
fn cases(default: u32) -> u32 {
    std::env::var("ANNALS_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs `test` over `cases` inputs drawn from `strategy`; panics with the smallest
/// failing input proptest finds. Returns how many cases ran.
fn check<S: Strategy>(
    name: &str,
    cases: u32,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) -> u32 {
    let ran = Cell::new(0u32);
    let mut runner = TestRunner::new(RunConfig {
        cases,
        failure_persistence: None,
        ..RunConfig::default()
    });
    let result = runner.run(&strategy, |input| {
        ran.set(ran.get() + 1);
        test(input)
    });
    if let Err(e) = result {
        panic!("fuzz [{name}]: {e}");
    }
    ran.get()
}

fn print(name: &str, ran: u32, tally: &RefCell<BTreeMap<String, usize>>) {
    let outcomes: Vec<String> = tally
        .borrow()
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    println!("fuzz [{name}]: {ran} cases; {}", outcomes.join(", "));
}

fn count(tally: &RefCell<BTreeMap<String, usize>>, what: impl Into<String>) {
    *tally.borrow_mut().entry(what.into()).or_default() += 1;
}

// ---------------------------------------------------------------------------------
// Material: the example dataset, its export, strings that have broken parsers before.
// ---------------------------------------------------------------------------------

fn example_lines() -> Vec<String> {
    annals::EXAMPLE_DATASET.lines().map(str::to_owned).collect()
}

/// The export of a store holding the example: envelopes with their chain.
fn export_lines() -> Vec<String> {
    let s = TestStore::with_example();
    String::from_utf8(s.export())
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Every string value in the example dataset: ids, class ids, names, enum values.
fn known_strings() -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => out.push(s.clone()),
            Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
            Value::Object(m) => m.values().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for line in example_lines() {
        walk(&serde_json::from_str(&line).unwrap(), &mut out);
    }
    out.extend(catalog().kinds().map(|k| k.name.clone()));
    out.sort();
    out.dedup();
    out
}

const TRICKY: &[&str] = &[
    "",
    " ",
    "..",
    "2023-02-30",
    "2023-02-29",
    "2024-02-29",
    "2023-06-26..2023-06-30",
    "2023-07-02..2023-06-29",
    "2023-01-01..",
    "..2023-01-01",
    "1899-12-31",
    "1900-01-01",
    "2100-12-31",
    "2101-01-01",
    "0000-00-00",
    "+2023-01-01",
    "9999-12-31",
    "-0001-01-01",
    "2023-W01",
    "2023H1",
    "2023h2",
    "2023H3",
    "2023Q4",
    "2023Q0",
    "2023-00",
    "2023-1",
    "2023-012",
    "1900H1",
    "2100Q4",
    "2023-03-01T09:00:00+08:00",
    "2023-03-01T09:00:00.123456789Z",
    "2023-03-01T24:00:00Z",
    "2023-03-01T09:00:60Z",
    "9999-12-31T23:59:59-23:59",
    "0001-01-01T00:00:00+23:59",
    "2999-01-01T00:00:00Z",
    "-1",
    "0",
    "1",
    "4294967296",
    "18446744073709551615",
    "18446744073709551616",
    "-9223372036854775808",
    "1e309",
    "NaN",
    "null",
    "true",
    "[]",
    "{}",
    "month",
    "quarter",
    "half",
    "year",
    "zh",
    "en",
    "EN",
    "md",
    "json",
    "html",
    "00000000-0000-0000-0000-000000000000",
    "ffffffff-ffff-ffff-ffff-ffffffffffff",
    "\u{0}",
    "\u{FEFF}",
    "\u{202E}",
    "😀",
    "班",
    "%00",
    "%FF",
    "%",
    "'; DROP TABLE events; --",
    "<script>alert(1)</script>",
    "{{ 7*7 }}",
    "{% raw %}",
    "../../etc/passwd",
    "ann_00000000000000000000000000000000000000000000000000000000000000000",
];

const FIELDS: &[&str] = &[
    "id",
    "kind",
    "version",
    "occurred",
    "recorded_at",
    "recorded_by",
    "data",
    "type",
    "title",
    "attendees",
    "class_id",
    "class_name",
    "category",
    "session",
    "trainees",
    "target",
    "reason",
    "year",
    "metric",
    "value",
    "basis",
    "events",
    "expected_seq",
    "seq",
    "hash",
    "prev_hash",
];

fn text(known: Arc<Vec<String>>) -> BoxedStrategy<String> {
    prop_oneof![
        3 => sample::select(TRICKY).prop_map(str::to_owned),
        3 => sample::select(known.to_vec()),
        2 => any::<String>(),
        1 => "[0-9]{1,4}[-HhQq.]{0,2}[0-9]{0,3}(\\.\\.[0-9]{4}-[0-9]{2}-[0-9]{2})?",
        1 => "(19|20|21)[0-9]{2}-[01][0-9]-[0-3][0-9]",
        1 => "\\PC{150,260}",
    ]
    .boxed()
}

fn number() -> BoxedStrategy<Value> {
    prop_oneof![
        3 => sample::select(vec![
            json!(0),
            json!(1),
            json!(-1),
            json!(45),
            json!(100_000),
            json!(100_001),
            json!(1_000_000_000),
            json!(1_000_000_001),
            json!(i64::MIN),
            json!(u64::MAX),
            json!(0.5),
            json!(1e300),
        ]),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<u64>().prop_map(Value::from),
        1 => any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
            .map(Value::Number)),
    ]
    .boxed()
}

fn json_value(known: Arc<Vec<String>>) -> BoxedStrategy<Value> {
    let key = prop_oneof![
        3 => sample::select(FIELDS).prop_map(str::to_owned),
        1 => any::<String>(),
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number(),
        text(known).prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 24, 5, move |inner| {
        prop_oneof![
            collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            collection::btree_map(key.clone(), inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
    .boxed()
}

// ---------------------------------------------------------------------------------
// Mutations.
// ---------------------------------------------------------------------------------

/// A change to a JSON document at one of its nodes (chosen by index among them all).
#[derive(Debug, Clone)]
enum Edit {
    Remove(Index),
    Set(Index, Value),
    Add(Index, String, Value),
    Kind(String),
}

fn edit(known: Arc<Vec<String>>) -> BoxedStrategy<Edit> {
    let kinds: Vec<String> = catalog().kinds().map(|k| k.name.clone()).collect();
    prop_oneof![
        any::<Index>().prop_map(Edit::Remove),
        (any::<Index>(), json_value(known.clone())).prop_map(|(i, v)| Edit::Set(i, v)),
        (
            any::<Index>(),
            prop_oneof![
                sample::select(FIELDS).prop_map(str::to_owned),
                any::<String>()
            ],
            json_value(known)
        )
            .prop_map(|(i, k, v)| Edit::Add(i, k, v)),
        sample::select(kinds).prop_map(Edit::Kind),
    ]
    .boxed()
}

/// JSON pointers to every node of `v`.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                let token = k.replace('~', "~0").replace('/', "~1");
                pointers(child, format!("{at}/{token}"), out);
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                pointers(child, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
    out.push(at);
}

fn apply(v: &mut Value, e: &Edit) {
    let mut all = Vec::new();
    pointers(v, String::new(), &mut all);
    match e {
        Edit::Remove(i) => {
            let p = i.get::<String>(&all).clone();
            let Some((parent, last)) = p.rsplit_once('/') else {
                return;
            };
            match v.pointer_mut(parent) {
                Some(Value::Object(m)) => {
                    m.remove(&last.replace("~1", "/").replace("~0", "~"));
                }
                Some(Value::Array(a)) => {
                    if let Ok(n) = last.parse::<usize>() {
                        if n < a.len() {
                            a.remove(n);
                        }
                    }
                }
                _ => {}
            }
        }
        Edit::Set(i, new) => {
            if let Some(node) = v.pointer_mut(i.get::<String>(&all)) {
                *node = new.clone();
            }
        }
        Edit::Add(i, key, new) => {
            let objects: Vec<&String> = all
                .iter()
                .filter(|p| v.pointer(p).is_some_and(Value::is_object))
                .collect();
            if objects.is_empty() {
                return;
            }
            let p = i.get(&objects).to_string();
            if let Some(Value::Object(m)) = v.pointer_mut(&p) {
                m.insert(key.clone(), new.clone());
            }
        }
        Edit::Kind(k) => {
            if let Value::Object(m) = v {
                m.insert("kind".into(), Value::String(k.clone()));
            }
        }
    }
}

/// A change to raw bytes.
#[derive(Debug, Clone)]
enum ByteEdit {
    Flip(Index, u8),
    Delete(Index),
    Insert(Index, u8),
    Truncate(Index),
    Repeat(Index, Index),
}

fn byte_edit() -> BoxedStrategy<ByteEdit> {
    let byte = prop_oneof![
        any::<u8>(),
        sample::select(b"{}[]\",:\\n\r 0-.eE\xff\xc3\xa9\x80".to_vec()),
    ];
    prop_oneof![
        3 => (any::<Index>(), 1..=255u8).prop_map(|(i, x)| ByteEdit::Flip(i, x)),
        2 => any::<Index>().prop_map(ByteEdit::Delete),
        2 => (any::<Index>(), byte).prop_map(|(i, b)| ByteEdit::Insert(i, b)),
        1 => any::<Index>().prop_map(ByteEdit::Truncate),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| ByteEdit::Repeat(a, b)),
    ]
    .boxed()
}

fn apply_bytes(bytes: &mut Vec<u8>, e: &ByteEdit) {
    if bytes.is_empty() {
        if let ByteEdit::Insert(_, b) = e {
            bytes.push(*b);
        }
        return;
    }
    match e {
        ByteEdit::Flip(i, x) => {
            let n = i.index(bytes.len());
            bytes[n] ^= x;
        }
        ByteEdit::Delete(i) => {
            bytes.remove(i.index(bytes.len()));
        }
        ByteEdit::Insert(i, b) => bytes.insert(i.index(bytes.len() + 1), *b),
        ByteEdit::Truncate(i) => bytes.truncate(i.index(bytes.len())),
        ByteEdit::Repeat(a, b) => {
            let (x, y) = (a.index(bytes.len()), b.index(bytes.len()));
            let (from, to) = (x.min(y), x.max(y).min(x.min(y) + 64));
            let piece = bytes[from..to].to_vec();
            bytes.splice(to..to, piece);
        }
    }
}

/// A mutated line of the example dataset, as JSON and then as bytes.
#[derive(Debug, Clone)]
struct Mutated {
    line: Index,
    /// Without its id and recording time, so that it is a new event, not a repeat of
    /// one already recorded.
    fresh: bool,
    edits: Vec<Edit>,
    bytes: Vec<ByteEdit>,
}

fn mutated(known: Arc<Vec<String>>, max_edits: usize, max_bytes: usize) -> BoxedStrategy<Mutated> {
    (
        any::<Index>(),
        any::<bool>(),
        collection::vec(edit(known), 0..=max_edits),
        // Most mutated documents stay JSON, so that validation, not the parser, sees them.
        prop_oneof![
            3 => Just(Vec::new()),
            1 => collection::vec(byte_edit(), 0..=max_bytes),
        ],
    )
        .prop_map(|(line, fresh, edits, bytes)| Mutated {
            line,
            fresh,
            edits,
            bytes,
        })
        .boxed()
}

impl Mutated {
    fn value(&self, lines: &[String]) -> Value {
        let mut v: Value = serde_json::from_str(self.line.get::<String>(lines)).unwrap();
        if self.fresh {
            if let Value::Object(m) = &mut v {
                m.remove("id");
                m.remove("recorded_at");
            }
        }
        for e in &self.edits {
            apply(&mut v, e);
        }
        v
    }

    fn bytes(&self, lines: &[String]) -> Vec<u8> {
        let mut b = serde_json::to_vec(&self.value(lines)).unwrap();
        for e in &self.bytes {
            apply_bytes(&mut b, e);
        }
        b
    }
}

// ---------------------------------------------------------------------------------
// Drafts and envelopes.
// ---------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum DraftInput {
    Mutated(Mutated),
    Random(Value),
    Bytes(Vec<u8>),
}

/// Whether a validated event really satisfies its kind: what `NewEvent` promises.
fn assert_valid(catalog: &Catalog, ev: &NewEvent) -> Result<(), TestCaseError> {
    let def = catalog
        .kind(ev.kind())
        .ok_or_else(|| TestCaseError::fail(format!("accepted an unknown kind {}", ev.kind())))?;
    prop_assert!(!def.system, "accepted a system kind {}", ev.kind());
    prop_assert!(ev.version() >= 1 && ev.version() <= def.version);
    let data = ev.data();
    let errors = def.validate_data(&def.current(ev.version(), &data));
    prop_assert!(errors.is_empty(), "accepted invalid data: {errors:?}");
    prop_assert!(ev.occurred().is_some() || def.correction.is_some());
    Ok(())
}

/// Parses a draft and validates it: the error, if any, must name fields.
fn parse_draft(catalog: &Catalog, bytes: &[u8]) -> Result<&'static str, TestCaseError> {
    let draft: Draft = match serde_json::from_slice(bytes) {
        Ok(d) => d,
        Err(e) => {
            prop_assert!(!e.to_string().is_empty());
            return Ok("not a draft");
        }
    };
    match NewEvent::parse(catalog, draft) {
        Ok(ev) => {
            assert_valid(catalog, &ev)?;
            Ok("accepted")
        }
        Err(events::Error::Invalid(list)) => {
            prop_assert!(!list.is_empty(), "a refusal lists its fields");
            for f in &list {
                prop_assert!(
                    !f.field.is_empty() && !f.reason.to_string().is_empty(),
                    "{f:?}"
                );
            }
            Ok("refused by field")
        }
        Err(other) => Err(TestCaseError::fail(format!(
            "validation failed without naming a field: {other}"
        ))),
    }
}

#[test]
fn drafts_random_or_mutated_are_accepted_valid_or_refused_by_field() {
    let lines = example_lines();
    let known = Arc::new(known_strings());
    let catalog = catalog();
    let tally = RefCell::new(BTreeMap::new());
    let strategy = prop_oneof![
        6 => mutated(known.clone(), 3, 2).prop_map(DraftInput::Mutated),
        2 => json_value(known).prop_map(DraftInput::Random),
        1 => collection::vec(any::<u8>(), 0..300).prop_map(DraftInput::Bytes),
    ];
    let ran = check("drafts", cases(512), strategy, |input| {
        let bytes = match &input {
            DraftInput::Mutated(m) => m.bytes(&lines),
            DraftInput::Random(v) => serde_json::to_vec(v).unwrap(),
            DraftInput::Bytes(b) => b.clone(),
        };
        let outcome = parse_draft(&catalog, &bytes)?;
        count(&tally, outcome);
        // The same bytes as a stored envelope: refused or decoded, never a panic.
        let _ = serde_json::from_slice::<Envelope>(&bytes);
        Ok(())
    });
    print("drafts", ran, &tally);
}

#[derive(Debug, Clone)]
enum EnvelopeInput {
    Bytes(Index, Vec<ByteEdit>),
    Json(Index, Vec<Edit>),
}

#[test]
fn no_mutation_of_a_stored_envelope_still_verifies_as_something_else() {
    let lines = export_lines();
    let known = Arc::new(known_strings());
    let tally = RefCell::new(BTreeMap::new());
    let strategy = prop_oneof![
        3 => (any::<Index>(), collection::vec(byte_edit(), 1..4))
            .prop_map(|(i, e)| EnvelopeInput::Bytes(i, e)),
        2 => (any::<Index>(), collection::vec(edit(known), 1..3))
            .prop_map(|(i, e)| EnvelopeInput::Json(i, e)),
    ];
    let ran = check("envelopes", cases(512), strategy, |input| {
        let (i, decoded) = match &input {
            EnvelopeInput::Bytes(i, edits) => {
                let mut b = i.get::<String>(&lines).as_bytes().to_vec();
                for e in edits {
                    apply_bytes(&mut b, e);
                }
                (i, serde_json::from_slice::<Envelope>(&b).ok())
            }
            EnvelopeInput::Json(i, edits) => {
                let mut v: Value = serde_json::from_str(i.get::<String>(&lines)).unwrap();
                for e in edits {
                    apply(&mut v, e);
                }
                (i, serde_json::from_value::<Envelope>(v).ok())
            }
        };
        let original: Envelope = serde_json::from_str(i.get::<String>(&lines)).unwrap();
        let Some(e) = decoded else {
            count(&tally, "no longer an envelope");
            return Ok(());
        };
        let mut chain = ChainCheck::after(original.seq - 1, original.prev_hash);
        if chain.check(&e).is_ok() {
            prop_assert_eq!(&e, &original, "a changed envelope still verifies");
            count(&tally, "unchanged in substance, verifies");
        } else {
            count(&tally, "decodes but fails the chain check");
        }
        Ok(())
    });
    print("envelopes", ran, &tally);
}

// ---------------------------------------------------------------------------------
// Import.
// ---------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum LineEdit {
    Drop(Index),
    Repeat(Index),
    Swap(Index, Index),
    Raw(Index, Vec<u8>),
}

fn line_edit() -> BoxedStrategy<LineEdit> {
    prop_oneof![
        any::<Index>().prop_map(LineEdit::Drop),
        any::<Index>().prop_map(LineEdit::Repeat),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| LineEdit::Swap(a, b)),
        (
            any::<Index>(),
            prop_oneof![
                collection::vec(any::<u8>(), 0..80),
                any::<String>().prop_map(String::into_bytes),
                Just(b"   ".to_vec()),
                Just(b"\xEF\xBB\xBF{}".to_vec()),
            ]
        )
            .prop_map(|(i, b)| LineEdit::Raw(i, b)),
    ]
    .boxed()
}

#[derive(Debug, Clone)]
enum FileInput {
    /// Lines `start..start+len` of the example (drafts), edited.
    Drafts {
        start: Index,
        len: usize,
        lines: Vec<LineEdit>,
        bytes: Vec<ByteEdit>,
        crlf: bool,
    },
    /// The first `len` lines of the example's export (envelopes), edited.
    Export {
        len: usize,
        lines: Vec<LineEdit>,
        bytes: Vec<ByteEdit>,
    },
    /// Random bytes, or random text cut into lines.
    Random(Vec<u8>),
    Text(Vec<String>),
}

fn build(source: &[String], from: usize, len: usize, edits: &[LineEdit]) -> Vec<Vec<u8>> {
    let mut lines: Vec<Vec<u8>> = source
        .iter()
        .skip(from)
        .take(len)
        .map(|l| l.as_bytes().to_vec())
        .collect();
    for e in edits {
        if lines.is_empty() {
            break;
        }
        match e {
            LineEdit::Drop(i) => {
                lines.remove(i.index(lines.len()));
            }
            LineEdit::Repeat(i) => {
                let n = i.index(lines.len());
                lines.insert(n, lines[n].clone());
            }
            LineEdit::Swap(a, b) => {
                let (a, b) = (a.index(lines.len()), b.index(lines.len()));
                lines.swap(a, b);
            }
            LineEdit::Raw(i, raw) => lines.insert(i.index(lines.len() + 1), raw.clone()),
        }
    }
    lines
}

fn join(lines: &[Vec<u8>], crlf: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for l in lines {
        out.extend_from_slice(l);
        out.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
    }
    out
}

#[test]
fn an_import_of_a_random_or_mutated_file_writes_all_of_it_or_nothing() {
    let drafts = example_lines();
    let exported = export_lines();
    let tally = RefCell::new(BTreeMap::new());
    let store: RefCell<Option<TestStore>> = RefCell::new(None);
    let strategy = prop_oneof![
        5 => (any::<Index>(), 1..30usize, collection::vec(line_edit(), 0..3),
              collection::vec(byte_edit(), 0..3), any::<bool>())
            .prop_map(|(start, len, lines, bytes, crlf)| FileInput::Drafts { start, len, lines, bytes, crlf }),
        3 => (1..40usize, collection::vec(line_edit(), 0..2), collection::vec(byte_edit(), 0..3))
            .prop_map(|(len, lines, bytes)| FileInput::Export { len, lines, bytes }),
        1 => collection::vec(any::<u8>(), 0..2000).prop_map(FileInput::Random),
        1 => collection::vec(any::<String>(), 0..8).prop_map(FileInput::Text),
    ];
    let ran = check("import", cases(256), strategy, |input| {
        let bytes = match &input {
            FileInput::Drafts {
                start,
                len,
                lines,
                bytes,
                crlf,
            } => {
                let from = start.index(drafts.len());
                let mut b = join(&build(&drafts, from, *len, lines), *crlf);
                for e in bytes {
                    apply_bytes(&mut b, e);
                }
                b
            }
            FileInput::Export { len, lines, bytes } => {
                let mut b = join(&build(&exported, 0, *len, lines), false);
                for e in bytes {
                    apply_bytes(&mut b, e);
                }
                b
            }
            FileInput::Random(b) => b.clone(),
            FileInput::Text(lines) => lines.join("\n").into_bytes(),
        };
        let mut slot = store.borrow_mut();
        let s = slot.get_or_insert_with(TestStore::new);
        let before = s.store.head().unwrap();
        let run = |dry_run| {
            intake::jsonl::import(
                &s.store,
                &bytes,
                "fuzz.jsonl",
                AUTHOR,
                annals::intake::Trust::Operator,
                dry_run,
                &mut |_, _| {},
            )
        };
        let dry = run(true);
        prop_assert_eq!(s.store.head().unwrap(), before, "a dry run writes nothing");
        let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
        let line_count = body.split(|b| *b == b'\n').count();
        match run(false) {
            Ok(outcome) => {
                prop_assert!(
                    dry.is_ok(),
                    "a dry run refused what the import took: {dry:?}"
                );
                let after = s.store.head().unwrap();
                match outcome.mode {
                    Mode::Unchanged => prop_assert_eq!(after, before),
                    Mode::Appended | Mode::Restored => {
                        prop_assert!(after.seq > before.seq);
                        let written = after.seq - before.seq;
                        let expected =
                            outcome.added as u64 + u64::from(outcome.mode == Mode::Appended);
                        prop_assert_eq!(written, expected, "{:?}", outcome);
                    }
                    Mode::Checked => prop_assert!(false, "a real import is not a dry run"),
                }
                let verified = s.store.verify().unwrap();
                prop_assert!(verified.is_ok(), "{verified:?}");
                count(&tally, format!("{:?}", outcome.mode).to_lowercase());
                if after != before {
                    // A fresh store, so later cases can succeed too.
                    *slot = None;
                }
            }
            Err(IntakeError::Refused(list)) => {
                prop_assert!(!list.is_empty());
                for l in &list {
                    let annals::intake::At::Line(line) = l.at else {
                        return Err(TestCaseError::fail(format!("not at a line: {l:?}")));
                    };
                    prop_assert!(
                        (1..=line_count).contains(&line),
                        "line {} of a file of {} lines: {:?}",
                        line,
                        line_count,
                        l
                    );
                    prop_assert!(
                        !l.field.is_empty() && !l.reason.to_string().is_empty(),
                        "{l:?}"
                    );
                }
                let message = IntakeError::Refused(list.clone()).to_string();
                prop_assert!(
                    message.contains("problem(s) found; nothing was imported"),
                    "{message}"
                );
                prop_assert_eq!(
                    s.store.head().unwrap(),
                    before,
                    "a refused import writes nothing"
                );
                count(&tally, "refused by line");
            }
            Err(e) => {
                return Err(TestCaseError::fail(format!("the import failed: {e}")));
            }
        }
        Ok(())
    });
    if let Some(s) = store.borrow().as_ref() {
        assert!(s.store.verify().unwrap().is_ok());
    }
    print("import", ran, &tally);
}

// ---------------------------------------------------------------------------------
// Query strings.
// ---------------------------------------------------------------------------------

#[test]
fn query_arguments_parse_or_name_the_argument() {
    let known = Arc::new(known_strings());
    let tally = RefCell::new(BTreeMap::new());
    let arg = option::of(text(known.clone()));
    let offset = prop_oneof![
        4 => Just(8 * 3600),
        1 => Just(0),
        1 => -86_399..=86_399i32,
        1 => any::<i32>(),
    ];
    let strategy = (arg.clone(), arg.clone(), arg, offset, text(known));
    let now = chrono::Utc::now();
    let ran = check(
        "queries",
        cases(512),
        strategy,
        |(period, on, known_at, offset, word)| {
            match Query::parse(
                period.as_deref(),
                on.as_deref(),
                known_at.as_deref(),
                now,
                offset,
            ) {
                Ok(q) => {
                    prop_assert!(q.period.from() <= q.period.to());
                    let _ = q.year_before();
                    count(&tally, "query ok");
                }
                Err(projections::Error::Argument { arg, reason }) => {
                    prop_assert!(
                        ["period", "on", "known_at", "offset"].contains(&arg),
                        "{arg}"
                    );
                    prop_assert!(!reason.is_empty());
                    count(&tally, format!("query refused: {arg}"));
                }
                Err(other) => {
                    return Err(TestCaseError::fail(format!(
                        "not an argument error: {other}"
                    )))
                }
            }
            for s in [period.as_deref(), Some(word.as_str())]
                .into_iter()
                .flatten()
            {
                match s.parse::<Period>() {
                    Ok(p) => {
                        prop_assert!(p.from() <= p.to());
                        let again: Period = p.to_string().parse().map_err(|e| {
                            TestCaseError::fail(format!("{p} does not parse back: {e}"))
                        })?;
                        prop_assert_eq!(again, p, "a period round-trips through its text");
                        for by in [Bucket::Month, Bucket::Quarter, Bucket::Half] {
                            let buckets = p.buckets(by);
                            prop_assert!(!buckets.is_empty());
                            prop_assert_eq!(buckets.first().unwrap().from(), p.from());
                            prop_assert_eq!(buckets.last().unwrap().to(), p.to());
                        }
                        let _ = (p.year_before(), p.label(Lang::Zh), p.label(Lang::En));
                        count(&tally, "period ok");
                    }
                    Err(e) => prop_assert!(e.to_string().starts_with("period:"), "{e}"),
                }
            }
            match word.parse::<Bucket>() {
                Ok(_) => prop_assert!(["month", "quarter", "half"].contains(&word.as_str())),
                Err(e) => prop_assert!(e.to_string().starts_with("by:"), "{e}"),
            }
            if let Err(e) = word.parse::<Lang>() {
                prop_assert!(e.to_string().starts_with("lang:"), "{e}");
            }
            if let Err(e) = projections::period::parse_moment(
                &word,
                chrono::FixedOffset::east_opt(8 * 3600).unwrap(),
            ) {
                prop_assert!(e.to_string().starts_with("known_at:"), "{e}");
            }
            Ok(())
        },
    );
    print("queries", ran, &tally);
}

// ---------------------------------------------------------------------------------
// The HTTP API, through the router with no socket.
// ---------------------------------------------------------------------------------

/// A route: its own method, its path with `{}` where a parameter goes, and the query
/// parameters it reads.
type Route = (&'static str, &'static str, &'static [&'static str]);

const EVENTS_QUERY: &[&str] = &[
    "kind",
    "from",
    "to",
    "recorded_from",
    "recorded_to",
    "after",
    "limit",
];
const WHEN: &[&str] = &["period", "on", "known_at", "lang", "year", "by", "format"];

const API: &[Route] = &[
    ("POST", "/api/events", &["expected_seq"]),
    ("GET", "/api/events", EVENTS_QUERY),
    ("GET", "/api/events/{}", &[]),
    ("GET", "/api/tokens", &[]),
    ("POST", "/api/tokens", &[]),
    ("DELETE", "/api/tokens/{}", &[]),
    ("GET", "/api/progress", WHEN),
    ("GET", "/api/metrics", WHEN),
    ("GET", "/api/metrics/{}/timeline", WHEN),
    ("GET", "/api/people", WHEN),
    ("GET", "/api/people/{}", WHEN),
    ("GET", "/api/report", WHEN),
    ("GET", "/api/verify", &[]),
    ("GET", "/api/kinds", &[]),
    ("GET", "/api/stream", &[]),
    ("GET", "/api/{}", &[]),
];

const PAGES: &[Route] = &[
    ("GET", "/", &["on", "known_at", "lang", "kind", "recorded"]),
    ("POST", "/login", &[]),
    ("POST", "/logout", &[]),
    ("POST", "/record", &["lang", "kind"]),
    ("GET", "/docs", &[]),
    ("GET", "/openapi.json", &[]),
    ("GET", "/healthz", &[]),
    ("GET", "/{}", &[]),
];

const QUERY_KEYS: &[&str] = &[
    "period",
    "on",
    "known_at",
    "year",
    "by",
    "lang",
    "format",
    "kind",
    "from",
    "to",
    "recorded_from",
    "recorded_to",
    "after",
    "limit",
    "recorded",
    "token",
];

/// Who a request claims to be.
#[derive(Debug, Clone)]
enum Auth {
    None,
    Token(Role),
    Cookie(Role),
    Header(Vec<u8>),
}

#[derive(Debug, Clone)]
enum BodyInput {
    None,
    Draft(Mutated),
    Batch(Vec<Mutated>, Option<Value>),
    Json(Value),
    Bytes(Vec<u8>),
    Form(Vec<(String, String)>),
    Huge(usize),
}

/// A query parameter's name: one the route reads, one some route reads, or anything.
#[derive(Debug, Clone)]
enum Key {
    Route(Index),
    Known(Index),
    Random(String),
}

#[derive(Debug, Clone)]
struct Hostile {
    route: Route,
    method: Option<&'static str>,
    param: String,
    query: Option<Vec<(Key, String)>>,
    raw_query: Option<String>,
    auth: Auth,
    content_type: Option<String>,
    body: BodyInput,
}

/// Percent-encodes everything but the unreserved characters.
fn encode(s: &[u8]) -> String {
    let mut out = String::new();
    for b in s {
        if b.is_ascii_alphanumeric() || b"-._~".contains(b) {
            out.push(*b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn hostile(routes: &'static [Route], known: Arc<Vec<String>>) -> BoxedStrategy<Hostile> {
    let param = prop_oneof![
        3 => text(known.clone()).prop_map(|s| encode(s.as_bytes())),
        1 => "[a-zA-Z0-9%._~-]{0,12}",
        1 => Just("%FF%FE".to_owned()),
        1 => Just("..%2F..%2Fetc".to_owned()),
    ];
    let pair = (
        prop_oneof![
            5 => any::<Index>().prop_map(Key::Route),
            2 => any::<Index>().prop_map(Key::Known),
            1 => any::<String>().prop_map(Key::Random),
        ],
        prop_oneof![text(known.clone()), number().prop_map(|n| n.to_string())],
    );
    let auth = prop_oneof![
        1 => Just(Auth::None),
        4 => sample::select(vec![Role::Reader, Role::Recorder, Role::Admin]).prop_map(Auth::Token),
        1 => sample::select(vec![Role::Reader, Role::Recorder, Role::Admin]).prop_map(Auth::Cookie),
        1 => prop_oneof![
            collection::vec(any::<u8>(), 0..40),
            Just(b"Bearer".to_vec()),
            Just(b"Bearer ".to_vec()),
            Just(b"bearer  ann_".to_vec()),
            Just(b"Basic YWRtaW46YWRtaW4=".to_vec()),
        ]
        .prop_map(Auth::Header),
    ];
    let content_type = prop_oneof![
        4 => Just(Some("application/json".to_owned())),
        1 => Just(None),
        1 => Just(Some("application/x-www-form-urlencoded".to_owned())),
        1 => Just(Some("text/plain".to_owned())),
        1 => Just(Some("application/json; charset=utf-8".to_owned())),
        1 => "[ -~]{0,30}".prop_map(Some),
    ];
    let body = prop_oneof![
        1 => Just(BodyInput::None),
        4 => mutated(known.clone(), 2, 1).prop_map(BodyInput::Draft),
        2 => (collection::vec(mutated(known.clone(), 1, 0), 0..4),
              option::of(prop_oneof![number(), json_value(known.clone())]))
            .prop_map(|(b, seq)| BodyInput::Batch(b, seq)),
        2 => json_value(known.clone()).prop_map(BodyInput::Json),
        1 => collection::vec(any::<u8>(), 0..200).prop_map(BodyInput::Bytes),
        2 => collection::vec((sample::select(FIELDS).prop_map(str::to_owned), text(known.clone())), 0..6)
            .prop_map(BodyInput::Form),
        1 => prop_oneof![Just(70 * 1024), Just(2 * 1024 * 1024)].prop_map(BodyInput::Huge),
    ];
    // The first route of a list is the one that writes, so it gets the most cases.
    (
        prop_oneof![
            2 => Just(routes[0]),
            3 => sample::select(routes),
        ],
        option::weighted(
            0.15,
            sample::select(vec!["GET", "POST", "PUT", "DELETE", "PATCH"]),
        ),
        param,
        option::of(collection::vec(pair, 0..5)),
        option::weighted(0.15, "[a-zA-Z0-9%&=+;._~ -]{0,40}"),
        auth,
        content_type,
        body,
    )
        .prop_map(
            |(route, method, param, query, raw_query, auth, content_type, body)| Hostile {
                route,
                method,
                param,
                query,
                raw_query,
                auth,
                content_type,
                body,
            },
        )
        .boxed()
}

/// A server's router over a store with the example and three tokens, as the fuzz's
/// target, with a body limit low enough for the fuzz to cross it.
struct Target {
    router: Router,
    tokens: BTreeMap<Role, String>,
    lines: Vec<String>,
    runtime: tokio::runtime::Runtime,
    state: AppState,
    _dir: tempfile::TempDir,
}

impl Target {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = open_store(dir.path());
        intake::jsonl::import(
            &store,
            annals::EXAMPLE_DATASET.as_bytes(),
            annals::EXAMPLE_NAME,
            AUTHOR,
            annals::intake::Trust::Operator,
            false,
            &mut |_, _| {},
        )
        .unwrap();
        let mut tokens = BTreeMap::new();
        for (name, role) in [
            ("fuzz-reader-5d1c", Role::Reader),
            ("fuzz-recorder-5d1c", Role::Recorder),
            ("fuzz-admin-5d1c", Role::Admin),
        ] {
            tokens.insert(role, store.create_token(name, role).unwrap());
        }
        let metrics = Metrics::embedded(store.catalog()).unwrap();
        let templates = Templates::embedded().unwrap();
        let config = Config {
            body_limit: 64 * 1024,
            ..Config::default()
        };
        let state = AppState::new(store, metrics, templates, config, true);
        Target {
            router: http::app(state.clone()),
            tokens,
            lines: example_lines(),
            runtime: tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap(),
            state,
            _dir: dir,
        }
    }

    fn request(&self, h: &Hostile) -> Option<Request<Body>> {
        let method = h.method.unwrap_or(h.route.0);
        let mut uri = h.route.1.replace("{}", &h.param);
        if let Some(pairs) = &h.query {
            let q: Vec<String> = pairs
                .iter()
                .map(|(k, v)| {
                    let k = match k {
                        Key::Route(i) if !h.route.2.is_empty() => i.get(h.route.2),
                        Key::Route(i) | Key::Known(i) => i.get(QUERY_KEYS),
                        Key::Random(k) => k.as_str(),
                    };
                    format!("{}={}", encode(k.as_bytes()), encode(v.as_bytes()))
                })
                .collect();
            uri = format!("{uri}?{}", q.join("&"));
        } else if let Some(raw) = &h.raw_query {
            uri = format!("{uri}?{}", raw.replace(' ', "+"));
        }
        let mut req = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).ok()?)
            .uri(uri);
        match &h.auth {
            Auth::None => {}
            Auth::Token(role) => {
                req = req.header(
                    header::AUTHORIZATION,
                    format!("Bearer {}", self.tokens[role]),
                );
            }
            Auth::Cookie(role) => {
                req = req.header(
                    header::COOKIE,
                    format!("annals_session={}", self.tokens[role]),
                );
            }
            Auth::Header(bytes) => {
                let value = header::HeaderValue::from_bytes(bytes).ok()?;
                req = req.header(header::AUTHORIZATION, value);
            }
        }
        if let Some(ct) = &h.content_type {
            req = req.header(
                header::CONTENT_TYPE,
                header::HeaderValue::from_str(ct).ok()?,
            );
        }
        let body = match &h.body {
            BodyInput::None => Vec::new(),
            BodyInput::Draft(m) => m.bytes(&self.lines),
            BodyInput::Batch(items, seq) => {
                let events: Vec<Value> = items.iter().map(|m| m.value(&self.lines)).collect();
                match seq {
                    Some(seq) => serde_json::to_vec(&json!({"events": events, "expected_seq": seq})),
                    None => serde_json::to_vec(&events),
                }
                .unwrap()
            }
            BodyInput::Json(v) => serde_json::to_vec(v).unwrap(),
            BodyInput::Bytes(b) => b.clone(),
            BodyInput::Form(pairs) => pairs
                .iter()
                .map(|(k, v)| format!("{}={}", encode(k.as_bytes()), encode(v.as_bytes())))
                .collect::<Vec<_>>()
                .join("&")
                .into_bytes(),
            BodyInput::Huge(n) => serde_json::to_vec(&json!({"kind": "meeting_held", "occurred": "2023-03-01", "data": {"title": "x".repeat(*n)}})).unwrap(),
        };
        req.body(Body::from(body)).ok()
    }

    /// Sends the request; returns the status, content type, `Allow` header and body (the
    /// body is not read for a stream that was opened, which never ends).
    fn send(&self, req: Request<Body>) -> (StatusCode, String, Option<String>, Vec<u8>) {
        let streaming = req.uri().path() == "/api/stream";
        self.runtime.block_on(async {
            let resp = self.router.clone().oneshot(req).await.unwrap();
            let status = resp.status();
            let content_type = resp
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let allow = resp
                .headers()
                .get(header::ALLOW)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            if streaming && status.is_success() {
                return (status, content_type, allow, Vec::new());
            }
            let body = resp
                .into_body()
                .collect()
                .await
                .unwrap()
                .to_bytes()
                .to_vec();
            (status, content_type, allow, body)
        })
    }
}

#[test]
fn the_api_answers_hostile_requests_with_success_or_a_problem_never_a_500() {
    let target = Target::new();
    let known = Arc::new(known_strings());
    let tally = RefCell::new(BTreeMap::new());
    let ran = check("http api", cases(512), hostile(API, known), |h| {
        let Some(req) = target.request(&h) else {
            count(&tally, "not a request http can carry");
            return Ok(());
        };
        let what = format!("{} {}", req.method(), req.uri());
        let (status, content_type, allow, body) = target.send(req);
        count(&tally, status.as_u16().to_string());
        prop_assert!(
            status.is_success() || status.is_client_error(),
            "{what}: {status} {}",
            String::from_utf8_lossy(&body)
        );
        if status == StatusCode::METHOD_NOT_ALLOWED && content_type != "application/problem+json" {
            // A wrong method on a route that exists is answered by axum's default,
            // which names the allowed methods but has no body; see RELIABILITY.md.
            prop_assert!(allow.is_some(), "{what}: a 405 names the allowed methods");
            count(&tally, "405 without a problem body");
            return Ok(());
        }
        if status.is_client_error() {
            prop_assert_eq!(
                &content_type,
                "application/problem+json",
                "{}: {} {}",
                what,
                status,
                String::from_utf8_lossy(&body)
            );
            let problem: Value = serde_json::from_slice(&body)
                .map_err(|e| TestCaseError::fail(format!("{what}: a problem is JSON: {e}")))?;
            prop_assert_eq!(problem["status"].as_u64(), Some(u64::from(status.as_u16())));
            prop_assert!(
                problem["detail"].as_str().is_some_and(|d| !d.is_empty()),
                "{what}: {problem}"
            );
        }
        Ok(())
    });
    let verified = target.state.store.verify().unwrap();
    assert!(verified.is_ok(), "{verified:?}");
    print("http api", ran, &tally);
}

#[test]
fn the_page_answers_hostile_requests_without_a_500() {
    let target = Target::new();
    let known = Arc::new(known_strings());
    let tally = RefCell::new(BTreeMap::new());
    let ran = check("http page", cases(256), hostile(PAGES, known), |h| {
        let Some(req) = target.request(&h) else {
            count(&tally, "not a request http can carry");
            return Ok(());
        };
        let what = format!("{} {}", req.method(), req.uri());
        let (status, _, _, body) = target.send(req);
        count(&tally, status.as_u16().to_string());
        prop_assert!(
            !status.is_server_error(),
            "{what}: {status} {}",
            String::from_utf8_lossy(&body)
        );
        Ok(())
    });
    assert!(target.state.store.verify().unwrap().is_ok());
    print("http page", ran, &tally);
}

/// Regression, issue 6: a cursor at the largest seq (`after=18446744073709551615`)
/// overflowed `after + 1` (a panic in a debug build; in a release build it wrapped to 0
/// and the "next" page started over from seq 1). Every numeric parameter is tried at its
/// edges here, since random cases rarely land on them.
#[test]
fn issue_6_numeric_parameters_at_their_edges_are_answered_not_a_panic() {
    let target = Target::new();
    let edges = [
        "0",
        "1",
        "-1",
        "4294967295",
        "4294967296",
        "9223372036854775807",
        "18446744073709551615",
        "18446744073709551616",
        "-9223372036854775808",
        "1e3",
        "1.5",
        "",
    ];
    let mut answered = 0;
    for (path, param) in [
        ("/api/events", "after"),
        ("/api/events", "limit"),
        ("/api/progress", "year"),
        ("/api/people", "year"),
        ("/api/report", "year"),
        ("/", "recorded"),
    ] {
        for value in edges {
            let uri = format!("{path}?{param}={value}");
            let req = Request::get(&uri)
                .header(
                    header::AUTHORIZATION,
                    format!("Bearer {}", target.tokens[&Role::Reader]),
                )
                .header(
                    header::COOKIE,
                    format!("annals_session={}", target.tokens[&Role::Reader]),
                )
                .body(Body::empty())
                .unwrap();
            let (status, content_type, _, body) = target.send(req);
            assert!(
                status.is_success() || status.is_client_error(),
                "{uri}: {status} {}",
                String::from_utf8_lossy(&body)
            );
            if status.is_client_error() && path != "/" {
                assert_eq!(content_type, "application/problem+json", "{uri}");
            }
            answered += 1;
        }
    }
    // The cursor at the end of the log gives an empty last page, not the log again.
    let req = Request::get("/api/events?after=18446744073709551615")
        .header(
            header::AUTHORIZATION,
            format!("Bearer {}", target.tokens[&Role::Reader]),
        )
        .body(Body::empty())
        .unwrap();
    let (status, _, _, body) = target.send(req);
    assert_eq!(status, StatusCode::OK);
    let page: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(page["events"], json!([]), "{page}");
    assert_eq!(page["next"], Value::Null);
    // expected_seq at its edges: a head that is not there is a conflict; a number that
    // is not a seq names the field.
    for (seq, expected) in [
        (json!(u64::MAX), StatusCode::CONFLICT),
        (json!(-1), StatusCode::UNPROCESSABLE_ENTITY),
        (json!(1e300), StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let body = json!({"events": [{"kind": "meeting_held", "occurred": "2023-03-01",
            "data": {"type": "school_committee"}}], "expected_seq": seq});
        let req = Request::post("/api/events")
            .header(
                header::AUTHORIZATION,
                format!("Bearer {}", target.tokens[&Role::Recorder]),
            )
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        let (status, content_type, _, body) = target.send(req);
        assert_eq!(status, expected, "{}", String::from_utf8_lossy(&body));
        assert_eq!(content_type, "application/problem+json");
        answered += 1;
    }
    println!("fuzz [edges]: {answered} requests with numeric parameters at their edges");
}
