//! The one problem type of intake: where (a draft, a batch's item, a file's line, a
//! workbook's cell), which field and why, rendered once per output (text in Chinese or
//! English, JSON problem details); and a file's problems, the first hundred kept and the
//! rest only counted: a file with millions of bad cells costs no more memory than one
//! with a hundred (issue 13: an import's error list grew to a gigabyte), and nobody
//! reads past the first hundred anyway.
use std::fmt;

use events::{error::excerpt, FieldError, Reason};
use serde::Serialize;

/// Where a problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum At {
    /// The one event submitted (the command line's, the page's form): its field says
    /// where.
    Draft,
    /// An event of a batch, by its 0-based position.
    Item(usize),
    /// A file's line, 1-based.
    Line(usize),
    /// A place in a workbook as a spreadsheet names it (`举办培训班!G2`, a row
    /// `举办培训班!2:2`, a range), or the file's name for the file as a whole.
    Cell(String),
}

/// One thing refused, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where.
    pub at: At,
    /// The field: the event's (`data.trainees`, `occurred`), a sheet's column as headed
    /// (`培训人数`), or what the place is (`line`, `header`, `sheet`, `file`).
    pub field: String,
    /// Why.
    pub reason: Reason,
}

impl Problem {
    /// A problem at `at`.
    pub fn new(at: At, field: impl Into<String>, reason: Reason) -> Problem {
        Problem {
            at,
            field: field.into(),
            reason,
        }
    }

    /// An event's failing field, found at `at`.
    pub fn of(at: At, e: FieldError) -> Problem {
        Problem::new(at, e.field, e.reason)
    }

    /// A problem at a workbook's place; `field` is quoted, as it may be a header
    /// cell's text.
    pub fn cell(at: String, field: &str, reason: Reason) -> Problem {
        Problem::new(At::Cell(at), excerpt(field).into_owned(), reason)
    }

    /// The problem as a line of text: `12: data.trainees: …`, `举办培训班!G2: 培训人数: …`,
    /// `event 2: occurred: …`, in English or Chinese.
    pub fn text(&self, en: bool) -> String {
        let reason = self.reason.text(en);
        match &self.at {
            At::Draft => format!("{}: {reason}", self.field),
            At::Item(i) if en => format!("event {}: {}: {reason}", i + 1, self.field),
            At::Item(i) => format!("第 {} 条：{}: {reason}", i + 1, self.field),
            At::Line(n) => format!("{n}: {}: {reason}", self.field),
            At::Cell(c) => format!("{c}: {}: {reason}", self.field),
        }
    }

    /// The problem as JSON problem details list it: `index` for a batch's item, the
    /// place and the field as `field` for a file's, and the reason in English or
    /// Chinese.
    pub fn json(&self, en: bool) -> ProblemJson {
        let (index, field) = match &self.at {
            At::Draft => (None, self.field.clone()),
            At::Item(i) => (Some(*i), self.field.clone()),
            At::Line(n) => (None, format!("{n}: {}", self.field)),
            At::Cell(c) => (None, format!("{c}: {}", self.field)),
        };
        ProblemJson {
            index,
            field,
            reason: self.reason.text(en),
        }
    }
}

/// In English, as logs and the library's errors say it.
impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text(true))
    }
}

/// A problem as JSON problem details (and `annals --json`) list it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProblemJson {
    /// The event's position in a batch (0-based), for batches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    /// The field, after the place in the file when it is a file's.
    pub field: String,
    /// Why, in the language asked for.
    pub reason: String,
}

/// At most this many problems are kept and listed; the rest are counted.
pub const MAX_LISTED_ERRORS: usize = 100;

/// Problems in the order they were found: the first [`MAX_LISTED_ERRORS`] kept, the
/// others counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problems<T = Problem> {
    listed: Vec<T>,
    more: usize,
}

impl<T> Default for Problems<T> {
    fn default() -> Self {
        Problems {
            listed: Vec::new(),
            more: 0,
        }
    }
}

