//! `GET /`: the progress page the principal opens every morning, server-rendered, every
//! asset embedded: plan against done, month-by-month charts, the latest events with
//! corrections marked, a form to record an event, and the log's head and verification.
use std::collections::BTreeMap;

use axum::{
    extract::{Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
    Form, Router,
};
use chrono::{Datelike, Utc};
use events::catalog::FieldType;
use projections::{
    facts::Status,
    period::{Bucket, Lang, Period, Query as Figures},
    progress::{self, Pace},
    timeline,
};
use serde::Serialize;
use serde_json::{json, Value};

use super::{auth::Visitor, html, ApiError, AppState, Inner};
use crate::{
    intake::{self, Fields, IntakeError, Recorder, Submission},
    store::{Role, TokenInfo},
};

const LATEST: usize = 20;

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(page))
        .route("/record", post(record))
}

/// The page's query string: the two times, the language and the kind of the form.
#[derive(Debug, Default, serde::Deserialize)]
struct PageQuery {
    on: Option<String>,
    known_at: Option<String>,
    lang: Option<String>,
    kind: Option<String>,
    recorded: Option<u64>,
}

#[derive(Serialize)]
struct Bar {
    label: String,
    unit: String,
    actual: u64,
    target: u64,
    done_pct: f64,
    width_pct: f64,
    elapsed_pct: f64,
    pace: Pace,
    words: String,
}

#[derive(Serialize)]
struct Chart {
    label: String,
    svg: String,
}

#[derive(Serialize)]
struct Row {
    seq: u64,
    occurred: String,
    kind: String,
    summary: String,
    status: Status,
    by: String,
}

#[derive(Serialize)]
struct FormField {
    name: String,
    label: String,
    help: Option<String>,
    required: bool,
    input: &'static str,
    choices: Vec<(String, String)>,
    value: String,
    error: Option<String>,
}

/// What a failed form submission brings back to the page.
#[derive(Default)]
struct FormState {
    kind: Option<String>,
    values: BTreeMap<String, String>,
    errors: BTreeMap<String, String>,
}

fn words(lang: Lang, p: &progress::Progress) -> String {
    let unit = lang.pick(&p.unit_zh, &p.unit_en);
    match lang {
        Lang::Zh => format!(
            "已完成{}{unit}，全年目标{}{unit}（完成{:.1}%，时间过去{:.1}%）{}",
            p.actual,
            p.target,
            p.share_done * 100.0,
            p.share_elapsed * 100.0,
            match p.pace {
                Pace::Done => "，已完成全年目标".to_owned(),
                Pace::OnTrack => "，进度正常".to_owned(),
                Pace::Behind => format!("，落后{}{unit}（约{}天）", p.behind_by, p.behind_by_days),
            }
        ),
        Lang::En => format!(
            "{} of {} {unit} done ({:.1}%, with {:.1}% of the year gone){}",
            p.actual,
            p.target,
            p.share_done * 100.0,
            p.share_elapsed * 100.0,
            match p.pace {
                Pace::Done => ", target reached".to_owned(),
                Pace::OnTrack => ", on track".to_owned(),
                Pace::Behind => format!(", behind by {} ({} days)", p.behind_by, p.behind_by_days),
            }
        ),
    }
}

