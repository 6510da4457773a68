//! Quantized block types of GGUF/ggml and the integer dot products of the fast numeric path.
//!
//! A weight row of a quantized type is a sequence of blocks; each block holds `block_size`
//! elements as small integers and one or two float scales (ggml's `block_q4_1`, `block_q6_K`,
//! ...). The fast path multiplies such a row with an activation row that was itself quantized to
//! 8-bit blocks ([`vec_dot_type`]), so that the inner loops are integer multiply-adds and the
//! scales are applied once per block, as llama.cpp does:
//!
//! `w . a = sum_b d_w[b] * d_a[b] * sum_i q_w[b,i] * q_a[b,i]  (+ min terms)`.
//!
//! Each weight type has one module with its block layout, `dequantize` and the portable scalar
//! `vec_dot`; `avx2` holds the x86-64 AVX2+FMA versions and `avx512` the AVX-512 VNNI ones,
//! which [`vec_dot_fn`] hands out only after run-time detection ([`SimdLevel`], cappable by
//! `LLMCORE_SIMD`) and which are tested against the portable ones. Every kernel is a
//! pure function of its two rows with a fixed accumulation order, so results do not depend on
//! batching or threading.
//!
//! Buffers are byte slices in GGUF layout (little-endian, no alignment assumed).

/// Defines the safe wrapper `$name` of the SIMD kernel `$inner` for `$wbytes`-byte weight blocks
/// and `$abytes`-byte activation blocks of `$qk` elements: it cuts both rows to `n / $qk`
/// blocks (panicking, like slice indexing, when a row is shorter) and calls the kernel.
#[cfg(target_arch = "x86_64")]
macro_rules! safe_kernel {
    ($name:ident, $inner:ident, $qk:expr, $wbytes:expr, $abytes:expr) => {
        fn $name(w: &[u8], act: &[u8], n: usize) -> f32 {
            let nb = n / $qk;
            let (w, act) = (&w[..nb * $wbytes], &act[..nb * $abytes]);
            // SAFETY: `vec_dot_fn_at` hands this function out only on CPUs that reach the level
            // of its module, i.e. have every target feature `$inner` enables; the kernel reads
            // only `nb` blocks of each slice, which the slicing above checked.
            unsafe { $inner(w, act, nb) }
        }
    };
}

/// Defines, for the quantized SIMD kernel `$inner::<T>` (one weight row against `T` activation
/// rows), the one-token wrapper `$name` (a [`VecDotFn`]) and the four-token wrapper `$name4` (a
/// [`VecDotX4Fn`]), cutting the rows as [`safe_kernel`] does. Both run the same generic code, so
/// each of the four results is computed by exactly the operations of the one-token kernel.
#[cfg(target_arch = "x86_64")]
macro_rules! safe_quant_kernel {
    ($name:ident, $name4:ident, $inner:ident, $qk:expr, $wbytes:expr, $abytes:expr) => {
        fn $name(w: &[u8], act: &[u8], n: usize) -> f32 {
            let nb = n / $qk;
            let (w, act) = (&w[..nb * $wbytes], &act[..nb * $abytes]);
            // SAFETY: as in `safe_kernel` (`vec_dot_x4_fn_at` checks the CPU the same way).
            unsafe { $inner::<1>(w, [act], nb)[0] }
        }

        fn $name4(w: &[u8], acts: [&[u8]; 4], n: usize) -> [f32; 4] {
            let nb = n / $qk;
            let w = &w[..nb * $wbytes];
            let acts = acts.map(|a| &a[..nb * $abytes]);
            // SAFETY: as in `safe_kernel`, for each of the four activation rows.
            unsafe { $inner::<4>(w, acts, nb) }
        }
    };
}

