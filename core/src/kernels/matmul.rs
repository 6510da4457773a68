//! Matrix products of activation rows with a GGUF weight matrix: `y[t][r] = Σ_k x[t][k] W[r][k]`,
//! i.e. `Y = X Wᵀ` with `X` of `n` rows by `W.cols` and `Y` of `n` rows by `W.rows`, all row-major.
//!
//! Two numeric paths, as the design card fixes them:
//! - fast ([`matmul_fast`], [`matmul_quantized`]): each activation row is quantized once to the
//!   weight's `vec_dot_type` (Q8_0 / Q8_1 / Q8_K blocks, or f32 for float weights) and every output
//!   is one call of the weight type's block dot product, as llama.cpp's `ggml_mul_mat` does;
//! - exact ([`matmul_exact`]): f32 activations times weights dequantized to f32, a tile of weight
//!   rows at a time, multiplied by `matrixmultiply::sgemm` under `std` and by [`super::dot`] without it.
//!
//! Both are row-independent: the value of `y[t][r]` is computed by the same arithmetic whatever
//! `n` is and wherever row `t` sits in the batch. For the fast path that holds by construction
//! (one `vec_dot` call per output). For the exact path it rests on how `sgemm` (0.3.x, without its
//! `threading` feature) accumulates: every element of C is a sequential multiply-add over `k` inside
//! each 256-long `kc` block, the blocks added to C in order, with the same micro-kernel whether the
//! element lies in a full or an edge tile; no step depends on `m` (the number of tokens). The tests
//! check it (1 row against 37, 64 and 130-row batches, bit for bit).
//!
//! Work is split into chunks of consecutive weight rows (32 rows when decoding one token, 16 when
//! there are several, so one chunk of weights stays in cache while every token uses it); under
//! `std` the chunks run on the current rayon pool.

#[cfg(not(feature = "std"))]
use super::dot;
use super::quant;
use crate::tensor::{GgmlType, WeightView};
use crate::{Error, Result};
use alloc::{format, string::String, vec, vec::Vec};

/// Weight rows per task when there is one token (decode: a GEMV split across threads).
const DECODE_ROWS_PER_TASK: usize = 32;
/// Weight rows per task when there are several tokens (prefill, tree verification).
const BATCH_ROWS_PER_TASK: usize = 16;

/// Activation rows quantized to the block type that pairs with a weight type, so that several
/// products with the same input (Q, K and V; gate and up) share one quantization.
#[derive(Debug, Clone)]
pub struct QuantizedRows {
    act_ty: GgmlType,
    cols: usize,
    n: usize,
    row_bytes: usize,
    bytes: Vec<u8>,
}

impl QuantizedRows {
    /// The activation block type (`vec_dot_type` of the weight type it was made for).
    pub fn act_type(&self) -> GgmlType {
        self.act_ty
    }

    /// Elements per row.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Number of rows (tokens).
    pub fn n(&self) -> usize {
        self.n
    }

    /// The encoded bytes of row `t` (panics if `t >= n`, like slice indexing).
    pub fn row(&self, t: usize) -> &[u8] {
        &self.bytes[t * self.row_bytes..(t + 1) * self.row_bytes]
    }
}

fn shape_error(what: &str, expected: String, found: String) -> Error {
    Error::Shape {
        tensor: String::from(what),
        expected,
        found,
    }
}

/// Checks the fields of a `WeightView` (they are public, so it may not come from `new`).
fn check_weight(w: &WeightView) -> Result<()> {
    if w.cols == 0 || w.cols % w.ty.block_size() != 0 {
        return Err(Error::invalid(format!(
            "weight with {} columns: not a positive multiple of the {} block size {}",
            w.cols,
            w.ty.name(),
            w.ty.block_size()
        )));
    }
    let need = w.rows.checked_mul(w.row_bytes());
    if need != Some(w.data.len()) {
        return Err(Error::invalid(format!(
            "{}x{} {} weight: {} data bytes do not match its shape",
            w.rows,
            w.cols,
            w.ty.name(),
            w.data.len()
        )));
    }
    Ok(())
}

/// Checks that `len` floats hold `n` rows of `width`.
fn check_rows(what: &str, len: usize, n: usize, width: usize) -> Result<()> {
    if n.checked_mul(width) != Some(len) {
        return Err(shape_error(
            what,
            format!("{n} rows of {width} floats"),
            format!("{len} floats"),
        ));
    }
    Ok(())
}

