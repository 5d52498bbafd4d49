//! School → city → province: a city's hub forwards its schools' original envelopes to
//! the province's hub with the same protocol, with its own token there; the province
//! verifies every chain again and shows the same figures as the city.
use annals::hub::{
    forward::forward,
    protocol::Piece,
    receipt::{public_key, HubKey, Receipt},
};

use super::app::{spawn_hub, TestHub};
use crate::{bench::synth, helpers::TestStore};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_city_forwards_its_schools_to_the_province_which_verifies_them_again() {
    let (city, province) = (spawn_hub().await, spawn_hub().await);
    let city_token = province.add_school("city-x", "某市委党校", None).await;
    let mut heads = Vec::new();
    for (i, id) in ["county-1", "county-2"].into_iter().enumerate() {
        let token = city.add_school(id, &format!("{id}党校"), None).await;
        province
            .add_school(id, &format!("{id}党校"), Some("city-x"))
            .await;
        let school = TestStore::new();
        school
            .import(&synth::generate(300, synth::SEED + 7 + i as u64).jsonl())
            .unwrap();
        city.push(&school, &token, 100).await.unwrap();
        heads.push(school.head_seq());
    }

    let opts = province.options(&city_token, 120);
    let done = forward(&city.pool, &opts).await.unwrap();
    assert_eq!(
        done.iter()
            .map(|f| (f.added, f.stopped.is_none()))
            .collect::<Vec<_>>(),
        heads.iter().map(|h| (*h, true)).collect::<Vec<_>>()
    );
    let ask = "/hub/api/progress?year=2025&on=2025-06-30";
    let (at_city, at_province) = (city.read(ask).await, province.read(ask).await);
    assert_eq!(
        at_province["totals"], at_city["totals"],
        "the province sees what the city sees"
    );
    let region = at_province["regions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "city-x")
        .unwrap();
    assert_eq!(region["totals"], at_city["totals"]);

    let again = forward(&city.pool, &opts).await.unwrap();
    assert!(
        again.iter().all(|f| f.added == 0 && f.stopped.is_none()),
        "{again:?}"
    );
    // The city's token pushes for the schools under it, not for a school outside it.
    province.add_school("city-y", "另一市委党校", None).await;
    let other = reqwest::Client::new()
        .post(format!("{}/hub/api/schools/city-y/push", province.address))
        .bearer_auth(&city_token)
        .json(&serde_json::json!({"events": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 403);
    // A reader of city-x's region sees its schools only.
    let client = province.pool.get().await.unwrap();
    let reader = annals::hub::schools::add_reader(&client, "某市委党校办公室", Some("city-x"))
        .await
        .unwrap();
    let seen: serde_json::Value = province
        .get("/hub/api/schools", &reader)
        .await
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = seen
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["city-x", "county-1", "county-2"]);
    let outside = province
        .get("/hub/api/schools/city-y/report", &reader)
        .await;
    assert_eq!(
        outside.status(),
        404,
        "a school outside the region is not there for it"
    );
    city.stop().await;
    province.stop().await;
}

/// A city holding two county schools of 301 events, each pushed in pieces of 100 (so
/// the city signed four receipts for each), and a province where the city may push
/// for them.
async fn city_and_province() -> (TestHub, TestHub, String) {
    let (city, province) = (spawn_hub().await, spawn_hub().await);
    let city_token = province.add_school("city-x", "某市委党校", None).await;
    for (i, id) in ["county-1", "county-2"].into_iter().enumerate() {
        let token = city.add_school(id, &format!("{id}党校"), None).await;
        province
            .add_school(id, &format!("{id}党校"), Some("city-x"))
            .await;
        let school = TestStore::new();
        school
            .import(&synth::generate(300, synth::SEED + 11 + i as u64).jsonl())
            .unwrap();
        city.push(&school, &token, 100).await.unwrap();
        assert_eq!(school.head_seq(), 301);
    }
    (city, province, city_token)
}

/// Rows of every table the province writes on a push, in one string.
async fn rows(hub: &TestHub) -> String {
    let mut out = Vec::new();
    for table in [
        "events",
        "seals",
        "receipts",
        "forwarded_receipts",
        "quarantine",
    ] {
        out.push(format!(
            "{table}={}",
            hub.count(&format!("SELECT COUNT(*) FROM {table}")).await
        ));
    }
    out.push(format!(
        "last_push={}",
        hub.count("SELECT COUNT(DISTINCT last_push) FROM schools")
            .await
    ));
    out.join(" ")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_citys_receipts_reach_the_province_which_checks_them_and_a_repeat_writes_nothing() {
    let (city, province, city_token) = city_and_province().await;
    let opts = province.options(&city_token, 120);
    let done = forward(&city.pool, &opts).await.unwrap();
    assert!(
        done.iter()
            .all(|f| f.stopped.is_none() && f.added == 301 && f.receipts == 4),
        "{done:?}"
    );
    let city_key = public_key(&city.key).unwrap();
    for id in ["county-1", "county-2"] {
        let path = format!("/hub/api/schools/{id}/receipts");
        let (at_city, at_province) = (city.read(&path).await, province.read(&path).await);
        let forwarded: Vec<Receipt> =
            serde_json::from_value(at_province["forwarded"].clone()).unwrap();
        assert_eq!(
            at_province["forwarded"], at_city["signed"],
            "{id}: the province holds what the city signed"
        );
        assert_eq!(
            forwarded.iter().map(|r| r.seq).collect::<Vec<_>>(),
            [100, 200, 300, 301]
        );
        for r in &forwarded {
            assert_eq!(r.hub_key, city.key);
            r.verify(&city_key).unwrap();
        }
    }

    let before = rows(&province).await;
    let again = forward(&city.pool, &opts).await.unwrap();
    assert!(
        again
            .iter()
            .all(|f| f.added == 0 && f.receipts == 0 && f.stopped.is_none()),
        "{again:?}"
    );
    assert_eq!(rows(&province).await, before, "a repeat writes nothing");

    // A province that holds the events but not the receipts (forwarded before receipts
    // were) is sent them alone.
    province
        .pool
        .get()
        .await
        .unwrap()
        .execute("DELETE FROM forwarded_receipts", &[])
        .await
        .unwrap();
    let later = forward(&city.pool, &opts).await.unwrap();
    assert!(
        later
            .iter()
            .all(|f| f.added == 0 && f.receipts == 4 && f.stopped.is_none()),
        "{later:?}"
    );
    assert_eq!(rows(&province).await, before);
    city.stop().await;
    province.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_receipt_is_refused_naming_the_school_and_seq() {
    let (city, province, city_token) = city_and_province().await;
    // A receipt changed in the city's database no longer verifies: the piece it comes
    // with is refused whole, the other school goes on.
    city.pool
        .get()
        .await
        .unwrap()
        .execute(
            "UPDATE receipts SET received_at = received_at + INTERVAL '1' SECOND
             WHERE school = 'county-1' AND seq = 200",
            &[],
        )
        .await
        .unwrap();
    let done = forward(&city.pool, &province.options(&city_token, 120))
        .await
        .unwrap();
    let why = done[0].stopped.as_deref().unwrap_or_default();
    assert!(
        why.contains("422") && why.contains("school county-1 seq 200") && why.contains("signature"),
        "{why}"
    );
    assert_eq!(done[0].head_seq, 0);
    assert_eq!(
        province
            .count("SELECT head_seq FROM schools WHERE id = 'county-1'")
            .await,
        120,
        "the piece before the bad receipt's was stored; the one with it was not"
    );
    assert!(
        done[1].stopped.is_none() && done[1].receipts == 4,
        "{done:?}"
    );

    // A well-signed receipt for a hash the province's chain does not hold is refused.
    let forger = HubKey::generate().unwrap();
    let at = events::envelope::truncate(chrono::Utc::now());
    let forged = forger.sign("county-2", 150, events::Hash([7; 32]), at);
    let resp = reqwest::Client::new()
        .post(format!(
            "{}/hub/api/schools/county-2/push",
            province.address
        ))
        .bearer_auth(&city_token)
        .json(&Piece {
            events: Vec::new(),
            seal: None,
            receipts: vec![forged],
        })
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(
        (body["school"].as_str(), body["seq"].as_u64()),
        (Some("county-2"), Some(150))
    );
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("chain here holds"),
        "{body}"
    );
    assert_eq!(
        province
            .count("SELECT COUNT(*) FROM forwarded_receipts WHERE school = 'county-2'")
            .await,
        4
    );
    city.stop().await;
    province.stop().await;
}
