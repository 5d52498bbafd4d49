//! Likely repeats: the live event a new one matches on its kind's identity (the dates
//! and the fields the catalog names, such as a class's id and session), so that every
//! front end can hold a second recording of the same happening back and ask first.
use events::{catalog::KindDef, Occurred};
use serde_json::Value;
use uuid::Uuid;

use crate::facts::{Day, Fact, Facts};

/// The earliest live (not voided) event of `def`'s kind that occurred on the same dates
/// and holds the same values in each of the kind's identity fields, as last corrected.
/// An event with the id `except` is never a match: it is the one being sent again.
/// Kinds without an identity have no likely repeats.
///
/// ```
/// let catalog = events::Catalog::embedded();
/// let def = catalog.kind("class_held").unwrap();
/// let facts = projections::facts::Facts::default();
/// let data = serde_json::json!({"class_id": "2023-ZT01", "session": 1});
/// let day = events::Occurred::on(chrono::NaiveDate::from_ymd_opt(2023, 3, 6).unwrap());
/// assert!(projections::same::live_match(&facts, def, day, &data, None).is_none());
/// ```
pub fn live_match<'a>(
    facts: &'a Facts,
    def: &KindDef,
    occurred: Occurred,
    data: &Value,
    except: Option<Uuid>,
) -> Option<Fact<'a>> {
    if def.identity.is_empty() {
        return None;
    }
    let day = occurred.start();
    facts
        .of_kind_in(&def.name, Day::Start, day, day)
        .flatten()
        .filter(|f| f.occurred() == occurred && Some(f.id()) != except)
        .filter(|f| {
            f.latest().is_some_and(|now| {
                def.identity
                    .iter()
                    .all(|field| match (now.get(field), data.get(field)) {
                        (Some(held), Some(new)) => held == *new,
                        (None, None) => true,
                        _ => false,
                    })
            })
        })
        .min_by_key(|f| f.seq())
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeZone, Utc};
    use events::{Catalog, Envelope, GENESIS};
    use serde_json::{json, Value};
    use uuid::Uuid;

    use super::live_match;
    use crate::facts::Facts;

    fn event(log: &mut Vec<Envelope>, kind: &str, occurred: &str, data: Value) -> Uuid {
        let id = Uuid::now_v7();
        log.push(Envelope {
            id,
            seq: log.len() as u64 + 1,
            kind: kind.into(),
            version: 1,
            occurred: occurred.parse().unwrap(),
            recorded_at: Utc.with_ymd_and_hms(2023, 7, 1, 0, 0, 0).unwrap(),
            recorded_by: "办公室".into(),
            data,
            prev_hash: GENESIS,
            hash: GENESIS,
        });
        id
    }

    fn class(session: u64, trainees: u64) -> Value {
        json!({"class_id": "2023-ZT01", "class_name": "主体班", "category": "main",
               "session": session, "trainees": trainees})
    }

    fn range(from: (i32, u32, u32), to: (i32, u32, u32)) -> events::Occurred {
        let day = |(y, m, d)| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        events::Occurred::range(day(from), day(to)).unwrap()
    }

    #[test]
    fn a_class_session_recorded_twice_is_a_likely_repeat_whatever_its_other_fields() {
        let catalog = Catalog::embedded();
        let def = catalog.kind("class_held").unwrap();
        let mut log = Vec::new();
        event(
            &mut log,
            "class_held",
            "2023-03-06..2023-03-10",
            class(1, 40),
        );
        let facts = Facts::from_log(&log);
        let when = range((2023, 3, 6), (2023, 3, 10));
        let found = live_match(&facts, def, when, &class(1, 41), None).expect("a repeat");
        assert_eq!(found.seq(), 1);
        assert!(
            live_match(&facts, def, when, &class(2, 40), None).is_none(),
            "another session is another happening"
        );
        let other_days = range((2023, 3, 13), (2023, 3, 17));
        assert!(live_match(&facts, def, other_days, &class(1, 40), None).is_none());
        assert!(
            live_match(&facts, def, when, &class(1, 40), Some(log[0].id)).is_none(),
            "the same event sent again is not its own repeat"
        );
    }

    #[test]
    fn a_voided_event_is_no_longer_matched_and_an_amended_one_is_matched_as_amended() {
        let catalog = Catalog::embedded();
        let def = catalog.kind("class_held").unwrap();
        let mut log = Vec::new();
        let first = event(&mut log, "class_held", "2023-03-06", class(1, 40));
        let second = event(&mut log, "class_held", "2023-03-07", class(1, 40));
        event(
            &mut log,
            "event_voided",
            "2023-07-01",
            json!({"target": first.to_string(), "reason": "录错"}),
        );
        event(
            &mut log,
            "event_amended",
            "2023-07-01",
            json!({"target": second.to_string(), "reason": "期次", "data": class(2, 40)}),
        );
        let facts = Facts::from_log(&log);
        let day = |d| events::Occurred::on(NaiveDate::from_ymd_opt(2023, 3, d).unwrap());
        assert!(live_match(&facts, def, day(6), &class(1, 40), None).is_none());
        assert!(live_match(&facts, def, day(7), &class(1, 40), None).is_none());
        assert_eq!(
            live_match(&facts, def, day(7), &class(2, 40), None).map(|f| f.seq()),
            Some(2)
        );
    }

    #[test]
    fn a_kind_without_an_identity_has_no_repeats() {
        let catalog = Catalog::embedded();
        let def = catalog.kind("target_set").unwrap();
        let mut log = Vec::new();
        let data = json!({"year": 2023, "metric": "main_classes", "value": 17});
        event(&mut log, "target_set", "2023-01-05", data.clone());
        let facts = Facts::from_log(&log);
        let day = events::Occurred::on(NaiveDate::from_ymd_opt(2023, 1, 5).unwrap());
        assert!(live_match(&facts, def, day, &data, None).is_none());
    }
}
