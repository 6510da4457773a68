//! Tests of the block types and kernels: hand-built blocks with hand-computed values, real rows
//! of the model files against gguf-py (fixtures from scripts/quant_fixtures.py), activation
//! quantization rules and error bounds, portable kernels against an f64 dot product of the
//! dequantized rows, the SIMD kernels of every level the CPU reaches against the portable ones,
//! and each level's four-token kernels against its single ones (bit for bit).

use super::*;
use alloc::vec;
use alloc::vec::Vec;
use half::{bf16, f16};

fn h(v: f32) -> [u8; 2] {
    f16::from_f32(v).to_bits().to_le_bytes()
}

fn deq(ty: GgmlType, src: &[u8], n: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; n];
    dequantize_row(ty, src, &mut out).unwrap();
    out
}

#[test]
fn q4_0_block_by_hand() {
    // d = 0.5; byte j = j | (15 - j) << 4: element j = (j - 8) / 2, element j + 16 = (7 - j) / 2.
    let mut b = h(0.5).to_vec();
    b.extend((0..16u8).map(|j| j | (15 - j) << 4));
    let y = deq(GgmlType::Q4_0, &b, 32);
    assert_eq!((y[0], y[8], y[15]), (-4.0, 0.0, 3.5));
    assert_eq!((y[16], y[23], y[31]), (3.5, 0.0, -4.0));
}

#[test]
fn q4_1_block_by_hand() {
    let mut b = [h(0.25), h(-1.0)].concat();
    b.extend([0x0Fu8, 0xF0, 0x5A].iter().chain([0u8; 13].iter()));
    let y = deq(GgmlType::Q4_1, &b, 32);
    assert_eq!((y[0], y[16]), (2.75, -1.0)); // 15 * 0.25 - 1, 0 * 0.25 - 1
    assert_eq!((y[1], y[17]), (-1.0, 2.75));
    assert_eq!((y[2], y[18]), (1.5, 0.25)); // 0xA = 10, 0x5 = 5
    assert_eq!(y[31], -1.0);
}

#[test]
fn q5_0_block_by_hand() {
    // High bits set for elements 0, 5 and 16 (bit 16 of qh is element 16).
    let qh: u32 = 1 | 1 << 5 | 1 << 16;
    let mut b = h(1.0).to_vec();
    b.extend(qh.to_le_bytes());
    let mut qs = [0u8; 16];
    qs[0] = 0x21; // element 0: 1 | 16, element 16: 2 | 16
    qs[15] = 0xFF; // elements 15 and 31: 15, no high bit
    b.extend(qs);
    let y = deq(GgmlType::Q5_0, &b, 32);
    assert_eq!((y[0], y[16]), (1.0, 2.0));
    assert_eq!((y[5], y[21]), (0.0, -16.0));
    assert_eq!((y[15], y[31]), (-1.0, -1.0));
    assert_eq!(y[1], -16.0);
}

#[test]
fn q8_0_block_by_hand() {
    let mut b = h(2.0).to_vec();
    let mut qs = [0u8; 32];
    qs[0] = 0x80; // -128
    qs[1] = 127;
    qs[31] = 0xFF; // -1
    b.extend(qs);
    let y = deq(GgmlType::Q8_0, &b, 32);
    assert_eq!((y[0], y[1], y[2], y[31]), (-256.0, 254.0, 0.0, -2.0));
}

/// Packs 8 six-bit (scale, min) pairs the way Q4_K stores them (inverse of `scales_mins`).
fn pack_k4(sc: [u8; 8], m: [u8; 8]) -> [u8; 12] {
    let mut s = [0u8; 12];
    for j in 0..4 {
        s[j] = sc[j] | (sc[j + 4] >> 4) << 6;
        s[j + 4] = m[j] | (m[j + 4] >> 4) << 6;
        s[j + 8] = (sc[j + 4] & 15) | (m[j + 4] & 15) << 4;
    }
    s
}

