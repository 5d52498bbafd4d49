//! An event's data put in canonical form before it is checked and encoded: each text
//! field as [`crate::text`] says, by the field's type, so every way in (form, API,
//! command line, workbook, CSV, JSONL) stores one name one way.
use serde_json::Value;

use super::{coerce::LIST_SEPARATORS, Catalog, FieldDef, FieldType, KindDef};
use crate::text::{normalise, normalise_name};

impl KindDef {
    /// Puts every text of `data` in canonical form: person fields as names, other text
    /// as free text. A field the kind does not have (one renamed since an older version,
    /// or an amendment's replacement data, whose kind only the store knows) gets the
    /// free-text form throughout. Anything that is not text is left as it is.
    pub fn normalise(&self, data: &mut Value) {
        let Some(map) = data.as_object_mut() else {
            return;
        };
        for (name, value) in map.iter_mut() {
            match self.field(name) {
                Some(f) => f.normalise(value),
                None => each_text(value, &mut |s| replace(s, normalise)),
            }
        }
    }
}

impl Catalog {
    /// An amendment's replacement data (`data.data`), whose kind only the store knows:
    /// a field that holds people's names or a list in the catalog's kinds is made
    /// canonical as such, as the event it corrects was, so that one teacher stays one
    /// person in every count after a correction sent through the API or an import, not
    /// only after one made on the page (which converts by the target's kind).
    pub(crate) fn normalise_replacement(&self, amendment: &mut Value) {
        let Some(map) = amendment.get_mut("data").and_then(Value::as_object_mut) else {
            return;
        };
        for (name, value) in map.iter_mut() {
            let named = self
                .kinds()
                .filter(|k| !k.system && k.correction.is_none())
                .filter_map(|k| k.field(name))
                .find(|f| {
                    matches!(
                        f.ty,
                        FieldType::Person | FieldType::People | FieldType::List
                    )
                });
            if let Some(f) = named {
                f.normalise(value);
            }
        }
    }
}

impl FieldDef {
    fn normalise(&self, value: &mut Value) {
        match self.ty {
            FieldType::Person => each_text(value, &mut |s| replace(s, normalise_name)),
            // An item holding a separator is the items it separates, as the form and a
            // cell read it: `["张三、李四"]` from the API is two people, not a third.
            FieldType::People => {
                split_items(value);
                each_text(value, &mut |s| replace(s, normalise_name))
            }
            FieldType::List => {
                split_items(value);
                each_text(value, &mut |s| replace(s, normalise))
            }
            FieldType::Text | FieldType::Object => each_text(value, &mut |s| replace(s, normalise)),
            // An enum's label names its value, on every way in (issue 17 item 3); a
            // value is kept as it is, so no stored event reads differently.
            FieldType::Enum => {
                if let Value::String(s) = value {
                    if let Some(e) = self.enum_value(&normalise(s)) {
                        if e.value != *s {
                            *s = e.value.clone();
                        }
                    }
                }
            }
            // Checked exactly as written: a date, an id.
            _ => {}
        }
    }
}

fn replace(s: &mut String, form: impl Fn(&str) -> std::borrow::Cow<'_, str>) {
    if let std::borrow::Cow::Owned(canonical) = form(s) {
        *s = canonical;
    }
}

/// A list's text items split where they hold a separator, the empty pieces left out.
fn split_items(value: &mut Value) {
    let Value::Array(items) = value else { return };
    let holds = |v: &Value| v.as_str().is_some_and(|s| s.contains(LIST_SEPARATORS));
    if !items.iter().any(holds) {
        return;
    }
    for item in std::mem::take(items) {
        match item {
            Value::String(s) if s.contains(LIST_SEPARATORS) => items.extend(
                s.split(LIST_SEPARATORS)
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(|p| Value::String(p.to_owned())),
            ),
            other => items.push(other),
        }
    }
}

/// Calls `f` on every string inside `value`, however deeply nested.
fn each_text(value: &mut Value, f: &mut impl FnMut(&mut String)) {
    match value {
        Value::String(s) => f(s),
        Value::Array(items) => items.iter_mut().for_each(|v| each_text(v, f)),
        Value::Object(map) => map.values_mut().for_each(|v| each_text(v, f)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::Catalog;

    #[test]
    fn names_and_texts_are_canonical_and_other_values_untouched() {
        let catalog = Catalog::embedded();
        let kind = catalog.kind("class_held").unwrap();
        let mut data = json!({
            "class_id": " 2023-ZT-01\u{200B}",
            "class_name": "乡镇\u{00A0}党委书记班 ",
            "category": "main",
            "session": 1,
            "teachers": [" 张\u{3000}三 ", "李四\u{FEFF}"],
        });
        kind.normalise(&mut data);
        assert_eq!(
            data,
            json!({
                "class_id": "2023-ZT-01",
                "class_name": "乡镇 党委书记班",
                "category": "main",
                "session": 1,
                "teachers": ["张 三", "李四"],
            })
        );
    }

    #[test]
    fn an_enums_chinese_label_becomes_its_value() {
        let catalog = Catalog::embedded();
        let kind = catalog.kind("class_held").unwrap();
        let mut data = json!({"category": "主体班"});
        kind.normalise(&mut data);
        assert_eq!(data["category"], "main");
    }

    #[test]
    fn an_amendments_replacement_data_is_free_text_throughout() {
        let catalog = Catalog::embedded();
        let kind = catalog.kind("event_amended").unwrap();
        let mut data =
            json!({"target": "x", "reason": "更正 ", "data": {"speaker": "张三\u{200B}"}});
        kind.normalise(&mut data);
        assert_eq!(data["data"]["speaker"], "张三");
        assert_eq!(data["reason"], "更正");
    }

    #[test]
    fn an_amendments_names_are_canonical_as_the_events_were() {
        let catalog = Catalog::embedded();
        let mut data = json!({"target": "x", "reason": "更正",
            "data": {"teachers": ["Ｌｉ\u{3000}Ｍｉｎｇ", "张  三"], "class_name": "Ａ班"}});
        catalog.normalise_replacement(&mut data);
        assert_eq!(data["data"]["teachers"], json!(["Li Ming", "张 三"]));
        assert_eq!(
            data["data"]["class_name"], "Ａ班",
            "free text is kept as written"
        );
        let mut new = json!({"teachers": ["Ｌｉ\u{3000}Ｍｉｎｇ"]});
        catalog.kind("class_held").unwrap().normalise(&mut new);
        assert_eq!(new["teachers"][0], data["data"]["teachers"][0]);
    }

    #[test]
    fn a_list_item_holding_a_separator_is_the_items_it_separates() {
        let catalog = Catalog::embedded();
        let kind = catalog.kind("class_held").unwrap();
        let mut data =
            json!({"teachers": ["张三、李四", " 王五 "], "methods": ["讲授式,案例式；"]});
        kind.normalise(&mut data);
        assert_eq!(data["teachers"], json!(["张三", "李四", "王五"]));
        assert_eq!(data["methods"], json!(["讲授式", "案例式"]));
        let mut typed = json!({"teachers": kind.field("teachers").unwrap().coerce("张三、李四, 王五").unwrap()});
        kind.normalise(&mut typed);
        assert_eq!(typed["teachers"], data["teachers"], "as the form reads it");
        let mut amended = json!({"target": "x", "data": {"teachers": ["张三、李四", "王五"]}});
        catalog.normalise_replacement(&mut amended);
        assert_eq!(amended["data"]["teachers"], data["teachers"]);
    }
}
