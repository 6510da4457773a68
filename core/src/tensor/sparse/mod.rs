//! Sparse weight matrices for pruned models (N:M packed and unstructured bitmask) and their
//! matrix product with f32 activation rows.
//!
//! A [`SparseMatrix`] holds a row-major `rows x cols` (out x in) weight matrix of which only the
//! kept weights are stored. Its [`SparseKind`] names how the kept positions are recorded
//! ([`Structure`]) and how the kept values are stored ([`Values`]); kinds are written
//! `"<structure>-<values>"`: `"2:4-q4"`, `"4:8-q8"`, `"unstructured-f16"`.
//!
//! # Byte layout
//!
//! All integers are little-endian; nothing is aligned. The bytes are three sections, in order:
//!
//! 1. **offsets** ([`Structure::Unstructured`] only): `rows + 1` u32, `offsets[r]` the byte
//!    offset of row `r`'s values inside the values section, with `offsets[0] = 0`, `offsets`
//!    non-decreasing and `offsets[rows]` the length of the values section.
//! 2. **masks**: `rows` keep-masks of `ceil(cols / 8)` bytes each; bit `c % 8` of byte `c / 8`
//!    is set iff column `c` is kept, and the bits of columns `>= cols` are zero. For
//!    [`Structure::NM`] (`cols` a multiple of `m`) a group of 4 columns is one nibble (even
//!    groups in the low nibble, so 2:4 costs 2 bits per kept value) and a group of 8 is one byte,
//!    and every group has exactly `m - n` bits set.
//! 3. **values**: for each row, its `K_r` kept values in column order. [`Values::F16`]: `K_r`
//!    IEEE binary16. [`Values::Q8`]: `ceil(K_r / 32)` ggml `block_q8_0` (34 bytes: f16 scale `d`,
//!    32 i8 `q`, `w = q d`). [`Values::Q4`]: `ceil(K_r / 32)` ggml `block_q4_0` (18 bytes: f16
//!    `d`, 16 bytes whose low nibbles are elements 0..16 and high nibbles elements 16..32,
//!    `w = (nib - 8) d`). A row's last block is padded with quantized zeros. N:M rows all keep
//!    `K = cols (m - n) / m` values, so their values follow each other at a fixed stride.
//!
//! Bytes per weight ([`SparseMatrix::bytes_per_weight`], for `cols` a multiple of 64 and
//! ignoring the 4 bytes per row of the unstructured offsets): 2:4-q4 and 4:8-q4 0.40625, 2:4-q8
//! and 4:8-q8 0.65625, 2:4-f16 and 4:8-f16 1.125; unstructured at density `p`: `1/8 + p * 18/32`
//! (Q4), `1/8 + p * 34/32` (Q8), `1/8 + 2p` (F16), i.e. 0.40625 / 0.65625 / 1.125 at 50%. The
//! dense CPU baseline, ggml Q4_1, takes 0.625.
//!
//! # Products
//!
//! [`SparseMatrix::matmul`] computes `y[t][r] = Σ_k x[t][k] W[r][k]` (the convention of
//! [`crate::kernels::matmul::matmul_exact`]) with the weights dequantized on the fly. Each output
//! is one call of a row kernel on (weight row `r`, activation row `t`) whose accumulation order
//! depends only on the row's layout, so a token's outputs are bit-identical whatever `n` is,
//! wherever the token sits in the batch and however many threads run. The portable kernel
//! ([`portable::dot`]) sums `s_b = Σ_j q_j x[c_j]` over each block of 32 kept values in column
//! order and adds `d_b s_b` to one running sum (F16 values are blocks with `d = 1`). The AVX2
//! kernel (x86-64 with AVX2 + FMA + F16C, chosen by [`simd_level`]) covers the structures that
//! keep 4 of every 8 columns (2:4 and 4:8) with all three value types; the other structures
//! (unstructured, 1:4, 3:4, 1:8, ...) run the portable kernel at every level.
//!
//! [`SparseMatrix::matmul_fast`] is the 8-bit activation path for Q8 and Q4 values (F16 values
//! keep f32 activations: it is `matmul` for them). Each activation row is quantized once to
//! ggml Q8_0 blocks of 32 columns (the activation quantizer of the dense fast path; a last
//! partial block as if padded with zeros). A row's kept values are then cut into segments, the
//! maximal runs that share one weight block and one activation block (for 2:4 and 4:8 a weight
//! block of 32 kept values spans 64 columns, i.e. two segments of 16), each summed exactly in
//! integers, `s = Σ q_w q_x`, and scaled by the block scales `d_w d_x`. The portable kernel
//! ([`portable::dot_q8`], every structure) adds the f32 terms `(d_w d_x) s` to one running sum in
//! column order; the AVX2 kernel (2:4 and 4:8) adds them lane-wise with FMA and reduces the lanes
//! at the end (its module states the order). Both orders depend only on the row's layout, so the
//! fast path is batch-invariant like `matmul`, and the levels differ only in f32 rounding.
//!
//! Rows are split into chunks by the dense kernels' own split
//! ([`crate::kernels::matmul`]), run on the current rayon pool under `std`; inside a chunk the
//! tokens are swept in tiles of [`TOKEN_TILE`], all rows of the chunk
//! per tile, so the chunk's weight rows stay in cache while a tile of tokens uses them.

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx2_q8;
mod portable;

