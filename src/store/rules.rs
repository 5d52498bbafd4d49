//! The store's own checks of one event against the log as staged so far. Every way in
//! (a recorded draft, an import, a restore of an export) goes through the same ones, so
//! no entrance can skip a check another makes (issue 13).
use chrono::{DateTime, TimeDelta, Utc};
use events::{catalog::KindDef, Catalog, FieldError, Reason};
use uuid::Uuid;

/// How far past the store's clock a recording time may be: an export made on another
/// machine carries that machine's clock, which may run a little ahead.
pub const CLOCK_SKEW: TimeDelta = TimeDelta::minutes(5);

/// Who wrote the event being checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writer {
    /// A person, through any front end: system kinds are refused.
    Person,
    /// An export of a log being restored, whose system records Annals itself wrote.
    Restore,
}

/// What the log says of an event a correction targets.
#[derive(Debug, Clone, Copy)]
pub struct Known {
    /// Where it is.
    pub seq: u64,
    /// Whether a void of it is already in the log.
    pub voided: bool,
    /// Whether it is itself a correction.
    pub correction: bool,
    /// Whether Annals wrote it (`import_completed`).
    pub system: bool,
}

/// The kind's definition, if the catalog has the kind at that version and `writer` may
/// write it.
pub fn kind<'c>(
    catalog: &'c Catalog,
    kind: &str,
    version: u32,
    writer: Writer,
) -> Result<&'c KindDef, FieldError> {
    let def = catalog.require_kind(kind)?;
    if def.system && writer == Writer::Person {
        return Err(FieldError::new(
            "kind",
            Reason::SystemKind {
                kind: kind.to_owned(),
            },
        ));
    }
    if version == 0 || version > def.version {
        return Err(FieldError::new(
            "version",
            Reason::BadVersion {
                max: def.version,
                kind: kind.to_owned(),
            },
        ));
    }
    Ok(def)
}

/// The recording time an event takes: the one it carries, if it is neither before the
/// last event's nor past the clock (with [`CLOCK_SKEW`]); else the clock, never before
/// the last event's.
pub fn recorded_at(
    given: Option<DateTime<Utc>>,
    last: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, FieldError> {
    match given {
        Some(t) if t > now + CLOCK_SKEW => Err(FieldError::new(
            "recorded_at",
            Reason::RecordedInFuture { at: t.to_string() },
        )),
        Some(t) if last.is_some_and(|l| t < l) => Err(FieldError::new(
            "recorded_at",
            Reason::RecordedBeforeLast {
                at: t.to_string(),
                last: last.unwrap_or(t).to_string(),
            },
        )),
        Some(t) => Ok(t),
        None => Ok(last.map_or(now, |l| l.max(now))),
    }
}

/// The target of a correction, if it may be corrected: it exists, is not voided, and is
/// neither a correction nor a system record.
pub fn target(target: Uuid, known: Option<Known>) -> Result<Known, FieldError> {
    let refuse = |reason: Reason| Err(FieldError::new("data.target", reason));
    let id = target.to_string();
    match known {
        None => refuse(Reason::NoSuchTarget { id }),
        Some(k) if k.voided => refuse(Reason::AlreadyVoided { id }),
        Some(k) if k.correction || k.system => refuse(Reason::TargetIsCorrection { id }),
        Some(k) => Ok(k),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        Catalog::embedded()
    }

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn a_person_cannot_write_a_system_kind_but_a_restore_can() {
        let c = catalog();
        let refused = kind(&c, "import_completed", 1, Writer::Person).unwrap_err();
        assert_eq!(refused.field, "kind");
        assert!(kind(&c, "import_completed", 1, Writer::Restore).is_ok());
    }

    #[test]
    fn a_version_the_catalog_does_not_have_is_refused() {
        let c = catalog();
        let current = c.kind("meeting_held").unwrap().version;
        for v in [0, current + 1, u32::MAX] {
            let e = kind(&c, "meeting_held", v, Writer::Restore).unwrap_err();
            assert_eq!(e.field, "version", "{v}");
        }
        assert!(kind(&c, "no_such_kind", 1, Writer::Restore).is_err());
    }

    #[test]
    fn a_recording_time_may_not_run_back_or_ahead_of_the_clock() {
        let now = at("2026-12-06T12:00:00Z");
        let last = Some(at("2026-12-01T00:00:00Z"));
        let early = recorded_at(Some(at("2026-11-30T00:00:00Z")), last, now);
        assert_eq!(early.unwrap_err().field, "recorded_at");
        let far = recorded_at(Some(at("2099-01-01T00:00:00Z")), last, now);
        assert!(far.unwrap_err().reason.to_string().contains("future"));
        let skewed = now + CLOCK_SKEW;
        assert_eq!(recorded_at(Some(skewed), last, now).unwrap(), skewed);
        assert!(recorded_at(Some(skewed + TimeDelta::seconds(1)), last, now).is_err());
        assert_eq!(recorded_at(None, last, now).unwrap(), now);
        // A clock that ran back never makes the log's time run back.
        let ahead = now + TimeDelta::minutes(1);
        assert_eq!(recorded_at(None, Some(ahead), now).unwrap(), ahead);
    }

    #[test]
    fn only_a_live_original_may_be_corrected() {
        let id = Uuid::from_u128(7);
        let live = Known {
            seq: 3,
            voided: false,
            correction: false,
            system: false,
        };
        assert_eq!(target(id, Some(live)).unwrap().seq, 3);
        for k in [
            None,
            Some(Known {
                voided: true,
                ..live
            }),
            Some(Known {
                correction: true,
                ..live
            }),
            Some(Known {
                system: true,
                ..live
            }),
        ] {
            assert_eq!(target(id, k).unwrap_err().field, "data.target");
        }
    }
}
