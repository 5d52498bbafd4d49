//! What a caller submits to be recorded, and its validated form.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::{
    canonical,
    catalog::{Catalog, Correction, Occurs},
    error::{Error, FieldError},
    message::Reason,
    occurred::Occurred,
};

/// The longest `recorded_by` accepted, in characters.
pub const MAX_AUTHOR_LEN: usize = 64;

/// An event as submitted: loosely typed, so that every problem can be reported by
/// field rather than as one parse error.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Draft {
    /// The event's id; a UUIDv7 is assigned when absent. Retrying with the same id is safe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The kind's name from the catalog.
    pub kind: String,
    /// The schema version the data was written at; the current one when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u32>,
    /// `YYYY-MM-DD` or `YYYY-MM-DD..YYYY-MM-DD`; corrections may leave it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occurred: Option<String>,
    /// For history brought in from paper: when it was first written down (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded_at: Option<String>,
    /// Who records it; tools that know the user set this themselves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded_by: Option<String>,
    /// The kind's fields.
    #[serde(default)]
    pub data: Value,
}

/// A draft that satisfies the catalog. Only [`NewEvent::parse`] makes one, so holding one
/// means the checks that need no store have passed.
///
/// Its data is kept as the canonical bytes the store hashes and writes, encoded once
/// where it was validated: the store's single writer then neither encodes nor frees a
/// `Value` per event.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    id: Uuid,
    id_given: bool,
    kind: String,
    version: u32,
    occurred: Option<Occurred>,
    recorded_at: Option<DateTime<Utc>>,
    recorded_by: Option<String>,
    data: Vec<u8>,
    correction: Option<(Correction, Uuid)>,
}

impl NewEvent {
    /// Validates a draft against the catalog, reporting every failing field.
    pub fn parse(catalog: &Catalog, mut draft: Draft) -> Result<Self, Error> {
        let kind = catalog.require_kind(&draft.kind)?;
        if kind.system {
            return Err(FieldError::new(
                "kind",
                Reason::SystemKind {
                    kind: kind.name.clone(),
                },
            )
            .into());
        }
        let mut errors = Vec::new();
        let id = match draft.id.as_deref().map(Uuid::parse_str) {
            None => None,
            Some(Ok(id)) => Some(id),
            Some(Err(_)) => {
                errors.push(FieldError::new("id", Reason::NotUuid));
                None
            }
        };
        let version = draft.version.unwrap_or(kind.version);
        if version == 0 || version > kind.version {
            errors.push(FieldError::new(
                "version",
                Reason::BadVersion {
                    max: kind.version,
                    kind: kind.name.clone(),
                },
            ));
        }
        let occurred = match draft.occurred.as_deref().map(str::parse::<Occurred>) {
            None if kind.correction.is_none() => {
                errors.push(FieldError::new("occurred", Reason::OccurredRequired));
                None
            }
            None => None,
            Some(Err(reason)) => {
                errors.push(FieldError::new("occurred", reason));
                None
            }
            Some(Ok(o)) if kind.occurs == Occurs::Date && !o.is_single_day() => {
                errors.push(FieldError::new(
                    "occurred",
                    Reason::OneDayKind {
                        kind: kind.name.clone(),
                    },
                ));
                None
            }
            Some(Ok(o)) => Some(o),
        };
        let recorded_at = match draft
            .recorded_at
            .as_deref()
            .map(DateTime::parse_from_rfc3339)
        {
            None => None,
            Some(Ok(t)) => Some(crate::envelope::truncate(t.with_timezone(&Utc))),
            Some(Err(_)) => {
                errors.push(FieldError::new("recorded_at", Reason::NotMoment));
                None
            }
        };
        if let Some(by) = &draft.recorded_by {
            if by.trim().is_empty() || by.chars().count() > MAX_AUTHOR_LEN {
                errors.push(FieldError::new(
                    "recorded_by",
                    Reason::AuthorLength {
                        max: MAX_AUTHOR_LEN,
                    },
                ));
            }
        }
        // Text is made canonical first (one name, one way); then checked as the current
        // version reads it, and kept as written at its version.
        kind.normalise(&mut draft.data);
        if kind.correction == Some(Correction::Amend) {
            catalog.normalise_replacement(&mut draft.data);
        }
        let data = canonical::to_vec(&draft.data);
        errors.extend(if version < kind.version {
            kind.validate_data(&kind.upcast(version, draft.data.clone()))
        } else {
            kind.validate_sized(&draft.data, data.len())
        });
        if !errors.is_empty() {
            return Err(Error::Invalid(errors));
        }
        Ok(Self {
            id_given: id.is_some(),
            id: id.unwrap_or_else(fresh_id),
            kind: kind.name.clone(),
            version,
            occurred,
            recorded_at,
            recorded_by: draft.recorded_by,
            correction: kind.correction_target(&draft.data),
            data,
        })
    }

