//! Status codes: how every fallible export reports its outcome.

use runtime::Error;
use std::ffi::c_char;

/// The outcome of a call: `LLMC_OK` (0) or a negative error kind. The enum is append-only:
/// codes are never renumbered or reused, so a program may switch on them across versions.
/// On an error the thread's last error message (see `llmc_last_error_message`) says what was
/// wrong and where.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum llmc_status {
    /// Success.
    LLMC_OK = 0,
    /// A required pointer argument was NULL.
    LLMC_ERR_NULL_ARGUMENT = -1,
    /// An argument is out of range or inconsistent (including text that is not UTF-8 and a
    /// parameter struct whose `struct_size` this library does not know).
    LLMC_ERR_INVALID_ARGUMENT = -2,
    /// The operating system refused a file operation (open, read, map).
    LLMC_ERR_IO = -3,
    /// A file does not follow its format (truncated or corrupted GGUF / safetensors).
    LLMC_ERR_FORMAT = -4,
    /// A valid input uses a feature this build does not implement (e.g. an architecture).
    LLMC_ERR_UNSUPPORTED = -5,
    /// A tensor the model needs is absent from the file.
    LLMC_ERR_MISSING_TENSOR = -6,
    /// A metadata key is absent or has another type than the one asked for.
    LLMC_ERR_MISSING_METADATA = -7,
    /// A tensor has another shape than the one expected.
    LLMC_ERR_SHAPE = -8,
    /// A token id outside the vocabulary.
    LLMC_ERR_TOKEN_OUT_OF_RANGE = -9,
    /// More tokens than the session's context holds.
    LLMC_ERR_CONTEXT_OVERFLOW = -10,
    /// A caller-provided output buffer is too small; nothing was written. Call again with a
    /// NULL buffer and capacity 0 to learn the size needed.
    LLMC_ERR_BUFFER_TOO_SMALL = -11,
    /// A callback asked to stop long work (perplexity progress returned false).
    LLMC_ERR_CANCELLED = -12,
    /// A bug inside libllmcore (a Rust panic caught at the boundary). The handles passed to
    /// the failing call should not be used again except to free them.
    LLMC_ERR_INTERNAL = -13,
    /// A callback the caller supplied to do the work (an evaluation engine's) reported
    /// failure; the message names the callback.
    LLMC_ERR_CALLBACK = -14,
}

impl llmc_status {
    /// Every status, in numeric order from 0 down.
    pub const ALL: [llmc_status; 15] = [
        llmc_status::LLMC_OK,
        llmc_status::LLMC_ERR_NULL_ARGUMENT,
        llmc_status::LLMC_ERR_INVALID_ARGUMENT,
        llmc_status::LLMC_ERR_IO,
        llmc_status::LLMC_ERR_FORMAT,
        llmc_status::LLMC_ERR_UNSUPPORTED,
        llmc_status::LLMC_ERR_MISSING_TENSOR,
        llmc_status::LLMC_ERR_MISSING_METADATA,
        llmc_status::LLMC_ERR_SHAPE,
        llmc_status::LLMC_ERR_TOKEN_OUT_OF_RANGE,
        llmc_status::LLMC_ERR_CONTEXT_OVERFLOW,
        llmc_status::LLMC_ERR_BUFFER_TOO_SMALL,
        llmc_status::LLMC_ERR_CANCELLED,
        llmc_status::LLMC_ERR_INTERNAL,
        llmc_status::LLMC_ERR_CALLBACK,
    ];

    /// The status a core error maps to.
    pub fn from_error(e: &Error) -> llmc_status {
        match e {
            Error::Io { .. } => llmc_status::LLMC_ERR_IO,
            Error::Format { .. } => llmc_status::LLMC_ERR_FORMAT,
            Error::Unsupported(_) => llmc_status::LLMC_ERR_UNSUPPORTED,
            Error::InvalidArgument(_) => llmc_status::LLMC_ERR_INVALID_ARGUMENT,
            Error::MissingTensor(_) => llmc_status::LLMC_ERR_MISSING_TENSOR,
            Error::MissingMetadata(_) => llmc_status::LLMC_ERR_MISSING_METADATA,
            Error::Shape { .. } => llmc_status::LLMC_ERR_SHAPE,
            Error::TokenOutOfRange { .. } => llmc_status::LLMC_ERR_TOKEN_OUT_OF_RANGE,
            Error::ContextOverflow { .. } => llmc_status::LLMC_ERR_CONTEXT_OVERFLOW,
            Error::BufferTooSmall { .. } => llmc_status::LLMC_ERR_BUFFER_TOO_SMALL,
            Error::Cancelled => llmc_status::LLMC_ERR_CANCELLED,
        }
    }

