//! Forking a session and saving / loading its state: prefill a shared prompt once, then fork
//! it per continuation, or store it and resume it later bit for bit.

use crate::boundary::{arg_mut, arg_path, arg_ref, arg_slice, guard, out_ptr, OutList};
use crate::session::llmc_session;
use crate::status::llmc_status;
use std::ffi::c_char;

/// Creates in `*out` an independent copy of `src`: the same model (another reference to it),
/// numeric path, KV type and capacity, and a copy of its cache. The two then evolve
/// separately; release the copy with `llmc_session_free`. Running out of memory for the copy
/// is `LLMC_ERR_INVALID_ARGUMENT` (nothing is written to `*out`).
#[no_mangle]
pub unsafe extern "C" fn llmc_session_fork(
    src: *const llmc_session,
    out: *mut *mut llmc_session,
) -> llmc_status {
    guard("llmc_session_fork", || {
        // SAFETY: caller passes a live handle not being written by another thread.
        let s = unsafe { arg_ref(src, "src")? };
        let out = out_ptr(out, "out")?;
        let session = s.session.fork()?;
        // SAFETY: checked non-NULL; written on success only.
        unsafe { out.write(Box::into_raw(Box::new(llmc_session { session }))) };
        Ok(())
    })
}

/// Writes into `*n` the bytes `llmc_session_state_save` needs for the session as it is now.
#[no_mangle]
pub unsafe extern "C" fn llmc_session_state_size(
    session: *const llmc_session,
    n: *mut usize,
) -> llmc_status {
    guard("llmc_session_state_size", || {
        // SAFETY: caller passes a live handle.
        let s = unsafe { arg_ref(session, "session")? };
        let n = out_ptr(n, "n")?;
        // SAFETY: checked non-NULL.
        unsafe { n.write(s.session.state_size()) };
        Ok(())
    })
}

/// Saves the session's state (its KV cache and what identifies the model, the KV type and
/// the numeric path; format in docs/c-api.md) into `buf` (`capacity` bytes) and its size into
/// `*n_out`. A NULL `buf` with capacity 0 asks only for the size; a smaller buffer is
/// `LLMC_ERR_BUFFER_TOO_SMALL` and is left untouched.
#[no_mangle]
pub unsafe extern "C" fn llmc_session_state_save(
    session: *const llmc_session,
    buf: *mut u8,
    capacity: usize,
    n_out: *mut usize,
) -> llmc_status {
    guard("llmc_session_state_save", || {
        // SAFETY: caller passes a live handle and `capacity` writable bytes.
        let s = unsafe { arg_ref(session, "session")? };
        let out = OutList::new(buf, capacity, n_out, "buf", "n_out")?;
        out.check(s.session.state_size(), "buf")?;
        let state = s.session.save_state();
        unsafe { out.write(&state, "buf") }
    })
}

/// Replaces the session's cache with a state saved by `llmc_session_state_save` from a
/// session of a model of the same shape, with the same KV type and numeric path. Truncated or
/// corrupt bytes are `LLMC_ERR_FORMAT` (the message gives the offset); another model shape,
/// KV type or numeric path is `LLMC_ERR_INVALID_ARGUMENT` naming it; more tokens than the
/// session's capacity is `LLMC_ERR_CONTEXT_OVERFLOW`. On any error the session is unchanged.
#[no_mangle]
pub unsafe extern "C" fn llmc_session_state_load(
    session: *mut llmc_session,
    bytes: *const u8,
    len: usize,
) -> llmc_status {
    guard("llmc_session_state_load", || {
        // SAFETY: caller passes a live session used by this thread only and `len` bytes.
        let s = unsafe { arg_mut(session, "session")? };
        let bytes = unsafe { arg_slice(bytes, len, "bytes")? };
        Ok(s.session.load_state(bytes)?)
    })
}

/// `llmc_session_state_save` into the file at `path` (UTF-8), written whole or not at all
/// (a temporary beside it, renamed into place); failures are `LLMC_ERR_IO`.
#[no_mangle]
pub unsafe extern "C" fn llmc_session_state_save_file(
    session: *const llmc_session,
    path: *const c_char,
) -> llmc_status {
    guard("llmc_session_state_save_file", || {
        // SAFETY: caller passes a live handle and a NUL-terminated path.
        let s = unsafe { arg_ref(session, "session")? };
        let path = unsafe { arg_path(path, "path")? };
        Ok(s.session.save_state_file(path)?)
    })
}

/// `llmc_session_state_load` from the file at `path` (UTF-8), with the same errors plus
/// `LLMC_ERR_IO`; on any error the session is unchanged.
#[no_mangle]
pub unsafe extern "C" fn llmc_session_state_load_file(
    session: *mut llmc_session,
    path: *const c_char,
) -> llmc_status {
    guard("llmc_session_state_load_file", || {
        // SAFETY: caller passes a live session used by this thread only and a path.
        let s = unsafe { arg_mut(session, "session")? };
        let path = unsafe { arg_path(path, "path")? };
        Ok(s.session.load_state_file(path)?)
    })
}