impl Problems {
    /// The problems kept as text, one a line, then `… and N more` (`…另有 N 处`).
    pub fn text(&self, en: bool) -> String {
        let mut out: Vec<String> = self.listed.iter().map(|p| p.text(en)).collect();
        if self.more > 0 {
            out.push(if en {
                format!("… and {} more", self.more)
            } else {
                format!("……另有 {} 处", self.more)
            });
        }
        out.join("\n")
    }
}

impl<T> Problems<T> {
    /// No problems.
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps a problem while fewer than [`MAX_LISTED_ERRORS`] are kept; counts it
    /// otherwise.
    pub fn push(&mut self, problem: T) {
        if self.listed.len() < MAX_LISTED_ERRORS {
            self.listed.push(problem);
        } else {
            self.more += 1;
        }
    }

    /// Adds `other`'s problems after these, as if each had been pushed.
    pub fn append(&mut self, other: Problems<T>) {
        self.more += other.more;
        other.listed.into_iter().for_each(|p| self.push(p));
    }

    /// Every problem found, kept or only counted.
    pub fn total(&self) -> usize {
        self.listed.len() + self.more
    }

    /// Whether nothing was found.
    pub fn is_empty(&self) -> bool {
        self.listed.is_empty()
    }

    /// The problems kept, in the order they were found.
    pub fn listed(&self) -> &[T] {
        &self.listed
    }

    /// How many problems were found past the ones kept.
    pub fn more(&self) -> usize {
        self.more
    }

    /// The problems kept.
    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.listed.iter()
    }

    /// The problems kept, and how many more there were.
    pub fn into_parts(self) -> (Vec<T>, usize) {
        (self.listed, self.more)
    }
}

impl<T> Extend<T> for Problems<T> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, problems: I) {
        problems.into_iter().for_each(|p| self.push(p));
    }
}

impl<T> FromIterator<T> for Problems<T> {
    fn from_iter<I: IntoIterator<Item = T>>(problems: I) -> Self {
        let mut out = Problems::new();
        out.extend(problems);
        out
    }
}

impl<T> From<Vec<T>> for Problems<T> {
    fn from(problems: Vec<T>) -> Self {
        problems.into_iter().collect()
    }
}

impl<T> IntoIterator for Problems<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;

    /// The problems kept.
    fn into_iter(self) -> Self::IntoIter {
        self.listed.into_iter()
    }
}

impl<'a, T> IntoIterator for &'a Problems<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.listed.iter()
    }
}

/// The problems kept, one a line, then `… and N more` when some were only counted.
impl<T: fmt::Display> fmt::Display for Problems<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.listed.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{p}")?;
        }
        if self.more > 0 {
            write!(f, "\n… and {} more", self.more)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_says_where_in_either_language() {
        let p = Problem::new(
            At::Cell("举办培训班!G2".into()),
            "培训人数",
            Reason::NotWholeNumber {
                got: "很多".into()
            },
        );
        assert_eq!(
            p.to_string(),
            "举办培训班!G2: 培训人数: must be a whole number ≥ 0, not '很多'"
        );
        assert_eq!(
            p.text(false),
            "举办培训班!G2: 培训人数: 必须是不小于 0 的整数，而不是“很多”"
        );
        let item = Problem::new(At::Item(1), "occurred", Reason::OccurredRequired);
        assert_eq!(item.json(true).index, Some(1));
        assert_eq!(
            item.text(true),
            "event 2: occurred: is required (the date it happened)"
        );
    }

    #[test]
    fn past_the_first_hundred_problems_are_counted_not_kept() {
        let mut p: Problems<usize> = (0..150).collect();
        assert_eq!((p.listed().len(), p.more(), p.total()), (100, 50, 150));
        let mut other: Problems<usize> = (1000..1010).collect();
        other.more = 5;
        p.append(other);
        assert_eq!((p.listed().len(), p.more(), p.total()), (100, 65, 165));
        assert!(p.to_string().ends_with("\n99\n… and 65 more"));

        let mut few: Problems<usize> = (0..3).collect();
        few.append((10..200).collect());
        assert_eq!(few.listed()[..4], [0, 1, 2, 10]);
        assert_eq!((few.listed().len(), few.total()), (100, 193));
        assert_eq!(Problems::from(vec![1, 2]).to_string(), "1\n2");
    }
}
