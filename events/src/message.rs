//! The message catalog: every reason a value, an event, a file's line or cell can be
//! refused for, typed, and its words in Chinese and in English. Front ends choose the
//! language (`--lang`, the page's language, `Accept-Language`); `Display` is English,
//! the language of logs and of the library's own error texts.
use std::fmt;

use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::error::excerpt;

/// A value as a message describes it (`text '第二期'`, `a list`, `true`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Got {
    /// JSON null.
    Null,
    /// true or false.
    Bool(bool),
    /// A number, as written.
    Number(String),
    /// Text, quoted in part (see [`excerpt`]).
    Text(String),
    /// A list.
    List,
    /// An object.
    Object,
}

impl Got {
    /// How a message describes `v`.
    pub fn of(v: &Value) -> Got {
        match v {
            Value::Null => Got::Null,
            Value::Bool(b) => Got::Bool(*b),
            Value::Number(n) => Got::Number(n.to_string()),
            Value::String(s) => Got::Text(excerpt(s).into_owned()),
            Value::Array(_) => Got::List,
            Value::Object(_) => Got::Object,
        }
    }

    fn text(&self, en: bool) -> String {
        match (self, en) {
            (Got::Null, _) => "null".into(),
            (Got::Bool(b), _) => b.to_string(),
            (Got::Number(n), _) => n.clone(),
            (Got::Text(s), true) => format!("text '{s}'"),
            (Got::Text(s), false) => format!("文字“{s}”"),
            (Got::List, true) => "a list".into(),
            (Got::List, false) => "一个列表".into(),
            (Got::Object, true) => "an object".into(),
            (Got::Object, false) => "一个对象".into(),
        }
    }
}

/// One allowed value of an enum field, as an error lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// The stored value.
    pub value: String,
    /// Its Chinese label.
    pub label_zh: String,
}

