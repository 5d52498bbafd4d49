//! The `annals` command line: each command opens the store, calls one operation and
//! prints its result, as text in Chinese (or English) or as JSON.
use std::{
    io::{IsTerminal, Write},
    path::PathBuf,
    process::ExitCode,
    sync::Arc,
};

use anyhow::{bail, Context};
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use clap::{Args, FromArgMatches, Parser, Subcommand, ValueEnum};
use events::{Catalog, Envelope};
use projections::period::{Lang, Query};
use serde_json::json;

mod backup;
mod figures;
mod hub;
mod office;
mod push;
mod serve;

use crate::{
    config::load_catalog,
    intake::{self, jsonl, Mode},
    store::{Filter, Options, Store},
};

/// Annals: the activity log of a county Party School (县委党校工作纪实).
#[derive(Debug, Parser)]
#[command(name = "annals", version, about)]
pub struct Cli {
    /// The store folder.
    #[arg(
        long,
        env = "ANNALS_STORE",
        default_value = "annals-data",
        global = true
    )]
    pub store: PathBuf,
    /// A folder of catalog files (*.toml) to use instead of the embedded catalog.
    #[arg(long, env = "ANNALS_CATALOG", global = true)]
    pub catalog: Option<PathBuf>,
    /// Who is recording; written as `recorded_by` on what this command records.
    #[arg(long, env = "ANNALS_USER", default_value = "命令行", global = true)]
    pub by: String,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// The language of labels, messages and reports: zh or en.
    #[arg(long, env = "ANNALS_LANG", default_value = "zh", global = true)]
    pub lang: Lang,
    /// A folder of metric definitions (*.toml) to use instead of the embedded ones.
    #[arg(long, env = "ANNALS_METRICS", global = true)]
    pub metrics: Option<PathBuf>,
    /// A folder of report templates (*.j2) to use instead of the embedded ones.
    #[arg(long, env = "ANNALS_TEMPLATES", global = true)]
    pub templates: Option<PathBuf>,
    /// The school's UTC offset, for "today" and for days given as `known_at`.
    #[arg(long, env = "ANNALS_UTC_OFFSET", default_value = "+08:00", value_parser = parse_offset, global = true)]
    pub utc_offset: FixedOffset,
    /// What to do; with none, serves the store (loading the example if it is empty).
    #[command(subcommand)]
    pub command: Option<Command>,
}

fn parse_offset(s: &str) -> Result<FixedOffset, String> {
    s.parse::<FixedOffset>()
        .map_err(|_| format!("'{s}' is not a UTC offset such as +08:00"))
}

/// Which day, which knowledge and which period a figure is computed for.
#[derive(Debug, Clone, Args)]
pub struct When {
    /// The period: 2023, 2023H1, 2023Q2, 2023-06 or FROM..TO (default: the year of --on).
    #[arg(long)]
    pub period: Option<String>,
    /// Count what occurred by this day (default: today).
    #[arg(long)]
    pub on: Option<String>,
    /// Count only what was recorded by this moment or day (default: now).
    #[arg(long)]
    pub known_at: Option<String>,
}

/// How a report is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Markdown text.
    Md,
    /// The report's content as JSON.
    Json,
    /// A Word document in the official layout (needs --out).
    Docx,
}

/// What `annals export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// The whole log, one envelope per line.
    Jsonl,
    /// The metrics, progress and timelines as an Excel workbook (needs --out).
    Xlsx,
}

/// What `annals template` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TemplateFormat {
    /// An Excel workbook, one sheet per kind.
    Xlsx,
}

