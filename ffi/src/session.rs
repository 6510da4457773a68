//! Sessions: a KV cache over a shared model, evaluated a batch at a time.

use crate::boundary::{
    arg_mut, arg_ref, arg_slice, guard, invalid, null, out_ptr, read_params, read_params_or_older,
    Failure, FfiResult,
};
use crate::model::{llmc_model, llmc_token};
use crate::status::llmc_status;
use runtime::model::{Batch, KvType, LogitRows, Mask, Numerics, Session};

/// Which numeric path a session's matrix products take.
#[allow(non_camel_case_types)]
pub type llmc_numerics = u32;
/// 8-bit activation blocks against the quantized weights, as llama.cpp computes (default).
pub const LLMC_NUMERICS_FAST: llmc_numerics = 0;
/// f32 activations against dequantized weights: the slower reference path.
pub const LLMC_NUMERICS_EXACT: llmc_numerics = 1;

/// The core's numeric path for a C value.
pub(crate) fn numerics(value: llmc_numerics) -> FfiResult<Numerics> {
    match value {
        LLMC_NUMERICS_FAST => Ok(Numerics::Fast),
        LLMC_NUMERICS_EXACT => Ok(Numerics::Exact),
        other => Err(invalid(format!(
            "numerics {other} (LLMC_NUMERICS_FAST or _EXACT)"
        ))),
    }
}

/// What a session's KV cache stores keys and values as. 64 bits wide so that appending it
/// grew `llmc_session_params`, letting `struct_size` tell the two layouts apart.
#[allow(non_camel_case_types)]
pub type llmc_kv_type = u64;
/// The numeric path's default (as llama.cpp): f16 with `LLMC_NUMERICS_FAST`, f32 with
/// `LLMC_NUMERICS_EXACT`.
pub const LLMC_KV_DEFAULT: llmc_kv_type = 0;
/// 4-byte f32 keys and values.
pub const LLMC_KV_F32: llmc_kv_type = 1;
/// 2-byte IEEE f16 keys and values (rounded to nearest even when stored): half the memory.
pub const LLMC_KV_F16: llmc_kv_type = 2;

/// The core's KV cache type for a C value, given the session's numeric path.
pub(crate) fn kv_type(value: llmc_kv_type, numerics: Numerics) -> FfiResult<KvType> {
    match value {
        LLMC_KV_DEFAULT => Ok(KvType::default_for(numerics)),
        LLMC_KV_F32 => Ok(KvType::F32),
        LLMC_KV_F16 => Ok(KvType::F16),
        other => Err(invalid(format!(
            "params->kv_type {other} (LLMC_KV_DEFAULT, _F32 or _F16)"
        ))),
    }
}

/// A conversation with a model: its KV cache. A session may be used by one thread at a time
/// (it may move between threads); use one session per thread to run a model in parallel.
#[allow(non_camel_case_types)]
pub struct llmc_session {
    pub(crate) session: Session,
}

const _: () = {
    const fn send<T: Send>() {}
    send::<Session>()
};

/// How to create a session. Start from `llmc_session_default_params()`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
#[allow(non_camel_case_types)]
pub struct llmc_session_params {
    /// `sizeof(llmc_session_params)`.
    pub struct_size: usize,
    /// Tokens the KV cache may hold; 0 = the model's training context. Memory grows with the
    /// tokens actually held, not with this bound.
    pub n_ctx: usize,
    /// `LLMC_NUMERICS_FAST` (default) or `LLMC_NUMERICS_EXACT`.
    pub numerics: llmc_numerics,
    /// `LLMC_KV_DEFAULT` (f16 on the fast path, f32 on the exact one), `LLMC_KV_F32` or
    /// `LLMC_KV_F16`. Appended in 0.2; a struct from an older header (without it) gets the
    /// default.
    pub kv_type: llmc_kv_type,
}

/// `sizeof(llmc_session_params)` before `kv_type` was appended.
const SESSION_PARAMS_V1_SIZE: usize = std::mem::offset_of!(llmc_session_params, kv_type);

/// Defaults: the model's training context, the fast numeric path, its default KV type (f16).
#[no_mangle]
pub extern "C" fn llmc_session_default_params() -> llmc_session_params {
    llmc_session_params {
        struct_size: size_of::<llmc_session_params>(),
        n_ctx: 0,
        numerics: LLMC_NUMERICS_FAST,
        kv_type: LLMC_KV_DEFAULT,
    }
}