/// Why a value, an event, a line or a cell was refused. Each variant is one message of
/// the catalog; [`Reason::text`] gives its words.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reason {
    // --- a field's value
    /// A required field is missing.
    Required {
        /// The field's Chinese label.
        label: String,
    },
    /// Typed text that is not a whole number.
    NotWholeNumber {
        /// What was typed.
        got: String,
    },
    /// A JSON value that is not a number.
    NotNumber {
        /// What was given.
        got: Got,
    },
    /// A number outside the field's limits.
    OutOfRange {
        /// The smallest allowed.
        min: u64,
        /// The largest allowed.
        max: u64,
        /// What was given.
        got: u64,
    },
    /// A JSON value that is not true or false.
    NotBoolean {
        /// What was given.
        got: Got,
    },
    /// Typed text that is not yes or no.
    NotYesNo {
        /// What was typed.
        got: String,
    },
    /// A JSON value that is not a date's text.
    NotDateValue {
        /// What was given.
        got: Got,
    },
    /// Text that is not a real day written `YYYY-MM-DD`.
    NotDate {
        /// What was given.
        got: String,
    },
    /// A day outside 1900–2100.
    YearOutOfRange {
        /// What was given.
        got: String,
    },
    /// A range that ends before it starts.
    RangeBackwards {
        /// Its first day.
        from: String,
        /// Its last day.
        to: String,
    },
    /// A JSON value that is not an enum's text.
    NotEnumValue {
        /// What was given.
        got: Got,
    },
    /// Text that is none of an enum's values or labels.
    NotOneOf {
        /// What was given.
        got: String,
        /// The allowed values.
        choices: Vec<Choice>,
    },
    /// A JSON value that is not text.
    NotText {
        /// What was given.
        got: Got,
    },
    /// Text with nothing in it.
    Empty,
    /// Text over the field's length.
    TooLong {
        /// Its length in characters.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Text with control characters.
    ControlCharacters,
    /// A JSON value that is not a list.
    NotList {
        /// What was given.
        got: Got,
    },
    /// A list over the item limit.
    TooManyItems {
        /// The limit.
        max: usize,
    },
    /// One item of a list is refused.
    Item {
        /// The item's 1-based number.
        n: usize,
        /// Why.
        reason: Box<Reason>,
    },
    /// A JSON value that is not an event id.
    NotEventId {
        /// What was given.
        got: Got,
    },
    /// A JSON value that is not an object.
    NotObject {
        /// What was given.
        got: Got,
    },
    /// Typed text that does not read as a JSON object.
    NotJsonObject {
        /// The parser's words.
        detail: String,
    },
    // --- an event
    /// `data` is not an object.
    DataNotObject,
    /// `data` is over the payload limit.
    PayloadTooLarge {
        /// The limit in KiB.
        kib: usize,
    },
    /// A field the kind does not have.
    UnknownField {
        /// The kind.
        kind: String,
        /// Its fields.
        known: Vec<String>,
    },
    /// A kind the catalog does not have.
    UnknownKind {
        /// What was given.
        got: String,
        /// The catalog's kinds.
        known: Vec<String>,
    },
    /// A kind only Annals writes.
    SystemKind {
        /// The kind.
        kind: String,
    },
    /// An id that is not a UUID.
    NotUuid,
    /// A schema version the kind does not have.
    BadVersion {
        /// The kind's current version.
        max: u32,
        /// The kind.
        kind: String,
    },
    /// An activity without its date.
    OccurredRequired,
    /// A range for a kind that happens on one day.
    OneDayKind {
        /// The kind.
        kind: String,
    },
    /// A recording time that is not RFC 3339.
    NotMoment,
    /// An author's name of the wrong length.
    AuthorLength {
        /// The limit.
        max: usize,
    },
    // --- the store's refusals
    /// The id is taken by other content (a conflict, not bad input).
    IdConflict {
        /// The id.
        id: String,
        /// Where the other content is.
        seq: u64,
    },
    /// A person chose the id a register's row gets from its content, which the log does
    /// not hold yet: only that register's import may bring it.
    RowIdTaken {
        /// The id.
        id: String,
    },
    /// A restored event's id is in the log already.
    AlreadyInLog {
        /// The id.
        id: String,
    },
    /// A recording time past the store's clock.
    RecordedInFuture {
        /// The time given.
        at: String,
    },
    /// A recording time before the last event's.
    RecordedBeforeLast {
        /// The time given.
        at: String,
        /// The last event's.
        last: String,
    },
    /// A correction of an event the log does not hold.
    NoSuchTarget {
        /// The target.
        id: String,
    },
    /// A correction of a voided event.
    AlreadyVoided {
        /// The target.
        id: String,
    },
    /// A correction of a correction or a system record.
    TargetIsCorrection {
        /// The target.
        id: String,
    },
    /// A hash or link that does not hold.
    Chain {
        /// What does not match.
        detail: String,
    },
    // --- a file
    /// A line that is not UTF-8.
    NotUtf8 {
        /// The 1-based byte where it stops being UTF-8.
        byte: usize,
    },
    /// A line that is not JSON.
    NotJson {
        /// The parser's words.
        detail: String,
    },
    /// A line that is JSON but not an object.
    LineNotObject,
    /// A line or body that does not have an event's shape.
    Malformed {
        /// The parser's words.
        detail: String,
    },
    /// A file or a batch with no events.
    NoEvents,
    /// A request body that is neither an event, nor a list of them, nor a batch.
    NotABatch,
    /// A workbook with no rows under a kind's header.
    NoRows,
    /// A draft where an exported event was expected.
    NotExported,
    /// A sheet named after no kind.
    NotAKindSheet {
        /// The sheet's name.
        name: String,
        /// The sheet names that are kinds.
        sheets: Vec<String>,
    },
    /// A header that is no column of the kind.
    NotAColumn {
        /// The kind's Chinese label.
        kind: String,
        /// The headers it accepts.
        headers: Vec<String>,
    },
    /// A column with values but no header.
    Unheaded {
        /// The kind's Chinese label.
        kind: String,
        /// The headers it accepts.
        headers: Vec<String>,
    },
    /// A header written twice.
    RepeatsColumn {
        /// The other column's letters.
        column: String,
        /// Its header.
        header: String,
    },
    /// A required column the sheet lacks.
    MissingColumn,
    /// Merged cells in the table.
    Merged,
    /// A cell holding an error value such as `#DIV/0!`.
    CellError {
        /// The value.
        value: String,
    },
    /// A message of a lower layer (a parser's, a token's), passed on as it was said.
    Said(String),
    /// A message written in both languages where it was made: a file's problem, which
    /// names the file's own parts and sizes.
    Words(Words),
}