#[test]
fn q4_k_scale_packing() {
    // Literal bytes: s[0] = 0b11_000001 carries scale 1 for sub-block 0 and the top bits 3 of
    // sub-block 4's scale; s[8] = 0x2F carries the low nibbles 0xF (scale 4) and 0x2 (min 4).
    let mut s = [0u8; 12];
    s[0] = 0b1100_0001;
    s[4] = 0b0100_0111;
    s[8] = 0x2F;
    let (sc, m) = q4_k::scales_mins(&s);
    assert_eq!((sc[0], m[0]), (1, 7));
    assert_eq!((sc[4], m[4]), (0x3F, 0x12));
    assert_eq!(
        (sc, m),
        ([1, 0, 0, 0, 0x3F, 0, 0, 0], [7, 0, 0, 0, 0x12, 0, 0, 0])
    );
    let sc = [1, 2, 3, 63, 33, 17, 5, 40];
    let m = [0, 63, 7, 1, 62, 3, 9, 48];
    assert_eq!(q4_k::scales_mins(&pack_k4(sc, m)), (sc, m));
}

#[test]
fn q4_k_block_by_hand() {
    let sc = [1, 2, 3, 63, 33, 17, 5, 40];
    let m = [0, 63, 7, 1, 62, 3, 9, 48];
    let mut b = [h(1.0), h(0.5)].concat();
    b.extend(pack_k4(sc, m));
    // Byte l of each 32-byte chunk: low nibble l % 16, high nibble 15 - l % 16.
    for _c in 0..4 {
        b.extend((0..32u8).map(|l| (l % 16) | (15 - l % 16) << 4));
    }
    assert_eq!(b.len(), 144);
    let y = deq(GgmlType::Q4K, &b, 256);
    assert_eq!(y[0], 0.0); // 1 * 0 - 0.5 * 0
    assert_eq!(y[33], -3.5); // sub-block 1: 2 * 14 - 0.5 * 63
    assert_eq!(y[64 + 5], 3.0 * 5.0 - 3.5); // sub-block 2
    assert_eq!(y[255], -24.0); // sub-block 7: 40 * 0 - 0.5 * 48
    for c in 0..4 {
        for l in 0..32 {
            let q = (l % 16) as f32;
            assert_eq!(y[64 * c + l], sc[2 * c] as f32 * q - 0.5 * m[2 * c] as f32);
            let q = (15 - l % 16) as f32;
            assert_eq!(
                y[64 * c + 32 + l],
                sc[2 * c + 1] as f32 * q - 0.5 * m[2 * c + 1] as f32
            );
        }
    }
}

/// Packs 256 six-bit quants and 16 scales into a Q6_K block with d = `d`.
fn pack_q6_k(q: &[u8; 256], sc: [i8; 16], d: f32) -> Vec<u8> {
    let mut b = vec![0u8; 210];
    for hh in 0..2 {
        for k in 0..4 {
            for l in 0..32 {
                let v = q[128 * hh + 32 * k + l];
                b[64 * hh + 32 * (k & 1) + l] |= (v & 15) << (4 * (k >> 1));
                b[128 + 32 * hh + l] |= (v >> 4) << (2 * k);
            }
        }
    }
    for (i, s) in sc.iter().enumerate() {
        b[192 + i] = *s as u8;
    }
    b[208..].copy_from_slice(&h(d));
    b
}

#[test]
fn q6_k_block_by_hand() {
    let mut q = [0u8; 256];
    for (e, v) in q.iter_mut().enumerate() {
        *v = (e * 7 % 64) as u8;
    }
    let sc: [i8; 16] = core::array::from_fn(|i| i as i8 - 8);
    let b = pack_q6_k(&q, sc, 0.5);
    let y = deq(GgmlType::Q6K, &b, 256);
    assert_eq!(y[0], 0.5 * -8.0 * -32.0); // q = 0, scale -8
    assert_eq!(y[9], 0.5 * -8.0 * 31.0); // q = 63
    assert_eq!(y[255], 0.5 * 7.0 * ((255 * 7 % 64) as f32 - 32.0));
    for e in 0..256 {
        assert_eq!(
            y[e],
            0.5 * sc[e / 16] as f32 * (q[e] as f32 - 32.0),
            "element {e}"
        );
    }
}

