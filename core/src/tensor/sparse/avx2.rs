//! x86-64 AVX2 + FMA + F16C row kernel for the structures that keep 4 of every 8 columns
//! (2:4 and 4:8), with F16, Q8 and Q4 values.
//!
//! One step covers 16 columns (two mask bytes) and their 8 kept values `v_0 .. v_7` (4 per
//! byte), which the step puts in the lane order `v_0, v_4, v_1, v_5, v_2, v_6, v_3, v_7`: each
//! byte loads from [`SPREAD`] a vector holding the position of its `k`-th kept column in lanes
//! `2k` and `2k + 1`; blending the two (even lanes from the first byte) gives the lane indices of
//! two `_mm256_permutevar8x32_ps` over the 16 activations (8 each), blended the same way. That
//! order lets Q4 and Q8 codes be decoded from one broadcast 8-byte load with per-lane shifts
//! (`vpsrlvd` / `vpsllvd`, no cross-lane shuffle); F16 values are converted with `vcvtph2ps` and
//! permuted into it. Each step is one FMA into a per-block accumulator (4 steps for the 32 values
//! of a Q8/Q4 block or of a 32-value F16 "block" with scale 1), which is added to the row
//! accumulator with one FMA by the block scale. The 8 lanes are reduced pairwise ((0+4, 1+5,
//! 2+6, 3+7), then (0+2, 1+3), then 0+1); the last `cols % 16` columns (at most 6 kept values, all
//! in the last block) are summed in scalar code in column order, multiplied by that block's scale
//! and added last. The order depends only on `cols`, so the kernel is row-independent; it differs
//! from the portable order by FMA rounding and lane splitting (bound stated in the tests).
//!
//! The `unsafe fn` requires AVX2, FMA and F16C; [`kernel`] is only reached through
//! [`super::row_kernel`], whose callers check the CPU's level first.

use super::portable::kept_columns;
use super::{RowDot, SparseKind, Structure, Values, QK};
use core::arch::x86_64::*;

/// For each mask byte with 4 bits set, the position of its `k`-th set bit (ascending) in lanes
/// `2k` and `2k + 1`; zeros for the other bytes (which validated 2:4 and 4:8 masks never hold).
#[repr(C, align(32))]
struct Spread([[u32; 8]; 256]);

static SPREAD: Spread = {
    let mut t = [[0u32; 8]; 256];
    let mut b = 0;
    while b < 256 {
        if (b as u8).count_ones() == 4 {
            let (mut j, mut k) = (0, 0);
            while j < 8 {
                if b & (1 << j) != 0 {
                    t[b][2 * k] = j as u32;
                    t[b][2 * k + 1] = j as u32;
                    k += 1;
                }
                j += 1;
            }
        }
        b += 1;
    }
    Spread(t)
};

/// Value-type parameters of [`dot_half`] (a const generic, so each type gets its own loop).
const F16: u8 = 0;
const Q8: u8 = 1;
const Q4: u8 = 2;

/// The AVX2 row kernel for `kind`, if it has one (2:4 and 4:8).
pub(super) fn kernel(kind: SparseKind) -> Option<RowDot> {
    match kind.structure {
        Structure::NM { n, m } if 2 * n == m => Some(match kind.values {
            Values::F16 => dot::<F16>,
            Values::Q8 => dot::<Q8>,
            Values::Q4 => dot::<Q4>,
        }),
        _ => None,
    }
}

/// The safe wrapper of [`dot_half`]`::<V>` (`V` the value type of `values`): checks the lengths
/// its reads rely on (panicking, like slice indexing, on a row that does not keep half of its
/// columns).
fn dot<const V: u8>(values: Values, mask: &[u8], vals: &[u8], x: &[f32]) -> f32 {
    let cols = x.len();
    let kept = cols / 2;
    let need = match values {
        Values::F16 => 2 * kept,
        Values::Q8 | Values::Q4 => kept.div_ceil(QK) * values.block_bytes(),
    };
    let v = match values {
        Values::F16 => F16,
        Values::Q8 => Q8,
        Values::Q4 => Q4,
    };
    assert!(
        v == V && mask.len() == cols.div_ceil(8) && vals.len() == need && cols.is_multiple_of(4)
    );
    // SAFETY: `kernel` hands this function out only through `row_kernel` for a level the caller
    // checked against the CPU, so AVX2, FMA and F16C are present; the value type and the lengths
    // `dot_half` reads were just checked.
    unsafe { dot_half::<V>(mask, vals, x) }
}

/// The little-endian f16 scale at `blk`, in all 8 lanes (converted from a full-width `movd`, so
/// that no stale vector register enters the dependency chain).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn scale(blk: *const u8) -> __m256 {
    // SAFETY: the caller guarantees two readable bytes at `blk`.
    let bits = unsafe { u16::from_le((blk as *const u16).read_unaligned()) };
    let d = _mm_cvtph_ps(_mm_cvtsi32_si128(bits as i32));
    _mm256_broadcastss_ps(d)
}