/// The same message in Chinese and in English, written where it is made (it names what
/// the catalog cannot: a file's parts and sizes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Words {
    /// In Chinese.
    pub zh: String,
    /// In English.
    pub en: String,
}

impl Words {
    /// The same message in Chinese and in English.
    pub fn new(zh: impl Into<String>, en: impl Into<String>) -> Words {
        Words {
            zh: zh.into(),
            en: en.into(),
        }
    }

    /// The message in English or Chinese.
    pub fn text(&self, en: bool) -> &str {
        if en {
            &self.en
        } else {
            &self.zh
        }
    }
}

impl Reason {
    /// The reason in English (`en`) or Chinese.
    pub fn text(&self, en: bool) -> String {
        use Reason::*;
        let pick = |zh: String, e: String| if en { e } else { zh };
        match self {
            Required { label } => pick(format!("必须填写（{label}）"), format!("is required ({label})")),
            NotWholeNumber { got } => pick(
                format!("必须是不小于 0 的整数，而不是“{got}”"),
                format!("must be a whole number ≥ 0, not '{got}'"),
            ),
            NotNumber { got } => pick(
                format!("必须是整数，而不是{}", got.text(en)),
                format!("must be a whole number, not {}", got.text(en)),
            ),
            OutOfRange { min, max, got } => pick(
                format!("必须在 {min} 到 {max} 之间，而不是 {got}"),
                format!("must be between {min} and {max}, not {got}"),
            ),
            NotBoolean { got } => pick(
                format!("必须是 true 或 false，而不是{}", got.text(en)),
                format!("must be true or false, not {}", got.text(en)),
            ),
            NotYesNo { got } => pick(
                format!("必须填“是”或“否”，而不是“{got}”"),
                format!("must be yes or no (是/否), not '{got}'"),
            ),
            NotDateValue { got } => pick(
                format!("必须是 YYYY-MM-DD 格式的日期，而不是{}", got.text(en)),
                format!("must be a date YYYY-MM-DD, not {}", got.text(en)),
            ),
            NotDate { got } => pick(
                format!("“{got}”不是有效日期，日期应写作 YYYY-MM-DD"),
                format!("'{got}' is not a real date in the form YYYY-MM-DD"),
            ),
            YearOutOfRange { got } => pick(
                format!("“{got}”不在 1900–2100 年之间"),
                format!("'{got}' is outside the years 1900–2100"),
            ),
            RangeBackwards { from, to } => pick(
                format!("结束日期（{to}）早于开始日期（{from}）"),
                format!("the range ends ({to}) before it starts ({from})"),
            ),
            NotEnumValue { got } => pick(
                format!("必须是所列选项之一，而不是{}", got.text(en)),
                format!("must be one of the listed values, not {}", got.text(en)),
            ),
            NotOneOf { got, choices } => {
                if en {
                    let list: Vec<String> = choices
                        .iter()
                        .map(|c| format!("{} ({})", c.value, c.label_zh))
                        .collect();
                    format!("'{got}' is not one of: {}", list.join(", "))
                } else {
                    let list: Vec<&str> = choices.iter().map(|c| c.label_zh.as_str()).collect();
                    format!("“{got}”不是可选项，可选：{}", list.join("、"))
                }
            }
            NotText { got } => pick(
                format!("必须是文字，而不是{}", got.text(en)),
                format!("must be text, not {}", got.text(en)),
            ),
            Empty => pick("不能为空".into(), "must not be empty".into()),
            TooLong { len, max } => pick(
                format!("长 {len} 个字，超过了 {max} 个字的上限"),
                format!("is {len} characters long; the limit is {max}"),
            ),
            ControlCharacters => pick("含有控制字符".into(), "contains control characters".into()),
            NotList { got } => pick(
                format!("必须是列表，而不是{}", got.text(en)),
                format!("must be a list, not {}", got.text(en)),
            ),
            TooManyItems { max } => pick(
                format!("超过了 {max} 项"),
                format!("has more than {max} items"),
            ),
            Item { n, reason } => pick(
                format!("第 {n} 项：{}", reason.text(en)),
                format!("item {n}: {}", reason.text(en)),
            ),
            NotEventId { got } => pick(
                format!("必须是记录编号（UUID），而不是{}", got.text(en)),
                format!("must be an event id (UUID), not {}", got.text(en)),
            ),
            NotObject { got } => pick(
                format!("必须是字段对象，而不是{}", got.text(en)),
                format!("must be an object of fields, not {}", got.text(en)),
            ),
            NotJsonObject { detail } => pick(
                format!("必须是 JSON 对象：{detail}"),
                format!("must be a JSON object: {detail}"),
            ),
            DataNotObject => pick(
                "必须是由字段组成的 JSON 对象".into(),
                "must be a JSON object of fields".into(),
            ),
            PayloadTooLarge { kib } => {
                pick(format!("超过了 {kib} KiB"), format!("is larger than {kib} KiB"))
            }
            UnknownField { kind, known } => pick(
                format!("不是 {kind} 的字段；其字段为：{}", known.join("、")),
                format!("is not a field of {kind}; its fields are: {}", known.join(", ")),
            ),
            UnknownKind { got, known } => pick(
                format!("未知的事项类型“{got}”；已知类型：{}", known.join("、")),
                format!("unknown kind '{got}'; known kinds: {}", known.join(", ")),
            ),
            SystemKind { kind } => pick(
                format!("“{kind}”由系统自动写入，不能手工录入"),
                format!("'{kind}' is written by Annals itself and cannot be recorded"),
            ),
            NotUuid => pick("必须是 UUID".into(), "must be a UUID".into()),
            BadVersion { max, kind } => pick(
                format!("对 {kind} 必须在 1 到 {max} 之间"),
                format!("must be between 1 and {max} for {kind}"),
            ),
            OccurredRequired => pick(
                "必须填写（发生日期）".into(),
                "is required (the date it happened)".into(),
            ),
            OneDayKind { kind } => pick(
                format!("{kind} 只发生在一天，不能填日期范围"),
                format!("{kind} happens on one day, not over a range"),
            ),
            NotMoment => pick(
                "必须是 RFC 3339 格式的时刻，如 2023-07-03T09:00:00+08:00".into(),
                "must be a moment in RFC 3339 form, such as 2023-07-03T09:00:00+08:00".into(),
            ),
            AuthorLength { max } => pick(
                format!("必须是 1 到 {max} 个字"),
                format!("must be 1 to {max} characters"),
            ),
            IdConflict { id, seq } => pick(
                format!("{id} 已存在于序号 {seq}，且内容不同"),
                format!("{id} already exists at seq {seq} with different content"),
            ),
            RowIdTaken { id } => pick(
                format!("{id} 是登记表中某一行的编号（由该行内容算出），只能通过导入该登记表写入；请去掉编号或另用一个"),
                format!("{id} is the id of a register's row (made from the row's content); only importing that register may use it: leave the id out or choose another"),
            ),
            AlreadyInLog { id } => pick(
                format!("{id} 已在日志中"),
                format!("{id} is already in the log"),
            ),
            RecordedInFuture { at } => {
                pick(format!("{at} 晚于当前时间"), format!("{at} is in the future"))
            }
            RecordedBeforeLast { at, last } => pick(
                format!("{at} 早于上一条记录的时间（{last}）"),
                format!("{at} is earlier than the event before it ({last})"),
            ),
            NoSuchTarget { id } => pick(
                format!("没有可更正的记录 {id}"),
                format!("there is no event {id} to correct"),
            ),
            AlreadyVoided { id } => pick(
                format!("记录 {id} 已作废"),
                format!("event {id} is already voided"),
            ),
            TargetIsCorrection { id } => pick(
                format!("记录 {id} 本身是更正或系统记录；请更正原记录"),
                format!("event {id} is a correction or system record; correct the original instead"),
            ),
            Chain { detail } => pick(format!("哈希链校验未通过：{detail}"), detail.clone()),
            NotUtf8 { byte } => pick(
                format!("不是有效的 UTF-8 文本（第 {byte} 字节）"),
                format!("is not valid UTF-8 (byte {byte})"),
            ),
            NotJson { detail } => pick(
                format!("不是有效的 JSON：{detail}"),
                format!("is not valid JSON: {detail}"),
            ),
            LineNotObject => pick("必须是 JSON 对象".into(), "must be a JSON object".into()),
            Malformed { detail } => pick(
                format!("格式有误：{detail}"),
                format!("is malformed: {detail}"),
            ),
            NoEvents => pick("没有任何记录".into(), "holds no events".into()),
            NotABatch => pick(
                "必须是一条记录、记录列表或 {\"events\": [...]}".into(),
                "must be an event, a list of events, or {\"events\": [...]}".into(),
            ),
            NoRows => pick(
                "没有任何记录：请在某一事项工作表的表头下方填写数据行".into(),
                "holds no events: fill in rows below the header of a kind's sheet".into(),
            ),
            NotExported => pick(
                "缺失：这是草稿，不是导出的记录".into(),
                "is missing: this is a draft, not an exported event".into(),
            ),
            NotAKindSheet { name, sheets } => pick(
                format!("“{name}”不是事项类型；请按事项命名工作表：{}", sheets.join("、")),
                format!(
                    "'{name}' is not a kind of event; name each sheet after its kind: {} (or the kind's English label or name)",
                    sheets.join(", ")
                ),
            ),
            NotAColumn { kind, headers } => pick(
                format!("不是{kind}的列；{}", accepted(kind, headers, en)),
                format!("is not a column of {kind}; {}", accepted(kind, headers, en)),
            ),
            Unheaded { kind, headers } => pick(
                format!("该列有数据但没有表头；{}", accepted(kind, headers, en)),
                format!(
                    "the column has values but no header; {}",
                    accepted(kind, headers, en)
                ),
            ),
            RepeatsColumn { column, header } => pick(
                format!("与第 {column} 列（{header}）重复；请只保留一列"),
                format!("repeats column {column} ({header}); keep one of them"),
            ),
            MissingColumn => pick(
                "为必填项，但工作表中没有这一列；请添加".into(),
                "is required, but the sheet has no such column; add it".into(),
            ),
            Merged => pick(
                "合并单元格无法逐行读取；请取消合并单元格并填满每个单元格".into(),
                "merged cells cannot be read row by row; unmerge them (取消合并单元格) and fill in every cell".into(),
            ),
            CellError { value } => pick(
                format!("单元格的值为错误 {value}；请修正公式或直接填写数值"),
                format!("the cell holds the error {value}; correct its formula or type the value"),
            ),
            Said(text) => text.clone(),
            Words(words) => words.text(en).to_owned(),
        }
    }

