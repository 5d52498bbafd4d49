//! The catalog of event kinds: what an institution records, each kind's fields, their
//! types and labels. It is data (one TOML file per kind), so a school can add a kind
//! without a compiler; the defaults are embedded at build time.
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{
    canonical,
    error::{excerpt, Error},
    message::{Choice, Got, Reason},
    occurred::parse_date,
    FieldError,
};

mod coerce;
mod normalise;

pub use coerce::{number_text, Input};

/// The catalog files embedded at build time, so adding a kind is adding a file.
static EMBEDDED: include_dir::Dir<'static> =
    include_dir::include_dir!("$CARGO_MANIFEST_DIR/catalog");

/// `(file name, contents)` of the files of an embedded folder whose names end in `ext`,
/// sorted by name: the form every loader of data files takes.
pub fn embedded_files(
    dir: &'static include_dir::Dir<'static>,
    ext: &str,
) -> Vec<(&'static str, &'static str)> {
    let mut files: Vec<(&str, &str)> = dir
        .files()
        .filter_map(|f| {
            let name = f.path().file_name()?.to_str()?;
            Some((name, f.contents_utf8()?))
        })
        .filter(|(name, _)| name.ends_with(ext))
        .collect();
    files.sort();
    files
}

/// The kind that amends an earlier event; every catalog defines it.
pub const AMENDED: &str = "event_amended";
/// The kind that voids an earlier event; every catalog defines it.
pub const VOIDED: &str = "event_voided";
/// The kind that sets a year's target for a metric; every catalog defines it.
pub const TARGET_SET: &str = "target_set";
/// The kind the store writes at the end of an import; every catalog defines it.
pub const IMPORT_COMPLETED: &str = "import_completed";

/// The largest `data` payload accepted, in canonical bytes.
pub const MAX_PAYLOAD_BYTES: usize = 64 * 1024;
/// Text fields without their own `max_len` are limited to this many characters.
pub const DEFAULT_MAX_LEN: usize = 200;
/// Integer fields without their own `max` are limited to this.
pub const DEFAULT_MAX_INT: u64 = 1_000_000_000;
/// The most items a list field may hold.
pub const MAX_LIST_ITEMS: usize = 200;

/// Whether a kind happens on one day or over a range of days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Occurs {
    /// One day.
    Date,
    /// A range such as a class's session; one day is also accepted.
    Range,
}

/// The kind of correction a kind performs, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Correction {
    /// Replaces the target's data.
    Amend,
    /// Removes the target from every figure.
    Void,
}

/// The type of one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    /// Free text, up to `max_len` characters.
    Text,
    /// A whole number between `min` (default 0) and `max`.
    Integer,
    /// Yes or no.
    Boolean,
    /// A day, `YYYY-MM-DD`.
    Date,
    /// One of the labelled `values`.
    Enum,
    /// A list of text items.
    List,
    /// A reference to one person (their name or staff id).
    Person,
    /// A list of person references.
    People,
    /// The id of another event.
    Uuid,
    /// A JSON object, checked by the kind's own rules (corrections carry one).
    Object,
}

/// One allowed value of an enum field.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnumValue {
    /// The stored value.
    pub value: String,
    /// The Chinese label.
    pub label_zh: String,
    /// The English label.
    pub label_en: String,
}

/// One field of a kind.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldDef {
    /// The field's name in `data`.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub ty: FieldType,
    /// Whether an event without it is refused.
    #[serde(default)]
    pub required: bool,
    /// The Chinese label (column header, form label).
    pub label_zh: String,
    /// The English label.
    pub label_en: String,
    /// A hint for the person filling it in, in Chinese.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help_zh: Option<String>,
    /// The same hint in English.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help_en: Option<String>,
    /// The longest text allowed, in characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_len: Option<usize>,
    /// The smallest integer allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<u64>,
    /// The largest integer allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u64>,
    /// The values of an enum field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<EnumValue>,
}

