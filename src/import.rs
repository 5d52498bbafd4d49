//! The JSONL file format: one envelope (or draft) per line. Import is all or nothing,
//! export writes the exact envelopes, and a file's chain can be checked with no store.
use std::{fmt, io::Write};

use events::{envelope::ChainCheck, Catalog, Draft, Envelope, Hash, NewEvent};
use serde::Serialize;

use crate::store::{Batch, Filter, ImportNote, Receipt, Store, StoreError};

mod problems;

pub use problems::{Problems, MAX_LISTED_ERRORS};

/// The most characters of a parser's message a line's error repeats: serde's messages
/// quote what they could not read, which may be most of a line.
const MESSAGE_CHARS: usize = 200;

/// One bad line of a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineError {
    /// The 1-based line number.
    pub line: usize,
    /// The failing field.
    pub field: String,
    /// Why.
    pub reason: String,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.line, self.field, self.reason)
    }
}

/// Why an import wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Lines failed validation, the chain check or the store's checks. Handling: fix
    /// each listed line and import again; nothing was written.
    #[error("{} line(s) refused; nothing was imported:\n{}", .0.total(), .0)]
    Lines(Problems<LineError>),
    /// The store failed. Handling: as for the store error.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How an import was applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// The file is a copy of this log (an export): its events were appended verbatim.
    Restored,
    /// The file's events were appended as new events, with an `import_completed` record.
    Appended,
    /// Everything in the file was already in the log; nothing was written.
    Unchanged,
    /// A dry run: the file is valid; nothing was written.
    Checked,
}

/// What an import did.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// How it was applied.
    pub mode: Mode,
    /// Event lines in the file.
    pub lines: usize,
    /// Events written (not counting `import_completed`).
    pub added: usize,
    /// Lines that were already in the log.
    pub existing: usize,
    /// The first and last seq written (the `import_completed` record included), when
    /// anything was; the events of one import are always contiguous.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub written: Option<[u64; 2]>,
}

enum Line {
    Draft(NewEvent),
    Envelope(Envelope),
}

/// What an import may keep of what its file says about who recorded each line, when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    /// A recorder (over HTTP, whatever the token's role): every line is a new event,
    /// recorded by the importer now; an export's envelopes become drafts of their
    /// content, and its system records are left out.
    Recorder,
    /// The store's own operator at the command line, who holds its files: drafts keep
    /// the recording times and authors of history brought in from paper, and an export
    /// of this log (or of an empty one) is restored as it is, through the store's checks.
    Operator,
}

/// Called with (lines done, lines in all) while a large file is checked.
pub type Progress<'a> = &'a mut dyn FnMut(usize, usize);

/// Imports a JSONL file into the store, all or nothing.
#[tracing::instrument(skip_all, fields(file = name, bytes = bytes.len()))]
pub fn import(
    store: &Store,
    bytes: &[u8],
    name: &str,
    author: &str,
    trust: Trust,
    dry_run: bool,
    progress: Progress,
) -> Result<Outcome, ImportError> {
    if !dry_run && starts_with_draft(store.catalog(), bytes) {
        return import_streaming(store, bytes, name, author, trust, progress);
    }
    let (lines, numbers) = parse(store.catalog(), bytes, progress)?;
    let count = lines.len();
    let outcome = |mode, added, existing| Outcome {
        mode,
        lines: count,
        added,
        existing,
        written: None,
    };
    let envelopes: Option<Vec<Envelope>> = lines
        .iter()
        .map(|l| match l {
            Line::Envelope(e) => Some(e.clone()),
            Line::Draft(_) => None,
        })
        .collect();
    if let Some(envs) = envelopes.filter(|e| !e.is_empty() && trust == Trust::Operator) {
        check_chain(&envs, &numbers)?;
        if let Some(fresh) = continuation(store, &envs)? {
            if dry_run {
                return Ok(outcome(Mode::Checked, fresh.len(), count - fresh.len()));
            }
            let added = fresh.len();
            if added == 0 {
                return Ok(outcome(Mode::Unchanged, 0, count));
            }
            let skip = count - added;
            let receipts = store
                .restore(fresh)
                .map_err(|e| at_lines(e, &numbers[skip..]))?;
            return Ok(Outcome {
                written: receipts
                    .first()
                    .zip(receipts.last())
                    .map(|(a, b)| [a.seq, b.seq]),
                ..outcome(Mode::Restored, added, skip)
            });
        }
    }
    // Not a copy of this log: every line becomes a new event of this log.
    let mut events = Vec::with_capacity(count);
    let mut kept_numbers = Vec::with_capacity(count);
    let mut errors = Problems::new();
    for (line, n) in lines.into_iter().zip(&numbers) {
        match new_event(store.catalog(), line, *n, trust, author) {
            Ok(Some(ev)) => {
                events.push(ev);
                kept_numbers.push(*n);
            }
            Ok(None) => {}
            Err(e) => errors.extend(e),
        }
    }
    if !errors.is_empty() {
        return Err(ImportError::Lines(errors));
    }
    let note = ImportNote {
        file_hash: Hash::of(bytes),
        file_name: name.to_owned(),
        lines: count,
    };
    let written = stream(store, author, dry_run, |feed| {
        events.into_iter().for_each(|e| feed.push(e));
        Ok::<_, ImportError>(note)
    })?;
    written.map_err(|e| at_lines(e, &kept_numbers))
}