/// Creates a session over `model` (`params` may be NULL for the defaults). The session holds
/// its own reference to the model. On success `*out` receives a handle to release with
/// `llmc_session_free`.
#[no_mangle]
pub unsafe extern "C" fn llmc_session_new(
    model: *const llmc_model,
    params: *const llmc_session_params,
    out: *mut *mut llmc_session,
) -> llmc_status {
    guard("llmc_session_new", || {
        // SAFETY: caller passes a live handle and, if non-NULL, a params struct.
        let m = unsafe { arg_ref(model, "model")? };
        let p = unsafe {
            read_params_or_older(
                params,
                llmc_session_default_params(),
                &[SESSION_PARAMS_V1_SIZE],
                "params",
            )?
        };
        let out = out_ptr(out, "out")?;
        let numerics = numerics(p.numerics)?;
        let kv = kv_type(p.kv_type, numerics)?;
        let session = Session::with_kv_type(m.model.clone(), p.n_ctx, numerics, kv)?;
        // SAFETY: checked non-NULL; written on success only.
        unsafe { out.write(Box::into_raw(Box::new(llmc_session { session }))) };
        Ok(())
    })
}

/// Releases a session (and its reference to the model). NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn llmc_session_free(session: *mut llmc_session) {
    if !session.is_null() {
        // SAFETY: `session` came from `llmc_session_new` and is freed once (caller's promise).
        let _ = std::panic::catch_unwind(|| drop(unsafe { Box::from_raw(session) }));
    }
}

/// Writes the number of tokens the session's cache holds into `*len`.
#[no_mangle]
pub unsafe extern "C" fn llmc_session_len(
    session: *const llmc_session,
    len: *mut usize,
) -> llmc_status {
    guard("llmc_session_len", || {
        // SAFETY: caller passes a live handle.
        let s = unsafe { arg_ref(session, "session")? };
        let len = out_ptr(len, "len")?;
        // SAFETY: checked non-NULL.
        unsafe { len.write(s.session.len()) };
        Ok(())
    })
}

/// Writes the most tokens the session's cache may hold into `*capacity`.
#[no_mangle]
pub unsafe extern "C" fn llmc_session_capacity(
    session: *const llmc_session,
    capacity: *mut usize,
) -> llmc_status {
    guard("llmc_session_capacity", || {
        // SAFETY: caller passes a live handle.
        let s = unsafe { arg_ref(session, "session")? };
        let capacity = out_ptr(capacity, "capacity")?;
        // SAFETY: checked non-NULL.
        unsafe { capacity.write(s.session.capacity()) };
        Ok(())
    })
}

/// Which of a batch's new tokens get logits.
#[allow(non_camel_case_types)]
pub type llmc_logits = u32;
/// Only the last token (decoding): one row.
pub const LLMC_LOGITS_LAST: llmc_logits = 0;
/// Every new token: `n_tokens` rows.
pub const LLMC_LOGITS_ALL: llmc_logits = 1;
/// The new-token indices in `rows[0..n_rows]`, in that order: `n_rows` rows.
pub const LLMC_LOGITS_ROWS: llmc_logits = 2;

/// New tokens for one forward pass, with explicit positions and attention mask: prefill,
/// decoding and draft-tree verification are the same call. Start from
/// `llmc_batch_default_params()`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
#[allow(non_camel_case_types)]
pub struct llmc_batch {
    /// `sizeof(llmc_batch)`.
    pub struct_size: usize,
    /// `n_tokens` token ids.
    pub tokens: *const llmc_token,
    /// `n_tokens` rotary positions; NULL = consecutive from the cache length.
    pub positions: *const u32,
    pub n_tokens: usize,
    /// NULL = causal (token i sees the cache and new tokens 0..=i). Otherwise a row-major
    /// `n_tokens x (cache_len + n_tokens)` byte matrix: `mask[i * (cache_len + n_tokens) + j]`
    /// is nonzero when new token i may attend to slot j (slots `0..cache_len` are the cache,
    /// `cache_len + k` is new token k). Each row must allow at least one slot.
    pub mask: *const u8,
    /// `LLMC_LOGITS_LAST` (default), `LLMC_LOGITS_ALL` or `LLMC_LOGITS_ROWS`.
    pub logits: llmc_logits,
    /// With `LLMC_LOGITS_ROWS`: `n_rows` indices into the new tokens.
    pub rows: *const usize,
    pub n_rows: usize,
}

/// An empty causal batch asking for the last row's logits.
#[no_mangle]
pub extern "C" fn llmc_batch_default_params() -> llmc_batch {
    llmc_batch {
        struct_size: size_of::<llmc_batch>(),
        tokens: std::ptr::null(),
        positions: std::ptr::null(),
        n_tokens: 0,
        mask: std::ptr::null(),
        logits: LLMC_LOGITS_LAST,
        rows: std::ptr::null(),
        n_rows: 0,
    }
}

/// The visible-slot lists of a dense mask: row `i` lists the slots `j` with a nonzero byte.
fn visible_slots(mask: &[u8], n: usize, width: usize) -> Vec<Vec<u32>> {
    (0..n)
        .map(|i| {
            let row = &mask[i * width..(i + 1) * width];
            (0..width as u32)
                .filter(|&j| row[j as usize] != 0)
                .collect()
        })
        .collect()
}

