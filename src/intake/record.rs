//! Recording what a person submits: one event from the command line or the page's form
//! (its fields as typed), or a batch from the API (its events as JSON). Every problem of
//! every event is listed at once; nothing is written unless all of it is good.
use events::{Draft, NewEvent, Reason};
use serde_json::{Map, Value};

use super::{problem::MAX_LISTED_ERRORS, row_id, At, IntakeError, Problem, Problems};
use crate::store::{Batch, Receipt, Store};

/// The fields of a submission.
#[derive(Debug, Clone)]
pub enum Fields {
    /// Each field's name and its value as typed (`--set name=value`, a form's input),
    /// converted by the field's type.
    Typed(Vec<(String, String)>),
    /// All fields as JSON (`--data`).
    Json(Value),
}

/// One event as a person submits it.
#[derive(Debug, Clone)]
pub struct Submission {
    /// The kind's name.
    pub kind: String,
    /// `DATE` or `DATE..DATE`, as typed.
    pub occurred: Option<String>,
    /// The fields.
    pub fields: Fields,
    /// The event's id, when the submitter chose one (a retry is then recognised).
    pub id: Option<String>,
}

/// Who records, and on which terms.
#[derive(Debug, Clone)]
pub struct Recorder {
    /// `recorded_by` of what is recorded.
    pub author: String,
    /// Refuse unless the log's head is at this seq.
    pub expected_seq: Option<u64>,
}

/// A submission as a validated event, or every problem it has (at [`At::Draft`]).
pub fn validate(catalog: &events::Catalog, s: Submission) -> Result<NewEvent, Vec<Problem>> {
    let mut problems = Vec::new();
    let data = match s.fields {
        Fields::Json(v) => v,
        Fields::Typed(pairs) => {
            let mut map = Map::new();
            if let Some(kind) = catalog.kind(&s.kind) {
                // An empty input is a field left out, as a form leaves it.
                for (name, typed) in pairs.into_iter().filter(|(_, t)| !t.trim().is_empty()) {
                    let field = format!("data.{}", name.trim());
                    match kind.field(name.trim()) {
                        Some(f) => match f.coerce(typed.as_str()) {
                            Ok(v) => {
                                map.insert(f.name.clone(), v);
                            }
                            Err(reason) => problems.push(Problem::new(At::Draft, field, reason)),
                        },
                        // Named while fewer than a file's listed problems are: a form
                        // of 90 000 made-up fields (within the body limit) would
                        // otherwise be answered with a page of 16 MB. The JSON way in
                        // has its 64 KiB cap on the data instead.
                        None if problems.len() < MAX_LISTED_ERRORS => {
                            problems.push(Problem::new(At::Draft, field, kind.unknown_field()))
                        }
                        None => {}
                    }
                }
            }
            Value::Object(map)
        }
    };
    let draft = Draft {
        id: s.id,
        kind: s.kind,
        occurred: s.occurred,
        data,
        ..Draft::default()
    };
    match NewEvent::parse(catalog, draft) {
        Ok(ev) if problems.is_empty() => Ok(ev),
        Ok(_) => Err(problems),
        Err(e) => {
            for f in field_errors(e) {
                // A value that could not be read is named once, not again as missing.
                if !problems.iter().any(|p| p.field == f.field) {
                    problems.push(Problem::of(At::Draft, f));
                }
            }
            Err(problems)
        }
    }
}

/// An event error's failing fields.
pub fn field_errors(e: events::Error) -> Vec<events::FieldError> {
    match e {
        events::Error::Invalid(list) => list,
        other => vec![events::FieldError::new(
            "event",
            Reason::Said(other.to_string()),
        )],
    }
}

/// Validates and appends one submission, recorded by `by` now.
#[tracing::instrument(skip_all, fields(kind = %submission.kind))]
pub fn record(store: &Store, submission: Submission, by: Recorder) -> Result<Receipt, IntakeError> {
    let event =
        validate(store.catalog(), submission).map_err(|p| IntakeError::Refused(p.into()))?;
    append(store, event, by)
}

/// Appends one validated event, recorded by `by` now: the second half of [`record`], for
/// a front end that looks at the event between the two (the page holds back a likely
/// repeat).
pub fn append(store: &Store, event: NewEvent, by: Recorder) -> Result<Receipt, IntakeError> {
    if let Some(reason) = row_id::refused(store, &event)? {
        return Err(IntakeError::Refused(
            vec![Problem::new(At::Draft, "id", reason)].into(),
        ));
    }
    let event = event.recorded_now_by(by.author.clone());
    let receipts = store
        .append(Batch {
            events: vec![event],
            expected_seq: by.expected_seq,
            author: by.author,
            import: None,
        })
        .map_err(|e| IntakeError::located(e, |_| At::Draft))?;
    Ok(receipts.into_iter().next().expect("a receipt per event"))
}

/// Validates a batch of drafts as JSON (the API's body) and appends it, all or nothing,
/// recorded by `by` now: who recorded and when come from the caller, never from the
/// drafts. Every problem of every event is listed, by its place in the batch.
#[tracing::instrument(skip_all, fields(events = items.len()))]
pub fn record_batch(
    store: &Store,
    items: Vec<Value>,
    by: Recorder,
) -> Result<Vec<Receipt>, IntakeError> {
    let catalog = store.catalog();
    let mut events = Vec::with_capacity(items.len());
    let mut problems = Problems::new();
    for (index, item) in items.into_iter().enumerate() {
        let parsed = serde_json::from_value::<Draft>(item)
            .map_err(|e| {
                vec![events::FieldError::new(
                    "event",
                    Reason::Said(e.to_string()),
                )]
            })
            .and_then(|mut draft| {
                (draft.recorded_by, draft.recorded_at) = (None, None);
                NewEvent::parse(catalog, draft).map_err(field_errors)
            });
        let parsed = match parsed {
            Ok(ev) => match row_id::refused(store, &ev)? {
                None => Ok(ev),
                Some(reason) => Err(vec![events::FieldError::new("id", reason)]),
            },
            Err(list) => Err(list),
        };
        match parsed {
            Ok(ev) => events.push(ev.recorded_now_by(by.author.clone())),
            Err(list) => problems.extend(list.into_iter().map(|f| Problem::of(At::Item(index), f))),
        }
    }
    if !problems.is_empty() {
        return Err(IntakeError::Refused(problems));
    }
    store
        .append(Batch {
            events,
            expected_seq: by.expected_seq,
            author: by.author,
            import: None,
        })
        .map_err(|e| IntakeError::located(e, At::Item))
}