/// Defines, in a SIMD module whose generic kernels `q4_0_q8_0`, `q4_1_q8_1`, `q5_0_q8_0`,
/// `q8_0_q8_0`, `q4_k_q8_k` and `q6_k_q8_k` (one weight row against `T` activation rows) exist,
/// their one- and four-token wrappers ([`safe_quant_kernel`]) and the two lookups by weight type:
/// `quant_kernel` (a [`VecDotFn`]) and `kernel_x4` (a [`VecDotX4Fn`]). Every SIMD level has the
/// same six quantized kernels, so the table is written once.
#[cfg(target_arch = "x86_64")]
macro_rules! quant_kernels {
    () => {
        safe_quant_kernel!(
            vec_dot_q4_0_q8_0,
            vec_dot_x4_q4_0_q8_0,
            q4_0_q8_0,
            q4_0::QK,
            q4_0::BLOCK_BYTES,
            q8_0::BLOCK_BYTES
        );
        safe_quant_kernel!(
            vec_dot_q4_1_q8_1,
            vec_dot_x4_q4_1_q8_1,
            q4_1_q8_1,
            q4_1::QK,
            q4_1::BLOCK_BYTES,
            q8_1::BLOCK_BYTES
        );
        safe_quant_kernel!(
            vec_dot_q5_0_q8_0,
            vec_dot_x4_q5_0_q8_0,
            q5_0_q8_0,
            q5_0::QK,
            q5_0::BLOCK_BYTES,
            q8_0::BLOCK_BYTES
        );
        safe_quant_kernel!(
            vec_dot_q8_0_q8_0,
            vec_dot_x4_q8_0_q8_0,
            q8_0_q8_0,
            q8_0::QK,
            q8_0::BLOCK_BYTES,
            q8_0::BLOCK_BYTES
        );
        safe_quant_kernel!(
            vec_dot_q4_k_q8_k,
            vec_dot_x4_q4_k_q8_k,
            q4_k_q8_k,
            q4_k::QK,
            q4_k::BLOCK_BYTES,
            q8_k::BLOCK_BYTES
        );
        safe_quant_kernel!(
            vec_dot_q6_k_q8_k,
            vec_dot_x4_q6_k_q8_k,
            q6_k_q8_k,
            q6_k::QK,
            q6_k::BLOCK_BYTES,
            q8_k::BLOCK_BYTES
        );

        /// This level's kernel for quantized `weight`, if one exists. The caller
        /// ([`super::vec_dot_fn_at`]) hands it out only on CPUs that reach this level.
        fn quant_kernel(weight: GgmlType) -> Option<VecDotFn> {
            Some(match weight {
                GgmlType::Q4_0 => vec_dot_q4_0_q8_0,
                GgmlType::Q4_1 => vec_dot_q4_1_q8_1,
                GgmlType::Q5_0 => vec_dot_q5_0_q8_0,
                GgmlType::Q8_0 => vec_dot_q8_0_q8_0,
                GgmlType::Q4K => vec_dot_q4_k_q8_k,
                GgmlType::Q6K => vec_dot_q6_k_q8_k,
                _ => return None,
            })
        }

        /// This level's four-token kernel for quantized `weight`, if one exists (handed out
        /// under the same check as `quant_kernel`): its result `k` equals, bit for bit, what
        /// `quant_kernel(weight)` returns for activation row `k`.
        pub(super) fn kernel_x4(weight: GgmlType) -> Option<VecDotX4Fn> {
            Some(match weight {
                GgmlType::Q4_0 => vec_dot_x4_q4_0_q8_0,
                GgmlType::Q4_1 => vec_dot_x4_q4_1_q8_1,
                GgmlType::Q5_0 => vec_dot_x4_q5_0_q8_0,
                GgmlType::Q8_0 => vec_dot_x4_q8_0_q8_0,
                GgmlType::Q4K => vec_dot_x4_q4_k_q8_k,
                GgmlType::Q6K => vec_dot_x4_q6_k_q8_k,
                _ => return None,
            })
        }
    };
}

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
pub mod q4_0;
pub mod q4_1;
pub mod q4_k;
pub mod q5_0;
pub mod q6_k;
pub mod q8_0;
pub mod q8_1;
pub mod q8_k;

use super::{float, GgmlType};
use crate::{Error, Result};
use alloc::format;

/// Dot product of one weight row (`w`, of the weight type the function was obtained for) with
/// one activation row `act` of [`vec_dot_type`] of that weight type, both holding `n` elements.
///
/// `n` must be a multiple of the weight's block size. The kernels panic (slice indexing) if a
/// row is shorter than `n` elements need; they never read past it. Callers that hold a
/// [`super::WeightView`] and a row quantized with [`quantize_row`] have checked both lengths.
pub type VecDotFn = fn(w: &[u8], act: &[u8], n: usize) -> f32;

