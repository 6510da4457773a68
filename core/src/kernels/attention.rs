//! Scaled dot-product attention (Vaswani et al. 2017) for one query row against a KV cache, with
//! grouped-query heads (Ainslie et al. 2023) and the mask given as the set of visible slots, so
//! causal prefill, decode and tree verification are the same call.
//!
//! A visible set is a shared prefix of slots `0..prefix` plus a few extra slots after it
//! ([`VisibleSlots`]): a causal row is a prefix alone, a draft-tree row is the cache before the
//! tree plus the node's ancestors and itself. The cache may hold f32 or f16 keys and values
//! ([`KvElement`]); f16 rows are widened to f32 (exactly) before the same arithmetic.

use super::activation::{softmax_backward, softmax_inplace};
use super::dot;
use super::f16_rows::{f16_row_to_f32, f32_row_to_f16};
use crate::math::sqrtf;
use alloc::vec;
use half::f16;

/// The cache slots one query row attends to: `0..prefix`, then `extra` (strictly ascending,
/// each `>= prefix`). Slots are visited in this ascending order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VisibleSlots<'a> {
    /// The shared prefix: slots `0..prefix` are all visible.
    pub prefix: usize,
    /// Further visible slots after the prefix, ascending.
    pub extra: &'a [u32],
}

impl<'a> VisibleSlots<'a> {
    /// The same set as the ascending slot list `slots`, borrowing its tail: the prefix is the
    /// leading run `0, 1, 2, ..` (found by bisection, as `slots[j] >= j` with equality exactly
    /// on that run), the rest are the extras. `slots` must be strictly ascending.
    pub fn from_ascending(slots: &'a [u32]) -> Self {
        let (mut lo, mut hi) = (0, slots.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if slots[mid] as usize == mid {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        VisibleSlots {
            prefix: lo,
            extra: &slots[lo..],
        }
    }

    /// Number of visible slots.
    pub fn len(&self) -> usize {
        self.prefix + self.extra.len()
    }

    /// Whether no slot is visible.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// One past the last visible slot (0 when none is).
    pub fn end(&self) -> usize {
        self.extra.last().map_or(self.prefix, |&s| s as usize + 1)
    }

    /// The visible slots in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.prefix).chain(self.extra.iter().map(|&s| s as usize))
    }
}

/// An element type the KV cache stores: written from f32 rows, read by attention as f32.
pub trait KvElement: Copy + Send + Sync + 'static {
    /// The stored zero (what reserved, not yet written slots hold).
    const ZERO: Self;
    /// `dst[i] = src[i]` in this type (f16: round to nearest, ties to even).
    fn from_f32_row(src: &[f32], dst: &mut [Self]);
    /// `src` as f32: borrowed when it already is, else widened (exactly) into `buf`.
    fn as_f32<'a>(src: &'a [Self], buf: &'a mut [f32]) -> &'a [f32];
}

impl KvElement for f32 {
    const ZERO: f32 = 0.0;
    fn from_f32_row(src: &[f32], dst: &mut [f32]) {
        dst.copy_from_slice(src);
    }
    #[inline(always)]
    fn as_f32<'a>(src: &'a [f32], _buf: &'a mut [f32]) -> &'a [f32] {
        src
    }
}

impl KvElement for f16 {
    const ZERO: f16 = f16::ZERO;
    fn from_f32_row(src: &[f32], dst: &mut [f16]) {
        f32_row_to_f16(src, dst);
    }
    #[inline(always)]
    fn as_f32<'a>(src: &'a [f16], buf: &'a mut [f32]) -> &'a [f32] {
        f16_row_to_f32(src, buf);
        buf
    }
}

/// Debug checks shared by [`attention_row`] and [`attention_row_backward`]: `q_len` (and every
/// per-row output) is `n_head * hd`, the caches hold whole rows of `n_kv_head * hd`, the extra
/// slots ascend after the prefix and the last visible slot lies inside the cache.
fn debug_check_row(
    q_len: usize,
    kv_len: usize,
    visible: VisibleSlots<'_>,
    n_head: usize,
    n_kv_head: usize,
    hd: usize,
) {
    let kv_dim = n_kv_head * hd;
    debug_assert!(n_kv_head > 0 && n_head.is_multiple_of(n_kv_head));
    debug_assert!(q_len == n_head * hd);
    debug_assert!(kv_dim > 0 && kv_len.is_multiple_of(kv_dim));
    debug_assert!(visible.extra.windows(2).all(|w| w[0] < w[1]));
    debug_assert!(visible
        .extra
        .first()
        .is_none_or(|&s| s as usize >= visible.prefix));
    debug_assert!(visible.end() * kv_dim <= kv_len);
}

