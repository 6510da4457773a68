use super::*;
use crate::kernels::TestRng;
use alloc::string::ToString;
use proptest::prelude::*;

/// Uniform in [0, 1) from the kernels' test generator.
fn unit(rng: &mut TestRng) -> f32 {
    (rng.next_u64() >> 40) as f32 / (1u64 << 24) as f32
}

/// Uniform in 0..n.
fn below(rng: &mut TestRng, n: usize) -> usize {
    (rng.next_u64() % n as u64) as usize
}

const STRUCTURES: [Structure; 6] = [
    Structure::NM { n: 2, m: 4 },
    Structure::NM { n: 4, m: 8 },
    Structure::NM { n: 1, m: 4 },
    Structure::NM { n: 3, m: 4 },
    Structure::NM { n: 5, m: 8 },
    Structure::Unstructured,
];

fn kind(which: usize) -> SparseKind {
    SparseKind {
        structure: STRUCTURES[which / 3],
        values: Values::ALL[which % 3],
    }
}

const KINDS: usize = 18;

/// A column count that fits `structure`: `groups` groups of `m`, or `groups * 3 + 1` columns
/// for unstructured (so partial mask bytes and value blocks both occur).
fn cols_for(structure: Structure, groups: usize) -> usize {
    match structure {
        Structure::NM { m, .. } => m * groups,
        Structure::Unstructured => 3 * groups + 1,
    }
}

/// A random `rows x cols` matrix fitting `structure` whose kept weights are exactly its nonzeros:
/// magnitudes in [0.05, 1) times `scale` with random signs, exactly `n` zeros per N:M group
/// (at random positions) and about half zeros for unstructured.
fn sparse_weights(
    rng: &mut TestRng,
    rows: usize,
    cols: usize,
    structure: Structure,
    scale: f32,
) -> Vec<f32> {
    let mut w: Vec<f32> = (0..rows * cols)
        .map(|_| {
            let v = (0.05 + 0.95 * unit(rng)) * scale;
            if rng.next_u64() & 1 == 0 {
                v
            } else {
                -v
            }
        })
        .collect();
    match structure {
        Structure::NM { n, m } => {
            for g in w.chunks_exact_mut(m) {
                let mut zeros = 0;
                while zeros < n {
                    let j = below(rng, m);
                    if g[j] != 0.0 {
                        g[j] = 0.0;
                        zeros += 1;
                    }
                }
            }
        }
        Structure::Unstructured => {
            for v in w.iter_mut() {
                if rng.next_u64() & 1 == 0 {
                    *v = 0.0;
                }
            }
        }
    }
    w
}

fn activations(rng: &mut TestRng, len: usize) -> Vec<f32> {
    (0..len).map(|_| 2.0 * unit(rng) - 1.0).collect()
}

/// The levels this CPU runs that have distinct sparse kernels.
fn levels() -> Vec<SimdLevel> {
    [SimdLevel::Portable, SimdLevel::Avx2]
        .into_iter()
        .filter(|l| *l <= cpu_simd_level())
        .collect()
}

/// `|y - y_ref| <= 1e-5 Σ_k |x[t][k] W[r][k]|` against the f64 product of `to_f32()`: f32
/// summation of at most a few hundred terms (per-block sums, then the block sums; lane sums
/// and FMA in the AVX2 kernel) errs by about `sqrt(K) 2^-24` of that magnitude, far below the
/// bound, which still catches any wrong or missing term.
fn check_against_reference(
    m: &SparseMatrix,
    x: &[f32],
    n: usize,
    y: &[f32],
) -> core::result::Result<(), TestCaseError> {
    let (rows, cols) = (m.rows(), m.cols());
    let dense = m.to_f32();
    for t in 0..n {
        for r in 0..rows {
            let (mut exact, mut mag) = (0.0f64, 0.0f64);
            for k in 0..cols {
                let p = x[t * cols + k] as f64 * dense[r * cols + k] as f64;
                exact += p;
                mag += p.abs();
            }
            let got = y[t * rows + r] as f64;
            prop_assert!(
                (got - exact).abs() <= 1e-5 * mag + 1e-30,
                "{} {rows}x{cols} n={n}: y[{t}][{r}] = {got}, reference {exact} (magnitude {mag})",
                m.kind()
            );
        }
    }
    Ok(())
}

