//! The check after each kill: every acknowledged event there once at its seq, no gap,
//! no half batch; the harness's tallies and kills.
use super::*;

/// Everything the writers were told, across every round so far.
#[derive(Default)]
pub(super) struct Acks {
    /// Acknowledged id → seq.
    pub(super) seqs: HashMap<Uuid, u64>,
    /// Per writer, the last batch acknowledged in full.
    pub(super) last_batch: BTreeMap<u16, u32>,
    /// Receipts that said `existing`: retries of a batch committed before a kill.
    pub(super) existing: usize,
}

impl Acks {
    /// Notes one receipt; panics if an id was acknowledged at two seqs.
    pub(super) fn note(&mut self, id: Uuid, seq: u64, existing: bool) {
        if let Some(before) = self.seqs.insert(id, seq) {
            assert_eq!(
                before, seq,
                "{id} was acknowledged at seq {before}, then {seq}"
            );
        }
        let slot = Slot::of(id).expect("an id the harness made");
        if slot.index + 1 == slot.size {
            let last = self.last_batch.entry(slot.writer).or_insert(slot.batch);
            *last = (*last).max(slot.batch);
        }
        self.existing += usize::from(existing);
    }

    /// The batch a writer goes on with: the first it was not told about.
    pub(super) fn next_batch(&self, writer: u16) -> u32 {
        self.last_batch.get(&writer).map_or(0, |b| b + 1)
    }
}

/// What one check saw.
pub(super) struct Checked {
    pub(super) head: u64,
    /// Batches in the store whose answer never reached the writer (committed, then killed).
    pub(super) unacknowledged: usize,
    /// Opening and verifying the store.
    pub(super) took: Duration,
}

/// Reopens the store the killed process left and checks every promise about it.
pub(super) fn check(dir: &Path, acks: &Acks, round: u32, what: &str) -> Checked {
    let started = Instant::now();
    let store = Store::open(dir, catalog(), Default::default()).unwrap_or_else(|e| {
        panic!("{what} round {round}: the store does not reopen after the kill: {e}")
    });
    let report = store
        .verify()
        .expect("the store is readable")
        .unwrap_or_else(|f| panic!("{what} round {round}: the store does not verify: {f}"));
    let took = started.elapsed();
    let head = store.head().unwrap().seq;
    assert_eq!(report.count, head, "{what} round {round}");

    let events: Vec<_> = store
        .scan(Filter::default())
        .collect::<Result<_, _>>()
        .expect("the log is readable");
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert!(
        seqs.iter().copied().eq(1..=head),
        "{what} round {round}: seq has a gap: {} events for head {head}",
        seqs.len()
    );
    let mut ids = HashSet::new();
    for e in &events {
        assert!(
            ids.insert(e.id),
            "{what} round {round}: {} is in the log twice",
            e.id
        );
    }
    for (id, seq) in &acks.seqs {
        match store.get_seq(*seq).unwrap() {
            Some(e) if e.id == *id => {}
            other => panic!(
                "{what} round {round}: acknowledged {id} at seq {seq}, but the log has {:?} there",
                other.map(|e| e.id)
            ),
        }
    }

    // Whole batches only, each in consecutive seqs, and per writer batches 0..=k with
    // at most one past the last acknowledged (the one in flight at the kill).
    let mut batches: BTreeMap<(u16, u32), Vec<(Slot, u64)>> = BTreeMap::new();
    for e in &events {
        let slot = Slot::of(e.id)
            .unwrap_or_else(|| panic!("{what} round {round}: an event the harness did not make"));
        batches
            .entry((slot.writer, slot.batch))
            .or_default()
            .push((slot, e.seq));
    }
    let mut per_writer: BTreeMap<u16, BTreeSet<u32>> = BTreeMap::new();
    for ((writer, batch), items) in &batches {
        let size = items[0].0.size;
        let indexes: Vec<u16> = items.iter().map(|(s, _)| s.index).collect();
        assert!(
            indexes.iter().copied().eq(0..size),
            "{what} round {round}: writer {writer}'s batch {batch} is half there: \
             items {indexes:?} of {size}"
        );
        let first = items[0].1;
        assert!(
            items
                .iter()
                .enumerate()
                .all(|(i, (_, seq))| *seq == first + i as u64),
            "{what} round {round}: writer {writer}'s batch {batch} is not in consecutive seqs"
        );
        per_writer.entry(*writer).or_default().insert(*batch);
    }
    let mut unacknowledged = 0;
    for (writer, present) in &per_writer {
        let last = *present.last().expect("a batch");
        assert!(
            present.iter().copied().eq(0..=last),
            "{what} round {round}: writer {writer} has batches {present:?}: one is missing"
        );
        let told = acks.last_batch.get(writer).copied();
        let allowed = told.map_or(0, |b| b + 1);
        assert!(
            last <= allowed,
            "{what} round {round}: writer {writer} has batch {last}, but batches are sent one at \
             a time and the last acknowledged was {told:?}"
        );
        if told != Some(last) {
            unacknowledged += 1;
        }
    }
    for writer in acks.last_batch.keys() {
        assert!(
            per_writer.contains_key(writer),
            "{what} round {round}: writer {writer}'s acknowledged batches are gone"
        );
    }
    Checked {
        head,
        unacknowledged,
        took,
    }
}

