//! `annals backup` and `annals restore`: a consistent copy of the log with its seal, taken
//! from the store or, while a server holds it, from the server's `/api/export`; and
//! restoring one into an empty store, its chain checked before anything is written.
use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpStream,
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

/// Fetches `/api/export` over plain HTTP into `to`. HTTP/1.0 keeps the body unchunked,
/// so the rest of the stream after the headers is the file.
fn download(url: &str, token: Option<&str>, to: &Path) -> anyhow::Result<()> {
    let addr = url
        .strip_prefix("http://")
        .context("--server must be an http:// address on the internal network, such as http://127.0.0.1:8080")?
        .trim_end_matches('/');
    let mut stream =
        TcpStream::connect(addr).with_context(|| format!("could not connect to {addr}"))?;
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "GET /api/export HTTP/1.0\r\nHost: {addr}\r\n{auth}\r\n"
    )?;
    let mut reader = BufReader::new(stream);
    let mut status = String::new();
    reader.read_line(&mut status)?;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
    }
    if status.split_whitespace().nth(1) != Some("200") {
        let mut detail = String::new();
        let _ = reader.read_to_string(&mut detail);
        bail!("the server answered {}: {}", status.trim(), detail.trim());
    }
    let mut out = std::fs::File::create(to)?;
    std::io::copy(&mut reader, &mut out)?;
    out.sync_all()?;
    Ok(())
}