/// The outcome of appending new events (and the import record after them).
fn appended(receipts: &[Receipt], lines: usize) -> Outcome {
    let existing = receipts.iter().filter(|r| r.existing).count();
    let added = receipts.len() - existing;
    // The new events and the import record follow each other in one batch.
    let first = receipts.iter().filter(|r| !r.existing).map(|r| r.seq).min();
    Outcome {
        mode: if added == 0 {
            Mode::Unchanged
        } else {
            Mode::Appended
        },
        lines,
        added,
        existing,
        written: first.map(|f| [f, f + added as u64]),
    }
}

/// Where an import puts its validated events while its file is still being read. The
/// store's writer is not taken until the whole file has been read and checked, so a
/// large or slow upload never holds up anybody else's append (issue 13); the events
/// are then appended as one batch, all or nothing. See [`stream`].
pub struct Feed {
    /// `None` in a dry run (events are only counted), and once abandoned.
    events: Option<Vec<NewEvent>>,
    count: usize,
}

impl Feed {
    /// Takes the next event; the store names a refused one by its place in this order.
    pub fn push(&mut self, event: NewEvent) {
        self.count += 1;
        if let Some(events) = &mut self.events {
            events.push(event);
        }
    }

    /// How many events were handed over.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Gives up keeping events as soon as the file is known to be refused, so their
    /// memory is free while the rest of the file is checked for its other errors.
    pub fn abandon(&mut self) {
        self.events = None;
    }
}

/// Runs `read` (which reads and validates a file, pushing each good event to the
/// [`Feed`]), then appends what it pushed as one batch that ends with the file's
/// `import_completed` note. All or nothing: only when `read` returns its file's note is
/// anything written; when it fails, `read`'s error is returned. The inner result is the
/// store's: its refusals name events by the order they were pushed.
pub fn stream<E>(
    store: &Store,
    author: &str,
    dry_run: bool,
    read: impl FnOnce(&mut Feed) -> Result<ImportNote, E>,
) -> Result<Result<Outcome, StoreError>, E> {
    let mut feed = Feed {
        events: (!dry_run).then(Vec::new),
        count: 0,
    };
    let note = read(&mut feed)?;
    let lines = note.lines;
    let Some(events) = feed.events.filter(|_| !dry_run) else {
        return Ok(Ok(Outcome {
            mode: Mode::Checked,
            lines,
            added: feed.count,
            existing: 0,
            written: None,
        }));
    };
    Ok(store
        .append(Batch {
            events,
            expected_seq: None,
            author: author.to_owned(),
            import: Some(note),
        })
        .map(|receipts| appended(&receipts, lines)))
}

/// Whether the file's first event line is a draft rather than an exported envelope:
/// then the file cannot be a copy of this log, and its lines can go to the store as
/// they are read.
fn starts_with_draft(catalog: &Catalog, bytes: &[u8]) -> bool {
    event_lines(bytes, &mut |_, _| {})
        .next()
        .is_some_and(|(n, raw)| matches!(parse_line(catalog, n, raw), Ok(Line::Draft(_))))
}

/// A file of drafts, imported as new events as it is read ([`stream`]). Every bad line
/// is still listed.
fn import_streaming(
    store: &Store,
    bytes: &[u8],
    name: &str,
    author: &str,
    trust: Trust,
    progress: Progress,
) -> Result<Outcome, ImportError> {
    let catalog = store.catalog();
    let mut numbers = Vec::new();
    let written = stream(store, author, false, |feed| {
        let mut errors = Problems::new();
        let mut count = 0;
        for (n, raw) in event_lines(bytes, progress) {
            count += 1;
            let event = match parse_line(catalog, n, raw)
                .and_then(|l| new_event(catalog, l, n, trust, author))
            {
                Ok(Some(ev)) => ev,
                Ok(None) => continue,
                Err(e) => {
                    errors.extend(e);
                    feed.abandon();
                    continue;
                }
            };
            if errors.is_empty() {
                feed.push(event);
                numbers.push(n);
            }
        }
        if count == 0 {
            errors.push(LineError {
                line: 1,
                field: "file".into(),
                reason: "holds no events".into(),
            });
        }
        if !errors.is_empty() {
            return Err(ImportError::Lines(errors));
        }
        Ok(ImportNote {
            file_hash: Hash::of(bytes),
            file_name: name.to_owned(),
            lines: count,
        })
    })?;
    written.map_err(|e| at_lines(e, &numbers))
}

