//! Whole-file writes that never leave a partial file: the bytes go to a hidden temporary file
//! beside the target (same directory, so the rename stays on one filesystem), which is renamed
//! into place only once fully written. A failed or interrupted write removes the temporary.

use crate::{Error, Result};
use alloc::{format, string::ToString};
use std::path::{Path, PathBuf};

/// The temporary beside `path`: `.NAME.partial-PID`.
pub fn partial_path(path: &Path) -> Result<PathBuf> {
    let name = path
        .file_name()
        .ok_or_else(|| Error::invalid(format!("'{}' names no file", path.display())))?;
    let mut tmp = std::ffi::OsString::from(".");
    tmp.push(name);
    tmp.push(format!(".partial-{}", std::process::id()));
    Ok(path.with_file_name(tmp))
}

/// Writes `bytes` to `path` through [`partial_path`] and a rename; I/O failures are
/// [`Error::Io`] naming `path`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = partial_path(path)?;
    let written = std::fs::write(&tmp, bytes).and_then(|_| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written.map_err(|e| Error::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_whole_files_and_cleans_up_on_failure() {
        let dir = std::env::temp_dir().join(format!("llmcore-atomic-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("a.bin");
        write_atomic(&f, b"hello").unwrap();
        assert_eq!(std::fs::read(&f).unwrap(), b"hello");
        // A directory in the way: the rename fails, the temporary is gone.
        let blocked = dir.join("sub");
        std::fs::create_dir_all(blocked.join("x")).unwrap();
        assert!(matches!(
            write_atomic(&blocked, b"x"),
            Err(Error::Io { .. })
        ));
        assert!(!partial_path(&blocked).unwrap().exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
