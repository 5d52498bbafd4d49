//! The bench's command line (clap): the sizes, the repetitions, the load and where to
//! write.
use std::path::PathBuf;

use clap::Parser;

/// `cargo bench --bench bench -- [OPTIONS]`: Annals, raw sled and SQLite in the same run.
#[derive(Debug, Parser)]
#[command(name = "bench")]
pub struct Args {
    /// The sizes of log to measure, comma-separated (underscores allowed: 1_000_000).
    #[arg(long = "n", value_delimiter = ',', value_parser = count, default_value = "10000,100000")]
    pub sizes: Vec<usize>,
    /// Repetitions of each measure; medians are quoted.
    #[arg(long, value_parser = count, default_value = "5")]
    pub runs: usize,
    /// Single appends per run (the 16 writers do 4× as many in all).
    #[arg(long, value_parser = count, default_value = "1000")]
    pub appends: usize,
    /// Progress queries per kind of question.
    #[arg(long, value_parser = count, default_value = "200")]
    pub queries: usize,
    /// Seconds the load generator drives `annals serve`.
    #[arg(long, value_parser = count, default_value = "5")]
    pub http_secs: usize,
    /// The load generator's keep-alive connections.
    #[arg(long, value_parser = count, default_value = "16")]
    pub connections: usize,
    /// Scratch space for the stores (default: `target/bench-data`).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Also append the tables to this Markdown file.
    #[arg(long)]
    pub markdown: Option<PathBuf>,
    /// Passed by `cargo bench`; means nothing here.
    #[arg(long, hide = true)]
    pub bench: bool,
    /// Filters libtest would take; ignored.
    #[arg(hide = true)]
    pub filters: Vec<String>,
}

impl Args {
    /// The command line, with each value raised to its least useful amount.
    pub fn parse_and_floor() -> Args {
        let mut a = Args::parse();
        a.runs = a.runs.max(1);
        a.appends = a.appends.max(16);
        a.queries = a.queries.max(3);
        a.connections = a.connections.max(1);
        a
    }

    /// The scratch folder.
    pub fn dir(&self) -> PathBuf {
        self.dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data"))
    }
}

/// A count, with `_` allowed between digits.
fn count(s: &str) -> Result<usize, std::num::ParseIntError> {
    s.trim().replace('_', "").parse()
}