/// Checks an exported file's chain with no store: every hash and link, from genesis.
pub fn verify_file(catalog: &Catalog, bytes: &[u8]) -> Result<(u64, Hash), ImportError> {
    let (lines, numbers) = parse(catalog, bytes, &mut |_, _| {})?;
    let mut envs = Vec::with_capacity(lines.len());
    for (line, n) in lines.into_iter().zip(&numbers) {
        match line {
            Line::Envelope(e) => envs.push(e),
            Line::Draft(_) => {
                return Err(ImportError::Lines(
                    vec![LineError {
                        line: *n,
                        field: "hash".into(),
                        reason: "is missing: this is a draft, not an exported event".into(),
                    }]
                    .into(),
                ))
            }
        }
    }
    let mut chain = ChainCheck::default();
    for (e, n) in envs.iter().zip(&numbers) {
        chain.check(e).map_err(|err| chain_error(*n, err))?;
    }
    Ok((chain.head_seq(), chain.head_hash()))
}

/// Writes the whole log as JSONL, one envelope per line, in seq order.
pub fn export(store: &Store, out: &mut dyn Write) -> Result<u64, anyhow::Error> {
    let mut n = 0;
    for e in store.scan(Filter::default()) {
        serde_json::to_writer(&mut *out, &e?)?;
        out.write_all(b"\n")?;
        n += 1;
    }
    out.flush()?;
    Ok(n)
}

/// The non-blank lines of a file (a byte-order mark dropped) with their 1-based
/// numbers, telling `progress` how far it got every thousand lines and at the end. The
/// lines are counted for `progress` only when it is first told, so a caller that reads
/// just the first line does not walk the whole file.
fn event_lines<'a>(
    bytes: &'a [u8],
    progress: Progress<'a>,
) -> impl Iterator<Item = (usize, &'a [u8])> + 'a {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut total = None;
    let mut total = move || *total.get_or_insert_with(|| bytes.split(|b| *b == b'\n').count());
    let mut lines = bytes.split(|b| *b == b'\n').enumerate();
    std::iter::from_fn(move || loop {
        let Some((i, raw)) = lines.next() else {
            let total = total();
            progress(total, total);
            return None;
        };
        let n = i + 1;
        if n % 1000 == 0 {
            progress(n, total());
        }
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if !raw.iter().all(u8::is_ascii_whitespace) {
            return Some((n, raw));
        }
    })
}

/// Parses and validates every line, collecting every error before giving up.
fn parse(
    catalog: &Catalog,
    bytes: &[u8],
    progress: Progress,
) -> Result<(Vec<Line>, Vec<usize>), ImportError> {
    let mut lines = Vec::new();
    let mut numbers = Vec::new();
    let mut errors = Problems::new();
    for (n, raw) in event_lines(bytes, progress) {
        match parse_line(catalog, n, raw) {
            Ok(line) => {
                lines.push(line);
                numbers.push(n);
            }
            Err(e) => errors.extend(e),
        }
    }
    if lines.is_empty() && errors.is_empty() {
        errors.push(LineError {
            line: 1,
            field: "file".into(),
            reason: "holds no events".into(),
        });
    }
    if errors.is_empty() {
        Ok((lines, numbers))
    } else {
        Err(ImportError::Lines(errors))
    }
}

fn parse_line(catalog: &Catalog, n: usize, raw: &[u8]) -> Result<Line, Vec<LineError>> {
    let err = |field: &str, reason: String| {
        vec![LineError {
            line: n,
            field: field.into(),
            reason,
        }]
    };
    let text = std::str::from_utf8(raw).map_err(|e| {
        err(
            "line",
            format!("is not valid UTF-8 (byte {})", e.valid_up_to()),
        )
    })?;
    // The common line, a draft, is read straight into its struct; anything else (an
    // envelope, or a line that does not read) goes the long way, which tells which.
    if !text.contains("\"hash\"") {
        if let Ok(draft) = serde_json::from_str::<Draft>(text) {
            return NewEvent::parse(catalog, draft)
                .map(Line::Draft)
                .map_err(|e| field_errors(n, e));
        }
    }
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| err("line", format!("is not valid JSON: {}", message(&e))))?;
    if !value.is_object() {
        return Err(err("line", "must be a JSON object".into()));
    }
    if value.get("hash").is_some() {
        let e: Envelope = serde_json::from_value(value)
            .map_err(|e| err("envelope", format!("is malformed: {}", message(&e))))?;
        let kind = catalog
            .require_kind(&e.kind)
            .map_err(|fe| err(&fe.field, fe.reason))?;
        let errors = kind.validate_data(&kind.current(e.version, &e.data));
        if !errors.is_empty() {
            return Err(field_errors(n, events::Error::Invalid(errors)));
        }
        Ok(Line::Envelope(e))
    } else {
        let draft: Draft = serde_json::from_value(value)
            .map_err(|e| err("line", format!("is malformed: {}", message(&e))))?;
        NewEvent::parse(catalog, draft)
            .map(Line::Draft)
            .map_err(|e| field_errors(n, e))
    }
}

