//! Issue 6, faults: a full disk, a read-only disk and a damaged sled folder each give a
//! clear error, keep the acknowledged data intact, and never panic. The disks are small
//! tmpfs mounts the test makes (it runs as root in CI); without permission to mount, the
//! test fails and says so rather than passing unseen.
use std::{path::Path, process::Command};

use annals::store::{Batch, StoreError};
use serde_json::json;

use crate::helpers::{annals, meeting, new_event, open, run, TestStore, AUTHOR};

/// A tmpfs of `size` mounted on a fresh folder, unmounted when dropped.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn new(size: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("mount runs");
        assert!(
            status.success(),
            "these fault tests mount a small tmpfs and need root (CI runs as root)"
        );
        Tmpfs { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn remount(&self, opts: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,{opts}")])
            .arg(self.path())
            .status()
            .unwrap();
        assert!(status.success(), "remount {opts}");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

fn padded_meeting(i: usize) -> serde_json::Value {
    let mut m = meeting("2023-03-01");
    m["data"]["title"] = json!(format!("{i:06} {}", "会".repeat(190)));
    m
}

#[test]
fn a_full_disk_refuses_the_append_clearly_and_keeps_what_was_acknowledged() {
    let disk = Tmpfs::new("19m");
    let dir = disk.path().join("store");
    let store = open(&dir);
    let mut acknowledged = Vec::new();
    let mut failure = None;
    for i in 0..20_000 {
        let batch = Batch {
            events: (0..20)
                .map(|j| new_event(padded_meeting(i * 20 + j)))
                .collect(),
            author: AUTHOR.into(),
            ..Batch::default()
        };
        match store.append(batch) {
            Ok(receipts) => acknowledged.extend(receipts.into_iter().map(|r| (r.seq, r.id))),
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    let failure = failure.expect("a 19 MiB disk fills up past the 16 MiB reserve");
    assert!(
        matches!(failure, StoreError::DiskFull { .. }),
        "{failure:?}"
    );
    let message = failure.to_string();
    assert!(
        message.contains("is full") && message.contains("nothing was written"),
        "{message}"
    );
    // Single events go on until even one would breach the reserve.
    for i in 0..10_000 {
        let one = Batch {
            events: vec![new_event(padded_meeting(1_000_000 + i))],
            author: AUTHOR.into(),
            ..Batch::default()
        };
        match store.append(one) {
            Ok(receipts) => acknowledged.extend(receipts.into_iter().map(|r| (r.seq, r.id))),
            Err(e) => {
                assert!(matches!(e, StoreError::DiskFull { .. }), "{e:?}");
                break;
            }
        }
    }
    // Issue 14: the snapshot of the fold and a token change are refused the same way.
    let facts = annals::views::fold_with(&store, annals::views::Snapshots::Off).unwrap();
    let snapshot = annals::views::write_snapshot(&store, &facts).unwrap_err();
    assert!(
        matches!(snapshot, StoreError::DiskFull { .. }),
        "{snapshot:?}"
    );
    let token = store
        .create_token("办公室", annals::store::Role::Recorder)
        .unwrap_err();
    assert!(token.to_string().contains("is full"), "{token}");
    // Reads still work on the same store where they can.
    let seen = store
        .scan(Default::default())
        .filter_map(Result::ok)
        .count();
    assert!(
        seen >= acknowledged.len(),
        "reads after the failure see every acknowledged event"
    );
    drop(store);
    // Make room, reopen: everything acknowledged is there and the log verifies.
    disk.remount("size=64m");
    let store = open(&dir);
    for (seq, id) in &acknowledged {
        assert_eq!(
            store.get(*id).unwrap().map(|e| e.seq),
            Some(*seq),
            "acknowledged {id} at seq {seq}"
        );
    }
    assert!(store.verify().unwrap().is_ok());
    // With room again, everything that was refused goes through, with no step by hand.
    store
        .create_token("办公室", annals::store::Role::Recorder)
        .unwrap();
    store
        .append(Batch {
            events: vec![new_event(meeting("2023-03-02"))],
            author: AUTHOR.into(),
            ..Batch::default()
        })
        .unwrap();
    println!(
        "full disk: {} events acknowledged before: {message}",
        acknowledged.len()
    );
}

#[test]
fn a_read_only_disk_gives_a_clear_error_and_loses_nothing() {
    let disk = Tmpfs::new("64m");
    let dir = disk.path().join("store");
    let example = TestStore::with_example();
    let exported = example.export();
    drop(example);
    {
        let store = open(&dir);
        annals::intake::jsonl::import(
            &store,
            &exported,
            "backup.jsonl",
            AUTHOR,
            annals::intake::Trust::Operator,
            false,
            &mut |_, _| {},
        )
        .unwrap();
    }
    disk.remount("ro");
    let out = run(annals(&dir).arg("verify")).failed();
    assert!(
        out.stderr.contains("Read-only file system"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    disk.remount("rw");
    let store = open(&dir);
    assert_eq!(store.verify().unwrap().unwrap().count, 227);
}

/// Runs `annals verify` on a store that must be refused as damaged, with the advice to
/// restore it, and without a panic.
fn assert_damaged(dir: &Path, case: &str) {
    let out = run(annals(dir).arg("verify")).failed();
    assert!(out.stderr.contains("is damaged"), "{case}: {}", out.stderr);
    assert!(
        out.stderr.contains("restore it from a backup"),
        "{case}: {}",
        out.stderr
    );
    assert!(!out.stderr.contains("panicked"), "{case}: {}", out.stderr);
}

#[test]
fn a_damaged_sled_folder_says_the_store_is_damaged_and_how_to_restore() {
    let example = TestStore::with_example();
    let held = example.head_seq();
    let dir = example.close();
    let sled_dir = dir.path().join("sled");
    let db = sled_dir.join("db");
    let original = std::fs::read(&db).unwrap();
    assert!(original.len() > 8 * 1024, "{} bytes", original.len());
    let kept = tempfile::tempdir().unwrap();
    let copy = |from: &Path, to: &Path| {
        let status = Command::new("cp")
            .arg("-a")
            .arg(from)
            .arg(to)
            .status()
            .unwrap();
        assert!(status.success());
    };
    copy(&sled_dir, kept.path());
    let restore = || {
        std::fs::remove_dir_all(&sled_dir).unwrap();
        copy(&kept.path().join("sled"), dir.path());
    };

    // The start of sled's file wiped, as a bad disk or a stray `dd` would leave it.
    let mut bytes = original.clone();
    bytes[..4096].fill(0);
    std::fs::write(&db, &bytes).unwrap();
    assert_damaged(dir.path(), "the start wiped");
    restore();

    // Garbage through the middle of its file.
    let mut bytes = original.clone();
    let middle = bytes.len() / 2;
    for (i, b) in bytes[middle..middle + 4096].iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(37) ^ 0x5a;
    }
    std::fs::write(&db, &bytes).unwrap();
    assert_damaged(dir.path(), "garbage in the middle");
    restore();

    // The file emptied, or sled's folder gone, while the store had held events: sled
    // reopens those as empty without complaint; the store does not.
    std::fs::write(&db, b"").unwrap();
    assert_damaged(dir.path(), "sled's file emptied");
    std::fs::remove_dir_all(&sled_dir).unwrap();
    assert_damaged(dir.path(), "sled's folder deleted");
    let out = run(annals(dir.path()).arg("verify")).failed();
    assert!(
        out.stderr.contains(&format!("has held at least {held}")),
        "{}",
        out.stderr
    );
    // And such a folder is never given the demo data.
    let out = run(annals(dir.path()).arg("demo")).failed();
    assert!(out.stderr.contains("is damaged"), "{}", out.stderr);

    // The untouched folder back: the store opens and verifies.
    std::fs::remove_dir_all(&sled_dir).ok();
    copy(&kept.path().join("sled"), dir.path());
    assert_eq!(open(dir.path()).verify().unwrap().unwrap().count, held);
}
