//! The JSONL source: one envelope (or draft) per line. Import is all or nothing,
//! export writes the exact envelopes, and a file's chain can be checked with no store.
use std::io::Write;

use events::{envelope::ChainCheck, Catalog, Draft, Envelope, Hash, NewEvent, Reason};

use super::{row_id, stream, At, IntakeError, Mode, Outcome, Problem, Problems, Progress, Trust};
use crate::store::{Filter, ImportNote, Store, StoreError};

/// The most characters of a parser's message a line's error repeats: serde's messages
/// quote what they could not read, which may be most of a line.
const MESSAGE_CHARS: usize = 200;

enum Line {
    Draft(NewEvent),
    Envelope(Envelope),
}

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
) -> Result<Outcome, IntakeError> {
    if !dry_run && starts_with_draft(store.catalog(), bytes) {
        return import_streaming(store, bytes, name, author, trust, progress);
    }
    let (lines, numbers) = parse(store.catalog(), bytes, progress)?;
    let count = lines.len();
    let outcome = |mode, added, existing| Outcome::nothing(mode, count, added, existing);
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
        match new_event(store, line, *n, trust, author)? {
            Ok(Some(ev)) => {
                events.push(ev);
                kept_numbers.push(*n);
            }
            Ok(None) => {}
            Err(e) => errors.extend(e),
        }
    }
    if !errors.is_empty() {
        return Err(IntakeError::Refused(errors));
    }
    let note = ImportNote {
        file_hash: Hash::of(bytes),
        file_name: name.to_owned(),
        lines: count,
    };
    let written = stream(store, author, dry_run, |feed| {
        events.into_iter().for_each(|e| feed.push(e));
        Ok::<_, IntakeError>(note)
    })?;
    written.map_err(|e| at_lines(e, &kept_numbers))
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
) -> Result<Outcome, IntakeError> {
    let catalog = store.catalog();
    let mut numbers = Vec::new();
    let written = stream(store, author, false, |feed| {
        let mut errors = Problems::new();
        let mut count = 0;
        for (n, raw) in event_lines(bytes, progress) {
            count += 1;
            let line = match parse_line(catalog, n, raw) {
                Ok(line) => new_event(store, line, n, trust, author)?,
                Err(e) => Err(e),
            };
            let event = match line {
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
            errors.push(Problem::new(At::Line(1), "file", Reason::NoEvents));
        }
        if !errors.is_empty() {
            return Err(IntakeError::Refused(errors));
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
pub fn verify_file(catalog: &Catalog, bytes: &[u8]) -> Result<(u64, Hash), IntakeError> {
    let (lines, numbers) = parse(catalog, bytes, &mut |_, _| {})?;
    let mut envs = Vec::with_capacity(lines.len());
    for (line, n) in lines.into_iter().zip(&numbers) {
        match line {
            Line::Envelope(e) => envs.push(e),
            Line::Draft(_) => {
                return Err(IntakeError::Refused(
                    vec![Problem::new(At::Line(*n), "hash", Reason::NotExported)].into(),
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
) -> Result<(Vec<Line>, Vec<usize>), IntakeError> {
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
        errors.push(Problem::new(At::Line(1), "file", Reason::NoEvents));
    }
    if errors.is_empty() {
        Ok((lines, numbers))
    } else {
        Err(IntakeError::Refused(errors))
    }
}

fn parse_line(catalog: &Catalog, n: usize, raw: &[u8]) -> Result<Line, Vec<Problem>> {
    let err = |field: &str, reason: Reason| vec![Problem::new(At::Line(n), field, reason)];
    let text = std::str::from_utf8(raw).map_err(|e| {
        err(
            "line",
            Reason::NotUtf8 {
                byte: e.valid_up_to(),
            },
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
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        err(
            "line",
            Reason::NotJson {
                detail: message(&e),
            },
        )
    })?;
    if !value.is_object() {
        return Err(err("line", Reason::LineNotObject));
    }
    if value.get("hash").is_some() {
        let e: Envelope = serde_json::from_value(value).map_err(|e| {
            err(
                "envelope",
                Reason::Malformed {
                    detail: message(&e),
                },
            )
        })?;
        let kind = catalog
            .require_kind(&e.kind)
            .map_err(|fe| vec![Problem::of(At::Line(n), fe)])?;
        let errors = kind.validate_data(&kind.current(e.version, &e.data));
        if !errors.is_empty() {
            return Err(field_errors(n, events::Error::Invalid(errors)));
        }
        Ok(Line::Envelope(e))
    } else {
        let draft: Draft = serde_json::from_value(value).map_err(|e| {
            err(
                "line",
                Reason::Malformed {
                    detail: message(&e),
                },
            )
        })?;
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

fn field_errors(line: usize, e: events::Error) -> Vec<Problem> {
    match e {
        events::Error::Invalid(list) => list
            .into_iter()
            .map(|f| Problem::of(At::Line(line), f))
            .collect(),
        other => vec![Problem::new(
            At::Line(line),
            "line",
            Reason::Said(other.to_string()),
        )],
    }
}

fn chain_error(line: usize, e: events::Error) -> IntakeError {
    let reason = Reason::Chain {
        detail: e.to_string(),
    };
    IntakeError::Refused(vec![Problem::new(At::Line(line), "hash", reason)].into())
}

/// The file's chain must hold within itself, from wherever it starts.
fn check_chain(envs: &[Envelope], numbers: &[usize]) -> Result<(), IntakeError> {
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

/// A line as a new event (`None` for a line that brings none), or its problems.
type LineEvent = Result<Option<NewEvent>, Vec<Problem>>;

/// A line as a new event of this log: a draft as it is, an exported event as a draft
/// of its content; `None` for the system records another log wrote. A recorder's
/// lines are recorded by the recorder, now, whatever they say, and may not take a
/// register row's id the log does not hold (`row_id`). The outer error is the store's.
fn new_event(
    store: &Store,
    line: Line,
    n: usize,
    trust: Trust,
    author: &str,
) -> Result<LineEvent, StoreError> {
    let catalog = store.catalog();
    let event = match line {
        Line::Draft(ev) => ev,
        Line::Envelope(e) if is_system(catalog, &e) => return Ok(Ok(None)),
        Line::Envelope(e) => match NewEvent::parse(catalog, as_draft(e)) {
            Ok(ev) => ev,
            Err(err) => return Ok(Err(field_errors(n, err))),
        },
    };
    Ok(Ok(Some(match trust {
        Trust::Recorder => {
            if let Some(reason) = row_id::refused(store, &event)? {
                return Ok(Err(vec![Problem::new(At::Line(n), "id", reason)]));
            }
            event.recorded_now_by(author)
        }
        Trust::Operator => event,
    })))
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
fn at_lines(e: StoreError, numbers: &[usize]) -> IntakeError {
    IntakeError::located(e, |i| At::Line(numbers.get(i).copied().unwrap_or(0)))
}
