//! Periods and query times: which days a figure covers (`2023H1`), the day it is
//! computed for (`on`), and what the log knew (`known_at`).
use std::{fmt, str::FromStr};

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveTime, Utc};
use serde::Serialize;

use crate::Error;

/// The author the command line records as when `--by` is not given.
pub const SYSTEM_CLI: &str = "命令行";
/// The holder of the admin token the server makes on its first start.
pub const SYSTEM_ADMIN: &str = "管理员";

/// A language for labels and reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// 中文 (the default).
    #[default]
    Zh,
    /// English.
    En,
}

impl FromStr for Lang {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s.to_ascii_lowercase().as_str() {
            "zh" | "zh-cn" | "cn" => Ok(Lang::Zh),
            "en" | "en-us" | "en-gb" => Ok(Lang::En),
            _ => Err(Error::Argument {
                arg: "lang",
                reason: format!("'{s}' is not a language; use zh or en"),
            }),
        }
    }
}

impl Lang {
    /// Picks the text for this language.
    pub fn pick<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }

    /// Who recorded an event, as this language names them: the names Annals itself
    /// gives (the command line's default author, the first admin token's holder) are
    /// translated; a person's or an office's name is shown as written.
    ///
    /// ```
    /// use projections::period::{Lang, SYSTEM_CLI};
    /// assert_eq!(Lang::En.author(SYSTEM_CLI), "command line");
    /// assert_eq!(Lang::Zh.author(SYSTEM_CLI), "命令行");
    /// assert_eq!(Lang::En.author("教务科"), "教务科");
    /// ```
    pub fn author(self, by: &str) -> &str {
        match (self, by) {
            (Lang::En, SYSTEM_CLI) => "command line",
            (Lang::En, SYSTEM_ADMIN) => "administrator",
            _ => by,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Span {
    Year(i32),
    Half(i32, u32),
    Quarter(i32, u32),
    Month(i32, u32),
    Range,
}

/// A span of days, both ends included; never ends before it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    from: NaiveDate,
    to: NaiveDate,
    span: Span,
}

const PERIOD_FORMS: &str = "use a year (2023), a half (2023H1), a quarter (2023Q2), a month (2023-06) or FROM..TO (2023-01-01..2023-06-30)";

fn ymd(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d)
}

fn month_end(y: i32, m: u32) -> NaiveDate {
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    ymd(ny, nm, 1)
        .and_then(|d| d.pred_opt())
        .expect("a month has an end")
}

impl Period {
    /// The calendar year.
    pub fn year(y: i32) -> Self {
        Period {
            from: ymd(y, 1, 1).expect("valid year"),
            to: ymd(y, 12, 31).expect("valid year"),
            span: Span::Year(y),
        }
    }

    /// Months `first..=last` of year `y`, labelled as `span`.
    fn months(y: i32, first: u32, last: u32, span: Span) -> Self {
        Period {
            from: ymd(y, first, 1).expect("valid month"),
            to: month_end(y, last),
            span,
        }
    }

    /// Any range of days.
    pub fn range(from: NaiveDate, to: NaiveDate) -> Result<Self, Error> {
        if to < from {
            return Err(Error::Argument {
                arg: "period",
                reason: format!("the period ends ({to}) before it starts ({from})"),
            });
        }
        Ok(Period {
            from,
            to,
            span: Span::Range,
        })
    }

    /// The first day.
    pub fn from(&self) -> NaiveDate {
        self.from
    }

    /// The last day.
    pub fn to(&self) -> NaiveDate {
        self.to
    }

    /// Whether a day falls inside.
    pub fn contains(&self, d: NaiveDate) -> bool {
        self.from <= d && d <= self.to
    }

    /// The same period one year earlier (used for year-on-year figures).
    pub fn year_before(&self) -> Self {
        let shift = |d: NaiveDate| same_day_last_year(d);
        match self.span {
            Span::Year(y) => Period::year(y - 1),
            Span::Half(y, h) => Period::months(y - 1, h * 6 - 5, h * 6, Span::Half(y - 1, h)),
            Span::Quarter(y, q) => Period::months(y - 1, q * 3 - 2, q * 3, Span::Quarter(y - 1, q)),
            Span::Month(y, m) => Period::months(y - 1, m, m, Span::Month(y - 1, m)),
            Span::Range => Period {
                from: shift(self.from),
                to: shift(self.to),
                span: Span::Range,
            },
        }
    }

