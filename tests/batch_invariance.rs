//! A token's logits are bit-identical whether it is evaluated alone, inside a prefill, or
//! inside a masked batch with unrelated tokens interleaved (tree verification, with the mask given
//! both as explicit slot lists and as {shared prefix, extra slots}), on both numeric paths, both
//! model families and both KV cache types. Also: KV rollback and compaction reproduce fresh
//! evaluation.
//!
//! The kernels are those of the SIMD level in use (`LLMCORE_SIMD` caps it; scripts/test.sh runs
//! this binary once per level the machine reaches); `simd_level_in_use` names it.

mod common;

use common::{model, QWEN_05B, SMOLLM2};
use llmcore::model::{Batch, KvType, LogitRows, Mask, Numerics, Session, VisibleSlots};

const TEXT: &str = "Captain Wentworth had no fortune. He had been lucky in his profession; but spending \
freely what had come freely, had realized nothing. But he was confident that he should soon be rich.";

fn check(rel: &'static str, numerics: Numerics) {
    for kv in [KvType::F32, KvType::F16] {
        check_with(rel, numerics, kv);
    }
}

fn check_with(rel: &'static str, numerics: Numerics, kv: KvType) {
    let m = model(rel);
    let vocab = m.config.vocab_size;
    let tokens = m.tokenizer().encode(TEXT, false).unwrap();
    assert!(tokens.len() >= 32, "{} tokens", tokens.len());
    let tokens = &tokens[..32];
    let row = |all: &[f32], i: usize| all[i * vocab..(i + 1) * vocab].to_vec();
    let session = || {
        let s = Session::with_kv_type(m.clone(), 64, numerics, kv).unwrap();
        assert_eq!(s.kv_type(), kv);
        s
    };
    let what = format!("{rel} {numerics:?} {kv:?} cache");

    // The whole prompt as one prefill.
    let mut full = session();
    let all = full.eval(tokens, LogitRows::All).unwrap();

    // Token by token.
    let mut single = session();
    for (i, &t) in tokens.iter().enumerate() {
        let l = single.eval(&[t], LogitRows::Last).unwrap();
        assert!(
            l == row(&all, i),
            "{what}: token {i} alone differs from prefill"
        );
    }

    // A masked batch: prefix of 20, then the remaining 12 real tokens with a distractor token
    // before each, which the real tokens do not see (as siblings in a draft tree). `extras[i]`
    // lists the in-batch slots row i sees beyond the prefix.
    let split = 20;
    let (mut btok, mut bpos, mut extras) = (Vec::new(), Vec::new(), Vec::new());
    let mut path: Vec<u32> = Vec::new();
    for (j, &t) in tokens[split..].iter().enumerate() {
        let pos = (split + j) as u32;
        let slot = (split + 2 * j) as u32;
        // distractor at `slot`, sees the real path so far and itself
        btok.extend([7, t]);
        bpos.extend([pos, pos]);
        let mut distractor = path.clone();
        distractor.push(slot);
        extras.push(distractor);
        // real token at `slot + 1`
        path.push(slot + 1);
        extras.push(path.clone());
    }
    let lists: Vec<Vec<u32>> = extras
        .iter()
        .map(|e| (0..split as u32).chain(e.iter().copied()).collect())
        .collect();
    let rows: Vec<VisibleSlots<'_>> = extras
        .iter()
        .map(|e| VisibleSlots {
            prefix: split,
            extra: e,
        })
        .collect();
    let mut masked = None;
    for (form, mask) in [
        ("slot lists", Mask::Visible(&lists)),
        ("{prefix, extras}", Mask::Rows(&rows)),
    ] {
        let mut s = session();
        s.eval(&tokens[..split], LogitRows::Last).unwrap();
        let batch = Batch {
            tokens: &btok,
            positions: &bpos,
            mask,
        };
        let got = s.eval_batch(&batch, LogitRows::All).unwrap();
        for j in 0..tokens.len() - split {
            assert!(
                row(&got, 2 * j + 1) == row(&all, split + j),
                "{what}: token {} in a masked batch ({form}) differs from prefill",
                split + j
            );
        }
        masked = Some(s);
    }
    let mut masked = masked.expect("two mask forms ran");

    // Compaction keeps the real path: continuing from it equals continuing the plain prefill.
    let keep: Vec<usize> = path.iter().map(|&s| s as usize).collect();
    masked.compact(split, &keep).unwrap();
    assert_eq!(masked.len(), tokens.len());
    let next = [tokens[3]];
    let a = masked.eval(&next, LogitRows::Last).unwrap();
    let b = full.eval(&next, LogitRows::Last).unwrap();
    assert!(a == b, "{what}: continuing after compaction differs");

    // Rollback: truncate and re-evaluate gives the same bits as the first time.
    full.truncate(10).unwrap();
    let again = full.eval(&tokens[10..12], LogitRows::All).unwrap();
    assert!(again[..vocab] == row(&all, 10)[..] && again[vocab..] == row(&all, 11)[..]);
}

/// Names the SIMD level this run's kernels come from, and checks that it is the CPU's level
/// capped by `LLMCORE_SIMD`.
#[test]
fn simd_level_in_use() {
    use llmcore::tensor::quant::{cpu_simd_level, simd_level, SimdLevel};
    let cap = std::env::var("LLMCORE_SIMD").ok().map(|v| {
        SimdLevel::from_name(&v).unwrap_or_else(|| panic!("LLMCORE_SIMD={v} is not a level"))
    });
    let want = cap.map_or(cpu_simd_level(), |c| c.min(cpu_simd_level()));
    assert_eq!(simd_level(), want);
    eprintln!(
        "batch_invariance: SIMD level {} (CPU {})",
        simd_level(),
        cpu_simd_level()
    );
}

#[test]
fn smollm2_fast() {
    check(SMOLLM2, Numerics::Fast);
}

#[test]
fn smollm2_exact() {
    check(SMOLLM2, Numerics::Exact);
}

#[test]
fn qwen_fast() {
    check(QWEN_05B, Numerics::Fast);
}

#[test]
fn qwen_exact() {
    check(QWEN_05B, Numerics::Exact);
}

#[test]
fn bad_batches_are_errors_and_leave_the_cache_alone() {
    use llmcore::Error;
    let m = model(SMOLLM2);
    let mut s = Session::new(m.clone(), 8, Numerics::Fast).unwrap();
    s.eval(&[1, 2, 3], LogitRows::Last).unwrap();
    let vocab = m.config.vocab_size as u32;
    assert_eq!(
        s.eval(&[vocab], LogitRows::Last).unwrap_err(),
        Error::TokenOutOfRange {
            id: vocab,
            vocab_size: vocab as usize
        }
    );
    assert_eq!(
        s.eval(&[5; 6], LogitRows::Last).unwrap_err(),
        Error::ContextOverflow {
            needed: 9,
            capacity: 8
        }
    );
    let vis = vec![vec![9u32]];
    let bad = Batch {
        tokens: &[5],
        positions: &[3],
        mask: Mask::Visible(&vis),
    };
    assert!(matches!(
        s.eval_batch(&bad, LogitRows::Last),
        Err(Error::InvalidArgument(_))
    ));
    assert!(s.eval(&[], LogitRows::Last).is_err());
    assert_eq!(s.len(), 3);
    assert!(Session::new(m, 1 << 20, Numerics::Fast).is_err());
}