/// Dot products of one weight row with four activation rows (`acts`), each as [`VecDotFn`]
/// takes it: result `k` equals, bit for bit, what [`vec_dot_fn`] of the same weight type returns
/// for `acts[k]`. Unpacking each weight block once for four tokens is what makes a prefill faster
/// than four single dot products.
pub type VecDotX4Fn = fn(w: &[u8], acts: [&[u8]; 4], n: usize) -> [f32; 4];

/// `sum_b block(w_b, a_b)` over the `n / qk` block pairs of a weight row (`w_bytes` per block)
/// and an activation row (`a_bytes` per block), added in block order: the frame every portable
/// `vec_dot` shares, each module supplying only its block's term.
pub(crate) fn sum_blocks(
    w: &[u8],
    act: &[u8],
    n: usize,
    qk: usize,
    w_bytes: usize,
    a_bytes: usize,
    block: impl Fn(&[u8], &[u8]) -> f32,
) -> f32 {
    let nb = n / qk;
    w[..nb * w_bytes]
        .chunks_exact(w_bytes)
        .zip(act[..nb * a_bytes].chunks_exact(a_bytes))
        .fold(0.0, |sum, (bw, ba)| sum + block(bw, ba))
}

/// Every weight type the fast and exact paths can multiply (each has a [`vec_dot_fn`] and a
/// [`dequantize_row`]).
pub const WEIGHT_TYPES: [GgmlType; 9] = [
    GgmlType::F32,
    GgmlType::F16,
    GgmlType::BF16,
    GgmlType::Q4_0,
    GgmlType::Q4_1,
    GgmlType::Q5_0,
    GgmlType::Q8_0,
    GgmlType::Q4K,
    GgmlType::Q6K,
];

/// The quantized ones among [`WEIGHT_TYPES`]: those with SIMD kernels at every level above
/// portable, single- and four-token.
pub const QUANTIZED_WEIGHT_TYPES: [GgmlType; 6] = [
    GgmlType::Q4_0,
    GgmlType::Q4_1,
    GgmlType::Q5_0,
    GgmlType::Q8_0,
    GgmlType::Q4K,
    GgmlType::Q6K,
];

/// Bytes of `n` elements of `ty`, or an error naming `what` when `n` is not a whole number of
/// blocks.
fn row_bytes(ty: GgmlType, n: usize, what: &str) -> Result<usize> {
    ty.bytes_for(n as u64)
        .and_then(|b| usize::try_from(b).ok())
        .ok_or_else(|| {
            Error::invalid(format!(
                "{what}: {n} elements is not a whole number of {} blocks of {}",
                ty.name(),
                ty.block_size()
            ))
        })
}

/// Dequantize one row: `src` holds `dst.len()` elements of `ty` (whole blocks).
///
/// Supports F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q8_0, Q8_1, Q4_K, Q6_K and Q8_K; other types give
/// [`Error::Unsupported`], a length mismatch [`Error::InvalidArgument`].
pub fn dequantize_row(ty: GgmlType, src: &[u8], dst: &mut [f32]) -> Result<()> {
    let need = row_bytes(ty, dst.len(), "dequantize_row")?;
    if src.len() != need {
        return Err(Error::invalid(format!(
            "dequantize_row: {} {} elements need {need} bytes, got {}",
            dst.len(),
            ty.name(),
            src.len()
        )));
    }
    match ty {
        GgmlType::F32 => float::f32_to_f32(src, dst),
        GgmlType::F16 => float::f16_to_f32(src, dst),
        GgmlType::BF16 => float::bf16_to_f32(src, dst),
        GgmlType::Q4_0 => q4_0::dequantize(src, dst),
        GgmlType::Q4_1 => q4_1::dequantize(src, dst),
        GgmlType::Q5_0 => q5_0::dequantize(src, dst),
        GgmlType::Q8_0 => q8_0::dequantize(src, dst),
        GgmlType::Q8_1 => q8_1::dequantize(src, dst),
        GgmlType::Q4K => q4_k::dequantize(src, dst),
        GgmlType::Q6K => q6_k::dequantize(src, dst),
        GgmlType::Q8K => q8_k::dequantize(src, dst),
        other => return Err(Error::Unsupported(format!("dequantizing {}", other.name()))),
    }
    Ok(())
}

