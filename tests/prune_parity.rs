//! Wanda and SparseGPT on one real SmolLM2 layer against the independent numpy reference
//! (scripts/prune_reference.py, outputs in tests/data/prune_parity.{json,bin}).
//!
//! Both sides see layer 3's attn_k and ffn_down inputs over the same two windows of 256 tokens;
//! ours come from the exact f32 forward, the reference's from a float64 forward, so the inputs
//! differ by ~1e-6 relative and the scores with them. Tolerances:
//! - Wanda masks: at most 0.1% of the weights differ, and only where our two scores being
//!   swapped are within 1e-4 relative of each other (a near-tie the inputs' rounding can flip);
//! - SparseGPT: the masks (which weights are zero) differ in at most 0.5% of the weights; a row's
//!   updates follow from its own mask alone, so every row whose mask agrees must agree in its
//!   weights to 1e-4 relative (Frobenius), and at most a quarter of the rows may hold a flip (a
//!   flip early in a row changes all the updates after it, so such rows are only counted).

mod common;

use common::{asset, fixture, SMOLLM2};
use llmcore::io::json::{parse, Json};
use llmcore::model::{KvCache, KvType, Linear, LinearInput, Mask, Model, Numerics, Observer};
use llmcore::prune::sparsegpt::{self, SparseGptParams};
use llmcore::prune::stats::{ChannelNorms, InputStats};
use llmcore::prune::{wanda, Pattern};

/// Statistics of layer `layer`'s inputs of attn_k (Attn) and ffn_down (Down).
struct Layer {
    layer: usize,
    attn: (ChannelNorms, InputStats),
    down: (ChannelNorms, InputStats),
}

impl Observer for Layer {
    fn observe(&mut self, layer: usize, input: LinearInput, x: &[f32], n: usize) {
        if layer != self.layer {
            return;
        }
        let s = match input {
            LinearInput::Attn => &mut self.attn,
            LinearInput::Down => &mut self.down,
            _ => return,
        };
        s.0.add(x, n);
        s.1.add(x, n);
    }
}

fn json(rel: &str) -> Json {
    parse(&std::fs::read_to_string(fixture(rel)).unwrap()).unwrap()
}

fn num(j: &Json, key: &str) -> usize {
    j.get(key).and_then(Json::as_f64).unwrap() as usize
}

#[test]
fn wanda_and_sparsegpt_match_the_numpy_reference() {
    let meta = json("prune_parity.json");
    let (layer, windows, window, keep) = (
        num(&meta, "layer"),
        num(&meta, "windows"),
        num(&meta, "window"),
        num(&meta, "rows_stored"),
    );
    let ids: Vec<u32> = json("reference/llamacpp_smollm2.json")
        .get("tokens")
        .and_then(Json::as_array)
        .unwrap()
        .iter()
        .take(windows * window)
        .map(|t| t.as_f64().unwrap() as u32)
        .collect();
    let m = Model::open(asset(SMOLLM2)).unwrap();
    let cfg = &m.config;
    let mut obs = Layer {
        layer,
        attn: (ChannelNorms::new(cfg.d_model), InputStats::new(cfg.d_model)),
        down: (ChannelNorms::new(cfg.d_ffn), InputStats::new(cfg.d_ffn)),
    };
    let positions: Vec<u32> = (0..window as u32).collect();
    for w in ids.chunks(window) {
        let mut x = m.embed(w).unwrap();
        let mut cache = KvCache::new(cfg.n_layer, cfg.kv_dim(), window, KvType::F32);
        for l in 0..=layer {
            m.layer_forward(
                l,
                &mut x,
                &positions,
                Mask::Causal,
                &mut cache,
                Numerics::Exact,
                Some(&mut obs),
            )
            .unwrap();
        }
    }
    let bin = std::fs::read(fixture("prune_parity.bin")).unwrap();
    let mut at = 0usize;
    let mut take = |len: usize| {
        let s = &bin[at..at + len];
        at += len;
        s.to_vec()
    };
    for (op, (norms, gram)) in [(Linear::K, &obs.attn), (Linear::Down, &obs.down)] {
        let (rows, cols) = cfg.linear_shape(op);
        let dense = m.linear_f32(layer, op).unwrap();
        let n = keep * cols;
        let col_norms = norms.col_norms();
        let scores = wanda::scores(&dense, rows, cols, &col_norms).unwrap();
        for pattern in [
            Pattern::Unstructured { sparsity: 0.5 },
            Pattern::NM { n: 2, m: 4 },
        ] {
            let want = take(n);
            let mut w = dense.clone();
            wanda::prune(&mut w, rows, cols, &col_norms, pattern).unwrap();
            let mut differ = 0;
            for r in 0..keep {
                let row = &w[r * cols..(r + 1) * cols];
                let (ours, theirs): (Vec<usize>, Vec<usize>) = (0..cols)
                    .filter(|&c| (row[c] == 0.0) != (want[r * cols + c] == 1))
                    .partition(|&c| row[c] == 0.0);
                differ += ours.len() + theirs.len();
                // Every flip pairs a weight we pruned with one the reference pruned instead,
                // their scores a near-tie.
                for (&a, &b) in ours.iter().zip(&theirs) {
                    let (sa, sb) = (scores[r * cols + a], scores[r * cols + b]);
                    assert!(
                        (sa - sb).abs() <= 1e-4 * sa.max(sb),
                        "{op:?} {} row {r}: scores {sa} and {sb} are no near-tie",
                        pattern.describe()
                    );
                }
            }
            eprintln!(
                "{op:?} Wanda {}: {differ} of {n} mask bits differ",
                pattern.describe()
            );
            assert!(differ as f64 <= 1e-3 * n as f64, "{differ} of {n}");
        }
        for pattern in [
            Pattern::Unstructured { sparsity: 0.5 },
            Pattern::NM { n: 2, m: 4 },
        ] {
            let want: Vec<f32> = take(4 * n)
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            let mut w = dense.clone();
            sparsegpt::prune(
                &mut w,
                rows,
                cols,
                gram,
                pattern,
                &SparseGptParams::default(),
            )
            .unwrap();
            let (mut worst, mut masks, mut flipped_rows) = (0f64, 0usize, 0usize);
            for (ours, theirs) in w[..n].chunks(cols).zip(want.chunks(cols)) {
                let flips = ours
                    .iter()
                    .zip(theirs)
                    .filter(|(a, b)| (**a == 0.0) != (**b == 0.0))
                    .count();
                masks += flips;
                if flips > 0 {
                    flipped_rows += 1;
                    continue;
                }
                let (mut d2, mut r2) = (0f64, 0f64);
                for (a, b) in ours.iter().zip(theirs) {
                    d2 += (*a as f64 - *b as f64).powi(2);
                    r2 += (*b as f64).powi(2);
                }
                worst = worst.max((d2 / r2).sqrt());
            }
            eprintln!(
                "{op:?} SparseGPT {}: {masks} of {n} mask bits differ ({flipped_rows} of {keep} \
                 rows); worst relative difference of the other rows {worst:.2e}",
                pattern.describe()
            );
            assert!(worst <= 1e-4, "{op:?} {}: {worst}", pattern.describe());
            assert!(flipped_rows * 4 <= keep, "{flipped_rows} of {keep} rows");
            assert!(masks as f64 <= 5e-3 * n as f64, "{masks} of {n}");
        }
    }
    assert_eq!(at, bin.len(), "the fixture holds exactly what was compared");
}
