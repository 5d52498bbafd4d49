//! School → city → province: a city's hub forwards its schools' original envelopes to
//! the province's hub with the same protocol, with its own token there; the province
//! verifies every chain again and shows the same figures as the city.
use annals::hub::forward::forward;

use super::app::spawn_hub;
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
