//! Stores made before the log file kept their events in sled trees; the first open of
//! such a store moves them, checked link by link, into the log file.
use events::{envelope::ChainCheck, Catalog, Envelope};

use super::{
    correction_target,
    log::{FrameWriter, Index, LogFile},
    record,
};

/// Events moved per frame.
const CHUNK: usize = 10_000;

/// Moves the events of an older store's `events` tree into the (empty) log, then drops
/// the old trees. A store without them is left alone.
pub fn from_sled(
    db: &sled::Db,
    log: &LogFile,
    index: &mut Index,
    catalog: &Catalog,
) -> Result<(), String> {
    let has_events = db
        .tree_names()
        .iter()
        .any(|name| name.as_ref() == b"events");
    if !has_events {
        return Ok(());
    }
    let tree = db.open_tree("events").map_err(|e| e.to_string())?;
    if tree.is_empty() {
        return Ok(());
    }
    let mut chain = ChainCheck::default();
    let mut chunk: Vec<Envelope> = Vec::with_capacity(CHUNK);
    for item in tree.iter() {
        let (_, bytes) = item.map_err(|e| e.to_string())?;
        let e: Envelope = serde_json::from_slice(&bytes)
            .map_err(|err| format!("an event in the old sled tree cannot be decoded: {err}"))?;
        chain
            .check(&e)
            .map_err(|err| format!("the old sled log does not verify: {err}"))?;
        chunk.push(e);
        if chunk.len() == CHUNK {
            write(log, index, catalog, &chunk).map_err(|e| e.to_string())?;
            chunk.clear();
        }
    }
    write(log, index, catalog, &chunk).map_err(|e| e.to_string())?;
    tracing::info!(
        events = index.head.seq,
        "moved the events from sled into the log file"
    );
    for name in ["events", "ids", "corrections", "meta"] {
        db.drop_tree(name).map_err(|e| e.to_string())?;
    }
    db.flush().map_err(|e| e.to_string())?;
    Ok(())
}

fn write(
    log: &LogFile,
    index: &mut Index,
    catalog: &Catalog,
    envs: &[Envelope],
) -> std::io::Result<()> {
    let Some(last) = envs.last() else {
        return Ok(());
    };
    let mut bytes = Vec::new();
    let mut frame = FrameWriter::begin(&mut bytes, envs[0].seq);
    let mut at = Vec::with_capacity(envs.len());
    for e in envs {
        at.push(frame.record(&mut bytes, |out| record::encode(e, out)));
    }
    frame.finish(&mut bytes);
    for (e, at) in envs.iter().zip(at) {
        let target = correction_target(catalog, e);
        if let Some(before) = index.push(e.seq, index.end + at as u64, e.id, target) {
            return Err(std::io::Error::other(format!(
                "seq {}: id {} is already seq {before} in the old sled tree",
                e.seq, e.id
            )));
        }
    }
    log.append(&bytes, index.end)?;
    index.end += bytes.len() as u64;
    index.head = super::Head {
        seq: last.seq,
        hash: last.hash,
        recorded_at: Some(last.recorded_at),
    };
    Ok(())
}