    /// The name people use for it, in the given language: 2023年上半年 / first half of 2023.
    pub fn label(&self, lang: Lang) -> String {
        match (self.span, lang) {
            (Span::Year(y), Lang::Zh) => format!("{y}年"),
            (Span::Year(y), Lang::En) => format!("{y}"),
            (Span::Half(y, 1), Lang::Zh) => format!("{y}年上半年"),
            (Span::Half(y, _), Lang::Zh) => format!("{y}年下半年"),
            (Span::Half(y, 1), Lang::En) => format!("the first half of {y}"),
            (Span::Half(y, _), Lang::En) => format!("the second half of {y}"),
            (Span::Quarter(y, q), Lang::Zh) => {
                format!("{y}年第{}季度", ["一", "二", "三", "四"][q as usize - 1])
            }
            (Span::Quarter(y, q), Lang::En) => format!("Q{q} {y}"),
            (Span::Month(y, m), Lang::Zh) => format!("{y}年{m}月"),
            (Span::Month(_, _), Lang::En) => self.from.format("%B %Y").to_string(),
            (Span::Range, Lang::Zh) => format!(
                "{}至{}",
                self.from.format("%Y年%-m月%-d日"),
                self.to.format("%Y年%-m月%-d日")
            ),
            (Span::Range, Lang::En) => format!("{} to {}", self.from, self.to),
        }
    }

    /// Splits the period into months, quarters or halves (clipped to the period).
    pub fn buckets(&self, by: Bucket) -> Vec<Period> {
        let mut out = Vec::new();
        let mut cursor = self.from;
        while cursor <= self.to {
            let (y, m) = (cursor.year(), cursor.month());
            let bucket = match by {
                Bucket::Month => Period::months(y, m, m, Span::Month(y, m)),
                Bucket::Quarter => {
                    let q = (m - 1) / 3 + 1;
                    Period::months(y, q * 3 - 2, q * 3, Span::Quarter(y, q))
                }
                Bucket::Half => {
                    let h = if m <= 6 { 1 } else { 2 };
                    Period::months(y, h * 6 - 5, h * 6, Span::Half(y, h))
                }
            };
            let clipped = Period {
                from: bucket.from.max(self.from),
                to: bucket.to.min(self.to),
                span: if bucket.from >= self.from && bucket.to <= self.to {
                    bucket.span
                } else {
                    Span::Range
                },
            };
            cursor = match bucket.to.succ_opt() {
                Some(next) => next,
                None => break,
            };
            out.push(clipped);
        }
        out
    }
}

/// The same calendar day a year earlier; 29 February becomes the 28th.
pub fn same_day_last_year(d: NaiveDate) -> NaiveDate {
    d.with_year(d.year() - 1)
        .or_else(|| ymd(d.year() - 1, d.month(), 28))
        .expect("every month has a 28th")
}

impl FromStr for Period {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = || Error::Argument {
            arg: "period",
            reason: format!("'{s}' is not a period; {PERIOD_FORMS}"),
        };
        let s = s.trim();
        if let Some((a, b)) = s.split_once("..") {
            let day = |t: &str| {
                events::occurred::parse_date(t).map_err(|reason| Error::Argument {
                    arg: "period",
                    reason: reason.to_string(),
                })
            };
            return Period::range(day(a)?, day(b)?);
        }
        let year = |t: &str| -> Result<i32, Error> {
            let y: i32 = t.parse().map_err(|_| bad())?;
            if t.len() == 4 && (1900..=2100).contains(&y) {
                Ok(y)
            } else {
                Err(bad())
            }
        };
        let upper = s.to_ascii_uppercase();
        if let Some((y, h)) = upper.split_once('H') {
            let h: u32 = h.parse().map_err(|_| bad())?;
            if !(1..=2).contains(&h) {
                return Err(bad());
            }
            let y = year(y)?;
            return Ok(Period::months(y, h * 6 - 5, h * 6, Span::Half(y, h)));
        }
        if let Some((y, q)) = upper.split_once('Q') {
            let q: u32 = q.parse().map_err(|_| bad())?;
            if !(1..=4).contains(&q) {
                return Err(bad());
            }
            let y = year(y)?;
            return Ok(Period::months(y, q * 3 - 2, q * 3, Span::Quarter(y, q)));
        }
        if let Some((y, m)) = s.split_once('-') {
            let m: u32 = m.parse().map_err(|_| bad())?;
            if !(1..=12).contains(&m) || m.to_string().len() > 2 {
                return Err(bad());
            }
            let y = year(y)?;
            return Ok(Period::months(y, m, m, Span::Month(y, m)));
        }
        Ok(Period::year(year(s)?))
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.span {
            Span::Year(y) => write!(f, "{y}"),
            Span::Half(y, h) => write!(f, "{y}H{h}"),
            Span::Quarter(y, q) => write!(f, "{y}Q{q}"),
            Span::Month(y, m) => write!(f, "{y}-{m:02}"),
            Span::Range => write!(f, "{}..{}", self.from, self.to),
        }
    }
}

impl Serialize for Period {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// How a series is split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Bucket {
    /// By calendar month.
    Month,
    /// By quarter.
    Quarter,
    /// By half-year.
    Half,
}

impl FromStr for Bucket {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "month" => Ok(Bucket::Month),
            "quarter" => Ok(Bucket::Quarter),
            "half" => Ok(Bucket::Half),
            _ => Err(Error::Argument {
                arg: "by",
                reason: format!("'{s}' is not a bucket; use month, quarter or half"),
            }),
        }
    }
}

