//! `annals serve` under load: the server started as its own process, a load generator
//! of keep-alive connections (reqwest's clients; the loop that drives them is ours),
//! and the server's peak memory.
use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use crate::{stats::Latencies, synth::LAST_YEAR};

/// Starts `annals serve` on the store, warms it, drives `GET /api/progress` from
/// keep-alive connections for a fixed time, reads its peak RSS and stops it.
/// Returns (requests/s, p99 ms, first request ms, peak RSS MB).
pub fn http(dir: &Path, connections: usize, secs: u64) -> (f64, f64, f64, f64) {
    let mut server = Command::new(env!("CARGO_BIN_EXE_annals"))
        .arg("--store")
        .arg(dir)
        .args([
            "--lang",
            "en",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--open-reads",
            "--no-demo",
        ])
        .env("ANNALS_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("annals serve starts");
    let pid = server.id();
    let mut stdout = BufReader::new(server.stdout.take().expect("its output"));
    let mut addr = String::new();
    let mut line = String::new();
    while stdout.read_line(&mut line).expect("its output") > 0 {
        if let Some(i) = line.find("http://") {
            addr = line[i + 7..].trim().to_owned();
            break;
        }
        line.clear();
    }
    assert!(!addr.is_empty(), "annals serve printed no address");
    // Keep draining its output so it never blocks on a full pipe.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let path = format!("/api/progress?year={LAST_YEAR}&on={LAST_YEAR}-06-30");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let (rps, p99, first_ms) =
        runtime.block_on(load(&addr, &path, connections, Duration::from_secs(secs)));
    drop(runtime);
    let rss = peak_rss_mb(pid);
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status();
    let _ = server.wait();
    (rps, p99, first_ms, rss)
}

/// A process's peak resident memory (VmHWM), in MiB.
pub fn peak_rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// The load generator: `connections` keep-alive connections (one reqwest client each,
/// so each holds its own), each sending the next request when the last answer is read,
/// until `duration` has passed (and at most a million requests). Returns (requests/s,
/// p99 ms, the first request's ms).
pub async fn load(
    addr: &str,
    path: &str,
    connections: usize,
    duration: Duration,
) -> (f64, f64, f64) {
    let url = format!("http://{addr}{path}");
    let client = || {
        reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .tcp_nodelay(true)
            .build()
            .expect("a client")
    };
    async fn one(client: &reqwest::Client, url: &str) {
        let answer = client.get(url).send().await.expect("a request");
        assert_eq!(answer.status(), reqwest::StatusCode::OK, "{url}");
        answer.bytes().await.expect("the body");
    }
    // The first request folds the log into the server's cache.
    let t = Instant::now();
    one(&client(), &url).await;
    let first_ms = t.elapsed().as_secs_f64() * 1e3;
    let budget = 1_000_000 / connections;
    let started = Instant::now();
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            let (client, url) = (client(), url.clone());
            tokio::spawn(async move {
                let mut lat = Latencies::default();
                while started.elapsed() < duration && lat.len() < budget {
                    let t = Instant::now();
                    one(&client, &url).await;
                    lat.record(t.elapsed().as_secs_f64() * 1e3);
                }
                lat
            })
        })
        .collect();
    let mut all = Latencies::default();
    for t in tasks {
        all.add(&t.await.expect("a connection"));
    }
    let secs = started.elapsed().as_secs_f64();
    let rps = all.len() as f64 / secs;
    (rps, all.quantile(0.99), first_ms)
}
