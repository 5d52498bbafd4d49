//! The page's form to record an event, amend one or void one: its fields built from the
//! catalog, filled from what was sent back, or from the event being corrected, so a
//! clerk edits a correction field by field and never types JSON or an id.
use std::collections::BTreeMap;

use events::{
    catalog::{Catalog, FieldType, KindDef},
    Envelope,
};
use projections::{facts::Facts, period::Lang};
use serde::Serialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::{Inner, PageQuery};

/// Which form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Record a new event.
    New,
    /// Replace an event's fields (`event_amended`).
    Amend,
    /// Take an event out of every figure (`event_voided`).
    Void,
}

impl Mode {
    /// The mode a form or query names; anything else is a new record.
    pub fn named(name: Option<&str>) -> Mode {
        match name {
            Some("amend") => Mode::Amend,
            Some("void") => Mode::Void,
            _ => Mode::New,
        }
    }
}

/// The event a correction form is for, as the clerk sees it in the list.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    /// Its seq.
    pub seq: u64,
    /// Its id, sent back by the form.
    pub id: Uuid,
    /// Its dates.
    pub occurred: String,
    /// Its fields in a line, as last corrected.
    pub summary: String,
}

impl Target {
    /// The target as the list shows it, with its fields as last corrected, or `None`
    /// when a person cannot correct it (a system record, or voided already).
    pub fn of(
        env: &Envelope,
        facts: &Facts,
        catalog: &Catalog,
        lang: Lang,
    ) -> Option<(Self, Value)> {
        let def = catalog
            .kind(&env.kind)
            .filter(|k| !k.system && k.correction.is_none())?;
        let latest = facts.get(env.id)?.latest()?.to_value();
        Some((
            Target {
                seq: env.seq,
                id: env.id,
                occurred: env.occurred.to_string(),
                summary: super::summary(lang, Some(def), &latest),
            },
            latest,
        ))
    }
}

/// A form as it is shown: what is in its fields and the message beside each refused one
/// (keyed by the field's name, or `occurred`, `target`, `reason`, `form`).
#[derive(Debug, Clone)]
pub struct Filled {
    /// Which form.
    pub mode: Mode,
    /// The kind recorded, or the kind of the event corrected.
    pub kind: String,
    /// The event corrected.
    pub target: Option<Target>,
    /// What is in each field, as typed.
    pub values: BTreeMap<String, String>,
    /// The message beside each refused field.
    pub errors: BTreeMap<String, String>,
    /// The form's one-time id: the new event's id, so that sending the form again
    /// (a reload, a double click, the back button) repeats rather than adds.
    pub form_id: Uuid,
}

impl Filled {
    /// A new, empty form of a kind.
    fn new(kind: String) -> Self {
        Filled {
            mode: Mode::New,
            kind,
            target: None,
            values: BTreeMap::new(),
            errors: BTreeMap::new(),
            form_id: Uuid::now_v7(),
        }
    }

    /// The form the page's query asks for: a correction of the event it names, filled
    /// with that event's fields, or a new record of its kind.
    pub fn asked(s: &Inner, facts: &Facts, q: &PageQuery, lang: Lang) -> Self {
        let catalog = s.store.catalog();
        let kind = q
            .kind
            .clone()
            .filter(|k| catalog.kind(k).is_some_and(recordable))
            .unwrap_or_else(|| first_kind(catalog));
        let mode = Mode::named(q.correct.as_deref());
        if mode == Mode::New {
            return Filled::new(kind);
        }
        let typed = q.target.clone().unwrap_or_default();
        let found = s.store.lookup(&typed).ok().flatten();
        match found.and_then(|env| Target::of(&env, facts, catalog, lang).map(|t| (env, t))) {
            Some((env, (target, latest))) => Filled {
                mode,
                values: env_values(catalog.kind(&env.kind), &latest),
                kind: env.kind,
                target: Some(target),
                ..Filled::new(String::new())
            },
            None => {
                let mut form = Filled::new(kind);
                form.values.insert("lookup".into(), typed.clone());
                form.errors
                    .insert("lookup".into(), no_such_event(lang, &typed));
                form
            }
        }
    }

