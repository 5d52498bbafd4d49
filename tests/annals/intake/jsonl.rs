//! The JSONL file format through the library: all-or-nothing imports that name each bad
//! line, idempotent re-imports, exact restores, backfilled times and chain checks.
use annals::{
    intake::{jsonl::verify_file, IntakeError, Mode},
    store::Filter,
};
use chrono::{DateTime, Duration, Utc};
use events::{Envelope, Hash};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{catalog, class_with, jsonl, meeting, scan, void, TestStore, AUTHOR};

/// The number of event lines in the example dataset.
fn example_lines() -> usize {
    annals::EXAMPLE_DATASET
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count()
}

/// The line errors of a refused import, as `LINE: field: reason` strings.
fn line_errors(result: Result<annals::intake::Outcome, IntakeError>) -> Vec<String> {
    match result {
        Err(IntakeError::Refused(lines)) => lines.iter().map(ToString::to_string).collect(),
        other => panic!("expected line errors, got {other:?}"),
    }
}

fn assert_has(errors: &[String], line: usize, prefix_and_reason: &str) {
    let wanted = format!("{line}: {prefix_and_reason}");
    assert!(
        errors.iter().any(|e| e.starts_with(&wanted)),
        "no error starting with {wanted:?} in {errors:#?}"
    );
}

fn of_kind(s: &TestStore, kind: &str) -> Vec<Envelope> {
    scan(
        &s.store,
        Filter {
            kind: Some(kind.into()),
            ..Filter::default()
        },
    )
}

/// The export with the last digit of the first class's trainee count changed, and the
/// 1-based line that was changed.
fn hand_edited(export: &[u8]) -> (Vec<u8>, usize) {
    let text = std::str::from_utf8(export).unwrap();
    let (index, line) = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains("\"trainees\":"))
        .expect("the export holds a class");
    let start = line.find("\"trainees\":").unwrap() + "\"trainees\":".len();
    let end = start + line[start..].find(|c: char| !c.is_ascii_digit()).unwrap();
    let digit = line.as_bytes()[end - 1];
    let changed = b'0' + (digit - b'0' + 1) % 10;
    let mut edited = line.as_bytes().to_vec();
    edited[end - 1] = changed;
    let mut lines: Vec<Vec<u8>> = text.lines().map(|l| l.as_bytes().to_vec()).collect();
    lines[index] = edited;
    let mut out = lines.join(&b'\n');
    out.push(b'\n');
    (out, index + 1)
}

// ---------------------------------------------------------------------------------
// The example dataset, idempotency and import_completed
// ---------------------------------------------------------------------------------

