//! A value as a person or a spreadsheet gives it (typed text, a number cell, a yes/no
//! cell, a date cell) turned into a field's value: the value [`crate::NewEvent`]
//! accepts, never text written out to be parsed back.
use chrono::NaiveDate;
use serde_json::Value;

use super::{FieldDef, FieldType};
use crate::{error::excerpt, message::Reason, text};

/// What separates the items of a list typed as text: commas, the Chinese enumeration
/// comma, semicolons. No item holds one, on any way in (see `normalise`).
pub(crate) const LIST_SEPARATORS: [char; 5] = [',', '，', '、', ';', '；'];

/// One value as it came in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Input<'a> {
    /// Text as typed (a CLI `--set`, a form field, a text cell).
    Text(&'a str),
    /// A number cell.
    Number(f64),
    /// A TRUE or FALSE cell.
    Bool(bool),
    /// A cell formatted as a date.
    Date(NaiveDate),
}

impl<'a> From<&'a str> for Input<'a> {
    fn from(text: &'a str) -> Self {
        Input::Text(text)
    }
}

/// A number as a person would type it: whole numbers without a decimal point.
pub fn number_text(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

impl FieldDef {
    /// Converts a value as it came in into this field's JSON form. Text is made
    /// canonical (see [`crate::text`]); enum fields also accept their Chinese or English
    /// label; lists are split on commas or the Chinese enumeration comma. A number, a
    /// yes/no or a date cell is taken as the value it is.
    pub fn coerce<'a>(&self, input: impl Into<Input<'a>>) -> Result<Value, Reason> {
        match (input.into(), self.ty) {
            (Input::Text(typed), _) => self.coerce_text(typed),
            (Input::Bool(b), FieldType::Boolean) => Ok(Value::Bool(b)),
            (Input::Number(n), FieldType::Integer)
                if n.fract() == 0.0 && (0.0..1e15).contains(&n) =>
            {
                Ok(Value::from(n as u64))
            }
            (Input::Date(d), FieldType::Date) => Ok(Value::String(d.to_string())),
            // A cell of another type than its field: read as the text it shows.
            (Input::Number(n), _) => self.coerce_text(&number_text(n)),
            (Input::Bool(b), _) => self.coerce_text(&b.to_string()),
            (Input::Date(d), _) => self.coerce_text(&d.to_string()),
        }
    }

    fn coerce_text(&self, typed: &str) -> Result<Value, Reason> {
        // Canonical first, so that a label or a number pasted with an invisible
        // character or a no-break space is still recognised.
        let canonical = match self.ty {
            FieldType::Object => std::borrow::Cow::Borrowed(typed.trim()),
            FieldType::Person => text::normalise_name(typed),
            _ => text::normalise(typed),
        };
        let t: &str = &canonical;
        match self.ty {
            FieldType::Integer => {
                t.parse::<u64>()
                    .map(Value::from)
                    .map_err(|_| Reason::NotWholeNumber {
                        got: excerpt(t).into_owned(),
                    })
            }
            FieldType::Boolean => match t.to_lowercase().as_str() {
                "true" | "yes" | "y" | "1" | "是" => Ok(Value::Bool(true)),
                "false" | "no" | "n" | "0" | "否" => Ok(Value::Bool(false)),
                _ => Err(Reason::NotYesNo {
                    got: excerpt(t).into_owned(),
                }),
            },
            FieldType::Enum => self
                .enum_value(t)
                .map(|e| Value::String(e.value.clone()))
                .ok_or_else(|| self.not_one_of(t)),
            FieldType::List | FieldType::People => Ok(Value::Array(
                t.split(LIST_SEPARATORS)
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| Value::String(s.to_owned()))
                    .collect(),
            )),
            FieldType::Object => serde_json::from_str(t).map_err(|e| Reason::NotJsonObject {
                detail: e.to_string(),
            }),
            // A date is checked where the event is, so every way in names it alike.
            FieldType::Text | FieldType::Person | FieldType::Date | FieldType::Uuid => {
                Ok(Value::String(t.to_owned()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Catalog;

    /// Issue 15: a yes/no, a number or a date cell is its value, never text read back.
    #[test]
    fn typed_cells_are_taken_as_the_values_they_are() {
        let catalog = Catalog::embedded();
        let of = |ty| {
            catalog
                .kinds()
                .flat_map(|k| k.fields.iter())
                .find(|f| f.ty == ty)
                .expect("a field of each type")
        };
        let boolean = of(FieldType::Boolean);
        assert_eq!(boolean.coerce(Input::Bool(true)), Ok(Value::Bool(true)));
        assert_eq!(boolean.coerce(Input::Bool(false)), Ok(Value::Bool(false)));
        let integer = of(FieldType::Integer);
        assert_eq!(integer.coerce(Input::Number(40.0)), Ok(Value::from(40u64)));
        assert_eq!(
            integer.coerce(Input::Number(2.5)),
            Err(Reason::NotWholeNumber { got: "2.5".into() })
        );
        let date = of(FieldType::Date);
        let day = NaiveDate::from_ymd_opt(2023, 6, 28).unwrap();
        assert_eq!(date.coerce(Input::Date(day)), Ok(Value::from("2023-06-28")));
    }

    /// Issue 17 item 3: an enum takes its Chinese label as well as its name.
    #[test]
    fn an_enum_takes_its_chinese_label() {
        let catalog = Catalog::embedded();
        let category = catalog
            .kind("class_held")
            .unwrap()
            .field("category")
            .unwrap();
        assert_eq!(category.coerce("主体班"), Ok(Value::from("main")));
        assert_eq!(category.coerce("main"), Ok(Value::from("main")));
        assert!(matches!(
            category.coerce("夜校"),
            Err(Reason::NotOneOf { .. })
        ));
    }
}
