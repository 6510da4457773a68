//! Plain float rows (F32, F16, BF16) in GGUF layout: conversion to f32 and the dot product with
//! an f32 activation row, the exact numeric path's weight types.
//!
//! Rows are little-endian byte slices; F16 is IEEE binary16, BF16 the upper half of an f32.

use half::f16;

/// Decodes `dst.len()` little-endian f32 values from `src` (`src.len() == 4 * dst.len()`).
pub fn f32_to_f32(src: &[u8], dst: &mut [f32]) {
    for (d, s) in dst.iter_mut().zip(src.chunks_exact(4)) {
        *d = f32::from_le_bytes([s[0], s[1], s[2], s[3]]);
    }
}

/// Encodes `src` as little-endian f32 bytes into `dst` (`dst.len() == 4 * src.len()`).
pub fn f32_to_bytes(src: &[f32], dst: &mut [u8]) {
    for (d, s) in dst.chunks_exact_mut(4).zip(src) {
        d.copy_from_slice(&s.to_le_bytes());
    }
}

/// Decodes `dst.len()` little-endian IEEE f16 values from `src`.
/// f32 values to little-endian f16, rounded to nearest even (zeros stay exact zeros).
pub fn f32_to_f16_bytes(src: &[f32], dst: &mut [u8]) {
    for (v, b) in src.iter().zip(dst.chunks_exact_mut(2)) {
        b.copy_from_slice(&half::f16::from_f32(*v).to_bits().to_le_bytes());
    }
}

pub fn f16_to_f32(src: &[u8], dst: &mut [f32]) {
    for (d, s) in dst.iter_mut().zip(src.chunks_exact(2)) {
        *d = f16::from_bits(u16::from_le_bytes([s[0], s[1]])).to_f32();
    }
}

/// Decodes `dst.len()` little-endian bf16 values from `src` (exact: bf16 is a truncated f32).
pub fn bf16_to_f32(src: &[u8], dst: &mut [f32]) {
    for (d, s) in dst.iter_mut().zip(src.chunks_exact(2)) {
        *d = bf16_bits_to_f32(u16::from_le_bytes([s[0], s[1]]));
    }
}

/// A bf16 (the upper half of an f32) as f32: exact, NaNs included.
#[inline(always)]
fn bf16_bits_to_f32(bits: u16) -> f32 {
    f32::from_bits((bits as u32) << 16)
}

/// Number of partial sums the float dot products keep (element `i` goes to sum `i % LANES`;
/// the sums are added pairwise at the end). Eight matches one AVX register.
const LANES: usize = 8;

/// `sum_i w[i] * a[i]` over `n` elements, `w[i]` decoded by `weight` from the `size`-byte element
/// `i` of `w`, `a` little-endian f32. Fixed order: lane sums, then a pairwise reduction.
#[inline(always)]
fn dot_with(w: &[u8], act: &[u8], n: usize, size: usize, weight: impl Fn(&[u8]) -> f32) -> f32 {
    let (w, act) = (&w[..n * size], &act[..n * 4]);
    let f32_at = |b: &[u8]| f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    let mut acc = [0.0f32; LANES];
    let (wc, ac) = (w.chunks_exact(LANES * size), act.chunks_exact(LANES * 4));
    let (w_tail, a_tail) = (wc.remainder(), ac.remainder());
    for (wb, ab) in wc.zip(ac) {
        for (j, acc) in acc.iter_mut().enumerate() {
            *acc += weight(&wb[j * size..]) * f32_at(&ab[4 * j..]);
        }
    }
    for (acc, (ws, a)) in acc
        .iter_mut()
        .zip(w_tail.chunks_exact(size).zip(a_tail.chunks_exact(4)))
    {
        *acc += weight(ws) * f32_at(a);
    }
    reduce_lanes(acc)
}

/// Pairwise sum of the eight lane sums ((0+4)+(2+6)) + ((1+5)+(3+7)), the order the AVX2
/// horizontal sum uses.
#[inline(always)]
pub(crate) fn reduce_lanes(acc: [f32; LANES]) -> f32 {
    let q = [
        acc[0] + acc[4],
        acc[1] + acc[5],
        acc[2] + acc[6],
        acc[3] + acc[7],
    ];
    (q[0] + q[2]) + (q[1] + q[3])
}

/// Dot product of an F32 weight row with an f32 activation row of `n` elements.
pub fn vec_dot_f32(w: &[u8], act: &[u8], n: usize) -> f32 {
    dot_with(w, act, n, 4, |b| {
        f32::from_le_bytes([b[0], b[1], b[2], b[3]])
    })
}

/// Dot product of an F16 weight row with an f32 activation row of `n` elements.
pub fn vec_dot_f16(w: &[u8], act: &[u8], n: usize) -> f32 {
    dot_with(w, act, n, 2, |b| {
        f16::from_bits(u16::from_le_bytes([b[0], b[1]])).to_f32()
    })
}

/// Dot product of a BF16 weight row with an f32 activation row of `n` elements.
pub fn vec_dot_bf16(w: &[u8], act: &[u8], n: usize) -> f32 {
    dot_with(w, act, n, 2, |b| {
        bf16_bits_to_f32(u16::from_le_bytes([b[0], b[1]]))
    })
}
