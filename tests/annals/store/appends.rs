//! Appends: an identical re-append is idempotent, and concurrent appenders all succeed
//! with gapless seqs (group commit).
use super::*;

#[test]
fn appending_an_existing_id_with_identical_content_returns_its_seq_and_writes_nothing() {
    let s = TestStore::new();
    let id = Uuid::now_v7();
    let mut draft = meeting("2023-03-01");
    draft["id"] = json!(id);
    let first = s.record(draft.clone());
    s.record(meeting("2023-03-02"));
    let head = s.store.head().unwrap();

    let again = s.record(draft.clone());
    assert!(again.existing);
    assert_eq!((again.seq, again.hash), (first.seq, first.hash));
    assert_eq!(s.store.head().unwrap(), head, "nothing may be written");

    // Within a batch, the known event is recognised and only the new one is written.
    let receipts = s
        .append(vec![new_event(draft), new_event(meeting("2023-03-03"))])
        .unwrap();
    assert_eq!(
        receipts
            .iter()
            .map(|r| (r.seq, r.existing))
            .collect::<Vec<_>>(),
        [(1, true), (3, false)]
    );
    assert_eq!(s.head_seq(), 3);
}

#[test]
fn concurrent_appenders_all_succeed_with_gapless_seqs() {
    const THREADS: usize = 8;
    const EACH: usize = 25;
    let s = TestStore::new();
    let store = Arc::new(s.store.clone());
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                (0..EACH)
                    .map(|i| {
                        let mut d = meeting("2023-03-01");
                        d["data"]["title"] = json!(format!("线程{t}第{i}次"));
                        let batch = Batch {
                            events: vec![new_event(d)],
                            expected_seq: None,
                            author: format!("线程{t}"),
                            import: None,
                        };
                        store.append(batch).expect("every append succeeds")[0].clone()
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let receipts: Vec<_> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();

    let total = (THREADS * EACH) as u64;
    let seqs: BTreeSet<u64> = receipts.iter().map(|r| r.seq).collect();
    assert_eq!(
        seqs,
        (1..=total).collect::<BTreeSet<_>>(),
        "seqs are unique and gapless"
    );
    for r in &receipts {
        assert_eq!(s.store.get(r.id).unwrap().unwrap().seq, r.seq);
    }
    let report = s.store.verify().unwrap().expect("the log verifies");
    assert_eq!(report.count, total);
    assert_eq!(s.store.head().unwrap().hash, report.head_hash);
}