/// The attention weights of one KV head's group of query heads: `p[g * n_vis + s] =
/// softmax_s(q_g · k_s · scale)` for the group's query heads `qg` (`group * hd` floats) and the
/// visible slots `s` (in ascending order), `k_s` the rows of KV head `kv_head` in `keys`.
///
/// Scores are [`dot`] products, normalized by [`softmax_inplace`]; each key row is widened once
/// (into `buf`, `hd` floats) and used by every head of the group. The one score-and-softmax step
/// of [`attention_row`] and [`attention_row_backward`], so the backward differentiates the very
/// weights the forward used.
#[allow(clippy::too_many_arguments)]
fn group_weights<T: KvElement>(
    qg: &[f32],
    keys: &[T],
    visible: VisibleSlots<'_>,
    kv_head: usize,
    kv_dim: usize,
    hd: usize,
    buf: &mut [f32],
    p: &mut [f32],
) {
    let scale = 1.0 / sqrtf(hd as f32);
    let n_vis = visible.len();
    let kv_off = kv_head * hd;
    for (s, j) in visible.iter().enumerate() {
        let off = j * kv_dim + kv_off;
        let k = T::as_f32(&keys[off..off + hd], buf);
        for (qh, ph) in qg.chunks_exact(hd).zip(p.chunks_exact_mut(n_vis)) {
            ph[s] = dot(qh, k) * scale;
        }
    }
    for ph in p.chunks_exact_mut(n_vis) {
        softmax_inplace(ph);
    }
}

/// One query row: for each head `h`, `out_h = Σ_j softmax_j(q_h · k_j / sqrt(hd)) v_j` over the
/// slots `j` in `visible`, with `k_j`, `v_j` taken from KV head `h / (n_head / n_kv_head)`.
///
/// `q` and `out` hold `n_head * hd` floats; `keys` and `values` hold cache rows of
/// `n_kv_head * hd` elements, row `j` being position slot `j`. Only the visible slots are read,
/// in ascending order, so the result does not depend on how many invisible slots the cache holds
/// or where they are. Scores are computed with [`dot`] and normalized with [`softmax_inplace`]
/// (one step shared with [`attention_row_backward`]); the weighted sum of values runs over the
/// visible slots in order. Each KV head's key and value rows are widened to f32 once and used by
/// every query head of its group; the arithmetic per head is the same whatever the element type,
/// so an f16 cache gives the bits an f32 cache holding the same (f16-rounded) values gives. With
/// no visible slot the output is zero.
///
/// `n_head` must be a multiple of `n_kv_head`, and every visible slot must lie inside the cache
/// (checked by `debug_assert`; a slot past the end panics on slice indexing).
#[allow(clippy::too_many_arguments)]
pub fn attention_row<T: KvElement>(
    q: &[f32],
    keys: &[T],
    values: &[T],
    visible: VisibleSlots<'_>,
    n_head: usize,
    n_kv_head: usize,
    hd: usize,
    out: &mut [f32],
) {
    let kv_dim = n_kv_head * hd;
    debug_check_row(q.len(), keys.len(), visible, n_head, n_kv_head, hd);
    debug_assert!(out.len() == q.len() && values.len() == keys.len());
    if hd == 0 || n_kv_head == 0 {
        return;
    }
    let group = n_head / n_kv_head;
    let n_vis = visible.len();
    if n_vis == 0 {
        out.fill(0.0);
        return;
    }
    // p[g * n_vis + s]: the weight of the group's head g for visible slot s.
    let mut p = vec![0f32; group * n_vis];
    let mut buf = vec![0f32; hd];
    for (kvh, (qg, og)) in q
        .chunks_exact(group * hd)
        .zip(out.chunks_exact_mut(group * hd))
        .enumerate()
    {
        group_weights(qg, keys, visible, kvh, kv_dim, hd, &mut buf, &mut p);
        og.fill(0.0);
        for (s, j) in visible.iter().enumerate() {
            let off = j * kv_dim + kvh * hd;
            let v = T::as_f32(&values[off..off + hd], &mut buf);
            for (oh, ph) in og.chunks_exact_mut(hd).zip(p.chunks_exact(n_vis)) {
                let w = ph[s];
                for (o, &x) in oh.iter_mut().zip(v) {
                    *o += w * x;
                }
            }
        }
    }
}

