//! The hub from the command line, end to end: `annals hub init` (twice: it migrates),
//! `school add`, a bundle ferried as a file and ingested by `annals hub import` exactly
//! as a push, then `annals push` against `annals hub serve`, which finds nothing to send,
//! sends what was recorded since, and says so when repeated.
use std::{
    path::Path,
    process::{Child, Command},
    time::{Duration, Instant},
};

use super::pg;
use crate::helpers::{annals, bare_annals, run, TestStore};

/// `annals hub --database DB …`.
pub fn hub_cmd(db: &str) -> Command {
    let mut cmd = bare_annals();
    cmd.args(["hub", "--database", db, "--key-file"])
        .arg(pg::key_file(db));
    cmd
}

/// `annals hub serve` as a process of its own on `port`, answering once this returns.
pub fn serve(db: &str, port: u16) -> Child {
    let child = hub_cmd(db)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("the hub starts");
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the hub did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn push(store: &Path, url: &str, token: &str) -> String {
    run(annals(store).args(["push", "--to", url, "--token", token]))
        .ok()
        .stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundles_and_pushes_from_the_command_line() {
    let db = pg::database().await;
    let tmp = tempfile::tempdir().unwrap();
    let init = run(hub_cmd(&db).arg("init")).ok().stdout;
    assert!(init.contains("签名密钥"), "{init}");
    run(hub_cmd(&db).arg("init")).ok();
    let added = run(hub_cmd(&db).args([
        "--json",
        "school",
        "add",
        "county-a",
        "--name",
        "甲县委党校",
    ]))
    .ok();
    let token = serde_json::from_str::<serde_json::Value>(&added.stdout).unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let again = run(hub_cmd(&db).args(["school", "add", "county-a", "--name", "又一个"])).failed();
    assert!(
        again.stderr.contains("already has 'county-a'"),
        "{}",
        again.stderr
    );

    let school = TestStore::with_example();
    let head = school.head_seq();
    let dir = school.close();
    let bundle = tmp.path().join("county-a.bundle");
    run(annals(dir.path())
        .args(["bundle", "--school", "county-a", "--out"])
        .arg(&bundle))
    .ok();
    let imported = run(hub_cmd(&db).arg("import").arg(&bundle)).ok().stdout;
    assert!(imported.contains(&format!("新增 {head}")), "{imported}");
    let repeated = run(hub_cmd(&db).arg("import").arg(&bundle)).ok().stdout;
    assert!(
        repeated.contains("新增 0"),
        "a bundle again writes nothing: {repeated}"
    );

    let port = free_port();
    let mut server = serve(&db, port);
    let url = format!("http://127.0.0.1:{port}");
    let nothing = push(dir.path(), &url, &token);
    assert!(
        nothing.contains("无需报送"),
        "the bundle brought everything: {nothing}"
    );
    run(annals(dir.path()).args([
        "record",
        "meeting_held",
        "--occurred",
        "2023-07-03",
        "--set",
        "type=school_committee",
    ]))
    .ok();
    let sent = push(dir.path(), &url, &token);
    assert!(sent.contains("已报送 1 条"), "{sent}");
    assert!(push(dir.path(), &url, &token).contains("无需报送"));
    let receipts = std::fs::read_to_string(annals::hub::push::receipts_file(dir.path())).unwrap();
    assert_eq!(
        receipts.lines().count(),
        1,
        "one receipt for the one piece sent"
    );
    let listed = run(hub_cmd(&db).args(["school", "list"])).ok().stdout;
    assert!(listed.contains(&format!("seq {:>8}", head + 1)), "{listed}");
    server.kill().unwrap();
    server.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_school_server_pushes_on_its_own() {
    let hub = super::app::spawn_hub().await;
    let token = hub.add_school("county-a", "甲县委党校", None).await;
    let school = TestStore::with_example();
    let head = school.head_seq() as i64;
    let dir = school.close();
    let port = free_port();
    let mut server = annals(dir.path())
        .args([
            "serve",
            "--no-demo",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .args(["--push-to", &hub.address, "--push-token", &token])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("the school's server starts");
    let started = Instant::now();
    while hub.count("SELECT COALESCE(MAX(seq), 0) FROM events").await < head {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the server did not push"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.kill().unwrap();
    server.wait().unwrap();
    hub.stop().await;
}

/// The signing key lives in a 0600 file, not in the database; an older database's key
/// is moved out on the first start, and a key file that is not the hub's is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_key_lives_in_a_file_and_an_older_databases_key_moves_there() {
    use std::os::unix::fs::PermissionsExt;

    let db = pg::database().await;
    let key_file = pg::key_file(&db);
    run(hub_cmd(&db).arg("init")).ok();
    let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let secret = std::fs::read_to_string(&key_file).unwrap();
    let public = run(hub_cmd(&db).arg("key")).ok().stdout;
    let pool = annals::hub::db::pool(&db, 2).unwrap();
    let (mut client, reader) = (pool.get().await.unwrap(), pool.get().await.unwrap());
    let meta = |name: &'static str| {
        let reader = &reader;
        async move {
            reader
                .query_opt("SELECT value FROM hub_meta WHERE name = $1", &[&name])
                .await
                .unwrap()
                .map(|r| r.get::<_, String>(0))
        }
    };
    assert_eq!(
        meta("signing_key").await,
        None,
        "the secret is not in the database"
    );
    assert_eq!(meta("public_key").await.unwrap(), public.trim());

    // A database from before: the secret in hub_meta, no file.
    client
        .execute(
            "INSERT INTO hub_meta (name, value) VALUES ('signing_key', $1)",
            &[&secret.trim()],
        )
        .await
        .unwrap();
    client
        .execute("DELETE FROM hub_meta WHERE name = 'public_key'", &[])
        .await
        .unwrap();
    std::fs::remove_file(&key_file).unwrap();
    let key = annals::hub::schema::key(&mut client, &key_file)
        .await
        .unwrap();
    assert_eq!(key.public_hex(), public.trim());
    assert_eq!(std::fs::read_to_string(&key_file).unwrap(), secret);
    let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    assert_eq!(
        meta("signing_key").await,
        None,
        "moved out on the first start"
    );
    assert_eq!(meta("public_key").await.unwrap(), public.trim());

    // Another hub's key file is refused; so is none.
    let other = tempfile::tempdir().unwrap();
    let other_db = pg::database().await;
    let other_file = other.path().join("other.key");
    run(bare_annals()
        .args(["hub", "--database", &other_db, "--key-file"])
        .arg(&other_file)
        .arg("init"))
    .ok();
    let wrong = annals::hub::schema::key(&mut client, &other_file)
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(wrong.contains("not this hub's key"), "{wrong}");
    let none = annals::hub::schema::key(&mut client, &other.path().join("none.key"))
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(none.contains("no key file"), "{none}");
}
