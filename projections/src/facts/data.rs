//! Events' data kept small: every text (kinds, authors, field names, values) stored
//! once in [`Strings`], and each JSON value encoded as a few bytes in one shared buffer,
//! read back through [`Data`], which answers as a `serde_json::Value` would.
//!
//! A value is a tag byte, then: nothing (null, false, true); a LEB128 varint (a
//! non-negative integer; a negative one as `!n`; a text's id); eight bytes (a float);
//! a count and that many values (an array); a count and that many pairs of a key's
//! text id and a value (an object, in the order of its map).
use std::fmt;

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{Map, Number, Value};

use super::table::IdTable;

const NULL: u8 = 0;
const FALSE: u8 = 1;
const TRUE: u8 = 2;
/// A non-negative integer (`serde_json`'s `PosInt`).
const POS: u8 = 3;
/// A negative integer (`NegInt`), stored as `!n`.
const NEG: u8 = 4;
const FLOAT: u8 = 5;
const TEXT: u8 = 6;
const ARRAY: u8 = 7;
const OBJECT: u8 = 8;

/// How deep a value may nest; deeper ones are refused in a snapshot (serde_json reads
/// no deeper than 128, so no stored event comes near).
pub(crate) const MAX_DEPTH: usize = 512;

/// Every distinct text once, numbered in the order first seen.
#[derive(Clone, Default)]
pub(crate) struct Strings {
    /// The texts, one after the other.
    text: String,
    /// Where each text ends in `text`; it starts where the one before ends.
    ends: Vec<usize>,
    table: IdTable,
}

impl Strings {
    /// The text with this id.
    pub(crate) fn get(&self, id: u32) -> &str {
        text_of(&self.text, &self.ends, id)
    }

    /// The id of a text, if it was ever stored.
    pub(crate) fn find(&self, s: &str) -> Option<u32> {
        self.table.find(s, |id| text_of(&self.text, &self.ends, id))
    }

    /// The id of a text, storing it if new.
    pub(crate) fn intern(&mut self, s: &str) -> u32 {
        if let Some(id) = self.find(s) {
            return id;
        }
        self.push(s)
    }

    /// Stores a text known to be new; its id.
    pub(crate) fn push(&mut self, s: &str) -> u32 {
        let id = u32::try_from(self.ends.len()).expect("fewer than 4 billion distinct texts");
        self.text.push_str(s);
        self.ends.push(self.text.len());
        let (text, ends) = (&self.text, &self.ends);
        self.table.insert(id, |i| text_of(text, ends, i));
        id
    }

    /// How many texts.
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    /// Every text, in id order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &str> {
        (0..self.ends.len()).map(|i| self.get(i as u32))
    }

    /// The texts that end at `ends` in `text` (each end a char boundary, ascending,
    /// the last at its length); `None` if one is there twice.
    pub(crate) fn from_parts(text: String, ends: Vec<usize>) -> Option<Self> {
        let table = IdTable::build(0..ends.len() as u32, |i| text_of(&text, &ends, i));
        (table.len() == ends.len()).then_some(Strings { text, ends, table })
    }

    pub(crate) fn shrink_to_fit(&mut self) {
        self.text.shrink_to_fit();
        self.ends.shrink_to_fit();
        let (text, ends) = (&self.text, &self.ends);
        self.table.shrink_to_fit(|i| text_of(text, ends, i));
    }
}

fn text_of<'a>(text: &'a str, ends: &[usize], id: u32) -> &'a str {
    let id = id as usize;
    let start = if id == 0 { 0 } else { ends[id - 1] };
    &text[start..ends[id]]
}

/// Appends a LEB128 varint.
pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Reads a varint from data already checked; at `pos`, which it moves past it.
fn varint(bytes: &[u8], pos: &mut usize) -> u64 {
    let mut v = 0u64;
    let mut shift = 0;
    loop {
        let b = bytes[*pos];
        *pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return v;
        }
        shift += 7;
    }
}

/// Reads a varint from bytes not yet trusted: `None` when cut short or too long.
#[inline]
pub(crate) fn checked_varint(bytes: &[u8], pos: &mut usize) -> Option<u64> {
    // Most are one byte: ids of common texts, small counts and numbers.
    let first = *bytes.get(*pos)?;
    *pos += 1;
    if first < 0x80 {
        return Some(u64::from(first));
    }
    let mut v = u64::from(first & 0x7f);
    for shift in (7..64).step_by(7) {
        let b = *bytes.get(*pos)?;
        *pos += 1;
        let bits = u64::from(b & 0x7f);
        if shift == 63 && bits > 1 {
            return None;
        }
        v |= bits << shift;
        if b < 0x80 {
            return Some(v);
        }
    }
    None
}

