//! Stores made by earlier releases kept their events in a log file of their own
//! (`events.log`); the first open of such a store moves them into sled, checked link by
//! link, and keeps the old file aside once the move has verified.
use std::path::Path;

use events::{envelope::ChainCheck, Catalog};

use super::{
    legacy::{Frames, Stop, FILE},
    record,
    trees::{self, Trees},
    writer::CHUNK,
    Head,
};

/// Where the old file is kept once its events are in sled.
pub const MOVED: &str = "events.log.moved";

/// Moves the events of `dir`'s old log file into sled's trees. sled's head is written
/// only with the last events, so a move that is interrupted (a kill, a full disk) left
/// no committed head: it starts again from the file, which is renamed aside only after
/// the trees verify against it. A store without the file is left alone; one whose move
/// committed but whose file was not yet put aside just has it put aside.
pub fn from_log_file(trees: &Trees, catalog: &Catalog, dir: &Path) -> Result<(), String> {
    let path = dir.join(FILE);
    if !path.exists() {
        if trees.format().map_err(|e| e.to_string())?.is_none() && !trees.events.is_empty() {
            return Err("sled holds events in a format this release does not read (a store from before the log file); export it with the release that made it and import the export".into());
        }
        return Ok(());
    }
    let committed = trees.head().map_err(|e| e.to_string())??;
    if committed.seq == 0 {
        clear(trees)?;
        let head = copy(trees, catalog, &path)?;
        check(trees, &head)?;
    }
    std::fs::rename(&path, dir.join(MOVED))
        .map_err(|e| format!("cannot put {} aside: {e}", path.display()))?;
    tracing::info!(
        events = committed.seq.max(trees.head().ok().and_then(Result::ok).map_or(0, |h| h.seq)),
        kept = %dir.join(MOVED).display(),
        "moved the events from the old log file into sled; the old file is kept aside and may be deleted"
    );
    Ok(())
}

/// What an interrupted move left in the trees.
fn clear(trees: &Trees) -> Result<(), String> {
    for tree in [&trees.events, &trees.ids, &trees.corrections, &trees.meta] {
        tree.clear().map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Copies every record of the file into the trees, a chunk per transaction, checking
/// the chain as it goes; the last transaction commits the head.
fn copy(trees: &Trees, catalog: &Catalog, path: &Path) -> Result<Head, String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let len = file.metadata().map_err(|e| e.to_string())?.len();
    let mut frames = Frames::new(file, len).map_err(|s| s.to_string())?;
    let mut chain = ChainCheck::default();
    let mut chunk: Vec<(u64, Vec<u8>, events::Envelope)> = Vec::with_capacity(CHUNK);
    let mut head = Head::default();
    loop {
        let mut refused = None;
        let next = frames.next_frame(|seq, _, bytes| {
            let e = record::decode(bytes, seq, chain.head_hash())?;
            chain.check(&e).map_err(|err| err.to_string())?;
            head = Head {
                seq,
                hash: e.hash,
                recorded_at: Some(e.recorded_at),
            };
            chunk.push((seq, bytes.to_vec(), e));
            if chunk.len() == CHUNK {
                if let Err(err) = write(trees, catalog, &chunk, None) {
                    refused = Some(err.clone());
                    return Err(err);
                }
                chunk.clear();
            }
            Ok(())
        });
        match next {
            None => break,
            Some(Ok(())) => {}
            Some(Err(Stop::Record { seq, reason })) => {
                return Err(refused.unwrap_or(format!(
                    "the old log does not verify at seq {seq}: {reason}"
                )))
            }
            Some(Err(stop)) => return Err(format!("the old log cannot be read: {stop}")),
        }
    }
    write(trees, catalog, &chunk, Some(&head))?;
    trees.db.flush().map_err(|e| e.to_string())?;
    Ok(head)
}

fn write(
    trees: &Trees,
    catalog: &Catalog,
    chunk: &[(u64, Vec<u8>, events::Envelope)],
    head: Option<&Head>,
) -> Result<(), String> {
    let entries: Vec<trees::Entry<'_>> = chunk
        .iter()
        .map(|(seq, bytes, e)| trees::Entry {
            seq: *seq,
            id: e.id,
            record: bytes,
            target: super::correction_target(catalog, e),
        })
        .collect();
    trees::write(trees, &entries, head)
        .map_err(|e| format!("could not move the events into sled: {e}"))
}

/// The trees, walked again, end at the file's head.
fn check(trees: &Trees, head: &Head) -> Result<(), String> {
    let mut chain = ChainCheck::default();
    for item in trees.events.iter() {
        let (key, bytes) = item.map_err(|e| e.to_string())?;
        let seq = trees::seq_of(&key).ok_or("a moved key is not a seq")?;
        let e = record::decode(&bytes, seq, chain.head_hash())?;
        chain
            .check(&e)
            .map_err(|err| format!("the moved events do not verify: {err}"))?;
    }
    if chain.head_seq() != head.seq || chain.head_hash() != head.hash {
        return Err("the moved events do not end at the old log's head".into());
    }
    Ok(())
}
