//! The C ABI of libllmcore (`libllmcore.a`, `libllmcore.so`), declared in `include/llmcore.h`
//! (generated from these sources by cbindgen; `tests/header.rs` fails when it drifts).
//!
//! Conventions (after llama.h and rustls-ffi): every symbol starts with `llmc_`; handles are
//! opaque, created by `_load`/`_new`/`_open` and released by `_free` (`_free(NULL)` does
//! nothing); fallible functions return an [`status::llmc_status`] and write their outputs only
//! on success; `llmc_last_error_message` gives the thread's last error text; every export runs
//! inside [`boundary::guard`] (a panic boundary) and checks every pointer; parameter structs
//! start with `struct_size` and come from `llmc_*_default_params()`. This crate is a thin
//! shell: it converts arguments and errors and calls `llmcore`, which holds every algorithm.
#![allow(clippy::missing_safety_doc)] // each export's safety contract is in the header

pub mod audio;
pub mod boundary;
pub mod calib;
pub mod eval;
pub mod generate;
pub mod model;
pub mod optim;
pub mod prune;
pub mod sampler;
pub mod schedule;
pub mod session;
pub mod session_state;
pub mod spec;
pub mod status;
pub mod tensors;
pub mod vocab;

use std::ffi::c_char;

/// Major version of libllmcore (equal to the crate version's; checked by a test).
pub const LLMC_VERSION_MAJOR: u32 = 0;
/// Minor version of libllmcore.
pub const LLMC_VERSION_MINOR: u32 = 2;
/// Patch version of libllmcore.
pub const LLMC_VERSION_PATCH: u32 = 0;
/// Version of the binary interface: raised whenever a change breaks programs built against
/// an earlier header (it is also the shared library's soname suffix, `libllmcore.so.1`).
/// Compare it with `llmc_abi_version()` at start-up to detect a mismatched library.
pub const LLMC_ABI_VERSION: u32 = 1;

/// The library's version as "MAJOR.MINOR.PATCH" (static, NUL-terminated, never NULL).
#[no_mangle]
pub extern "C" fn llmc_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The `LLMC_ABI_VERSION` the library was built with.
#[no_mangle]
pub extern "C" fn llmc_abi_version() -> u32 {
    LLMC_ABI_VERSION
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn version_constants_match_the_crate_version() {
        assert_eq!(
            LLMC_VERSION_MAJOR.to_string(),
            env!("CARGO_PKG_VERSION_MAJOR")
        );
        assert_eq!(
            LLMC_VERSION_MINOR.to_string(),
            env!("CARGO_PKG_VERSION_MINOR")
        );
        assert_eq!(
            LLMC_VERSION_PATCH.to_string(),
            env!("CARGO_PKG_VERSION_PATCH")
        );
        let v = unsafe { CStr::from_ptr(llmc_version()) }.to_str().unwrap();
        assert_eq!(
            v,
            format!("{LLMC_VERSION_MAJOR}.{LLMC_VERSION_MINOR}.{LLMC_VERSION_PATCH}")
        );
    }

    #[test]
    fn soname_follows_the_abi_version() {
        assert_eq!(env!("LLMC_SONAME_ABI"), LLMC_ABI_VERSION.to_string());
        assert_eq!(llmc_abi_version(), LLMC_ABI_VERSION);
    }
}
