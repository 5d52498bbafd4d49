//! The `annals` binary, run as a school office would run it, against temporary stores;
//! its tables line up with Chinese text (`tables`).
mod tables;

use std::{
    io::{BufRead, BufReader},
    process::Stdio,
    time::Duration,
};

use events::Envelope;
use serde_json::{json, Value};

use crate::helpers::{annals, bare_annals, catalog, open, run, tamper, TestStore};

/// Writes the example dataset to a file in `dir` and returns its path.
fn example_file(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("school-2023h1.jsonl");
    std::fs::write(&path, annals::EXAMPLE_DATASET).unwrap();
    path
}

fn example_lines() -> u64 {
    annals::EXAMPLE_DATASET
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count() as u64
}

/// The events `annals log --json` prints, one envelope per line.
fn log_json(store: &std::path::Path, filters: &[&str]) -> Vec<Envelope> {
    let out = run(annals(store).args(["log", "--json"]).args(filters)).ok();
    out.stdout
        .lines()
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?} is not an envelope: {e}"))
        })
        .collect()
}

const CLASS: &[&str] = &[
    "record",
    "class_held",
    "--occurred",
    "2023-03-06..2023-03-10",
    "--set",
    "class_id=2023-ZT-01",
    "--set",
    "class_name=全县科级干部进修班",
    "--set",
    "category=主体班",
    "--set",
    "session=1",
    "--set",
    "trainees=45",
    "--set",
    "methods=讲授式、案例式",
];

#[test]
fn record_with_set_accepts_a_chinese_enum_label_and_stores_its_value() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(annals(dir.path()).args(["--by", "教务科"]).args(CLASS)).ok();
    assert!(out.stdout.contains("seq 1"), "{out:#?}");

    let events = log_json(dir.path(), &[]);
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(
        (e.seq, e.kind.as_str(), e.recorded_by.as_str()),
        (1, "class_held", "教务科")
    );
    assert_eq!(e.occurred.to_string(), "2023-03-06..2023-03-10");
    assert_eq!(
        e.data,
        json!({"class_id": "2023-ZT-01", "class_name": "全县科级干部进修班", "category": "main",
            "session": 1, "trainees": 45, "methods": ["讲授式", "案例式"]})
    );
}

#[test]
fn log_json_prints_one_envelope_a_line_and_applies_its_filters() {
    let dir = tempfile::tempdir().unwrap();
    run(annals(dir.path()).args(CLASS)).ok();
    for day in ["2023-03-08", "2023-04-12"] {
        run(annals(dir.path()).args([
            "record",
            "meeting_held",
            "--occurred",
            day,
            "--set",
            "type=校委会",
        ]))
        .ok();
    }
    let seqs = |filters: &[&str]| {
        log_json(dir.path(), filters)
            .iter()
            .map(|e| e.seq)
            .collect::<Vec<_>>()
    };
    assert_eq!(seqs(&[]), [1, 2, 3]);
    assert_eq!(seqs(&["--kind", "meeting_held"]), [2, 3]);
    assert_eq!(seqs(&["--from", "2023-03-10", "--to", "2023-03-31"]), [1]);
    assert_eq!(seqs(&["--since-seq", "2", "--limit", "1"]), [2]);
    let all = log_json(dir.path(), &[]);
    assert_eq!(all[1].data, json!({"type": "school_committee"}));
    assert_eq!(all[2].prev_hash, all[1].hash);
}

