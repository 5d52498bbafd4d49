//! When a thing happened: one date, or a range of dates such as a class's session.
use std::{fmt, str::FromStr};

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{error::excerpt, message::Reason};

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
    pub fn range(from: NaiveDate, to: NaiveDate) -> Result<Self, Reason> {
        if to < from {
            return Err(Reason::RangeBackwards {
                from: from.to_string(),
                to: to.to_string(),
            });
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
pub fn parse_date(s: &str) -> Result<NaiveDate, Reason> {
    let invalid = || Reason::NotDate {
        got: excerpt(s).into_owned(),
    };
    let d = match iso_day(s.trim().as_bytes()) {
        // The form every tool here writes, read without chrono's format parser.
        Some((y, m, d)) => NaiveDate::from_ymd_opt(y, m, d).ok_or_else(invalid)?,
        None => NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| invalid())?,
    };
    if !(1900..=2100).contains(&d.year()) {
        return Err(Reason::YearOutOfRange {
            got: excerpt(s).into_owned(),
        });
    }
    Ok(d)
}

impl FromStr for Occurred {
    type Err = Reason;

    fn from_str(s: &str) -> Result<Self, Reason> {
        match s.split_once("..") {
            Some((a, b)) => Occurred::range(parse_date(a)?, parse_date(b)?),
            None => Ok(Occurred::on(parse_date(s)?)),
        }
    }
}

impl fmt::Display for Occurred {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_day(f, self.from)?;
        if !self.is_single_day() {
            f.write_str("..")?;
            write_day(f, self.to)?;
        }
        Ok(())
    }
}

/// Writes a day as `YYYY-MM-DD` by hand: every event's hash and record write one, and
/// chrono's formatter is many times slower. Years outside 0–9999 go through chrono.
fn write_day(f: &mut fmt::Formatter<'_>, d: NaiveDate) -> fmt::Result {
    let Ok(y @ 0..=9999) = u32::try_from(d.year()) else {
        return write!(f, "{d}");
    };
    let (m, day) = (d.month(), d.day());
    let mut text = *b"0000-00-00";
    for (i, n) in [
        (0, y / 1000),
        (1, y / 100 % 10),
        (2, y / 10 % 10),
        (3, y % 10),
    ]
    .into_iter()
    .chain([(5, m / 10), (6, m % 10), (8, day / 10), (9, day % 10)])
    {
        text[i] = b'0' + n as u8;
    }
    f.write_str(std::str::from_utf8(&text).expect("ASCII digits"))
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

/// The year, month and day of exactly `DDDD-DD-DD`.
fn iso_day(b: &[u8]) -> Option<(i32, u32, u32)> {
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let number = |r: std::ops::Range<usize>| {
        b[r].iter().try_fold(0u32, |n, c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    Some((number(0..4)? as i32, number(5..7)?, number(8..10)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Days are written and read by hand for speed; they must say what chrono says.
    #[test]
    fn days_are_written_and_read_as_chrono_does() {
        let mut day = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap();
        while day.year() <= 2100 {
            let text = Occurred::on(day).to_string();
            assert_eq!(text, day.format("%Y-%m-%d").to_string());
            assert_eq!(parse_date(&text), Ok(day));
            day = day + chrono::Days::new(13);
        }
        let far = NaiveDate::from_ymd_opt(12_345, 6, 7).unwrap();
        assert_eq!(Occurred::on(far).to_string(), far.to_string());
        // Other forms chrono reads still read (through chrono).
        assert_eq!(
            parse_date(" 2023-6-8 "),
            Ok(NaiveDate::from_ymd_opt(2023, 6, 8).unwrap())
        );
        for bad in [
            "2023-02-30",
            "2023-13-01",
            "2023-0a-01",
            "20230101",
            "2023-01-01x",
        ] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
    }

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
            .to_string()
            .contains("not a real date"));
        assert!("2023-07-02..2023-06-29"
            .parse::<Occurred>()
            .unwrap_err()
            .to_string()
            .contains("before it starts"));
        assert!("0023-01-01".parse::<Occurred>().is_err());
    }
}
