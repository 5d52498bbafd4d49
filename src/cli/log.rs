//! `annals log`: the events a filter selects, one line (or one JSON object) each.
use std::{io::Write, process::ExitCode};

use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use clap::Args;
use events::Envelope;
use projections::period::Lang;

use super::Ctx;
use crate::store::Filter;

/// Which events `annals log` lists.
#[derive(Debug, Clone, Args)]
pub struct LogArgs {
    /// Only this kind.
    #[arg(long)]
    pub kind: Option<String>,
    /// Only events on or after this day.
    #[arg(long)]
    pub from: Option<String>,
    /// Only events on or before this day.
    #[arg(long)]
    pub to: Option<String>,
    /// Only events recorded at or after this moment (RFC 3339).
    #[arg(long)]
    pub recorded_from: Option<String>,
    /// Only events recorded at or before this moment (RFC 3339).
    #[arg(long)]
    pub recorded_to: Option<String>,
    /// Start at this seq.
    #[arg(long)]
    pub since_seq: Option<u64>,
    /// At most this many events.
    #[arg(long)]
    pub limit: Option<usize>,
}

fn day(s: &str) -> anyhow::Result<NaiveDate> {
    events::occurred::parse_date(s).map_err(anyhow::Error::msg)
}

fn moment(s: &str) -> anyhow::Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .with_context(|| {
            format!("'{s}' is not a moment in RFC 3339 form, such as 2023-07-03T09:00:00+08:00")
        })
}

impl Ctx<'_> {
    /// Lists the events `args` selects.
    pub(super) fn log(&self, args: &LogArgs) -> anyhow::Result<ExitCode> {
        let filter = Filter {
            from_seq: args.since_seq,
            to_seq: None,
            kind: args.kind.clone(),
            occurred: match (&args.from, &args.to) {
                (None, None) => None,
                (f, t) => Some((
                    f.as_deref().map(day).transpose()?.unwrap_or(NaiveDate::MIN),
                    t.as_deref().map(day).transpose()?.unwrap_or(NaiveDate::MAX),
                )),
            },
            recorded: match (&args.recorded_from, &args.recorded_to) {
                (None, None) => None,
                (f, t) => Some((
                    f.as_deref()
                        .map(moment)
                        .transpose()?
                        .unwrap_or(DateTime::<Utc>::MIN_UTC),
                    t.as_deref()
                        .map(moment)
                        .transpose()?
                        .unwrap_or(DateTime::<Utc>::MAX_UTC),
                )),
            },
            limit: args.limit,
        };
        self.list(filter)
    }
    fn list(&self, filter: Filter) -> anyhow::Result<ExitCode> {
        let store = self.open()?;
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::new(stdout.lock());
        for e in store.scan(filter) {
            let e = e?;
            if self.cli.json {
                serde_json::to_writer(&mut out, &e)?;
                writeln!(out)?;
            } else {
                writeln!(out, "{}", self.line(&e))?;
            }
        }
        out.flush()?;
        Ok(ExitCode::SUCCESS)
    }

    /// One event as a line of text: seq, date, kind, its fields, and who recorded it when.
    pub(super) fn line(&self, e: &Envelope) -> String {
        let label = self.kind_label(&e.kind);
        let en = self.cli.lang == Lang::En;
        let fields: Vec<String> = match self.catalog.kind(&e.kind) {
            Some(def) => def
                .present(&e.data)
                .map(|(f, v)| format!("{}={}", self.t(&f.label_zh, &f.label_en), f.display(v, en)))
                .collect(),
            None => vec![e.data.to_string()],
        };
        let mut text = fields.join(" ");
        if text.chars().count() > 80 {
            text = text.chars().take(80).collect::<String>() + "…";
        }
        format!(
            "{:>6}  {:<22}  {}  {}  [{} {}]",
            e.seq,
            e.occurred.to_string(),
            label,
            text,
            e.recorded_at
                .with_timezone(&self.cli.utc_offset)
                .format("%Y-%m-%d %H:%M"),
            self.cli.lang.author(&e.recorded_by)
        )
    }
}
