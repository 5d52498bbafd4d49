//! The HTTP writer: a real `annals serve`, killed while four clients append batches.
use super::check::*;
use super::*;

/// Concurrent HTTP clients, each sending its own batches one at a time.
const HTTP_WRITERS: u16 = 4;

/// Starts `annals serve` over `store` on a free port; returns it, its address, and the
/// admin token if this start printed one.
fn start_server(store: &Path, log: &Path) -> (Child, String, Option<String>) {
    let port = crate::server::binary::free_port();
    let token_file = crate::server::binary::admin_token_file(store);
    let first_start = !token_file.exists();
    let mut child = annals(store)
        .env("ANNALS_LOG", "warn")
        .env("NO_COLOR", "1")
        .args(["serve", "--no-demo", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(File::create(log).unwrap())
        .spawn()
        .expect("annals serve starts");
    let out = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    loop {
        let line = rx
            .recv_timeout(STARTUP_LIMIT)
            .unwrap_or_else(|_| panic!("annals serve did not start:\n{}", stderr_of(log)));
        if line.contains("http://") {
            break;
        }
    }
    // The first start writes the admin token it made to a file beside the store.
    let token = first_start.then(|| {
        std::fs::read_to_string(&token_file)
            .expect("the first start wrote the admin token")
            .trim()
            .to_owned()
    });
    (child, format!("http://127.0.0.1:{port}"), token)
}

/// One HTTP client: sends its batches from `from` on until the server stops answering;
/// returns the receipts it got as (id, seq, existing).
async fn http_writer(
    client: reqwest::Client,
    url: String,
    token: Arc<String>,
    writer: u16,
    from: u32,
) -> Vec<(Uuid, u64, bool)> {
    let mut acked = Vec::new();
    for batch in from.. {
        let slots = slots(Mode::Http, writer, batch);
        let body = Value::Array(slots.iter().map(|s| s.draft()).collect());
        let sent = client
            .post(&url)
            .bearer_auth(token.as_str())
            .json(&body)
            .send()
            .await;
        let Ok(resp) = sent else { break };
        let status = resp.status();
        let Ok(text) = resp.text().await else { break };
        assert!(
            status.is_success(),
            "writer {writer} batch {batch}: {status} {text}"
        );
        let v: Value = serde_json::from_str(&text).unwrap();
        let receipts = v["receipts"].as_array().unwrap();
        assert_eq!(receipts.len(), slots.len());
        for (r, s) in receipts.iter().zip(&slots) {
            let id: Uuid = r["id"].as_str().unwrap().parse().unwrap();
            assert_eq!(id, s.id(), "receipts come in the batch's order");
            acked.push((id, r["seq"].as_u64().unwrap(), r["existing"] == true));
        }
    }
    acked
}

#[test]
fn http_appends_to_a_server_killed_at_random_moments_lose_nothing_acknowledged() {
    let kills = kills(1);
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let log = tmp.path().join("serve.log");
    let seed_rng = Rng::from_clock();
    let seed = seed_rng.0;
    let mut rng = seed_rng;
    let mut acks = Acks::default();
    let mut stats = Stats::default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let client = crate::server::app::client();
    let mut token: Option<Arc<String>> = None;
    let began = Instant::now();
    for round in 1..=kills {
        let (mut server, address, printed) = start_server(&store, &log);
        if let Some(t) = printed {
            assert!(token.is_none(), "only the first start prints a token");
            token = Some(Arc::new(t));
        }
        let token = token.clone().expect("the first start printed a token");
        let url = format!("{address}/api/events");
        let delay = rng.millis(20, 400);
        let answers: Vec<Vec<(Uuid, u64, bool)>> = runtime.block_on(async {
            let writers: Vec<_> = (0..HTTP_WRITERS)
                .map(|w| {
                    tokio::spawn(http_writer(
                        client.clone(),
                        url.clone(),
                        token.clone(),
                        w,
                        acks.next_batch(w),
                    ))
                })
                .collect();
            tokio::time::sleep(delay).await;
            kill(&mut server, &log, "http", round);
            let mut out = Vec::new();
            for w in writers {
                out.push(w.await.expect("a writer does not panic"));
            }
            out
        });
        stats.kills += 1;
        let before = acks.seqs.len();
        for (id, seq, existing) in answers.into_iter().flatten() {
            acks.note(id, seq, existing);
        }
        if acks.seqs.len() == before {
            stats.early += 1;
        }
        let checked = check(&store, &acks, round, "http");
        stats.unacknowledged += checked.unacknowledged;
        stats.head = checked.head;
        stats.slowest_check = stats.slowest_check.max(checked.took);
    }
    stats.acked = acks.seqs.len();
    stats.print("http", seed, began.elapsed(), &acks);
    assert!(stats.acked > 0, "no append was ever acknowledged");
}