use crate::kernels::matmul::for_each_row_chunk;
use crate::tensor::float::f32_to_f16_bytes;
use crate::tensor::quant::{cpu_simd_level, q4_0, q8_0, quantize_row, simd_level, SimdLevel};
use crate::tensor::GgmlType;
use crate::{Error, Result};
use alloc::{format, string::String, vec, vec::Vec};

/// The format name in the [`Error::Format`] errors of [`SparseMatrix::from_bytes`].
const FORMAT: &str = "sparse matrix";

/// Tokens per tile inside one task of [`SparseMatrix::matmul`].
const TOKEN_TILE: usize = 16;

/// Kept values per quantization block of [`Values::Q8`] and [`Values::Q4`].
const QK: usize = 32;

/// The largest finite f16, the bound on the magnitude of weights [`SparseMatrix::encode`] takes.
const F16_MAX: f32 = 65504.0;

/// Which weights of a row are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Structure {
    /// At least `n` zeros in each group of `m` consecutive columns (`m` is 4 or 8,
    /// `1 <= n < m`); exactly `m - n` weights per group are stored.
    NM { n: usize, m: usize },
    /// Any set of kept weights (the nonzeros).
    Unstructured,
}

/// How the kept values are stored (see the module documentation for the block layouts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Values {
    /// IEEE binary16, one per kept value.
    F16,
    /// ggml Q8_0 blocks of 32 kept values (symmetric int8, one f16 scale).
    Q8,
    /// ggml Q4_0 blocks of 32 kept values (symmetric 4-bit, one f16 scale).
    Q4,
}

impl Values {
    const ALL: [Values; 3] = [Values::F16, Values::Q8, Values::Q4];

    /// `"f16"`, `"q8"` or `"q4"`.
    pub fn name(self) -> &'static str {
        match self {
            Values::F16 => "f16",
            Values::Q8 => "q8",
            Values::Q4 => "q4",
        }
    }

    /// Bytes of `kept` values: `2 kept` for F16, `ceil(kept / 32)` blocks of 34 (Q8) or 18 (Q4)
    /// bytes; `None` on overflow.
    fn bytes_for(self, kept: usize) -> Option<usize> {
        match self {
            Values::F16 => kept.checked_mul(2),
            Values::Q8 | Values::Q4 => kept.div_ceil(QK).checked_mul(self.block_bytes()),
        }
    }

    /// Bytes of one block of 32 values (64 for F16, whose "blocks" have the implicit scale 1).
    fn block_bytes(self) -> usize {
        match self {
            Values::F16 => 2 * QK,
            Values::Q8 => q8_0::BLOCK_BYTES,
            Values::Q4 => q4_0::BLOCK_BYTES,
        }
    }
}

