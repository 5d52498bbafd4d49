//! Pushing: everything goes, a repeat sends nothing, a cut push resumes, receipts
//! verify with the hub's key, and a school's token pushes for that school only.
use annals::hub::{
    protocol::{Piece, PushAnswer},
    push::PushError,
    receipt::{public_key, Receipt},
};
use reqwest::StatusCode;

use super::app::spawn_hub;
use crate::helpers::TestStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_sends_everything_and_a_second_push_sends_nothing() {
    let hub = spawn_hub().await;
    let token = hub.add_school("county-a", "甲县委党校", None).await;
    let school = TestStore::with_example();
    let head = school.store.head().unwrap();

    let first = hub
        .push(&school, &token, 100)
        .await
        .expect("the push goes through");
    assert_eq!(
        (first.added, first.head_seq, first.head_hash),
        (head.seq, head.seq, head.hash)
    );
    assert_eq!(
        hub.count("SELECT COUNT(*) FROM events").await,
        head.seq as i64
    );
    let receipts = hub.count("SELECT COUNT(*) FROM receipts").await;
    assert_eq!(
        receipts as u64,
        head.seq.div_ceil(100),
        "one receipt per piece"
    );
    // The hub keeps each envelope's canonical bytes exactly as hashed.
    let client = hub.pool.get().await.unwrap();
    let row = client
        .query_one(
            "SELECT canonical, hash FROM events WHERE school = 'county-a' AND seq = 7",
            &[],
        )
        .await
        .unwrap();
    let canonical: String = row.get(0);
    assert_eq!(
        events::Hash::of(canonical.as_bytes()).to_string(),
        row.get::<_, String>(1).trim()
    );
    assert_eq!(
        canonical.into_bytes(),
        school.store.get_seq(7).unwrap().unwrap().canonical_bytes()
    );

    let again = hub
        .push(&school, &token, 100)
        .await
        .expect("a repeat is fine");
    assert_eq!((again.added, again.head_seq), (0, head.seq));
    assert_eq!(
        hub.count("SELECT COUNT(*) FROM receipts").await,
        receipts,
        "a repeat writes nothing"
    );
    let listed = hub.read("/hub/api/schools").await;
    assert_eq!(listed[0]["head_seq"], head.seq);
    assert_eq!(listed[0]["head_hash"], head.hash.to_string());
    assert!(listed[0]["seal"]
        .as_str()
        .unwrap()
        .starts_with(&format!("ANNALS-SEAL {} ", head.seq)));
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_cut_in_the_middle_resumes_where_the_hub_stands() {
    let hub = spawn_hub().await;
    let token = hub.add_school("county-a", "甲县委党校", None).await;
    let school = TestStore::with_example();
    let events = school.events();
    let url = format!("{}/hub/api/schools/county-a/push", hub.address);
    let send = |piece: Vec<events::Envelope>| {
        let (url, token) = (url.clone(), token.clone());
        async move {
            reqwest::Client::new()
                .post(url)
                .bearer_auth(token)
                .json(&Piece {
                    events: piece,
                    seal: None,
                    receipts: Vec::new(),
                })
                .send()
                .await
                .unwrap()
        }
    };
    // Two pieces went through; the answer to the second was lost on the way.
    assert_eq!(send(events[..40].to_vec()).await.status(), StatusCode::OK);
    assert_eq!(send(events[40..90].to_vec()).await.status(), StatusCode::OK);
    // The same piece again (a client that never heard back) is acknowledged, nothing written.
    let again: PushAnswer = send(events[40..90].to_vec()).await.json().await.unwrap();
    assert_eq!((again.added, again.head_seq), (0, 90));
    // A piece that skips ahead is refused as a gap, naming the hub's head.
    let gap = send(events[100..110].to_vec()).await;
    assert_eq!(gap.status(), StatusCode::CONFLICT);
    let body: serde_json::Value = gap.json().await.unwrap();
    assert_eq!(
        (body["error"].as_str(), body["head_seq"].as_u64()),
        (Some("gap"), Some(90))
    );

    let resumed = hub
        .push(&school, &token, 64)
        .await
        .expect("the push resumes");
    assert_eq!(resumed.from_seq, 90);
    assert_eq!(resumed.added, events.len() as u64 - 90);
    assert_eq!(
        hub.count("SELECT COUNT(*) FROM events").await,
        events.len() as i64
    );
    let max: i64 = hub.count("SELECT MAX(seq) FROM events").await;
    assert_eq!(max, events.len() as i64, "nothing doubled, nothing missing");
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_verify_with_the_hubs_public_key_and_are_kept_beside_the_store() {
    let hub = spawn_hub().await;
    let token = hub.add_school("county-a", "甲县委党校", None).await;
    let school = TestStore::with_example();
    let file = annals::hub::push::receipts_file(school.path());
    let mut opts = hub.options(&token, 50);
    opts.receipts = Some(file.clone());
    let pushed = annals::hub::push::push(&school.store, &opts, &mut |_, _| {})
        .await
        .unwrap();

    let served = hub
        .get("/hub/api/key", "")
        .await
        .json::<serde_json::Value>()
        .await
        .unwrap();
    let key = public_key(served["public_key"].as_str().unwrap()).unwrap();
    let kept: Vec<Receipt> = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(kept.len() as u64, pushed.head_seq.div_ceil(50));
    for r in &kept {
        r.verify(&key).expect("every receipt verifies");
        assert_eq!(school.store.get_seq(r.seq).unwrap().unwrap().hash, r.hash);
    }
    let mut forged = kept.last().unwrap().clone();
    forged.seq += 1;
    assert!(
        forged.verify(&key).is_err(),
        "a changed receipt does not verify"
    );
    let other = annals::hub::receipt::HubKey::generate().unwrap();
    assert!(
        kept[0].verify(&other.public()).is_err(),
        "nor does another hub's key"
    );
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schools_token_pushes_for_that_school_only() {
    let hub = spawn_hub().await;
    let token_a = hub.add_school("county-a", "甲县委党校", None).await;
    hub.add_school("county-b", "乙县委党校", None).await;
    let school = TestStore::with_example();
    let piece = Piece {
        events: school.events()[..5].to_vec(),
        seal: None,
        receipts: Vec::new(),
    };
    let post = |school: &'static str, token: Option<String>| {
        let (url, piece) = (
            format!("{}/hub/api/schools/{school}/push", hub.address),
            piece.clone(),
        );
        async move {
            let req = reqwest::Client::new().post(url).json(&piece);
            match token {
                Some(t) => req.bearer_auth(t),
                None => req,
            }
            .send()
            .await
            .unwrap()
            .status()
        }
    };
    assert_eq!(
        post("county-b", Some(token_a.clone())).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post("county-b", Some(hub.reader.clone())).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(post("county-b", None).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        post("county-b", Some("hub_forged".into())).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(hub.count("SELECT COUNT(*) FROM events").await, 0);
    assert_eq!(
        post("county-a", Some(token_a.clone())).await,
        StatusCode::OK
    );
    // A school's token does not read the hub's figures either.
    assert_eq!(
        hub.get("/hub/api/progress", &token_a).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        hub.get("/hub/api/schools", "").await.status(),
        StatusCode::UNAUTHORIZED
    );
    let err = hub.push(&school, "hub_wrong", 100).await.unwrap_err();
    assert!(
        matches!(err, PushError::Refused { status: 401, .. }),
        "{err}"
    );
    hub.stop().await;
}