#[test]
fn show_prints_the_event_and_every_correction_of_it() {
    let dir = tempfile::tempdir().unwrap();
    let id = "0189b7a2-1c3e-7000-8000-000000000001";
    run(annals(dir.path()).args(CLASS).args(["--id", id])).ok();
    run(annals(dir.path()).args([
        "record",
        "meeting_held",
        "--occurred",
        "2023-03-08",
        "--set",
        "type=支委会",
    ]))
    .ok();
    let amended = r#"{"class_id":"2023-ZT-01","class_name":"全县科级干部进修班","category":"main","session":1,"trainees":46}"#;
    run(annals(dir.path()).args(["record", "event_amended", "--data"]).arg(
        json!({"target": id, "data": serde_json::from_str::<Value>(amended).unwrap(), "reason": "人数有误"}).to_string(),
    ))
    .ok();
    run(annals(dir.path()).args([
        "record",
        "event_voided",
        "--set",
        &format!("target={id}"),
        "--set",
        "reason=重复录入",
    ]))
    .ok();

    let out = run(annals(dir.path()).args(["show", id])).ok();
    let by_id = out.stdout.clone();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(lines[0].trim_start().starts_with("1 "), "{out:#?}");
    assert!(lines[1].contains(id), "{out:#?}");
    let corrections: Vec<&&str> = lines.iter().filter(|l| l.contains('↳')).collect();
    assert_eq!(corrections.len(), 2, "{out:#?}");
    assert!(
        corrections[0].contains("更正记录") && corrections[0].contains(" 3 "),
        "{out:#?}"
    );
    assert!(
        corrections[1].contains("作废记录") && corrections[1].contains(" 4 "),
        "{out:#?}"
    );

    let out = run(annals(dir.path()).args(["show", id, "--json"])).ok();
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        v["event"]["data"]["trainees"],
        json!(45),
        "the original is unchanged"
    );
    let kinds: Vec<&Value> = v["corrections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["kind"])
        .collect();
    assert_eq!(kinds, [&json!("event_amended"), &json!("event_voided")]);

    // Issue 17: the page shows seqs, so `show` takes one as well as an id.
    let by_seq = run(annals(dir.path()).args(["show", "1"])).ok();
    assert_eq!(by_seq.stdout, by_id, "seq 1 is the same event");

    let out =
        run(annals(dir.path()).args(["show", "0189b7a2-1c3e-7000-8000-0000000000ff"])).failed();
    assert!(out.stderr.contains("there is no event"), "{out:#?}");
    let out = run(annals(dir.path()).args(["show", "99"])).failed();
    assert!(out.stderr.contains("there is no event"), "{out:#?}");
}

#[test]
fn kinds_lists_every_kind_with_its_chinese_label() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(annals(dir.path()).arg("kinds")).ok();
    for kind in catalog().kinds() {
        assert!(
            out.stdout
                .contains(&format!("{}  {}", kind.name, kind.label_zh)),
            "{} ({}) is missing from {}",
            kind.name,
            kind.label_zh,
            out.stdout
        );
    }
    assert!(
        out.stdout.contains("举办培训班") && out.stdout.contains("培训人数（必填）"),
        "{}",
        out.stdout
    );
    let v: Value = serde_json::from_str(
        &run(annals(dir.path()).args(["kinds", "--json"]))
            .ok()
            .stdout,
    )
    .unwrap();
    assert_eq!(v.as_array().unwrap().len(), catalog().kinds().count());
}

#[test]
fn verify_prints_the_count_and_head_hash_and_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    run(annals(&store).arg("import").arg(example_file(dir.path()))).ok();

    let out = run(annals(&store).arg("verify")).ok();
    let head = open(&store).head().unwrap();
    assert_eq!(head.seq, example_lines() + 1);
    assert!(out.stdout.contains(&head.seq.to_string()), "{out:#?}");
    assert!(out.stdout.contains(&head.hash.to_string()), "{out:#?}");

    let out = run(annals(&store).args(["verify", "--json"])).ok();
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        v,
        json!({"ok": true, "count": head.seq, "head_hash": head.hash.to_string()})
    );
}

#[test]
fn verify_exits_non_zero_naming_the_seq_on_a_tampered_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    run(annals(&store).arg("import").arg(example_file(dir.path()))).ok();
    tamper(&store, |events| {
        assert_eq!(events[6].seq, 7);
        events[6].recorded_by = "篡改者".into();
    });
    let out = run(annals(&store).arg("verify")).failed();
    assert!(
        out.stderr
            .contains("seq 7: content does not match its hash"),
        "{out:#?}"
    );
    assert!(!out.stderr.contains("panicked"), "{out:#?}");
}

#[test]
fn verify_file_names_the_seq_of_a_hand_edited_export() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    run(annals(&store).arg("import").arg(example_file(dir.path()))).ok();
    let export = dir.path().join("export.jsonl");
    run(annals(&store).args(["export", "--out"]).arg(&export)).ok();
    let out = run(annals(&store).args(["verify", "--file"]).arg(&export)).ok();
    assert!(
        out.stdout.contains(&(example_lines() + 1).to_string()),
        "{out:#?}"
    );

    // Change one character of the payload of seq 10.
    let text = std::fs::read_to_string(&export).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let mut e: Value = serde_json::from_str(&lines[9]).unwrap();
    assert_eq!(e["seq"], json!(10));
    let data = e["data"].to_string();
    let i = data
        .find(|c: char| !c.is_ascii())
        .expect("the payload holds Chinese text");
    let ch = data[i..].chars().next().unwrap();
    let changed = data.replacen(ch, if ch == '党' { "县" } else { "党" }, 1);
    e["data"] = serde_json::from_str(&changed).unwrap();
    lines[9] = serde_json::to_string(&e).unwrap();
    std::fs::write(&export, lines.join("\n") + "\n").unwrap();

    let out = run(annals(&store).args(["verify", "--file"]).arg(&export)).failed();
    assert!(
        out.stderr
            .contains("seq 10: content does not match its hash"),
        "{out:#?}"
    );
    let fresh = dir.path().join("fresh");
    let out = run(annals(&fresh).args(["--lang", "en", "import"]).arg(&export)).failed();
    assert!(out.stderr.contains("10: hash: seq 10:"), "{out:#?}");
    assert!(log_json(&fresh, &[]).is_empty(), "nothing was imported");
}