    /// Makes an event the store writes itself (such as `import_completed`).
    pub fn system(
        catalog: &Catalog,
        kind: &str,
        occurred: Occurred,
        data: Value,
    ) -> Result<Self, Error> {
        let def = catalog.require_kind(kind)?;
        let errors = def.validate_data(&data);
        if !errors.is_empty() {
            return Err(Error::Invalid(errors));
        }
        Ok(Self {
            id: fresh_id(),
            id_given: false,
            kind: def.name.clone(),
            version: def.version,
            occurred: Some(occurred),
            recorded_at: None,
            recorded_by: None,
            correction: def.correction_target(&data),
            data: canonical::to_vec(&data),
        })
    }

    /// The event's id.
    pub fn id(&self) -> Uuid {
        self.id
    }
    /// The same event under an id its caller makes from the validated content (a
    /// spreadsheet row's id comes from its data's canonical bytes).
    pub fn with_id(mut self, id: Uuid) -> Self {
        self.id = id;
        self.id_given = true;
        self
    }
    /// Whether the caller chose the id (only then can a retry be recognised).
    pub fn id_given(&self) -> bool {
        self.id_given
    }
    /// The kind's name.
    pub fn kind(&self) -> &str {
        &self.kind
    }
    /// The schema version the data is written at.
    pub fn version(&self) -> u32 {
        self.version
    }
    /// When it happened; `None` only for corrections, which happen when recorded.
    pub fn occurred(&self) -> Option<Occurred> {
        self.occurred
    }
    /// A backfilled recording time, if the caller gave one.
    pub fn recorded_at(&self) -> Option<DateTime<Utc>> {
        self.recorded_at
    }
    /// The author the caller named, if any.
    pub fn recorded_by(&self) -> Option<&str> {
        self.recorded_by.as_deref()
    }
    /// The event as a person records it now: by `author`, at the store's clock. Front
    /// ends that authenticate their user call this, so that nobody records in another's
    /// name or at another moment (a draft's `recorded_at` and `recorded_by` are history
    /// brought in by the store's operator, never by a recorder).
    pub fn recorded_now_by(mut self, author: impl Into<String>) -> Self {
        self.recorded_by = Some(author.into());
        self.recorded_at = None;
        self
    }
    /// The fields, as written (read back from their canonical bytes).
    pub fn data(&self) -> Value {
        serde_json::from_slice(&self.data).expect("canonical JSON reads back")
    }
    /// The fields' canonical bytes: what the store hashes and writes.
    pub fn data_json(&self) -> &[u8] {
        &self.data
    }
    /// For corrections: what they do and the id they target.
    pub fn correction(&self) -> Option<(Correction, Uuid)> {
        self.correction
    }
}

/// A new UUIDv7. uuid's `fast-rng` draws its random bits from a generator seeded once
/// per thread, not from the operating system for every id.
fn fresh_id() -> Uuid {
    Uuid::now_v7()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn draft(kind: &str, occurred: Option<&str>, data: Value) -> Draft {
        Draft {
            kind: kind.into(),
            occurred: occurred.map(Into::into),
            data,
            ..Draft::default()
        }
    }

    #[test]
    fn fresh_ids_are_version_7_and_do_not_repeat() {
        let ids: std::collections::HashSet<Uuid> = (0..100_000).map(|_| fresh_id()).collect();
        assert_eq!(ids.len(), 100_000);
        let id = fresh_id();
        assert_eq!(id.get_version_num(), 7);
        assert_eq!(id.get_variant(), uuid::Variant::RFC4122);
        let other_thread = std::thread::spawn(fresh_id).join().unwrap();
        assert!(!ids.contains(&other_thread) && other_thread != id);
    }

    #[test]
    fn an_unknown_kind_names_the_known_ones() {
        let err = NewEvent::parse(
            &Catalog::embedded(),
            draft("party_thrown", Some("2023-01-01"), json!({})),
        )
        .unwrap_err();
        assert!(err.to_string().contains("unknown kind 'party_thrown'"));
        assert!(err.to_string().contains("class_held"));
    }

    #[test]
    fn a_one_day_kind_refuses_a_range() {
        let err = NewEvent::parse(
            &Catalog::embedded(),
            draft(
                "meeting_held",
                Some("2023-01-01..2023-01-02"),
                json!({"type": "school_committee"}),
            ),
        )
        .unwrap_err();
        assert!(err
            .to_string()
            .contains("occurred: meeting_held happens on one day"));
    }

    #[test]
    fn corrections_need_no_date_but_activities_do() {
        let c = Catalog::embedded();
        let void = draft(
            "event_voided",
            None,
            json!({"target": Uuid::now_v7().to_string(), "reason": "dup"}),
        );
        assert!(NewEvent::parse(&c, void).is_ok());
        let err = NewEvent::parse(
            &c,
            draft("election_completed", None, json!({"branch": "机关支部"})),
        )
        .unwrap_err();
        assert!(err.to_string().contains("occurred: is required"));
    }

    #[test]
    fn system_kinds_cannot_be_submitted() {
        let d = draft(
            "import_completed",
            Some("2023-01-01"),
            json!({"file_sha256": "x", "lines": 1, "added": 1}),
        );
        assert!(NewEvent::parse(&Catalog::embedded(), d)
            .unwrap_err()
            .to_string()
            .contains("written by Annals"));
    }
}
