//! Issue 6, backup and the server's defences: a consistent backup taken from a running
//! server, restored into an empty store only after its chain checks; slow clients timed
//! out; connections over the cap refused at once.
use std::{
    io::{Read, Write},
    net::TcpStream,
    time::{Duration, Instant},
};

use annals::http::Config;

use crate::{
    helpers::{annals, run, TestStore},
    server::{
        app::{spawn_app_with, AppOptions},
        binary,
    },
};

fn files(dir: &std::path::Path, ext: &str) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect()
}

#[test]
fn a_backup_taken_from_a_running_server_restores_exactly() {
    let live = tempfile::tempdir().unwrap();
    let served = binary::serve(&live.path().join("store"), &[], "warn");
    let out = tempfile::tempdir().unwrap();
    // The store is held by the server: the plain backup says how to go through it.
    let refused = run(annals(&live.path().join("store"))
        .arg("backup")
        .arg(out.path()))
    .failed();
    assert!(refused.stderr.contains("--server"), "{}", refused.stderr);
    let taken = run(annals(&live.path().join("store"))
        .arg("backup")
        .arg(out.path())
        .args(["--server", &served.address, "--token", &served.admin_token]))
    .ok();
    assert!(
        taken.stdout.contains("ANNALS-SEAL 227 "),
        "{}",
        taken.stdout
    );
    let backup = files(out.path(), "jsonl").pop().expect("a backup file");
    let seal =
        std::fs::read_to_string(files(out.path(), "seal").pop().expect("a seal file")).unwrap();
    // Restore it into an empty store: same events, same hashes, and it extends the seal.
    let restored = tempfile::tempdir().unwrap();
    run(annals(restored.path()).arg("restore").arg(&backup)).ok();
    run(annals(restored.path()).args(["verify", "--against", seal.trim()])).ok();
    let exported = run(annals(restored.path()).arg("export")).ok().stdout;
    assert_eq!(
        exported.as_bytes(),
        std::fs::read(&backup).unwrap().as_slice()
    );
    drop(served);
}

#[test]
fn a_damaged_backup_restores_nothing() {
    let example = TestStore::with_example();
    let bytes = example.export();
    let text = String::from_utf8(bytes).unwrap();
    let tampered = text.replacen("\"trainees\":", "\"trainees\":1", 1);
    assert_ne!(text, tampered);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("backup.jsonl");
    std::fs::write(&file, tampered).unwrap();
    let store = dir.path().join("store");
    let out = run(annals(&store).arg("restore").arg(&file)).failed();
    assert!(out.stderr.contains("does not verify"), "{}", out.stderr);
    assert!(
        !store.exists(),
        "nothing was written: the store was never even opened"
    );
}

#[test]
fn restore_refuses_a_store_that_is_not_empty() {
    let example = TestStore::with_example();
    let backup = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(backup.path(), example.export()).unwrap();
    let dir = example.close();
    let out = run(annals(dir.path()).arg("restore").arg(backup.path())).failed();
    assert!(out.stderr.contains("not empty"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_export_route_streams_the_log_up_to_the_head_it_names() {
    let app = spawn_app_with(AppOptions::default()).await;
    let resp = app
        .request(
            reqwest::Method::GET,
            "/api/export",
            crate::server::app::Who::Reader,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let head = resp.headers()["x-annals-head"].to_str().unwrap().to_owned();
    let body = resp.text().await.unwrap();
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(head.split(' ').next().unwrap(), lines.len().to_string());
    let (count, hash) =
        annals::intake::jsonl::verify_file(&events::Catalog::embedded(), body.as_bytes()).unwrap();
    assert_eq!(format!("{count} {hash}"), head);
}

fn connect(addr: &str) -> TcpStream {
    let s = TcpStream::connect(addr.trim_start_matches("http://")).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_clients_are_cut_off_and_cannot_keep_others_out() {
    let app = spawn_app_with(AppOptions {
        config: Config {
            open_reads: true,
            header_timeout: Duration::from_millis(800),
            body_timeout: Duration::from_millis(800),
            max_connections: 4,
            ..Config::default()
        },
        ..AppOptions::default()
    })
    .await;
    let addr = app.address.clone();
    let token = app.recorder.clone();
    tokio::task::spawn_blocking(move || {
        // Three clients that never finish their headers, one that never sends its body.
        let mut slow: Vec<TcpStream> = (0..3)
            .map(|_| {
                let mut s = connect(&addr);
                s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").unwrap();
                s
            })
            .collect();
        let mut body = connect(&addr);
        // With a token, so the handler really waits for the body.
        let head = format!("POST /api/events HTTP/1.1\r\nHost: x\r\nauthorization: Bearer {token}\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{{");
        body.write_all(head.as_bytes()).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        // At the cap, a fifth connection is told so at once instead of waiting.
        let mut fifth = connect(&addr);
        fifth.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut answer = String::new();
        let _ = fifth.read_to_string(&mut answer);
        assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
        // Within the timeouts the slow ones are dropped and a new client is served.
        let started = Instant::now();
        for s in &mut slow {
            let mut rest = Vec::new();
            let _ = s.read_to_end(&mut rest);
        }
        let mut rest = String::new();
        let _ = body.read_to_string(&mut rest);
        assert!(rest.contains("408") || rest.is_empty() || rest.contains("400"), "{rest}");
        assert!(started.elapsed() < Duration::from_secs(5), "cut off after {:?}", started.elapsed());
        let mut fresh = connect(&addr);
        fresh.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nconnection: close\r\n\r\n").unwrap();
        let mut answer = String::new();
        fresh.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    })
    .await
    .unwrap();
}
