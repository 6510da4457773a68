//! The portable row kernel (every CPU; the reference the AVX2 kernel is tested against) and the
//! decoding of a row's kept values that [`super::SparseMatrix::to_f32`] shares with it.

use super::{QuantRow, Values, QK};
use half::f16;

/// The columns of the set bits of a row mask (bit `c % 8` of byte `c / 8`), ascending.
pub(super) struct KeptColumns<'a> {
    mask: &'a [u8],
    /// Index of the byte after the one in `bits`.
    next: usize,
    /// The not yet visited bits of byte `next - 1`.
    bits: u8,
}

impl Iterator for KeptColumns<'_> {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        while self.bits == 0 {
            self.bits = *self.mask.get(self.next)?;
            self.next += 1;
        }
        let j = self.bits.trailing_zeros() as usize;
        self.bits &= self.bits - 1;
        Some(8 * (self.next - 1) + j)
    }
}

/// The kept columns of `mask`, ascending.
pub(super) fn kept_columns(mask: &[u8]) -> KeptColumns<'_> {
    KeptColumns {
        mask,
        next: 0,
        bits: 0,
    }
}

/// The f16 stored little-endian at `b[off..off + 2]`, as f32.
#[inline(always)]
fn f16_at(b: &[u8], off: usize) -> f32 {
    f16::from_bits(u16::from_le_bytes([b[off], b[off + 1]])).to_f32()
}

/// Decodes one block of a row's values into its codes `q` and returns its scale `d` (a kept
/// value is `q * d`): Q8 `q = i8`, Q4 `q = nib - 8` (element `j < 16` in the low nibble of byte
/// `j`, `j >= 16` in the high nibble of byte `j - 16`), F16 the values themselves with `d = 1`.
/// A last F16 block shorter than 32 values fills only the front of `q`.
#[inline(always)]
fn decode_block(values: Values, blk: &[u8], q: &mut [f32; QK]) -> f32 {
    match values {
        Values::F16 => {
            for (q, b) in q.iter_mut().zip(blk.chunks_exact(2)) {
                *q = f16_at(b, 0);
            }
            1.0
        }
        Values::Q8 => {
            for (q, b) in q.iter_mut().zip(&blk[2..]) {
                *q = *b as i8 as f32;
            }
            f16_at(blk, 0)
        }
        Values::Q4 => {
            for (j, b) in blk[2..].iter().enumerate() {
                q[j] = ((b & 0x0F) as i32 - 8) as f32;
                q[j + QK / 2] = ((b >> 4) as i32 - 8) as f32;
            }
            f16_at(blk, 0)
        }
    }
}

/// Calls `f(d, q, cols)` for each block of a row's values in order, `d` and `q` as
/// [`decode_block`] gives them and `cols` the row's kept columns, positioned at the block's
/// first value: `f` pairs `q[j]` with the `j`-th column it takes from `cols` and must take
/// `min(32, remaining)` of them (zipping `q` with `cols` does exactly that).
#[inline(always)]
fn for_each_block(
    values: Values,
    mask: &[u8],
    vals: &[u8],
    mut f: impl FnMut(f32, &[f32; QK], &mut KeptColumns<'_>),
) {
    let mut cols = kept_columns(mask);
    let mut q = [0.0f32; QK];
    for blk in vals.chunks(values.block_bytes()) {
        let d = decode_block(values, blk, &mut q);
        f(d, &q, &mut cols);
    }
}

/// Calls `f(c, q, d)` for every kept value `q * d` of a row, column `c` ascending.
pub(super) fn for_each_kept(
    values: Values,
    mask: &[u8],
    vals: &[u8],
    mut f: impl FnMut(usize, f32, f32),
) {
    for_each_block(values, mask, vals, |d, q, cols| {
        for (q, c) in q.iter().zip(cols) {
            f(c, *q, d);
        }
    });
}

/// `Σ_b d_b s_b` with `s_b = Σ_j q_j x[c_j]` over block `b`'s kept values, each sum taken in
/// column order in f32 (no FMA): the portable row kernel.
pub(super) fn dot(values: Values, mask: &[u8], vals: &[u8], x: &[f32]) -> f32 {
    let mut acc = 0.0f32;
    for_each_block(values, mask, vals, |d, q, cols| {
        let s = q.iter().zip(cols).fold(0.0f32, |s, (q, c)| s + q * x[c]);
        acc += d * s;
    });
    acc
}

/// Code `j` (`< 32`) of a Q8 or Q4 block: Q8 the i8 at byte `2 + j`, Q4 `nib - 8` with the
/// nibble placement of [`decode_block`].
#[inline(always)]
fn code(values: Values, blk: &[u8], j: usize) -> i32 {
    match values {
        Values::Q4 => {
            let b = blk[2 + j % (QK / 2)];
            ((if j < QK / 2 { b } else { b >> 4 }) & 0x0F) as i32 - 8
        }
        _ => blk[2 + j] as i8 as i32,
    }
}

/// The portable row kernel of the 8-bit activation path: `Σ (d_w d_x) s` over the row's
/// segments in column order, where a segment is a maximal run of kept values that share their
/// weight block (scale `d_w`) and their Q8_0 activation block (scale `d_x`, block `a` for
/// columns `32 a .. 32 a + 32`), `s` is its exact i32 sum `Σ q_w q_x`, and
/// each term is the f32 product `d_w d_x` times `s` (converted to f32), added to one running f32
/// sum (no FMA). For 2:4 and 4:8 a weight block's 32 kept values span 64 columns, so every
/// block is two segments of 16 values. `values` is Q8 or Q4 (whole blocks); `x.blocks` holds
/// the activation row as Q8_0 blocks covering every kept column (`x.codes` and `x.scales` are
/// not read). `_cols` (the row's columns, which the AVX2 kernel needs) is implied here by the
/// mask.
pub(super) fn dot_q8(
    values: Values,
    mask: &[u8],
    vals: &[u8],
    x: &QuantRow<'_>,
    _cols: usize,
) -> f32 {
    let xq = x.blocks;
    const AB: usize = crate::tensor::quant::q8_0::BLOCK_BYTES;
    let mut acc = 0.0f32;
    let mut cols = kept_columns(mask);
    for blk in vals.chunks_exact(values.block_bytes()) {
        let dw = f16_at(blk, 0);
        // The open segment: its activation block and its integer sum.
        let mut seg: Option<(usize, i32)> = None;
        let mut flush = |a: usize, s: i32| acc += (dw * f16_at(xq, a * AB)) * s as f32;
        for (j, c) in (0..QK).zip(&mut cols) {
            let (a, p) = (
                c / QK,
                code(values, blk, j) * xq[c / QK * AB + 2 + c % QK] as i8 as i32,
            );
            seg = match seg {
                Some((sa, s)) if sa == a => Some((a, s + p)),
                Some((sa, s)) => {
                    flush(sa, s);
                    Some((a, p))
                }
                None => Some((a, p)),
            };
        }
        if let Some((a, s)) = seg {
            flush(a, s);
        }
    }
    acc
}