/// The activation row `x` as the fast path sees it: quantized to Q8_0 blocks of 32 (a last
/// partial block as if padded with zeros) and dequantized, `cols` values.
fn q8_0_round_trip(x: &[f32]) -> Vec<f32> {
    let padded = x.len().div_ceil(QK) * QK;
    let mut src = x.to_vec();
    src.resize(padded, 0.0);
    let mut q = vec![0u8; padded / QK * q8_0::BLOCK_BYTES];
    quantize_row(GgmlType::Q8_0, &src, &mut q).unwrap();
    let mut back = vec![0.0f32; padded];
    q8_0::dequantize(&q, &mut back);
    back.truncate(x.len());
    back
}

/// The Q8 and Q4 kinds (those whose fast path has 8-bit activations), by index `< 12`.
fn quantized_kind(which: usize) -> SparseKind {
    SparseKind {
        structure: STRUCTURES[which / 2],
        values: [Values::Q8, Values::Q4][which % 2],
    }
}

/// `|y - y_ref| <= 1e-5 Σ_k |q(x)[t][k] W[r][k]|` against the f64 product of `to_f32()` with
/// the dequantized Q8_0 activations `q(x)` ([`q8_0_round_trip`]). Every product `q_w d_w q_x
/// d_x` is exact in f64, the integer segment sums are exact, so the kernels' only errors are
/// the f32 roundings of `d_w d_x`, of its product with the sum and of the accumulation over at
/// most ~100 segments (rows up to 2048 columns; lanes and FMA in the AVX2 kernel): below
/// `(100 + 3) 2^-24 < 6.2e-6` of the magnitude.
fn check_fast_against_reference(
    m: &SparseMatrix,
    x: &[f32],
    n: usize,
    y: &[f32],
) -> core::result::Result<(), TestCaseError> {
    let (rows, cols) = (m.rows(), m.cols());
    let dense = m.to_f32();
    for t in 0..n {
        let xq = q8_0_round_trip(&x[t * cols..(t + 1) * cols]);
        for r in 0..rows {
            let (mut exact, mut mag) = (0.0f64, 0.0f64);
            for k in 0..cols {
                let p = xq[k] as f64 * dense[r * cols + k] as f64;
                exact += p;
                mag += p.abs();
            }
            let got = y[t * rows + r] as f64;
            prop_assert!(
                (got - exact).abs() <= 1e-5 * mag + 1e-30,
                "{} {rows}x{cols} n={n}: fast y[{t}][{r}] = {got}, reference {exact} (magnitude {mag})",
                m.kind()
            );
        }
    }
    Ok(())
}

#[test]
fn kind_names_round_trip() {
    for which in 0..KINDS {
        let k = kind(which);
        assert_eq!(SparseKind::parse(&k.name()).unwrap(), k, "{k}");
        assert_eq!(k.to_string(), k.name());
    }
    assert_eq!(kind(2).name(), "2:4-q4");
    assert_eq!(kind(4).name(), "4:8-q8");
    assert_eq!(kind(15).name(), "unstructured-f16");
    for bad in [
        "",
        "2:4",
        "2:4-q5",
        "2:5-q4",
        "0:4-q4",
        "4:4-f16",
        "9:8-q8",
        "dense-f16",
        "a:4-q4",
        "2:4:8-q4",
    ] {
        let e = SparseKind::parse(bad).unwrap_err().to_string();
        assert!(e.contains("unknown sparse kind"), "{bad}: {e}");
    }
}

