//! Scaled dot-product attention (Vaswani et al. 2017) for one query row against a KV cache, with
//! grouped-query heads (Ainslie et al. 2023) and the mask given as the list of visible slots, so
//! causal prefill, decode and tree verification are the same call.

use super::activation::softmax_inplace;
use super::dot;
use crate::math::sqrtf;
use alloc::vec;

/// One query row: for each head `h`, `out_h = Σ_j softmax_j(q_h · k_j / sqrt(hd)) v_j` over the
/// slots `j` in `visible`, with `k_j`, `v_j` taken from KV head `h / (n_head / n_kv_head)`.
///
/// `q` and `out` hold `n_head * hd` floats; `keys` and `values` hold cache rows of
/// `n_kv_head * hd` floats, row `j` being position slot `j`; `visible` lists the slots this query
/// may attend to, in ascending order. Only those slots are read, in that order, so the result does
/// not depend on how many invisible slots the cache holds or where they are. Scores are computed
/// with [`dot`] and normalized with [`softmax_inplace`]; the weighted sum of values runs over
/// `visible` in order. With no visible slot the output is zero.
///
/// `n_head` must be a multiple of `n_kv_head`, and every visible slot must lie inside the cache
/// (checked by `debug_assert`; a slot past the end panics on slice indexing).
#[allow(clippy::too_many_arguments)]
pub fn attention_row(
    q: &[f32],
    keys: &[f32],
    values: &[f32],
    visible: &[u32],
    n_head: usize,
    n_kv_head: usize,
    hd: usize,
    out: &mut [f32],
) {
    let kv_dim = n_kv_head * hd;
    debug_assert!(n_kv_head > 0 && n_head.is_multiple_of(n_kv_head));
    debug_assert!(q.len() == n_head * hd && out.len() == n_head * hd);
    debug_assert!(keys.len() == values.len() && kv_dim > 0 && keys.len().is_multiple_of(kv_dim));
    debug_assert!(visible.windows(2).all(|w| w[0] < w[1]));
    debug_assert!(visible
        .iter()
        .all(|&j| (j as usize + 1) * kv_dim <= keys.len()));
    if hd == 0 || n_kv_head == 0 {
        return;
    }
    let group = n_head / n_kv_head;
    let scale = 1.0 / sqrtf(hd as f32);
    let mut p = vec![0f32; visible.len()];
    for (h, (qh, oh)) in q.chunks_exact(hd).zip(out.chunks_exact_mut(hd)).enumerate() {
        let kv_off = (h / group) * hd;
        for (s, &j) in p.iter_mut().zip(visible) {
            let off = j as usize * kv_dim + kv_off;
            *s = dot(qh, &keys[off..off + hd]) * scale;
        }
        if !p.is_empty() {
            softmax_inplace(&mut p);
        }
        oh.fill(0.0);
        for (&w, &j) in p.iter().zip(visible) {
            let off = j as usize * kv_dim + kv_off;
            for (o, &v) in oh.iter_mut().zip(&values[off..off + hd]) {
                *o += w * v;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::TestRng;
    use alloc::vec::Vec;

    fn naive(
        q: &[f32],
        k: &[f32],
        v: &[f32],
        visible: &[u32],
        nh: usize,
        nkv: usize,
        hd: usize,
    ) -> Vec<f64> {
        let mut out = vec![0f64; nh * hd];
        for h in 0..nh {
            let kvh = h / (nh / nkv);
            let scores: Vec<f64> = visible
                .iter()
                .map(|&j| {
                    let kr = &k[j as usize * nkv * hd + kvh * hd..][..hd];
                    let s: f64 = (0..hd).map(|i| q[h * hd + i] as f64 * kr[i] as f64).sum();
                    s / (hd as f64).sqrt()
                })
                .collect();
            let m = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let z: f64 = scores.iter().map(|s| (s - m).exp()).sum();
            for (s, &j) in scores.iter().zip(visible) {
                let vr = &v[j as usize * nkv * hd + kvh * hd..][..hd];
                for i in 0..hd {
                    out[h * hd + i] += (s - m).exp() / z * vr[i] as f64;
                }
            }
        }
        out
    }

    /// Places the rows of `k` and `v` at the `visible` slots of the caches `big_k` and `big_v`
    /// (whose other slots hold whatever the caller filled them with).
    fn scatter(
        k: &[f32],
        v: &[f32],
        visible: &[u32],
        kv_dim: usize,
        mut big_k: Vec<f32>,
        mut big_v: Vec<f32>,
    ) -> (Vec<f32>, Vec<f32>) {
        for (src, &dst) in visible.iter().enumerate() {
            let d = dst as usize * kv_dim;
            big_k[d..d + kv_dim].copy_from_slice(&k[src * kv_dim..(src + 1) * kv_dim]);
            big_v[d..d + kv_dim].copy_from_slice(&v[src * kv_dim..(src + 1) * kv_dim]);
        }
        (big_k, big_v)
    }

    #[test]
    fn matches_f64_reference_with_gqa_mha_and_mqa() {
        let mut rng = TestRng::new(21);
        for (nh, nkv, hd) in [(6, 2, 16), (9, 3, 64), (4, 4, 8), (4, 1, 32)] {
            let slots = 40;
            let q: Vec<f32> = rng.vec(nh * hd).iter().map(|x| x * 4.0).collect();
            let k = rng.vec(slots * nkv * hd);
            let v = rng.vec(slots * nkv * hd);
            let visible: Vec<u32> = (0..slots as u32)
                .filter(|_| !rng.next_u64().is_multiple_of(3))
                .collect();
            let mut out = vec![0f32; nh * hd];
            attention_row(&q, &k, &v, &visible, nh, nkv, hd, &mut out);
            let want = naive(&q, &k, &v, &visible, nh, nkv, hd);
            for i in 0..nh * hd {
                assert!(
                    (out[i] as f64 - want[i]).abs() < 1e-5,
                    "{nh}/{nkv}/{hd} [{i}]"
                );
            }
        }
    }

    #[test]
    fn invisible_slots_never_change_the_bits() {
        // A compact cache of 30 visible rows, and the same rows scattered among 50 invisible
        // slots holding garbage (including NaN): the outputs must be bit-identical.
        let mut rng = TestRng::new(22);
        let (nh, nkv, hd) = (9, 3, 64);
        let kv_dim = nkv * hd;
        let n_vis = 30;
        let q = rng.vec(nh * hd);
        let k = rng.vec(n_vis * kv_dim);
        let v = rng.vec(n_vis * kv_dim);
        let compact: Vec<u32> = (0..n_vis as u32).collect();
        let mut expect = vec![0f32; nh * hd];
        attention_row(&q, &k, &v, &compact, nh, nkv, hd, &mut expect);

        for seed in 0..4u64 {
            let mut r = TestRng::new(100 + seed);
            let total = n_vis + 50;
            let garbage: Vec<f32> = r.vec(total * kv_dim).iter().map(|x| x * 1e30).collect();
            // Choose which slots are visible: n_vis of the `total`, positions varying per seed.
            let mut slots: Vec<u32> = (0..total as u32).collect();
            for i in (1..total).rev() {
                slots.swap(i, (r.next_u64() % (i as u64 + 1)) as usize);
            }
            let mut visible = slots[..n_vis].to_vec();
            visible.sort_unstable();
            let (big_k, big_v) = scatter(
                &k,
                &v,
                &visible,
                kv_dim,
                vec![f32::NAN; total * kv_dim],
                garbage,
            );
            let mut out = vec![0f32; nh * hd];
            attention_row(&q, &big_k, &big_v, &visible, nh, nkv, hd, &mut out);
            assert!(
                out.iter()
                    .zip(&expect)
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "seed {seed}"
            );
        }
    }

    #[test]
    fn one_visible_slot_returns_its_value_and_none_returns_zero() {
        let mut rng = TestRng::new(23);
        let (nh, nkv, hd) = (4, 2, 8);
        let q = rng.vec(nh * hd);
        let k = rng.vec(3 * nkv * hd);
        let v = rng.vec(3 * nkv * hd);
        let mut out = vec![0f32; nh * hd];
        attention_row(&q, &k, &v, &[1], nh, nkv, hd, &mut out);
        for h in 0..nh {
            let src = &v[nkv * hd + (h / 2) * hd..][..hd];
            assert_eq!(&out[h * hd..(h + 1) * hd], src, "head {h}");
        }
        attention_row(&q, &k, &v, &[], nh, nkv, hd, &mut out);
        assert!(out.iter().all(|&x| x == 0.0));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(64))]
            /// Random head layouts and masks: the result matches the f64 reference, and hiding
            /// garbage slots anywhere in the cache does not change a single bit.
            #[test]
            fn matches_reference_and_ignores_invisible_slots(
                seed in any::<u64>(),
                nkv in 1usize..4,
                group in 1usize..4,
                hd in 1usize..40,
                n_vis in 1usize..40,
                n_hidden in 0usize..40,
            ) {
                let nh = nkv * group;
                let kv_dim = nkv * hd;
                let mut rng = TestRng::new(seed);
                let q = rng.vec(nh * hd);
                let k = rng.vec(n_vis * kv_dim);
                let v = rng.vec(n_vis * kv_dim);
                let compact: Vec<u32> = (0..n_vis as u32).collect();
                let mut expect = vec![0f32; nh * hd];
                attention_row(&q, &k, &v, &compact, nh, nkv, hd, &mut expect);
                let want = naive(&q, &k, &v, &compact, nh, nkv, hd);
                for i in 0..nh * hd {
                    prop_assert!((expect[i] as f64 - want[i]).abs() < 1e-5);
                }

                let total = n_vis + n_hidden;
                let mut hidden = vec![false; total];
                let mut placed = 0;
                while placed < n_hidden {
                    let j = (rng.next_u64() % total as u64) as usize;
                    if !hidden[j] {
                        hidden[j] = true;
                        placed += 1;
                    }
                }
                let visible: Vec<u32> =
                    (0..total as u32).filter(|&j| !hidden[j as usize]).collect();
                let (big_k, big_v) = scatter(
                    &k,
                    &v,
                    &visible,
                    kv_dim,
                    vec![f32::NAN; total * kv_dim],
                    vec![f32::INFINITY; total * kv_dim],
                );
                let mut out = vec![0f32; nh * hd];
                attention_row(&q, &big_k, &big_v, &visible, nh, nkv, hd, &mut out);
                prop_assert!(out.iter().zip(&expect).all(|(a, b)| a.to_bits() == b.to_bits()));
            }
        }
    }
}