#[test]
fn q8_k_and_floats_by_hand() {
    let mut b = 0.25f32.to_le_bytes().to_vec();
    b.extend((0..256).map(|i| (i as i8).wrapping_sub(100) as u8));
    b.extend([0u8; 32]);
    let y = deq(GgmlType::Q8K, &b, 256);
    assert_eq!((y[0], y[227], y[228]), (-25.0, 31.75, -32.0));
    let f16s = [0x3C00u16, 0xC000, 0x7BFF].map(u16::to_le_bytes).concat();
    assert_eq!(deq(GgmlType::F16, &f16s, 3), [1.0, -2.0, 65504.0]);
    let bf16s = [0x3F80u16, 0xC040, 0x0001].map(u16::to_le_bytes).concat();
    assert_eq!(
        deq(GgmlType::BF16, &bf16s, 3),
        [1.0, -3.0, f32::from_bits(0x0001_0000)]
    );
    let f32s = [1.5f32, -0.0].map(f32::to_le_bytes).concat();
    assert_eq!(deq(GgmlType::F32, &f32s, 2), [1.5, -0.0]);
}

#[test]
fn bad_arguments_are_errors() {
    let mut out = [0.0f32; 32];
    assert!(matches!(
        dequantize_row(GgmlType::Q4_0, &[0; 17], &mut out),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        dequantize_row(GgmlType::Q4_0, &[0; 18], &mut out[..31]),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        dequantize_row(GgmlType::Q2K, &[0; 84], &mut [0.0; 256]),
        Err(Error::Unsupported(_))
    ));
    assert!(matches!(
        quantize_row(GgmlType::Q8_0, &out, &mut [0; 33]),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        quantize_row(GgmlType::Q4_0, &out, &mut [0; 18]),
        Err(Error::Unsupported(_))
    ));
    assert!(matches!(
        vec_dot_fn(GgmlType::Q5K),
        Err(Error::Unsupported(_))
    ));
    assert!(matches!(
        vec_dot_fn_portable(GgmlType::Q8K),
        Err(Error::Unsupported(_))
    ));
}

#[test]
fn vec_dot_types() {
    use GgmlType::*;
    for (w, a) in [
        (Q4_0, Q8_0),
        (Q5_0, Q8_0),
        (Q8_0, Q8_0),
        (Q4_1, Q8_1),
        (Q4K, Q8K),
        (Q6K, Q8K),
    ] {
        assert_eq!(vec_dot_type(w), a);
    }
    for w in [F32, F16, BF16] {
        assert_eq!(vec_dot_type(w), F32);
    }
}

// ---- activation quantization ----

#[test]
fn q8_0_rounds_half_to_even_like_llama_cpp_x86() {
    // amax = 127 gives id = 1: 2.5 -> 2, 3.5 -> 4, -2.5 -> -2; d = 1.
    let mut x = [0.0f32; 32];
    x[0] = 127.0;
    x[1] = 2.5;
    x[2] = 3.5;
    x[3] = -2.5;
    let mut b = [0u8; 34];
    quantize_row(GgmlType::Q8_0, &x, &mut b).unwrap();
    assert_eq!(&b[..2], &h(1.0));
    assert_eq!(&b[2..6], &[127, 2, 4, (-2i8) as u8]);
    // An all-zero block stores d = 0 and zero quants.
    quantize_row(GgmlType::Q8_0, &[0.0; 32], &mut b).unwrap();
    assert!(b.iter().all(|&v| v == 0));
}

