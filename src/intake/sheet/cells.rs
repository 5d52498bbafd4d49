//! One row of a sheet as an event: each cell read as its field's value (a number, a
//! yes/no, a date cell taken as the value it is; dates written the ways offices write
//! them), validated as every way in validates, with an id made from its content.
use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use events::{
    catalog::{number_text, FieldDef, FieldType, Input},
    Catalog, Draft, Hash, NewEvent, Reason,
};
use serde_json::{Map, Value};

use super::{
    layout::{Column, Layout, Place},
    Problems,
};
use crate::office::sheet::{Cell, Row};

/// A cell as the text it shows (a header's, a date column's).
pub(super) fn text_of(cell: &Cell) -> String {
    match cell {
        Cell::Empty => String::new(),
        Cell::Text(s) => s.to_string(),
        Cell::Number(n) => number_text(*n),
        Cell::Bool(b) => b.to_string(),
        Cell::Date(d) => d.to_string(),
        Cell::Error(e) => e.clone(),
    }
}

/// Excel's day numbers (1900 system) as dates; the first day it can name here is 1900-03-01.
fn serial_date(n: f64) -> Option<NaiveDate> {
    if !(61.0..=73_415.0).contains(&n) {
        return None;
    }
    NaiveDate::from_ymd_opt(1899, 12, 30)?.checked_add_days(chrono::Days::new(n.floor() as u64))
}

/// `2023/6/28`, `2023.6.28`, `2023年6月28日` and `2023-06-28 00:00:00` as `2023-06-28`;
/// anything else as written, for validation to name.
fn normalise_date(text: &str) -> String {
    let t = text.trim();
    let b = t.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && digits(0..4)
        && digits(5..7)
        && digits(8..10)
    {
        // Already as dates are written here (or not a real day, for validation to name).
        return t.to_owned();
    }
    let t = t.split([' ', 'T']).next().unwrap_or(t);
    let unified: String = t
        .trim_end_matches('日')
        .chars()
        .map(|c| match c {
            '年' | '月' | '/' | '.' | '－' => '-',
            other => other,
        })
        .collect();
    let parts: Vec<&str> = unified.split('-').collect();
    if let [y, m, d] = parts[..] {
        if let (Ok(y), Ok(m), Ok(d)) = (y.parse::<i32>(), m.parse::<u32>(), d.parse::<u32>()) {
            if let Some(day) = NaiveDate::from_ymd_opt(y, m, d) {
                return format!("{:04}-{:02}-{:02}", day.year(), day.month(), day.day());
            }
        }
    }
    text.trim().to_owned()
}

/// A cell of a date column as `YYYY-MM-DD` (or a range `A..B` for the day column).
fn date_text(cell: &Cell, ranges: bool) -> Result<Option<String>, Reason> {
    match cell {
        c if c.is_empty() => Ok(None),
        Cell::Date(d) => Ok(Some(d.to_string())),
        Cell::Number(n) => Ok(Some(
            serial_date(*n).map_or_else(|| number_text(*n), |d| d.to_string()),
        )),
        Cell::Text(s) if ranges && s.contains(['.', '至', '~', '～']) => {
            let parts: Vec<&str> = s
                .split("..")
                .flat_map(|p| p.split(['至', '~', '～']))
                .collect();
            Ok(Some(
                parts
                    .iter()
                    .map(|p| normalise_date(p))
                    .collect::<Vec<_>>()
                    .join(".."),
            ))
        }
        Cell::Text(s) => Ok(Some(normalise_date(s))),
        Cell::Error(e) => Err(cell_error(e)),
        other => Ok(Some(text_of(other))),
    }
}

fn cell_error(e: &str) -> Reason {
    Reason::CellError {
        value: e.to_owned(),
    }
}

/// A cell as the value it holds, for its field to take ([`FieldDef::coerce`]): a
/// number, a yes/no or a date cell as the value it is, never written out as text to be
/// read back; `None` when it is empty.
fn input(cell: &Cell) -> Result<Option<Input<'_>>, Reason> {
    Ok(Some(match cell {
        Cell::Empty => return Ok(None),
        Cell::Error(e) => return Err(cell_error(e)),
        Cell::Text(s) => Input::Text(s),
        Cell::Number(n) => Input::Number(*n),
        Cell::Bool(b) => Input::Bool(*b),
        Cell::Date(d) => Input::Date(*d),
    }))
}

/// A field's cell as its value; `None` when it is empty. A date field's text is read
/// in the ways offices write dates first.
fn field_value(cell: &Cell, field: &FieldDef) -> Result<Option<Value>, Reason> {
    if field.ty == FieldType::Date {
        return date_text(cell, false)?
            .map(|t| field.coerce(t.as_str()))
            .transpose();
    }
    input(cell)?.map(|i| field.coerce(i)).transpose()
}