/// Quantizes `n` rows of `cols` activations (row-major in `x`) to `vec_dot_type(weight_ty)`.
pub fn quantize_rows(
    weight_ty: GgmlType,
    x: &[f32],
    n: usize,
    cols: usize,
) -> Result<QuantizedRows> {
    let act_ty = quant::vec_dot_type(weight_ty);
    check_rows("matmul input", x.len(), n, cols)?;
    let row_bytes = act_ty
        .bytes_for(cols as u64)
        .filter(|_| cols > 0)
        .and_then(|b| usize::try_from(b).ok())
        .ok_or_else(|| {
            Error::invalid(format!(
                "{cols} columns is not a positive multiple of the {} block size {}",
                act_ty.name(),
                act_ty.block_size()
            ))
        })?;
    let total = row_bytes
        .checked_mul(n)
        .ok_or_else(|| Error::invalid("activations overflow"))?;
    let mut bytes = vec![0u8; total];
    for (src, dst) in x.chunks_exact(cols).zip(bytes.chunks_exact_mut(row_bytes)) {
        quant::quantize_row(act_ty, src, dst)?;
    }
    Ok(QuantizedRows {
        act_ty,
        cols,
        n,
        row_bytes,
        bytes,
    })
}

/// Fast path: `y[t][r] = vec_dot(W[r], q(x[t]))`, with each activation row quantized to
/// `vec_dot_type(w.ty)`. `x` holds `n` rows of `w.cols`, `y` receives `n` rows of `w.rows`.
pub fn matmul_fast(w: &WeightView, x: &[f32], n: usize, y: &mut [f32]) -> Result<()> {
    check_weight(w)?;
    let xq = quantize_rows(w.ty, x, n, w.cols)?;
    matmul_quantized(w, &xq, y)
}

/// Fast path with activations already quantized by [`quantize_rows`] for this weight type:
/// `y[t][r] = vec_dot(W[r], xq[t])`, `y` receives `xq.n()` rows of `w.rows`.
pub fn matmul_quantized(w: &WeightView, xq: &QuantizedRows, y: &mut [f32]) -> Result<()> {
    check_weight(w)?;
    let act_ty = quant::vec_dot_type(w.ty);
    if xq.act_ty != act_ty {
        return Err(Error::invalid(format!(
            "activations quantized as {}, but {} weights take {}",
            xq.act_ty.name(),
            w.ty.name(),
            act_ty.name()
        )));
    }
    if xq.cols != w.cols {
        return Err(shape_error(
            "matmul input",
            format!("rows of {} elements", w.cols),
            format!("rows of {} elements", xq.cols),
        ));
    }
    let n = xq.n;
    check_rows("matmul output", y.len(), n, w.rows)?;
    let vec_dot = quant::vec_dot_fn(w.ty)?;
    let cols = w.cols;
    for_each_row_chunk(w.rows, n, y, |_, r0, out| {
        for (i, out_r) in out.chunks_exact_mut(n).enumerate() {
            let wr = w.row(r0 + i);
            for (t, o) in out_r.iter_mut().enumerate() {
                *o = vec_dot(wr, xq.row(t), cols);
            }
        }
        Ok(())
    })
}

/// Exact path: `y[t][r] = Σ_k x[t][k] W[r][k]` in f32 with `W` dequantized to f32 one tile of
/// rows at a time (an f32 copy of the whole matrix is never made; aligned little-endian F32
/// weights are used in place). `x` holds `n` rows of `w.cols`, `y` receives `n` rows of `w.rows`.
pub fn matmul_exact(w: &WeightView, x: &[f32], n: usize, y: &mut [f32]) -> Result<()> {
    check_weight(w)?;
    check_rows("matmul input", x.len(), n, w.cols)?;
    check_rows("matmul output", y.len(), n, w.rows)?;
    let cols = w.cols;
    let in_place: Option<&[f32]> = if w.ty == GgmlType::F32 && cfg!(target_endian = "little") {
        bytemuck::try_cast_slice(w.data).ok()
    } else {
        None
    };
    for_each_row_chunk(w.rows, n, y, |scratch, r0, out| {
        let nr = out.len() / n;
        let tile: &[f32] = match in_place {
            Some(all) => &all[r0 * cols..(r0 + nr) * cols],
            None => {
                scratch.resize(nr * cols, 0.0);
                for (i, dst) in scratch.chunks_exact_mut(cols).enumerate() {
                    quant::dequantize_row(w.ty, w.row(r0 + i), dst)?;
                }
                scratch
            }
        };
        gemm_tile(x, n, cols, tile, out);
        Ok(())
    })
}

