//! Quantized kernels of `llmcore::tensor::quant`: the dot product of one weight row with one
//! quantized activation row per weight type (at every SIMD level the CPU reaches, and the
//! four-token kernel of each level against four activation rows), a whole single-threaded GEMV
//! for the two shapes that dominate SmolLM2 decode, dequantize_row and quantize_row.
//!
//! Rows are 576 and 1536 elements (SmolLM2's d and ffn widths); K-quants, whose super-blocks
//! hold 256 elements, use 1536 and 4864 (Qwen's ffn width). Weight bytes are random with small
//! finite scales (the kernels' speed does not depend on the values).
//!
//! Run: cargo bench --bench quant [-- FILTER]
//!
//! With `LLMCORE_QUANT_MEDIAN=1` in the environment it instead prints, for the cases that
//! scripts/ggml_quant_peer.c times in ggml, "<case> <median ns per call>" measured the same way
//! (median of 50 batches of ~2 ms), so scripts/ggml_quant_peer.sh can put the two side by side.
//! With `LLMCORE_QUANT_LEVELS=1` it prints, the same way, one line per quantized case and SIMD
//! level: "<case> <level> <ns per single call> <ns per four-token call>".

use criterion::{black_box, criterion_group, BenchmarkId, Criterion, Throughput};
use llmcore::tensor::quant::{
    cpu_simd_level, dequantize_row, quantize_row, vec_dot_fn, vec_dot_fn_at, vec_dot_fn_portable,
    vec_dot_type, vec_dot_x4_fn_at, SimdLevel, VecDotFn, VecDotX4Fn, QUANTIZED_WEIGHT_TYPES,
    WEIGHT_TYPES,
};
use llmcore::tensor::GgmlType;
use std::time::Instant;

/// xorshift64 bytes, deterministic across runs.
fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut s = seed | 1;
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s as u8
        })
        .collect()
}

/// Floats in [-1, 1) from `random_bytes`.
fn random_floats(n: usize, seed: u64) -> Vec<f32> {
    random_bytes(2 * n, seed)
        .chunks(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]) as f32 / 32768.0 - 1.0)
        .collect()
}

/// `rows` random weight rows of `n` elements of `ty`, with every f16/f32 scale or value finite.
fn weights(ty: GgmlType, rows: usize, n: usize) -> Vec<u8> {
    let count = rows * n;
    match ty {
        GgmlType::F32 => {
            return random_floats(count, 7)
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect()
        }
        GgmlType::F16 | GgmlType::BF16 => {
            // Random halves with the exponent field kept below all-ones (finite values).
            return random_bytes(2 * count, 7)
                .chunks(2)
                .flat_map(|c| [c[0], c[1] & 0x3F])
                .collect();
        }
        _ => {}
    }
    let mut b = random_bytes(ty.bytes_for(count as u64).unwrap() as usize, 7);
    let scales: &[usize] = match ty {
        GgmlType::Q4_1 | GgmlType::Q4K => &[0, 2],
        GgmlType::Q6K => &[208],
        _ => &[0],
    };
    for blk in b.chunks_mut(ty.type_size()) {
        for &o in scales {
            blk[o] = 0x1F;
            blk[o + 1] = 0x20; // f16 0x201F ~ 0.0083
        }
    }
    b
}

fn activations(weight: GgmlType, n: usize) -> Vec<u8> {
    activations_seeded(weight, n, 11)
}

/// A random activation row for `weight`, quantized to its `vec_dot_type`, from `seed`.
fn activations_seeded(weight: GgmlType, n: usize, seed: u64) -> Vec<u8> {
    let ty = vec_dot_type(weight);
    let mut out = vec![0u8; ty.bytes_for(n as u64).unwrap() as usize];
    quantize_row(ty, &random_floats(n, seed), &mut out).unwrap();
    out
}

fn row_lengths(ty: GgmlType) -> [usize; 2] {
    if ty.block_size() == 256 {
        [1536, 4864]
    } else {
        [576, 1536]
    }
}

