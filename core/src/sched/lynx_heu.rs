//! Lynx-HEU: transformer layers are identical, so solve one layer and reuse its plan on every
//! layer of the stage; stage-aware, because each stage has its own in-flight count, static
//! memory and pipeline window, and the top layer (whose window A is the pipeline wait) is solved
//! a second time with the interior plan fixed.
//!
//! Step 1 (interior plan `P`): minimise `exposed(P)` subject to
//! `C + n L stored(P) + transient(P) <= M`, i.e. as if all `L` layers used `P`.
//! Step 2 (top plan `Q`): minimise `exposed(Q)` subject to
//! `C + n ((L - 1) stored(P) + stored(Q)) + max(transient(P), transient(Q)) <= M`.
//! Each step is a branch and bound over one layer's decisions ([`super::layer_search`]): a
//! branch ends when its exposed time already reaches the incumbent's, or when its stored and
//! transient bytes so far (both only grow) already break the budget. Among plans of equal
//! exposed time the first found wins; the search order (windows, then stored, then exposed)
//! makes it one that hides recomputation rather than one that stores everything.

use super::cost_model::LayerGraph;
use super::layer_search::{search, Leaf, Partial, Visitor};
use super::lynx_opt::StageSolution;
use super::policy::{decode, StageProblem};
use alloc::vec::Vec;

/// Best plan under `base + mult * stored + max(floor, transient) <= limit`: the first plan of
/// least exposed time in the search order (which tries hidden recomputation first).
struct BestUnder {
    base: u64,
    mult: u64,
    floor: u64,
    limit: u64,
    best: Option<Leaf>,
}

impl BestUnder {
    fn bytes(&self, stored: u64, transient: u64) -> u64 {
        self.base
            + self.mult * stored
            + if transient > self.floor {
                transient
            } else {
                self.floor
            }
    }
}

impl Visitor for BestUnder {
    fn prune(&self, p: &Partial) -> bool {
        self.bytes(p.stored, p.transient) > self.limit
            || self.best.is_some_and(|b| p.exposed_s >= b.exposed_s)
    }
    fn leaf(&mut self, leaf: Leaf) {
        // Only strictly better plans get past `prune`.
        self.best = Some(leaf);
    }
}

/// Lynx-HEU for one stage; `None` when no uniform plan fits.
pub fn solve_stage(graph: &LayerGraph, problem: &StageProblem) -> Option<StageSolution> {
    solve(graph, problem, true)
}

/// The same heuristic with both windows closed (a feasible start for the Checkmate optimum).
pub fn solve_stage_without_windows(
    graph: &LayerGraph,
    problem: &StageProblem,
) -> Option<StageSolution> {
    solve(graph, problem, false)
}

fn solve(graph: &LayerGraph, problem: &StageProblem, windows: bool) -> Option<StageSolution> {
    let n = problem.in_flight as u64;
    let l = problem.layers as u64;
    let mut interior = BestUnder {
        base: problem.static_bytes,
        mult: n * l,
        floor: 0,
        limit: problem.budget_bytes,
        best: None,
    };
    search(graph, &problem.interior, windows, &mut interior);
    let p = interior.best?;
    let mut top = BestUnder {
        base: problem.static_bytes + n * (l - 1) * p.stored,
        mult: n,
        floor: p.transient,
        limit: problem.budget_bytes,
        best: None,
    };
    search(graph, &problem.top, windows, &mut top);
    // Always found: the interior plan with its window-A work moved to Exposed1 keeps its
    // memory and its dependency order.
    let q = top.best?;
    let k = graph.tensors.len();
    let mut layers: Vec<_> = (0..problem.layers - 1).map(|_| decode(p.code, k)).collect();
    layers.push(decode(q.code, k));
    Some(StageSolution {
        layers,
        exposed_s: (l - 1) as f64 * p.exposed_s + q.exposed_s,
    })
}
