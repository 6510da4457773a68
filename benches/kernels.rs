//! CPU kernel speed on SmolLM2-135M shapes (d = 576, ffn 1536, vocab 49152, 9 heads / 3 KV heads
//! of 64): the fast and exact matmul paths at one token (decode) and 64 tokens (prefill), RMS norm,
//! RoPE, SwiGLU, softmax over the vocabulary and attention of one query over 512 visible slots.
//!
//! `cargo bench --bench kernels` (criterion; filter with e.g. `-- matmul/fast`). Threads come
//! from rayon's global pool (`RAYON_NUM_THREADS`).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use llmcore::kernels::activation::{softmax_inplace, swiglu};
use llmcore::kernels::attention::{attention_row, VisibleSlots};
use llmcore::kernels::f16_rows::{f16, f32_row_to_f16};
use llmcore::kernels::matmul::{matmul_exact, matmul_fast};
use llmcore::kernels::norm::rms_norm;
use llmcore::kernels::rope::{Rope, RopeStyle};
use llmcore::tensor::{GgmlType, WeightView};
use std::hint::black_box;
use std::time::Duration;

/// Weight types measured. F32 only until the quantized block types land; then add
/// `GgmlType::Q4_1` and `GgmlType::Q8_0` (the types of the SmolLM2 file).
const WEIGHT_TYPES: &[GgmlType] = &[GgmlType::F32, GgmlType::Q4_1, GgmlType::Q8_0];

/// (rows, cols) of the SmolLM2 projections: attention q/o, ffn gate/up, ffn down, output.
const SHAPES: &[(usize, usize)] = &[(576, 576), (1536, 576), (576, 1536), (49152, 576)];

/// Deterministic pseudo-random values in [-1, 1) (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn vec(&mut self, n: usize) -> Vec<f32> {
        (0..n)
            .map(|_| ((self.next_u64() >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0)
            .collect()
    }
}

/// Random weight bytes of type `ty`. Float types hold values in [-1, 1); block types hold random
/// bytes below 0x40, so that every f16 scale field reads as a finite value in [0, 2).
fn weight_bytes(ty: GgmlType, rows: usize, cols: usize, rng: &mut Rng) -> Vec<u8> {
    match ty {
        GgmlType::F32 => rng
            .vec(rows * cols)
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect(),
        _ => {
            let n = ty.bytes_for((rows * cols) as u64).expect("whole blocks") as usize;
            (0..n).map(|_| (rng.next_u64() & 0x3F) as u8).collect()
        }
    }
}

fn matmul(c: &mut Criterion) {
    let mut rng = Rng(0x5EED);
    for &ty in WEIGHT_TYPES {
        for &(rows, cols) in SHAPES {
            let data = weight_bytes(ty, rows, cols, &mut rng);
            let w = WeightView::new(ty, rows, cols, &data).unwrap();
            for n in [1usize, 64] {
                let x = rng.vec(n * cols);
                let mut y = vec![0f32; n * rows];
                let mut group = c.benchmark_group(format!("matmul/{}/{rows}x{cols}", ty.name()));
                group.throughput(Throughput::Elements((rows * cols * n) as u64));
                if rows * n > 1 << 20 {
                    group
                        .sample_size(10)
                        .measurement_time(Duration::from_secs(4));
                }
                group.bench_function(BenchmarkId::new("fast", format!("n={n}")), |b| {
                    b.iter(|| matmul_fast(&w, black_box(&x), n, &mut y).unwrap())
                });
                group.bench_function(BenchmarkId::new("exact", format!("n={n}")), |b| {
                    b.iter(|| matmul_exact(&w, black_box(&x), n, &mut y).unwrap())
                });
                group.finish();
            }
        }
    }
}

fn elementwise(c: &mut Criterion) {
    let mut rng = Rng(7);
    let x = rng.vec(576);
    let g = rng.vec(576);
    let mut out = vec![0f32; 576];
    c.bench_function("rms_norm/576", |b| {
        b.iter(|| rms_norm(black_box(&x), &g, 1e-5, &mut out))
    });

    for (name, heads, style) in [
        ("adjacent/9x64", 9, RopeStyle::Adjacent),
        ("neox/14x64", 14, RopeStyle::Neox),
    ] {
        let rope = Rope::new(64, 10000.0, style);
        let mut q = rng.vec(heads * 64);
        c.bench_function(&format!("rope/{name}"), |b| {
            b.iter(|| rope.apply(black_box(&mut q), 511))
        });
    }

    let (gate, up) = (rng.vec(1536), rng.vec(1536));
    let mut hidden = vec![0f32; 1536];
    c.bench_function("swiglu/1536", |b| {
        b.iter(|| swiglu(black_box(&gate), &up, &mut hidden))
    });

    let logits: Vec<f32> = rng.vec(49152).iter().map(|v| v * 10.0).collect();
    let mut p = logits.clone();
    c.bench_function("softmax/49152", |b| {
        b.iter(|| {
            p.copy_from_slice(&logits);
            softmax_inplace(black_box(&mut p))
        })
    });
}

fn attention(c: &mut Criterion) {
    let mut rng = Rng(11);
    let (n_head, n_kv, hd, slots) = (9, 3, 64, 1024);
    let q = rng.vec(n_head * hd);
    let keys = rng.vec(slots * n_kv * hd);
    let values = rng.vec(slots * n_kv * hd);
    let (mut keys16, mut values16) = (vec![f16::ZERO; keys.len()], vec![f16::ZERO; values.len()]);
    f32_row_to_f16(&keys, &mut keys16);
    f32_row_to_f16(&values, &mut values16);
    // 512 visible slots spread over a 1024-slot cache (every other slot, as in a tree batch).
    let spread: Vec<u32> = (0..slots as u32).step_by(2).collect();
    let tree = VisibleSlots::from_ascending(&spread);
    // A causal (decode) row over 512 slots: a bare prefix.
    let causal = VisibleSlots {
        prefix: 512,
        extra: &[],
    };
    let mut out = vec![0f32; n_head * hd];
    for (name, visible) in [("512_spread", tree), ("512_prefix", causal)] {
        c.bench_function(&format!("attention_row/9x64_gqa3/{name}/f32"), |b| {
            b.iter(|| {
                attention_row(
                    black_box(&q),
                    &keys,
                    &values,
                    visible,
                    n_head,
                    n_kv,
                    hd,
                    &mut out,
                )
            })
        });
        c.bench_function(&format!("attention_row/9x64_gqa3/{name}/f16"), |b| {
            b.iter(|| {
                attention_row(
                    black_box(&q),
                    &keys16,
                    &values16,
                    visible,
                    n_head,
                    n_kv,
                    hd,
                    &mut out,
                )
            })
        });
    }
}

criterion_group!(benches, matmul, elementwise, attention);
criterion_main!(benches);
