//! The cost model behind `--budget auto`: forward time by number of tokens, measured on the
//! machine at hand for the target and the draft, and the budget (tree size, or no tree) that
//! maximizes expected tokens per second, (1 + E(A)) / (draft time + verify time).
//!
//! On a CPU a forward's time grows with its tokens (the products are compute-bound once a few
//! rows share each weight), so a large tree costs what it gains; on a GPU the curve is nearly
//! flat up to dozens of tokens and the same rule picks a large tree. Nothing here assumes
//! either: the curves are measured.

use super::static_tree::{Sequoia, Shape};
use super::verify::RankStats;
use crate::model::generate::now;
use crate::model::{Batch, KvCache, KvType, LogitRows, Model, Numerics};
use crate::Result;
use alloc::vec::Vec;

/// Seconds of one forward by number of tokens: measured points, interpolated linearly and
/// extended along the last segment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Curve {
    points: Vec<(usize, f64)>,
}

impl Curve {
    /// A curve through `(tokens, seconds)` points.
    pub fn new(mut points: Vec<(usize, f64)>) -> Curve {
        points.sort_by_key(|p| p.0);
        points.dedup_by_key(|p| p.0);
        Curve { points }
    }

    /// The measured points.
    pub fn points(&self) -> &[(usize, f64)] {
        &self.points
    }

    /// Updates the point at `tokens` with a new measurement (exponential average, weight 1/4
    /// to the new one), or adds it.
    pub fn observe(&mut self, tokens: usize, seconds: f64) {
        match self.points.binary_search_by_key(&tokens, |p| p.0) {
            Ok(i) => self.points[i].1 = 0.75 * self.points[i].1 + 0.25 * seconds,
            Err(i) => self.points.insert(i, (tokens, seconds)),
        }
    }

    /// Seconds for `tokens` tokens (0 for none, or when nothing is measured).
    pub fn at(&self, tokens: usize) -> f64 {
        let p = &self.points;
        if tokens == 0 || p.is_empty() {
            return 0.0;
        }
        if p.len() == 1 {
            return p[0].1 * tokens as f64 / p[0].0 as f64;
        }
        let i = p.partition_point(|q| q.0 < tokens).clamp(1, p.len() - 1);
        let ((x0, y0), (x1, y1)) = (p[i - 1], p[i]);
        let slope = (y1 - y0) / (x1 - x0) as f64;
        (y0 + slope * (tokens as f64 - x0 as f64)).max(0.0)
    }
}

/// Times one forward of each of `widths` tokens through `layers` layers of `model`, after a
/// context of `context` tokens, on a scratch cache (the numbers a decode step would see; the
/// token ids do not change the cost), with the output head on every row (`every_row`: a
/// draft's proposals) or on one (a verification, which computes the head only along the
/// accepted path). After one warm-up forward, each width is run three times and the fastest
/// kept.
pub fn measure_forward(
    model: &Model,
    layers: usize,
    numerics: Numerics,
    context: usize,
    widths: &[usize],
    every_row: bool,
) -> Result<Curve> {
    let cfg = &model.config;
    let need = context + widths.iter().copied().max().unwrap_or(0);
    let mut cache = KvCache::new(
        layers,
        cfg.kv_dim(),
        need.max(1),
        KvType::default_for(numerics),
    );
    let tokens: Vec<u32> = (0..need as u32)
        .map(|i| i % cfg.vocab_size as u32)
        .collect();
    let positions: Vec<u32> = (0..need as u32).collect();
    if context > 0 {
        let b = Batch::causal(&tokens[..context], &positions[..context]);
        model.forward_layers(&mut cache, &b, numerics, LogitRows::Last, layers)?;
    }
    let mut points = Vec::with_capacity(widths.len());
    // One unmeasured forward of the widest batch first: page faults on the mapped weights and
    // the thread pool's start would otherwise land on the first widths.
    let widest = widths.iter().copied().max().unwrap_or(0);
    let warm_up = (widest > 0).then_some(widest);
    for (i, &w) in warm_up.iter().chain(widths).filter(|&&w| w > 0).enumerate() {
        let mut best = f64::INFINITY;
        for _ in 0..3 {
            let b = Batch::causal(
                &tokens[context..context + w],
                &positions[context..context + w],
            );
            let t = now();
            let rows = if every_row {
                LogitRows::All
            } else {
                LogitRows::Last
            };
            model.forward_layers(&mut cache, &b, numerics, rows, layers)?;
            best = best.min(now() - t);
            cache.truncate(context)?;
        }
        if i > 0 || warm_up.is_none() {
            points.push((w, best));
        }
    }
    Ok(Curve::new(points))
}