/// A parser's message about a line, cut short: serde quotes the value it could not
/// read, whole.
fn message(e: &serde_json::Error) -> String {
    events::error::cut(&e.to_string(), MESSAGE_CHARS).into_owned()
}

fn field_errors(line: usize, e: events::Error) -> Vec<LineError> {
    match e {
        events::Error::Invalid(list) => list
            .into_iter()
            .map(|f| LineError {
                line,
                field: f.field,
                reason: f.reason,
            })
            .collect(),
        other => vec![LineError {
            line,
            field: "line".into(),
            reason: other.to_string(),
        }],
    }
}

fn chain_error(line: usize, e: events::Error) -> ImportError {
    ImportError::Lines(
        vec![LineError {
            line,
            field: "hash".into(),
            reason: e.to_string(),
        }]
        .into(),
    )
}

/// The file's chain must hold within itself, from wherever it starts.
fn check_chain(envs: &[Envelope], numbers: &[usize]) -> Result<(), ImportError> {
    let first = &envs[0];
    let mut chain = ChainCheck::after(first.seq.saturating_sub(1), first.prev_hash);
    for (e, n) in envs.iter().zip(numbers) {
        chain.check(e).map_err(|err| chain_error(*n, err))?;
    }
    Ok(())
}

/// If the file is a copy of this log (each line the store already has is identical,
/// and the rest follow the head), the envelopes still to append; otherwise `None`.
fn continuation(store: &Store, envs: &[Envelope]) -> Result<Option<Vec<Envelope>>, StoreError> {
    let head = store.head()?;
    let first = &envs[0];
    if first.seq > head.seq + 1 || (first.seq == head.seq + 1 && first.prev_hash != head.hash) {
        return Ok(None);
    }
    for e in envs.iter().take_while(|e| e.seq <= head.seq) {
        match store.get_seq(e.seq)? {
            Some(stored) if stored.hash == e.hash => {}
            _ => return Ok(None),
        }
    }
    Ok(Some(
        envs.iter().filter(|e| e.seq > head.seq).cloned().collect(),
    ))
}

/// A line as a new event of this log: a draft as it is, an exported event as a draft
/// of its content; `None` for the system records another log wrote. A recorder's
/// lines are recorded by the recorder, now, whatever they say.
fn new_event(
    catalog: &Catalog,
    line: Line,
    n: usize,
    trust: Trust,
    author: &str,
) -> Result<Option<NewEvent>, Vec<LineError>> {
    let event = match line {
        Line::Draft(ev) => ev,
        Line::Envelope(e) if is_system(catalog, &e) => return Ok(None),
        Line::Envelope(e) => {
            NewEvent::parse(catalog, as_draft(e)).map_err(|err| field_errors(n, err))?
        }
    };
    Ok(Some(match trust {
        Trust::Recorder => event.recorded_now_by(author),
        Trust::Operator => event,
    }))
}

fn is_system(catalog: &Catalog, e: &Envelope) -> bool {
    catalog.kind(&e.kind).is_some_and(|k| k.system)
}

fn as_draft(e: Envelope) -> Draft {
    Draft {
        id: Some(e.id.to_string()),
        kind: e.kind,
        version: Some(e.version),
        occurred: Some(e.occurred.to_string()),
        recorded_at: Some(e.recorded_at.to_rfc3339()),
        recorded_by: Some(e.recorded_by),
        data: e.data,
    }
}

/// Maps the store's per-event errors back to the file's line numbers.
fn at_lines(e: StoreError, numbers: &[usize]) -> ImportError {
    match e {
        StoreError::Rejected(items) => ImportError::Lines(
            items
                .into_iter()
                .map(|i| LineError {
                    line: numbers.get(i.index).copied().unwrap_or(0),
                    field: i.error.field,
                    reason: i.error.reason,
                })
                .collect(),
        ),
        other => ImportError::Store(other),
    }
}