    /// The code's name and meaning, NUL-terminated.
    fn text(self) -> &'static std::ffi::CStr {
        match self {
            llmc_status::LLMC_OK => c"LLMC_OK: success",
            llmc_status::LLMC_ERR_NULL_ARGUMENT => {
                c"LLMC_ERR_NULL_ARGUMENT: a required pointer argument was NULL"
            }
            llmc_status::LLMC_ERR_INVALID_ARGUMENT => {
                c"LLMC_ERR_INVALID_ARGUMENT: an argument is out of range or inconsistent"
            }
            llmc_status::LLMC_ERR_IO => c"LLMC_ERR_IO: a file operation failed",
            llmc_status::LLMC_ERR_FORMAT => c"LLMC_ERR_FORMAT: the file does not follow its format",
            llmc_status::LLMC_ERR_UNSUPPORTED => {
                c"LLMC_ERR_UNSUPPORTED: the input uses a feature this build does not implement"
            }
            llmc_status::LLMC_ERR_MISSING_TENSOR => {
                c"LLMC_ERR_MISSING_TENSOR: a tensor the model needs is absent"
            }
            llmc_status::LLMC_ERR_MISSING_METADATA => {
                c"LLMC_ERR_MISSING_METADATA: a metadata key is absent or has another type"
            }
            llmc_status::LLMC_ERR_SHAPE => c"LLMC_ERR_SHAPE: a tensor has an unexpected shape",
            llmc_status::LLMC_ERR_TOKEN_OUT_OF_RANGE => {
                c"LLMC_ERR_TOKEN_OUT_OF_RANGE: a token id is outside the vocabulary"
            }
            llmc_status::LLMC_ERR_CONTEXT_OVERFLOW => {
                c"LLMC_ERR_CONTEXT_OVERFLOW: more tokens than the context holds"
            }
            llmc_status::LLMC_ERR_BUFFER_TOO_SMALL => {
                c"LLMC_ERR_BUFFER_TOO_SMALL: the output buffer is too small"
            }
            llmc_status::LLMC_ERR_CANCELLED => c"LLMC_ERR_CANCELLED: a callback asked to stop",
            llmc_status::LLMC_ERR_INTERNAL => c"LLMC_ERR_INTERNAL: internal error (a bug)",
            llmc_status::LLMC_ERR_CALLBACK => {
                c"LLMC_ERR_CALLBACK: a caller-supplied callback failed"
            }
        }
    }
}

/// A static, NUL-terminated description of `status` ("LLMC_ERR_IO: a file operation
/// failed"); "unknown status" for a code this version does not know. Never NULL; the string
/// must not be freed.
#[no_mangle]
pub extern "C" fn llmc_status_string(status: i32) -> *const c_char {
    llmc_status::ALL
        .iter()
        .find(|s| **s as i32 == status)
        .map_or(c"unknown status".as_ptr(), |s| s.text().as_ptr())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn codes_are_dense_and_named_after_themselves() {
        for (i, s) in llmc_status::ALL.iter().enumerate() {
            assert_eq!(*s as i32, -(i as i32));
            let text = unsafe { CStr::from_ptr(llmc_status_string(*s as i32)) };
            assert!(
                text.to_str().unwrap().starts_with(&format!("{s:?}: ")),
                "{text:?}"
            );
        }
        let unknown = unsafe { CStr::from_ptr(llmc_status_string(-1000)) };
        assert_eq!(unknown.to_str().unwrap(), "unknown status");
    }
}