/// A sparse storage format: the structure of the kept positions and the storage of the values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SparseKind {
    pub structure: Structure,
    pub values: Values,
}

impl SparseKind {
    /// The kind's name, `"<n>:<m>-<values>"` or `"unstructured-<values>"` (`"2:4-q4"`).
    pub fn name(&self) -> String {
        match self.structure {
            Structure::NM { n, m } => format!("{n}:{m}-{}", self.values.name()),
            Structure::Unstructured => format!("unstructured-{}", self.values.name()),
        }
    }

    /// The kind named `s` (as [`SparseKind::name`] writes it), or an error naming `s`.
    pub fn parse(s: &str) -> Result<Self> {
        let bad = || {
            Error::invalid(format!(
                "unknown sparse kind {s:?}: expected \"<n>:<m>-<values>\" (m 4 or 8, 1 <= n < m) \
                 or \"unstructured-<values>\", values one of f16, q8, q4"
            ))
        };
        let (structure, values) = s.rsplit_once('-').ok_or_else(bad)?;
        let values = Values::ALL
            .into_iter()
            .find(|v| v.name() == values)
            .ok_or_else(bad)?;
        let structure = if structure == "unstructured" {
            Structure::Unstructured
        } else {
            let (n, m) = structure.split_once(':').ok_or_else(bad)?;
            Structure::NM {
                n: n.parse().map_err(|_| bad())?,
                m: m.parse().map_err(|_| bad())?,
            }
        };
        let kind = SparseKind { structure, values };
        kind.check().map_err(|_| bad())?;
        Ok(kind)
    }

    /// Checks the N:M parameters (`m` 4 or 8, `1 <= n < m`).
    fn check(&self) -> Result<()> {
        match self.structure {
            Structure::NM { n, m } if !(m == 4 || m == 8) || n == 0 || n >= m => Err(
                Error::invalid(format!("{n}:{m} sparsity: m must be 4 or 8 and 1 <= n < m")),
            ),
            _ => Ok(()),
        }
    }
}

impl core::fmt::Display for SparseKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.name())
    }
}

/// Where the sections of a matrix's bytes lie (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Layout {
    /// Bytes of the offsets section (0 for N:M).
    offsets_len: usize,
    /// Bytes of one row's mask.
    mask_bytes: usize,
    /// Start of the values section.
    values_start: usize,
    /// Bytes of one row's values (N:M only; 0 for unstructured).
    row_values: usize,
}

impl Layout {
    /// The layout of a `rows x cols` matrix of `kind`, checking that `cols` fits an N:M
    /// structure and that the sizes do not overflow.
    fn new(kind: SparseKind, rows: usize, cols: usize) -> Result<Self> {
        kind.check()?;
        let overflow = || Error::invalid(format!("{rows}x{cols} {kind} matrix size overflows"));
        let mask_bytes = cols.div_ceil(8);
        let masks_len = rows.checked_mul(mask_bytes).ok_or_else(overflow)?;
        let (offsets_len, row_values) = match kind.structure {
            Structure::NM { n, m } => {
                if !cols.is_multiple_of(m) {
                    return Err(Error::invalid(format!(
                        "{kind}: {cols} columns is not a multiple of the group size {m}"
                    )));
                }
                let kept = cols / m * (m - n);
                let row_values = kind.values.bytes_for(kept).ok_or_else(overflow)?;
                rows.checked_mul(row_values).ok_or_else(overflow)?;
                (0, row_values)
            }
            Structure::Unstructured => {
                let len = rows
                    .checked_add(1)
                    .and_then(|r| r.checked_mul(4))
                    .ok_or_else(overflow)?;
                (len, 0)
            }
        };
        let values_start = offsets_len.checked_add(masks_len).ok_or_else(overflow)?;
        // The N:M total must fit too (it is checked again against the real length).
        values_start
            .checked_add(rows * row_values)
            .ok_or_else(overflow)?;
        Ok(Layout {
            offsets_len,
            mask_bytes,
            values_start,
            row_values,
        })
    }
}