/// Appends the encoding of `v`, storing its texts.
pub(crate) fn encode(v: &Value, strings: &mut Strings, out: &mut Vec<u8>) {
    match v {
        Value::Null => out.push(NULL),
        Value::Bool(false) => out.push(FALSE),
        Value::Bool(true) => out.push(TRUE),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                out.push(POS);
                put_varint(out, u);
            } else if let Some(i) = n.as_i64() {
                out.push(NEG);
                put_varint(out, !i as u64);
            } else {
                out.push(FLOAT);
                out.extend_from_slice(&n.as_f64().unwrap_or_default().to_le_bytes());
            }
        }
        Value::String(s) => {
            out.push(TEXT);
            put_varint(out, u64::from(strings.intern(s)));
        }
        Value::Array(items) => {
            out.push(ARRAY);
            put_varint(out, items.len() as u64);
            for item in items {
                encode(item, strings, out);
            }
        }
        Value::Object(map) => {
            out.push(OBJECT);
            put_varint(out, map.len() as u64);
            for (k, item) in map {
                put_varint(out, u64::from(strings.intern(k)));
                encode(item, strings, out);
            }
        }
    }
}

/// Checks that a well-formed value starts at `pos` (texts among the first `strings`
/// ids, no deeper than [`MAX_DEPTH`], floats finite); where it ends.
pub(crate) fn check(bytes: &[u8], pos: usize, strings: usize, depth: usize) -> Option<usize> {
    let tag = *bytes.get(pos)?;
    if tag != ARRAY && tag != OBJECT {
        return check_scalar(bytes, pos, strings);
    }
    if depth >= MAX_DEPTH {
        return None;
    }
    let mut pos = pos + 1;
    // Each item takes at least a byte, so a garbled count runs out of bytes.
    let n = checked_varint(bytes, &mut pos)?;
    for _ in 0..n {
        if tag == OBJECT && checked_varint(bytes, &mut pos)? >= strings as u64 {
            return None;
        }
        pos = match bytes.get(pos) {
            Some(&ARRAY | &OBJECT) => check(bytes, pos, strings, depth + 1)?,
            _ => check_scalar(bytes, pos, strings)?,
        };
    }
    Some(pos)
}

/// [`check`] for a value that is not an array or object (refused if it is one).
#[inline]
fn check_scalar(bytes: &[u8], pos: usize, strings: usize) -> Option<usize> {
    let mut pos = pos;
    let tag = *bytes.get(pos)?;
    pos += 1;
    match tag {
        NULL | FALSE | TRUE => {}
        POS => {
            checked_varint(bytes, &mut pos)?;
        }
        // `!n` of a negative i64 is at most i64::MAX.
        NEG => {
            i64::try_from(checked_varint(bytes, &mut pos)?).ok()?;
        }
        FLOAT => {
            let raw: [u8; 8] = bytes.get(pos..pos + 8)?.try_into().ok()?;
            if !f64::from_le_bytes(raw).is_finite() {
                return None;
            }
            pos += 8;
        }
        TEXT => {
            if checked_varint(bytes, &mut pos)? >= strings as u64 {
                return None;
            }
        }
        _ => return None,
    }
    Some(pos)
}

/// Where the value at `pos` ends.
fn skip(bytes: &[u8], mut pos: usize) -> usize {
    let tag = bytes[pos];
    pos += 1;
    match tag {
        POS | NEG | TEXT => {
            varint(bytes, &mut pos);
        }
        FLOAT => pos += 8,
        ARRAY | OBJECT => {
            let n = varint(bytes, &mut pos);
            for _ in 0..n {
                if tag == OBJECT {
                    varint(bytes, &mut pos);
                }
                pos = skip(bytes, pos);
            }
        }
        _ => {}
    }
    pos
}

/// One JSON value of an event's data, read in place: what a `&serde_json::Value`
/// would answer, without one having been built. Serialises, displays and compares
/// with a `Value` exactly as the value it was made from.
#[derive(Clone, Copy)]
pub struct Data<'a> {
    strings: &'a Strings,
    /// Starts at the value's tag; may run on past its end.
    bytes: &'a [u8],
}

impl<'a> Data<'a> {
    pub(crate) fn new(strings: &'a Strings, bytes: &'a [u8]) -> Self {
        Data { strings, bytes }
    }

    fn tag(&self) -> u8 {
        self.bytes[0]
    }

    /// The varint after the tag.
    fn payload(&self) -> u64 {
        varint(self.bytes, &mut 1)
    }