/// Every SIMD level this CPU runs, lowest (portable) first.
fn levels() -> Vec<SimdLevel> {
    SimdLevel::ALL
        .into_iter()
        .filter(|&l| l <= cpu_simd_level())
        .collect()
}

fn bench_vec_dot(c: &mut Criterion) {
    let mut g = c.benchmark_group("vec_dot");
    for ty in WEIGHT_TYPES {
        for n in row_lengths(ty) {
            let w = weights(ty, 1, n);
            let a = activations(ty, n);
            for level in levels() {
                let f = vec_dot_fn_at(level, ty).unwrap();
                g.throughput(Throughput::Elements(n as u64));
                g.bench_function(BenchmarkId::new(format!("{}/{level}", ty.name()), n), |b| {
                    b.iter(|| f(black_box(&w), black_box(&a), n))
                });
                // The four-token kernel: one weight row against four activation rows (4n
                // elements).
                if let Some(f) = vec_dot_x4_fn_at(level, ty) {
                    let acts: Vec<Vec<u8>> =
                        (0..4).map(|k| activations_seeded(ty, n, 11 + k)).collect();
                    g.throughput(Throughput::Elements(4 * n as u64));
                    g.bench_function(
                        BenchmarkId::new(format!("{}/{level}_x4", ty.name()), n),
                        |b| {
                            b.iter(|| {
                                let acts = [&acts[0][..], &acts[1], &acts[2], &acts[3]];
                                f(black_box(&w), black_box(acts), n)
                            })
                        },
                    );
                }
            }
        }
    }
    g.finish();
}

/// Single-threaded matrix-vector products: SmolLM2's ffn_down (Q4_1, 576 x 1536) and its tied
/// output projection (Q8_0, 49152 x 576), one activation row quantized once.
fn bench_gemv(c: &mut Criterion) {
    let mut g = c.benchmark_group("gemv");
    g.sample_size(20);
    for (ty, rows, n) in [(GgmlType::Q4_1, 576, 1536), (GgmlType::Q8_0, 49152, 576)] {
        let w = weights(ty, rows, n);
        let a = activations(ty, n);
        let rb = w.len() / rows;
        let mut out = vec![0.0f32; rows];
        g.throughput(Throughput::Bytes(w.len() as u64));
        for (kernel, f) in [
            ("portable", vec_dot_fn_portable(ty).unwrap()),
            ("best", vec_dot_fn(ty).unwrap()),
        ] {
            g.bench_function(format!("{}_{rows}x{n}/{kernel}", ty.name()), |b| {
                b.iter(|| {
                    for (o, row) in out.iter_mut().zip(w.chunks_exact(rb)) {
                        *o = f(row, &a, n);
                    }
                    black_box(&out);
                })
            });
        }
    }
    g.finish();
}

fn bench_dequantize(c: &mut Criterion) {
    let mut g = c.benchmark_group("dequantize_row");
    for ty in WEIGHT_TYPES {
        let n = 1536;
        let w = weights(ty, 1, n);
        let mut out = vec![0.0f32; n];
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(BenchmarkId::new(ty.name(), n), |b| {
            b.iter(|| dequantize_row(ty, black_box(&w), &mut out).unwrap())
        });
    }
    g.finish();
}

fn bench_quantize(c: &mut Criterion) {
    let mut g = c.benchmark_group("quantize_row");
    let n = 1536;
    let x = random_floats(n, 3);
    for ty in [GgmlType::Q8_0, GgmlType::Q8_1, GgmlType::Q8K] {
        let mut out = vec![0u8; ty.bytes_for(n as u64).unwrap() as usize];
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(BenchmarkId::new(ty.name(), n), |b| {
            b.iter(|| quantize_row(ty, black_box(&x), &mut out).unwrap())
        });
    }
    g.finish();
}