/// A bar chart of a series, drawn as SVG by the server. The page places it as markup
/// (`| safe`), so every text in it is escaped here.
fn svg(points: &[timeline::Point]) -> String {
    let (w, h, pad) = (360.0_f64, 120.0_f64, 18.0_f64);
    let max = points.iter().map(|p| p.value).max().unwrap_or(0).max(1) as f64;
    let slot = (w - pad) / points.len().max(1) as f64;
    let mut out =
        format!(r#"<svg viewBox="0 0 {w} {h}" role="img" xmlns="http://www.w3.org/2000/svg">"#);
    for (i, p) in points.iter().enumerate() {
        let bh = (h - 2.0 * pad) * p.value as f64 / max;
        let x = pad / 2.0 + i as f64 * slot + slot * 0.15;
        let y = h - pad - bh;
        out.push_str(&format!(
            r##"<rect x="{x:.1}" y="{y:.1}" width="{:.1}" height="{bh:.1}" fill="#b71c1c"><title>{} {}</title></rect>"##,
            slot * 0.7,
            minijinja::HtmlEscape(&p.label),
            p.value
        ));
        if p.value > 0 {
            out.push_str(&format!(
                r#"<text x="{:.1}" y="{:.1}" font-size="10" text-anchor="middle">{}</text>"#,
                x + slot * 0.35,
                y - 2.0,
                p.value
            ));
        }
        out.push_str(&format!(
            r##"<text x="{:.1}" y="{:.1}" font-size="9" text-anchor="middle" fill="#555">{}</text>"##,
            x + slot * 0.35,
            h - 4.0,
            p.period.from().month()
        ));
    }
    out.push_str("</svg>");
    out
}

fn summary(lang: Lang, def: Option<&events::catalog::KindDef>, data: &Value) -> String {
    let Some(def) = def else {
        return data.to_string();
    };
    // Each language's own punctuation: full-width in Chinese only.
    let (colon, semicolon) = match lang {
        Lang::Zh => ("：", "；"),
        Lang::En => (": ", "; "),
    };
    let text: Vec<String> = def
        .present(data)
        .filter(|(f, _)| f.ty != FieldType::Object)
        .map(|(f, v)| {
            format!(
                "{}{colon}{}",
                lang.pick(&f.label_zh, &f.label_en),
                f.display(v, lang == Lang::En)
            )
        })
        .collect();
    let joined = text.join(semicolon);
    if joined.chars().count() > 90 {
        joined.chars().take(90).collect::<String>() + "…"
    } else {
        joined
    }
}

fn render(
    s: &Inner,
    q: &PageQuery,
    who: Option<&TokenInfo>,
    form: FormState,
) -> Result<String, ApiError> {
    let lang: Lang = q
        .lang
        .as_deref()
        .map(str::parse)
        .transpose()?
        .unwrap_or_default();
    let figures = Figures::parse(
        None,
        q.on.as_deref(),
        q.known_at.as_deref(),
        Utc::now(),
        s.config.offset.local_minus_utc(),
    )?;
    let year = figures.on.year();
    let head = s.store.head()?;
    let facts = s.cache.read(&s.store)?;
    let bars: Vec<Bar> = progress::progress(&facts, &s.metrics, year, figures.on, figures.known_at)
        .iter()
        .map(|p| Bar {
            label: lang.pick(&p.label_zh, &p.label_en).to_owned(),
            // "9 / 17个", but "9 / 17 classes": English spaces a number from its unit.
            unit: match lang {
                Lang::Zh => p.unit_zh.clone(),
                Lang::En => format!(" {}", p.unit_en),
            },
            actual: p.actual,
            target: p.target,
            done_pct: p.share_done * 100.0,
            width_pct: (p.share_done * 100.0).min(100.0),
            elapsed_pct: p.share_elapsed * 100.0,
            pace: p.pace,
            words: words(lang, p),
        })
        .collect();
    let year_query = Figures {
        period: Period::year(year),
        ..figures
    };
    let charts: Vec<Chart> = s
        .metrics
        .iter()
        .filter(|m| m.main)
        .map(|m| Chart {
            label: m.label(lang).to_owned(),
            svg: svg(&timeline::series(
                m,
                &facts,
                &year_query,
                Bucket::Month,
                lang,
            )),
        })
        .collect();
    let catalog = s.store.catalog();
    // The facts are in seq order: the latest known are the last ones.
    let rows: Vec<Row> = facts
        .iter()
        .rev()
        .filter(|f| f.recorded_at() <= figures.known_at)
        .take(LATEST)
        .map(|f| {
            let def = catalog.kind(f.kind());
            let data = f.data_at(figures.known_at).unwrap_or(f.original());
            Row {
                seq: f.seq(),
                occurred: f.occurred().to_string(),
                kind: def.map_or(f.kind().to_owned(), |k| {
                    lang.pick(&k.label_zh, &k.label_en).to_owned()
                }),
                summary: summary(lang, def, &data.to_value()),
                status: f.status_at(figures.known_at),
                by: lang.author(f.recorded_by()).to_owned(),
            }
        })
        .collect();
    drop(facts);
    let kind_name = form
        .kind
        .clone()
        .or_else(|| q.kind.clone())
        .unwrap_or_else(|| "class_held".into());
    let def = catalog
        .kind(&kind_name)
        .or_else(|| catalog.kind("class_held"));
    let fields: Vec<FormField> = def
        .map(|d| {
            d.fields
                .iter()
                .map(|f| FormField {
                    name: f.name.clone(),
                    label: lang.pick(&f.label_zh, &f.label_en).to_owned(),
                    help: match lang {
                        Lang::Zh => f.help_zh.clone(),
                        Lang::En => f.help_en.clone(),
                    },
                    required: f.required,
                    input: match f.ty {
                        FieldType::Integer => "number",
                        FieldType::Date => "date",
                        FieldType::Enum => "select",
                        FieldType::Boolean => "checkbox",
                        FieldType::Object => "textarea",
                        _ => "text",
                    },
                    choices: f
                        .values
                        .iter()
                        .map(|e| {
                            (
                                e.value.clone(),
                                lang.pick(&e.label_zh, &e.label_en).to_owned(),
                            )
                        })
                        .collect(),
                    value: form.values.get(&f.name).cloned().unwrap_or_default(),
                    error: form.errors.get(&format!("data.{}", f.name)).cloned(),
                })
                .collect()
        })
        .unwrap_or_default();
    let kinds: Vec<(String, String)> = catalog
        .kinds()
        .filter(|k| !k.system)
        .map(|k| {
            (
                k.name.clone(),
                lang.pick(&k.label_zh, &k.label_en).to_owned(),
            )
        })
        .collect();
    let verified = verification(s)?;
    let half = if figures.on.month() <= 6 { 1 } else { 2 };
    let ctx = json!({
        "lang": lang,
        "zh": lang == Lang::Zh,
        "demo": s.demo,
        "who": who.map(|t| json!({"name": t.name, "role": t.role, "can_record": t.role >= Role::Recorder})),
        "open_reads": s.config.open_reads,
        "on": figures.on.to_string(),
        "known_at": q.known_at.clone().unwrap_or_default(),
        "year": year,
        "elapsed": progress::elapsed(year, figures.on),
        "bars": bars,
        "charts": charts,
        "rows": rows,
        "head": {"seq": head.seq, "hash": head.hash.to_string()},
        "verified": verified,
        "kinds": kinds,
        "kind": def.map(|d| d.name.clone()),
        "kind_label": def.map(|d| lang.pick(&d.label_zh, &d.label_en).to_owned()),
        "occurs_range": def.is_some_and(|d| d.occurs == events::catalog::Occurs::Range),
        "fields": fields,
        "form_values": form.values,
        "form_errors": form.errors,
        "recorded": q.recorded,
        "report_period": format!("{year}H{half}"),
    });
    html::render("page.html", ctx)
}

/// The page's line on the log's verification.
fn verification(s: &Inner) -> Result<Value, ApiError> {
    Ok(match s.verification()?.result {
        Ok(r) => json!({"ok": true, "text": format!("{} {}", r.count, r.head_hash)}),
        Err(f) => json!({"ok": false, "text": f.to_string()}),
    })
}

async fn page(
    State(state): State<AppState>,
    Visitor(caller): Visitor,
    Query(q): Query<PageQuery>,
) -> Result<Response, ApiError> {
    if !state.config.open_reads && caller.is_none() {
        return Ok(html::answer(StatusCode::OK, login_page(q.lang.as_deref())?));
    }
    let body = state
        .blocking(move |s| render(s, &q, caller.as_ref(), FormState::default()))
        .await?;
    Ok(html::answer(StatusCode::OK, body))
}

fn login_page(lang: Option<&str>) -> Result<String, ApiError> {
    html::render("login.html", json!({ "zh": lang != Some("en") }))
}

/// The record form: fields typed as text, converted by the catalog, validated by the
/// same code as the API; on failure the page comes back with each message beside its field.
async fn record(
    State(state): State<AppState>,
    Visitor(caller): Visitor,
    Form(form): Form<BTreeMap<String, String>>,
) -> Result<Response, ApiError> {
    let Some(caller) = caller else {
        return Err(ApiError::Unauthorized(
            "recording needs a recorder token: sign in first".into(),
        ));
    };
    if caller.role < Role::Recorder {
        return Err(ApiError::Forbidden(format!(
            "the token '{}' can read but not record",
            caller.name
        )));
    }
    state.blocking(move |s| record_in(s, &caller, form)).await
}

/// Validates and appends the form's event: a redirect to the page showing it, or the
/// page again with each message beside its field.
fn record_in(
    s: &Inner,
    caller: &TokenInfo,
    form: BTreeMap<String, String>,
) -> Result<Response, ApiError> {
    let lang = form.get("lang").cloned();
    let kind = form.get("kind").cloned().unwrap_or_default();
    let occurred = match (form.get("occurred_from"), form.get("occurred_to")) {
        (Some(a), Some(b)) if !b.trim().is_empty() && b != a => {
            Some(format!("{}..{}", a.trim(), b.trim()))
        }
        (Some(a), _) if !a.trim().is_empty() => Some(a.trim().to_owned()),
        _ => None,
    };
    let fields = form
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("f_")?.to_owned(), v.clone())))
        .collect();
    let submission = Submission {
        kind: kind.clone(),
        occurred,
        fields: Fields::Typed(fields),
        id: None,
    };
    let by = Recorder {
        author: caller.name.clone(),
        expected_seq: None,
    };
    let en = lang.as_deref().and_then(|l| l.parse().ok()) == Some(Lang::En);
    // Each problem beside its field, in the page's language.
    let appended = intake::record(&s.store, submission, by).map_err(|e| match e {
        IntakeError::Refused(problems) => {
            let mut errors = BTreeMap::new();
            for p in problems {
                errors.entry(p.field.clone()).or_insert(p.reason.text(en));
            }
            Ok(errors)
        }
        other => Err(other),
    });
    match appended {
        Ok(receipt) => {
            let seq = receipt.seq;
            // Back to the same language; only known kinds and languages reach the URL.
            let lang = match lang
                .as_deref()
                .and_then(|l| l.parse().ok())
                .unwrap_or_default()
            {
                Lang::Zh => "zh",
                Lang::En => "en",
            };
            Ok(Redirect::to(&format!("/?recorded={seq}&kind={kind}&lang={lang}")).into_response())
        }
        Err(Err(other)) => Err(other.into()),
        Err(Ok(errors)) => {
            let values = form
                .iter()
                .filter_map(|(k, v)| k.strip_prefix("f_").map(|n| (n.to_owned(), v.clone())))
                .chain(
                    form.get("occurred_from")
                        .map(|v| ("occurred_from".to_owned(), v.clone())),
                )
                .chain(
                    form.get("occurred_to")
                        .map(|v| ("occurred_to".to_owned(), v.clone())),
                )
                .collect();
            let q = PageQuery {
                lang,
                ..PageQuery::default()
            };
            let state = FormState {
                kind: Some(kind),
                values,
                errors,
            };
            let body = render(s, &q, Some(caller), state)?;
            Ok(html::answer(StatusCode::UNPROCESSABLE_ENTITY, body))
        }
    }
}
