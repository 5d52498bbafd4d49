//! `POST /record`: the page's form to record, amend or void an event. Fields typed as
//! text are converted by the catalog and validated by the same code as the API; a form
//! sent again is the store's idempotent retry (its one-time id is the event's id); a new
//! event like a live one is held back until the clerk confirms it. On success, back to
//! the page's own day; on failure, the page again with each message beside its field.
use std::collections::BTreeMap;

use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    Form,
};
use events::{
    catalog::{AMENDED, VOIDED},
    NewEvent,
};
use projections::period::Lang;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::{
    form::{no_such_event, Filled, Mode, Target},
    html, Keep, Notes, PageQuery,
};
use crate::{
    http::{auth::Visitor, ApiError, AppState, Inner},
    intake::{self, Fields, IntakeError, Recorder, Submission},
    store::{Role, TokenInfo},
};

/// The form's fields, by name, as sent.
type Sent = BTreeMap<String, String>;

/// The handler: who may record, then the work off the async threads.
pub async fn record(
    State(state): State<AppState>,
    Visitor(caller): Visitor,
    Form(form): Form<Sent>,
) -> Result<Response, ApiError> {
    let keep = kept(&form);
    let Some(caller) = caller else {
        return super::login_page(&keep, StatusCode::UNAUTHORIZED, "record");
    };
    if caller.role < Role::Recorder {
        // The page says so where the form would be.
        let q = PageQuery {
            keep,
            ..PageQuery::default()
        };
        let (_, body) = state
            .blocking(move |s| super::render(s, &q, Some(&caller), Notes::default()))
            .await?;
        return Ok(html::answer(StatusCode::FORBIDDEN, body));
    }
    state
        .blocking(move |s| record_in(s, &caller, &keep, &form))
        .await
}

/// The page's query, from the form's hidden fields.
fn kept(form: &Sent) -> Keep {
    let get = |k: &str| {
        form.get(k)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    Keep {
        on: get("on"),
        known_at: get("known_at"),
        lang: get("lang"),
    }
}

/// A refused field's name as the form knows it: `data.trainees` (or, inside an
/// amendment, `data.data.trainees`) is the field `trainees`.
fn field_of(problem: &str) -> String {
    problem
        .strip_prefix("data.data.")
        .or_else(|| problem.strip_prefix("data."))
        .unwrap_or(problem)
        .to_owned()
}

/// The form read: the submission it makes, and the form as it is shown again if refused
/// (with the messages of the fields that could not be read).
struct Read {
    submission: Submission,
    filled: Filled,
}

fn read(s: &Inner, form: &Sent, lang: Lang) -> Result<Read, ApiError> {
    let catalog = s.store.catalog();
    let mode = Mode::named(form.get("correct").map(String::as_str));
    // Only an id the page could have drawn (a UUIDv7) is taken as the event's: any
    // other, such as the content-derived UUIDv8 a register's row will take, would let a
    // recorder take that id first and have the register's import refused whole.
    let form_id = form
        .get("form_id")
        .and_then(|v| v.trim().parse::<Uuid>().ok())
        .filter(|id| id.get_version_num() == 7)
        .unwrap_or_else(Uuid::now_v7);
    let text = |k: &str| form.get(k).map_or("", |v| v.trim());
    let mut errors = BTreeMap::new();
    let target = match mode {
        Mode::New => None,
        _ => {
            let facts = s.cache.read(&s.store)?;
            let found = s.store.lookup(text("target"))?;
            let target =
                found.and_then(|env| Some((Target::of(&env, &facts, catalog, lang)?.0, env.kind)));
            if target.is_none() {
                errors.insert("target".to_owned(), no_such_event(lang, text("target")));
            }
            target
        }
    };
    // A correction edits the fields of its target's kind, whatever the form says.
    let (target, kind) = match target {
        Some((t, kind)) => (Some(t), kind),
        None => (None, text("kind").to_owned()),
    };
    // A new event's fields are typed text intake converts; an amendment's sit inside
    // its own data, so they are converted here by the same catalog.
    let typed: Vec<(String, String)> = form
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("f_")?.to_owned(), v.clone())))
        .collect();
    let mut data = Map::new();
    if let (Some(def), Mode::Amend) = (catalog.kind(&kind), mode) {
        for f in &def.fields {
            let raw = text(&format!("f_{}", f.name));
            if raw.is_empty() {
                continue;
            }
            match f.coerce(raw) {
                Ok(v) => {
                    data.insert(f.name.clone(), v);
                }
                Err(reason) => {
                    errors.insert(f.name.clone(), reason.text(lang == Lang::En));
                }
            }
        }
    }
    let mut body = Map::new();
    if mode != Mode::New {
        let id = target.as_ref().map(|t| t.id.to_string());
        body.insert("target".into(), json!(id.unwrap_or_default()));
        if !text("reason").is_empty() {
            body.insert("reason".into(), json!(text("reason")));
        }
    }
    let (draft_kind, occurred, fields) = match mode {
        Mode::New => (kind.clone(), occurred(form), Fields::Typed(typed)),
        Mode::Amend => {
            body.insert("data".into(), Value::Object(data));
            (AMENDED.to_owned(), None, Fields::Json(Value::Object(body)))
        }
        Mode::Void => (VOIDED.to_owned(), None, Fields::Json(Value::Object(body))),
    };
    Ok(Read {
        submission: Submission {
            id: Some(form_id.to_string()),
            kind: draft_kind,
            occurred,
            fields,
        },
        filled: Filled {
            mode,
            kind,
            target,
            values: values(form),
            errors,
            form_id,
        },
    })
}

