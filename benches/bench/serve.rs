//! `annals serve` under load: the server started as its own process, a load generator
//! of keep-alive connections, and the server's peak memory.
use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use crate::{synth::LAST_YEAR, table::percentile};

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

/// The load generator: `connections` keep-alive connections, each sending the next
/// request when the last answer is read, until `duration` has passed (and at most a
/// million requests). Loopback only.
pub async fn load(
    addr: &str,
    path: &str,
    connections: usize,
    duration: Duration,
) -> (f64, f64, f64) {
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").into_bytes();
    async fn one(
        conn: &mut tokio::net::TcpStream,
        request: &[u8],
        buf: &mut Vec<u8>,
    ) -> std::io::Result<()> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        conn.write_all(request).await?;
        buf.clear();
        let mut chunk = [0u8; 16 * 1024];
        loop {
            let n = conn.read(&mut chunk).await?;
            if n == 0 {
                return Err(std::io::Error::other("the server closed the connection"));
            }
            buf.extend_from_slice(&chunk[..n]);
            let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                continue;
            };
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            if !head.starts_with("http/1.1 200") {
                return Err(std::io::Error::other(format!("answer: {head}")));
            }
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .ok_or_else(|| std::io::Error::other("no content-length"))?;
            while buf.len() < end + 4 + length {
                let n = conn.read(&mut chunk).await?;
                if n == 0 {
                    return Err(std::io::Error::other("the body was cut short"));
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return Ok(());
        }
    }
    // The first request folds the log into the server's cache.
    let mut conn = tokio::net::TcpStream::connect(addr)
        .await
        .expect("the server accepts");
    let mut buf = Vec::new();
    let t = Instant::now();
    one(&mut conn, &request, &mut buf)
        .await
        .expect("the first request");
    let first_ms = t.elapsed().as_secs_f64() * 1e3;
    drop(conn);
    let budget = 1_000_000 / connections;
    let started = Instant::now();
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            let request = request.clone();
            let addr = addr.to_owned();
            tokio::spawn(async move {
                let mut conn = tokio::net::TcpStream::connect(&addr)
                    .await
                    .expect("the server accepts");
                conn.set_nodelay(true).expect("nodelay");
                let mut buf = Vec::new();
                let mut lat = Vec::new();
                while started.elapsed() < duration && lat.len() < budget {
                    let t = Instant::now();
                    one(&mut conn, &request, &mut buf).await.expect("a request");
                    lat.push(t.elapsed().as_secs_f64() * 1e3);
                }
                lat
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("a connection"));
    }
    let secs = started.elapsed().as_secs_f64();
    let rps = all.len() as f64 / secs;
    (rps, percentile(&mut all, 0.99), first_ms)
}
