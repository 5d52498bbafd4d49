//! Browsers signed in to the page. Signing in with a token opens a session: a random id
//! given to the browser as an `HttpOnly` cookie and kept here in memory with its own
//! expiry and the hash of the token it was opened with. The long-lived token never sits
//! in a cookie, and every request through a session checks that token again, so
//! revoking it (or its expiry) ends its sessions at once.
//!
//! Sessions live in memory: a restart signs everyone out, which for a page opened each
//! morning costs one sign-in, and keeps no secret of a browser's on disk.
use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use events::Hash;
use uuid::Uuid;

/// The cookie that carries the session id.
pub const COOKIE: &str = "annals_session";

/// The open sessions, their number bounded.
pub struct Sessions {
    /// By the hash of the session id, so that no lookup compares the secret itself.
    open: Mutex<HashMap<Hash, Session>>,
    ttl: Duration,
    max: usize,
}

struct Session {
    /// The hash of the token it was opened with, as the store keys tokens.
    token: Hash,
    opened: Instant,
}

impl Sessions {
    /// No sessions; each will last `ttl`, and at most `max` are held at once.
    pub fn new(ttl: Duration, max: usize) -> Self {
        Sessions {
            open: Mutex::new(HashMap::new()),
            ttl,
            max: max.max(1),
        }
    }

    /// Opens a session for the token with hash `token` and returns its id, which only
    /// the browser keeps. When the table is full, expired sessions go first, then the
    /// oldest session of whichever token holds the most: signing in again and again
    /// pushes out one's own sessions, not other people's.
    pub fn open(&self, token: Hash) -> String {
        // Two v4 UUIDs carry 244 random bits from the operating system, as tokens do.
        let id = format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple());
        let now = Instant::now();
        let mut open = self.open.lock().expect("sessions poisoned");
        if open.len() >= self.max {
            open.retain(|_, s| now.duration_since(s.opened) < self.ttl);
        }
        if open.len() >= self.max {
            evict_one(&mut open);
        }
        open.insert(Hash::of(id.as_bytes()), Session { token, opened: now });
        id
    }

    /// The hash of the token behind a live session; an expired one is closed.
    pub fn token_of(&self, id: &str) -> Option<Hash> {
        let key = Hash::of(id.as_bytes());
        let mut open = self.open.lock().expect("sessions poisoned");
        let session = open.get(&key)?;
        if session.opened.elapsed() < self.ttl {
            return Some(session.token);
        }
        open.remove(&key);
        None
    }

    /// Closes a session (signing out, or its token no longer valid).
    pub fn close(&self, id: &str) {
        let key = Hash::of(id.as_bytes());
        self.open.lock().expect("sessions poisoned").remove(&key);
    }

    /// The `Set-Cookie` value that gives a browser its session: never readable by
    /// script, never sent from another site, and only over TLS when behind it.
    pub fn cookie(&self, id: &str, secure: bool) -> String {
        format!(
            "{COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{}",
            self.ttl.as_secs(),
            if secure { "; Secure" } else { "" }
        )
    }

    /// The `Set-Cookie` value that makes a browser forget its session.
    pub fn removal_cookie(secure: bool) -> String {
        format!(
            "{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0{}",
            if secure { "; Secure" } else { "" }
        )
    }
}

/// Removes the oldest session of the token that holds the most.
fn evict_one(open: &mut HashMap<Hash, Session>) {
    let mut per_token: HashMap<Hash, usize> = HashMap::new();
    for s in open.values() {
        *per_token.entry(s.token).or_default() += 1;
    }
    let Some((&busiest, _)) = per_token.iter().max_by_key(|(_, n)| **n) else {
        return;
    };
    let oldest = open
        .iter()
        .filter(|(_, s)| s.token == busiest)
        .min_by_key(|(_, s)| s.opened)
        .map(|(k, _)| *k);
    if let Some(k) = oldest {
        open.remove(&k);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_names_its_token_until_closed() {
        let sessions = Sessions::new(Duration::from_secs(60), 10);
        let token = Hash::of(b"ann_token");
        let id = sessions.open(token);
        assert_eq!(id.len(), 64);
        assert_eq!(sessions.token_of(&id), Some(token));
        assert_eq!(
            sessions.token_of("ann_token"),
            None,
            "a token is not a session"
        );
        sessions.close(&id);
        assert_eq!(sessions.token_of(&id), None);
    }

    #[test]
    fn an_expired_session_names_nothing() {
        let sessions = Sessions::new(Duration::ZERO, 10);
        let id = sessions.open(Hash::of(b"t"));
        assert_eq!(sessions.token_of(&id), None);
    }

    #[test]
    fn a_full_table_pushes_out_the_busiest_tokens_oldest_session() {
        let sessions = Sessions::new(Duration::from_secs(60), 3);
        let (alice, mallory) = (Hash::of(b"alice"), Hash::of(b"mallory"));
        let kept = sessions.open(alice);
        let first = sessions.open(mallory);
        let _ = sessions.open(mallory);
        for _ in 0..100 {
            sessions.open(mallory);
        }
        assert_eq!(
            sessions.open.lock().unwrap().len(),
            3,
            "the count is bounded"
        );
        assert_eq!(
            sessions.token_of(&kept),
            Some(alice),
            "alice is still signed in"
        );
        assert_eq!(sessions.token_of(&first), None);
    }
}