/// The widths [`measure_forward`] profiles for budgets up to `max_budget`.
pub fn profile_widths(max_budget: usize) -> Vec<usize> {
    let mut w = alloc::vec![1usize];
    while *w.last().expect("non-empty") <= max_budget {
        let next = w.last().expect("non-empty") * 2;
        w.push(next);
    }
    w
}

/// Measured costs of a target and its draft.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CostModel {
    /// Target forward seconds by tree tokens (root included).
    pub verify: Curve,
    /// Draft forward seconds by tokens drafted after in one layer.
    pub draft: Curve,
}

/// A budget's prediction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plan {
    /// Tree nodes below the root; 0 = plain decoding.
    pub budget: usize,
    /// Expected accepted draft tokens per step, E(A).
    pub accepted: f64,
    /// Predicted seconds per step: the draft's forwards and the target's verification.
    pub seconds: f64,
    /// Predicted tokens per second, (1 + E(A)) / seconds.
    pub tokens_per_s: f64,
}

/// Acceptance by child rank assumed before anything is measured: a draft whose top candidate
/// is right half of the time.
const PRIOR: [f64; 4] = [0.5, 0.1, 0.05, 0.03];
/// Weight of [`PRIOR`], in measured nodes.
const PRIOR_WEIGHT: f64 = 4.0;
/// Ranks the acceptance estimate distinguishes.
pub const RANKS: usize = 8;
/// Per-step decay of the estimate's counts: the text's predictability changes (code, prose,
/// a passage being copied), so the plan follows roughly the last 30 steps.
const DECAY: f64 = 0.97;

/// The acceptance by child rank to plan with: recent measurements (decayed counts of
/// [`RankStats`] steps) smoothed towards [`PRIOR`], (hits_r + w prior_r) / (visits + w).
#[derive(Debug, Clone, PartialEq)]
pub struct AcceptanceEstimate {
    visits: f64,
    hits: [f64; RANKS],
}

impl Default for AcceptanceEstimate {
    fn default() -> Self {
        AcceptanceEstimate {
            visits: 0.0,
            hits: [0.0; RANKS],
        }
    }
}

impl AcceptanceEstimate {
    /// Decays the counts and adds one step's.
    pub fn update(&mut self, step: &RankStats) {
        self.visits = self.visits * DECAY + step.visits as f64;
        for (r, h) in self.hits.iter_mut().enumerate() {
            *h = *h * DECAY + step.hits.get(r).copied().unwrap_or(0) as f64;
        }
    }

    /// Measured nodes behind the estimate (decayed).
    pub fn visits(&self) -> f64 {
        self.visits
    }

    /// The estimate by rank.
    pub fn acceptance(&self) -> Vec<f64> {
        (0..RANKS)
            .map(|r| {
                let prior = PRIOR.get(r).copied().unwrap_or(0.0);
                (self.hits[r] + PRIOR_WEIGHT * prior) / (self.visits + PRIOR_WEIGHT)
            })
            .collect()
    }
}

impl CostModel {
    /// The prediction for a tree of `shape` (E(A) = `accepted`): the draft runs one forward
    /// per layer over the layer's nodes that have children, the target one over the root and
    /// the nodes.
    pub fn predict(&self, shape: &Shape, accepted: f64) -> Plan {
        let n = shape.len();
        if n == 0 {
            let s = self.verify.at(1);
            return Plan {
                budget: 0,
                accepted: 0.0,
                seconds: s,
                tokens_per_s: if s > 0.0 { 1.0 / s } else { 0.0 },
            };
        }
        let depth = shape.paths().iter().map(|p| p.len()).max().unwrap_or(0);
        // Parents per layer: the root for layer 1, then nodes with a child in the next layer.
        let draft: f64 = (1..=depth)
            .map(|d| {
                let mut parents: Vec<&[u32]> = shape
                    .paths()
                    .iter()
                    .filter(|p| p.len() == d)
                    .map(|p| &p[..d - 1])
                    .collect();
                parents.sort_unstable();
                parents.dedup();
                self.draft.at(parents.len())
            })
            .sum();
        let seconds = draft + self.verify.at(n + 1);
        Plan {
            budget: n,
            accepted,
            seconds,
            tokens_per_s: if seconds > 0.0 {
                (1.0 + accepted) / seconds
            } else {
                0.0
            },
        }
    }