/// A rule that lifts data written at one schema version to the next.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Upcast {
    /// The version this rule reads; it produces `from + 1`.
    pub from: u32,
    /// Fields renamed, old name to new name.
    #[serde(default)]
    pub rename: BTreeMap<String, String>,
    /// Values for fields that older versions did not have.
    #[serde(default)]
    pub defaults: BTreeMap<String, Value>,
}

/// One kind of event.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KindDef {
    /// The kind's name, in the past tense (`class_held`).
    pub name: String,
    /// The current schema version.
    #[serde(default = "one")]
    pub version: u32,
    /// The Chinese label.
    pub label_zh: String,
    /// The English label.
    pub label_en: String,
    /// Whether it happens on a day or over a range.
    pub occurs: Occurs,
    /// Set on `event_amended` and `event_voided`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correction: Option<Correction>,
    /// Set on kinds only the system writes (`import_completed`).
    #[serde(default)]
    pub system: bool,
    /// The fields, in the order forms and sheets show them.
    #[serde(rename = "field", default)]
    pub fields: Vec<FieldDef>,
    /// Upcasting rules from older versions, oldest first.
    #[serde(rename = "upcast", default, skip_serializing_if = "Vec::is_empty")]
    pub upcasts: Vec<Upcast>,
    /// The fields that, with the dates, say two events of this kind are the same
    /// happening (a class's id and session): a new one matching a live one is held back
    /// as a likely repeat. Empty: no such check.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identity: Vec<String>,
    /// Where forms list the kind, smallest first (then by name): the order a clerk
    /// looks for them in, not the names' alphabet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<u32>,
}

fn one() -> u32 {
    1
}

impl KindDef {
    /// The field of that name, if the kind has one.
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// For a correction kind: what it does and the event its `data` targets.
    pub fn correction_target(&self, data: &Value) -> Option<(Correction, uuid::Uuid)> {
        let target = data.get("target")?.as_str()?.parse().ok()?;
        Some((self.correction?, target))
    }

    /// Checks `data` against the fields, returning every failure (not just the first).
    pub fn validate_data(&self, data: &Value) -> Vec<FieldError> {
        self.validate_sized(data, canonical::to_vec(data).len())
    }

    /// [`KindDef::validate_data`] for a caller that has already encoded the data and
    /// knows its canonical length (encoding is most of what checking costs).
    pub fn validate_sized(&self, data: &Value, canonical_len: usize) -> Vec<FieldError> {
        let Some(map) = data.as_object() else {
            return vec![FieldError::new("data", Reason::DataNotObject)];
        };
        let mut errors = Vec::new();
        if canonical_len > MAX_PAYLOAD_BYTES {
            errors.push(FieldError::new(
                "data",
                Reason::PayloadTooLarge {
                    kib: MAX_PAYLOAD_BYTES / 1024,
                },
            ));
            return errors;
        }
        for key in map.keys() {
            if self.field(key).is_none() {
                errors.push(FieldError::new(
                    format!("data.{}", excerpt(key)),
                    self.unknown_field(),
                ));
            }
        }
        for f in &self.fields {
            match map.get(&f.name) {
                None | Some(Value::Null) if f.required => errors.push(FieldError::new(
                    format!("data.{}", f.name),
                    Reason::Required {
                        label: f.label_zh.clone(),
                    },
                )),
                None | Some(Value::Null) => {}
                Some(v) => {
                    if let Err(reason) = f.check(v) {
                        errors.push(FieldError::new(format!("data.{}", f.name), reason));
                    }
                }
            }
        }
        errors
    }

    /// Why a field this kind does not have is refused: the fields it has.
    pub fn unknown_field(&self) -> Reason {
        Reason::UnknownField {
            kind: self.name.clone(),
            known: self.fields.iter().map(|f| f.name.clone()).collect(),
        }
    }

