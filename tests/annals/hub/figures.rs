//! The hub's figures are the schools' own: each school's progress and report computed
//! at the hub from PostgreSQL equal those the school computes from its own log, and the
//! totals (by region and overall) are their sums; 200 schools may push at once.
use std::collections::BTreeMap;

use annals::views;
use chrono::{DateTime, NaiveDate, Utc};
use projections::{metric::Metrics, period::Query, progress};
use serde_json::Value;

use super::app::{spawn_hub, TestHub};
use crate::bench::synth;
use crate::helpers::{catalog, TestStore};

/// A school's store holding a synthetic log of `n` events from its own seed.
fn school(n: usize, seed: u64) -> TestStore {
    let s = TestStore::new();
    s.import(&synth::generate(n, seed).jsonl())
        .expect("the synthetic log imports");
    s
}

/// Pushes every school at once.
async fn push_all<S: std::borrow::Borrow<TestStore>>(
    hub: &TestHub,
    schools: &[(String, S, String)],
) {
    let mut tasks = Vec::new();
    for (_, store, token) in schools {
        let (store, opts) = (store.borrow().store.clone(), hub.options(token, 250));
        tasks.push(tokio::spawn(async move {
            annals::hub::push::push(&store, &opts, &mut |_, _| {}).await
        }));
    }
    for t in tasks {
        t.await.unwrap().expect("every push goes through");
    }
}

/// metric → (actual, target) from a progress answer's lines.
fn lines(progress: &Value) -> BTreeMap<String, (u64, u64)> {
    progress
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let n = |k: &str| p[k].as_u64().unwrap();
            (
                p["metric"].as_str().unwrap().to_owned(),
                (n("actual"), n("target")),
            )
        })
        .collect()
}

/// The school's own progress, as `annals progress` computes it.
fn own(
    store: &TestStore,
    metrics: &Metrics,
    on: NaiveDate,
    known_at: DateTime<Utc>,
) -> BTreeMap<String, (u64, u64)> {
    let facts = views::fold(&store.store).unwrap();
    progress::progress(&facts, metrics, chrono::Datelike::year(&on), on, known_at)
        .into_iter()
        .map(|p| (p.metric, (p.actual, p.target)))
        .collect()
}