    /// The best of plain decoding and each budget in `budgets`, trees of at most `max_depth`
    /// layers: each budget's tree is Sequoia's for the measured acceptance by rank (the best
    /// shape the measurement supports, so the same rule serves every tree builder), and the
    /// one predicting the most tokens per second wins.
    pub fn choose(&self, acceptance: &[f64], budgets: &[usize], max_depth: usize) -> Plan {
        let mut best = self.predict(&Shape::chain(0), 0.0);
        let program = Sequoia::new(
            acceptance,
            budgets.iter().copied().max().unwrap_or(0),
            max_depth,
        );
        for &b in budgets.iter().filter(|&&b| b > 0) {
            let (shape, e) = program.shape(b);
            let plan = self.predict(&shape, e);
            if plan.tokens_per_s > best.tokens_per_s {
                best = plan;
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curves_interpolate_and_extend() {
        let c = Curve::new(alloc::vec![(4, 4.0), (1, 1.0), (2, 1.5)]);
        assert_eq!(c.at(0), 0.0);
        assert_eq!(c.at(1), 1.0);
        assert_eq!(c.at(3), 2.75);
        assert_eq!(c.at(8), 9.0);
        let mut one = Curve::new(alloc::vec![(2, 1.0)]);
        assert_eq!(one.at(6), 3.0);
        one.observe(2, 2.0);
        assert_eq!(one.points(), &[(2, 1.25)]);
        assert_eq!(Curve::default().at(5), 0.0);
        assert_eq!(profile_widths(16), alloc::vec![1, 2, 4, 8, 16, 32]);
    }

    #[test]
    fn the_estimate_starts_at_the_prior_and_follows_recent_steps() {
        let mut e = AcceptanceEstimate::default();
        assert_eq!(e.acceptance()[..4], PRIOR);
        let sure = RankStats {
            visits: 4,
            hits: alloc::vec![4],
        };
        for _ in 0..200 {
            e.update(&sure);
        }
        assert!(e.acceptance()[0] > 0.97, "{:?}", e.acceptance());
        let miss = RankStats {
            visits: 4,
            hits: Vec::new(),
        };
        for _ in 0..100 {
            e.update(&miss);
        }
        assert!(e.acceptance()[0] < 0.1, "{:?}", e.acceptance());
    }

    #[test]
    fn a_costly_draft_or_verification_falls_back_to_plain_decoding() {
        let acc = [0.6, 0.1, 0.05];
        // Verification as costly per token as decoding: no tree pays for itself.
        let m = CostModel {
            verify: Curve::new(alloc::vec![(1, 1.0), (64, 64.0)]),
            draft: Curve::new(alloc::vec![(1, 0.5), (64, 32.0)]),
        };
        assert_eq!(m.choose(&acc, &[1, 2, 4, 8, 16], 10).budget, 0);
        // A flat verification curve and a cheap draft (a GPU): a tree wins, a larger one than
        // when verification grows with the tokens.
        let gpu = CostModel {
            verify: Curve::new(alloc::vec![(1, 1.0), (64, 1.2)]),
            draft: Curve::new(alloc::vec![(1, 0.02), (64, 0.05)]),
        };
        let p = gpu.choose(&acc, &[1, 2, 4, 8, 16], 10);
        assert_eq!(p.budget, 16, "{p:?}");
        let cpu = CostModel {
            verify: Curve::new(alloc::vec![(1, 1.0), (2, 1.1), (64, 8.0)]),
            draft: Curve::new(alloc::vec![(1, 0.02), (64, 0.5)]),
        };
        let q = cpu.choose(&acc, &[1, 2, 4, 8, 16], 10);
        assert!(q.budget > 0 && q.budget < 16, "{q:?}");
        // The prediction is (1 + E) / seconds.
        assert!((q.tokens_per_s - (1.0 + q.accepted) / q.seconds).abs() < 1e-12);
    }
}