/// Median ns per run of `pass`, over 50 batches of runs sized to ~2 ms: the method of
/// scripts/ggml_quant_peer.c.
fn median_ns_of(pass: impl Fn()) -> f64 {
    let mut reps = 1u32;
    loop {
        let t0 = Instant::now();
        (0..reps).for_each(|_| pass());
        if t0.elapsed().as_nanos() > 2_000_000 || reps > 1 << 24 {
            break;
        }
        reps *= 2;
    }
    let mut t: Vec<f64> = (0..50)
        .map(|_| {
            let t0 = Instant::now();
            (0..reps).for_each(|_| pass());
            t0.elapsed().as_nanos() as f64 / reps as f64
        })
        .collect();
    t.sort_by(|a, b| a.total_cmp(b));
    t[25]
}

/// Median ns per pass of `rows` calls of the best kernel (one activation row).
fn median_ns(ty: GgmlType, rows: usize, n: usize) -> f64 {
    let w = weights(ty, rows, n);
    let a = activations(ty, n);
    let rb = w.len() / rows;
    let f = vec_dot_fn(ty).unwrap();
    median_ns_of(|| {
        for row in w.chunks_exact(rb) {
            black_box(f(black_box(row), &a, n));
        }
    })
}

/// Median ns of one single-token call of `f` and of one four-token call of `f4`.
fn median_ns_level(ty: GgmlType, n: usize, f: VecDotFn, f4: Option<VecDotX4Fn>) -> (f64, f64) {
    let w = weights(ty, 1, n);
    let acts: Vec<Vec<u8>> = (0..4).map(|k| activations_seeded(ty, n, 11 + k)).collect();
    let single = median_ns_of(|| {
        black_box(f(black_box(&w), black_box(&acts[0]), n));
    });
    let x4 = f4.map_or(f64::NAN, |f4| {
        median_ns_of(|| {
            let a = [&acts[0][..], &acts[1], &acts[2], &acts[3]];
            black_box(f4(black_box(&w), black_box(a), n));
        })
    });
    (single, x4)
}

/// One "<case> <level> <single ns> <x4 ns>" line per quantized type, row length and level.
fn levels_table() {
    println!(
        "# case level single_ns x4_ns   (median ns per call; cpu level {})",
        cpu_simd_level()
    );
    for ty in QUANTIZED_WEIGHT_TYPES {
        for n in row_lengths(ty) {
            for level in levels() {
                let f = vec_dot_fn_at(level, ty).unwrap();
                let (one, four) = median_ns_level(ty, n, f, vec_dot_x4_fn_at(level, ty));
                println!("vec_dot/{}/{n} {level} {one:.1} {four:.1}", ty.name());
            }
        }
    }
}

/// The cases of scripts/ggml_quant_peer.c, one "<case> <median ns>" line each.
fn median_table() {
    let mut cases = Vec::new();
    for n in [576, 1536] {
        for ty in [
            GgmlType::Q4_0,
            GgmlType::Q4_1,
            GgmlType::Q5_0,
            GgmlType::Q8_0,
        ] {
            cases.push((format!("vec_dot/{}/best/{n}", ty.name()), ty, 1, n));
        }
    }
    for n in [1536, 4864] {
        for ty in [GgmlType::Q4K, GgmlType::Q6K] {
            cases.push((format!("vec_dot/{}/best/{n}", ty.name()), ty, 1, n));
        }
    }
    cases.push(("gemv/q4_1_576x1536/best".into(), GgmlType::Q4_1, 576, 1536));
    cases.push((
        "gemv/q8_0_49152x576/best".into(),
        GgmlType::Q8_0,
        49152,
        576,
    ));
    for (name, ty, rows, n) in cases {
        println!("{name} {:.1}", median_ns(ty, rows, n));
    }
}

criterion_group!(
    benches,
    bench_vec_dot,
    bench_gemv,
    bench_dequantize,
    bench_quantize
);

fn main() {
    if std::env::var_os("LLMCORE_QUANT_MEDIAN").is_some() {
        median_table();
        return;
    }
    if std::env::var_os("LLMCORE_QUANT_LEVELS").is_some() {
        levels_table();
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
