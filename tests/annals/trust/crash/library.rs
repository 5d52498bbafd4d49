//! The library writers: single appends and batches through `Store::append`, killed at
//! random moments.
use super::check::*;
use super::*;

/// The library writers: the child appends; the harness kills it and checks.
fn library_harness(mode: Mode, kills: u32) {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let acks_path = tmp.path().join("acks");
    let log = tmp.path().join("child.log");
    let seed_rng = Rng::from_clock();
    let seed = seed_rng.0;
    let mut rng = seed_rng;
    let mut acks = Acks::default();
    let mut stats = Stats::default();
    let mut read_from = 0;
    let began = Instant::now();
    let what = mode.name();
    for round in 1..=kills {
        let acked_before = size_of(&acks_path);
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", CHILD_TEST, "--ignored", "--nocapture"])
            .args(["--test-threads", "1"])
            .env(CHILD_MODE, what)
            .env(CHILD_STORE, &store)
            .env(CHILD_ACKS, &acks_path)
            .env(CHILD_FROM, acks.next_batch(0).to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(&log).unwrap())
            .spawn()
            .unwrap();
        if round % 5 == 1 {
            // While it starts: opening the store, sled recovering the last kill's log.
            std::thread::sleep(rng.millis(0, 120));
        } else {
            // While it appends: once it has been answered, a little later.
            let started = Instant::now();
            while size_of(&acks_path) == acked_before {
                assert!(
                    started.elapsed() < STARTUP_LIMIT,
                    "{what} round {round}: the child appended nothing:\n{}",
                    stderr_of(&log)
                );
                if child.try_wait().unwrap().is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_micros(300));
            }
            std::thread::sleep(rng.millis(0, 150));
        }
        kill(&mut child, &log, what, round);
        stats.kills += 1;
        let before = acks.seqs.len();
        // A line cut by the kill is dropped, so the next round's lines start on a line
        // of their own.
        read_from = read_acks(&acks_path, read_from, &mut acks);
        let cut = size_of(&acks_path);
        if cut > read_from {
            OpenOptions::new()
                .write(true)
                .open(&acks_path)
                .unwrap()
                .set_len(read_from)
                .unwrap();
        }
        if acks.seqs.len() == before {
            stats.early += 1;
        }
        let checked = check(&store, &acks, round, what);
        stats.unacknowledged += checked.unacknowledged;
        stats.head = checked.head;
        stats.slowest_check = stats.slowest_check.max(checked.took);
    }
    stats.acked = acks.seqs.len();
    stats.print(what, seed, began.elapsed(), &acks);
    assert!(
        stats.acked > 0,
        "no append was ever acknowledged before a kill"
    );
}

#[test]
fn single_appends_killed_at_random_moments_lose_nothing_acknowledged() {
    library_harness(Mode::Single, kills(2));
}

#[test]
fn batches_killed_at_random_moments_are_all_there_or_not_at_all() {
    library_harness(Mode::Batches, kills(2));
}