/// The activation block type the fast path pairs with a weight type: Q4_0/Q5_0/Q8_0 -> Q8_0,
/// Q4_1/Q5_1 -> Q8_1, K-quants -> Q8_K, everything else (F32/F16/BF16) -> F32 (activations stay
/// f32). These are ggml's `vec_dot_type`s.
pub fn vec_dot_type(weight: GgmlType) -> GgmlType {
    match weight {
        GgmlType::Q4_0 | GgmlType::Q5_0 | GgmlType::Q8_0 => GgmlType::Q8_0,
        GgmlType::Q4_1 | GgmlType::Q5_1 => GgmlType::Q8_1,
        GgmlType::Q2K | GgmlType::Q3K | GgmlType::Q4K | GgmlType::Q5K | GgmlType::Q6K => {
            GgmlType::Q8K
        }
        _ => GgmlType::F32,
    }
}

/// Quantize one activation row to `act_ty` (Q8_0, Q8_1, Q8_K, or F32 = plain little-endian
/// copy); `dst.len()` must be `act_ty.bytes_for(src.len())`.
pub fn quantize_row(act_ty: GgmlType, src: &[f32], dst: &mut [u8]) -> Result<()> {
    let need = row_bytes(act_ty, src.len(), "quantize_row")?;
    if dst.len() != need {
        return Err(Error::invalid(format!(
            "quantize_row: {} {} elements need {need} bytes, got {}",
            src.len(),
            act_ty.name(),
            dst.len()
        )));
    }
    match act_ty {
        GgmlType::F32 => float::f32_to_bytes(src, dst),
        GgmlType::Q8_0 => q8_0::quantize(src, dst),
        GgmlType::Q8_1 => q8_1::quantize(src, dst),
        GgmlType::Q8K => q8_k::quantize(src, dst),
        other => {
            return Err(Error::Unsupported(format!(
                "quantizing activations to {}",
                other.name()
            )))
        }
    }
    Ok(())
}

/// Encodes one row of weights as `ty`, as a saved model stores it: F32, F16 (round to nearest
/// even), or ggml's reference quantizers for Q8_0, Q4_0 and Q4_1 (those of `llama-quantize`);
/// `dst.len()` must be `ty.bytes_for(src.len())`. Pruned zeros stay exactly zero in all but
/// Q4_1, whose zero decodes to the block's `nib * d + min`.
pub fn encode_weight_row(ty: GgmlType, src: &[f32], dst: &mut [u8]) -> Result<()> {
    let need = row_bytes(ty, src.len(), "encode_weight_row")?;
    if dst.len() != need {
        return Err(Error::invalid(format!(
            "encode_weight_row: {} {} elements need {need} bytes, got {}",
            src.len(),
            ty.name(),
            dst.len()
        )));
    }
    match ty {
        GgmlType::F32 => float::f32_to_bytes(src, dst),
        GgmlType::F16 => float::f32_to_f16_bytes(src, dst),
        GgmlType::Q8_0 => q8_0::quantize_weights(src, dst),
        GgmlType::Q4_0 => q4_0::quantize(src, dst),
        GgmlType::Q4_1 => q4_1::quantize(src, dst),
        other => {
            return Err(Error::Unsupported(format!(
                "encoding weights as {}",
                other.name()
            )))
        }
    }
    Ok(())
}

/// The portable scalar kernel for `weight` x [`vec_dot_type`]`(weight)` (always available; the
/// reference the SIMD kernels are tested against), or [`Error::Unsupported`].
pub fn vec_dot_fn_portable(weight: GgmlType) -> Result<VecDotFn> {
    Ok(match weight {
        GgmlType::F32 => float::vec_dot_f32,
        GgmlType::F16 => float::vec_dot_f16,
        GgmlType::BF16 => float::vec_dot_bf16,
        GgmlType::Q4_0 => q4_0::vec_dot_q8_0,
        GgmlType::Q4_1 => q4_1::vec_dot_q8_1,
        GgmlType::Q5_0 => q5_0::vec_dot_q8_0,
        GgmlType::Q8_0 => q8_0::vec_dot_q8_0,
        GgmlType::Q4K => q4_k::vec_dot_q8_k,
        GgmlType::Q6K => q6_k::vec_dot_q8_k,
        other => {
            return Err(Error::Unsupported(format!(
                "dot product of {} weights",
                other.name()
            )))
        }
    })
}

