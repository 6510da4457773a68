//! Matrix products of activation rows with a GGUF weight matrix:
//! `y[t][r] = Σ_k x[t][k] W[r][k]`, i.e. `Y = X Wᵀ` with `X` of `n` rows by `W.cols` and `Y` of
//! `n` rows by `W.rows`, all row-major.
//!
//! Two numeric paths, as the design card fixes them:
//! - fast ([`matmul_fast`], [`matmul_quantized`]): each activation row is quantized once to the
//!   weight's `vec_dot_type` (Q8_0 / Q8_1 / Q8_K blocks, or f32 for float weights) and every output
//!   is the weight type's block dot product, as llama.cpp's `ggml_mul_mat` does; four tokens at a
//!   time go through the four-token kernel ([`quant::vec_dot_x4_fn`]) where there is one, which
//!   unpacks each weight block once for all four and gives each the single kernel's bits;
//! - exact ([`matmul_exact`]): f32 activations times weights dequantized to f32, a tile of weight
//!   rows at a time, multiplied by `matrixmultiply::sgemm` under `std` and by [`super::dot`]
//!   without it.
//!
//! Both are row-independent: the value of `y[t][r]` is computed by the same arithmetic whatever
//! `n` is and wherever row `t` sits in the batch. For the fast path that holds by construction
//! (one `vec_dot` call per output, or a four-token call whose outputs are bit-identical to it,
//! so grouping tokens by four changes no bit); for the exact path without `std` too (one `dot`
//! per output). Under `std` it rests on how `sgemm` (0.3.x, without its `threading` feature) accumulates: every element of C is a
//! sequential multiply-add over `k` inside each 256-long `kc` block (one micro-kernel, chosen
//! from the CPU's features), and the block sums are added to C in order with one rounding each,
//! in full tiles and in edge tiles alike; no step depends on `m` (the number of tokens) or on where
//! a weight tile starts. The tests check it bit for bit (1 row against batches of 37, 64 and 130,
//! and a proptest over random batch sizes and positions).
//!
//! Work is split into chunks of consecutive weight rows (32 rows when decoding one token, 16 when
//! there are several, so one chunk of weights stays in cache while every token uses it, the fast
//! path sweeping the tokens 64 at a time); under `std` the chunks run on the current rayon pool.

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
/// Tokens whose quantized activations one fast-path task sweeps before the next tile (64 rows of
/// 1536 Q8_0 activations are about 100 KiB, an L2's worth).
const TOKENS_PER_TILE: usize = 64;

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

