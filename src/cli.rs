//! The `annals` command line: its arguments and the dispatch to one file per command
//! (`cli/*.rs`), each of which opens the store, calls one operation and prints its
//! result, as text in Chinese (or English) or as JSON.
use std::{path::PathBuf, process::ExitCode, sync::Arc};

use chrono::FixedOffset;
use clap::{Args, FromArgMatches, Parser, Subcommand, ValueEnum};
use projections::period::Lang;

mod backup;
mod context;
mod demo;
mod export;
mod figures;
mod hub;
mod import;
mod kinds;
mod log;
mod office;
mod push;
mod record;
mod seal;
mod serve;
mod show;
mod table;
mod verify;

use context::Ctx;

use crate::config::load_catalog;

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
    #[arg(long, env = "ANNALS_USER", default_value = projections::period::SYSTEM_CLI, global = true)]
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
    /// The school's name, which signs its reports (落款), such as 某某县委党校
    /// (default: 县委党校, or County Party School in English).
    #[arg(long, env = "ANNALS_SCHOOL", global = true)]
    pub school: Option<String>,
    /// The school's UTC offset, for "today" and for days given as `known_at`.
    #[arg(long, env = "ANNALS_UTC_OFFSET", default_value = "+08:00", value_parser = parse_offset, global = true)]
    pub utc_offset: FixedOffset,
    /// What to do; with none, serves the store (loading the example if it is empty).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// A `--utc-offset` that does not read as one.
#[derive(Debug, thiserror::Error)]
#[error("'{0}' is not a UTC offset such as +08:00")]
struct NotAnOffset(String);

fn parse_offset(s: &str) -> Result<FixedOffset, NotAnOffset> {
    s.parse::<FixedOffset>()
        .map_err(|_| NotAnOffset(s.to_owned()))
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
    Log(log::LogArgs),
    /// Show one event and every correction of it.
    Show {
        /// The event's seq (as the page and `log` show it) or its id.
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
    let catalog = Arc::new(load_catalog(
        cli.catalog.as_deref(),
        cli.metrics.as_deref(),
    )?);
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
        Command::Log(args) => ctx.log(args),
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