/// Backward of [`attention_row`] for one query row over an f32 cache (training's layout: row
/// `j` of `keys`, `values`, `dkeys` and `dvalues` is slot `j`, `n_kv_head * hd` floats). With
/// `p_hj = softmax_j(q_h · k_j · c)`, `c = 1 / sqrt(hd)`, `out_h = Σ_j p_hj v_j` and the
/// incoming gradient `g_h = dout_h`, for every head `h` (KV head `kv(h)`) and visible slot `j`:
///
/// ```text
/// ∂L/∂p_hj      = g_h · v_j
/// ∂L/∂z_hj      = p_hj (∂L/∂p_hj − Σ_i p_hi ∂L/∂p_hi)        (softmax_backward; z = score)
/// ∂L/∂q_h       = c Σ_j ∂L/∂z_hj k_j                          (written to dq)
/// ∂L/∂k_j[kv]  += c Σ_{h: kv(h) = kv} ∂L/∂z_hj q_h           (accumulated into dkeys)
/// ∂L/∂v_j[kv]  += Σ_{h: kv(h) = kv} p_hj g_h                 (accumulated into dvalues)
/// ```
///
/// The weights `p` are recomputed by the forward's own score-and-softmax step, so they are
/// bit-identical to those [`attention_row`] used. `dkeys` and `dvalues` are accumulated, so the
/// query rows of a sequence sum into one gradient of the shared cache; only visible slots are
/// read or written. `dout` and `dq` hold `n_head * hd` floats. With no visible slot `dq` is zero.
#[allow(clippy::too_many_arguments)]
pub fn attention_row_backward(
    q: &[f32],
    keys: &[f32],
    values: &[f32],
    visible: VisibleSlots<'_>,
    n_head: usize,
    n_kv_head: usize,
    hd: usize,
    dout: &[f32],
    dq: &mut [f32],
    dkeys: &mut [f32],
    dvalues: &mut [f32],
) {
    let kv_dim = n_kv_head * hd;
    debug_check_row(q.len(), keys.len(), visible, n_head, n_kv_head, hd);
    debug_assert!(dout.len() == q.len() && dq.len() == q.len());
    debug_assert!(values.len() == keys.len());
    debug_assert!(dkeys.len() == keys.len() && dvalues.len() == keys.len());
    if hd == 0 || n_kv_head == 0 {
        return;
    }
    let group = n_head / n_kv_head;
    let n_vis = visible.len();
    dq.fill(0.0);
    if n_vis == 0 {
        return;
    }
    let scale = 1.0 / sqrtf(hd as f32);
    // Per group head g and visible slot s: the weight p, ∂L/∂p, then ∂L/∂score.
    let mut p = vec![0f32; group * n_vis];
    let mut dp = vec![0f32; group * n_vis];
    let mut dz = vec![0f32; n_vis];
    let mut buf = vec![0f32; hd];
    for (kvh, ((qg, gg), dqg)) in q
        .chunks_exact(group * hd)
        .zip(dout.chunks_exact(group * hd))
        .zip(dq.chunks_exact_mut(group * hd))
        .enumerate()
    {
        group_weights(qg, keys, visible, kvh, kv_dim, hd, &mut buf, &mut p);
        let kv_off = kvh * hd;
        // ∂L/∂p_hs = g_h · v_s and ∂L/∂v_s += Σ_h p_hs g_h.
        for (s, j) in visible.iter().enumerate() {
            let off = j * kv_dim + kv_off;
            let v = &values[off..off + hd];
            let dv = &mut dvalues[off..off + hd];
            for (gh, (ph, dph)) in gg
                .chunks_exact(hd)
                .zip(p.chunks_exact(n_vis).zip(dp.chunks_exact_mut(n_vis)))
            {
                dph[s] = dot(gh, v);
                let w = ph[s];
                for (d, &x) in dv.iter_mut().zip(gh) {
                    *d += w * x;
                }
            }
        }
        // Through the softmax, then the scaled dot products q_h · k_s.
        for ((qh, dqh), (ph, dph)) in qg
            .chunks_exact(hd)
            .zip(dqg.chunks_exact_mut(hd))
            .zip(p.chunks_exact(n_vis).zip(dp.chunks_exact(n_vis)))
        {
            softmax_backward(ph, dph, &mut dz);
            for (s, j) in visible.iter().enumerate() {
                let off = j * kv_dim + kv_off;
                let w = dz[s] * scale;
                for ((d, &k), (dk, &x)) in dqh
                    .iter_mut()
                    .zip(&keys[off..off + hd])
                    .zip(dkeys[off..off + hd].iter_mut().zip(qh))
                {
                    *d += w * k;
                    *dk += w * x;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::{check_directional, dot64, TestRng};
    use alloc::format;
    use alloc::vec::Vec;

    /// The visible set of an ascending slot list.
    fn listed(list: &[u32]) -> VisibleSlots<'_> {
        VisibleSlots::from_ascending(list)
    }

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
            attention_row(&q, &k, &v, listed(&visible), nh, nkv, hd, &mut out);
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
        attention_row(&q, &k, &v, listed(&compact), nh, nkv, hd, &mut expect);

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
            attention_row(&q, &big_k, &big_v, listed(&visible), nh, nkv, hd, &mut out);
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
        attention_row(&q, &k, &v, listed(&[1]), nh, nkv, hd, &mut out);
        for h in 0..nh {
            let src = &v[nkv * hd + (h / 2) * hd..][..hd];
            assert_eq!(&out[h * hd..(h + 1) * hd], src, "head {h}");
        }
        attention_row(&q, &k, &v, listed(&[]), nh, nkv, hd, &mut out);
        assert!(out.iter().all(|&x| x == 0.0));
    }

    #[test]
    fn ascending_lists_split_into_prefix_and_extras() {
        let cases: [(&[u32], usize, &[u32]); 5] = [
            (&[0, 1, 2, 5, 7], 3, &[5, 7]),
            (&[0, 1, 2], 3, &[]),
            (&[1, 2], 0, &[1, 2]),
            (&[0, 2, 3], 1, &[2, 3]),
            (&[], 0, &[]),
        ];
        for (list, prefix, extra) in cases {
            let v = VisibleSlots::from_ascending(list);
            assert_eq!((v.prefix, v.extra), (prefix, extra), "{list:?}");
            assert_eq!(v.iter().map(|s| s as u32).collect::<Vec<_>>(), list);
            assert_eq!(v.len(), list.len());
            assert_eq!(v.end(), list.last().map_or(0, |&s| s as usize + 1));
        }
    }

    #[test]
    fn prefix_with_extras_matches_the_reference() {
        // A draft-tree row: the 20 slots before the tree, then an ancestor path inside it.
        let mut rng = TestRng::new(24);
        let (nh, nkv, hd) = (14, 2, 64);
        let slots = 40;
        let q = rng.vec(nh * hd);
        let k = rng.vec(slots * nkv * hd);
        let v = rng.vec(slots * nkv * hd);
        let extra = [21u32, 24, 30, 39];
        let tree = VisibleSlots {
            prefix: 20,
            extra: &extra,
        };
        let list: Vec<u32> = tree.iter().map(|s| s as u32).collect();
        let mut out = vec![0f32; nh * hd];
        attention_row(&q, &k, &v, tree, nh, nkv, hd, &mut out);
        let want = naive(&q, &k, &v, &list, nh, nkv, hd);
        for i in 0..nh * hd {
            assert!((out[i] as f64 - want[i]).abs() < 1e-5, "[{i}]");
        }
    }

    #[test]
    fn f16_cache_gives_the_bits_of_an_f32_cache_holding_the_rounded_values() {
        let mut rng = TestRng::new(25);
        // hd = 36 leaves a conversion tail of 4; 9/3 heads as SmolLM2, 14/2 as Qwen.
        for (nh, nkv, hd) in [(9, 3, 64), (14, 2, 64), (4, 2, 36)] {
            let slots = 33;
            let q = rng.vec(nh * hd);
            let (k, v) = (rng.vec(slots * nkv * hd), rng.vec(slots * nkv * hd));
            let (mut k16, mut v16) = (vec![f16::ZERO; k.len()], vec![f16::ZERO; v.len()]);
            f32_row_to_f16(&k, &mut k16);
            f32_row_to_f16(&v, &mut v16);
            let k_rounded: Vec<f32> = k16.iter().map(|x| x.to_f32()).collect();
            let v_rounded: Vec<f32> = v16.iter().map(|x| x.to_f32()).collect();
            let extra = [17u32, 20, 32];
            let vis = VisibleSlots {
                prefix: 12,
                extra: &extra,
            };
            let (mut a, mut b) = (vec![0f32; nh * hd], vec![0f32; nh * hd]);
            attention_row(&q, &k16, &v16, vis, nh, nkv, hd, &mut a);
            attention_row(&q, &k_rounded, &v_rounded, vis, nh, nkv, hd, &mut b);
            assert!(
                a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()),
                "{nh}/{nkv}/{hd}"
            );
        }
    }

    /// `L = <r, attention_row(q, keys, values)>` in f64.
    fn row_loss(
        q: &[f32],
        k: &[f32],
        v: &[f32],
        visible: VisibleSlots<'_>,
        (nh, nkv, hd): (usize, usize, usize),
        r: &[f32],
    ) -> f64 {
        let mut out = vec![0f32; nh * hd];
        attention_row(q, k, v, visible, nh, nkv, hd, &mut out);
        dot64(r, &out)
    }

    #[test]
    fn backward_matches_central_differences_causal_and_tree_rows() {
        // 4 query heads over 2 KV heads of 8, a cache of 9 slots; q scaled by 3 so the
        // softmax is far from uniform. h = 1e-2 on inputs of scale ~1, relative 1e-3.
        let (nh, nkv, hd) = (4, 2, 8);
        let slots = 9;
        let tree_extra = [5u32, 7, 8];
        let rows = [
            (
                "causal",
                VisibleSlots {
                    prefix: 6,
                    extra: &[],
                },
            ),
            (
                "tree",
                VisibleSlots {
                    prefix: 3,
                    extra: &tree_extra,
                },
            ),
            (
                "one slot",
                VisibleSlots {
                    prefix: 1,
                    extra: &[],
                },
            ),
        ];
        let mut rng = TestRng::new(26);
        for (name, vis) in rows {
            for trial in 0..3 {
                let q: Vec<f32> = rng.vec(nh * hd).iter().map(|x| x * 3.0).collect();
                let k = rng.vec(slots * nkv * hd);
                let v = rng.vec(slots * nkv * hd);
                let r = rng.vec(nh * hd);
                let mut dq = vec![0f32; nh * hd];
                let (mut dk, mut dv) = (vec![0f32; k.len()], vec![0f32; v.len()]);
                let heads = (nh, nkv, hd);
                attention_row_backward(&q, &k, &v, vis, nh, nkv, hd, &r, &mut dq, &mut dk, &mut dv);
                let what = format!("{name} #{trial} dq");
                check_directional(&mut rng, &what, &q, &dq, 1e-2, 1e-3, |q| {
                    row_loss(q, &k, &v, vis, heads, &r)
                });
                let what = format!("{name} #{trial} dkeys");
                check_directional(&mut rng, &what, &k, &dk, 1e-2, 1e-3, |k| {
                    row_loss(&q, k, &v, vis, heads, &r)
                });
                let what = format!("{name} #{trial} dvalues");
                check_directional(&mut rng, &what, &v, &dv, 1e-2, 1e-3, |v| {
                    row_loss(&q, &k, v, vis, heads, &r)
                });
            }
        }
    }

    #[test]
    fn backward_touches_only_visible_slots_and_accumulates() {
        let (nh, nkv, hd) = (4, 2, 8);
        let kv_dim = nkv * hd;
        let slots = 9;
        let extra = [5u32, 7];
        let vis = VisibleSlots {
            prefix: 3,
            extra: &extra,
        };
        let mut rng = TestRng::new(27);
        let q = rng.vec(nh * hd);
        let (k, v) = (rng.vec(slots * kv_dim), rng.vec(slots * kv_dim));
        let r = rng.vec(nh * hd);
        let mut dq = vec![9f32; nh * hd];
        let (mut dk0, mut dv0) = (vec![0f32; k.len()], vec![0f32; v.len()]);
        attention_row_backward(
            &q, &k, &v, vis, nh, nkv, hd, &r, &mut dq, &mut dk0, &mut dv0,
        );
        // Starting from arbitrary gradients, visible rows gain the same amounts and invisible
        // rows keep their bits.
        let (start_k, start_v) = (rng.vec(k.len()), rng.vec(v.len()));
        let (mut dk, mut dv) = (start_k.clone(), start_v.clone());
        attention_row_backward(&q, &k, &v, vis, nh, nkv, hd, &r, &mut dq, &mut dk, &mut dv);
        for j in 0..slots {
            let seen = vis.iter().any(|s| s == j);
            for i in j * kv_dim..(j + 1) * kv_dim {
                for (got, start, grad) in [(dk[i], start_k[i], dk0[i]), (dv[i], start_v[i], dv0[i])]
                {
                    if seen {
                        assert!((got - (start + grad)).abs() <= 1e-6, "slot {j} [{i}]");
                    } else {
                        assert_eq!(got.to_bits(), start.to_bits(), "invisible slot {j} [{i}]");
                    }
                }
            }
            if seen {
                let row = |d: &[f32]| d[j * kv_dim..(j + 1) * kv_dim].iter().any(|&x| x != 0.0);
                assert!(row(&dk0) && row(&dv0), "visible slot {j} has a gradient");
            }
        }
        // No visible slot: dq is zero and nothing accumulates.
        let (before_k, before_v) = (dk.clone(), dv.clone());
        attention_row_backward(
            &q,
            &k,
            &v,
            listed(&[]),
            nh,
            nkv,
            hd,
            &r,
            &mut dq,
            &mut dk,
            &mut dv,
        );
        assert!(dq.iter().all(|&x| x == 0.0));
        assert!(dk == before_k && dv == before_v);
    }

    #[test]
    fn sequence_backward_sums_the_cache_gradient_over_query_rows() {
        // Training's use: a causal sequence of 7 tokens, row t seeing slots 0..=t, the key and
        // value gradients of all rows accumulated into one buffer. L = Σ_t <r_t, out_t>.
        let (nh, nkv, hd) = (4, 2, 8);
        let (seq, q_dim, kv_dim) = (7, nh * hd, nkv * hd);
        let mut rng = TestRng::new(28);
        let q: Vec<f32> = rng.vec(seq * q_dim).iter().map(|x| x * 2.0).collect();
        let (k, v) = (rng.vec(seq * kv_dim), rng.vec(seq * kv_dim));
        let r = rng.vec(seq * q_dim);
        let causal = |t: usize| VisibleSlots {
            prefix: t + 1,
            extra: &[],
        };
        let loss = |q: &[f32], k: &[f32], v: &[f32]| -> f64 {
            (0..seq)
                .map(|t| {
                    let rows = t * q_dim..(t + 1) * q_dim;
                    row_loss(&q[rows.clone()], k, v, causal(t), (nh, nkv, hd), &r[rows])
                })
                .sum()
        };
        let mut dq = vec![0f32; q.len()];
        let (mut dk, mut dv) = (vec![0f32; k.len()], vec![0f32; v.len()]);
        for t in 0..seq {
            let rows = t * q_dim..(t + 1) * q_dim;
            attention_row_backward(
                &q[rows.clone()],
                &k,
                &v,
                causal(t),
                nh,
                nkv,
                hd,
                &r[rows.clone()],
                &mut dq[rows],
                &mut dk,
                &mut dv,
            );
        }
        check_directional(&mut rng, "sequence dq", &q, &dq, 1e-2, 1e-3, |q| {
            loss(q, &k, &v)
        });
        check_directional(&mut rng, "sequence dkeys", &k, &dk, 1e-2, 1e-3, |k| {
            loss(&q, k, &v)
        });
        check_directional(&mut rng, "sequence dvalues", &v, &dv, 1e-2, 1e-3, |v| {
            loss(&q, &k, v)
        });
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
                attention_row(&q, &k, &v, listed(&compact), nh, nkv, hd, &mut expect);
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
                attention_row(&q, &big_k, &big_v, listed(&visible), nh, nkv, hd, &mut out);
                prop_assert!(out.iter().zip(&expect).all(|(a, b)| a.to_bits() == b.to_bits()));
            }
        }
    }
}