fn add(sum: &mut BTreeMap<String, (u64, u64)>, one: &BTreeMap<String, (u64, u64)>) {
    for (m, (a, t)) in one {
        let e = sum.entry(m.clone()).or_default();
        e.0 += a;
        e.1 += t;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hub_totals_equal_the_sum_of_each_schools_own_figures() {
    let hub = spawn_hub().await;
    let layout = [
        ("city-a", None),
        ("county-a1", Some("city-a")),
        ("county-a2", Some("city-a")),
        ("city-b", None),
        ("county-b1", Some("city-b")),
    ];
    let mut schools = Vec::new();
    for (i, (id, parent)) in layout.iter().enumerate() {
        let token = hub.add_school(id, &format!("{id}党校"), *parent).await;
        schools.push((id.to_string(), school(400, synth::SEED + i as u64), token));
    }
    let before = Utc::now();
    push_all(&hub, &schools).await;

    let on = "2025-06-30";
    let answer = hub
        .read(&format!("/hub/api/progress?year=2025&on={on}"))
        .await;
    let known_at: DateTime<Utc> = answer["known_at"].as_str().unwrap().parse().unwrap();
    let metrics = Metrics::embedded(&catalog()).unwrap();
    let on = NaiveDate::from_ymd_opt(2025, 6, 30).unwrap();
    let mut total = BTreeMap::new();
    let mut by_region: BTreeMap<String, BTreeMap<String, (u64, u64)>> = BTreeMap::new();
    for (id, store, _) in &schools {
        let mine = own(store, &metrics, on, known_at);
        assert!(!mine.is_empty(), "the synthetic log sets targets");
        let line = answer["schools"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id.as_str())
            .unwrap();
        assert_eq!(
            lines(&line["progress"]),
            mine,
            "{id}: the hub's figures are the school's own"
        );
        assert_eq!(line["head_seq"], store.head_seq());
        add(&mut total, &mine);
        let region = layout
            .iter()
            .find(|(s, _)| s == id)
            .unwrap()
            .1
            .unwrap_or(id);
        add(by_region.entry(region.to_owned()).or_default(), &mine);
    }
    assert_eq!(lines(&answer["totals"]), total, "the totals are the sums");
    for region in answer["regions"].as_array().unwrap() {
        assert_eq!(
            lines(&region["totals"]),
            by_region[region["id"].as_str().unwrap()]
        );
    }

    // One school's report as the hub holds it: the same figures, citing the same head.
    let known = known_at.to_rfc3339();
    let report = hub
        .read(&format!(
            "/hub/api/schools/county-a1/report?period=2025H1&on=2025-06-30&known_at={}",
            urlencode(&known)
        ))
        .await;
    let facts = views::fold(&schools[1].1.store).unwrap();
    let q = Query::parse(
        Some("2025H1"),
        Some("2025-06-30"),
        Some(&known),
        Utc::now(),
        8 * 3600,
    )
    .unwrap();
    let mine = projections::report::build(
        &facts,
        &metrics,
        &q,
        Default::default(),
        None,
        Utc::now(),
        chrono::FixedOffset::east_opt(8 * 3600).unwrap(),
    );
    assert_eq!(report["f"], serde_json::to_value(&mine.f).unwrap());
    assert_eq!(report["seal"]["seq"], schools[1].1.head_seq());

    // What the hub had received before the pushes: nothing, so no target and no total.
    let earlier = hub
        .read(&format!(
            "/hub/api/progress?year=2025&on=2025-06-30&received_by={}",
            urlencode(&before.to_rfc3339())
        ))
        .await;
    assert_eq!(earlier["totals"], serde_json::json!([]));

    // The page: every school as a row, with the bars, under the security headers; a
    // browser's Basic sign-in with the reader's token as its password is accepted.
    let resp = reqwest::Client::new()
        .get(format!("{}/hub?on=2025-06-30&sort=done", hub.address))
        .basic_auth("省校", Some(&hub.reader))
        .send()
        .await
        .unwrap();
    assert!(resp.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("script-src 'self'"));
    let page = resp.text().await.unwrap();
    for (id, _) in layout {
        assert!(page.contains(&format!("{id}党校")), "{id} is a row");
    }
    assert!(
        page.contains("<svg") && page.contains("全年时间已过"),
        "{page}"
    );
    let nobody = reqwest::get(format!("{}/hub", hub.address)).await.unwrap();
    assert_eq!(nobody.status(), 401);
    assert!(nobody.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Basic"));
    hub.stop().await;
}

fn urlencode(s: &str) -> String {
    s.replace('+', "%2B").replace(':', "%3A")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_schools_push_at_once_and_every_figure_adds_up() {
    let hub = spawn_hub().await;
    // Eight logs, each the log of 25 schools: what matters is 200 pushes at once.
    let logs: Vec<TestStore> = (0..8u64)
        .map(|i| school(100, synth::SEED ^ (i + 1)))
        .collect();
    let mut schools = Vec::new();
    for i in 0..200usize {
        let id = format!("county-{i:03}");
        let token = hub.add_school(&id, &format!("{i}号县委党校"), None).await;
        schools.push((id, &logs[i % logs.len()], token));
    }
    push_all(&hub, &schools).await;
    // Each import ends in its import_completed record.
    let held: u64 = schools.iter().map(|(_, s, _)| s.head_seq()).sum();
    assert!(held > 0);
    assert_eq!(hub.count("SELECT COUNT(*) FROM events").await as u64, held);
    assert_eq!(
        hub.count("SELECT COUNT(*) FROM schools WHERE head_seq = 101")
            .await,
        200
    );

    let answer = hub.read("/hub/api/progress?year=2025&on=2025-12-31").await;
    let known_at: DateTime<Utc> = answer["known_at"].as_str().unwrap().parse().unwrap();
    let metrics = Metrics::embedded(&catalog()).unwrap();
    let on = NaiveDate::from_ymd_opt(2025, 12, 31).unwrap();
    let mut total = BTreeMap::new();
    for (_, store, _) in &schools {
        add(&mut total, &own(store, &metrics, on, known_at));
    }
    assert_eq!(lines(&answer["totals"]), total);
    hub.stop().await;
}