/// The instruction-set levels the kernels come in, lowest first. Every level computes the same
/// integer block sums; they differ in the f32 accumulation order (each kernel's module states
/// its order and its tests the bound against [`SimdLevel::Portable`]). Within one level the
/// four-token kernel gives each token the single kernel's bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SimdLevel {
    /// The scalar kernels of the block-type modules (every CPU).
    Portable,
    /// x86-64 AVX2 + FMA + F16C (`avx2` module).
    Avx2,
    /// x86-64 AVX-512 F/BW/VL with VNNI (`vpdpbusd`, `vpdpwssd`) on top of AVX2 (`avx512`
    /// module; its float kernels are the AVX2 ones). A CPU with AVX-512 but without VNNI
    /// (Skylake-SP) runs [`SimdLevel::Avx2`].
    Avx512,
}

impl SimdLevel {
    /// Every level, lowest first.
    pub const ALL: [SimdLevel; 3] = [SimdLevel::Portable, SimdLevel::Avx2, SimdLevel::Avx512];

    /// The name `LLMCORE_SIMD` takes and the CLI and benches print: `portable`, `avx2`, `avx512`.
    pub fn name(self) -> &'static str {
        match self {
            SimdLevel::Portable => "portable",
            SimdLevel::Avx2 => "avx2",
            SimdLevel::Avx512 => "avx512",
        }
    }

    /// The level named `name` (as [`SimdLevel::name`] writes it), if any.
    pub fn from_name(name: &str) -> Option<SimdLevel> {
        SimdLevel::ALL.into_iter().find(|l| l.name() == name)
    }
}