#[test]
fn q8_k_uses_the_signed_max() {
    // max = +2 (largest magnitude, positive): iscale = -63.5, so q(2) = -127 and d = -1/63.5.
    let mut x = [0.0f32; 256];
    x[0] = 2.0;
    x[1] = -1.0;
    x[17] = 0.5;
    let mut b = [0u8; 292];
    quantize_row(GgmlType::Q8K, &x, &mut b).unwrap();
    assert_eq!(
        f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        1.0 / (-127.0f32 / 2.0)
    );
    assert_eq!(b[4] as i8, -127);
    assert_eq!(b[5] as i8, 64); // round_half_even(63.5) = 64
    assert_eq!(b[4 + 17] as i8, -32); // -31.75 -> -32
    assert_eq!(q8_k::bsum(&b, 0), -127 + 64);
    assert_eq!(q8_k::bsum(&b, 1), -32);
    // A negative max gives a positive d.
    x[0] = -2.0;
    quantize_row(GgmlType::Q8K, &x, &mut b).unwrap();
    assert_eq!(f32::from_le_bytes([b[0], b[1], b[2], b[3]]), 2.0 / 127.0);
    assert_eq!(b[4] as i8, -127);
}

/// Deterministic xorshift64* numbers for the randomized tests.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in [-1, 1).
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
    fn floats(&mut self, n: usize, scale: f32) -> Vec<f32> {
        (0..n).map(|_| self.unit() * scale).collect()
    }
}

#[test]
fn activation_round_trip_error_bounds() {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    for &(ty, qk) in &[
        (GgmlType::Q8_0, 32),
        (GgmlType::Q8_1, 32),
        (GgmlType::Q8K, 256),
    ] {
        for round in 0..20 {
            let n = qk * (1 + round % 7);
            let x = rng.floats(n, 10f32.powi(round as i32 % 5 - 2));
            let mut b = vec![0u8; ty.bytes_for(n as u64).unwrap() as usize];
            quantize_row(ty, &x, &mut b).unwrap();
            let y = deq(ty, &b, n);
            for (blk, (xb, yb)) in x.chunks(qk).zip(y.chunks(qk)).enumerate() {
                let amax = xb.iter().fold(0.0f32, |m, v| m.max(v.abs()));
                // Half a quantization step, plus (for the f16 scale of Q8_0/Q8_1) the scale's
                // relative rounding 2^-11 times the largest |q| = 127 steps.
                let step = amax / 127.0;
                let bound = if ty == GgmlType::Q8K {
                    0.5 * step * 1.0001
                } else {
                    step * (0.5 + 127.0 / 2048.0)
                };
                for (i, (a, b)) in xb.iter().zip(yb).enumerate() {
                    assert!(
                        (a - b).abs() <= bound,
                        "{} block {blk} elt {i}: {a} vs {b}",
                        ty.name()
                    );
                }
            }
            if ty == GgmlType::Q8_1 {
                // s = d * sum q with d = amax / 127 unrounded (llama.cpp's x86 quantize_row_q8_1).
                for (xb, blk) in x.chunks(32).zip(b.chunks(36)) {
                    let sum: i32 = blk[4..].iter().map(|&q| q as i8 as i32).sum();
                    let amax = xb.iter().fold(0.0f32, |m, v| m.max(v.abs()));
                    assert_eq!(&blk[2..4], &h(amax / 127.0 * sum as f32), "s = d * sum q");
                }
            }
            if ty == GgmlType::Q8K {
                for blk in b.chunks(292) {
                    for i in 0..16 {
                        let s: i32 = blk[4 + 16 * i..20 + 16 * i]
                            .iter()
                            .map(|&q| q as i8 as i32)
                            .sum();
                        assert_eq!(q8_k::bsum(blk, i), s);
                    }
                }
            }
        }
    }
}

// ---- kernels ----

use super::WEIGHT_TYPES;