    /// What the template is given.
    pub fn context(&self, catalog: &Catalog, lang: Lang) -> Value {
        let def = catalog.kind(&self.kind);
        let mut kinds: Vec<&KindDef> = catalog.kinds().filter(|k| recordable(k)).collect();
        kinds.sort_by_key(|k| (k.order.unwrap_or(u32::MAX), k.name.clone()));
        let fields: Vec<Value> = match self.mode {
            Mode::Void => Vec::new(),
            _ => def
                .map(|d| d.fields.iter().map(|f| self.field(f, lang)).collect())
                .unwrap_or_default(),
        };
        json!({
            "mode": self.mode,
            "kind": self.kind,
            "kind_label": def.map(|d| lang.pick(&d.label_zh, &d.label_en).to_owned()),
            "kinds": kinds.iter().map(|k| (k.name.clone(), lang.pick(&k.label_zh, &k.label_en).to_owned())).collect::<Vec<_>>(),
            "occurs_range": def.is_some_and(|d| d.occurs == events::catalog::Occurs::Range),
            "fields": fields,
            "values": self.values,
            "errors": self.errors,
            "form_id": self.form_id.to_string(),
            "target": self.target,
        })
    }

    fn field(&self, f: &events::catalog::FieldDef, lang: Lang) -> Value {
        json!({
            "name": f.name,
            "label": lang.pick(&f.label_zh, &f.label_en),
            "help": match lang { Lang::Zh => f.help_zh.clone(), Lang::En => f.help_en.clone() },
            "required": f.required,
            "input": match f.ty {
                FieldType::Integer => "number",
                FieldType::Date => "date",
                FieldType::Enum => "select",
                FieldType::Boolean => "checkbox",
                FieldType::Object => "textarea",
                _ => "text",
            },
            "choices": f.values.iter().map(|e| (e.value.clone(), lang.pick(&e.label_zh, &e.label_en).to_owned())).collect::<Vec<_>>(),
            "value": self.values.get(&f.name).cloned().unwrap_or_default(),
            "error": self.errors.get(&f.name),
        })
    }
}

/// Kinds a person records through the record form: not what Annals writes itself, and
/// not corrections, which have forms of their own.
fn recordable(k: &KindDef) -> bool {
    !k.system && k.correction.is_none()
}

/// The kind the form opens on: the first a clerk looks for.
fn first_kind(catalog: &Catalog) -> String {
    catalog
        .kinds()
        .filter(|k| recordable(k))
        .min_by_key(|k| (k.order.unwrap_or(u32::MAX), k.name.clone()))
        .map(|k| k.name.clone())
        .unwrap_or_default()
}

/// Each field of an event's data as text in its form field, as a person reads it (a
/// list joined by 、, the way the form reads it back); an enum as its stored value, which
/// its choice list selects.
fn env_values(def: Option<&KindDef>, data: &Value) -> BTreeMap<String, String> {
    let Some(def) = def else {
        return BTreeMap::new();
    };
    def.fields
        .iter()
        .filter_map(|f| {
            let v = data.get(&f.name).filter(|v| !v.is_null())?;
            let text = match (f.ty, v) {
                (FieldType::Enum, Value::String(s)) => s.clone(),
                _ => f.display(v, false),
            };
            Some((f.name.clone(), text))
        })
        .collect()
}

/// Said when a seq or id names no event a person may correct.
pub fn no_such_event(lang: Lang, typed: &str) -> String {
    match lang {
        Lang::Zh => format!("没有可更正的第 {typed} 条记录（请填写序号或编号；已作废的记录不能再更正）"),
        Lang::En => format!(
            "there is no event '{typed}' to correct (give its seq or id; a voided event cannot be corrected)"
        ),
    }
}