/// A row-major `rows x cols` weight matrix stored sparsely as its [`SparseKind`] says (layout in
/// the module documentation). Every constructor validates the bytes, so the accessors and
/// kernels never read out of bounds.
#[derive(Debug, Clone, PartialEq)]
pub struct SparseMatrix {
    kind: SparseKind,
    rows: usize,
    cols: usize,
    layout: Layout,
    bytes: Vec<u8>,
}

impl SparseMatrix {
    /// Encodes the row-major `rows x cols` matrix `w`. A weight is kept iff it is nonzero,
    /// except that an N:M group with more than `n` zeros also keeps its first zeros, up to
    /// `m - n` kept weights. Q8 and Q4 blocks are quantized by ggml's reference quantizers
    /// ([`q8_0::quantize_weights`], [`q4_0::quantize`]), so a kept zero decodes to zero.
    ///
    /// Errors: `w.len() != rows * cols`; an N:M kind with `cols` not a multiple of `m`, or a
    /// group with fewer than `n` zeros (naming the row, the group and its columns); a weight that
    /// is not finite or exceeds the f16 range 65504 in magnitude (naming row and column); an
    /// unstructured values section above 4 GiB (u32 offsets).
    pub fn encode(w: &[f32], rows: usize, cols: usize, kind: SparseKind) -> Result<Self> {
        let layout = Layout::new(kind, rows, cols)?;
        if Some(w.len()) != rows.checked_mul(cols) {
            return Err(Error::invalid(format!(
                "{rows}x{cols} {kind} matrix: got {} weights",
                w.len()
            )));
        }
        let mut masks = vec![0u8; rows * layout.mask_bytes];
        let mut values = Vec::new();
        let mut offsets = Vec::new();
        let mut kept = Vec::with_capacity(cols);
        let mb = layout.mask_bytes;
        for r in 0..rows {
            let (wr, mask) = (
                &w[r * cols..(r + 1) * cols],
                &mut masks[r * mb..(r + 1) * mb],
            );
            if let Some(c) = wr
                .iter()
                .position(|v| v.is_nan() || libm::fabsf(*v) > F16_MAX)
            {
                return Err(Error::invalid(format!(
                    "{kind} matrix: weight {} at row {r}, column {c} is not finite or exceeds \
                     the f16 range",
                    wr[c]
                )));
            }
            let mut keep = |c: usize| mask[c / 8] |= 1 << (c % 8);
            match kind.structure {
                Structure::NM { n, m } => {
                    for (g, group) in wr.chunks_exact(m).enumerate() {
                        let zeros = group.iter().filter(|v| **v == 0.0).count();
                        if zeros < n {
                            return Err(Error::invalid(format!(
                                "{kind} matrix: row {r}, group {g} (columns {}..{}) has {zeros} \
                                 zeros, {n}:{m} sparsity needs at least {n}",
                                g * m,
                                (g + 1) * m
                            )));
                        }
                        let mut extra = zeros - n;
                        for (j, v) in group.iter().enumerate() {
                            if *v != 0.0 || extra > 0 {
                                extra -= (*v == 0.0) as usize;
                                keep(g * m + j);
                            }
                        }
                    }
                }
                Structure::Unstructured => {
                    for (c, v) in wr.iter().enumerate() {
                        if *v != 0.0 {
                            keep(c);
                        }
                    }
                }
            }
            kept.clear();
            kept.extend(portable::kept_columns(mask).map(|c| wr[c]));
            if kind.structure == Structure::Unstructured {
                let off = u32::try_from(values.len()).map_err(|_| {
                    Error::invalid(format!(
                        "{rows}x{cols} {kind} matrix: values exceed 4 GiB at row {r}"
                    ))
                })?;
                offsets.extend_from_slice(&off.to_le_bytes());
            }
            let start = values.len();
            // `Layout::new` bounded the N:M sizes; an unstructured row is at most as long.
            values.resize(start + kind.values.bytes_for(kept.len()).unwrap_or(0), 0);
            let dst = &mut values[start..];
            match kind.values {
                Values::F16 => f32_to_f16_bytes(&kept, dst),
                Values::Q8 | Values::Q4 => {
                    kept.resize(kept.len().div_ceil(QK) * QK, 0.0);
                    if kind.values == Values::Q8 {
                        q8_0::quantize_weights(&kept, dst);
                    } else {
                        q4_0::quantize(&kept, dst);
                    }
                }
            }
        }
        if kind.structure == Structure::Unstructured {
            let end = u32::try_from(values.len()).map_err(|_| {
                Error::invalid(format!("{rows}x{cols} {kind} matrix: values exceed 4 GiB"))
            })?;
            offsets.extend_from_slice(&end.to_le_bytes());
        }
        let mut bytes = offsets;
        bytes.extend_from_slice(&masks);
        bytes.extend_from_slice(&values);
        Ok(SparseMatrix {
            kind,
            rows,
            cols,
            layout,
            bytes,
        })
    }

