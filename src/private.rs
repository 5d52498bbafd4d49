//! Files only their owner may read: the store's folder and everything in it, and the
//! first admin token. On a shared machine a reader of the store's files could read the
//! whole log and every token's hash (issue 13).
use std::{fs, io, path::Path};

#[cfg(unix)]
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};

/// Options that create a file only its owner can read (an existing file keeps its mode).
pub fn options() -> fs::OpenOptions {
    let mut options = fs::OpenOptions::new();
    #[cfg(unix)]
    options.mode(0o600);
    options
}

/// Creates (or empties) the file at `path`, for writing, readable by its owner only.
pub fn create(path: &Path) -> io::Result<fs::File> {
    options().write(true).create(true).truncate(true).open(path)
}

/// Writes `bytes` to a new file at `path` that only its owner can read; an existing
/// file is not overwritten.
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use io::Write;
    let mut file = options().write(true).create_new(true).open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Makes `dir` and what it holds private to its owner: folders `0700`, files `0600`.
/// What is written into the folder afterwards is private through the folder itself.
pub fn restrict(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                restrict(&entry.path())?;
            } else if kind.is_file() {
                fs::set_permissions(entry.path(), fs::Permissions::from_mode(0o600))?;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}