#[test]
fn an_export_restored_by_the_cli_exports_identical_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    run(annals(&a).arg("import").arg(example_file(dir.path()))).ok();
    run(annals(&a).args([
        "record",
        "meeting_held",
        "--occurred",
        "2023-07-03",
        "--set",
        "type=校委会",
    ]))
    .ok();
    let exported = dir.path().join("a.jsonl");
    run(annals(&a).args(["export", "--out"]).arg(&exported)).ok();

    let out = run(annals(&b).args(["import", "--json"]).arg(&exported)).ok();
    let outcome: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(outcome["mode"], json!("restored"));
    let again = run(annals(&b).arg("export")).ok();
    assert_eq!(again.stdout.as_bytes(), std::fs::read(&exported).unwrap());
}

/// With no `--store`, the demo creates `annals-data` in the current folder, loads the
/// example into it, prints a summary by kind and verifies. (Running with no command at
/// all now starts the server, which does the same loading before it listens.)
#[test]
fn demo_in_a_fresh_folder_creates_the_store_loads_the_example_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(bare_annals().arg("demo").current_dir(dir.path())).ok();
    let store = dir.path().join("annals-data");
    assert!(store.is_dir(), "the default store folder is created");

    let store = open(&store);
    let head = store.head().unwrap();
    assert_eq!(
        head.seq,
        example_lines() + 1,
        "the demo data and its import record"
    );
    assert_eq!(store.verify().unwrap().unwrap().head_hash, head.hash);
    // A summary by kind, then the verification with the head hash.
    let label = catalog().kind("class_held").unwrap().label_zh.clone();
    assert!(out.stdout.contains(&label), "{out:#?}");
    assert!(out.stdout.contains(&head.hash.to_string()), "{out:#?}");
    assert!(out.stdout.contains("校验通过"), "{out:#?}");
}

/// With no command at all, `annals` now starts the server (on the address in
/// `ANNALS_LISTEN`); on a fresh folder it first creates `annals-data` and loads the
/// example into it, as the demo does.
#[test]
fn running_with_no_command_in_a_fresh_folder_loads_the_example_into_annals_data() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = bare_annals()
        .current_dir(dir.path())
        .env("ANNALS_LISTEN", "127.0.0.1:0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let loaded = std::iter::from_fn(|| rx.recv_timeout(Duration::from_secs(60)).ok())
        .find(|l| l.contains("演示数据"));
    child.kill().ok();
    child.wait().unwrap();
    let loaded = loaded.expect("annals says it loaded the demo data");
    assert!(loaded.contains(&example_lines().to_string()), "{loaded}");

    let store = open(&dir.path().join("annals-data"));
    assert_eq!(store.head().unwrap().seq, example_lines() + 1);
    assert_eq!(store.verify().unwrap().unwrap().count, example_lines() + 1);
}

#[test]
fn demo_run_again_keeps_the_store_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    run(bare_annals().arg("demo").current_dir(dir.path())).ok();
    let before = open(&dir.path().join("annals-data")).head().unwrap();
    run(bare_annals().arg("demo").current_dir(dir.path())).ok();
    assert_eq!(
        open(&dir.path().join("annals-data")).head().unwrap(),
        before
    );
}

// ---------------------------------------------------------------------------------
// Refusals
// ---------------------------------------------------------------------------------

#[test]
fn a_store_in_use_by_another_process_is_refused_naming_its_pid() {
    let held = TestStore::new();
    let out = run(annals(held.path()).args([
        "record",
        "meeting_held",
        "--occurred",
        "2023-03-01",
        "--set",
        "type=校委会",
    ]))
    .failed();
    assert!(
        out.stderr
            .contains(&format!("is in use by pid {}", std::process::id())),
        "{out:#?}"
    );
    assert!(!out.stderr.contains("panicked"), "{out:#?}");
    assert_eq!(held.head_seq(), 0);
}

