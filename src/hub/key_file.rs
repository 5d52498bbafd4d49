//! The hub's signing key lives in a file of its own (mode 0600), not in the database:
//! whoever can read the database (a backup, a reporting account) cannot sign receipts.
//! The database keeps only the public half (`hub_meta.public_key`), so a key file that
//! is not this hub's is refused, and a city can forward its receipts without the secret.
//!
//! Databases made before kept the secret in `hub_meta.signing_key`: the first start
//! writes it to the file (synced) and only then deletes it from the database, so a
//! crash between the two leaves both, and the next start finishes the move.
use std::{
    io::Write,
    path::{Path, PathBuf},
};

use deadpool_postgres::GenericClient;

use super::{
    receipt::HubKey,
    schema::{delete_meta, get_meta, set_meta},
    HubError,
};

/// The hub's key from `path`, moving it out of the database first if it is still
/// there; with `make`, a new key is made when there is none (what `hub init` does).
/// The key, and whether it was made.
pub async fn open(
    client: &impl GenericClient,
    path: &Path,
    make: bool,
) -> Result<(HubKey, bool), HubError> {
    let public = get_meta(client, "public_key").await?;
    let in_db = get_meta(client, "signing_key").await?;
    let on_disk = read(path)?;
    let (key, made) = match (in_db, on_disk) {
        (Some(old), Some(file)) => {
            let old = HubKey::from_hex(&old)?;
            if old.public_hex() != file.public_hex() {
                return Err(HubError::Key(format!(
                    "{} holds another key than the database: move one of them away",
                    path.display()
                )));
            }
            (file, false)
        }
        (Some(old), None) => {
            let old = HubKey::from_hex(&old)?;
            write(path, &old)?;
            tracing::info!(file = %path.display(), "moved the hub's key out of the database");
            (old, false)
        }
        (None, Some(file)) => (file, false),
        (None, None) if make && public.is_none() => {
            let key = HubKey::generate()?;
            write(path, &key)?;
            (key, true)
        }
        (None, None) => {
            return Err(HubError::Key(format!(
            "no key file at {}: give the hub's --key-file, or run `annals hub init` for a new hub",
            path.display()
        )))
        }
    };
    match public {
        Some(p) if p.trim() != key.public_hex() => {
            return Err(HubError::Key(format!(
                "{} is not this hub's key (its public half is {}, the database's {})",
                path.display(),
                key.public_hex(),
                p.trim()
            )))
        }
        Some(_) => {}
        None => set_meta(client, "public_key", &key.public_hex()).await?,
    }
    delete_meta(client, "signing_key").await?;
    Ok((key, made))
}

/// The hub's public key, hex, as the database holds it.
pub async fn public(client: &impl GenericClient) -> Result<String, HubError> {
    if let Some(p) = get_meta(client, "public_key").await? {
        return Ok(p.trim().to_owned());
    }
    match get_meta(client, "signing_key").await? {
        Some(secret) => Ok(HubKey::from_hex(&secret)?.public_hex()),
        None => Err(HubError::Key("there is none: run `annals hub init`".into())),
    }
}

fn read(path: &Path) -> Result<Option<HubKey>, HubError> {
    match std::fs::read_to_string(path) {
        Ok(text) => HubKey::from_hex(&text)
            .map(Some)
            .map_err(|_| HubError::Key(format!("{} is not a hub key", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(HubError::Key(format!(
            "could not read {}: {e}",
            path.display()
        ))),
    }
}

/// Writes the key to a new file only its owner may read, synced with its folder.
fn write(path: &Path, key: &HubKey) -> Result<(), HubError> {
    let failed =
        |e: std::io::Error| HubError::Key(format!("could not write {}: {e}", path.display()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(failed)?;
    file.write_all(format!("{}\n", key.secret_hex()).as_bytes())
        .map_err(failed)?;
    file.sync_all().map_err(failed)?;
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    if let Ok(dir) = std::fs::File::open(folder) {
        let _ = dir.sync_all();
    }
    Ok(())
}
