//! JSON Schemas of what the API takes, made from the catalog: each kind of event with
//! its own fields, their types and limits, so `/openapi.json` says what a body holds.
use events::{
    catalog::{FieldDef, FieldType, KindDef, DEFAULT_MAX_INT, DEFAULT_MAX_LEN, MAX_LIST_ITEMS},
    Catalog,
};
use serde_json::{json, Map, Value};

/// The name under `components/schemas` of one kind's event.
fn event_name(kind: &KindDef) -> String {
    format!("Event_{}", kind.name)
}

/// A `$ref` to a named schema.
pub fn reference(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// Every schema the bodies refer to: one per kind a person may record, `Event` (any of
/// them, told apart by `kind`) and `NewToken`.
pub fn components(catalog: &Catalog) -> Map<String, Value> {
    let mut schemas = Map::new();
    let mut mapping = Map::new();
    let mut any = Vec::new();
    // The store refuses system kinds (`import_completed`) from a person.
    for kind in catalog.kinds().filter(|k| !k.system) {
        let name = event_name(kind);
        mapping.insert(
            kind.name.clone(),
            json!(format!("#/components/schemas/{name}")),
        );
        any.push(reference(&name));
        schemas.insert(name, event(kind));
    }
    schemas.insert(
        "Event".into(),
        json!({
            "oneOf": any,
            "discriminator": {"propertyName": "kind", "mapping": mapping},
        }),
    );
    schemas.insert(
        "NewToken".into(),
        json!({
            "type": "object",
            "required": ["name", "role"],
            "additionalProperties": false,
            "properties": {
                "name": {"type": "string", "description": "Who holds it (办公室, 教务科…); becomes recorded_by on what it records"},
                "role": {"type": "string", "enum": ["reader", "recorder", "admin"]},
                "expires_in_days": {"type": "integer", "minimum": 1, "description": "Days until it stops working; never when absent"},
            },
        }),
    );
    schemas
}

/// The body of `POST /api/events`: one event, a list, or a list with the head it expects.
pub fn events_body() -> Value {
    json!({
        "oneOf": [
            reference("Event"),
            {"type": "array", "items": reference("Event"), "minItems": 1},
            {
                "type": "object",
                "required": ["events"],
                "additionalProperties": false,
                "properties": {
                    "events": {"type": "array", "items": reference("Event"), "minItems": 1},
                    "expected_seq": {"type": "integer", "minimum": 0, "description": "Refused (409) unless the log's head is this seq"},
                },
            },
        ],
    })
}

/// One kind's event as a request carries it.
fn event(kind: &KindDef) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for f in &kind.fields {
        properties.insert(f.name.clone(), field(f));
        if f.required {
            required.push(f.name.clone());
        }
    }
    let occurred = match kind.occurs {
        events::catalog::Occurs::Date => "The day: YYYY-MM-DD",
        events::catalog::Occurs::Range => "YYYY-MM-DD, or YYYY-MM-DD..YYYY-MM-DD",
    };
    let mut top = vec!["kind", "data"];
    // A correction takes its day from the event it corrects.
    if kind.correction.is_none() {
        top.push("occurred");
    }
    json!({
        "type": "object",
        "title": format!("{} ({})", kind.label_zh, kind.label_en),
        "required": top,
        "additionalProperties": false,
        "properties": {
            "id": {"type": "string", "format": "uuid", "description": "Given when absent; resending the same id and content is a repeat, not a new event"},
            "kind": {"type": "string", "const": kind.name},
            "version": {"type": "integer", "minimum": 1, "maximum": kind.version, "description": "The schema version the data was written at; the current one when absent"},
            "occurred": {"type": "string", "description": occurred},
            "data": {
                "type": "object",
                "additionalProperties": false,
                "required": required,
                "properties": properties,
            },
        },
    })
}

/// One field's type and limits.
fn field(f: &FieldDef) -> Value {
    let text = || json!({"type": "string", "minLength": 1, "maxLength": f.max_len.unwrap_or(DEFAULT_MAX_LEN)});
    let mut schema = match f.ty {
        FieldType::Text | FieldType::Person => text(),
        FieldType::Integer => json!({
            "type": "integer",
            "minimum": f.min.unwrap_or(0),
            "maximum": f.max.unwrap_or(DEFAULT_MAX_INT),
        }),
        FieldType::Boolean => json!({"type": "boolean"}),
        FieldType::Date => json!({"type": "string", "format": "date"}),
        FieldType::Enum => json!({
            "type": "string",
            "enum": f.values.iter().map(|v| v.value.as_str()).collect::<Vec<_>>(),
            "x-labels": f.values.iter().map(|v| (v.value.clone(), json!({"zh": v.label_zh, "en": v.label_en}))).collect::<Map<_, _>>(),
        }),
        FieldType::List | FieldType::People => {
            json!({"type": "array", "items": text(), "maxItems": MAX_LIST_ITEMS})
        }
        FieldType::Uuid => json!({"type": "string", "format": "uuid"}),
        FieldType::Object => json!({"type": "object"}),
    };
    schema["title"] = json!(f.label_zh);
    let help = f
        .help_en
        .as_deref()
        .map_or(String::new(), |h| format!(": {h}"));
    schema["description"] = json!(format!("{}{help}", f.label_en));
    schema
}