    /// The fields `data` holds, in the catalog's order, with their values.
    pub fn present<'a>(
        &'a self,
        data: &'a Value,
    ) -> impl Iterator<Item = (&'a FieldDef, &'a Value)> + 'a {
        self.fields
            .iter()
            .filter_map(move |f| Some((f, data.get(&f.name)?)))
    }

    /// `data` written at `version` as the current version reads it: borrowed when it is
    /// current already, lifted otherwise.
    pub fn current<'a>(&self, version: u32, data: &'a Value) -> std::borrow::Cow<'a, Value> {
        if version < self.version {
            std::borrow::Cow::Owned(self.upcast(version, data.clone()))
        } else {
            std::borrow::Cow::Borrowed(data)
        }
    }

    /// Lifts `data` written at `version` to the current version.
    pub fn upcast(&self, version: u32, mut data: Value) -> Value {
        for rule in self.upcasts.iter().filter(|u| u.from >= version) {
            if let Some(map) = data.as_object_mut() {
                for (old, new) in &rule.rename {
                    if let Some(v) = map.remove(old) {
                        map.insert(new.clone(), v);
                    }
                }
                for (k, v) in &rule.defaults {
                    map.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
        }
        data
    }
}

impl FieldDef {
    fn max_len(&self) -> usize {
        self.max_len.unwrap_or(DEFAULT_MAX_LEN)
    }

    /// Checks one value against this field's type and limits.
    pub fn check(&self, v: &Value) -> Result<(), Reason> {
        let got = || Got::of(v);
        match self.ty {
            FieldType::Text | FieldType::Person => self.check_text(v),
            FieldType::Integer => {
                // A number below zero or text names the value as typed input does, so
                // every way in refuses the same bad value with the same words.
                let n = v.as_u64().ok_or_else(|| match (v.as_i64(), v.as_str()) {
                    (Some(n), _) => Reason::NotWholeNumber { got: n.to_string() },
                    (None, Some(s)) => Reason::NotWholeNumber {
                        got: excerpt(s).into_owned(),
                    },
                    (None, None) => Reason::NotNumber { got: got() },
                })?;
                let (min, max) = (self.min.unwrap_or(0), self.max.unwrap_or(DEFAULT_MAX_INT));
                if n < min || n > max {
                    return Err(Reason::OutOfRange { min, max, got: n });
                }
                Ok(())
            }
            FieldType::Boolean => v
                .is_boolean()
                .then_some(())
                .ok_or_else(|| Reason::NotBoolean { got: got() }),
            FieldType::Date => {
                let s = v
                    .as_str()
                    .ok_or_else(|| Reason::NotDateValue { got: got() })?;
                parse_date(s).map(|_| ())
            }
            FieldType::Enum => {
                let s = v
                    .as_str()
                    .ok_or_else(|| Reason::NotEnumValue { got: got() })?;
                if self.values.iter().any(|e| e.value == s) {
                    Ok(())
                } else {
                    Err(self.not_one_of(s))
                }
            }
            FieldType::List | FieldType::People => {
                let items = v.as_array().ok_or_else(|| Reason::NotList { got: got() })?;
                if items.len() > MAX_LIST_ITEMS {
                    return Err(Reason::TooManyItems {
                        max: MAX_LIST_ITEMS,
                    });
                }
                for (i, item) in items.iter().enumerate() {
                    self.check_text(item).map_err(|r| Reason::Item {
                        n: i + 1,
                        reason: Box::new(r),
                    })?;
                }
                Ok(())
            }
            FieldType::Uuid => v
                .as_str()
                .and_then(|s| uuid::Uuid::parse_str(s).ok())
                .map(|_| ())
                .ok_or_else(|| Reason::NotEventId { got: got() }),
            FieldType::Object => v
                .is_object()
                .then_some(())
                .ok_or_else(|| Reason::NotObject { got: got() }),
        }
    }

    fn check_text(&self, v: &Value) -> Result<(), Reason> {
        let s = v
            .as_str()
            .ok_or_else(|| Reason::NotText { got: Got::of(v) })?;
        if s.trim().is_empty() {
            return Err(Reason::Empty);
        }
        let n = s.chars().count();
        if n > self.max_len() {
            return Err(Reason::TooLong {
                len: n,
                max: self.max_len(),
            });
        }
        if s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
            return Err(Reason::ControlCharacters);
        }
        Ok(())
    }

    /// A value as a person reads it: an enum's label (Chinese, or English when `en`),
    /// a list joined with 、, anything else as written.
    pub fn display(&self, v: &Value, en: bool) -> String {
        match v {
            Value::String(s) => self.values.iter().find(|e| e.value == *s).map_or_else(
                || s.clone(),
                |e| {
                    if en {
                        e.label_en.clone()
                    } else {
                        e.label_zh.clone()
                    }
                },
            ),
            Value::Array(items) => items
                .iter()
                .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
                .collect::<Vec<_>>()
                .join("、"),
            other => other.to_string(),
        }
    }

    /// The enum value `typed` names: a value, its Chinese label or its English label.
    pub fn enum_value(&self, typed: &str) -> Option<&EnumValue> {
        self.values.iter().find(|e| e.value == typed).or_else(|| {
            self.values
                .iter()
                .find(|e| e.label_zh == typed || e.label_en.eq_ignore_ascii_case(typed))
        })
    }

    /// Why `got` is refused by this enum field.
    fn not_one_of(&self, got: &str) -> Reason {
        Reason::NotOneOf {
            got: excerpt(got).into_owned(),
            choices: self
                .values
                .iter()
                .map(|e| Choice {
                    value: e.value.clone(),
                    label_zh: e.label_zh.clone(),
                })
                .collect(),
        }
    }
}

