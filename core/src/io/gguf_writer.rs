//! A GGUF file written tensor by tensor, so a model larger than memory can be saved.
//!
//! The header ([`super::gguf::gguf_header`], the same bytes [`super::gguf::write_gguf`] builds
//! in memory) is written when the writer is created; each declared tensor's bytes follow in
//! order, checked against the declared size. The file is written under a temporary name in the
//! destination's directory and renamed onto the destination by [`GgufWriter::finish`] after an
//! fsync; a writer dropped before that (an error, a cancellation) deletes the temporary, so a
//! failed save never leaves a half-written model behind.

use super::gguf::{gguf_header, padding, TensorDecl, Value};
use crate::{Error, Result};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Streams one GGUF file to disk (see the module docs).
pub struct GgufWriter {
    out: Option<BufWriter<File>>,
    tmp: PathBuf,
    path: PathBuf,
    tensors: Vec<TensorDecl>,
    next: usize,
    alignment: u64,
}

fn io_error(path: &Path, e: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

impl GgufWriter {
    /// Starts writing `path` with `metadata` and the declared `tensors`. An existing `path` is
    /// an error unless `overwrite` (it is then replaced only by [`GgufWriter::finish`]).
    pub fn create(
        path: impl AsRef<Path>,
        metadata: &[(String, Value)],
        tensors: Vec<TensorDecl>,
        overwrite: bool,
    ) -> Result<GgufWriter> {
        let path = path.as_ref().to_path_buf();
        if !overwrite && path.exists() {
            return Err(Error::Io {
                path: path.display().to_string(),
                message: "already exists (overwrite it with --force)".into(),
            });
        }
        let (header, alignment) = gguf_header(metadata, &tensors)?;
        let tmp = super::atomic::partial_path(&path)?;
        let file = File::create(&tmp).map_err(|e| io_error(&tmp, e))?;
        let mut w = GgufWriter {
            out: Some(BufWriter::with_capacity(1 << 20, file)),
            tmp,
            path,
            tensors,
            next: 0,
            alignment,
        };
        w.write_raw(&header)?;
        Ok(w)
    }

    fn write_raw(&mut self, bytes: &[u8]) -> Result<()> {
        let out = self.out.as_mut().expect("open until finish");
        out.write_all(bytes).map_err(|e| io_error(&self.tmp, e))
    }

    /// The name of the next tensor to write, if any is left.
    pub fn next_tensor(&self) -> Option<&str> {
        self.tensors.get(self.next).map(|t| t.0.as_str())
    }

    /// Writes the next declared tensor's bytes (`bytes.len()` must be its declared size).
    pub fn write_tensor(&mut self, bytes: &[u8]) -> Result<()> {
        let Some((name, _, _, size)) = self.tensors.get(self.next) else {
            return Err(Error::invalid(format!(
                "all {} declared tensors are already written",
                self.tensors.len()
            )));
        };
        if bytes.len() as u64 != *size {
            return Err(Error::invalid(format!(
                "tensor '{name}' was declared as {size} bytes, got {}",
                bytes.len()
            )));
        }
        let pad = padding(*size, self.alignment);
        self.write_raw(bytes)?;
        self.write_raw(&alloc::vec![0u8; pad])?;
        self.next += 1;
        Ok(())
    }

    /// Flushes, fsyncs and renames the file onto its destination. Errors if a declared tensor
    /// was not written (the temporary is then deleted).
    pub fn finish(mut self) -> Result<()> {
        if let Some(name) = self.next_tensor() {
            return Err(Error::invalid(format!(
                "tensor '{name}' and {} after it were declared but not written",
                self.tensors.len() - self.next - 1
            )));
        }
        let out = self.out.take().expect("open until finish");
        let file = out
            .into_inner()
            .map_err(|e| io_error(&self.tmp, e.into_error()))?;
        file.sync_all().map_err(|e| io_error(&self.tmp, e))?;
        drop(file);
        std::fs::rename(&self.tmp, &self.path).map_err(|e| io_error(&self.path, e))?;
        Ok(())
    }
}

impl Drop for GgufWriter {
    fn drop(&mut self) {
        if self.out.take().is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::gguf::write_gguf;
    use crate::io::{Bytes, GgufFile};
    use crate::tensor::GgmlType;

    type Tensors = Vec<(String, Vec<u64>, GgmlType, Vec<u8>)>;

    fn example() -> (Vec<(String, Value)>, Tensors) {
        let meta = alloc::vec![
            ("general.architecture".into(), Value::String("llama".into())),
            ("general.alignment".into(), Value::U32(64)),
        ];
        let tensors = alloc::vec![
            ("a".into(), alloc::vec![3], GgmlType::F32, (0..12).collect()),
            (
                "b".into(),
                alloc::vec![32, 2],
                GgmlType::Q8_0,
                (0..68).map(|i| i as u8).collect()
            ),
        ];
        (meta, tensors)
    }

    fn dir() -> PathBuf {
        let d = std::env::temp_dir().join(format!("llmcore-gguf-writer-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn streamed_file_is_the_in_memory_file() {
        let (meta, tensors) = example();
        let refs: Vec<_> = tensors
            .iter()
            .map(|(n, d, t, b)| (n.clone(), d.clone(), *t, &b[..]))
            .collect();
        let want = write_gguf(&meta, &refs).unwrap();
        let path = dir().join("streamed.gguf");
        let decls = tensors
            .iter()
            .map(|(n, d, t, b)| (n.clone(), d.clone(), *t, b.len() as u64))
            .collect();
        let mut w = GgufWriter::create(&path, &meta, decls, true).unwrap();
        for (_, _, _, b) in &tensors {
            w.write_tensor(b).unwrap();
        }
        w.finish().unwrap();
        let got = std::fs::read(&path).unwrap();
        assert_eq!(got, want);
        let f = GgufFile::parse(Bytes::from(got)).unwrap();
        assert_eq!(
            f.tensor_data(f.tensor_info("b").unwrap()),
            &tensors[1].3[..]
        );
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn failed_or_dropped_writes_leave_no_file() {
        let (meta, tensors) = example();
        let path = dir().join("dropped.gguf");
        let decls: Vec<TensorDecl> = tensors
            .iter()
            .map(|(n, d, t, b)| (n.clone(), d.clone(), *t, b.len() as u64))
            .collect();
        let listing = || {
            let mut v: Vec<_> = std::fs::read_dir(path.parent().unwrap())
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .filter(|n| n.to_string_lossy().contains("dropped"))
                .collect();
            v.sort();
            v
        };
        {
            let mut w = GgufWriter::create(&path, &meta, decls.clone(), true).unwrap();
            w.write_tensor(&tensors[0].3).unwrap();
            assert_eq!(listing().len(), 1, "the temporary exists while writing");
            // Cancelled here.
        }
        assert!(listing().is_empty(), "{:?}", listing());
        let mut w = GgufWriter::create(&path, &meta, decls.clone(), true).unwrap();
        let err = w.write_tensor(&[0; 5]).unwrap_err();
        assert!(
            err.to_string()
                .contains("'a' was declared as 12 bytes, got 5"),
            "{err}"
        );
        w.write_tensor(&tensors[0].3).unwrap();
        let err = w.finish().unwrap_err();
        assert!(
            err.to_string().contains("tensor 'b' and 0 after it"),
            "{err}"
        );
        assert!(listing().is_empty());
        // An existing destination is refused without overwrite, and kept.
        std::fs::write(&path, b"keep").unwrap();
        let err = GgufWriter::create(&path, &meta, decls, false)
            .err()
            .unwrap();
        assert!(err.to_string().contains("already exists"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), b"keep");
        std::fs::remove_file(&path).unwrap();
    }
}