fn record_in(
    s: &Inner,
    caller: &TokenInfo,
    keep: &Keep,
    form: &Sent,
) -> Result<Response, ApiError> {
    let lang = keep.lang();
    let Read {
        submission,
        mut filled,
    } = read(s, form, lang)?;
    let event = match intake::validate(s.store.catalog(), submission) {
        Ok(ev) if filled.errors.is_empty() => ev,
        Ok(_) => return again(s, caller, keep, filled, None),
        Err(problems) => return refused(s, caller, keep, filled, problems.iter()),
    };
    if filled.mode == Mode::New {
        if let Some(same) = held_back(s, &event, form, lang)? {
            return again(s, caller, keep, filled, Some(same));
        }
    }
    let by = Recorder {
        author: caller.name.clone(),
        expected_seq: None,
    };
    match intake::append(&s.store, event, by) {
        Ok(receipt) => {
            let seq = receipt.seq.to_string();
            let to = keep.to(&[("recorded", &seq), ("kind", &filled.kind)], "latest");
            Ok(Redirect::to(&to).into_response())
        }
        Err(IntakeError::Refused(problems)) => refused(s, caller, keep, filled, problems.iter()),
        Err(other) => match ApiError::from(other) {
            internal @ ApiError::Internal(_) => Err(internal),
            // Said on the page, above the button, in the page's language.
            refused => {
                let reason = lang.pick(
                    "未能记录，请稍后再试：",
                    "It could not be recorded; try again later: ",
                );
                filled
                    .errors
                    .insert("form".into(), format!("{reason}{refused}"));
                again(s, caller, keep, filled, None)
            }
        },
    }
}

/// The form again with each problem beside its field, in the page's language.
fn refused<'p>(
    s: &Inner,
    caller: &TokenInfo,
    keep: &Keep,
    mut filled: Filled,
    problems: impl Iterator<Item = &'p intake::Problem>,
) -> Result<Response, ApiError> {
    let en = keep.lang() == Lang::En;
    for p in problems {
        filled
            .errors
            .entry(field_of(&p.field))
            .or_insert_with(|| p.reason.text(en));
    }
    again(s, caller, keep, filled, None)
}

/// The live event this new one looks like, unless the clerk has confirmed it or the
/// form is being sent again (its id is in the log: the store answers the first seq).
fn held_back(
    s: &Inner,
    event: &NewEvent,
    form: &Sent,
    lang: Lang,
) -> Result<Option<Value>, ApiError> {
    let (Some(def), Some(occurred)) = (s.store.catalog().kind(event.kind()), event.occurred())
    else {
        return Ok(None);
    };
    if def.identity.is_empty() || s.store.get(event.id())?.is_some() {
        return Ok(None);
    }
    let confirmed = form.get("confirm_same").and_then(|v| v.parse::<u64>().ok());
    let facts = s.cache.read(&s.store)?;
    let same = projections::same::live_match(&facts, def, occurred, &event.data(), None);
    Ok(same.filter(|f| Some(f.seq()) != confirmed).map(|f| {
        let data = f.latest().map(|d| d.to_value()).unwrap_or_default();
        json!({"seq": f.seq(), "occurred": f.occurred().to_string(), "summary": super::summary(lang, Some(def), &data)})
    }))
}

/// The dates typed: one day, or a range when the second differs.
fn occurred(form: &Sent) -> Option<String> {
    let day = |k: &str| form.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    match (day("occurred_from"), day("occurred_to")) {
        (Some(a), Some(b)) if a != b => Some(format!("{a}..{b}")),
        (Some(a), _) => Some(a.to_owned()),
        _ => None,
    }
}

/// What was typed, to fill the form again.
fn values(form: &Sent) -> BTreeMap<String, String> {
    form.iter()
        .filter_map(|(k, v)| match k.strip_prefix("f_") {
            Some(name) => Some((name.to_owned(), v.clone())),
            None => ["occurred_from", "occurred_to", "reason", "target"]
                .contains(&k.as_str())
                .then(|| (k.clone(), v.clone())),
        })
        .collect()
}

/// The page again with the form as sent: refused (422) with each message beside its
/// field, or held back as a likely repeat (409) with a button that records it anyway.
fn again(
    s: &Inner,
    caller: &TokenInfo,
    keep: &Keep,
    filled: Filled,
    same: Option<Value>,
) -> Result<Response, ApiError> {
    let status = match same {
        Some(_) => StatusCode::CONFLICT,
        None => StatusCode::UNPROCESSABLE_ENTITY,
    };
    let q = PageQuery {
        keep: keep.clone(),
        ..PageQuery::default()
    };
    let notes = Notes {
        form: Some(filled),
        same,
        login_refused: false,
    };
    let (_, body) = super::render(s, &q, Some(caller), notes)?;
    Ok(html::answer(status, body))
}
