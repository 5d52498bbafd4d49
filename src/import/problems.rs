//! The problems found in a file, the first hundred kept and the rest only counted: a
//! file with millions of bad cells costs no more memory than one with a hundred
//! (issue 13: an import's error list grew to a gigabyte), and nobody reads past the
//! first hundred anyway.
use std::fmt;

/// At most this many problems are kept and listed; the rest are counted.
pub const MAX_LISTED_ERRORS: usize = 100;

/// Problems in the order they were found: the first [`MAX_LISTED_ERRORS`] kept, the
/// others counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problems<T> {
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
