//! `annals push` and `annals bundle`: the school hands what it recorded to its hub,
//! over HTTP or as a file; and the schedule `annals serve --push-to` pushes on.
use std::{io::IsTerminal, path::PathBuf, process::ExitCode, time::Duration};

use anyhow::Context;
use clap::Args;
use serde_json::json;

use super::Ctx;
use crate::hub::{
    push::{self, PushError, PushOptions},
    receipt::public_key,
};

/// `annals push`: where the hub is and how to send.
#[derive(Debug, Clone, Args)]
pub struct PushArgs {
    /// The hub's address, such as http://city-hub:8090.
    #[arg(long, env = "ANNALS_PUSH_TO")]
    pub to: String,
    /// This school's push token (from `annals hub school add` at the hub).
    #[arg(long, env = "ANNALS_PUSH_TOKEN")]
    pub token: String,
    /// Events sent per piece (each stored by the hub in one transaction).
    #[arg(long, env = "ANNALS_PUSH_PIECE", default_value_t = 1000)]
    pub piece: usize,
    /// The hub's public key (`annals hub key`), to check receipts against; without it,
    /// the key the hub serves is used.
    #[arg(long, env = "ANNALS_HUB_KEY")]
    pub hub_key: Option<String>,
    /// Seconds one request to the hub may take.
    #[arg(long, env = "ANNALS_PUSH_TIMEOUT", default_value_t = 120)]
    pub timeout: u64,
}

/// `annals serve --push-to …`: push on a schedule while serving.
#[derive(Debug, Clone, Args)]
pub struct ScheduleArgs {
    /// Push to this hub while serving (such as http://city-hub:8090).
    #[arg(long = "push-to", env = "ANNALS_PUSH_TO", requires = "push_token")]
    pub push_to: Option<String>,
    /// This school's push token for that hub.
    #[arg(long = "push-token", env = "ANNALS_PUSH_TOKEN")]
    pub push_token: Option<String>,
    /// Minutes between pushes; after a failure, retries start at 30 s and double up to this.
    #[arg(long = "push-every", env = "ANNALS_PUSH_EVERY", default_value_t = 60)]
    pub push_every: u64,
    /// The hub's public key, to check receipts against.
    #[arg(long = "push-hub-key", env = "ANNALS_HUB_KEY")]
    pub push_hub_key: Option<String>,
}

/// `annals bundle`: what follows a seal, as a file.
#[derive(Debug, Clone, Args)]
pub struct BundleArgs {
    /// The seal the hub acknowledged last (`ANNALS-SEAL <seq> <hash> <time>`, from the
    /// last receipt); `ANNALS-SEAL 0 000…0 …` or none for everything.
    #[arg(long, env = "ANNALS_BUNDLE_SINCE")]
    pub since: Option<crate::store::Seal>,
    /// The school's id at the hub.
    #[arg(long, env = "ANNALS_SCHOOL_ID")]
    pub school: String,
    /// The file to write.
    #[arg(long)]
    pub out: PathBuf,
}

impl PushArgs {
    /// The options these switches ask for (no receipts file: the caller names it).
    pub fn options(&self) -> anyhow::Result<PushOptions> {
        Ok(PushOptions {
            to: self.to.clone(),
            token: self.token.clone(),
            piece: self.piece,
            hub_key: self.hub_key.as_deref().map(public_key).transpose()?,
            receipts: None,
            timeout: Duration::from_secs(self.timeout),
        })
    }
}

impl ScheduleArgs {
    /// The push these switches ask for, if any.
    pub fn options(
        &self,
        store_dir: &std::path::Path,
    ) -> anyhow::Result<Option<(PushOptions, Duration)>> {
        let (Some(to), Some(token)) = (&self.push_to, &self.push_token) else {
            return Ok(None);
        };
        let opts = PushOptions {
            to: to.clone(),
            token: token.clone(),
            piece: 1000,
            hub_key: self.push_hub_key.as_deref().map(public_key).transpose()?,
            receipts: Some(push::receipts_file(store_dir)),
            timeout: Duration::from_secs(120),
        };
        Ok(Some((
            opts,
            Duration::from_secs(self.push_every.max(1) * 60),
        )))
    }
}

impl Ctx<'_> {
    pub(super) fn push(&self, args: &PushArgs) -> anyhow::Result<ExitCode> {
        let store = self.open()?;
        let mut opts = args.options()?;
        opts.receipts = Some(push::receipts_file(&self.cli.store));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("could not start the async runtime")?;
        let show = std::io::stderr().is_terminal();
        let mut progress = |sent: u64, total: u64| {
            if show {
                eprint!("\r{} {sent}/{total}", self.t("已报送", "sent"));
            }
        };
        let result = runtime.block_on(push::push(&store, &opts, &mut progress));
        if show {
            eprintln!();
        }
        let pushed = match result {
            Ok(p) => p,
            Err(e @ (PushError::Forked { .. } | PushError::Behind { .. })) => {
                eprintln!(
                    "{}: {e}",
                    self.t("已停止，未再报送", "stopped, nothing more sent")
                );
                return Ok(ExitCode::from(3));
            }
            Err(e) => return Err(e).context("the push failed"),
        };
        if self.cli.json {
            self.print_json(&json!({"school": pushed.school, "added": pushed.added,
                "head_seq": pushed.head_seq, "head_hash": pushed.head_hash, "receipt": pushed.receipt}))?;
        } else if pushed.added == 0 {
            println!(
                "{} {}",
                self.t(
                    "无需报送：汇总端已存有全部记录，至第",
                    "Nothing to send: the hub holds everything, up to seq"
                ),
                pushed.head_seq
            );
        } else {
            println!(
                "{} {} {}，{} {}",
                self.t("已报送", "Sent"),
                pushed.added,
                self.t("条", "events"),
                self.t("汇总端存至第", "the hub holds up to seq"),
                pushed.head_seq
            );
        }
        Ok(ExitCode::SUCCESS)
    }

    pub(super) fn bundle(&self, args: &BundleArgs) -> anyhow::Result<ExitCode> {
        let store = self.open()?;
        let since = args.since.clone().unwrap_or(crate::store::Seal {
            seq: 0,
            hash: events::GENESIS,
            at: chrono::Utc::now(),
        });
        let file = crate::private::create(&args.out)
            .with_context(|| format!("could not create {}", args.out.display()))?;
        let mut out = std::io::BufWriter::new(file);
        let n = match push::bundle(&store, &args.school, &since, &mut out) {
            Ok(n) => n,
            Err(e @ PushError::Forked { .. }) => {
                eprintln!("{}: {e}", self.t("已停止", "stopped"));
                let _ = std::fs::remove_file(&args.out);
                return Ok(ExitCode::from(3));
            }
            Err(e) => return Err(e).context("the bundle failed"),
        };
        out.into_inner()?.sync_all()?;
        println!(
            "{} {n} {} {}",
            self.t("已写入", "Wrote"),
            self.t("条记录到", "events to"),
            args.out.display()
        );
        Ok(ExitCode::SUCCESS)
    }
}