/// How `annals serve` listens and what it allows.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// The address to listen on.
    #[arg(long, env = "ANNALS_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
    /// Let anyone read without a token (writes always need one).
    #[arg(long, env = "ANNALS_OPEN_READS")]
    pub open_reads: bool,
    /// The largest request body, in bytes.
    #[arg(long, env = "ANNALS_BODY_LIMIT", default_value_t = 1024 * 1024)]
    pub body_limit: usize,
    /// The most events one request may append.
    #[arg(long, env = "ANNALS_BATCH_LIMIT", default_value_t = 10_000)]
    pub batch_limit: usize,
    /// Do not load the example dataset into an empty store.
    #[arg(long, env = "ANNALS_NO_DEMO")]
    pub no_demo: bool,
    /// Seconds a client may take to send a request's headers.
    #[arg(long, env = "ANNALS_HEADER_TIMEOUT", default_value_t = 10)]
    pub header_timeout: u64,
    /// Seconds a client may take to send a request's whole body.
    #[arg(long, env = "ANNALS_BODY_TIMEOUT", default_value_t = 30)]
    pub body_timeout: u64,
    /// The most connections served at once; the next is answered 503.
    #[arg(long, env = "ANNALS_MAX_CONNECTIONS", default_value_t = 512)]
    pub max_connections: usize,
    /// The most event streams (`/api/stream`) open at once; the next is answered 503.
    #[arg(long, env = "ANNALS_MAX_STREAMS", default_value_t = 64)]
    pub max_streams: usize,
    /// Where the first start writes the admin token it makes (readable by its owner
    /// only); `<store>.admin-token` beside the store's folder when not given.
    #[arg(long, env = "ANNALS_ADMIN_TOKEN_FILE")]
    pub admin_token_file: Option<std::path::PathBuf>,
    /// The server sits behind TLS (a reverse proxy answers https): mark the page's
    /// sign-in cookie Secure and accept signed-in changes only from an https page.
    #[arg(long, env = "ANNALS_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// Hours a browser's sign-in to the page lasts before it must sign in again.
    #[arg(long, env = "ANNALS_SESSION_HOURS", default_value_t = 12)]
    pub session_hours: u32,
    /// The most browsers signed in at once; past it, the token with the most sign-ins
    /// loses its oldest one.
    #[arg(long, env = "ANNALS_MAX_SESSIONS", default_value_t = 10_000)]
    pub max_sessions: usize,
    /// The most imports read at once; the next waits its turn (each may take up to
    /// 256 MB while it is read).
    #[arg(long, env = "ANNALS_IMPORTS_AT_ONCE", default_value_t = 1)]
    pub imports_at_once: usize,
    /// Pushing to a hub on a schedule.
    #[command(flatten)]
    pub push: push::ScheduleArgs,
}

