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

mod api;
mod drafts;
mod imports;
mod queries;

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