/// A random weight row of `n` elements: random quant bytes with finite random scales (scales up
/// to `0.05`, as in real weights), floats uniform in [-1, 1).
fn random_weights(ty: GgmlType, n: usize, rng: &mut Rng) -> Vec<u8> {
    let bytes = ty.bytes_for(n as u64).unwrap() as usize;
    match ty {
        GgmlType::F32 | GgmlType::F16 | GgmlType::BF16 => {
            let x = rng.floats(n, 1.0);
            let mut b = Vec::with_capacity(bytes);
            for v in x {
                match ty {
                    GgmlType::F32 => b.extend(v.to_le_bytes()),
                    GgmlType::F16 => b.extend(f16::from_f32(v).to_bits().to_le_bytes()),
                    _ => b.extend(bf16::from_f32(v).to_bits().to_le_bytes()),
                }
            }
            return b;
        }
        _ => {}
    }
    let mut b: Vec<u8> = (0..bytes).map(|_| rng.next() as u8).collect();
    let scale_offsets: &[usize] = match ty {
        GgmlType::Q4_0 | GgmlType::Q5_0 | GgmlType::Q8_0 => &[0],
        GgmlType::Q4_1 | GgmlType::Q4K => &[0, 2],
        GgmlType::Q6K => &[208],
        _ => unreachable!(),
    };
    for blk in b.chunks_mut(ty.type_size()) {
        for &o in scale_offsets {
            blk[o..o + 2].copy_from_slice(&h(rng.unit() * 0.05));
        }
    }
    b
}

/// A random activation row quantized to the type `weight` pairs with, and its dequantized values.
fn random_activations(weight: GgmlType, n: usize, rng: &mut Rng) -> (Vec<u8>, Vec<f32>) {
    let ty = vec_dot_type(weight);
    let x = rng.floats(n, 3.0);
    let mut b = vec![0u8; ty.bytes_for(n as u64).unwrap() as usize];
    quantize_row(ty, &x, &mut b).unwrap();
    let a = deq(ty, &b, n);
    (b, a)
}

/// f64 dot product of the dequantized rows, and `sum |w_i a_i|` plus, for the types with a
/// separate min term, `sum |m_b| |a_i|` (the magnitudes the f32 rounding works on).
fn reference(ty: GgmlType, w: &[u8], a: &[f32]) -> (f64, f64) {
    let wf = deq(ty, w, a.len());
    let dot: f64 = wf.iter().zip(a).map(|(&x, &y)| x as f64 * y as f64).sum();
    let mut mag: f64 = wf
        .iter()
        .zip(a)
        .map(|(&x, &y)| (x as f64 * y as f64).abs())
        .sum();
    let qk = ty.block_size();
    for (i, blk) in w.chunks(ty.type_size()).enumerate() {
        let min = match ty {
            GgmlType::Q4_1 => f16::from_bits(u16::from_le_bytes([blk[2], blk[3]]))
                .to_f32()
                .abs(),
            GgmlType::Q4K => {
                63.0 * f16::from_bits(u16::from_le_bytes([blk[2], blk[3]]))
                    .to_f32()
                    .abs()
            }
            _ => 0.0,
        };
        mag += a[i * qk..(i + 1) * qk]
            .iter()
            .map(|&y| (min * y).abs() as f64)
            .sum::<f64>();
    }
    (dot, mag)
}

/// Bound on |kernel - f64 dot of the dequantized rows| / `mag` in the two tests below. Measured
/// (2026-12-02, portable and AVX2 kernels, every random and real row): <= 1.5e-8 for every type
/// but Q4_1 (f32 accumulation), and 5.7e-6 for Q4_1, whose block sum s = d * sum q is stored
/// rounded to f16 (<= 2^-11 |m| sum |a|). The bounds are 3.3x and 1.8x those.
fn dot_tolerance(ty: GgmlType) -> f64 {
    if ty == GgmlType::Q4_1 {
        1e-5
    } else {
        5e-8
    }
}

