//! Issue 17, item 6: a year's target names a metric that exists. `target_set`'s metric
//! is a choice of the defined metrics, by name or Chinese label, filled in when the
//! configuration is loaded; anything else is refused on every way in (command line,
//! JSON API, JSONL and workbook import), with the choices in the message.
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::{
    helpers::{annals, jsonl, run, TestStore},
    server::app::spawn_app,
};

/// Whether a refusal lists the metrics to choose from, by name or by label (in the
/// message's language).
fn lists_the_metrics(message: &str) -> bool {
    [
        "school_committee_meetings",
        "召开校委会",
        "School committee meetings",
    ]
    .iter()
    .any(|m| message.contains(m))
}

fn target(metric: &str) -> Value {
    json!({
        "kind": "target_set",
        "occurred": "2023-02-10",
        "data": {"year": 2023, "metric": metric, "value": 20},
    })
}

#[test]
fn a_target_for_an_unknown_metric_is_refused_on_the_command_line_and_in_imports_issue_17() {
    let example = TestStore::with_example();
    let refused = example.import(&jsonl(&[target("主体班数")])).unwrap_err();
    let text = refused.to_string() + &format!("{refused:?}");
    assert!(text.contains("主体班数"), "{text}");
    assert!(lists_the_metrics(&text), "the choices are listed: {text}");
    assert!(
        example.try_record(target("main_class")).is_err(),
        "a misspelt name is refused"
    );
    let dir = example.close();

    let typed = |metric: &str| {
        run(annals(dir.path()).args([
            "record",
            "target_set",
            "--occurred",
            "2023-02-10",
            "--set",
            "year=2023",
            "--set",
            &format!("metric={metric}"),
            "--set",
            "value=20",
        ]))
    };
    let refused = typed("主体班数").failed();
    let said = refused.stderr + &refused.stdout;
    assert!(
        said.contains("主体班数") && lists_the_metrics(&said),
        "{said}"
    );
    // The Chinese label a clerk types is the metric's name as stored.
    typed("主体班").ok();
    let log = run(annals(dir.path()).args(["--json", "log", "--kind", "target_set"])).ok();
    assert!(
        log.stdout.matches("\"main_classes\"").count() >= 3,
        "the label was stored as the name: {}",
        log.stdout
    );
}

#[tokio::test]
async fn a_target_for_an_unknown_metric_is_refused_over_http_naming_the_field_issue_17() {
    let app = spawn_app().await;
    let resp = app.append(&target("no_such_metric")).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = resp.json().await.unwrap();
    let error = &problem["errors"][0];
    assert_eq!(error["field"], "data.metric", "{problem}");
    assert!(
        lists_the_metrics(error["reason"].as_str().unwrap()),
        "{problem}"
    );
    app.record(&target("main_sessions")).await;
}

#[test]
fn every_target_in_the_example_names_a_defined_metric_issue_17() {
    // The example (also the demo) imports whole under the configured catalog, so each
    // of its targets passed the choice; and each names a metric the report folds.
    let example = TestStore::with_example();
    let metrics = projections::metric::Metrics::embedded(&events::Catalog::embedded()).unwrap();
    let targets: Vec<_> = example
        .events()
        .into_iter()
        .filter(|e| e.kind == "target_set")
        .collect();
    assert!(!targets.is_empty());
    for e in targets {
        let name = e.data["metric"].as_str().unwrap();
        assert!(metrics.get(name).is_some(), "{name} is a metric");
    }
}

#[test]
fn the_import_templates_target_column_names_the_metrics_to_choose_from_issue_17() {
    let bytes = annals::office::template::write(&crate::helpers::catalog()).unwrap();
    let comments: String = crate::office::parts(&bytes)
        .iter()
        .filter(|p| p.starts_with("xl/comments"))
        .map(|p| crate::office::part(&bytes, p))
        .collect();
    // Too many for Excel's drop-down, so the note lists them instead of promising one.
    assert!(
        comments.contains("指标（必填）：填写以下之一：召开校委会、理论学习中心组学习、"),
        "{comments}"
    );
}

#[test]
fn a_workbook_row_targeting_an_unknown_metric_is_refused_at_its_cell_issue_17() {
    use crate::office::{book, header, import, problems, row};
    let example = TestStore::with_example();
    let workbook = |metric: &'static str| {
        book(move |b| {
            let ws = b.add_worksheet().set_name("设定年度目标")?;
            header(ws, &["日期", "年度", "指标", "目标值"])?;
            row(ws, 1, &["2023-02-10", "2023", metric, "20"])
        })
    };
    let refused = problems(import(&example.store, &workbook("主体班数"), "目标.xlsx"));
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(
        refused[0].contains("设定年度目标!C2") && refused[0].contains("主体班数"),
        "{refused:?}"
    );
    import(&example.store, &workbook("主体班期次"), "目标.xlsx").expect("a label is a choice");
}
