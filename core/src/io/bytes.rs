//! The bytes of a model file: either an owned buffer or (with `std`) a read-only memory map.

use alloc::vec::Vec;
use core::ops::Deref;

/// Immutable file contents that parsers borrow from without copying.
pub enum Bytes {
    /// Bytes held in memory (read from elsewhere, or built by a writer).
    Owned(Vec<u8>),
    /// A read-only memory map of a whole file.
    #[cfg(feature = "std")]
    Mmap(memmap2::Mmap),
}

impl Deref for Bytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Owned(v) => v,
            #[cfg(feature = "std")]
            Bytes::Mmap(m) => m,
        }
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(v: Vec<u8>) -> Self {
        Bytes::Owned(v)
    }
}

impl core::fmt::Debug for Bytes {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let kind = match self {
            Bytes::Owned(_) => "Owned",
            #[cfg(feature = "std")]
            Bytes::Mmap(_) => "Mmap",
        };
        write!(f, "Bytes::{kind}({} bytes)", self.len())
    }
}

#[cfg(feature = "std")]
impl Bytes {
    /// Maps the file at `path` read-only. An empty file gives an empty owned buffer (a
    /// zero-length mapping is not portable). Errors are [`crate::Error::Io`] with the path and
    /// the operating system's message, or "is a directory, not a file" (and "is not a regular
    /// file" for a device or pipe) before trying to map such a path.
    ///
    /// The mapping assumes the file is not modified while it is mapped (as every mmap-based
    /// model loader does); a file truncated underneath the mapping faults on access.
    pub fn map_file(path: impl AsRef<std::path::Path>) -> crate::Result<Bytes> {
        use alloc::string::ToString;
        let path = path.as_ref();
        let io_err = |e: std::io::Error| crate::Error::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        // Checked before opening: mapping a directory fails with ENODEV ("No such device"),
        // which names nothing, and opening a FIFO blocks until someone writes to it.
        let meta = std::fs::metadata(path).map_err(io_err)?;
        if !meta.is_file() {
            let what = if meta.is_dir() {
                "is a directory, not a file"
            } else {
                "is not a regular file"
            };
            return Err(crate::Error::Io {
                path: path.display().to_string(),
                message: what.to_string(),
            });
        }
        let file = std::fs::File::open(path).map_err(io_err)?;
        if file.metadata().map_err(io_err)?.len() == 0 {
            return Ok(Bytes::Owned(Vec::new()));
        }
        // SAFETY: the map is read-only and lives as long as `Bytes`; like every mmap-based
        // loader we rely on the file not being truncated or rewritten while mapped.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io_err)?;
        Ok(Bytes::Mmap(map))
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;
    use crate::Error;
    use alloc::string::ToString;

    #[test]
    fn map_file_reads_contents_and_reports_missing_path() {
        let dir = std::env::temp_dir().join(alloc::format!("llmcore-bytes-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("x.bin");
        std::fs::write(&p, b"hello").unwrap();
        assert_eq!(&*Bytes::map_file(&p).unwrap(), b"hello");
        let empty = dir.join("empty.bin");
        std::fs::write(&empty, b"").unwrap();
        assert!(Bytes::map_file(&empty).unwrap().is_empty());
        match Bytes::map_file(&dir) {
            Err(Error::Io { path, message }) => {
                assert_eq!(path, dir.display().to_string());
                assert_eq!(message, "is a directory, not a file");
            }
            other => panic!("expected Io error, got {other:?}"),
        }
        match Bytes::map_file("/dev/null") {
            Err(Error::Io { message, .. }) => assert_eq!(message, "is not a regular file"),
            other => panic!("expected Io error, got {other:?}"),
        }
        match Bytes::map_file(dir.join("absent.bin")) {
            Err(Error::Io { path, message }) => {
                assert!(path.ends_with("absent.bin"));
                assert!(!message.is_empty());
            }
            other => panic!("expected Io error, got {other:?}"),
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