#[test]
fn portable_kernels_match_f64_reference() {
    let mut rng = Rng(0x0dd_ba11_cafe_f00d);
    for ty in WEIGHT_TYPES {
        let f = vec_dot_fn_portable(ty).unwrap();
        for blocks in [1, 2, 3, 7] {
            let n = blocks * ty.block_size().max(32) * if ty.block_size() == 256 { 1 } else { 8 };
            let w = random_weights(ty, n, &mut rng);
            let (act, a) = random_activations(ty, n, &mut rng);
            let (want, mag) = reference(ty, &w, &a);
            let got32 = f(&w, &act, n);
            let got = got32 as f64;
            let tol = dot_tolerance(ty) * mag + 1e-30;
            assert!(
                (got - want).abs() <= tol,
                "{} n={n}: {got} vs {want} (tol {tol})",
                ty.name()
            );
            // Row independence: the same row inside a larger buffer gives the same bits.
            let mut wider = vec![0xA5u8; w.len() + 64];
            wider[..w.len()].copy_from_slice(&w);
            assert_eq!(
                f(&wider, &act, n).to_bits(),
                got32.to_bits(),
                "{}",
                ty.name()
            );
        }
    }
}

#[test]
fn portable_q4_1_min_term_tolerance_is_tight() {
    // Constant weights (all nibbles 0, m = 1): w . a = sum a = sum_b s_b; only s's f16 rounding.
    let n = 64;
    let mut w = Vec::new();
    for _ in 0..2 {
        w.extend([h(0.01), h(1.0)].concat());
        w.extend([0u8; 16]);
    }
    let x: Vec<f32> = (0..n).map(|i| i as f32 / 10.0).collect();
    let mut act = vec![0u8; 72];
    quantize_row(GgmlType::Q8_1, &x, &mut act).unwrap();
    let got = vec_dot_fn_portable(GgmlType::Q4_1).unwrap()(&w, &act, n);
    let want: f32 = x.iter().sum();
    assert!((got - want).abs() <= want * 2e-3, "{got} vs {want}");
}

/// The SIMD levels above the portable one that this CPU runs (each is tested in this process
/// through the per-level getters, whatever `LLMCORE_SIMD` caps the runtime to).
fn simd_levels() -> Vec<SimdLevel> {
    SimdLevel::ALL
        .into_iter()
        .filter(|&l| l > SimdLevel::Portable && l <= cpu_simd_level())
        .collect()
}

