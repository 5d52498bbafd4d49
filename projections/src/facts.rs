//! The fold at the heart of every figure: each event once, with the history of its
//! corrections, so any question can be asked "as known at" any moment.
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use events::{
    catalog::{AMENDED, VOIDED},
    Envelope, Occurred,
};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

/// One version of an event's data: the original, an amendment, or a void.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Revision {
    /// The seq of the event that made this version (the original's own seq first).
    pub seq: u64,
    /// When the log learned of this version.
    pub at: DateTime<Utc>,
    /// Who recorded it.
    pub by: String,
    /// The data from then on; `None` once voided.
    pub data: Option<Value>,
    /// The reason a correction gave.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// How an event stands at some moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Not yet recorded then.
    Unknown,
    /// As first recorded.
    Original,
    /// Amended at least once.
    Amended,
    /// Voided: it no longer counts.
    Voided,
}

/// One event with its corrections.
#[derive(Debug, Clone, Serialize)]
pub struct Fact {
    /// Its id.
    pub id: Uuid,
    /// Its seq.
    pub seq: u64,
    /// Its kind.
    pub kind: String,
    /// When it happened.
    pub occurred: Occurred,
    /// When it was first recorded.
    pub recorded_at: DateTime<Utc>,
    /// Who first recorded it.
    pub recorded_by: String,
    /// The original and every correction, in the order recorded.
    pub revisions: Vec<Revision>,
}

impl Fact {
    /// The revision in force at `t`, if the event was known then.
    pub fn revision_at(&self, t: DateTime<Utc>) -> Option<&Revision> {
        self.revisions.iter().rev().find(|r| r.at <= t)
    }

    /// Its data as known at `t`: `None` before it was recorded or once voided.
    pub fn data_at(&self, t: DateTime<Utc>) -> Option<&Value> {
        self.revision_at(t)?.data.as_ref()
    }

    /// How it stood at `t`.
    pub fn status_at(&self, t: DateTime<Utc>) -> Status {
        let known: Vec<&Revision> = self.revisions.iter().filter(|r| r.at <= t).collect();
        match known.last() {
            None => Status::Unknown,
            Some(r) if r.data.is_none() => Status::Voided,
            Some(_) if known.len() > 1 => Status::Amended,
            Some(_) => Status::Original,
        }
    }

    /// A text field of its data at `t`.
    pub fn text_at(&self, t: DateTime<Utc>, field: &str) -> Option<&str> {
        self.data_at(t)?.get(field)?.as_str()
    }
}

/// Every event of the log, folded. `Default` plus [`Facts::apply`] in seq order; it
/// cannot fail and does no I/O. Feed it envelopes already upcast to current versions.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    facts: Vec<Fact>,
    index: HashMap<Uuid, usize>,
    by_kind: HashMap<String, Vec<usize>>,
    head_seq: u64,
}

impl Facts {
    /// Folds one more event.
    pub fn apply(&mut self, e: &Envelope) {
        self.head_seq = self.head_seq.max(e.seq);
        let target = || -> Option<usize> {
            let id: Uuid = e.data.get("target")?.as_str()?.parse().ok()?;
            self.index.get(&id).copied()
        };
        let reason = e
            .data
            .get("reason")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let correction = match e.kind.as_str() {
            AMENDED => Some(e.data.get("data").cloned()),
            VOIDED => Some(None),
            _ => None,
        };
        if let Some(data) = correction {
            // A correction of an unknown event cannot be in a verified log; ignore it.
            if let Some(i) = target() {
                self.facts[i].revisions.push(Revision {
                    seq: e.seq,
                    at: e.recorded_at,
                    by: e.recorded_by.clone(),
                    data,
                    reason,
                });
            }
            return;
        }
        let i = self.facts.len();
        self.facts.push(Fact {
            id: e.id,
            seq: e.seq,
            kind: e.kind.clone(),
            occurred: e.occurred,
            recorded_at: e.recorded_at,
            recorded_by: e.recorded_by.clone(),
            revisions: vec![Revision {
                seq: e.seq,
                at: e.recorded_at,
                by: e.recorded_by.clone(),
                data: Some(e.data.clone()),
                reason: None,
            }],
        });
        self.index.insert(e.id, i);
        self.by_kind.entry(e.kind.clone()).or_default().push(i);
    }

    /// Folds a whole log.
    pub fn from_log<'a>(log: impl IntoIterator<Item = &'a Envelope>) -> Self {
        let mut facts = Facts::default();
        for e in log {
            facts.apply(e);
        }
        facts
    }

    /// Every fact of a kind, in seq order.
    pub fn of_kind<'a>(&'a self, kind: &str) -> impl Iterator<Item = &'a Fact> + 'a {
        self.by_kind
            .get(kind)
            .into_iter()
            .flatten()
            .map(move |&i| &self.facts[i])
    }

    /// Every fact, in seq order.
    pub fn iter(&self) -> impl Iterator<Item = &Fact> {
        self.facts.iter()
    }

    /// The fact with that id.
    pub fn get(&self, id: Uuid) -> Option<&Fact> {
        self.index.get(&id).map(|&i| &self.facts[i])
    }

    /// The highest seq folded.
    pub fn head_seq(&self) -> u64 {
        self.head_seq
    }
}