/// Checks the fields of a `WeightView` (they are public, so it may not come from `new`) with
/// `WeightView::new`'s rules, and that it has at least one column.
fn check_weight(w: &WeightView) -> Result<()> {
    WeightView::new(w.ty, w.rows, w.cols, w.data)?;
    if w.cols == 0 {
        return Err(Error::invalid("weight with 0 columns"));
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
    let vec_dot_x4 = quant::vec_dot_x4_fn(w.ty);
    let cols = w.cols;
    for_each_row_chunk(w.rows, n, y, |_, r0, out| {
        // Tokens in tiles, so that one tile of quantized rows stays in cache across the chunk.
        for t0 in (0..n).step_by(TOKENS_PER_TILE) {
            let t1 = n.min(t0 + TOKENS_PER_TILE);
            for (i, out_r) in out.chunks_exact_mut(n).enumerate() {
                let wr = w.row(r0 + i);
                let mut t = t0;
                // Four tokens per weight-row pass where a four-token kernel exists; its results
                // are bit-identical to `vec_dot`'s, so which tokens share a pass does not matter.
                if let Some(x4) = vec_dot_x4 {
                    while t + 4 <= t1 {
                        let acts = [xq.row(t), xq.row(t + 1), xq.row(t + 2), xq.row(t + 3)];
                        out_r[t..t + 4].copy_from_slice(&x4(wr, acts, cols));
                        t += 4;
                    }
                }
                for (o, u) in out_r[t..t1].iter_mut().zip(t..t1) {
                    *o = vec_dot(wr, xq.row(u), cols);
                }
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
pub(crate) fn for_each_row_chunk<F>(rows: usize, n: usize, y: &mut [f32], chunk: F) -> Result<()>
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
    transpose_into(&yt, rows, n, y);
    Ok(())
}

/// Tokens per task of [`transpose_into`]: each task reads runs of this many consecutive values
/// of a weight row's outputs and writes as many rows of `y`.
const TRANSPOSE_TOKENS: usize = 16;

/// `y[t * rows + r] = yt[r * n + t]`, in blocks of [`TRANSPOSE_TOKENS`] tokens (on the rayon pool
/// under `std`), so that reads and writes both go along cache lines: a plain scatter over all
/// of `y` misses the cache (and the TLB) on every write once `y` is larger than the cache.
fn transpose_into(yt: &[f32], rows: usize, n: usize, y: &mut [f32]) {
    let block = |(b, yb): (usize, &mut [f32])| {
        let t0 = b * TRANSPOSE_TOKENS;
        let nt = yb.len() / rows;
        for (r, col) in yt.chunks_exact(n).enumerate() {
            for (i, v) in col[t0..t0 + nt].iter().enumerate() {
                yb[i * rows + r] = *v;
            }
        }
    };
    #[cfg(feature = "std")]
    {
        use rayon::prelude::*;
        y.par_chunks_mut(TRANSPOSE_TOKENS * rows)
            .enumerate()
            .for_each(block);
    }
    #[cfg(not(feature = "std"))]
    y.chunks_mut(TRANSPOSE_TOKENS * rows)
        .enumerate()
        .for_each(block);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::TestRng;
    use half::f16;

    use crate::tensor::quant::WEIGHT_TYPES;

    /// Byte offsets of the f16 scale fields (`d`, and `m` / `dmin`) inside one block, per ggml's
    /// block layouts; every other byte of a block may take any value.
    fn f16_fields(ty: GgmlType) -> &'static [usize] {
        match ty {
            GgmlType::Q4_0 | GgmlType::Q5_0 | GgmlType::Q8_0 => &[0],
            GgmlType::Q4_1 | GgmlType::Q5_1 | GgmlType::Q4K | GgmlType::Q5K => &[0, 2],
            GgmlType::Q2K => &[80, 82],
            GgmlType::Q3K => &[108],
            GgmlType::Q6K => &[208],
            _ => &[],
        }
    }

    /// A random `rows x cols` weight of type `ty`: floats uniform in [-1, 1); block types with
    /// random quants and small random scales.
    fn random_weight(ty: GgmlType, rows: usize, cols: usize, rng: &mut TestRng) -> Vec<u8> {
        let n = rows * cols;
        match ty {
            GgmlType::F32 => rng.vec(n).iter().flat_map(|v| v.to_le_bytes()).collect(),
            GgmlType::F16 => rng
                .vec(n)
                .iter()
                .flat_map(|v| f16::from_f32(*v).to_bits().to_le_bytes())
                .collect(),
            GgmlType::BF16 => rng
                .vec(n)
                .iter()
                .flat_map(|v| ((v.to_bits() >> 16) as u16).to_le_bytes())
                .collect(),
            _ => {
                let blocks = n / ty.block_size();
                let mut bytes: Vec<u8> = (0..blocks * ty.type_size())
                    .map(|_| rng.next_u64() as u8)
                    .collect();
                for block in bytes.chunks_exact_mut(ty.type_size()) {
                    for &off in f16_fields(ty) {
                        let scale = 0.002 + 0.01 * rng.uniform().abs();
                        block[off..off + 2]
                            .copy_from_slice(&f16::from_f32(scale).to_bits().to_le_bytes());
                    }
                }
                bytes
            }
        }
    }

    fn dequantized(w: &WeightView) -> Vec<f32> {
        let mut out = vec![0f32; w.rows * w.cols];
        for (r, dst) in out.chunks_exact_mut(w.cols).enumerate() {
            quant::dequantize_row(w.ty, w.row(r), dst).unwrap();
        }
        out
    }

    fn same_bits(a: &[f32], b: &[f32]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
    }

    type Matmul = fn(&WeightView, &[f32], usize, &mut [f32]) -> Result<()>;

    fn run(f: Matmul, w: &WeightView, x: &[f32], n: usize) -> Vec<f32> {
        let mut y = vec![f32::NAN; n * w.rows];
        f(w, x, n, &mut y).unwrap();
        y
    }

    // 67 rows: not a multiple of either chunk size; 512 columns: two sgemm k-blocks.
    const ROWS: usize = 67;
    const COLS: usize = 512;

    #[test]
    fn exact_matches_f64_reference() {
        let mut rng = TestRng::new(31);
        for ty in WEIGHT_TYPES {
            let data = random_weight(ty, ROWS, COLS, &mut rng);
            let w = WeightView::new(ty, ROWS, COLS, &data).unwrap();
            let wf = dequantized(&w);
            for n in [1, 5] {
                let x = rng.vec(n * COLS);
                let y = run(matmul_exact, &w, &x, n);
                for t in 0..n {
                    for r in 0..ROWS {
                        let (xr, wr) = (&x[t * COLS..][..COLS], &wf[r * COLS..][..COLS]);
                        let want: f64 = xr.iter().zip(wr).map(|(a, b)| *a as f64 * *b as f64).sum();
                        let mag: f64 = xr
                            .iter()
                            .zip(wr)
                            .map(|(a, b)| (*a as f64 * *b as f64).abs())
                            .sum();
                        let got = y[t * ROWS + r] as f64;
                        // Measured (2026-12-02): |got - want| / mag <= 1.44e-7 (Q4_K), 5.9e-8
                        // (F16) .. 1.3e-7 (Q4_1); 5e-7 is 3.5x the largest.
                        assert!(
                            (got - want).abs() <= 5e-7 * mag,
                            "{} n{n} t{t} r{r}: {got} vs {want}",
                            ty.name()
                        );
                    }
                }
            }
        }
    }

    /// Bound on |fast - exact| for one output: the activation rounding of each block is at most
    /// half a step, `amax / 254` (8-bit blocks with `d = amax / 127`), times the block's Σ|w|;
    /// doubled for the f16-rounded block sums of Q8_1, plus f32 rounding: 3e-7 of Σ|x w|, 4.5x
    /// the 6.7e-8 measured (2026-12-02) for the f32-activation types. The quantization term is
    /// the worst case; measured errors reach 6.6% of the whole bound (Q6_K), 4.2-4.7% for the
    /// other quantized types (random rounding errors cancel, the bound assumes they add up).
    fn fast_error_bound(act_ty: GgmlType, xr: &[f32], wr: &[f32]) -> f64 {
        let rounding: f64 = 3e-7
            * xr.iter()
                .zip(wr)
                .map(|(a, b)| (*a as f64 * *b as f64).abs())
                .sum::<f64>();
        if act_ty == GgmlType::F32 {
            return rounding;
        }
        let bs = act_ty.block_size();
        let quant: f64 = xr
            .chunks_exact(bs)
            .zip(wr.chunks_exact(bs))
            .map(|(xb, wb)| {
                let amax = xb.iter().fold(0f32, |m, v| m.max(v.abs())) as f64;
                amax / 254.0 * wb.iter().map(|v| v.abs() as f64).sum::<f64>()
            })
            .sum();
        2.0 * quant + rounding
    }

    #[test]
    fn fast_matches_exact_within_activation_rounding() {
        let mut rng = TestRng::new(32);
        for ty in WEIGHT_TYPES {
            let data = random_weight(ty, ROWS, COLS, &mut rng);
            let w = WeightView::new(ty, ROWS, COLS, &data).unwrap();
            let wf = dequantized(&w);
            let act_ty = quant::vec_dot_type(ty);
            let n = 6;
            let x = rng.vec(n * COLS);
            let fast = run(matmul_fast, &w, &x, n);
            let exact = run(matmul_exact, &w, &x, n);
            for t in 0..n {
                for r in 0..ROWS {
                    let (xr, wr) = (&x[t * COLS..][..COLS], &wf[r * COLS..][..COLS]);
                    let err = (fast[t * ROWS + r] as f64 - exact[t * ROWS + r] as f64).abs();
                    let bound = fast_error_bound(act_ty, xr, wr);
                    assert!(err <= bound, "{} t{t} r{r}: |{err}| > {bound}", ty.name());
                }
            }
        }
    }

    #[test]
    fn every_row_gets_the_same_bits_alone_or_in_any_batch() {
        let mut rng = TestRng::new(33);
        for ty in WEIGHT_TYPES {
            let data = random_weight(ty, ROWS, COLS, &mut rng);
            let w = WeightView::new(ty, ROWS, COLS, &data).unwrap();
            let x = rng.vec(130 * COLS);
            for (name, f) in [
                ("exact", matmul_exact as Matmul),
                ("fast", matmul_fast as Matmul),
            ] {
                let y130 = run(f, &w, &x, 130);
                let y64 = run(f, &w, &x[..64 * COLS], 64);
                // 37 rows taken from the middle, so every token sits at another batch index.
                let y37 = run(f, &w, &x[50 * COLS..87 * COLS], 37);
                for t in 0..130 {
                    let alone = run(f, &w, &x[t * COLS..(t + 1) * COLS], 1);
                    let ctx = format!("{} {name} token {t}", ty.name());
                    assert!(
                        same_bits(&alone, &y130[t * ROWS..(t + 1) * ROWS]),
                        "{ctx} in 130"
                    );
                    if t < 64 {
                        assert!(
                            same_bits(&alone, &y64[t * ROWS..(t + 1) * ROWS]),
                            "{ctx} in 64"
                        );
                    }
                    if (50..87).contains(&t) {
                        let i = t - 50;
                        assert!(
                            same_bits(&alone, &y37[i * ROWS..(i + 1) * ROWS]),
                            "{ctx} in 37"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn quantized_rows_shared_across_weights_equal_matmul_fast() {
        let mut rng = TestRng::new(34);
        for ty in WEIGHT_TYPES {
            let (wq, wk) = (
                random_weight(ty, 40, COLS, &mut rng),
                random_weight(ty, 24, COLS, &mut rng),
            );
            let (wq, wk) = (
                WeightView::new(ty, 40, COLS, &wq).unwrap(),
                WeightView::new(ty, 24, COLS, &wk).unwrap(),
            );
            let x = rng.vec(3 * COLS);
            let xq = quantize_rows(ty, &x, 3, COLS).unwrap();
            assert_eq!(
                (xq.act_type(), xq.cols(), xq.n()),
                (quant::vec_dot_type(ty), COLS, 3)
            );
            for w in [&wq, &wk] {
                let mut y = vec![0f32; 3 * w.rows];
                matmul_quantized(w, &xq, &mut y).unwrap();
                assert!(same_bits(&y, &run(matmul_fast, w, &x, 3)), "{}", ty.name());
            }
        }
    }

    #[test]
    fn unaligned_f32_weights_give_the_same_bits_as_aligned_ones() {
        // The exact path uses aligned F32 weights in place and decodes unaligned ones into a
        // scratch tile; both must feed sgemm the same numbers.
        let mut rng = TestRng::new(35);
        let data = random_weight(GgmlType::F32, ROWS, COLS, &mut rng);
        let mut shifted = vec![0u8; data.len() + 1];
        let start = if (shifted.as_ptr() as usize).is_multiple_of(4) {
            1
        } else {
            0
        };
        shifted[start..start + data.len()].copy_from_slice(&data);
        let aligned: Vec<f32> = data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let aligned_bytes: &[u8] = bytemuck::cast_slice(&aligned);
        let a = WeightView::new(GgmlType::F32, ROWS, COLS, aligned_bytes).unwrap();
        let u = WeightView::new(
            GgmlType::F32,
            ROWS,
            COLS,
            &shifted[start..start + data.len()],
        )
        .unwrap();
        assert!(bytemuck::try_cast_slice::<u8, f32>(u.data).is_err());
        let x = rng.vec(9 * COLS);
        assert!(same_bits(
            &run(matmul_exact, &a, &x, 9),
            &run(matmul_exact, &u, &x, 9)
        ));
    }

    #[test]
    fn wrong_shapes_are_errors() {
        let mut rng = TestRng::new(36);
        let data = random_weight(GgmlType::F32, 8, 64, &mut rng);
        let w = WeightView::new(GgmlType::F32, 8, 64, &data).unwrap();
        let x = rng.vec(2 * 64);
        let mut y = vec![0f32; 2 * 8];
        for f in [matmul_exact as Matmul, matmul_fast as Matmul] {
            assert!(matches!(
                f(&w, &x[..100], 2, &mut y),
                Err(Error::Shape { .. })
            ));
            assert!(matches!(f(&w, &x, 3, &mut y), Err(Error::Shape { .. })));
            assert!(matches!(
                f(&w, &x, 2, &mut y[..15]),
                Err(Error::Shape { .. })
            ));
            let bad = WeightView {
                data: &data[..data.len() - 4],
                ..w
            };
            assert!(matches!(
                f(&bad, &x, 2, &mut y),
                Err(Error::InvalidArgument(_))
            ));
            let no_cols = WeightView {
                cols: 0,
                rows: 0,
                data: &[],
                ..w
            };
            assert!(matches!(
                f(&no_cols, &[], 0, &mut []),
                Err(Error::InvalidArgument(_))
            ));
            // An empty batch is fine and writes nothing.
            assert!(f(&w, &[], 0, &mut []).is_ok());
        }
        let xq = quantize_rows(GgmlType::F32, &x, 2, 64).unwrap();
        let narrow = WeightView::new(GgmlType::F32, 16, 32, &data).unwrap();
        assert!(matches!(
            matmul_quantized(&narrow, &xq, &mut [0f32; 32]),
            Err(Error::Shape { .. })
        ));
        assert!(matches!(
            matmul_quantized(&w, &xq, &mut y[..8]),
            Err(Error::Shape { .. })
        ));
        assert!(matches!(
            quantize_rows(GgmlType::F32, &x, 2, 63),
            Err(Error::Shape { .. })
        ));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(32))]
            /// Any token, at any index of any batch size and next to any other tokens, gets the
            /// bits it gets alone, on both paths.
            #[test]
            fn row_alone_equals_row_in_batch(
                seed in any::<u64>(),
                which in 0usize..WEIGHT_TYPES.len(),
                rows in 1usize..70,
                n in 1usize..80,
                pick in any::<prop::sample::Index>(),
            ) {
                let ty = WEIGHT_TYPES[which];
                let cols = 256;
                let mut rng = TestRng::new(seed);
                let data = random_weight(ty, rows, cols, &mut rng);
                let w = WeightView::new(ty, rows, cols, &data).unwrap();
                let x = rng.vec(n * cols);
                let t = pick.index(n);
                for f in [matmul_exact as Matmul, matmul_fast as Matmul] {
                    let batch = run(f, &w, &x, n);
                    let alone = run(f, &w, &x[t * cols..(t + 1) * cols], 1);
                    prop_assert!(same_bits(&alone, &batch[t * rows..(t + 1) * rows]));
                }
            }
        }
    }
}
