//! When a thing happened: one date, or a range of dates such as a class's session.
use std::{fmt, str::FromStr};

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The school's UTC offset unless a deployment configures another: Asia/Shanghai,
/// which keeps +08:00 all year.
pub const DEFAULT_UTC_OFFSET_SECONDS: i32 = 8 * 3600;

/// The day or days on which an event occurred. Written `2023-06-28` or
/// `2023-06-26..2023-06-30`; a valid value never ends before it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Occurred {
    from: NaiveDate,
    to: NaiveDate,
}

impl Occurred {
    /// A single day.
    pub fn on(day: NaiveDate) -> Self {
        Self { from: day, to: day }
    }

    /// A range of days; refused when it ends before it starts.
    pub fn range(from: NaiveDate, to: NaiveDate) -> Result<Self, String> {
        if to < from {
            return Err(format!("the range ends ({to}) before it starts ({from})"));
        }
        Ok(Self { from, to })
    }

    /// The first day.
    pub fn start(&self) -> NaiveDate {
        self.from
    }

    /// The last day.
    pub fn end(&self) -> NaiveDate {
        self.to
    }

    /// Whether this is one day rather than a range.
    pub fn is_single_day(&self) -> bool {
        self.from == self.to
    }
}

/// Parses `YYYY-MM-DD`, refusing impossible days and years outside 1900–2100.
pub fn parse_date(s: &str) -> Result<NaiveDate, String> {
    let d = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| format!("'{s}' is not a real date in the form YYYY-MM-DD"))?;
    if !(1900..=2100).contains(&d.year()) {
        return Err(format!("'{s}' is outside the years 1900–2100"));
    }
    Ok(d)
}

impl FromStr for Occurred {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.split_once("..") {
            Some((a, b)) => Occurred::range(parse_date(a)?, parse_date(b)?),
            None => Ok(Occurred::on(parse_date(s)?)),
        }
    }
}

impl fmt::Display for Occurred {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_single_day() {
            write!(f, "{}", self.from)
        } else {
            write!(f, "{}..{}", self.from, self.to)
        }
    }
}

impl Serialize for Occurred {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Occurred {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_range_round_trips_through_text() {
        let o: Occurred = "2023-06-26..2023-06-30".parse().unwrap();
        assert_eq!(o.to_string(), "2023-06-26..2023-06-30");
        assert_eq!(o.end(), NaiveDate::from_ymd_opt(2023, 6, 30).unwrap());
    }

    #[test]
    fn impossible_and_backwards_dates_are_refused() {
        assert!("2023-02-30"
            .parse::<Occurred>()
            .unwrap_err()
            .contains("not a real date"));
        assert!("2023-07-02..2023-06-29"
            .parse::<Occurred>()
            .unwrap_err()
            .contains("before it starts"));
        assert!("0023-01-01".parse::<Occurred>().is_err());
    }
}