    fn at(&self, pos: usize) -> Data<'a> {
        Data::new(self.strings, &self.bytes[pos..])
    }

    /// Whether it is `null`.
    pub fn is_null(&self) -> bool {
        self.tag() == NULL
    }

    /// The boolean, if it is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self.tag() {
            FALSE => Some(false),
            TRUE => Some(true),
            _ => None,
        }
    }

    /// The text, if it is one.
    pub fn as_str(&self) -> Option<&'a str> {
        (self.tag() == TEXT).then(|| self.strings.get(self.payload() as u32))
    }

    /// The number, if it is a non-negative integer.
    pub fn as_u64(&self) -> Option<u64> {
        (self.tag() == POS).then(|| self.payload())
    }

    /// The number, if it is an integer that fits an `i64`.
    pub fn as_i64(&self) -> Option<i64> {
        match self.tag() {
            POS => i64::try_from(self.payload()).ok(),
            NEG => Some(!(self.payload() as i64)),
            _ => None,
        }
    }

    /// The number as a float, if it is a number.
    pub fn as_f64(&self) -> Option<f64> {
        match self.tag() {
            POS => Some(self.payload() as f64),
            NEG => Some(!(self.payload() as i64) as f64),
            FLOAT => Some(self.float()),
            _ => None,
        }
    }

    fn float(&self) -> f64 {
        let mut raw = [0u8; 8];
        raw.copy_from_slice(&self.bytes[1..9]);
        f64::from_le_bytes(raw)
    }

    /// A field, if it is an object that has it.
    pub fn get(&self, field: &str) -> Option<Data<'a>> {
        let (mut pos, n) = self.children(OBJECT);
        if n == 0 {
            return None;
        }
        // Keys are texts stored once: find the field's id, then compare ids, not text.
        let key = u64::from(self.strings.find(field)?);
        for _ in 0..n {
            let k = varint(self.bytes, &mut pos);
            if k == key {
                return Some(self.at(pos));
            }
            pos = skip(self.bytes, pos);
        }
        None
    }

    /// The items, if it is an array (none otherwise).
    pub fn items(&self) -> impl Iterator<Item = Data<'a>> + 'a {
        let this = *self;
        let (mut pos, n) = self.children(ARRAY);
        (0..n).map(move |_| {
            let item = this.at(pos);
            pos = skip(this.bytes, pos);
            item
        })
    }

    /// The fields in the map's order, if it is an object (none otherwise).
    pub fn entries(&self) -> impl Iterator<Item = (&'a str, Data<'a>)> + 'a {
        let this = *self;
        let (mut pos, n) = self.children(OBJECT);
        (0..n).map(move |_| {
            let key = this.strings.get(varint(this.bytes, &mut pos) as u32);
            let item = this.at(pos);
            pos = skip(this.bytes, pos);
            (key, item)
        })
    }

    /// Where the children start and how many, for an array or object of `tag`.
    fn children(&self, tag: u8) -> (usize, u64) {
        if self.tag() != tag {
            return (0, 0);
        }
        let mut pos = 1;
        let n = varint(self.bytes, &mut pos);
        (pos, n)
    }

    /// The value itself, built.
    pub fn to_value(&self) -> Value {
        match self.tag() {
            NULL => Value::Null,
            FALSE => Value::Bool(false),
            TRUE => Value::Bool(true),
            POS => Value::from(self.payload()),
            NEG => Value::from(!(self.payload() as i64)),
            FLOAT => Number::from_f64(self.float()).map_or(Value::Null, Value::Number),
            TEXT => Value::String(self.as_str().unwrap_or_default().to_owned()),
            ARRAY => Value::Array(self.items().map(|d| d.to_value()).collect()),
            _ => Value::Object(
                self.entries()
                    .map(|(k, v)| (k.to_owned(), v.to_value()))
                    .collect::<Map<_, _>>(),
            ),
        }
    }
}

impl PartialEq<Value> for Data<'_> {
    /// As `Value`'s own equality: numbers equal only of the same sort (an integer is
    /// never equal to a float), objects whatever their order.
    fn eq(&self, other: &Value) -> bool {
        match (self.tag(), other) {
            (NULL, Value::Null) => true,
            (FALSE, Value::Bool(b)) => !b,
            (TRUE, Value::Bool(b)) => *b,
            (POS, Value::Number(n)) => n.is_u64() && n.as_u64() == Some(self.payload()),
            (NEG, Value::Number(n)) => n.is_i64() && !n.is_u64() && n.as_i64() == self.as_i64(),
            (FLOAT, Value::Number(n)) => n.is_f64() && n.as_f64() == Some(self.float()),
            (TEXT, Value::String(s)) => self.as_str() == Some(s.as_str()),
            (ARRAY, Value::Array(items)) => {
                self.children(ARRAY).1 == items.len() as u64
                    && self.items().zip(items).all(|(a, b)| a == *b)
            }
            (OBJECT, Value::Object(map)) => {
                self.children(OBJECT).1 == map.len() as u64
                    && self
                        .entries()
                        .all(|(k, v)| map.get(k).is_some_and(|w| v == *w))
            }
            _ => false,
        }
    }
}