/// What to do with tokens.
#[derive(Debug, Subcommand)]
pub enum TokenAction {
    /// Make a token; it is printed once and stored only as a hash.
    Create {
        /// Who holds it (办公室, 教务科…); becomes `recorded_by` on what it records.
        #[arg(long)]
        name: String,
        /// reader, recorder or admin.
        #[arg(long)]
        role: crate::store::Role,
        /// Make it stop working after this many days.
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
    /// List tokens (never the tokens themselves).
    List,
    /// Revoke the token of that name.
    Revoke {
        /// The token's name.
        name: String,
    },
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API and the progress page (loads the example into an empty store).
    Serve(ServeArgs),
    /// Manage access tokens for the server (while the server is stopped, or use /api/tokens).
    Token {
        #[command(subcommand)]
        action: TokenAction,
    },
    /// Load the example dataset into an empty store, summarise the log and verify it.
    Demo,
    /// Create an empty store.
    Init,
    /// Record one event.
    Record {
        /// The kind, such as class_held (see `annals kinds`).
        kind: String,
        /// When it happened: DATE or DATE..DATE.
        #[arg(long)]
        occurred: Option<String>,
        /// A field value, field=value; repeat for each field.
        #[arg(long = "set", value_name = "FIELD=VALUE")]
        set: Vec<String>,
        /// All fields as a JSON object, instead of --set.
        #[arg(long, conflicts_with = "set")]
        data: Option<String>,
        /// The event's id (a UUID); recording the same id again is a no-op.
        #[arg(long)]
        id: Option<String>,
        /// Refuse unless the log's head is at this seq.
        #[arg(long)]
        expected_seq: Option<u64>,
    },
    /// Import a file, all or nothing: JSONL (one event per line), an Excel workbook
    /// (.xlsx, one sheet per kind, as `annals template` makes) or one sheet as CSV
    /// (named after its kind, such as 举办培训班.csv).
    Import {
        /// The file.
        file: PathBuf,
        /// Check the file without writing anything.
        #[arg(long)]
        dry_run: bool,
    },
    /// List events.
    Log {
        /// Only this kind.
        #[arg(long)]
        kind: Option<String>,
        /// Only events on or after this day.
        #[arg(long)]
        from: Option<String>,
        /// Only events on or before this day.
        #[arg(long)]
        to: Option<String>,
        /// Only events recorded at or after this moment (RFC 3339).
        #[arg(long)]
        recorded_from: Option<String>,
        /// Only events recorded at or before this moment (RFC 3339).
        #[arg(long)]
        recorded_to: Option<String>,
        /// Start at this seq.
        #[arg(long)]
        since_seq: Option<u64>,
        /// At most this many events.
        #[arg(long)]
        limit: Option<usize>,
    },
    /// Show one event and every correction of it.
    Show {
        /// The event's id.
        id: String,
    },
    /// List the catalog's kinds and their fields.
    Kinds,
    /// Write the whole log as JSONL (to stdout, or --out), or the figures as a workbook.
    Export {
        /// The file to write.
        #[arg(long)]
        out: Option<PathBuf>,
        /// jsonl (the log) or xlsx (metrics, progress and timelines).
        #[arg(long, value_enum, default_value = "jsonl")]
        format: ExportFormat,
        /// For xlsx: the timelines' buckets: month, quarter or half.
        #[arg(long, default_value = "month")]
        by: String,
        #[command(flatten)]
        when: When,
    },
    /// Write the import template: a workbook with one sheet per kind of event.
    Template {
        /// xlsx.
        #[arg(long, value_enum, default_value = "xlsx")]
        format: TemplateFormat,
        /// The file to write (default: annals-template.xlsx).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Every metric for a period, with last year's figure for the same period.
    Metrics {
        #[command(flatten)]
        when: When,
    },
    /// Progress against a year's targets: plan against done, and the share of the year elapsed.
    Progress {
        /// The year (default: the year of --on).
        #[arg(long)]
        year: Option<i32>,
        #[command(flatten)]
        when: When,
    },
    /// A metric as a series (--metric), or the events of a period with their corrections.
    Timeline {
        /// The metric to chart.
        #[arg(long)]
        metric: Option<String>,
        /// The buckets: month, quarter or half.
        #[arg(long, default_value = "month")]
        by: String,
        #[command(flatten)]
        when: When,
    },
    /// A teacher's record for a year and the "三个一" rule; everyone when no name is given.
    Person {
        /// The person, as recorded (a name or staff id).
        name: Option<String>,
        /// The year (default: the year of --on).
        #[arg(long)]
        year: Option<i32>,
        #[command(flatten)]
        when: When,
    },
    /// The report for a period: every figure, the plan against what is done, year on year.
    Report {
        /// md (default), json or docx.
        #[arg(long, value_enum, default_value = "md")]
        format: ReportFormat,
        /// Write to this file instead of stdout (docx needs it).
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        when: When,
    },
    /// Recompute every hash and link; exits non-zero on the first bad event.
    Verify {
        /// Check an exported file instead of the store.
        #[arg(long)]
        file: Option<PathBuf>,
        /// Also prove the log still extends this seal (`ANNALS-SEAL <seq> <hash> <time>`).
        #[arg(long, value_name = "SEAL")]
        against: Option<crate::store::Seal>,
    },
    /// Print the log's head as a seal, to paste into a report or send to the supervising school.
    Seal,
    /// Back up the log into DIR: an export and its seal, checked. While a server holds
    /// the store, take it from the server (--server, --token).
    Backup {
        /// The folder to write into.
        dir: PathBuf,
        /// The running server's address, such as http://127.0.0.1:8080.
        #[arg(long, env = "ANNALS_SERVER")]
        server: Option<String>,
        /// A reader token for the server.
        #[arg(long, env = "ANNALS_TOKEN")]
        token: Option<String>,
    },
    /// Restore a backup into an empty store; the file's chain is verified before anything is written.
    Restore {
        /// The backup (an export) file.
        file: PathBuf,
    },
    /// Send the supervising school's hub what it does not hold yet, in pieces; safe to
    /// repeat, resumes after a cut. Receipts go to `<store>.receipts.jsonl`.
    Push(push::PushArgs),
    /// Write what follows a seal as a file for the hub (`annals hub import` at the hub).
    Bundle(push::BundleArgs),
    /// The supervising school's hub on PostgreSQL (`annals hub --database … init`).
    Hub(hub::HubArgs),
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let catalog = Arc::new(load_catalog(cli.catalog.as_deref())?);
    let ctx = Ctx { cli: &cli, catalog };
    // With no command, serve with the defaults (and environment) `annals serve` has.
    let default = Command::Serve(ServeArgs::from_arg_matches(
        &ServeArgs::augment_args(clap::Command::new("serve")).get_matches_from(["serve"]),
    )?);
    match cli.command.as_ref().unwrap_or(&default) {
        Command::Serve(args) => ctx.serve(args),
        Command::Token { action } => ctx.token(action),
        Command::Demo => ctx.demo(),
        Command::Init => {
            let store = ctx.open()?;
            println!("{}: {}", ctx.t("已就绪", "ready"), store.path().display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Record {
            kind,
            occurred,
            set,
            data,
            id,
            expected_seq,
        } => ctx.record(
            kind,
            occurred.clone(),
            set,
            data.as_deref(),
            id.clone(),
            *expected_seq,
        ),
        Command::Import { file, dry_run } => ctx.import(file, *dry_run),
        Command::Log {
            kind,
            from,
            to,
            recorded_from,
            recorded_to,
            since_seq,
            limit,
        } => {
            let filter = Filter {
                from_seq: *since_seq,
                to_seq: None,
                kind: kind.clone(),
                occurred: match (from, to) {
                    (None, None) => None,
                    (f, t) => Some((
                        f.as_deref().map(day).transpose()?.unwrap_or(NaiveDate::MIN),
                        t.as_deref().map(day).transpose()?.unwrap_or(NaiveDate::MAX),
                    )),
                },
                recorded: match (recorded_from, recorded_to) {
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
                limit: *limit,
            };
            ctx.log(filter)
        }
        Command::Show { id } => ctx.show(id),
        Command::Kinds => ctx.kinds(),
        Command::Export {
            out,
            format,
            by,
            when,
        } => ctx.export_as(*format, out.as_ref(), when, by),
        Command::Template { format: _, out } => ctx.template(out.as_deref()),
        Command::Verify { file, against } => ctx.verify(file.as_ref(), against.as_ref()),
        Command::Seal => ctx.seal(),
        Command::Backup { dir, server, token } => {
            ctx.backup(dir, server.as_deref(), token.as_deref())
        }
        Command::Restore { file } => ctx.restore(file),
        Command::Push(args) => ctx.push(args),
        Command::Bundle(args) => ctx.bundle(args),
        Command::Hub(args) => ctx.hub(args),
        Command::Metrics { when } => ctx.metrics(when),
        Command::Progress { year, when } => ctx.progress(*year, when),
        Command::Timeline { metric, by, when } => ctx.timeline(metric.as_deref(), by, when),
        Command::Person { name, year, when } => ctx.person(name.as_deref(), *year, when),
        Command::Report { format, out, when } => ctx.report(*format, out.as_deref(), when),
    }
}

/// Imports of more lines than this show a progress bar on a terminal.
const PROGRESS_FROM_LINES: usize = 5_000;

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

struct Ctx<'a> {
    cli: &'a Cli,
    catalog: Arc<Catalog>,
}

impl Ctx<'_> {
    fn t<'s>(&self, zh: &'s str, en: &'s str) -> &'s str {
        self.cli.lang.pick(zh, en)
    }

    fn query(&self, when: &When) -> anyhow::Result<Query> {
        Ok(Query::parse(
            when.period.as_deref(),
            when.on.as_deref(),
            when.known_at.as_deref(),
            Utc::now(),
            self.cli.utc_offset.local_minus_utc(),
        )?)
    }

    fn open(&self) -> anyhow::Result<Store> {
        let options = Options {
            offset: self.cli.utc_offset,
            ..Options::default()
        };
        Store::open(&self.cli.store, self.catalog.clone(), options)
            .with_context(|| format!("could not open the store at {}", self.cli.store.display()))
    }

    fn print_json(&self, v: &impl serde::Serialize) -> anyhow::Result<()> {
        println!("{}", serde_json::to_string_pretty(v)?);
        Ok(())
    }

    /// Loads the example dataset into an empty store, saying so; true if it did.
    fn load_demo_if_empty(&self, store: &Store) -> anyhow::Result<bool> {
        // A store with tokens has been in use: with no events it lost them, and demo
        // data would hide that.
        if store.head()?.seq != 0 || store.has_tokens()? {
            return Ok(false);
        }
        let outcome = jsonl::import(
            store,
            crate::EXAMPLE_DATASET.as_bytes(),
            crate::EXAMPLE_NAME,
            &self.cli.by,
            intake::Trust::Operator,
            false,
            &mut |_, _| {},
        )?;
        println!(
            "{} {} {}",
            self.t(
                "存储为空，已载入演示数据（示例：2023年上半年），共",
                "The store was empty; loaded the demo dataset (2023 H1):"
            ),
            outcome.added,
            self.t(
                "条。这是演示数据，不是真实记录。",
                "events. This is demo data, not a real record."
            )
        );
        Ok(true)
    }

    fn demo(&self) -> anyhow::Result<ExitCode> {
        let store = self.open()?;
        self.load_demo_if_empty(&store)?;
        self.summary(&store)?;
        self.report_verify(&store)
    }

    fn summary(&self, store: &Store) -> anyhow::Result<()> {
        let mut counts: std::collections::BTreeMap<String, u64> = Default::default();
        for e in store.scan(Filter::default()) {
            *counts.entry(e?.kind).or_default() += 1;
        }
        if self.cli.json {
            return self.print_json(
                &json!({"store": store.path(), "head": store.head()?, "kinds": counts}),
            );
        }
        println!(
            "{} {}",
            self.t("存储位置：", "Store:"),
            store.path().display()
        );
        for (kind, n) in &counts {
            println!("  {:<28} {:>6}", self.kind_label(kind), n);
        }
        let head = store.head()?;
        println!(
            "{} {}  {} {}",
            self.t("记录总数：", "Events:"),
            head.seq,
            self.t("链头哈希：", "Head hash:"),
            head.hash
        );
        Ok(())
    }

    fn kind_label(&self, kind: &str) -> String {
        match self.catalog.kind(kind) {
            Some(k) => format!("{} ({})", self.t(&k.label_zh, &k.label_en), k.name),
            None => kind.to_owned(),
        }
    }

    fn record(
        &self,
        kind: &str,
        occurred: Option<String>,
        set: &[String],
        data: Option<&str>,
        id: Option<String>,
        expected_seq: Option<u64>,
    ) -> anyhow::Result<ExitCode> {
        let fields = match data {
            Some(text) => intake::Fields::Json(
                serde_json::from_str(text).context("--data is not valid JSON")?,
            ),
            None => intake::Fields::Typed(
                set.iter()
                    .map(|pair| match pair.split_once('=') {
                        Some((field, value)) => Ok((field.to_owned(), value.to_owned())),
                        None => Err(anyhow::anyhow!("--set {pair}: expected FIELD=VALUE")),
                    })
                    .collect::<anyhow::Result<_>>()?,
            ),
        };
        let submission = intake::Submission {
            kind: kind.to_owned(),
            occurred,
            fields,
            id,
        };
        let by = intake::Recorder {
            author: self.cli.by.clone(),
            expected_seq,
        };
        let store = self.open()?;
        let r = match intake::record(&store, submission, by) {
            Ok(r) => r,
            Err(e) => return self.refused(e),
        };
        if self.cli.json {
            self.print_json(&r)?;
        } else if r.existing {
            println!(
                "{} seq {} ({})",
                self.t("已存在，未重复记录：", "Already recorded, nothing written:"),
                r.seq,
                r.id
            );
        } else {
            println!(
                "{} seq {}  id {}  hash {}",
                self.t("已记录：", "Recorded:"),
                r.seq,
                r.id,
                r.hash
            );
        }
        Ok(ExitCode::SUCCESS)
    }

    fn import(&self, file: &PathBuf, dry_run: bool) -> anyhow::Result<ExitCode> {
        let bytes =
            std::fs::read(file).with_context(|| format!("could not read {}", file.display()))?;
        let store = self.open()?;
        // A bar only where someone watches, and only for files that take a moment.
        let show_progress = std::io::stderr().is_terminal();
        let mut progress = |done: usize, total: usize| {
            if show_progress && total > PROGRESS_FROM_LINES {
                eprint!("\r{} {done}/{total}", self.t("校验中", "checking"));
                if done == total {
                    eprintln!();
                }
            }
        };
        let options = intake::ImportOptions {
            name: &file.to_string_lossy(),
            author: &self.cli.by,
            trust: intake::Trust::Operator,
            dry_run,
            max_events: None,
        };
        let outcome = match intake::import_file(&store, &bytes, options, &mut progress) {
            Ok(outcome) => outcome,
            Err(e) => return self.refused(e),
        };
        if self.cli.json {
            self.print_json(&outcome)?;
        } else {
            let what = match outcome.mode {
                Mode::Restored => self.t(
                    "按原样恢复（保留序号、时间与哈希）",
                    "restored verbatim (seq, times and hashes kept)",
                ),
                Mode::Appended => self.t("作为新记录导入", "imported as new events"),
                Mode::Unchanged => self.t(
                    "全部已存在，未写入任何内容",
                    "everything was already there; nothing written",
                ),
                Mode::Checked => self.t("校验通过（未写入）", "checked; nothing written"),
            };
            println!(
                "{what}: {} {}, {} {}, {} {}, {} {}",
                self.t("行数", "lines"),
                outcome.lines,
                self.t("新增", "new"),
                outcome.added,
                self.t("已存在", "existing"),
                outcome.existing,
                self.t("冲突", "conflicting"),
                outcome.conflicting
            );
        }
        Ok(if outcome.conflicting > 0 {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        })
    }

    /// Every problem intake found, in the chosen language (or as JSON); other errors
    /// go on as errors.
    fn refused(&self, e: intake::IntakeError) -> anyhow::Result<ExitCode> {
        let intake::IntakeError::Refused(problems) = e else {
            return Err(e.into());
        };
        let en = self.cli.lang == Lang::En;
        if self.cli.json {
            let errors: Vec<_> = problems.iter().map(|p| p.json(en)).collect();
            let error = self.t("校验未通过，未写入任何内容", "refused; nothing was written");
            self.print_json(&json!({"error": error, "total": problems.total(), "errors": errors}))?;
        } else {
            let said = self.t(
                "处问题，未写入任何内容：",
                "problem(s) found; nothing was written:",
            );
            eprintln!("{} {said}", problems.total());
            eprintln!("{}", problems.text(en));
        }
        Ok(ExitCode::FAILURE)
    }

    fn log(&self, filter: Filter) -> anyhow::Result<ExitCode> {
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
    fn line(&self, e: &Envelope) -> String {
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
            e.recorded_by
        )
    }

    fn show(&self, id: &str) -> anyhow::Result<ExitCode> {
        let id: uuid::Uuid = id
            .parse()
            .with_context(|| format!("'{id}' is not an event id (UUID)"))?;
        let store = self.open()?;
        let Some(event) = store.get(id)? else {
            bail!("there is no event {id}");
        };
        let corrections = store.corrections_of(id)?;
        if self.cli.json {
            return self
                .print_json(&json!({"event": event, "corrections": corrections}))
                .map(|_| ExitCode::SUCCESS);
        }
        println!("{}", self.line(&event));
        println!("  id {}  hash {}", event.id, event.hash);
        for c in &corrections {
            println!("  ↳ {}", self.line(c));
        }
        Ok(ExitCode::SUCCESS)
    }

    fn kinds(&self) -> anyhow::Result<ExitCode> {
        if self.cli.json {
            return self
                .print_json(&self.catalog.kinds().collect::<Vec<_>>())
                .map(|_| ExitCode::SUCCESS);
        }
        for k in self.catalog.kinds() {
            println!("{}  {}", k.name, self.t(&k.label_zh, &k.label_en));
            for f in &k.fields {
                let req = if f.required {
                    self.t("（必填）", " (required)")
                } else {
                    ""
                };
                println!(
                    "    {:<18} {}{req}  [{:?}]",
                    f.name,
                    self.t(&f.label_zh, &f.label_en),
                    f.ty
                );
            }
        }
        Ok(ExitCode::SUCCESS)
    }

    fn export(&self, out: Option<&PathBuf>) -> anyhow::Result<ExitCode> {
        let store = self.open()?;
        let n = match out {
            Some(path) => {
                let file = std::fs::File::create(path)
                    .with_context(|| format!("could not create {}", path.display()))?;
                let mut w = std::io::BufWriter::new(file);
                let n = jsonl::export(&store, &mut w)?;
                w.into_inner()?.sync_all()?;
                n
            }
            None => jsonl::export(
                &store,
                &mut std::io::BufWriter::new(std::io::stdout().lock()),
            )?,
        };
        if out.is_some() {
            eprintln!("{} {n}", self.t("已导出记录：", "Exported events:"));
        }
        Ok(ExitCode::SUCCESS)
    }

    fn seal(&self) -> anyhow::Result<ExitCode> {
        let seal = self.open()?.seal()?;
        if self.cli.json {
            self.print_json(&seal)?;
        } else {
            println!("{seal}");
        }
        Ok(ExitCode::SUCCESS)
    }

    fn verify(
        &self,
        file: Option<&PathBuf>,
        against: Option<&crate::store::Seal>,
    ) -> anyhow::Result<ExitCode> {
        if let Some(path) = file {
            let bytes = std::fs::read(path)
                .with_context(|| format!("could not read {}", path.display()))?;
            return match jsonl::verify_file(&self.catalog, &bytes) {
                Ok((count, hash)) => {
                    self.print_verified(count, &hash.to_string())?;
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("{}: {e}", self.t("校验失败", "verification failed"));
                    Ok(ExitCode::FAILURE)
                }
            };
        }
        let store = self.open()?;
        match against {
            Some(seal) => self.print_verification(store.verify_against(seal)?),
            None => self.report_verify(&store),
        }
    }

    fn report_verify(&self, store: &Store) -> anyhow::Result<ExitCode> {
        self.print_verification(crate::views::verify(store)?)
    }

    fn print_verification(
        &self,
        result: Result<crate::store::VerifyReport, crate::store::VerifyFailure>,
    ) -> anyhow::Result<ExitCode> {
        match result {
            Ok(report) => {
                self.print_verified(report.count, &report.head_hash.to_string())?;
                Ok(ExitCode::SUCCESS)
            }
            Err(failure) => {
                if self.cli.json {
                    self.print_json(
                        &json!({"ok": false, "seq": failure.seq, "reason": failure.reason}),
                    )?;
                }
                eprintln!("{}: {failure}", self.t("校验失败", "verification failed"));
                Ok(ExitCode::FAILURE)
            }
        }
    }

    fn print_verified(&self, count: u64, hash: &str) -> anyhow::Result<()> {
        if self.cli.json {
            return self.print_json(&json!({"ok": true, "count": count, "head_hash": hash}));
        }
        println!(
            "{} {count}  {} {hash}",
            self.t("校验通过，记录数：", "verified; events:"),
            self.t("链头哈希：", "head hash:")
        );
        Ok(())
    }
}