/// Evaluates `batch` (appending its tokens to the cache) and writes the logits of the chosen
/// rows, `vocab_size` floats each, into `logits` (`capacity` floats). `logits` may be NULL
/// with capacity 0 to discard them (prefill). On any error, the cache and `logits` are
/// unchanged: `LLMC_ERR_TOKEN_OUT_OF_RANGE`, `LLMC_ERR_CONTEXT_OVERFLOW` (the cache would pass
/// its capacity), `LLMC_ERR_BUFFER_TOO_SMALL`, `LLMC_ERR_INVALID_ARGUMENT` (empty batch, bad
/// mask, row or position list).
#[no_mangle]
pub unsafe extern "C" fn llmc_session_eval_batch(
    session: *mut llmc_session,
    batch: *const llmc_batch,
    logits: *mut f32,
    capacity: usize,
) -> llmc_status {
    guard("llmc_session_eval_batch", || {
        // SAFETY: caller passes a live session used by this thread only, a batch struct whose
        // pointers hold the stated counts, and `capacity` writable floats.
        let s = unsafe { arg_mut(session, "session")? };
        let b = unsafe { arg_ref(batch, "batch")? };
        let b = unsafe { read_params(b, llmc_batch_default_params(), "batch")? };
        let tokens = unsafe { arg_slice(b.tokens, b.n_tokens, "batch->tokens")? };
        let n = tokens.len();
        let start = s.session.len();
        let consecutive: Vec<u32>;
        let positions = if b.positions.is_null() {
            consecutive = (start..start + n).map(|p| p as u32).collect();
            &consecutive[..]
        } else {
            unsafe { arg_slice(b.positions, n, "batch->positions")? }
        };
        let width = start + n;
        let visible;
        let mask = if b.mask.is_null() {
            Mask::Causal
        } else {
            let cells = n
                .checked_mul(width)
                .ok_or_else(|| invalid("mask size overflows"))?;
            let dense = unsafe { arg_slice(b.mask, cells, "batch->mask")? };
            visible = visible_slots(dense, n, width);
            Mask::Visible(&visible)
        };
        let (rows, n_rows) = match b.logits {
            LLMC_LOGITS_LAST => (LogitRows::Last, n.min(1)),
            LLMC_LOGITS_ALL => (LogitRows::All, n),
            LLMC_LOGITS_ROWS => {
                let r = unsafe { arg_slice(b.rows, b.n_rows, "batch->rows")? };
                (LogitRows::Some(r), r.len())
            }
            other => return Err(invalid(format!("batch->logits {other} (LLMC_LOGITS_*)"))),
        };
        let batch = Batch {
            tokens,
            positions,
            mask,
        };
        unsafe { eval_into(s, n_rows, logits, capacity, |s| s.eval_batch(&batch, rows)) }
    })
}

/// Evaluates `n` tokens at the next positions, causally, and writes the last token's logits
/// (`vocab_size` floats) into `logits` (`capacity` floats; NULL with capacity 0 discards
/// them). The common case of `llmc_session_eval_batch`, with the same errors.
#[no_mangle]
pub unsafe extern "C" fn llmc_session_eval(
    session: *mut llmc_session,
    tokens: *const llmc_token,
    n: usize,
    logits: *mut f32,
    capacity: usize,
) -> llmc_status {
    guard("llmc_session_eval", || {
        // SAFETY: caller passes a live session used by this thread only, `n` readable ids and
        // `capacity` writable floats.
        let s = unsafe { arg_mut(session, "session")? };
        let tokens = unsafe { arg_slice(tokens, n, "tokens")? };
        unsafe {
            eval_into(s, n.min(1), logits, capacity, |s| {
                s.eval(tokens, LogitRows::Last)
            })
        }
    })
}

/// Checks the logits buffer for `n_rows` rows, runs `eval`, and copies the logits out.
///
/// # Safety
/// A non-NULL `logits` must hold `capacity` floats.
unsafe fn eval_into(
    s: &mut llmc_session,
    n_rows: usize,
    logits: *mut f32,
    capacity: usize,
    eval: impl FnOnce(&mut Session) -> runtime::Result<Vec<f32>>,
) -> FfiResult {
    let needed = n_rows.saturating_mul(s.session.model().config.vocab_size);
    if logits.is_null() && capacity > 0 {
        return Err(null("logits"));
    }
    if !logits.is_null() && capacity < needed {
        return Err(Failure {
            status: llmc_status::LLMC_ERR_BUFFER_TOO_SMALL,
            message: format!("'logits' holds {capacity} floats, {needed} needed"),
        });
    }
    let out = eval(&mut s.session)?;
    if !logits.is_null() {
        // SAFETY: capacity >= needed == out.len() (rows were validated by the core).
        unsafe { std::ptr::copy_nonoverlapping(out.as_ptr(), logits, out.len().min(capacity)) };
    }
    Ok(())
}