impl Serialize for Data<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.tag() {
            NULL => s.serialize_unit(),
            FALSE => s.serialize_bool(false),
            TRUE => s.serialize_bool(true),
            POS => s.serialize_u64(self.payload()),
            NEG => s.serialize_i64(!(self.payload() as i64)),
            FLOAT => s.serialize_f64(self.float()),
            TEXT => s.serialize_str(self.as_str().unwrap_or_default()),
            ARRAY => {
                let mut seq = s.serialize_seq(Some(self.children(ARRAY).1 as usize))?;
                for item in self.items() {
                    seq.serialize_element(&item)?;
                }
                seq.end()
            }
            _ => {
                let mut map = s.serialize_map(Some(self.children(OBJECT).1 as usize))?;
                for (k, v) in self.entries() {
                    map.serialize_entry(k, &v)?;
                }
                map.end()
            }
        }
    }
}

impl fmt::Display for Data<'_> {
    /// Compact JSON, as `Value`'s `Display`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&serde_json::to_string(self).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for Data<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn round_trip(v: &Value) {
        let mut strings = Strings::default();
        let mut bytes = Vec::new();
        encode(v, &mut strings, &mut bytes);
        assert_eq!(check(&bytes, 0, strings.len(), 0), Some(bytes.len()), "{v}");
        let d = Data::new(&strings, &bytes);
        assert_eq!(d.to_value(), *v);
        assert!(d == *v, "{v}");
        assert_eq!(d.to_string(), v.to_string());
        assert_eq!(
            serde_json::to_string_pretty(&d).unwrap(),
            serde_json::to_string_pretty(v).unwrap()
        );
    }

    #[test]
    fn every_sort_of_value_reads_back_as_it_was() {
        for v in [
            json!(null),
            json!(true),
            json!(false),
            json!(0),
            json!(u64::MAX),
            json!(-1),
            json!(i64::MIN),
            json!(1.5),
            json!(-0.0),
            json!(1e300),
            json!("中文 text \"quoted\""),
            json!(""),
            json!([]),
            json!({}),
            json!({"b": [1, "x", {"c": null}], "a": -3, "t": "第3支部", "f": 2.25}),
        ] {
            round_trip(&v);
        }
    }

    #[test]
    fn accessors_answer_as_a_value_does() {
        let v = json!({"n": 7, "neg": -7, "f": 7.0, "s": "x", "list": ["a", "b"], "yes": true});
        let mut strings = Strings::default();
        let mut bytes = Vec::new();
        encode(&v, &mut strings, &mut bytes);
        let d = Data::new(&strings, &bytes);
        for field in ["n", "neg", "f", "s", "list", "yes", "missing"] {
            let (ours, theirs) = (d.get(field), v.get(field));
            assert_eq!(ours.map(|x| x.to_value()), theirs.cloned(), "{field}");
            if let (Some(a), Some(b)) = (ours, theirs) {
                assert_eq!(a.as_u64(), b.as_u64(), "{field}");
                assert_eq!(a.as_i64(), b.as_i64(), "{field}");
                assert_eq!(a.as_f64(), b.as_f64(), "{field}");
                assert_eq!(a.as_str(), b.as_str(), "{field}");
                assert_eq!(a.as_bool(), b.as_bool(), "{field}");
                assert_eq!(a.is_null(), b.is_null(), "{field}");
            }
        }
        let names: Vec<&str> = d
            .get("list")
            .unwrap()
            .items()
            .filter_map(|i| i.as_str())
            .collect();
        assert_eq!(names, ["a", "b"]);
        assert!(
            d.get("n").unwrap() != json!(7.0),
            "an integer is not a float"
        );
        assert!(d.get("f").unwrap() == json!(7.0));
        assert!(d != json!({"n": 7}), "a missing field makes objects differ");
    }

    #[test]
    fn a_garbled_value_is_refused_not_read() {
        let mut strings = Strings::default();
        let mut bytes = Vec::new();
        encode(&json!({"a": [1, 2.5, "x"]}), &mut strings, &mut bytes);
        for cut in 0..bytes.len() {
            assert_eq!(
                check(&bytes[..cut], 0, strings.len(), 0),
                None,
                "cut at {cut}"
            );
        }
        assert_eq!(check(&bytes, 0, 1, 0), None, "a text id past the table");
        assert_eq!(check(&[99], 0, 0, 0), None, "an unknown tag");
        let nan = [&[FLOAT][..], &f64::NAN.to_le_bytes()].concat();
        assert_eq!(check(&nan, 0, 0, 0), None, "a float JSON cannot hold");
        let mut deep = [ARRAY, 1].repeat(MAX_DEPTH + 1);
        deep.push(NULL);
        assert_eq!(check(&deep, 0, 0, 0), None, "too deep");
    }
}