#[test]
fn bytes_per_weight_of_each_format() {
    let (rows, cols) = (4, 1024);
    let expect = [
        ("2:4-f16", 1.125),
        ("2:4-q8", 0.65625),
        ("2:4-q4", 0.40625),
        ("4:8-f16", 1.125),
        ("4:8-q8", 0.65625),
        ("4:8-q4", 0.40625),
        // Half the columns kept, plus (rows + 1) u32 offsets.
        ("unstructured-q4", 0.40625 + 20.0 / 4096.0),
        ("unstructured-q8", 0.65625 + 20.0 / 4096.0),
        ("unstructured-f16", 1.125 + 20.0 / 4096.0),
    ];
    let w: Vec<f32> = (0..rows * cols)
        .map(|i| if i % 4 < 2 { 0.0 } else { 1.0 + (i % 7) as f32 })
        .collect();
    for (name, bpw) in expect {
        let m = SparseMatrix::encode(&w, rows, cols, SparseKind::parse(name).unwrap()).unwrap();
        assert_eq!(m.bytes_per_weight(), bpw, "{name}");
    }
}

#[test]
fn encode_rejects_matrices_that_do_not_fit() {
    let k24 = SparseKind::parse("2:4-q4").unwrap();
    let mut w = vec![0.0f32; 2 * 16];
    for (i, v) in w.iter_mut().enumerate() {
        if i % 4 >= 2 {
            *v = 1.0;
        }
    }
    w[16 + 9] = 0.5; // row 1, group 2 (columns 8..12) now has one zero
    let e = SparseMatrix::encode(&w, 2, 16, k24)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("row 1, group 2 (columns 8..12) has 1 zeros"),
        "{e}"
    );
    let e = SparseMatrix::encode(&[0.0; 12], 2, 6, k24)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("6 columns is not a multiple of the group size 4"),
        "{e}"
    );
    let e = SparseMatrix::encode(&[0.0; 7], 2, 4, k24)
        .unwrap_err()
        .to_string();
    assert!(e.contains("got 7 weights"), "{e}");
    let mut w = vec![0.0f32; 8];
    w[3] = f32::NAN;
    let e = SparseMatrix::encode(&w, 1, 8, k24).unwrap_err().to_string();
    assert!(e.contains("row 0, column 3 is not finite"), "{e}");
    w[3] = 1e6;
    let e = SparseMatrix::encode(&w, 1, 8, SparseKind::parse("unstructured-f16").unwrap())
        .unwrap_err()
        .to_string();
    assert!(e.contains("exceeds the f16 range"), "{e}");
    let bad = SparseKind {
        structure: Structure::NM { n: 2, m: 6 },
        values: Values::Q4,
    };
    assert!(SparseMatrix::encode(&[0.0; 6], 1, 6, bad).is_err());
}

#[test]
fn extra_zeros_and_empty_shapes() {
    // An all-zero 2:4 matrix keeps the first two zeros of every group and multiplies to zero.
    for which in 0..KINDS {
        let k = kind(which);
        let cols = cols_for(k.structure, 9);
        let m = SparseMatrix::encode(&vec![0.0; 3 * cols], 3, cols, k).unwrap();
        assert!(m.to_f32().iter().all(|v| *v == 0.0));
        for fast in [false, true] {
            let mut y = vec![1.0f32; 2 * 3];
            let x = vec![1.0; 2 * cols];
            if fast {
                m.matmul_fast(&x, 2, &mut y).unwrap();
            } else {
                m.matmul(&x, 2, &mut y).unwrap();
            }
            assert!(y.iter().all(|v| *v == 0.0), "{k} fast {fast}");
        }
        for (rows, cols) in [(0, cols), (3, 0), (0, 0)] {
            let m = SparseMatrix::encode(&[], rows, cols, k).unwrap();
            let again = SparseMatrix::from_bytes(k, rows, cols, m.bytes().to_vec()).unwrap();
            assert_eq!(again, m);
            let mut y = vec![7.0f32; 2 * rows];
            m.matmul(&vec![1.0; 2 * cols], 2, &mut y).unwrap();
            assert!(y.iter().all(|v| *v == 0.0), "{k} {rows}x{cols}");
            let mut y = vec![7.0f32; 2 * rows];
            m.matmul_fast(&vec![1.0; 2 * cols], 2, &mut y).unwrap();
            assert!(y.iter().all(|v| *v == 0.0), "{k} {rows}x{cols} fast");
        }
    }
}

