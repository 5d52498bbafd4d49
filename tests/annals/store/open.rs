//! Opening a store: a folder that cannot be one, one already open, one just dropped.
use super::*;

#[test]
fn a_store_folder_that_cannot_be_created_is_refused_with_its_path() {
    // Tests run as root, so permissions stop nothing: a folder under a regular file
    // cannot be created by anyone.
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("not-a-folder");
    std::fs::write(&file, "x").unwrap();
    let dir = file.join("store");
    let err = Store::open(&dir, catalog(), Options::default())
        .err()
        .expect("the store cannot be opened");
    assert!(matches!(err, StoreError::Open { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with(&format!("cannot open the store at {}:", dir.display())),
        "{err}"
    );
    assert!(!dir.exists());
}

#[test]
fn a_store_already_open_is_refused_naming_the_holders_pid() {
    let s = TestStore::new();
    let err = Store::open(s.path(), catalog(), Options::default())
        .err()
        .expect("a second open is refused");
    let pid = std::process::id().to_string();
    assert!(
        matches!(err, StoreError::Locked { pid: ref p, .. } if *p == pid),
        "{err:?}"
    );
    assert!(
        err.to_string().contains(&format!("is in use by pid {pid}")),
        "{err}"
    );
    // The holder is unaffected.
    s.record(meeting("2023-03-01"));
}

/// Regression, issue 2: dropping the last handle of a store returned while its writer
/// thread still held sled open; the store's own lock was already released, so reopening
/// the folder at once in the same process could fail with sled's "could not acquire
/// lock". Opening sled directly right after the drop failed every time before the fix.
#[test]
fn issue_2_dropping_a_store_releases_sled_at_once() {
    for round in 0..20 {
        let s = TestStore::new();
        s.record(meeting("2023-03-01"));
        let dir = s.close();
        let db = sled::open(dir.path().join("sled"))
            .unwrap_or_else(|e| panic!("round {round}: sled is still held after the drop: {e}"));
        drop(db);
        let store = open(dir.path());
        assert_eq!(store.head().unwrap().seq, 1, "round {round}");
    }
}