/// The whole catalog: every kind by name.
#[derive(Debug, Clone, Serialize)]
pub struct Catalog {
    kinds: BTreeMap<String, KindDef>,
}

impl Catalog {
    /// The catalog embedded in the binary.
    pub fn embedded() -> Self {
        Self::from_files(embedded_files(&EMBEDDED, ".toml")).expect("the embedded catalog is valid")
    }

    /// Builds a catalog from `(file name, TOML text)` pairs, refusing duplicate or
    /// malformed kinds with the file named.
    pub fn from_files<'a>(
        files: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, Error> {
        let mut kinds = BTreeMap::new();
        for (file, text) in files {
            let bad = |reason: String| Error::Catalog {
                file: file.to_owned(),
                reason,
            };
            let kind: KindDef = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
            if !kind
                .name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '_')
                || kind.name.is_empty()
            {
                return Err(bad(format!(
                    "kind name '{}' must be lower_snake_case",
                    kind.name
                )));
            }
            for f in &kind.fields {
                if f.ty == FieldType::Enum && f.values.is_empty() {
                    return Err(bad(format!("enum field '{}' lists no values", f.name)));
                }
                if kind.fields.iter().filter(|g| g.name == f.name).count() > 1 {
                    return Err(bad(format!("field '{}' is defined twice", f.name)));
                }
            }
            if let Some(unknown) = kind.identity.iter().find(|n| kind.field(n).is_none()) {
                return Err(bad(format!(
                    "identity names '{unknown}', which is not a field"
                )));
            }
            if kinds.contains_key(&kind.name) {
                return Err(bad(format!("kind '{}' is defined twice", kind.name)));
            }
            kinds.insert(kind.name.clone(), kind);
        }
        for required in [AMENDED, VOIDED, IMPORT_COMPLETED, TARGET_SET] {
            if !kinds.contains_key(required) {
                return Err(Error::Catalog {
                    file: format!("{required}.toml"),
                    reason: format!("the catalog must define '{required}'"),
                });
            }
        }
        Ok(Self { kinds })
    }

    /// The kind of that name.
    pub fn kind(&self, name: &str) -> Option<&KindDef> {
        self.kinds.get(name)
    }

    /// Every kind, by name.
    pub fn kinds(&self) -> impl Iterator<Item = &KindDef> {
        self.kinds.values()
    }

    /// Makes a kind's field a choice of `values`: the application fills `target_set`'s
    /// metric from the metric definitions, which only it knows, so the ordinary enum
    /// check refuses a target for a metric that does not exist.
    pub fn set_choices(
        &mut self,
        kind: &str,
        field: &str,
        values: Vec<EnumValue>,
    ) -> Result<(), Error> {
        let f = self
            .kinds
            .get_mut(kind)
            .and_then(|k| k.fields.iter_mut().find(|f| f.name == field))
            .ok_or_else(|| Error::Catalog {
                file: format!("{kind}.toml"),
                reason: format!("the catalog has no field '{field}' of '{kind}'"),
            })?;
        f.ty = FieldType::Enum;
        f.values = values;
        Ok(())
    }

    /// The kind of that name, or a field error listing the known kinds.
    pub fn require_kind(&self, name: &str) -> Result<&KindDef, FieldError> {
        self.kind(name).ok_or_else(|| {
            FieldError::new(
                "kind",
                Reason::UnknownKind {
                    got: excerpt(name).into_owned(),
                    known: self.kinds.keys().cloned().collect(),
                },
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_embedded_catalog_loads() {
        let c = Catalog::embedded();
        for k in [
            "class_held",
            "lecture_given",
            "project_applied",
            "project_approved",
            "result_submitted",
            "placement_started",
            "placement_ended",
            "meeting_held",
            "outreach_done",
            "commendation_given",
            "election_completed",
            "course_developed",
            "site_designated",
            "visit_hosted",
            "group_formed",
            "target_set",
            "event_amended",
            "event_voided",
            "import_completed",
        ] {
            assert!(c.kind(k).is_some(), "missing {k}");
        }
    }

    #[test]
    fn every_failing_field_is_reported() {
        let c = Catalog::embedded();
        let k = c.kind("class_held").unwrap();
        let errs = k.validate_data(
            &json!({"class_id": "a", "category": "nope", "trainees": 100001, "colour": "red"}),
        );
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert!(fields.contains(&"data.colour"));
        assert!(fields.contains(&"data.category"));
        assert!(fields.contains(&"data.trainees"));
        assert!(fields.contains(&"data.class_name"));
        assert!(fields.contains(&"data.session"));
    }

    #[test]
    fn an_upcaster_renames_and_fills_fields() {
        let toml = r#"
            name = "thing_done"
            version = 3
            label_zh = "事"
            label_en = "Thing"
            occurs = "date"
            [[field]]
            name = "title"
            type = "text"
            label_zh = "题"
            label_en = "Title"
            [[upcast]]
            from = 1
            rename = { name = "title" }
            [[upcast]]
            from = 2
            defaults = { count = 1 }
        "#;
        let k: KindDef = toml::from_str(toml).unwrap();
        let before = json!({"name": "x"});
        assert_eq!(k.upcast(1, before), json!({"title": "x", "count": 1}));
        assert_eq!(
            k.upcast(2, json!({"title": "y"})),
            json!({"title": "y", "count": 1})
        );
        assert_eq!(k.upcast(3, json!({"title": "z"})), json!({"title": "z"}));
    }

    #[test]
    fn a_malformed_catalog_file_is_named() {
        let err = Catalog::from_files([("bad.toml", "name = 3")]).unwrap_err();
        assert!(err.to_string().starts_with("catalog file bad.toml:"));
    }

    #[test]
    fn an_identity_names_fields_of_its_kind() {
        let catalog = Catalog::embedded();
        let class = catalog.kind("class_held").unwrap();
        assert_eq!(class.identity, ["class_id", "session"]);
        let text = "name = \"x_done\"\nlabel_zh = \"x\"\nlabel_en = \"x\"\noccurs = \"date\"\nidentity = [\"nope\"]\n";
        let err = Catalog::from_files([("x_done.toml", text)]).unwrap_err();
        assert!(err.to_string().contains("identity names 'nope'"), "{err}");
    }
}
