//! Stores made by earlier releases kept their events in a log file of their own
//! (`events.log`); the first open of such a store moves them into sled, checked link by
//! link, and keeps the old file aside once the move has verified.
use std::path::Path;

use events::{envelope::ChainCheck, Catalog};

use super::{
    damage::Damage,
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
pub fn from_log_file(trees: &Trees, catalog: &Catalog, dir: &Path) -> Result<(), Damage> {
    let path = dir.join(FILE);
    if !path.exists() {
        if trees.format()?.is_none() && !trees.events.is_empty() {
            return Err(Damage::inconsistent("sled holds events in a format this release does not read (a store from before the log file); export it with the release that made it and import the export"));
        }
        return Ok(());
    }
    let committed = trees.head()??;
    if committed.seq == 0 {
        clear(trees)?;
        let head = copy(trees, catalog, &path)?;
        check(trees, &head)?;
    }
    std::fs::rename(&path, dir.join(MOVED))
        .map_err(|e| Damage::inconsistent(format!("cannot put {} aside: {e}", path.display())))?;
    tracing::info!(
        events = committed.seq.max(trees.head().ok().and_then(Result::ok).map_or(0, |h| h.seq)),
        kept = %dir.join(MOVED).display(),
        "moved the events from the old log file into sled; the old file is kept aside and may be deleted"
    );
    Ok(())
}

/// What an interrupted move left in the trees.
fn clear(trees: &Trees) -> Result<(), Damage> {
    for tree in [&trees.events, &trees.ids, &trees.corrections, &trees.meta] {
        tree.clear()?;
    }
    Ok(())
}

/// Copies every record of the file into the trees, a chunk per transaction, checking
/// the chain as it goes; the last transaction commits the head.
fn copy(trees: &Trees, catalog: &Catalog, path: &Path) -> Result<Head, Damage> {
    let file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    let mut frames = Frames::new(file, len).map_err(|s| Damage::inconsistent(s.to_string()))?;
    let mut chain = ChainCheck::default();
    let mut chunk: Vec<(u64, Vec<u8>, events::Envelope)> = Vec::with_capacity(CHUNK);
    let mut head = Head::default();
    loop {
        let mut refused = None;
        let next = frames.next_frame(|seq, _, bytes| {
            let e = record::decode(bytes, seq, chain.head_hash())?;
            chain
                .check(&e)
                .map_err(|err| Damage::inconsistent(err.to_string()))?;
            head = Head {
                seq,
                hash: e.hash,
                recorded_at: Some(e.recorded_at),
            };
            chunk.push((seq, bytes.to_vec(), e));
            if chunk.len() == CHUNK {
                if let Err(err) = write(trees, catalog, &chunk, None) {
                    // Kept to be returned whole; the frame reader only needs to stop.
                    refused = Some(err);
                    return Err(Damage::inconsistent("could not move the events into sled"));
                }
                chunk.clear();
            }
            Ok(())
        });
        match next {
            None => break,
            Some(Ok(())) => {}
            Some(Err(Stop::Record { seq, reason })) => {
                return Err(refused.unwrap_or_else(|| {
                    Damage::inconsistent(format!(
                        "the old log does not verify at seq {seq}: {reason}"
                    ))
                }))
            }
            Some(Err(stop)) => {
                return Err(Damage::inconsistent(format!(
                    "the old log cannot be read: {stop}"
                )))
            }
        }
    }
    write(trees, catalog, &chunk, Some(&head))?;
    trees.db.flush()?;
    Ok(head)
}

fn write(
    trees: &Trees,
    catalog: &Catalog,
    chunk: &[(u64, Vec<u8>, events::Envelope)],
    head: Option<&Head>,
) -> Result<(), Damage> {
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
        .map_err(|e| Damage::inconsistent(format!("could not move the events into sled: {e}")))
}

/// The trees, walked again, end at the file's head.
fn check(trees: &Trees, head: &Head) -> Result<(), Damage> {
    let mut chain = ChainCheck::default();
    for item in trees.events.iter() {
        let (key, bytes) = item?;
        let seq = trees::seq_of(&key).ok_or(Damage::inconsistent("a moved key is not a seq"))?;
        let e = record::decode(&bytes, seq, chain.head_hash())?;
        chain.check(&e).map_err(|err| {
            Damage::inconsistent(format!("the moved events do not verify: {err}"))
        })?;
    }
    if chain.head_seq() != head.seq || chain.head_hash() != head.hash {
        return Err(Damage::inconsistent(
            "the moved events do not end at the old log's head",
        ));
    }
    Ok(())
}