#[test]
fn importing_the_example_adds_every_line_and_ends_with_one_import_completed() {
    // Hash::of is SHA-256: the FIPS 180-2 test vector.
    assert_eq!(
        Hash::of(b"abc").to_string(),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    let lines = example_lines();
    assert!(lines > 100, "the example dataset is there ({lines} lines)");

    let s = TestStore::new();
    let outcome = s.import(annals::EXAMPLE_DATASET.as_bytes()).unwrap();
    assert_eq!(
        (outcome.mode, outcome.lines, outcome.added, outcome.existing),
        (Mode::Appended, lines, lines, 0)
    );

    let events = s.events();
    assert_eq!(events.len(), lines + 1);
    let completed = of_kind(&s, "import_completed");
    assert_eq!(completed.len(), 1);
    let last = events.last().unwrap();
    assert_eq!(completed[0], *last, "the import ends with it");
    assert_eq!(
        last.data["file_sha256"],
        json!(Hash::of(annals::EXAMPLE_DATASET.as_bytes()).to_string())
    );
    assert_eq!(last.data["lines"], json!(lines));
    assert_eq!(last.data["added"], json!(lines));
    assert_eq!(last.data["file_name"], json!("test.jsonl"));
    assert_eq!(last.recorded_by, AUTHOR);

    // Each line's own id, recording time and author are kept.
    for (line, e) in annals::EXAMPLE_DATASET
        .lines()
        .filter(|l| !l.trim().is_empty())
        .zip(&events)
    {
        let draft: Value = serde_json::from_str(line).unwrap();
        assert_eq!(draft["id"], json!(e.id.to_string()));
        let at = DateTime::parse_from_rfc3339(draft["recorded_at"].as_str().unwrap()).unwrap();
        assert_eq!(at, e.recorded_at);
        assert_eq!(draft["recorded_by"], json!(e.recorded_by));
    }
    assert_eq!(s.store.verify().unwrap().unwrap().count, lines as u64 + 1);
}

#[test]
fn reimporting_the_example_writes_nothing_and_keeps_the_head_hash() {
    let s = TestStore::with_example();
    let head = s.store.head().unwrap();

    let outcome = s.import(annals::EXAMPLE_DATASET.as_bytes()).unwrap();
    assert_eq!(outcome.mode, Mode::Unchanged);
    assert_eq!((outcome.added, outcome.existing), (0, example_lines()));
    assert_eq!(s.store.head().unwrap(), head);
    assert_eq!(
        of_kind(&s, "import_completed").len(),
        1,
        "no second import_completed"
    );
}

#[test]
fn an_import_that_adds_events_ends_with_import_completed_holding_the_files_hash_and_line_count() {
    let s = TestStore::with_example();
    // A blank line is not an event line.
    let file = [
        jsonl(&[meeting("2023-07-03")]),
        b"\n".to_vec(),
        jsonl(&[meeting("2023-07-04")]),
    ]
    .concat();
    let outcome = s.import(&file).unwrap();
    assert_eq!(
        (outcome.mode, outcome.lines, outcome.added),
        (Mode::Appended, 2, 2)
    );

    let completed = of_kind(&s, "import_completed");
    assert_eq!(completed.len(), 2);
    let last = s.events().pop().unwrap();
    assert_eq!(last, completed[1]);
    assert_eq!(last.data["file_sha256"], json!(Hash::of(&file).to_string()));
    assert_eq!(
        (last.data["lines"].clone(), last.data["added"].clone()),
        (json!(2), json!(2))
    );
}

// ---------------------------------------------------------------------------------
// Export, restore and the chain check
// ---------------------------------------------------------------------------------

#[test]
fn an_export_imported_into_an_empty_store_exports_identical_bytes() {
    let a = TestStore::with_example();
    let exported = a.export();

    let b = TestStore::new();
    let outcome = b.import(&exported).unwrap();
    assert_eq!(outcome.mode, Mode::Restored);
    assert_eq!(outcome.added, example_lines() + 1);
    assert_eq!(
        b.export(),
        exported,
        "export, import, export gives the same bytes"
    );

    // Seq, times, authors and hashes are kept, event by event.
    let (in_a, in_b) = (a.events(), b.events());
    assert_eq!(in_a, in_b);
    assert_eq!(b.store.head().unwrap(), a.store.head().unwrap());
    assert_eq!(
        b.store.verify().unwrap().unwrap().head_hash,
        a.store.head().unwrap().hash
    );
}

#[test]
fn a_restore_adds_no_import_completed() {
    let a = TestStore::with_example();
    let exported = a.export();
    let b = TestStore::new();
    b.import(&exported).unwrap();
    let (from_a, from_b) = (
        of_kind(&a, "import_completed"),
        of_kind(&b, "import_completed"),
    );
    assert_eq!(
        from_b, from_a,
        "only the original's record, none for the restore"
    );

    // Importing the export into its own store again writes nothing either.
    let outcome = a.import(&exported).unwrap();
    assert_eq!(outcome.mode, Mode::Unchanged);
    assert_eq!(of_kind(&a, "import_completed").len(), 1);
}

#[test]
fn a_partial_restore_is_completed_by_importing_the_whole_export() {
    let a = TestStore::with_example();
    let exported = a.export();
    let first_half: Vec<u8> = {
        let text = String::from_utf8(exported.clone()).unwrap();
        text.lines()
            .take(100)
            .flat_map(|l| [l.as_bytes(), b"\n"].concat())
            .collect()
    };
    let b = TestStore::new();
    assert_eq!(b.import(&first_half).unwrap().added, 100);
    let outcome = b.import(&exported).unwrap();
    assert_eq!((outcome.mode, outcome.existing), (Mode::Restored, 100));
    assert_eq!(b.export(), exported);
}

#[test]
fn a_hand_edited_export_fails_the_chain_check_naming_the_line_and_writes_nothing() {
    let a = TestStore::with_example();
    let (edited, line) = hand_edited(&a.export());

    let b = TestStore::new();
    let errors = line_errors(b.import(&edited));
    assert_eq!(errors.len(), 1, "{errors:#?}");
    // In a whole export, line N holds seq N.
    assert_has(
        &errors,
        line,
        &format!("hash: seq {line}: content does not match its hash"),
    );
    assert_eq!(b.head_seq(), 0);
    assert!(b.events().is_empty());
}

#[test]
fn verify_file_names_the_seq_of_a_hand_edited_event() {
    let a = TestStore::with_example();
    let exported = a.export();
    let (count, head) = verify_file(&catalog(), &exported).expect("the untouched export verifies");
    assert_eq!((count, head), (a.head_seq(), a.store.head().unwrap().hash));

    let (edited, line) = hand_edited(&exported);
    let err = verify_file(&catalog(), &edited).expect_err("the edited export must not verify");
    assert!(
        err.to_string()
            .contains(&format!("seq {line}: content does not match its hash")),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------
// Bad lines: every one named as `LINE: field: reason`, nothing written
// ---------------------------------------------------------------------------------

/// A store holding one event, to show that a refused import leaves it as it was.
fn store_with_one_event() -> TestStore {
    let s = TestStore::new();
    s.record(meeting("2023-03-01"));
    s
}

#[test]
fn an_invalid_utf8_line_is_refused_naming_its_line() {
    let s = store_with_one_event();
    let mut file = jsonl(&[meeting("2023-03-02")]);
    file.extend_from_slice(b"{\"kind\":\"meeting_held\",\"occurred\":\"2023-03-03\",\"data\":{\"type\":\"\xff\xfe\"}}\n");
    file.extend_from_slice(&jsonl(&[meeting("2023-03-04")]));
    let errors = line_errors(s.import(&file));
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_has(&errors, 2, "line: is not valid UTF-8");
    assert_eq!(s.head_seq(), 1);
}

#[test]
fn a_broken_json_line_is_refused_naming_its_line() {
    let s = store_with_one_event();
    let mut file = jsonl(&[meeting("2023-03-02"), meeting("2023-03-03")]);
    file.extend_from_slice(b"{\"kind\": \"meeting_held\", \"occurred\":\n");
    let errors = line_errors(s.import(&file));
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_has(&errors, 3, "line: is not valid JSON");
    assert_eq!(s.head_seq(), 1);
}

#[test]
fn an_import_with_several_bad_lines_lists_every_one_and_writes_nothing() {
    let s = store_with_one_event();
    let mut file = jsonl(&[
        meeting("2023-03-02"),
        json!({"kind": "party_thrown", "occurred": "2023-03-03", "data": {}}),
        meeting("2023-03-04"),
        meeting("2023-02-30"),
    ]);
    file.extend_from_slice(b"not json at all\n");
    file.extend_from_slice(&jsonl(&[
        class_with(
            "2023-03-06..2023-03-10",
            json!({"trainees": 100_001, "colour": "red"}),
        ),
        meeting("2023-03-11"),
    ]));
    let result = s.import(&file);
    let message = result
        .as_ref()
        .err()
        .map(ToString::to_string)
        .unwrap_or_default();
    let errors = line_errors(result);
    assert_has(&errors, 2, "kind: unknown kind 'party_thrown'");
    assert_has(&errors, 4, "occurred: '2023-02-30' is not a real date");
    assert_has(&errors, 5, "line: is not valid JSON");
    assert_has(&errors, 6, "data.colour: is not a field of class_held");
    assert_has(
        &errors,
        6,
        "data.trainees: must be between 0 and 100000, not 100001",
    );
    assert_eq!(errors.len(), 5, "{errors:#?}");
    // The message lists them one a line, as the CLI prints it.
    assert!(
        message.starts_with("5 problem(s) found; nothing was imported:\n"),
        "{message}"
    );
    for e in &errors {
        assert!(message.lines().any(|l| l == e), "{message} should list {e}");
    }
    assert_eq!(s.head_seq(), 1);
    assert_eq!(of_kind(&s, "import_completed").len(), 0);
}

#[test]
fn a_duplicate_id_with_different_content_in_an_import_is_a_conflict_naming_the_line() {
    let s = TestStore::new();
    let id = Uuid::now_v7();
    let mut original = meeting("2023-03-01");
    original["id"] = json!(id);
    s.record(original.clone());

    let mut changed = original;
    changed["data"]["attendees"] = json!(12);
    let errors = line_errors(s.import(&jsonl(&[meeting("2023-03-02"), changed])));
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_has(
        &errors,
        2,
        &format!("id: {id} already exists at seq 1 with different content"),
    );
    assert_eq!(s.head_seq(), 1);
}

#[test]
fn a_correction_of_a_missing_event_in_an_import_names_its_line() {
    let s = store_with_one_event();
    let missing = Uuid::now_v7();
    let errors = line_errors(s.import(&jsonl(&[meeting("2023-03-02"), void(missing)])));
    assert_has(
        &errors,
        2,
        &format!("data.target: there is no event {missing} to correct"),
    );
    assert_eq!(s.head_seq(), 1);
}

#[test]
fn a_correction_may_target_an_earlier_line_of_the_same_file() {
    let s = TestStore::new();
    let id = Uuid::now_v7();
    let mut original = meeting("2023-03-02");
    original["id"] = json!(id);
    let outcome = s.import(&jsonl(&[original, void(id)])).unwrap();
    assert_eq!(outcome.added, 2);
    assert_eq!(s.store.corrections_of(id).unwrap().len(), 1);
}

// ---------------------------------------------------------------------------------
// History brought in from paper: backfilled recorded_at
// ---------------------------------------------------------------------------------

fn at(mut draft: Value, recorded_at: &str) -> Value {
    draft["recorded_at"] = json!(recorded_at);
    draft
}

#[test]
fn a_draft_line_recorded_before_the_head_is_refused() {
    // The head was recorded now; history from 2023 can no longer be slipped in before it.
    let s = store_with_one_event();
    let errors = line_errors(s.import(&jsonl(&[at(
        meeting("2023-03-02"),
        "2023-03-02T17:00:00+08:00",
    )])));
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_has(
        &errors,
        1,
        "recorded_at: 2023-03-02 09:00:00 UTC is earlier than the event before it",
    );
    assert_eq!(s.head_seq(), 1);
}

#[test]
fn a_draft_line_recorded_in_the_future_is_refused() {
    let s = store_with_one_event();
    let tomorrow = (Utc::now() + Duration::days(1)).to_rfc3339();
    let errors = line_errors(s.import(&jsonl(&[
        meeting("2023-03-02"),
        at(meeting("2023-03-03"), &tomorrow),
    ])));
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_has(&errors, 2, "recorded_at:");
    assert!(errors[0].ends_with("is in the future"), "{errors:#?}");
    assert_eq!(s.head_seq(), 1);
}

#[test]
fn draft_lines_recorded_out_of_order_are_refused_naming_the_later_line() {
    let s = TestStore::new();
    let errors = line_errors(s.import(&jsonl(&[
        at(meeting("2023-03-01"), "2023-03-02T09:00:00+08:00"),
        at(meeting("2023-03-01"), "2023-03-01T18:00:00+08:00"),
    ])));
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_has(
        &errors,
        2,
        "recorded_at: 2023-03-01 10:00:00 UTC is earlier than the event before it",
    );
    assert_eq!(s.head_seq(), 0);
}

#[test]
fn backfilled_lines_keep_their_times_and_the_import_is_marked_as_recorded_now() {
    let s = TestStore::new();
    let before = Utc::now();
    s.import(&jsonl(&[
        at(meeting("2023-03-01"), "2023-03-01T18:00:00+08:00"),
        at(meeting("2023-03-02"), "2023-03-02T09:00:00+08:00"),
    ]))
    .unwrap();
    let events = s.events();
    assert_eq!(
        events[0].recorded_at,
        DateTime::parse_from_rfc3339("2023-03-01T18:00:00+08:00").unwrap()
    );
    assert_eq!(
        events[1].recorded_at,
        DateTime::parse_from_rfc3339("2023-03-02T09:00:00+08:00").unwrap()
    );
    assert_eq!(events[2].kind, "import_completed");
    assert!(
        events[2].recorded_at >= before - Duration::seconds(1),
        "{}",
        events[2].recorded_at
    );
}

/// A file of drafts big enough that the store stages it in several pieces and writes
/// part of its frame to the file before the end (over 8 MiB), with ids given.
fn big_file(n: usize) -> (Vec<Value>, Vec<Uuid>) {
    let ids: Vec<Uuid> = (0..n)
        .map(|i| Uuid::from_u128(0xB16_0000 + i as u128))
        .collect();
    let lines = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let mut line = class_with(
                &format!("2023-{:02}-{:02}", 1 + i % 12, 1 + i % 28),
                json!({"session": 1 + i % 40, "class_name": format!("第{i}期全县科级干部进修班（长名称以占满记录）")}),
            );
            line["id"] = json!(id.to_string());
            line
        })
        .collect();
    (lines, ids)
}

#[test]
fn issue_5_a_streamed_import_refused_at_its_last_line_writes_nothing_and_the_store_reopens_clean() {
    let s = TestStore::new();
    let before = s.try_record(meeting("2023-01-03")).unwrap();
    let (mut lines, _) = big_file(40_000);
    // The last line reuses the recorded meeting's id with other content: only the
    // store can find that, after everything before it was staged (and partly written).
    let mut clash = meeting("2023-02-03");
    clash["id"] = json!(before.id.to_string());
    lines.push(clash);
    let file = jsonl(&lines);
    assert!(
        file.len() > 8 << 20,
        "the file is big enough to be written early"
    );
    let errors = line_errors(s.import(&file));
    assert_has(&errors, 40_001, "id: ");
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(s.head_seq(), 1, "nothing of the import was written");

    // The store goes on: the next append chains onto the head, and after a reopen the
    // file holds exactly the two events, verified, with nothing cut off as torn.
    let after = s.try_record(meeting("2023-03-03")).unwrap();
    assert_eq!(after.seq, 2);
    let dir = s.close();
    crate::helpers::assert_log_holds_only(dir.path(), 2);
    let store = crate::helpers::open(dir.path());
    assert_eq!(store.head_seq(), 2);
    assert_eq!(store.verify().unwrap().unwrap().count, 2);
}

#[test]
fn issue_5_a_streamed_import_with_bad_lines_lists_every_one_and_writes_nothing() {
    let s = TestStore::new();
    let (mut lines, _) = big_file(20_000);
    lines[3]["data"]["trainees"] = json!(-1);
    lines[19_998]["occurred"] = json!("2023-02-30");
    let errors = line_errors(s.import(&jsonl(&lines)));
    assert_has(&errors, 4, "data.trainees: ");
    assert_has(&errors, 19_999, "occurred: ");
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert_eq!(s.head_seq(), 0);
}

#[test]
fn issue_5_a_streamed_import_writes_every_event_and_its_import_record() {
    let s = TestStore::new();
    let (lines, ids) = big_file(20_000);
    let outcome = s.import(&jsonl(&lines)).unwrap();
    assert_eq!(outcome.mode, Mode::Appended);
    assert_eq!((outcome.lines, outcome.added), (20_000, 20_000));
    assert_eq!(outcome.written, Some([1, 20_001]));
    let events = s.events();
    assert_eq!(events.len(), 20_001);
    assert!(events.iter().zip(&ids).all(|(e, id)| e.id == *id));
    assert_eq!(events[20_000].kind, "import_completed");
    assert_eq!(events[20_000].data["added"], json!(20_000));
    // Again: every line is already there, nothing is written.
    let again = s.import(&jsonl(&lines)).unwrap();
    assert_eq!(again.mode, Mode::Unchanged);
    assert_eq!(s.head_seq(), 20_001);
}

/// Issue 14: an import larger than one sled transaction (its events go to sled a chunk
/// at a time while it is staged) that the store refuses at its last event leaves
/// nothing behind, in the open store or in sled's files, and the store goes on.
#[test]
fn issue_14_an_import_of_many_chunks_refused_at_its_end_leaves_nothing() {
    let s = TestStore::new();
    let mut lines: Vec<Value> = (0..3_000)
        .map(|i| meeting(&format!("2023-03-{:02}", 1 + i % 28)))
        .collect();
    lines.push(void(Uuid::from_u128(77)));
    match s.import(&jsonl(&lines)) {
        Err(IntakeError::Refused(errors)) => {
            assert_eq!(errors.total(), 1, "{errors:?}");
            let errors = errors.listed();
            assert_eq!(
                (&errors[0].at, errors[0].field.as_str()),
                (&annals::intake::At::Line(3_001), "data.target")
            );
        }
        other => panic!("expected the last line refused, got {other:?}"),
    }
    assert_eq!(s.head_seq(), 0, "nothing of it was written");
    let outcome = s.import(&jsonl(&lines[..50])).unwrap();
    assert_eq!(outcome.added, 50);
    assert_eq!(s.store.verify().unwrap().unwrap().count, 51);
    let dir = s.close();
    crate::helpers::assert_log_holds_only(dir.path(), 51);
}

/// A restored export is not held to a draft's limit on the author's length; the stored
/// record keeps all of it (it used to cut authors past 65 535 bytes, which the hash
/// covers, so the store could not read the event back or reopen).
#[test]
fn issue_5_a_restored_event_with_a_very_long_author_is_kept_whole() {
    let long = "办公室".repeat(30_000);
    let e = Envelope {
        id: Uuid::from_u128(42),
        seq: 1,
        kind: "meeting_held".into(),
        version: 1,
        occurred: "2023-03-01".parse().unwrap(),
        recorded_at: "2023-03-01T09:00:00Z".parse().unwrap(),
        recorded_by: long.clone(),
        data: json!({"type": "school_committee"}),
        prev_hash: Hash([0; 32]),
        hash: Hash([0; 32]),
    }
    .sealed();
    let s = TestStore::new();
    let outcome = s
        .import(&jsonl(&[serde_json::to_value(&e).unwrap()]))
        .unwrap();
    assert_eq!(outcome.mode, Mode::Restored);
    let dir = s.close();
    let store = crate::helpers::open(dir.path());
    assert_eq!(store.verify().unwrap().unwrap().count, 1);
    assert_eq!(store.get_seq(1).unwrap().unwrap().recorded_by, long);
}