/// Values `8 c .. 8 c + 8` of the block at `blk` (`c < 4`) as f32 codes, in the lane order of
/// the module documentation.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn codes<const V: u8>(blk: *const u8, c: usize) -> __m256 {
    // SAFETY (all arms): the caller guarantees that the block at `blk` holds values
    // `8 c .. 8 c + 8`: 16 bytes at `blk + 16 c` (F16), 8 bytes at `blk + 2 + 8 c` (Q8), 8 bytes
    // at `blk + 2 + 8 (c & 1)` (Q4, a full 18-byte block).
    unsafe {
        match V {
            F16 => {
                let v = _mm256_cvtph_ps(_mm_loadu_si128(blk.add(16 * c) as *const __m128i));
                _mm256_permutevar8x32_ps(v, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7))
            }
            Q8 => {
                // Lane 2k holds bytes 0..4, lane 2k + 1 bytes 4..8: byte k to the top, then
                // sign-extend it down.
                let b = _mm256_set1_epi64x((blk.add(2 + 8 * c) as *const i64).read_unaligned());
                let up = _mm256_sllv_epi32(b, _mm256_setr_epi32(24, 24, 16, 16, 8, 8, 0, 0));
                _mm256_cvtepi32_ps(_mm256_srai_epi32::<24>(up))
            }
            _ => {
                let b =
                    _mm256_set1_epi64x((blk.add(2 + 8 * (c & 1)) as *const i64).read_unaligned());
                let hi = 4 * (c >> 1) as i32;
                let sh = _mm256_add_epi32(
                    _mm256_setr_epi32(0, 0, 8, 8, 16, 16, 24, 24),
                    _mm256_set1_epi32(hi),
                );
                let nib = _mm256_and_si256(_mm256_srlv_epi32(b, sh), _mm256_set1_epi32(0x0F));
                _mm256_cvtepi32_ps(_mm256_sub_epi32(nib, _mm256_set1_epi32(8)))
            }
        }
    }
}

/// The 8 kept activations of columns `16 s .. 16 s + 16`, in the lane order of the module
/// documentation.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn gather(mask: *const u8, x: *const f32, s: usize) -> __m256 {
    // SAFETY: the caller guarantees two readable mask bytes at `mask + 2 s` and 16 readable f32
    // at `x + 16 s`; `SPREAD` rows are 32-byte aligned.
    unsafe {
        let t0 = _mm256_load_si256(SPREAD.0[*mask.add(2 * s) as usize].as_ptr() as *const __m256i);
        let t1 =
            _mm256_load_si256(SPREAD.0[*mask.add(2 * s + 1) as usize].as_ptr() as *const __m256i);
        let idx = _mm256_blend_epi32::<0xAA>(t0, t1);
        let a0 = _mm256_loadu_ps(x.add(16 * s));
        let a1 = _mm256_loadu_ps(x.add(16 * s + 8));
        _mm256_blend_ps::<0xAA>(
            _mm256_permutevar8x32_ps(a0, idx),
            _mm256_permutevar8x32_ps(a1, idx),
        )
    }
}

/// `Σ_c W[c] x[c]` of one row that keeps 4 of every 8 columns, values of type `V`, in the order
/// of the module documentation.
///
/// # Safety
/// The CPU has AVX2, FMA and F16C; `x.len() = cols` with `cols % 4 == 0`, `mask` has
/// `ceil(cols / 8)` bytes with 4 bits set in each full byte, and `vals` holds the row's
/// `cols / 2` kept values as `V` stores them (`cols` bytes for F16, `ceil(cols / 64)` blocks for
/// Q8 and Q4).
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_half<const V: u8>(mask: &[u8], vals: &[u8], x: &[f32]) -> f32 {
    let values = match V {
        F16 => Values::F16,
        Q8 => Values::Q8,
        _ => Values::Q4,
    };
    let cols = x.len();
    let steps = cols / 16;
    let bb = values.block_bytes();
    let (mp, vp, xp) = (mask.as_ptr(), vals.as_ptr(), x.as_ptr());
    let mut acc = _mm256_setzero_ps();
    // Blocks with at least one full step: step `s` is chunk `s % 4` of block `s / 4`.
    for b in 0..steps.div_ceil(4) {
        // SAFETY: block `b` starts inside `vals` (b < ceil(cols / 64) blocks), and steps below
        // `steps` read only values below `8 steps <= cols / 2`, mask bytes below
        // `2 steps <= ceil(cols / 8)` and columns below `16 steps <= cols`.
        unsafe {
            let blk = vp.add(b * bb);
            let mut acc_b = _mm256_setzero_ps();
            for c in 0..(steps - 4 * b).min(4) {
                let g = gather(mp, xp, 4 * b + c);
                acc_b = _mm256_fmadd_ps(codes::<V>(blk, c), g, acc_b);
            }
            let d = match V {
                F16 => _mm256_set1_ps(1.0),
                _ => scale(blk),
            };
            acc = _mm256_fmadd_ps(d, acc_b, acc);
        }
    }
    let hi = _mm256_extractf128_ps::<1>(acc);
    let s4 = _mm_add_ps(_mm256_castps256_ps128(acc), hi);
    let s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
    let s1 = _mm_add_ss(s2, _mm_shuffle_ps::<1>(s2, s2));
    let mut sum = _mm_cvtss_f32(s1);
    if !cols.is_multiple_of(16) {
        // The tail's kept values `8 steps ..` all lie in block `8 steps / 32`.
        let first = 8 * steps;
        let blk = &vals[first / QK * bb..];
        let code = |j: usize| match V {
            F16 => half::f16::from_bits(u16::from_le_bytes([blk[2 * j], blk[2 * j + 1]])).to_f32(),
            Q8 => blk[2 + j] as i8 as f32,
            _ => {
                let b = blk[2 + j % 16];
                (((if j < 16 { b } else { b >> 4 }) & 0x0F) as i32 - 8) as f32
            }
        };
        let d = match V {
            F16 => 1.0,
            _ => half::f16::from_bits(u16::from_le_bytes([blk[0], blk[1]])).to_f32(),
        };
        let tail = kept_columns(&mask[2 * steps..])
            .enumerate()
            .fold(0.0f32, |s, (i, c)| {
                s + code((first + i) % QK) * x[16 * steps + c]
            });
        sum += d * tail;
    }
    sum
}