    /// Takes the bytes of a `rows x cols` matrix of `kind` (as [`SparseMatrix::bytes`] gives
    /// them) after checking all of them: the total length, the offsets (start at 0,
    /// non-decreasing, ending at the values length, each row's span the size of its kept
    /// values), the masks (no bits past `cols`, exactly `m - n` per N:M group). Errors are
    /// [`Error::Format`] with the byte offset of the first problem. Scales and codes are not
    /// checked: every bit pattern decodes (a NaN scale gives NaN outputs, not a fault).
    pub fn from_bytes(kind: SparseKind, rows: usize, cols: usize, bytes: Vec<u8>) -> Result<Self> {
        let layout = Layout::new(kind, rows, cols)?;
        let err = |offset: usize, message: String| Error::format(FORMAT, offset as u64, message);
        let mb = layout.mask_bytes;
        let tail_bits = match cols % 8 {
            0 => 0u8,
            k => !((1u8 << k) - 1),
        };
        let check_mask = |r: usize, mask: &[u8]| -> Result<usize> {
            let at = layout.offsets_len + r * mb;
            if mb > 0 && mask[mb - 1] & tail_bits != 0 {
                return Err(err(
                    at + mb - 1,
                    format!("row {r}: mask bits set past column {cols}"),
                ));
            }
            if let Structure::NM { n, m } = kind.structure {
                for g in 0..cols / m {
                    let c = g * m;
                    let bits = (mask[c / 8] >> (c % 8)) & ((1u16 << m) - 1) as u8;
                    if bits.count_ones() as usize != m - n {
                        return Err(err(
                            at + c / 8,
                            format!(
                                "row {r}, group {g}: {} kept weights, {kind} keeps {}",
                                bits.count_ones(),
                                m - n
                            ),
                        ));
                    }
                }
            }
            Ok(mask.iter().map(|b| b.count_ones() as usize).sum())
        };
        match kind.structure {
            Structure::NM { .. } => {
                let need = layout.values_start + rows * layout.row_values;
                if bytes.len() != need {
                    return Err(err(
                        bytes.len().min(need),
                        format!(
                            "{rows}x{cols} {kind} matrix needs {need} bytes, got {}",
                            bytes.len()
                        ),
                    ));
                }
                for r in 0..rows {
                    let at = layout.offsets_len + r * mb;
                    check_mask(r, &bytes[at..at + mb])?;
                }
            }
            Structure::Unstructured => {
                if bytes.len() < layout.values_start {
                    return Err(err(
                        bytes.len(),
                        format!(
                            "{rows}x{cols} {kind} matrix needs at least {} bytes of offsets and \
                             masks, got {}",
                            layout.values_start,
                            bytes.len()
                        ),
                    ));
                }
                let values_len = bytes.len() - layout.values_start;
                let offset = |r: usize| u32_at(&bytes, 4 * r) as usize;
                if offset(0) != 0 {
                    return Err(err(0, format!("offset of row 0 is {}, not 0", offset(0))));
                }
                if offset(rows) != values_len {
                    return Err(err(
                        4 * rows,
                        format!(
                            "end offset {} differs from the values length {values_len}",
                            offset(rows)
                        ),
                    ));
                }
                for r in 0..rows {
                    let (start, end) = (offset(r), offset(r + 1));
                    if end < start || end > values_len {
                        return Err(err(
                            4 * (r + 1),
                            format!("offset of row {} is {end}: below {start} or past the values length {values_len}", r + 1),
                        ));
                    }
                    let at = layout.offsets_len + r * mb;
                    let kept = check_mask(r, &bytes[at..at + mb])?;
                    let need = kind.values.bytes_for(kept).unwrap_or(usize::MAX);
                    if end - start != need {
                        return Err(err(
                            4 * (r + 1),
                            format!(
                                "row {r} keeps {kept} weights ({need} value bytes) but its \
                                 offsets span {} bytes",
                                end - start
                            ),
                        ));
                    }
                }
            }
        }
        Ok(SparseMatrix {
            kind,
            rows,
            cols,
            layout,
            bytes,
        })
    }