/// One row as a validated event (without its id) and the day or days it names as
/// written, or its cells' errors added to the sheet's.
pub(super) fn convert(
    catalog: &Catalog,
    place: &Place,
    layout: &Layout,
    row: &Row,
    errors: &mut Problems,
) -> Option<(NewEvent, Option<String>)> {
    let empty = Cell::Empty;
    let mut data = Map::new();
    let (mut day, mut start, mut end) = (None, None, None);
    let mut failed: Vec<usize> = Vec::new();
    for (i, header, column) in &layout.columns {
        let cell = row.cells.get(*i).unwrap_or(&empty);
        let value = match column {
            Column::Day => date_text(cell, true).map(|t| day = t),
            Column::Start => date_text(cell, false).map(|t| start = t),
            Column::End => date_text(cell, false).map(|t| end = t),
            Column::Field(f) => field_value(cell, f).map(|v| {
                if let Some(v) = v {
                    data.insert(f.name.clone(), v);
                }
            }),
        };
        if let Err(reason) = value {
            errors.push(place.error(place.cell(row.at, *i), header, reason));
            failed.push(*i);
        }
    }
    let occurred = match (day, start, end) {
        (Some(d), _, _) => Some(d),
        (None, Some(s), Some(e)) if s != e => Some(format!("{s}..{e}")),
        (None, s, _) => s,
    };
    let occurred_text = occurred.clone();
    let draft = Draft {
        kind: layout.kind.name.clone(),
        occurred,
        data: Value::Object(data),
        ..Draft::default()
    };
    match NewEvent::parse(catalog, draft) {
        Ok(ev) if failed.is_empty() => return Some((ev, occurred_text)),
        Ok(_) => {}
        Err(events::Error::Invalid(list)) => {
            for e in list {
                match layout.locate(&e.field) {
                    // A cell that could not be read is reported once, not again as missing.
                    Some((i, _)) if failed.contains(&i) => {}
                    Some((i, header)) => {
                        errors.push(place.error(place.cell(row.at, i), header, e.reason))
                    }
                    None => errors.push(place.error(place.row(row.at), &e.field, e.reason)),
                }
            }
        }
        Err(other) => {
            errors.push(place.error(place.row(row.at), "row", Reason::Said(other.to_string())))
        }
    }
    None
}

/// An id made from the row's content and how many identical rows came before it, so
/// importing the same register again (or the register with rows added) writes only
/// what is new: the store answers an id it holds with the same content as existing.
///
/// The id is the hash of the content followed by that count. `seen` counts rows by the
/// hash a first such row takes (count 0), which names the content as well as the
/// content's own hash would: so most rows, the ones without a twin, take one hash.
pub(super) fn stable_id(
    seen: &mut HashMap<Hash, u32, foldhash::fast::RandomState>,
    kind: &str,
    occurred: Option<&str>,
    data_json: &[u8],
) -> uuid::Uuid {
    let mut bytes = Vec::with_capacity(128);
    bytes.extend_from_slice(b"annals-sheet-row\0");
    bytes.extend_from_slice(kind.as_bytes());
    bytes.push(0);
    bytes.extend_from_slice(occurred.unwrap_or_default().as_bytes());
    bytes.push(0);
    bytes.extend_from_slice(data_json);
    let content = bytes.len();
    bytes.extend_from_slice(&0u32.to_be_bytes());
    let first = Hash::of(&bytes);
    let n = seen.entry(first).or_default();
    let digest = if *n == 0 {
        first.0
    } else {
        bytes.truncate(content);
        bytes.extend_from_slice(&n.to_be_bytes());
        Hash::of(&bytes).0
    };
    *n += 1;
    let mut custom = [0u8; 16];
    custom.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(custom).into_uuid()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_read_in_the_ways_offices_write_them() {
        for text in [
            "2023-06-28",
            "2023/6/28",
            "2023.6.28",
            "2023年6月28日",
            "2023-06-28 00:00:00",
        ] {
            assert_eq!(normalise_date(text), "2023-06-28", "{text}");
        }
        assert_eq!(normalise_date("下周一"), "下周一");
        assert_eq!(serial_date(45105.0), NaiveDate::from_ymd_opt(2023, 6, 28));
        assert_eq!(serial_date(12.0), None);
    }

    /// A whole number read straight off its cell is the value its text would give.
    #[test]
    fn whole_numbers_read_as_their_text_would() {
        let catalog = Catalog::embedded();
        let trainees = catalog
            .kind("class_held")
            .and_then(|k| k.field("trainees"))
            .expect("class_held has trainees");
        for n in [
            0.0,
            -0.0,
            3.0,
            40.0,
            1e14,
            999_999_999_999_999.0,
            1e15,
            -1.0,
            2.5,
            f64::NAN,
        ] {
            let straight = field_value(&Cell::Number(n), trainees);
            let as_text = trainees.coerce(number_text(n).as_str()).map(Some);
            assert_eq!(straight, as_text, "{n}");
        }
    }

    /// Issue 15: a yes/no cell is its value, not "是"/"否" to be read again.
    #[test]
    fn a_yes_no_cell_is_taken_as_its_value() {
        let catalog = Catalog::embedded();
        let field = catalog
            .kinds()
            .flat_map(|k| k.fields.iter())
            .find(|f| f.ty == FieldType::Boolean)
            .expect("a yes/no field");
        assert_eq!(
            field_value(&Cell::Bool(true), field),
            Ok(Some(Value::Bool(true)))
        );
        assert_eq!(input(&Cell::Bool(false)), Ok(Some(Input::Bool(false))));
    }

    /// Row ids are how a register imported again writes only what is new: the way they
    /// are made must never change, or every earlier import would be written twice. (The
    /// expected ids were computed apart from this code, in Python, from the recipe in
    /// `stable_id`.)
    #[test]
    fn a_rows_id_is_made_from_its_content_as_it_always_was() {
        let mut seen = HashMap::default();
        let data = br#"{"class_id":"2023-ZT-01","trainees":40}"#;
        let first = stable_id(
            &mut seen,
            "class_held",
            Some("2023-06-26..2023-06-30"),
            data,
        );
        let again = stable_id(
            &mut seen,
            "class_held",
            Some("2023-06-26..2023-06-30"),
            data,
        );
        let third = stable_id(
            &mut seen,
            "class_held",
            Some("2023-06-26..2023-06-30"),
            data,
        );
        assert_eq!(first.to_string(), "c2deb8a4-81ee-81af-8a7b-079ec3903056");
        assert_eq!(again.to_string(), "ef31c61c-43e3-87d0-a247-8712dc8ecf8a");
        assert_eq!(third.to_string(), "fac61b11-5d9e-8f15-8530-47143da9c571");
    }
}
