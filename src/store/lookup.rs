//! Finding an event by what a person has to hand: its seq (the number the page and the
//! command line show beside it) or its id.
use events::Envelope;
use uuid::Uuid;

use super::{Store, StoreError};

impl Store {
    /// The event a seq (`229`, or `#229`) or an id names, if the log holds it; text
    /// that is neither names nothing.
    pub fn lookup(&self, seq_or_id: &str) -> Result<Option<Envelope>, StoreError> {
        let key = seq_or_id.trim();
        if let Ok(seq) = key.trim_start_matches('#').parse::<u64>() {
            return self.get_seq(seq);
        }
        match key.parse::<Uuid>() {
            Ok(id) => self.get(id),
            Err(_) => Ok(None),
        }
    }
}