mod simd {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Every SIMD level's kernels agree with the portable ones: their integer block sums
        /// are exact and only the f32 accumulation order differs (worst case about
        /// (nb + 8) eps * mag). Measured over 20,000 random cases of these shapes per level
        /// (AVX-512 machine, 2026-12-02): the largest |simd - portable| / (eps * mag) was 0.66
        /// for AVX2 and 0.43 for AVX-512, so the bound is 4 eps * mag, about 6x the worst seen.
        #[test]
        fn simd_kernels_match_portable(seed in any::<u64>(), blocks in 1usize..24, which in 0usize..9) {
            let ty = WEIGHT_TYPES[which];
            // Multiples of the block size, including the model widths 576 / 896 / 1536, and odd
            // block counts (the AVX-512 kernels take 32-element blocks in pairs).
            let n = if ty.block_size() == 256 { 256 * blocks } else { 32 * blocks * 3 + [0, 5, 11][blocks % 3] * (ty.block_size() == 1) as usize };
            let mut rng = Rng(seed | 1);
            let w = random_weights(ty, n, &mut rng);
            let (act, a) = random_activations(ty, n, &mut rng);
            let (_, mag) = reference(ty, &w, &a);
            let slow = vec_dot_fn_portable(ty).unwrap()(&w, &act, n);
            let tol = 4.0 * f32::EPSILON as f64 * mag + 1e-30;
            for level in simd_levels() {
                let f = vec_dot_fn_at(level, ty).unwrap();
                let fast = f(&w, &act, n);
                prop_assert!(((fast - slow) as f64).abs() <= tol, "{} {} n={}: simd {} portable {} tol {}", level, ty.name(), n, fast, slow, tol);
                // Deterministic: the same call gives the same bits.
                prop_assert_eq!(f(&w, &act, n).to_bits(), fast.to_bits());
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// At every SIMD level the four-token kernels give each token that level's single
        /// kernel's result bit for bit (the batch invariance of the runtime rests on it), on
        /// random blocks (odd and even counts) and activation rows of very different magnitudes.
        #[test]
        fn x4_kernels_equal_single_kernel_bits(seed in any::<u64>(), blocks in 1usize..12, which in 0usize..6) {
            let ty = [GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q8_0, GgmlType::Q4K, GgmlType::Q6K][which];
            let n = ty.block_size() * blocks;
            let mut rng = Rng(seed | 1);
            let w = random_weights(ty, n, &mut rng);
            let act_ty = vec_dot_type(ty);
            let acts = [3.0, 3e-3, 3e3, 0.5].map(|scale| {
                let mut q = vec![0u8; act_ty.bytes_for(n as u64).unwrap() as usize];
                quantize_row(act_ty, &rng.floats(n, scale), &mut q).unwrap();
                q
            });
            for level in simd_levels() {
                let x4 = vec_dot_x4_fn_at(level, ty);
                prop_assert!(x4.is_some(), "{} {} has no four-token kernel", level, ty.name());
                let got = x4.unwrap()(&w, [&acts[0], &acts[1], &acts[2], &acts[3]], n);
                let single = vec_dot_fn_at(level, ty).unwrap();
                for (k, act) in acts.iter().enumerate() {
                    let want = single(&w, act, n);
                    prop_assert_eq!(got[k].to_bits(), want.to_bits(), "{} {} n={} token {}: x4 {} single {}", level, ty.name(), n, k, got[k], want);
                }
            }
        }
    }

    #[test]
    fn each_level_has_its_own_kernels_and_the_runtime_uses_the_capped_one() {
        let quantized = QUANTIZED_WEIGHT_TYPES;
        for ty in WEIGHT_TYPES {
            let at = |l| vec_dot_fn_at(l, ty).unwrap() as usize;
            assert_eq!(
                at(SimdLevel::Portable),
                vec_dot_fn_portable(ty).unwrap() as usize
            );
            assert_eq!(vec_dot_fn(ty).unwrap() as usize, at(simd_level()));
            assert_eq!(
                vec_dot_x4_fn(ty).map(|f| f as usize),
                vec_dot_x4_fn_at(simd_level(), ty).map(|f| f as usize)
            );
            assert!(vec_dot_x4_fn_at(SimdLevel::Portable, ty).is_none());
            let levels = simd_levels();
            for (i, &l) in levels.iter().enumerate() {
                // A new level brings new kernels for the quantized types (the float types keep
                // the AVX2 ones at AVX-512).
                let below = if i == 0 {
                    SimdLevel::Portable
                } else {
                    levels[i - 1]
                };
                let differs = at(l) != at(below);
                assert_eq!(
                    differs,
                    i == 0 || quantized.contains(&ty),
                    "{l} {}",
                    ty.name()
                );
            }
        }
        // A level the CPU does not reach hands out nothing.
        for l in SimdLevel::ALL.into_iter().filter(|&l| l > cpu_simd_level()) {
            assert!(matches!(
                vec_dot_fn_at(l, GgmlType::Q4K),
                Err(Error::Unsupported(_))
            ));
            assert!(vec_dot_x4_fn_at(l, GgmlType::Q4K).is_none());
        }
        assert!(simd_level() <= cpu_simd_level());
    }
}

#[test]
fn simd_level_names_round_trip() {
    for l in SimdLevel::ALL {
        assert_eq!(SimdLevel::from_name(l.name()), Some(l));
    }
    assert_eq!(SimdLevel::from_name("AVX2"), None);
    assert!(SimdLevel::Portable < SimdLevel::Avx2 && SimdLevel::Avx2 < SimdLevel::Avx512);
}

// ---- real rows of the model files ----

#[cfg(feature = "std")]
#[test]
fn real_rows_match_gguf_py() {
    extern crate std;
    use std::{fs, path::PathBuf, string::String};
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/data/quant");
    let manifest = fs::read_to_string(dir.join("manifest.txt")).expect("manifest");
    let mut seen = Vec::new();
    let mut rng = Rng(42);
    for line in manifest.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (case, tyname) = (f[0], f[1]);
        let (rows, cols): (usize, usize) = (f[2].parse().unwrap(), f[3].parse().unwrap());
        let ty = WEIGHT_TYPES
            .iter()
            .copied()
            .find(|t| t.name() == tyname)
            .expect("type");
        let raw = fs::read(dir.join(String::from(case) + ".bin")).unwrap();
        let want: Vec<f32> = fs::read(dir.join(String::from(case) + ".f32"))
            .unwrap()
            .chunks(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let rb = raw.len() / rows;
        assert_eq!(want.len(), rows * cols);
        for r in 0..rows {
            let got = deq(ty, &raw[r * rb..(r + 1) * rb], cols);
            for (i, (&g, &e)) in got.iter().zip(&want[r * cols..(r + 1) * cols]).enumerate() {
                // gguf-py evaluates the same f32 formulas: bit-equal.
                assert_eq!(
                    g.to_bits(),
                    e.to_bits(),
                    "{case} row {r} elt {i}: {g} vs {e}"
                );
            }
            // Both kernels on the real row against the f64 dot of the dequantized rows.
            let row = &raw[r * rb..(r + 1) * rb];
            let (act, a) = random_activations(ty, cols, &mut rng);
            let (want, mag) = reference(ty, row, &a);
            for level in core::iter::once(SimdLevel::Portable).chain(simd_levels()) {
                let f = vec_dot_fn_at(level, ty).unwrap();
                let got = f(row, &act, cols) as f64;
                assert!(
                    (got - want).abs() <= dot_tolerance(ty) * mag,
                    "{case} row {r} {level}: {got} vs {want}"
                );
            }
        }
        seen.push(ty);
    }
    for ty in WEIGHT_TYPES {
        assert!(seen.contains(&ty), "no fixture for {}", ty.name());
    }
}

/// The weight encodings (F16, Q8_0, Q4_0, Q4_1) against the `gguf` Python package's numpy quantizers
/// (scripts/weight_quant_fixtures.py): pruned rows, a constant block, an all-zero block.
#[test]
fn weight_encodings_match_gguf_py() {
    let data: &[u8] = include_bytes!("../../../../tests/data/weight_quant.bin");
    let u32_at = |o: usize| u32::from_le_bytes(data[o..o + 4].try_into().unwrap()) as usize;
    let (rows, cols) = (u32_at(0), u32_at(4));
    let x: Vec<f32> = data[8..8 + rows * cols * 4]
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    let mut at = 8 + rows * cols * 4;
    for ty in [
        GgmlType::F16,
        GgmlType::Q8_0,
        GgmlType::Q4_0,
        GgmlType::Q4_1,
    ] {
        let rb = ty.bytes_for(cols as u64).unwrap() as usize;
        let want = &data[at..at + rows * rb];
        at += rows * rb;
        let mut got = vec![0u8; rows * rb];
        for (src, dst) in x.chunks_exact(cols).zip(got.chunks_exact_mut(rb)) {
            encode_weight_row(ty, src, dst).unwrap();
        }
        let differ = got.iter().zip(want).filter(|(a, b)| a != b).count();
        assert_eq!(
            differ,
            0,
            "{}: {differ} bytes differ from gguf-py",
            ty.name()
        );
        // Pruned weights stay exactly zero in the symmetric codes (all but Q4_1).
        if ty != GgmlType::Q4_1 {
            let mut back = vec![0.0f32; cols];
            dequantize_row(ty, &got[2 * rb..3 * rb], &mut back).unwrap();
            assert!(back.iter().step_by(2).all(|&v| v == 0.0), "{}", ty.name());
        }
    }
    assert_eq!(at, data.len());
}