#[test]
fn matmul_checks_its_buffers() {
    let k = SparseKind::parse("2:4-f16").unwrap();
    let m = SparseMatrix::encode(&[0.0; 16], 2, 8, k).unwrap();
    let mut y = vec![0.0; 4];
    assert!(m.matmul(&[0.0; 15], 2, &mut y).is_err());
    assert!(m.matmul(&[0.0; 16], 2, &mut y[..3]).is_err());
    assert!(m.matmul(&[0.0; 16], 2, &mut y).is_ok());
    let k = SparseKind::parse("2:4-q4").unwrap();
    let m = SparseMatrix::encode(&[0.0; 16], 2, 8, k).unwrap();
    assert!(m.matmul_fast(&[0.0; 15], 2, &mut y).is_err());
    assert!(m.matmul_fast(&[0.0; 16], 2, &mut y[..3]).is_err());
    assert!(m.matmul_fast(&[0.0; 16], 2, &mut y).is_ok());
}

#[test]
fn from_bytes_rejects_bad_masks_and_offsets() {
    let mut rng = TestRng::new(0x5EED);
    let k = SparseKind::parse("2:4-q4").unwrap();
    let w = sparse_weights(&mut rng, 3, 40, k.structure, 1.0);
    let m = SparseMatrix::encode(&w, 3, 40, k).unwrap();
    // One more kept weight in row 1's first group.
    let mut b = m.bytes().to_vec();
    let at = 5; // row 1's mask starts at byte 5 (40 columns = 5 mask bytes)
    b[at] = 0b0111;
    let e = SparseMatrix::from_bytes(k, 3, 40, b)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("row 1, group 0: 3 kept weights") && e.contains("offset 5"),
        "{e}"
    );
    // Wrong total length.
    let e = SparseMatrix::from_bytes(k, 3, 40, m.bytes()[1..].to_vec())
        .unwrap_err()
        .to_string();
    assert!(e.contains("needs"), "{e}");

    let k = SparseKind::parse("unstructured-q8").unwrap();
    let w = sparse_weights(&mut rng, 3, 13, k.structure, 1.0);
    let m = SparseMatrix::encode(&w, 3, 13, k).unwrap();
    // Offsets out of order.
    let mut b = m.bytes().to_vec();
    b[4..8].copy_from_slice(&1000u32.to_le_bytes());
    assert!(SparseMatrix::from_bytes(k, 3, 13, b).is_err());
    // A mask bit past the last column (column 13 of 16 bits).
    let mut b = m.bytes().to_vec();
    b[16 + 1] |= 0x20;
    let e = SparseMatrix::from_bytes(k, 3, 13, b)
        .unwrap_err()
        .to_string();
    assert!(e.contains("past column 13"), "{e}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// F16-representable kept values come back exactly.
    #[test]
    fn f16_round_trip_is_exact(seed in any::<u64>(), rows in 1usize..6, groups in 1usize..40, s in 0usize..6) {
        let mut rng = TestRng::new(seed);
        let k = SparseKind { structure: STRUCTURES[s], values: Values::F16 };
        let cols = cols_for(k.structure, groups);
        let w: Vec<f32> = sparse_weights(&mut rng, rows, cols, k.structure, 3.0)
            .iter()
            .map(|v| half::f16::from_f32(*v).to_f32())
            .collect();
        let m = SparseMatrix::encode(&w, rows, cols, k).unwrap();
        prop_assert_eq!(m.to_f32(), w);
    }

    /// Q8 and Q4 kept values come back within the quantizer's bound, per block of 32 kept values
    /// with `a` its largest |w|: Q8 `0.57 a / 127` (half a step plus the f16 rounding of the
    /// scale, 127 * 2^-11 steps), Q4 `1.01 a / 8` (a full step where the side opposite the
    /// signed maximum clamps at code 15, plus the scale's rounding). Dropped weights stay zero.
    #[test]
    fn quantized_round_trip_within_bound(seed in any::<u64>(), rows in 1usize..6, groups in 1usize..60, s in 0usize..6, q4 in any::<bool>()) {
        let mut rng = TestRng::new(seed);
        let k = SparseKind { structure: STRUCTURES[s], values: if q4 { Values::Q4 } else { Values::Q8 } };
        let cols = cols_for(k.structure, groups);
        let w = sparse_weights(&mut rng, rows, cols, k.structure, 2.0);
        let m = SparseMatrix::encode(&w, rows, cols, k).unwrap();
        let back = m.to_f32();
        for r in 0..rows {
            let (wr, br) = (&w[r * cols..(r + 1) * cols], &back[r * cols..(r + 1) * cols]);
            let kept: Vec<usize> = (0..cols).filter(|c| wr[*c] != 0.0).collect();
            for c in 0..cols {
                if wr[c] == 0.0 {
                    prop_assert_eq!(br[c], 0.0);
                }
            }
            for block in kept.chunks(32) {
                let amax = block.iter().fold(0.0f32, |a, c| a.max(wr[*c].abs()));
                let bound = if q4 { 1.01 * amax / 8.0 } else { 0.57 * amax / 127.0 };
                for &c in block {
                    prop_assert!((br[c] - wr[c]).abs() <= bound, "{k} row {r} col {c}: {} -> {}", wr[c], br[c]);
                }
            }
        }
    }

    /// `matmul` at every level equals the f64 product of `to_f32()` within the bound of
    /// [`check_against_reference`], for n = 1, 3, 7 and shapes with partial blocks.
    #[test]
    fn matmul_matches_f64_reference(seed in any::<u64>(), rows in 1usize..24, groups in 1usize..80, which in 0usize..KINDS, ni in 0usize..3) {
        let mut rng = TestRng::new(seed);
        let k = kind(which);
        let n = [1, 3, 7][ni];
        let cols = cols_for(k.structure, groups);
        let m = SparseMatrix::encode(&sparse_weights(&mut rng, rows, cols, k.structure, 0.5), rows, cols, k).unwrap();
        let x = activations(&mut rng, n * cols);
        for level in levels() {
            let mut y = vec![0.0f32; n * rows];
            m.matmul_at(level, &x, n, &mut y).unwrap();
            check_against_reference(&m, &x, n, &y)?;
        }
    }

    /// Each token's outputs are bit-identical computed alone (n = 1) and anywhere in a batch
    /// (n up to 40: several token tiles, several row tasks), at every level, for both products
    /// (the f32 `matmul` and the 8-bit activation `matmul_fast`, F16 values through `matmul`).
    #[test]
    fn batch_invariance(seed in any::<u64>(), rows in 1usize..40, groups in 1usize..50, which in 0usize..KINDS, n in 2usize..40) {
        let mut rng = TestRng::new(seed);
        let k = kind(which);
        let cols = cols_for(k.structure, groups);
        let m = SparseMatrix::encode(&sparse_weights(&mut rng, rows, cols, k.structure, 1.0), rows, cols, k).unwrap();
        let x = activations(&mut rng, n * cols);
        type Product = fn(&SparseMatrix, SimdLevel, &[f32], usize, &mut [f32]) -> Result<()>;
        let products: [(&str, Product); 2] = [
            ("matmul", SparseMatrix::matmul_at),
            ("matmul_fast", SparseMatrix::matmul_fast_at),
        ];
        for (name, product) in products {
            for level in levels() {
                let mut y = vec![0.0f32; n * rows];
                product(&m, level, &x, n, &mut y).unwrap();
                for t in 0..n {
                    let mut y1 = vec![0.0f32; rows];
                    product(&m, level, &x[t * cols..(t + 1) * cols], 1, &mut y1).unwrap();
                    let same = y1.iter().zip(&y[t * rows..(t + 1) * rows]).all(|(a, b)| a.to_bits() == b.to_bits());
                    prop_assert!(same, "{name} {} {level} token {t} of {n}", k);
                }
            }
        }
    }

    /// The AVX2 kernel (2:4 and 4:8) agrees with the portable one within
    /// `1e-5 Σ_k |x[k] W[k]|` (their f32 orders differ: lanes and FMA against sequential block
    /// sums), on rows up to 2048 columns with every tail length (0, 4, 8, 12 columns).
    #[test]
    fn avx2_matches_portable(seed in any::<u64>(), rows in 1usize..8, groups in 1usize..512, which in 0usize..6) {
        if cpu_simd_level() < SimdLevel::Avx2 {
            return Ok(());
        }
        let mut rng = TestRng::new(seed);
        let k = kind(which);
        let cols = cols_for(k.structure, groups);
        let m = SparseMatrix::encode(&sparse_weights(&mut rng, rows, cols, k.structure, 1.0), rows, cols, k).unwrap();
        let x = activations(&mut rng, cols);
        let (mut yp, mut ya) = (vec![0.0f32; rows], vec![0.0f32; rows]);
        m.matmul_at(SimdLevel::Portable, &x, 1, &mut yp).unwrap();
        m.matmul_at(SimdLevel::Avx2, &x, 1, &mut ya).unwrap();
        let dense = m.to_f32();
        for r in 0..rows {
            let mag: f32 = (0..cols).map(|c| (x[c] * dense[r * cols + c]).abs()).sum();
            prop_assert!((yp[r] - ya[r]).abs() <= 1e-5 * mag, "{k} {rows}x{cols} row {r}: portable {} avx2 {}", yp[r], ya[r]);
        }
    }

    /// `from_bytes` accepts exactly what `encode` wrote, rejects every truncation and any extra
    /// byte, and on randomly mutated bytes returns an error or a matrix whose `to_f32` and
    /// `matmul` run without a panic.
    #[test]
    fn from_bytes_validates(seed in any::<u64>(), rows in 1usize..5, groups in 1usize..12, which in 0usize..KINDS, flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4)) {
        let mut rng = TestRng::new(seed);
        let k = kind(which);
        let cols = cols_for(k.structure, groups);
        let m = SparseMatrix::encode(&sparse_weights(&mut rng, rows, cols, k.structure, 1.0), rows, cols, k).unwrap();
        let b = m.bytes().to_vec();
        prop_assert_eq!(&SparseMatrix::from_bytes(k, rows, cols, b.clone()).unwrap(), &m);
        for len in 0..b.len() {
            prop_assert!(SparseMatrix::from_bytes(k, rows, cols, b[..len].to_vec()).is_err());
        }
        let mut longer = b.clone();
        longer.push(0);
        prop_assert!(SparseMatrix::from_bytes(k, rows, cols, longer).is_err());
        let mut bad = b;
        for (at, v) in flips {
            let at = at % bad.len();
            bad[at] ^= v | 1;
        }
        if let Ok(m) = SparseMatrix::from_bytes(k, rows, cols, bad) {
            m.to_f32();
            let x = activations(&mut rng, 2 * cols);
            let mut y = vec![0.0f32; 2 * rows];
            m.matmul(&x, 2, &mut y).unwrap();
            m.matmul_fast(&x, 2, &mut y).unwrap();
        }
    }

    /// `matmul_fast` at every level equals the f64 product of `to_f32()` with the dequantized
    /// Q8_0 activations within the bound of [`check_fast_against_reference`], for every
    /// structure with Q8 and Q4 values, n = 1, 3, 7, and rows with partial blocks (weight and
    /// activation) and every 2:4 / 4:8 tail length.
    #[test]
    fn fast_matches_quantized_reference(seed in any::<u64>(), rows in 1usize..24, groups in 1usize..160, which in 0usize..12, ni in 0usize..3) {
        let mut rng = TestRng::new(seed);
        let k = quantized_kind(which);
        let n = [1, 3, 7][ni];
        let cols = cols_for(k.structure, groups);
        let m = SparseMatrix::encode(&sparse_weights(&mut rng, rows, cols, k.structure, 0.5), rows, cols, k).unwrap();
        let x = activations(&mut rng, n * cols);
        for level in levels() {
            let mut y = vec![0.0f32; n * rows];
            m.matmul_fast_at(level, &x, n, &mut y).unwrap();
            check_fast_against_reference(&m, &x, n, &y)?;
        }
    }

    /// The AVX2 fast kernel (2:4 and 4:8, Q8 and Q4) agrees with the portable one within
    /// `1e-5 Σ_k |q(x)[k] W[k]|` (same integer sums, f32 orders differ: each is within
    /// `6.2e-6` of that magnitude of the exact value, and in practice far closer), on rows up to
    /// 2048 columns with every tail length (0 to 60 columns); F16 values take `matmul`, whose
    /// levels `avx2_matches_portable` compares.
    #[test]
    fn fast_avx2_matches_portable(seed in any::<u64>(), rows in 1usize..8, groups in 1usize..512, which in 0usize..4) {
        if cpu_simd_level() < SimdLevel::Avx2 {
            return Ok(());
        }
        let mut rng = TestRng::new(seed);
        let k = quantized_kind(which);
        let cols = cols_for(k.structure, groups);
        let m = SparseMatrix::encode(&sparse_weights(&mut rng, rows, cols, k.structure, 1.0), rows, cols, k).unwrap();
        let x = activations(&mut rng, cols);
        let (mut yp, mut ya) = (vec![0.0f32; rows], vec![0.0f32; rows]);
        m.matmul_fast_at(SimdLevel::Portable, &x, 1, &mut yp).unwrap();
        m.matmul_fast_at(SimdLevel::Avx2, &x, 1, &mut ya).unwrap();
        let (dense, xq) = (m.to_f32(), q8_0_round_trip(&x));
        for r in 0..rows {
            let mag: f32 = (0..cols).map(|c| (xq[c] * dense[r * cols + c]).abs()).sum();
            prop_assert!((yp[r] - ya[r]).abs() <= 1e-5 * mag, "{k} {rows}x{cols} row {r}: portable {} avx2 {}", yp[r], ya[r]);
        }
    }

    /// `matmul_fast` differs from the f32 `matmul` by at most the activation quantization's
    /// effect `Σ_k |W[k]| |x[k] - q(x)[k]|` plus both kernels' rounding bounds (`1e-5` of each
    /// magnitude); and that effect itself is below `0.57 / 127` of `Σ_k |W[k]| amax_b(k)` (half
    /// a Q8_0 step plus the f16 rounding of the scale, `amax_b` the largest |x| of the
    /// activation block of column `k`).
    #[test]
    fn fast_matches_f32_within_quantization(seed in any::<u64>(), rows in 1usize..16, groups in 1usize..100, which in 0usize..12) {
        let mut rng = TestRng::new(seed);
        let k = quantized_kind(which);
        let cols = cols_for(k.structure, groups);
        let m = SparseMatrix::encode(&sparse_weights(&mut rng, rows, cols, k.structure, 1.0), rows, cols, k).unwrap();
        let x = activations(&mut rng, cols);
        let (dense, xq) = (m.to_f32(), q8_0_round_trip(&x));
        let amax: Vec<f32> = x.chunks(QK).flat_map(|b| {
            let a = b.iter().fold(0.0f32, |a, v| a.max(v.abs()));
            core::iter::repeat_n(a, b.len())
        }).collect();
        for level in levels() {
            let (mut yf, mut yq) = (vec![0.0f32; rows], vec![0.0f32; rows]);
            m.matmul_at(level, &x, 1, &mut yf).unwrap();
            m.matmul_fast_at(level, &x, 1, &mut yq).unwrap();
            for r in 0..rows {
                let w = &dense[r * cols..(r + 1) * cols];
                let mut effect = 0.0f64;
                let mut mags = 0.0f64;
                let mut coarse = 0.0f64;
                for c in 0..cols {
                    effect += (w[c] as f64 * (x[c] as f64 - xq[c] as f64)).abs();
                    mags += (w[c] as f64 * x[c] as f64).abs() + (w[c] as f64 * xq[c] as f64).abs();
                    coarse += (w[c] as f64).abs() * amax[c] as f64;
                }
                prop_assert!(effect <= 0.57 / 127.0 * coarse, "{k} row {r}: effect {effect}, coarse {coarse}");
                let diff = (yf[r] as f64 - yq[r] as f64).abs();
                prop_assert!(diff <= effect + 1e-5 * mags + 1e-30, "{k} {level} row {r}: f32 {} fast {} (bound {effect})", yf[r], yq[r]);
            }
        }
    }
}
