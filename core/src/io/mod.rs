//! File formats: GGUF (read and write), safetensors (read and write), and the small JSON
//! parser/writer that safetensors headers and the CLI's `--json` output need, and (with `std`)
//! whole-file writes that never leave a partial file.
//!
//! Parsers take [`Bytes`] (an owned buffer or, with `std`, a memory map) and validate the
//! whole header up front; tensor data is then borrowed from the bytes without copying.

#[cfg(feature = "std")]
pub mod atomic;
pub mod bytes;
pub mod gguf;
#[cfg(feature = "std")]
pub mod gguf_writer;
pub mod json;
pub mod safetensors;
pub mod sha256;

pub use bytes::Bytes;
pub use gguf::{write_gguf, GgufFile, TensorInfo, Value};
#[cfg(feature = "std")]
pub use gguf_writer::GgufWriter;
pub use json::Json;
pub use safetensors::{SafeDtype, SafeTensorView, SafeTensors};
