//! Issue 17, item 14: `/openapi.json` describes each request body with its real schema,
//! made from the catalog, and the README's `POST /api/events` body is one the server
//! records.
use reqwest::StatusCode;
use serde_json::Value;

use super::app::{spawn_app, Who};

fn schema_of<'a>(spec: &'a Value, reference: &Value) -> &'a Value {
    let name = reference["$ref"]
        .as_str()
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
        .unwrap_or_else(|| panic!("a reference: {reference}"));
    &spec["components"]["schemas"][name]
}

#[tokio::test]
async fn openapi_gives_each_kinds_fields_and_types_from_the_catalog_issue_17() {
    let app = spawn_app().await;
    let spec = app.get_json("/openapi.json", Who::Nobody).await;
    for path in ["/api/events", "/api/tokens"] {
        let body =
            &spec["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"];
        assert_ne!(
            body,
            &serde_json::json!({"type": "object"}),
            "{path} has a real schema"
        );
    }
    let events = &spec["paths"]["/api/events"]["post"]["requestBody"]["content"]
        ["application/json"]["schema"];
    let one = schema_of(&spec, &events["oneOf"][0]);
    let kinds: Vec<&str> = one["oneOf"]
        .as_array()
        .expect("one schema per kind")
        .iter()
        .map(|r| r["$ref"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"#/components/schemas/Event_class_held"));
    assert!(
        !kinds.contains(&"#/components/schemas/Event_import_completed"),
        "a system kind is not a person's to record"
    );

    let class = &spec["components"]["schemas"]["Event_class_held"];
    assert_eq!(class["properties"]["kind"]["const"], "class_held");
    let data = &class["properties"]["data"];
    assert_eq!(data["additionalProperties"], false);
    let fields = &data["properties"];
    assert_eq!(
        fields["category"]["enum"],
        serde_json::json!(["main", "co_organised", "other"])
    );
    assert_eq!(fields["category"]["x-labels"]["main"]["zh"], "主体班");
    assert_eq!(fields["trainees"]["type"], "integer");
    assert_eq!(fields["trainees"]["maximum"], 100000);
    assert_eq!(fields["session"]["minimum"], 1);
    assert_eq!(fields["teachers"]["type"], "array");
    assert_eq!(fields["class_name"]["title"], "班次名称");
    let required: Vec<&str> = data["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(required.contains(&"class_id") && !required.contains(&"teachers"));

    // A target's metric is a choice of the defined metrics (item 6), and says so here.
    let metric = &spec["components"]["schemas"]["Event_target_set"]["properties"]["data"]
        ["properties"]["metric"];
    let choices = metric["enum"].as_array().expect("the metrics as choices");
    assert!(choices.contains(&Value::from("main_classes")));

    let token = schema_of(
        &spec,
        &spec["paths"]["/api/tokens"]["post"]["requestBody"]["content"]["application/json"]
            ["schema"],
    );
    assert_eq!(
        token["properties"]["role"]["enum"],
        serde_json::json!(["reader", "recorder", "admin"])
    );
}

#[tokio::test]
async fn the_readmes_event_body_is_recorded_and_its_routes_are_listed_issue_17() {
    let readme = include_str!("../../../README.md");
    for needed in [
        "cargo install --path .",
        "target/release/annals",
        "`GET /api/export`",
        "`GET /api/tokens`",
        "`POST /api/events`",
    ] {
        assert!(readme.contains(needed), "the README says {needed}");
    }
    let start = readme.find("```json\n").expect("a JSON body in the README") + 8;
    let end = start + readme[start..].find("```").unwrap();
    let body: Value = serde_json::from_str(&readme[start..end]).expect("the body is JSON");
    let app = spawn_app().await;
    let resp = app.append(&body).await;
    assert_eq!(
        resp.status(),
        StatusCode::CREATED,
        "{:?}",
        resp.text().await
    );
}
