//! The `annals` binary: parses arguments and hands them to the library.
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ANNALS_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = annals::cli::Cli::parse();
    let json = cli.json;
    match annals::cli::run(cli) {
        Ok(code) => code,
        // With --json, errors are JSON too (issue 17 item 13).
        Err(e) if json => {
            println!("{}", serde_json::json!({ "error": format!("{e:#}") }));
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