impl core::fmt::Display for SimdLevel {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// The highest level this CPU runs: detected at run time under `std` (cached); in `no_std`, the
/// level the build's target features guarantee.
pub fn cpu_simd_level() -> SimdLevel {
    #[cfg(all(target_arch = "x86_64", feature = "std"))]
    {
        use std::is_x86_feature_detected as has;
        if !(has!("avx2") && has!("fma") && has!("f16c")) {
            SimdLevel::Portable
        } else if has!("avx512f") && has!("avx512bw") && has!("avx512vl") && has!("avx512vnni") {
            SimdLevel::Avx512
        } else {
            SimdLevel::Avx2
        }
    }
    #[cfg(all(target_arch = "x86_64", not(feature = "std")))]
    {
        if !cfg!(all(
            target_feature = "avx2",
            target_feature = "fma",
            target_feature = "f16c"
        )) {
            SimdLevel::Portable
        } else if cfg!(all(
            target_feature = "avx512f",
            target_feature = "avx512bw",
            target_feature = "avx512vl",
            target_feature = "avx512vnni"
        )) {
            SimdLevel::Avx512
        } else {
            SimdLevel::Avx2
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    SimdLevel::Portable
}

/// The level [`vec_dot_fn`] and [`vec_dot_x4_fn`] use: [`cpu_simd_level`], capped under `std`
/// by the environment variable `LLMCORE_SIMD` (`portable`, `avx2` or `avx512`; read once, at
/// the first call). A cap above the CPU's level changes nothing; an unknown value is ignored
/// with one warning on stderr naming the accepted ones.
pub fn simd_level() -> SimdLevel {
    #[cfg(feature = "std")]
    {
        static LEVEL: std::sync::OnceLock<SimdLevel> = std::sync::OnceLock::new();
        *LEVEL.get_or_init(|| {
            let cpu = cpu_simd_level();
            match std::env::var("LLMCORE_SIMD") {
                Ok(v) => match SimdLevel::from_name(&v) {
                    Some(cap) => cpu.min(cap),
                    None => {
                        std::eprintln!(
                            "llmcore: LLMCORE_SIMD={v:?} is not one of portable, avx2, avx512; \
                             using {cpu}"
                        );
                        cpu
                    }
                },
                Err(_) => cpu,
            }
        })
    }
    #[cfg(not(feature = "std"))]
    cpu_simd_level()
}

/// The single-token kernel of `level` for `weight` (for tests and benches that compare levels;
/// the runtime calls [`vec_dot_fn`]); [`Error::Unsupported`] for weight types without a kernel
/// and for a level above [`cpu_simd_level`].
pub fn vec_dot_fn_at(level: SimdLevel, weight: GgmlType) -> Result<VecDotFn> {
    let portable = vec_dot_fn_portable(weight)?;
    if level > cpu_simd_level() {
        return Err(Error::Unsupported(format!(
            "{level} kernels on a CPU whose level is {}",
            cpu_simd_level()
        )));
    }
    #[cfg(target_arch = "x86_64")]
    {
        if level == SimdLevel::Avx512 {
            if let Some(f) = avx512::kernel(weight) {
                return Ok(f);
            }
        }
        if level >= SimdLevel::Avx2 {
            if let Some(f) = avx2::kernel(weight) {
                return Ok(f);
            }
        }
    }
    Ok(portable)
}

/// The four-token kernel of `level` for `weight`, when there is one (Q4_0, Q4_1, Q5_0, Q8_0,
/// Q4_K and Q6_K at [`SimdLevel::Avx2`] and [`SimdLevel::Avx512`]; none for a level above
/// [`cpu_simd_level`]): its result `k` equals [`vec_dot_fn_at`]`(level, weight)` on `acts[k]`,
/// bit for bit. `None` means: call the single kernel once per token.
pub fn vec_dot_x4_fn_at(level: SimdLevel, weight: GgmlType) -> Option<VecDotX4Fn> {
    if level > cpu_simd_level() {
        return None;
    }
    match level {
        SimdLevel::Portable => None,
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx2 => avx2::kernel_x4(weight),
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx512 => avx512::kernel_x4(weight),
        #[cfg(not(target_arch = "x86_64"))]
        _ => None,
    }
}

/// The kernel for `weight` at [`simd_level`] (the fastest this CPU runs unless capped);
/// [`Error::Unsupported`] for weight types without a kernel.
pub fn vec_dot_fn(weight: GgmlType) -> Result<VecDotFn> {
    vec_dot_fn_at(simd_level(), weight)
}

/// The four-token kernel for `weight` at [`simd_level`], when one exists; `None` means: call
/// [`vec_dot_fn`] once per token.
pub fn vec_dot_x4_fn(weight: GgmlType) -> Option<VecDotX4Fn> {
    vec_dot_x4_fn_at(simd_level(), weight)
}

/// The f16 stored little-endian at `b[off..off + 2]`, as f32.
#[inline(always)]
fn f16_at(b: &[u8], off: usize) -> f32 {
    half::f16::from_bits(u16::from_le_bytes([b[off], b[off + 1]])).to_f32()
}

/// The f32 stored little-endian at `b[off..off + 4]`.
#[inline(always)]
fn f32_at(b: &[u8], off: usize) -> f32 {
    f32::from_le_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

/// Stores `v` as a little-endian f16 at `b[off..off + 2]` (round to nearest even).
#[inline(always)]
fn put_f16(b: &mut [u8], off: usize, v: f32) {
    b[off..off + 2].copy_from_slice(&half::f16::from_f32(v).to_bits().to_le_bytes());
}

/// The largest |x| of a block (0 for an all-zero block; NaN-free input assumed, as in ggml).
#[inline(always)]
fn abs_max(x: &[f32]) -> f32 {
    x.iter().fold(0.0f32, |m, &v| m.max(libm::fabsf(v)))
}

/// `x` rounded to the nearest integer, ties to even (what `_mm256_round_ps(_MM_ROUND_NEAREST)`
/// and ggml's `nearest_int` give), for |x| <= 2^22: adding 1.5 * 2^23 leaves the rounded value
/// in the low mantissa bits. A NaN or an infinity (from a degenerate block of a hostile file:
/// NaN weights, or a subnormal absolute maximum whose reciprocal overflows) gives an
/// unspecified integer, as in ggml's release builds, rather than a panic.
#[inline(always)]
fn nearest_int(x: f32) -> i32 {
    debug_assert!(
        !x.is_finite() || libm::fabsf(x) <= 4_194_304.0,
        "{x} is out of range"
    );
    ((x + 12_582_912.0).to_bits() & 0x007F_FFFF) as i32 - 0x0040_0000
}

#[cfg(test)]
mod tests;
