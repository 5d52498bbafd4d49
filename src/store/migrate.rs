//! Stores made before the log file kept their events in sled trees; the first open of
//! such a store moves them, checked link by link, into the log file.
use std::{
    collections::HashSet,
    fs::File,
    io::{BufWriter, Write},
    path::Path,
};

use events::{envelope::ChainCheck, Envelope};

use super::log::{push_frame, MAGIC};

/// Events moved per frame.
const CHUNK: usize = 10_000;

/// Moves the events of an older store's `events` tree into a new log file at `path`,
/// then drops the old trees. The file is written beside it and renamed into place once
/// whole and on disk, so a move that is interrupted simply starts again. A store that
/// has a log already, or no old events, is left alone.
pub fn from_sled(db: &sled::Db, path: &Path) -> Result<(), String> {
    let has_log = std::fs::metadata(path).is_ok_and(|m| m.len() > MAGIC.len() as u64);
    let has_events = db
        .tree_names()
        .iter()
        .any(|name| name.as_ref() == b"events");
    if has_log || !has_events {
        return Ok(());
    }
    let tree = db.open_tree("events").map_err(|e| e.to_string())?;
    if tree.is_empty() {
        return Ok(());
    }
    let moving = path.with_extension("log.moving");
    let io = |e: std::io::Error| format!("cannot write {}: {e}", moving.display());
    let mut out = BufWriter::new(crate::private::create(&moving).map_err(io)?);
    out.write_all(MAGIC).map_err(io)?;
    let mut chain = ChainCheck::default();
    let mut ids = HashSet::new();
    let mut chunk: Vec<Envelope> = Vec::with_capacity(CHUNK);
    for item in tree.iter() {
        let (_, bytes) = item.map_err(|e| e.to_string())?;
        let e: Envelope = serde_json::from_slice(&bytes)
            .map_err(|err| format!("an event in the old sled tree cannot be decoded: {err}"))?;
        chain
            .check(&e)
            .map_err(|err| format!("the old sled log does not verify: {err}"))?;
        if !ids.insert(e.id) {
            return Err(format!(
                "seq {}: id {} appears twice in the old sled tree",
                e.seq, e.id
            ));
        }
        chunk.push(e);
        if chunk.len() == CHUNK {
            write_frame(&mut out, &chunk).map_err(io)?;
            chunk.clear();
        }
    }
    write_frame(&mut out, &chunk).map_err(io)?;
    let file = out.into_inner().map_err(|e| io(e.into_error()))?;
    file.sync_all().map_err(io)?;
    std::fs::rename(&moving, path).map_err(io)?;
    if let Some(dir) = path.parent() {
        File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
    }
    tracing::info!(
        events = chain.head_seq(),
        "moved the events from sled into the log file"
    );
    for name in ["events", "ids", "corrections", "meta"] {
        db.drop_tree(name).map_err(|e| e.to_string())?;
    }
    db.flush().map_err(|e| e.to_string())?;
    Ok(())
}

fn write_frame(out: &mut impl Write, envs: &[Envelope]) -> std::io::Result<()> {
    let mut bytes = Vec::new();
    push_frame(&mut bytes, envs);
    out.write_all(&bytes)
}