/// Reads the acknowledgements the child logged after byte `from`, ignoring a last line
/// cut by the kill; returns where the next round's lines begin.
pub(super) fn read_acks(path: &Path, from: u64, acks: &mut Acks) -> u64 {
    let Ok(mut file) = File::open(path) else {
        return from;
    };
    file.seek(SeekFrom::Start(from)).unwrap();
    let mut read = from;
    let mut reader = BufReader::new(file);
    let mut line = String::new();
    while reader.read_line(&mut line).unwrap() > 0 {
        if !line.ends_with('\n') {
            break;
        }
        let mut parts = line.split_whitespace();
        let id: Uuid = parts.next().unwrap().parse().unwrap();
        let seq: u64 = parts.next().unwrap().parse().unwrap();
        let existing = parts.next() == Some("1");
        acks.note(id, seq, existing);
        read += line.len() as u64;
        line.clear();
    }
    read
}

/// Statistics of one harness, printed with `--nocapture`.
#[derive(Default)]
pub(super) struct Stats {
    pub(super) kills: u32,
    /// Killed before it acknowledged anything in that round (starting up, recovering).
    pub(super) early: u32,
    pub(super) acked: usize,
    pub(super) unacknowledged: usize,
    pub(super) head: u64,
    pub(super) slowest_check: Duration,
}

impl Stats {
    pub(super) fn print(&self, what: &str, seed: u64, took: Duration, acks: &Acks) {
        println!(
            "crash harness [{what}] (seed {seed:#x}): {} SIGKILLs in {:.1} s; {} before the \
             round's first acknowledgement; {} acknowledged events, all present at their seqs; \
             {} batches committed but unacknowledged at a kill, later retried: {} receipts \
             came back as existing; final head {}; slowest reopen + verify {} ms",
            self.kills,
            took.as_secs_f64(),
            self.early,
            self.acked,
            self.unacknowledged,
            acks.existing,
            self.head,
            self.slowest_check.as_millis(),
        );
    }
}

pub(super) fn size_of(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

pub(super) fn stderr_of(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Kills a running child with SIGKILL; panics if it had already stopped on its own.
pub(super) fn kill(child: &mut Child, log: &Path, what: &str, round: u32) {
    if let Some(status) = child.try_wait().unwrap() {
        panic!(
            "{what} round {round}: the child stopped on its own ({status}):\n{}",
            stderr_of(log)
        );
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(9), "{what} round {round}: {status}");
}
