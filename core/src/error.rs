//! The one error type of libllmcore. Every fallible call returns [`Result`]; an error says what
//! was wrong and where (file offset, tensor name, token id).

use alloc::string::String;
use core::fmt;

/// What went wrong, with enough context to find it.
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// An operating-system level failure (open, read, mmap) on `path`.
    Io { path: String, message: String },
    /// A file or buffer does not follow its format: `format` names it (e.g. "GGUF"),
    /// `offset` is the byte offset where the problem was found.
    Format {
        format: &'static str,
        offset: u64,
        message: String,
    },
    /// A feature of an otherwise valid input that this build does not implement.
    Unsupported(String),
    /// A caller-supplied argument is out of range or inconsistent.
    InvalidArgument(String),
    /// A tensor the model needs is absent from the file.
    MissingTensor(String),
    /// A metadata key the model needs is absent or has the wrong type.
    MissingMetadata(String),
    /// A tensor has a shape other than the one expected.
    Shape {
        tensor: String,
        expected: String,
        found: String,
    },
    /// A token id outside the vocabulary.
    TokenOutOfRange { id: u32, vocab_size: usize },
    /// More positions than the context (or KV cache) holds.
    ContextOverflow { needed: usize, capacity: usize },
    /// A caller-provided output buffer is smaller than needed.
    BufferTooSmall { needed: usize, provided: usize },
    /// Long work stopped because a callback asked it to.
    Cancelled,
}

/// `core::result::Result` specialised to [`Error`].
pub type Result<T> = core::result::Result<T, Error>;

impl Error {
    /// Shorthand for a [`Error::Format`] error.
    pub fn format(format: &'static str, offset: u64, message: impl Into<String>) -> Self {
        Error::Format {
            format,
            offset,
            message: message.into(),
        }
    }

    /// Shorthand for an [`Error::InvalidArgument`] error.
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::InvalidArgument(message.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { path, message } => write!(f, "{path}: {message}"),
            Error::Format {
                format,
                offset,
                message,
            } => {
                write!(f, "malformed {format} at byte offset {offset}: {message}")
            }
            Error::Unsupported(m) => write!(f, "unsupported: {m}"),
            Error::InvalidArgument(m) => write!(f, "invalid argument: {m}"),
            Error::MissingTensor(name) => write!(f, "missing tensor '{name}'"),
            Error::MissingMetadata(key) => write!(f, "missing or mistyped metadata key '{key}'"),
            Error::Shape {
                tensor,
                expected,
                found,
            } => {
                write!(
                    f,
                    "tensor '{tensor}' has shape {found}, expected {expected}"
                )
            }
            Error::TokenOutOfRange { id, vocab_size } => {
                write!(
                    f,
                    "token id {id} is out of range for a vocabulary of {vocab_size}"
                )
            }
            Error::ContextOverflow { needed, capacity } => {
                write!(
                    f,
                    "context overflow: {needed} positions needed, {capacity} available"
                )
            }
            Error::BufferTooSmall { needed, provided } => {
                write!(
                    f,
                    "output buffer too small: {needed} elements needed, {provided} provided"
                )
            }
            Error::Cancelled => write!(f, "cancelled by callback"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Error {}