    /// Whether the store refused because the id is taken by other content: a
    /// conflict (409) rather than bad input (422).
    pub fn is_conflict(&self) -> bool {
        matches!(
            self,
            Reason::IdConflict { .. } | Reason::AlreadyInLog { .. }
        )
    }
}

fn accepted(kind: &str, headers: &[String], en: bool) -> String {
    if en {
        format!(
            "the headers {kind} accepts are: {} (or the fields' English labels or names)",
            headers.join(", ")
        )
    } else {
        format!(
            "{kind}可用的表头为：{}（或字段的英文名）",
            headers.join("、")
        )
    }
}

/// English, the language of logs and of the library's error texts.
impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text(true))
    }
}

/// As its English words, where a reason is written out with no language chosen.
impl Serialize for Reason {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl std::error::Error for Reason {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_has_words_in_both_languages() {
        let r = Reason::NotWholeNumber {
            got: "第二期".into(),
        };
        assert_eq!(r.text(true), "must be a whole number ≥ 0, not '第二期'");
        assert_eq!(r.text(false), "必须是不小于 0 的整数，而不是“第二期”");
        assert_eq!(r.to_string(), r.text(true));
    }

    /// Issue 17 item 3: an enum's refusal lists the Chinese labels on a Chinese page.
    #[test]
    fn an_enum_refusal_lists_the_chinese_labels() {
        let r = Reason::NotOneOf {
            got: "讲座".into(),
            choices: vec![
                Choice {
                    value: "monthly".into(),
                    label_zh: "每月一讲".into(),
                },
                Choice {
                    value: "other".into(),
                    label_zh: "其他".into(),
                },
            ],
        };
        assert_eq!(r.text(false), "“讲座”不是可选项，可选：每月一讲、其他");
        assert_eq!(
            r.text(true),
            "'讲座' is not one of: monthly (每月一讲), other (其他)"
        );
    }
}