#[test]
fn an_unwritable_store_folder_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let store = file.join("store");
    let out = run(annals(&store).args([
        "record",
        "meeting_held",
        "--occurred",
        "2023-03-01",
        "--set",
        "type=校委会",
    ]))
    .failed();
    assert!(
        out.stderr
            .contains(&format!("could not open the store at {}", store.display())),
        "{out:#?}"
    );
    assert!(!out.stderr.contains("panicked"), "{out:#?}");
    assert!(!store.exists());
}

#[test]
fn record_refuses_bad_fields_by_name_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &["record", "party_thrown", "--occurred", "2023-03-01"],
            "unknown kind 'party_thrown'",
        ),
        (
            &[
                "record",
                "meeting_held",
                "--occurred",
                "2023-03-01",
                "--set",
                "colour=red",
            ],
            "data.colour: is not a field of meeting_held",
        ),
        (
            &[
                "record",
                "meeting_held",
                "--occurred",
                "2023-03-01",
                "--set",
                "type=茶话会",
            ],
            "data.type: '茶话会' is not one of",
        ),
        (
            &[
                "record",
                "meeting_held",
                "--occurred",
                "2023-02-30",
                "--set",
                "type=校委会",
            ],
            "occurred: '2023-02-30' is not a real date",
        ),
        (
            &["record", "meeting_held", "--set", "type=校委会"],
            "occurred: is required",
        ),
        (
            &[
                "record",
                "meeting_held",
                "--occurred",
                "2023-03-01",
                "--set",
                "attendees=-3",
                "--set",
                "type=校委会",
            ],
            "data.attendees: must be a whole number ≥ 0",
        ),
    ];
    for (args, expected) in cases {
        // In English when asked; Chinese is the default (see the next test).
        let out = run(annals(dir.path()).args(["--lang", "en"]).args(*args)).failed();
        assert!(
            out.stderr.contains(expected),
            "{args:?} should say {expected:?}: {out:#?}"
        );
    }
    assert!(log_json(dir.path(), &[]).is_empty(), "nothing was written");
}

#[test]
fn record_with_an_expected_seq_that_is_not_the_head_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let meeting = [
        "record",
        "meeting_held",
        "--occurred",
        "2023-03-01",
        "--set",
        "type=校委会",
    ];
    let out = run(annals(dir.path())
        .args(meeting)
        .args(["--expected-seq", "3"]))
    .failed();
    assert!(
        out.stderr
            .contains("the log's head is at seq 0, not the expected 3"),
        "{out:#?}"
    );
    run(annals(dir.path())
        .args(meeting)
        .args(["--expected-seq", "0"]))
    .ok();
    assert_eq!(log_json(dir.path(), &[]).len(), 1);
}

#[test]
fn recording_the_same_id_twice_writes_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let id = "0189b7a2-1c3e-7000-8000-000000000002";
    let meeting = [
        "record",
        "meeting_held",
        "--occurred",
        "2023-03-01",
        "--set",
        "type=校委会",
        "--id",
        id,
    ];
    run(annals(dir.path()).args(meeting)).ok();
    let out = run(annals(dir.path()).args(meeting).arg("--json")).ok();
    let receipt: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        (receipt["existing"].clone(), receipt["seq"].clone()),
        (json!(true), json!(1))
    );
    assert_eq!(log_json(dir.path(), &[]).len(), 1);
}

#[test]
fn import_lists_each_bad_line_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.jsonl");
    std::fs::write(
        &file,
        concat!(
            r#"{"kind":"meeting_held","occurred":"2023-03-01","data":{"type":"school_committee"}}"#,
            "\n{\"kind\":\"meeting_held\",\n",
            r#"{"kind":"party_thrown","occurred":"2023-03-01","data":{}}"#,
            "\n",
            r#"{"kind":"meeting_held","occurred":"2023-03-02","data":{"type":"school_committee","attendees":"many"}}"#,
            "\n",
        ),
    )
    .unwrap();
    let store = dir.path().join("store");
    let out = run(annals(&store).args(["--lang", "en", "import"]).arg(&file)).failed();
    for expected in [
        "2: line: is not valid JSON",
        "3: kind: unknown kind 'party_thrown'",
        "4: data.attendees: must be a whole number ≥ 0, not 'many'",
    ] {
        assert!(
            out.stderr.lines().any(|l| l.starts_with(expected)),
            "{expected:?} in {out:#?}"
        );
    }
    assert!(log_json(&store, &[]).is_empty(), "nothing was written");
}