    /// The storage format.
    pub fn kind(&self) -> SparseKind {
        self.kind
    }

    /// Output rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Input columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The encoded bytes (layout in the module documentation).
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Stored bytes per weight of the dense matrix, `bytes().len() / (rows * cols)` (0 for an
    /// empty matrix).
    pub fn bytes_per_weight(&self) -> f64 {
        let weights = self.rows as f64 * self.cols as f64;
        if weights == 0.0 {
            0.0
        } else {
            self.bytes.len() as f64 / weights
        }
    }

    /// Row `r`'s mask and value bytes.
    fn row(&self, r: usize) -> (&[u8], &[u8]) {
        let l = &self.layout;
        let mask = &self.bytes[l.offsets_len + r * l.mask_bytes..][..l.mask_bytes];
        let values = match self.kind.structure {
            Structure::NM { .. } => {
                &self.bytes[l.values_start + r * l.row_values..][..l.row_values]
            }
            Structure::Unstructured => {
                let (start, end) = (
                    u32_at(&self.bytes, 4 * r) as usize,
                    u32_at(&self.bytes, 4 * (r + 1)) as usize,
                );
                &self.bytes[l.values_start + start..l.values_start + end]
            }
        };
        (mask, values)
    }

    /// The dense row-major matrix with the kept values dequantized (`w = q d`, F16 exactly) and
    /// zeros elsewhere.
    pub fn to_f32(&self) -> Vec<f32> {
        let mut dense = vec![0.0f32; self.rows * self.cols];
        for (r, out) in dense.chunks_exact_mut(self.cols.max(1)).enumerate() {
            let (mask, values) = self.row(r);
            portable::for_each_kept(self.kind.values, mask, values, |c, q, d| out[c] = q * d);
        }
        dense
    }

    /// `y[t][r] = Σ_k x[t][k] W[r][k]` for the `n` rows of `x` (`n x cols`, row-major) into `y`
    /// (`n x rows`), with the kernel of [`simd_level`]; see the module documentation for the
    /// accumulation order and the batch invariance.
    pub fn matmul(&self, x: &[f32], n: usize, y: &mut [f32]) -> Result<()> {
        self.matmul_at(simd_level(), x, n, y)
    }

    /// [`SparseMatrix::matmul`] with the kernel of `level` (for tests and benches comparing
    /// levels); [`Error::Unsupported`] for a level above [`cpu_simd_level`].
    pub fn matmul_at(&self, level: SimdLevel, x: &[f32], n: usize, y: &mut [f32]) -> Result<()> {
        if !self.check_product(level, x, n, y)? {
            return Ok(());
        }
        let cols = self.cols;
        let dot = row_kernel(level, self.kind);
        let values = self.kind.values;
        self.for_each_output(n, y, |mask, vals, t| {
            dot(values, mask, vals, &x[t * cols..(t + 1) * cols])
        })
    }

    /// The fast path: `y[t][r] = Σ_k q(x[t])[k] W[r][k]` with each activation row quantized
    /// once to ggml Q8_0 blocks of 32 columns (`q(x)` the dequantized blocks; a last partial
    /// block is quantized as if padded with zeros) and integer products per segment (the kept
    /// values of one weight block inside one activation block): see the module documentation
    /// for the accumulation order and the batch invariance. F16 values keep f32 activations (as
    /// dense F16 weights do in [`crate::kernels::matmul::matmul_fast`]): for them this is
    /// [`SparseMatrix::matmul`].
    pub fn matmul_fast(&self, x: &[f32], n: usize, y: &mut [f32]) -> Result<()> {
        self.matmul_fast_at(simd_level(), x, n, y)
    }

    /// [`SparseMatrix::matmul_fast`] with the kernel of `level` (for tests and benches comparing
    /// levels); [`Error::Unsupported`] for a level above [`cpu_simd_level`].
    pub fn matmul_fast_at(
        &self,
        level: SimdLevel,
        x: &[f32],
        n: usize,
        y: &mut [f32],
    ) -> Result<()> {
        if self.kind.values == Values::F16 {
            return self.matmul_at(level, x, n, y);
        }
        if !self.check_product(level, x, n, y)? {
            return Ok(());
        }
        let cols = self.cols;
        let (dot, (code_len, scale_len)) = fast_row_kernel(level, self.kind, cols);
        let row_bytes = cols.div_ceil(QK) * q8_0::BLOCK_BYTES;
        let mut blocks = vec![0u8; n * row_bytes];
        let mut codes = vec![0u8; n * code_len];
        let mut scales = vec![0.0f32; n * scale_len];
        let padded = cols.div_ceil(QK) * QK;
        let mut pad = vec![0.0f32; if padded == cols { 0 } else { padded }];
        for t in 0..n {
            let src = &x[t * cols..(t + 1) * cols];
            let src = if pad.is_empty() {
                src
            } else {
                pad[..cols].copy_from_slice(src);
                &pad
            };
            let dst = &mut blocks[t * row_bytes..(t + 1) * row_bytes];
            quantize_row(GgmlType::Q8_0, src, dst)?;
            #[cfg(target_arch = "x86_64")]
            if code_len > 0 {
                avx2_q8::pack(
                    dst,
                    cols,
                    &mut codes[t * code_len..(t + 1) * code_len],
                    &mut scales[t * scale_len..(t + 1) * scale_len],
                );
            }
        }
        let values = self.kind.values;
        self.for_each_output(n, y, |mask, vals, t| {
            let row = QuantRow {
                blocks: &blocks[t * row_bytes..(t + 1) * row_bytes],
                codes: &codes[t * code_len..(t + 1) * code_len],
                scales: &scales[t * scale_len..(t + 1) * scale_len],
            };
            dot(values, mask, vals, &row, cols)
        })
    }

    /// Checks a product's level and buffer lengths; `Ok(false)` when there is nothing to compute
    /// (no rows or no tokens).
    fn check_product(&self, level: SimdLevel, x: &[f32], n: usize, y: &[f32]) -> Result<bool> {
        if level > cpu_simd_level() {
            return Err(Error::Unsupported(format!(
                "{level} kernels on a CPU whose level is {}",
                cpu_simd_level()
            )));
        }
        let (rows, cols) = (self.rows, self.cols);
        if Some(x.len()) != n.checked_mul(cols) {
            return Err(Error::invalid(format!(
                "sparse matmul input: {} values for {n} rows of {cols}",
                x.len()
            )));
        }
        if Some(y.len()) != n.checked_mul(rows) {
            return Err(Error::invalid(format!(
                "sparse matmul output: {} values for {n} rows of {rows}",
                y.len()
            )));
        }
        Ok(rows > 0 && n > 0)
    }

    /// `y[t][r] = out(mask_r, values_r, t)` for every row `r` and token `t < n`, on the row
    /// chunks of [`for_each_row_chunk`], tokens in tiles of [`TOKEN_TILE`].
    fn for_each_output(
        &self,
        n: usize,
        y: &mut [f32],
        out: impl Fn(&[u8], &[u8], usize) -> f32 + Sync + Send,
    ) -> Result<()> {
        // `o[i * n + t] = y[t][r0 + i]` for the chunk's rows `r0..`.
        for_each_row_chunk(self.rows, n, y, |_, r0, o| {
            let nr = o.len() / n;
            for t0 in (0..n).step_by(TOKEN_TILE) {
                let t1 = (t0 + TOKEN_TILE).min(n);
                for i in 0..nr {
                    let (mask, vals) = self.row(r0 + i);
                    for t in t0..t1 {
                        o[i * n + t] = out(mask, vals, t);
                    }
                }
            }
            Ok(())
        })
    }
}

/// A row kernel: `Σ_c W[c] x[c]` of one weight row, given as its mask and value bytes (validated
/// for `values` and `x.len()` columns), with the activation row `x`.
type RowDot = fn(values: Values, mask: &[u8], vals: &[u8], x: &[f32]) -> f32;

/// The row kernel of `level` for `kind`: the AVX2 one for 2:4 and 4:8 at [`SimdLevel::Avx2`]
/// and above (the caller has checked `level` against the CPU), the portable one otherwise.
fn row_kernel(level: SimdLevel, kind: SparseKind) -> RowDot {
    #[cfg(target_arch = "x86_64")]
    if level >= SimdLevel::Avx2 {
        if let Some(f) = avx2::kernel(kind) {
            return f;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (level, kind);
    portable::dot
}

/// One activation row of the fast path.
struct QuantRow<'a> {
    /// The row as ggml Q8_0 blocks, `ceil(cols / 32)` of them (the last one quantized as if
    /// padded with zeros).
    blocks: &'a [u8],
    /// The same codes repacked for the AVX2 kernel (`avx2_q8::pack`), or empty when the row's
    /// kernel does not read them.
    codes: &'a [u8],
    /// The matching f32 activation scales (`avx2_q8::pack`), or empty likewise.
    scales: &'a [f32],
}

/// A fast-path row kernel: `Σ_c W[c] q_x[c] d_x` of one weight row, given as its mask and
/// value bytes (validated for Q8 or Q4 `values` and `cols` columns), with the activation row
/// `x`.
type RowDotQ8 = fn(values: Values, mask: &[u8], vals: &[u8], x: &QuantRow<'_>, cols: usize) -> f32;

/// The fast-path row kernel of `level` for `kind` and the lengths of the packed codes and
/// scales of [`QuantRow`] it reads for a row of `cols` activations: the AVX2 one for 2:4 and
/// 4:8 at [`SimdLevel::Avx2`] and above (the caller has checked `level` against the CPU), the
/// portable one (no packed values, `(0, 0)`) otherwise.
fn fast_row_kernel(level: SimdLevel, kind: SparseKind, cols: usize) -> (RowDotQ8, (usize, usize)) {
    #[cfg(target_arch = "x86_64")]
    if level >= SimdLevel::Avx2 {
        if let Some(f) = avx2_q8::kernel(kind) {
            return (f, avx2_q8::packed_len(cols));
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (level, kind, cols);
    (portable::dot_q8, (0, 0))
}

/// The little-endian u32 at `b[off..off + 4]`.
fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

#[cfg(test)]
mod tests;