/// Forgets every token from `len` on (e.g. rejected draft tokens). `len` must not exceed the
/// tokens held.
#[no_mangle]
pub unsafe extern "C" fn llmc_session_truncate(
    session: *mut llmc_session,
    len: usize,
) -> llmc_status {
    guard("llmc_session_truncate", || {
        // SAFETY: caller passes a live session used by this thread only.
        let s = unsafe { arg_mut(session, "session")? };
        Ok(s.session.truncate(len)?)
    })
}

/// Keeps the first `base` cache slots and then the slots `keep[0..n_keep]` (each `>= base`,
/// strictly increasing), moved down to follow them; drops the rest. This keeps the accepted
/// path of a verified draft tree.
#[no_mangle]
pub unsafe extern "C" fn llmc_session_compact(
    session: *mut llmc_session,
    base: usize,
    keep: *const usize,
    n_keep: usize,
) -> llmc_status {
    guard("llmc_session_compact", || {
        // SAFETY: caller passes a live session used by this thread only and `n_keep` indices.
        let s = unsafe { arg_mut(session, "session")? };
        let keep = unsafe { arg_slice(keep, n_keep, "keep")? };
        Ok(s.session.compact(base, keep)?)
    })
}

/// Empties the session's cache.
#[no_mangle]
pub unsafe extern "C" fn llmc_session_clear(session: *mut llmc_session) -> llmc_status {
    guard("llmc_session_clear", || {
        // SAFETY: caller passes a live session used by this thread only.
        let s = unsafe { arg_mut(session, "session")? };
        s.session.clear();
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_mask_becomes_ascending_slot_lists() {
        // A cache of 2 slots; new token a sees the cache and itself, b sees slot 0 and itself.
        let mask = [1, 1, 1, 0, 1, 0, 0, 1];
        assert_eq!(visible_slots(&mask, 2, 4), vec![vec![0, 1, 2], vec![0, 3]]);
    }

    #[test]
    fn kv_type_values_are_checked() {
        assert_eq!(
            kv_type(LLMC_KV_DEFAULT, Numerics::Fast).unwrap(),
            KvType::F16
        );
        assert_eq!(
            kv_type(LLMC_KV_DEFAULT, Numerics::Exact).unwrap(),
            KvType::F32
        );
        assert_eq!(kv_type(LLMC_KV_F32, Numerics::Fast).unwrap(), KvType::F32);
        assert_eq!(kv_type(LLMC_KV_F16, Numerics::Exact).unwrap(), KvType::F16);
        let e = kv_type(3, Numerics::Fast).unwrap_err();
        assert_eq!(e.status, llmc_status::LLMC_ERR_INVALID_ARGUMENT);
        assert!(e.message.contains("kv_type 3"), "{}", e.message);
    }

    #[test]
    fn a_struct_from_the_older_header_gets_the_default_kv_type() {
        // The 0.1 layout: struct_size, n_ctx, numerics (and padding to 24 bytes).
        #[repr(C)]
        #[derive(Clone, Copy)]
        struct V1 {
            struct_size: usize,
            n_ctx: usize,
            numerics: llmc_numerics,
        }
        assert_eq!(SESSION_PARAMS_V1_SIZE, size_of::<V1>());
        assert!(SESSION_PARAMS_V1_SIZE < size_of::<llmc_session_params>());
        let old = V1 {
            struct_size: size_of::<V1>(),
            n_ctx: 77,
            numerics: LLMC_NUMERICS_EXACT,
        };
        let p = unsafe {
            read_params_or_older(
                (&old as *const V1).cast::<llmc_session_params>(),
                llmc_session_default_params(),
                &[SESSION_PARAMS_V1_SIZE],
                "params",
            )
        }
        .unwrap();
        assert_eq!(p.struct_size, size_of::<llmc_session_params>());
        assert_eq!(
            (p.n_ctx, p.numerics, p.kv_type),
            (77, LLMC_NUMERICS_EXACT, LLMC_KV_DEFAULT)
        );
        // Any other size is still refused.
        let mut bad = llmc_session_default_params();
        bad.struct_size = 16;
        let e =
            unsafe { read_params_or_older(&bad, llmc_session_default_params(), &[24], "params") };
        assert!(e.is_err());
    }

    #[test]
    fn numerics_values_are_checked() {
        assert_eq!(numerics(LLMC_NUMERICS_EXACT).unwrap(), Numerics::Exact);
        assert_eq!(
            numerics(7).unwrap_err().status,
            llmc_status::LLMC_ERR_INVALID_ARGUMENT
        );
    }
}