/// `out[i * n + t] = Σ_k x[t][k] tile[i][k]` for the `out.len() / n` rows of `tile`.
#[cfg(feature = "std")]
fn gemm_tile(x: &[f32], n: usize, cols: usize, tile: &[f32], out: &mut [f32]) {
    let nr = out.len() / n;
    assert!(x.len() == n * cols && tile.len() == nr * cols && out.len() == nr * n);
    // SAFETY: A = x is n x cols (row stride cols), B = tileᵀ is cols x nr (element (k, i) at
    // i * cols + k), C is n x nr with element (t, i) at i * n + t; the lengths were just checked,
    // so every access lies inside the three slices, and C does not alias A or B.
    unsafe {
        matrixmultiply::sgemm(
            n,
            cols,
            nr,
            1.0,
            x.as_ptr(),
            cols as isize,
            1,
            tile.as_ptr(),
            1,
            cols as isize,
            0.0,
            out.as_mut_ptr(),
            1,
            n as isize,
        );
    }
}

/// `out[i * n + t] = Σ_k x[t][k] tile[i][k]` for the `out.len() / n` rows of `tile`.
#[cfg(not(feature = "std"))]
fn gemm_tile(x: &[f32], n: usize, cols: usize, tile: &[f32], out: &mut [f32]) {
    for (out_r, wr) in out.chunks_exact_mut(n).zip(tile.chunks_exact(cols)) {
        for (o, xr) in out_r.iter_mut().zip(x.chunks_exact(cols)) {
            *o = dot(xr, wr);
        }
    }
}

/// Computes all of `y` (`n` rows of `rows`) by calling `chunk(scratch, r0, out)` on chunks of
/// consecutive weight rows starting at `r0`. `out` holds the chunk's outputs transposed,
/// `out[i * n + t] = y[t][r0 + i]`, so that every chunk owns one contiguous slice; `scratch` is a
/// buffer reused across the chunks one worker runs.
fn for_each_row_chunk<F>(rows: usize, n: usize, y: &mut [f32], chunk: F) -> Result<()>
where
    F: Fn(&mut Vec<f32>, usize, &mut [f32]) -> Result<()> + Sync + Send,
{
    debug_assert_eq!(y.len(), rows * n);
    if rows == 0 || n == 0 {
        return Ok(());
    }
    let rows_per_task = if n == 1 {
        DECODE_ROWS_PER_TASK
    } else {
        BATCH_ROWS_PER_TASK
    };
    if n == 1 {
        // One token: the transposed layout is y itself.
        return run_chunks(y, rows_per_task, n, &chunk);
    }
    let mut yt = vec![0f32; rows * n];
    run_chunks(&mut yt, rows_per_task, n, &chunk)?;
    for (r, col) in yt.chunks_exact(n).enumerate() {
        for (t, v) in col.iter().enumerate() {
            y[t * rows + r] = *v;
        }
    }
    Ok(())
}

/// Runs `chunk` over `out` (transposed outputs, `n` per weight row) cut into pieces of
/// `rows_per_task` weight rows (the last may be shorter): on the current rayon pool under `std`,
/// in order otherwise.
fn run_chunks<F>(out: &mut [f32], rows_per_task: usize, n: usize, chunk: &F) -> Result<()>
where
    F: Fn(&mut Vec<f32>, usize, &mut [f32]) -> Result<()> + Sync + Send,
{
    let len = rows_per_task * n;
    #[cfg(feature = "std")]
    {
        use rayon::prelude::*;
        out.par_chunks_mut(len)
            .enumerate()
            .try_for_each_init(Vec::new, |scratch, (i, o)| {
                chunk(scratch, i * rows_per_task, o)
            })
    }
    #[cfg(not(feature = "std"))]
    {
        let mut scratch = Vec::new();
        out.chunks_mut(len)
            .enumerate()
            .try_for_each(|(i, o)| chunk(&mut scratch, i * rows_per_task, o))
    }
}
