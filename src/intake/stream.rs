//! The streamed append every import ends in: a source pushes its validated events to a
//! [`Feed`] while it is read, and only when the whole file is good are they handed to
//! the store as one batch. A dry run asks the store what each event would be instead
//! (new, already present, conflicting) and writes nothing.
use std::collections::HashSet;

use events::NewEvent;
use serde::Serialize;

use crate::store::{Batch, ImportNote, Receipt, Store, StoreError};

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
    /// A dry run: the file is valid; nothing was written. `added`, `existing` and
    /// `conflicting` say what the import would find.
    Checked,
}

/// What an import did, or in a dry run would do.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// How it was applied.
    pub mode: Mode,
    /// Event lines (or rows) in the file.
    pub lines: usize,
    /// Events written, or that a dry run found new (not counting `import_completed`).
    pub added: usize,
    /// Events that were already in the log.
    pub existing: usize,
    /// Events whose id the log holds with other content: the import would be refused
    /// (a dry run counts them; an import lists them as problems).
    pub conflicting: usize,
    /// The first and last seq written (the `import_completed` record included), when
    /// anything was; the events of one import are always contiguous.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub written: Option<[u64; 2]>,
}

impl Outcome {
    /// The outcome of an import that wrote nothing.
    pub fn nothing(mode: Mode, lines: usize, added: usize, existing: usize) -> Outcome {
        Outcome {
            mode,
            lines,
            added,
            existing,
            conflicting: 0,
            written: None,
        }
    }
}

/// Called with (lines done, lines in all) while a large file is checked.
pub type Progress<'a> = &'a mut dyn FnMut(usize, usize);

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
        conflicting: 0,
        written: first.map(|f| [f, f + added as u64]),
    }
}

/// What a dry run found so far.
struct Looked<'s> {
    store: &'s Store,
    ids: HashSet<uuid::Uuid, foldhash::fast::RandomState>,
    new: usize,
    existing: usize,
    conflicting: usize,
    failed: Option<StoreError>,
}

impl Looked<'_> {
    /// Asks the store what `event` would be, as its writer would answer: an id it
    /// holds with the same content is already present, with other content a conflict;
    /// an id met earlier in the same file is a repeat of it.
    fn look(&mut self, event: &NewEvent) {
        if self.failed.is_some() {
            return;
        }
        if event.id_given() && !self.ids.insert(event.id()) {
            self.existing += 1;
            return;
        }
        if !event.id_given() {
            self.new += 1;
            return;
        }
        match self.store.get(event.id()) {
            Ok(None) => self.new += 1,
            Ok(Some(stored)) if stored.same_content(event) => self.existing += 1,
            Ok(Some(_)) => self.conflicting += 1,
            Err(e) => self.failed = Some(e),
        }
    }
}

/// Where an import puts its validated events while its file is still being read. The
/// store's writer is not taken until the whole file has been read and checked, so a
/// large or slow upload never holds up anybody else's append (issue 13); the events
/// are then appended as one batch, all or nothing. See [`stream`].
pub struct Feed<'s> {
    /// `None` in a dry run (events are looked up, not kept), and once abandoned.
    events: Option<Vec<NewEvent>>,
    /// In a dry run, what the store says of each event.
    looked: Option<Looked<'s>>,
    count: usize,
}

impl Feed<'_> {
    /// Takes the next event; the store names a refused one by its place in this order.
    pub fn push(&mut self, event: NewEvent) {
        self.count += 1;
        if let Some(looked) = &mut self.looked {
            looked.look(&event);
        }
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
        self.looked = None;
    }
}

/// Runs `read` (which reads and validates a file, pushing each good event to the
/// [`Feed`]), then appends what it pushed as one batch that ends with the file's
/// `import_completed` note. All or nothing: only when `read` returns its file's note is
/// anything written; when it fails, `read`'s error is returned. The inner result is the
/// store's: its refusals name events by the order they were pushed. A dry run writes
/// nothing and says what the store would find.
pub fn stream<E>(
    store: &Store,
    author: &str,
    dry_run: bool,
    read: impl FnOnce(&mut Feed) -> Result<ImportNote, E>,
) -> Result<Result<Outcome, StoreError>, E> {
    let mut feed = Feed {
        events: (!dry_run).then(Vec::new),
        looked: dry_run.then(|| Looked {
            store,
            ids: HashSet::default(),
            new: 0,
            existing: 0,
            conflicting: 0,
            failed: None,
        }),
        count: 0,
    };
    let note = read(&mut feed)?;
    let lines = note.lines;
    if let Some(looked) = feed.looked {
        if let Some(e) = looked.failed {
            return Ok(Err(e));
        }
        return Ok(Ok(Outcome {
            mode: Mode::Checked,
            lines,
            added: looked.new,
            existing: looked.existing,
            conflicting: looked.conflicting,
            written: None,
        }));
    }
    let Some(events) = feed.events else {
        return Ok(Ok(Outcome::nothing(Mode::Checked, lines, feed.count, 0)));
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