/// The two times every figure is computed for, and the period it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Query {
    /// The days covered.
    pub period: Period,
    /// Count what occurred by this day.
    pub on: NaiveDate,
    /// Count only what the log had recorded by this moment, corrections included.
    pub known_at: DateTime<Utc>,
}

impl Query {
    /// Parses the three query arguments. Defaults: `on` is today in the school's time
    /// zone, `known_at` is now, and the period is the year of `on`. `known_at` may be a
    /// moment (RFC 3339) or a day, meaning the end of that day in the school's zone.
    pub fn parse(
        period: Option<&str>,
        on: Option<&str>,
        known_at: Option<&str>,
        now: DateTime<Utc>,
        offset_seconds: i32,
    ) -> Result<Self, Error> {
        let offset = FixedOffset::east_opt(offset_seconds).ok_or(Error::Argument {
            arg: "offset",
            reason: format!("{offset_seconds} seconds is not a valid UTC offset"),
        })?;
        let on = match on {
            Some(s) => events::occurred::parse_date(s).map_err(|reason| Error::Argument {
                arg: "on",
                reason: reason.to_string(),
            })?,
            None => now.with_timezone(&offset).date_naive(),
        };
        let known_at = match known_at {
            Some(s) => parse_moment(s, offset)?,
            None => now,
        };
        let period = match period {
            Some(p) => p.parse()?,
            None => Period::year(on.year()),
        };
        Ok(Query {
            period,
            on,
            known_at,
        })
    }

    /// The same query for the same period and day one year earlier, as known at the same moment.
    pub fn year_before(&self) -> Self {
        Query {
            period: self.period.year_before(),
            on: same_day_last_year(self.on),
            known_at: self.known_at,
        }
    }
}

/// A moment in RFC 3339 form, or a day meaning the end of that day at `offset`.
pub fn parse_moment(s: &str, offset: FixedOffset) -> Result<DateTime<Utc>, Error> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s.trim()) {
        return Ok(t.with_timezone(&Utc));
    }
    let day = events::occurred::parse_date(s).map_err(|_| Error::Argument {
        arg: "known_at",
        reason: format!(
            "'{s}' is neither a moment (2023-07-05T18:00:00+08:00) nor a day (2023-07-05)"
        ),
    })?;
    let end = day.and_time(NaiveTime::from_hms_micro_opt(23, 59, 59, 999_999).expect("valid time"));
    Ok(end
        .and_local_timezone(offset)
        .single()
        .expect("a fixed offset has one local time")
        .with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn every_period_form_parses_to_its_days() {
        let h1: Period = "2023H1".parse().unwrap();
        assert_eq!((h1.from(), h1.to()), (d("2023-01-01"), d("2023-06-30")));
        assert_eq!(h1.label(Lang::Zh), "2023年上半年");
        let q2: Period = "2023Q2".parse().unwrap();
        assert_eq!((q2.from(), q2.to()), (d("2023-04-01"), d("2023-06-30")));
        let feb: Period = "2024-02".parse().unwrap();
        assert_eq!(feb.to(), d("2024-02-29"));
        let y: Period = "2023".parse().unwrap();
        assert_eq!(y.to(), d("2023-12-31"));
        let r: Period = "2023-03-01..2023-03-31".parse().unwrap();
        assert_eq!(r.to_string(), "2023-03-01..2023-03-31");
    }

    #[test]
    fn bad_periods_name_the_argument() {
        for bad in [
            "2023H3",
            "2023Q5",
            "23",
            "2023-13",
            "H1",
            "2023-06-31..2023-07-01",
            "next year",
        ] {
            let err = bad.parse::<Period>().unwrap_err().to_string();
            assert!(err.starts_with("period:"), "{bad}: {err}");
        }
        let err = "2023-07-01..2023-06-01"
            .parse::<Period>()
            .unwrap_err()
            .to_string();
        assert!(err.contains("ends (2023-06-01) before it starts"), "{err}");
    }

    #[test]
    fn an_impossible_on_date_names_the_argument() {
        let err = Query::parse(None, Some("2023-02-30"), None, Utc::now(), 8 * 3600).unwrap_err();
        assert!(err.to_string().starts_with("on:"), "{err}");
        let err = Query::parse(None, None, Some("yesterday"), Utc::now(), 8 * 3600).unwrap_err();
        assert!(err.to_string().starts_with("known_at:"), "{err}");
    }

    #[test]
    fn a_known_at_day_means_the_end_of_that_day_in_the_school_zone() {
        let t = parse_moment("2023-07-05", FixedOffset::east_opt(8 * 3600).unwrap()).unwrap();
        assert_eq!(t.to_rfc3339(), "2023-07-05T15:59:59.999999+00:00");
    }

    #[test]
    fn months_split_a_half_year_into_six() {
        let h1: Period = "2023H1".parse().unwrap();
        let months = h1.buckets(Bucket::Month);
        assert_eq!(months.len(), 6);
        assert_eq!(months[5].to_string(), "2023-06");
        assert_eq!(h1.buckets(Bucket::Quarter).len(), 2);
    }
}
