//! Import of a random or mutated file: all of it written, or nothing.
use super::*;

#[derive(Debug, Clone)]
enum LineEdit {
    Drop(Index),
    Repeat(Index),
    Swap(Index, Index),
    Raw(Index, Vec<u8>),
}

fn line_edit() -> BoxedStrategy<LineEdit> {
    prop_oneof![
        any::<Index>().prop_map(LineEdit::Drop),
        any::<Index>().prop_map(LineEdit::Repeat),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| LineEdit::Swap(a, b)),
        (
            any::<Index>(),
            prop_oneof![
                collection::vec(any::<u8>(), 0..80),
                any::<String>().prop_map(String::into_bytes),
                Just(b"   ".to_vec()),
                Just(b"\xEF\xBB\xBF{}".to_vec()),
            ]
        )
            .prop_map(|(i, b)| LineEdit::Raw(i, b)),
    ]
    .boxed()
}

#[derive(Debug, Clone)]
enum FileInput {
    /// Lines `start..start+len` of the example (drafts), edited.
    Drafts {
        start: Index,
        len: usize,
        lines: Vec<LineEdit>,
        bytes: Vec<ByteEdit>,
        crlf: bool,
    },
    /// The first `len` lines of the example's export (envelopes), edited.
    Export {
        len: usize,
        lines: Vec<LineEdit>,
        bytes: Vec<ByteEdit>,
    },
    /// Random bytes, or random text cut into lines.
    Random(Vec<u8>),
    Text(Vec<String>),
}

fn build(source: &[String], from: usize, len: usize, edits: &[LineEdit]) -> Vec<Vec<u8>> {
    let mut lines: Vec<Vec<u8>> = source
        .iter()
        .skip(from)
        .take(len)
        .map(|l| l.as_bytes().to_vec())
        .collect();
    for e in edits {
        if lines.is_empty() {
            break;
        }
        match e {
            LineEdit::Drop(i) => {
                lines.remove(i.index(lines.len()));
            }
            LineEdit::Repeat(i) => {
                let n = i.index(lines.len());
                lines.insert(n, lines[n].clone());
            }
            LineEdit::Swap(a, b) => {
                let (a, b) = (a.index(lines.len()), b.index(lines.len()));
                lines.swap(a, b);
            }
            LineEdit::Raw(i, raw) => lines.insert(i.index(lines.len() + 1), raw.clone()),
        }
    }
    lines
}

fn join(lines: &[Vec<u8>], crlf: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for l in lines {
        out.extend_from_slice(l);
        out.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
    }
    out
}

#[test]
fn an_import_of_a_random_or_mutated_file_writes_all_of_it_or_nothing() {
    let drafts = example_lines();
    let exported = export_lines();
    let tally = RefCell::new(BTreeMap::new());
    let store: RefCell<Option<TestStore>> = RefCell::new(None);
    let strategy = prop_oneof![
        5 => (any::<Index>(), 1..30usize, collection::vec(line_edit(), 0..3),
              collection::vec(byte_edit(), 0..3), any::<bool>())
            .prop_map(|(start, len, lines, bytes, crlf)| FileInput::Drafts { start, len, lines, bytes, crlf }),
        3 => (1..40usize, collection::vec(line_edit(), 0..2), collection::vec(byte_edit(), 0..3))
            .prop_map(|(len, lines, bytes)| FileInput::Export { len, lines, bytes }),
        1 => collection::vec(any::<u8>(), 0..2000).prop_map(FileInput::Random),
        1 => collection::vec(any::<String>(), 0..8).prop_map(FileInput::Text),
    ];
    let ran = check("import", cases(256), strategy, |input| {
        let bytes = match &input {
            FileInput::Drafts {
                start,
                len,
                lines,
                bytes,
                crlf,
            } => {
                let from = start.index(drafts.len());
                let mut b = join(&build(&drafts, from, *len, lines), *crlf);
                for e in bytes {
                    apply_bytes(&mut b, e);
                }
                b
            }
            FileInput::Export { len, lines, bytes } => {
                let mut b = join(&build(&exported, 0, *len, lines), false);
                for e in bytes {
                    apply_bytes(&mut b, e);
                }
                b
            }
            FileInput::Random(b) => b.clone(),
            FileInput::Text(lines) => lines.join("\n").into_bytes(),
        };
        let mut slot = store.borrow_mut();
        let s = slot.get_or_insert_with(TestStore::new);
        let before = s.store.head().unwrap();
        let run = |dry_run| {
            intake::jsonl::import(
                &s.store,
                &bytes,
                "fuzz.jsonl",
                AUTHOR,
                annals::intake::Trust::Operator,
                dry_run,
                &mut |_, _| {},
            )
        };
        let dry = run(true);
        prop_assert_eq!(s.store.head().unwrap(), before, "a dry run writes nothing");
        let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
        let line_count = body.split(|b| *b == b'\n').count();
        match run(false) {
            Ok(outcome) => {
                prop_assert!(
                    dry.is_ok(),
                    "a dry run refused what the import took: {dry:?}"
                );
                let after = s.store.head().unwrap();
                match outcome.mode {
                    Mode::Unchanged => prop_assert_eq!(after, before),
                    Mode::Appended | Mode::Restored => {
                        prop_assert!(after.seq > before.seq);
                        let written = after.seq - before.seq;
                        let expected =
                            outcome.added as u64 + u64::from(outcome.mode == Mode::Appended);
                        prop_assert_eq!(written, expected, "{:?}", outcome);
                    }
                    Mode::Checked => prop_assert!(false, "a real import is not a dry run"),
                }
                let verified = s.store.verify().unwrap();
                prop_assert!(verified.is_ok(), "{verified:?}");
                count(&tally, format!("{:?}", outcome.mode).to_lowercase());
                if after != before {
                    // A fresh store, so later cases can succeed too.
                    *slot = None;
                }
            }
            Err(IntakeError::Refused(list)) => {
                prop_assert!(!list.is_empty());
                for l in &list {
                    let annals::intake::At::Line(line) = l.at else {
                        return Err(TestCaseError::fail(format!("not at a line: {l:?}")));
                    };
                    prop_assert!(
                        (1..=line_count).contains(&line),
                        "line {} of a file of {} lines: {:?}",
                        line,
                        line_count,
                        l
                    );
                    prop_assert!(
                        !l.field.is_empty() && !l.reason.to_string().is_empty(),
                        "{l:?}"
                    );
                }
                let message = IntakeError::Refused(list.clone()).to_string();
                prop_assert!(
                    message.contains("problem(s) found; nothing was imported"),
                    "{message}"
                );
                prop_assert_eq!(
                    s.store.head().unwrap(),
                    before,
                    "a refused import writes nothing"
                );
                count(&tally, "refused by line");
            }
            Err(e) => {
                return Err(TestCaseError::fail(format!("the import failed: {e}")));
            }
        }
        Ok(())
    });
    if let Some(s) = store.borrow().as_ref() {
        assert!(s.store.verify().unwrap().is_ok());
    }
    print("import", ran, &tally);
}
