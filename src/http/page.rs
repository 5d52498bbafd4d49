//! `GET /`: the progress page a school office opens every morning, server-rendered from
//! one template: plan against done, month-by-month charts, the latest events (each with
//! its 更正 / 作废 actions), the forms, the report's links, and the log's verification.
use axum::{
    extract::{Query, State},
    http::StatusCode,
    response::Response,
    routing::{get, post},
    Router,
};
use chrono::{Datelike, NaiveDate, Utc};
use events::catalog::FieldType;
use projections::{
    facts::{Facts, Status},
    period::{Bucket, Lang, Period, Query as Figures},
    progress::{self, Pace},
    timeline,
};
use serde::Serialize;
use serde_json::{json, Value};

use super::{auth::Visitor, html, ApiError, AppState, Inner};
use crate::store::{Role, TokenInfo};

mod chart;
mod form;
mod keep;
mod record;

pub use keep::Keep;

const LATEST: usize = 20;

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(page))
        .route("/record", post(record::record))
}

/// The page's query string: the two times and the language (kept across every form and
/// redirect, see [`Keep`]), the kind of the record form, the seq just recorded, and the
/// correction form asked for. All text: a bad value is said on the page, not
/// answered with an error the browser shows as JSON.
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct PageQuery {
    #[serde(flatten)]
    keep: Keep,
    kind: Option<String>,
    recorded: Option<String>,
    /// `amend` or `void`: open that correction form for `target`.
    correct: Option<String>,
    /// The event to correct: its seq or its id.
    target: Option<String>,
}

impl PageQuery {
    /// The page of that day and language, nothing more.
    pub fn kept(keep: Keep) -> Self {
        PageQuery {
            keep,
            ..PageQuery::default()
        }
    }
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
    /// Whether a person may correct it (not a system record).
    correctable: bool,
}

/// What a refused or held-back POST brings back to the page besides its query.
#[derive(Default)]
pub struct Notes {
    /// The form as it was sent, with a message beside each refused field.
    form: Option<form::Filled>,
    /// The live event a new one looks like: `{seq, summary}`.
    same: Option<Value>,
    /// The token given at 登录 was refused.
    login_refused: bool,
}

impl Notes {
    /// The token given at 登录 was refused: said beside the token field.
    pub fn login_refused() -> Self {
        Notes {
            login_refused: true,
            ..Notes::default()
        }
    }
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

/// An event's fields in a line, as a person reads them. A file's name is shown without
/// the folders it was in: an import run at the command line records the path it was
/// given, which says nothing to a reader and something about the importer's computer.
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
        .filter(|(f, _)| f.ty != FieldType::Object && f.name != "file_sha256")
        .map(|(f, v)| {
            let shown = f.display(v, lang == Lang::En);
            let shown = match f.name.as_str() {
                "file_name" => shown.rsplit(['/', '\\']).next().unwrap_or("").to_owned(),
                _ => shown,
            };
            format!("{}{colon}{}", lang.pick(&f.label_zh, &f.label_en), shown)
        })
        .collect();
    let joined = text.join(semicolon);
    if joined.chars().count() > 90 {
        joined.chars().take(90).collect::<String>() + "…"
    } else {
        joined
    }
}

/// The day the page opens on when none is asked for: today, or, for a store holding the
/// demo (which is all in the past), the end of the half-year most of its events
/// occurred in, so the address the server prints opens on figures rather than on an
/// empty year. (The demo is 2023's first half; its plans for the second are dated July.)
fn default_on(s: &Inner, facts: &Facts, today: NaiveDate) -> Option<String> {
    if !s.demo {
        return None;
    }
    let catalog = s.store.catalog();
    let mut halves: std::collections::BTreeMap<(i32, bool), usize> = Default::default();
    for f in facts.iter() {
        let day = f.occurred().start();
        if day <= today && catalog.kind(f.kind()).is_some_and(|k| !k.system) {
            *halves.entry((day.year(), day.month() > 6)).or_default() += 1;
        }
    }
    let (&(year, second), _) = halves.iter().max_by_key(|(half, n)| (**n, **half))?;
    let end = match second {
        false => NaiveDate::from_ymd_opt(year, 6, 30),
        true => NaiveDate::from_ymd_opt(year, 12, 31),
    }?;
    Some(end.min(today).to_string())
}

