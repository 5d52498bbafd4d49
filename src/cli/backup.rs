//! `annals backup` and `annals restore`: a consistent copy of the log with its seal, taken
//! from the store or, while a server holds it, from the server's `/api/export`; and
//! restoring one into an empty store, its chain checked before anything is written.
use std::{
    io::Write,
    path::{Path, PathBuf},
    process::ExitCode,
};

use anyhow::{bail, Context};
use events::Envelope;

use super::Ctx;
use crate::{
    intake::{self, jsonl, Mode},
    store::{Seal, StoreError},
};

impl Ctx<'_> {
    pub(super) fn backup(
        &self,
        dir: &Path,
        server: Option<&str>,
        token: Option<&str>,
    ) -> anyhow::Result<ExitCode> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("could not create {}", dir.display()))?;
        let partial = dir.join("annals-backup.partial");
        match server {
            Some(url) => download(url, token, &partial)?,
            None => {
                let store = match self.open() {
                    Err(e)
                        if e.chain().any(|c| {
                            matches!(c.downcast_ref(), Some(StoreError::Locked { .. }))
                        }) =>
                    {
                        return Err(e.context("a server holds the store: back up through it with --server http://ADDR --token TOKEN"));
                    }
                    other => other?,
                };
                let mut out = std::io::BufWriter::new(std::fs::File::create(&partial)?);
                jsonl::export(&store, &mut out)?;
                out.into_inner()?.sync_all()?;
            }
        }
        let bytes = std::fs::read(&partial)?;
        let (seq, hash) = jsonl::verify_file(&self.catalog, &bytes)
            .context("the backup does not verify; nothing was kept")?;
        let at = last_recorded_at(&bytes).unwrap_or_else(chrono::Utc::now);
        let seal = Seal { seq, hash, at };
        let file = dir.join(format!("annals-{seq}.jsonl"));
        std::fs::rename(&partial, &file)?;
        std::fs::write(dir.join(format!("annals-{seq}.seal")), format!("{seal}\n"))?;
        println!(
            "{} {}\n{seal}",
            self.t("已备份：", "Backed up:"),
            file.display()
        );
        Ok(ExitCode::SUCCESS)
    }

    pub(super) fn restore(&self, file: &PathBuf) -> anyhow::Result<ExitCode> {
        let bytes =
            std::fs::read(file).with_context(|| format!("could not read {}", file.display()))?;
        // The whole chain first: a damaged backup writes nothing.
        let (seq, hash) = jsonl::verify_file(&self.catalog, &bytes)
            .context("the backup does not verify; nothing was restored")?;
        let store = self.open()?;
        if store.head_seq() != 0 {
            bail!(
                "the store at {} is not empty; restore only into an empty store",
                self.cli.store.display()
            );
        }
        let outcome = jsonl::import(
            &store,
            &bytes,
            &file.to_string_lossy(),
            &self.cli.by,
            intake::Trust::Operator,
            false,
            &mut |_, _| {},
        )?;
        if outcome.mode != Mode::Restored {
            bail!("the file is not a whole export of a log");
        }
        match store.verify()? {
            Ok(report) if report.count == seq && report.head_hash == hash => {
                println!(
                    "{} {seq}  {} {hash}",
                    self.t("已恢复并校验，记录数：", "restored and verified; events:"),
                    self.t("链头哈希：", "head hash:")
                );
                Ok(ExitCode::SUCCESS)
            }
            Ok(report) => bail!(
                "restored {} events ending in {}, expected {seq} ending in {hash}",
                report.count,
                report.head_hash
            ),
            Err(failure) => bail!("the restored store does not verify: {failure}"),
        }
    }
}

/// The last event's recording time: what the backup's seal cites.
fn last_recorded_at(bytes: &[u8]) -> Option<chrono::DateTime<chrono::Utc>> {
    let line = bytes.split(|b| *b == b'\n').rev().find(|l| !l.is_empty())?;
    serde_json::from_slice::<Envelope>(line)
        .ok()
        .map(|e| e.recorded_at)
}

/// Fetches `/api/export` into `to` with reqwest, the body written as it arrives.
fn download(url: &str, token: Option<&str>, to: &Path) -> anyhow::Result<()> {
    let addr = url
        .strip_prefix("http://")
        .context("--server must be an http:// address on the internal network, such as http://127.0.0.1:8080")?
        .trim_end_matches('/');
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    runtime.block_on(async {
        // Redirects are not followed: the token goes to the server named, or nowhere.
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let mut request = client.get(format!("http://{addr}/api/export"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let mut response = request
            .send()
            .await
            .with_context(|| format!("could not connect to {addr}"))?;
        let status = response.status();
        if status != reqwest::StatusCode::OK {
            let detail = response.text().await.unwrap_or_default();
            bail!("the server answered {status}: {}", detail.trim());
        }
        let mut out = std::fs::File::create(to)?;
        while let Some(chunk) = response.chunk().await? {
            out.write_all(&chunk)?;
        }
        out.sync_all()?;
        Ok(())
    })
}