type Times = (Figures, Option<(&'static str, String)>);

fn times(s: &Inner, q: &Keep, facts: &Facts, lang: Lang) -> Result<Times, ApiError> {
    let now = Utc::now();
    let offset = s.config.offset.local_minus_utc();
    let today = now.with_timezone(&s.config.offset).date_naive();
    let on = q.on.clone().or_else(|| default_on(s, facts, today));
    let parse =
        |on: Option<&str>, known: Option<&str>| Figures::parse(None, on, known, now, offset);
    if let Ok(f) = parse(on.as_deref(), q.known_at.as_deref()) {
        return Ok((f, None));
    }
    let message = lang
        .pick(
            "请按 2023-06-30 的格式填写日期",
            "write the date as 2023-06-30",
        )
        .to_owned();
    let (field, good_on, good_known) = if parse(on.as_deref(), None).is_err() {
        ("on", None, q.known_at.as_deref())
    } else {
        ("known_at", on.as_deref(), None)
    };
    let figures = parse(good_on, good_known).or_else(|_| parse(None, None))?;
    Ok((figures, Some((field, message))))
}

/// The page as its query and the notes of a POST ask, with the status it is answered
/// with (400 when the query's dates could not be read).
pub fn render(
    s: &Inner,
    q: &PageQuery,
    who: Option<&TokenInfo>,
    notes: Notes,
) -> Result<(StatusCode, String), ApiError> {
    let lang = q.keep.lang();
    let facts = s.cache.read(&s.store)?;
    let (figures, bad_time) = times(s, &q.keep, &facts, lang)?;
    let status = match bad_time {
        Some(_) => StatusCode::BAD_REQUEST,
        None => StatusCode::OK,
    };
    let year = figures.on.year();
    let head = s.store.head()?;
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
            svg: chart::svg(
                &timeline::series(m, &facts, &year_query, Bucket::Month, lang),
                lang,
            ),
        })
        .collect();
    let catalog = s.store.catalog();
    // The facts are in seq order: the latest known are the last ones. Only what had
    // occurred by the page's day, as the figures count it.
    let rows: Vec<Row> = facts
        .iter()
        .rev()
        .filter(|f| f.recorded_at() <= figures.known_at && f.occurred().start() <= figures.on)
        .take(LATEST)
        .map(|f| {
            let def = catalog.kind(f.kind());
            let data = f.data_at(figures.known_at).unwrap_or(f.original());
            let status = f.status_at(figures.known_at);
            Row {
                seq: f.seq(),
                occurred: f.occurred().to_string(),
                kind: def.map_or(f.kind().to_owned(), |k| {
                    lang.pick(&k.label_zh, &k.label_en).to_owned()
                }),
                summary: summary(lang, def, &data.to_value()),
                correctable: def.is_some_and(|k| !k.system) && f.latest().is_some(),
                status,
                by: lang.author(f.recorded_by()).to_owned(),
            }
        })
        .collect();
    let filled = match notes.form {
        Some(filled) => filled,
        None => form::Filled::asked(s, &facts, q, lang),
    };
    drop(facts);
    let form = filled.context(catalog, lang);
    let verified = verification(s)?;
    let half = if figures.on.month() <= 6 { 1 } else { 2 };
    // What the forms and links keep is the query as asked (a page opened on no day
    // stays on today's, or the demo's, tomorrow too), less a date that could not be read.
    let mut keep = q.keep.clone();
    match bad_time {
        Some(("on", _)) => keep.on = None,
        Some(_) => keep.known_at = None,
        None => {}
    }
    let ctx = json!({
        "lang": lang,
        "zh": lang == Lang::Zh,
        "demo": s.demo,
        "who": who.map(|t| json!({"name": t.name, "role": t.role, "can_record": t.role >= Role::Recorder})),
        "open_reads": s.config.open_reads,
        "on": figures.on.to_string(),
        "known_at": q.keep.known_at.clone().unwrap_or_default(),
        "time_error": bad_time.as_ref().map(|(field, message)| json!({"field": field, "message": message})),
        "keep": keep.query(),
        "held": keep,
        "other_lang": Keep { lang: Some(lang.pick("en", "zh").to_owned()), ..keep.clone() }.query(),
        "year": year,
        "elapsed": progress::elapsed(year, figures.on),
        "bars": bars,
        "charts": charts,
        "rows": rows,
        "head": {"seq": head.seq, "hash": head.hash.to_string()},
        "verified": verified,
        "form": form,
        "same": notes.same,
        "login_refused": notes.login_refused,
        "recorded": q.recorded.as_deref().and_then(|r| r.parse::<u64>().ok()),
        "report_period": format!("{year}H{half}"),
    });
    Ok((status, html::render("page.html", ctx)?))
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
        return login_page(&q.keep, StatusCode::OK, "");
    }
    let (status, body) = state
        .blocking(move |s| render(s, &q, caller.as_ref(), Notes::default()))
        .await?;
    Ok(html::answer(status, body))
}

/// The sign-in page (of a server whose reads are closed, or for a form sent without a
/// sign-in), with a message when `why` says one: `refused` (the token was not taken) or
/// `record` (recording needs a sign-in).
pub fn login_page(keep: &Keep, status: StatusCode, why: &str) -> Result<Response, ApiError> {
    let body = html::render(
        "login.html",
        json!({ "zh": keep.lang() == Lang::Zh, "keep": keep, "lang": keep.lang(), "why": why }),
    )?;
    Ok(html::answer(status, body))
}
