//! Lynx-OPT: the exact optimum of a pipeline stage's recomputation schedule with recomputation
//! placed in communication windows, by an algorithm of our own (no external solver).
//!
//! Formulation (one stage, `L` layers, `n` micro-batches in flight, budget `M`, static bytes
//! `C`): decision variables per layer `l` and tensor `i`: `x_{l,i} in {stored, WindowA,
//! Exposed1, WindowB, Exposed2}`. Constraints: the per-layer ones of
//! [`super::layer_search`] (deadlines, dependencies, window capacities; windows belong to one
//! layer each, so layers interact only through memory), and memory
//! `C + n * sum_l stored_l + max_l transient_l <= M` (1F1B: the stage holds `n` micro-batches'
//! stored activations, and one layer's recomputed tensors are alive at a time). Objective:
//! minimise `sum_l exposed_l`, the recomputation on the stage's critical path per micro-batch.
//!
//! Algorithm: (1) for each distinct layer type (every layer but the top shares its windows;
//! the top layer's window A is the pipeline wait) enumerate all feasible layer plans and keep the
//! Pareto frontier over (stored, transient, exposed); (2) for every candidate `tau` of the
//! largest transient (the transients on the frontiers), restrict each frontier to
//! `transient <= tau`, and solve the multiple-choice knapsack "one plan per layer, `sum stored <=
//! (M - C - tau) / n`, minimise `sum exposed`" exactly by dynamic programming over layers on
//! Pareto sets of (stored, exposed) partial sums; (3) return the best over `tau`. Exactness:
//! the optimum's largest transient is some candidate `tau*`, and at `tau*` the knapsack's
//! feasible set contains the optimum; dominated plans can be dropped because replacing a
//! layer's plan by one that dominates it keeps every constraint and the objective.

use super::cost_model::LayerGraph;
use super::layer_search::{search, Leaf, Partial, Visitor};
use super::policy::{decode, LayerPlan, LayerSlots, StageProblem};
use alloc::{collections::BTreeMap, vec::Vec};

/// Keeps, per distinct (stored, transient), the plan with the least exposed time: the
/// enumeration visits millions of plans but only thousands of memory outcomes.
struct Collect(BTreeMap<(u64, u64), Leaf>);

impl Visitor for Collect {
    fn prune(&self, _: &Partial) -> bool {
        false
    }
    fn leaf(&mut self, leaf: Leaf) {
        self.0
            .entry((leaf.stored, leaf.transient))
            .and_modify(|l| {
                if leaf.exposed_s < l.exposed_s {
                    *l = leaf;
                }
            })
            .or_insert(leaf);
    }
}

/// All layer plans not dominated in (stored, transient, exposed), sorted by stored, then
/// transient.
pub fn layer_frontier(graph: &LayerGraph, slots: &LayerSlots, windows: bool) -> Vec<Leaf> {
    let mut all = Collect(BTreeMap::new());
    search(graph, slots, windows, &mut all);
    let mut front: Vec<Leaf> = Vec::new();
    for p in all.0.into_values() {
        // Every point that can dominate p sorts before it.
        let dominated = front
            .iter()
            .any(|q| q.transient <= p.transient && q.exposed_s <= p.exposed_s);
        if !dominated {
            front.push(p);
        }
    }
    front
}

/// The (stored, exposed) Pareto set of a frontier restricted to `transient <= tau`, as indices
/// into the frontier, stored ascending and exposed strictly descending.
fn pareto_2d(front: &[Leaf], tau: u64) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..front.len())
        .filter(|&i| front[i].transient <= tau)
        .collect();
    idx.sort_by(|&a, &b| {
        front[a]
            .stored
            .cmp(&front[b].stored)
            .then(front[a].exposed_s.total_cmp(&front[b].exposed_s))
    });
    let mut out: Vec<usize> = Vec::new();
    for i in idx {
        if out
            .last()
            .is_none_or(|&j| front[i].exposed_s < front[j].exposed_s)
        {
            out.push(i);
        }
    }
    out
}

#[derive(Clone, Copy)]
struct Node {
    stored: u64,
    exposed_s: f64,
    prev: u32,
    choice: u32,
}

/// An exact stage solution: plans bottom to top and their exposed seconds per micro-batch.
#[derive(Debug, Clone, PartialEq)]
pub struct StageSolution {
    /// One plan per layer, bottom layer first.
    pub layers: Vec<LayerPlan>,
    /// Objective value: recompute seconds on the critical path per micro-batch.
    pub exposed_s: f64,
}

/// Lower convex envelope of a (stored ascending, exposed descending) staircase: a lower bound
/// on the exposed time per layer of any mix of plans whose mean stored bytes is `x`.
struct Hull(Vec<(f64, f64)>);

impl Hull {
    fn new(points: impl Iterator<Item = (f64, f64)>) -> Hull {
        let mut h: Vec<(f64, f64)> = Vec::new();
        for p in points {
            while h.len() >= 2 {
                let (a, b) = (h[h.len() - 2], h[h.len() - 1]);
                // Drop b when it lies on or above the segment a-p.
                if (b.1 - a.1) * (p.0 - a.0) >= (p.1 - a.1) * (b.0 - a.0) {
                    h.pop();
                } else {
                    break;
                }
            }
            h.push(p);
        }
        Hull(h)
    }

    /// The envelope at mean stored bytes `x` (infinite below the leanest plan).
    fn at(&self, x: f64) -> f64 {
        let h = &self.0;
        if h.is_empty() || x < h[0].0 {
            return f64::INFINITY;
        }
        match h.iter().position(|p| p.0 > x) {
            None => h[h.len() - 1].1,
            Some(k) => {
                let (a, b) = (h[k - 1], h[k]);
                a.1 + (b.1 - a.1) * (x - a.0) / (b.0 - a.0)
            }
        }
    }
}

/// Solves one stage exactly from the two frontiers (`interior` for layers `0..L-1`, `top` for
/// layer `L-1`); `None` when no schedule fits the budget.
///
/// The candidates `tau` are visited best-bound first: each gets the convex-relaxation bound
/// `min_q exposed(q) + (L-1) hull((cap - stored(q)) / (L-1))` over top plans `q`, and the loop
/// ends when the bound cannot beat the incumbent. Inside the knapsack a partial sum is dropped
/// when the same bound over its remaining layers cannot beat the incumbent either.
/// `start` is a known feasible schedule (Lynx-HEU's), the first incumbent: only strictly
/// better schedules are searched for, so it changes the work, not the optimal value (ties keep
/// the start).
pub fn solve_frontiers(
    n_tensors: usize,
    interior: &[Leaf],
    top: &[Leaf],
    problem: &StageProblem,
    start: Option<StageSolution>,
) -> Option<StageSolution> {
    let n = problem.in_flight.max(1) as u64;
    let l = problem.layers;
    let rest_layers = (l - 1) as f64;
    let mut taus: Vec<u64> = interior
        .iter()
        .chain(top.iter())
        .map(|p| p.transient)
        .collect();
    taus.sort_unstable();
    taus.dedup();
    struct Candidate {
        tau: u64,
        cap: u64,
        top2: Vec<usize>,
        int2: Vec<usize>,
        hull: Hull,
        bound: f64,
    }
    let remaining_bound = |hull: &Hull, room: f64, layers: f64| {
        if layers == 0.0 {
            if room >= 0.0 {
                0.0
            } else {
                f64::INFINITY
            }
        } else {
            layers * hull.at(room / layers)
        }
    };
    let mut candidates: Vec<Candidate> = Vec::new();
    for tau in taus {
        let Some(room) = problem.budget_bytes.checked_sub(problem.static_bytes + tau) else {
            break; // larger tau only leaves less room
        };
        let cap = room / n;
        let top2 = pareto_2d(top, tau);
        let int2 = pareto_2d(interior, tau);
        // A larger tau with the same choices only leaves less room: nothing to gain.
        if candidates
            .last()
            .is_some_and(|c| c.top2 == top2 && c.int2 == int2)
        {
            continue;
        }
        let hull = Hull::new(
            int2.iter()
                .map(|&i| (interior[i].stored as f64, interior[i].exposed_s)),
        );
        let bound = top2
            .iter()
            .map(|&q| {
                top[q].exposed_s
                    + remaining_bound(&hull, cap as f64 - top[q].stored as f64, rest_layers)
            })
            .fold(f64::INFINITY, f64::min);
        candidates.push(Candidate {
            tau,
            cap,
            top2,
            int2,
            hull,
            bound,
        });
    }
    candidates.retain(|c| c.bound.is_finite());
    candidates.sort_by(|a, b| a.bound.total_cmp(&b.bound).then(a.tau.cmp(&b.tau)));

    let mut incumbent = start.as_ref().map_or(f64::INFINITY, |s| s.exposed_s);
    let mut best = start;
    for c in &candidates {
        if c.bound >= incumbent {
            break;
        }
        let cap = c.cap;
        // levels[k]: Pareto set of partial sums over the top layer and k interior layers.
        let mut levels: Vec<Vec<Node>> = Vec::with_capacity(l);
        let first: Vec<Node> = c
            .top2
            .iter()
            .map(|&i| Node {
                stored: top[i].stored,
                exposed_s: top[i].exposed_s,
                prev: 0,
                choice: i as u32,
            })
            .filter(|nd| {
                nd.exposed_s + remaining_bound(&c.hull, cap as f64 - nd.stored as f64, rest_layers)
                    < incumbent
            })
            .collect();
        levels.push(first);
        for k in 1..l {
            let left = (l - 1 - k) as f64;
            let mut next: Vec<Node> = Vec::new();
            for (pi, p) in levels[k - 1].iter().enumerate() {
                for &j in &c.int2 {
                    let stored = p.stored + interior[j].stored;
                    if stored > cap {
                        break; // int2 is sorted by stored
                    }
                    let exposed_s = p.exposed_s + interior[j].exposed_s;
                    if exposed_s + remaining_bound(&c.hull, (cap - stored) as f64, left)
                        >= incumbent
                    {
                        continue;
                    }
                    next.push(Node {
                        stored,
                        exposed_s,
                        prev: pi as u32,
                        choice: j as u32,
                    });
                }
            }
            next.sort_by(|a, b| {
                a.stored
                    .cmp(&b.stored)
                    .then(a.exposed_s.total_cmp(&b.exposed_s))
            });
            let mut kept: Vec<Node> = Vec::new();
            for nd in next {
                if kept.last().is_none_or(|q| nd.exposed_s < q.exposed_s) {
                    kept.push(nd);
                }
            }
            levels.push(kept);
        }
        let last = levels.last().unwrap();
        let Some((bi, bn)) = last.iter().enumerate().min_by(|a, b| {
            a.1.exposed_s
                .total_cmp(&b.1.exposed_s)
                .then(a.1.stored.cmp(&b.1.stored))
        }) else {
            continue;
        };
        if bn.exposed_s < incumbent {
            // Walk back: level k's choice is an interior plan (k >= 1) or the top plan (k = 0).
            let mut plans: Vec<LayerPlan> = Vec::with_capacity(l);
            let mut at = bi;
            for k in (0..l).rev() {
                let nd = levels[k][at];
                let leaf = if k == 0 {
                    &top[nd.choice as usize]
                } else {
                    &interior[nd.choice as usize]
                };
                plans.push(decode(leaf.code, n_tensors));
                at = nd.prev as usize;
            }
            // plans = [interior..., top]: fewest stored bytes (most recomputation) lowest.
            let top_plan = plans.pop().unwrap();
            plans.reverse();
            plans.push(top_plan);
            incumbent = bn.exposed_s;
            best = Some(StageSolution {
                layers: plans,
                exposed_s: bn.exposed_s,
            });
        }
    }
    best
}

/// Lynx-OPT for one stage: recomputation may use the communication windows.
pub fn solve_stage(graph: &LayerGraph, problem: &StageProblem) -> Option<StageSolution> {
    solve_with(graph, problem, true)
}

/// The exact stage optimum, with or without windows (without: Checkmate's problem).
pub fn solve_with(
    graph: &LayerGraph,
    problem: &StageProblem,
    windows: bool,
) -> Option<StageSolution> {
    let heuristic = if windows {
        super::lynx_heu::solve_stage(graph, problem)
    } else {
        super::lynx_heu::solve_stage_without_windows(graph, problem)
    };
    let interior = layer_frontier(graph, &problem.interior, windows);
    let top = if problem.top == problem.interior || !windows {
        interior.clone()
    } else {
        layer_frontier(graph, &problem.top, windows)
    };
    solve_frontiers(graph.tensors.len(), &interior, &top, problem, heuristic)
}

/// The least peak memory of any schedule of a stage: `min over tau of C + tau + n * L *
/// (fewest stored bytes of a layer plan with transient <= tau)`. Windows change time, not
/// memory, so the frontier without windows suffices.
pub fn minimum_peak_bytes(graph: &LayerGraph, problem: &StageProblem) -> u64 {
    let front = layer_frontier(graph, &problem.interior, false);
    let n = problem.in_flight as u64;
    let l = problem.layers as u64;
    front
        .iter()
        .map(|p| {
            let least = front
                .iter()
                .filter(|q| q.transient <= p.transient)
                .map(|q| q.stored)
                .min();
            problem.static_bytes + p.transient + n * l * least.unwrap_or(p.stored)
        })
        .min()
        .unwrap_or(problem.static_bytes + n * l * graph.total_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sched::cost_model::{layer_cost, ModelConfig, Training};
    use crate::sched::hardware::Hardware;
    use crate::sched::policy::{encode, megatron_full, megatron_selective};

    fn gpt_graph() -> LayerGraph {
        let model = ModelConfig::preset("gpt-6.7b").unwrap();
        let train = Training {
            seq: 2048,
            micro_batch: 8,
            global_batch: 256,
            tp: 8,
            pp: 2,
            dp: 1,
            sequence_parallel: false,
            bytes_per_param: 18.0,
        };
        layer_cost(&model, &train, &Hardware::a100_80gb()).graph
    }

    #[test]
    fn frontier_spans_keep_all_to_full_recompute() {
        let g = gpt_graph();
        let closed = LayerSlots {
            window_a_s: 0.0,
            window_b_s: 0.0,
        };
        let front = layer_frontier(&g, &closed, false);
        // Leanest: only the layer input stored (Megatron full's memory, Korthikanti's 2sbh).
        let leanest = front.iter().map(|p| p.stored).min().unwrap();
        assert_eq!(leanest, g.fixed_bytes);
        // Keep-all is on the frontier: the only plan with nothing exposed and nothing windowed.
        assert!(front
            .iter()
            .any(|p| p.stored == g.total_bytes() && p.exposed_s == 0.0 && p.transient == 0));
        // Megatron's plans are feasible points of the search, hence dominated by the frontier.
        for plan in [megatron_full(&g), megatron_selective(&g)] {
            struct Find(u64, Option<Leaf>);
            impl Visitor for Find {
                fn prune(&self, _: &Partial) -> bool {
                    false
                }
                fn leaf(&mut self, leaf: Leaf) {
                    if leaf.code == self.0 {
                        self.1 = Some(leaf);
                    }
                }
            }
            let mut find = Find(encode(&plan), None);
            search(&g, &closed, false, &mut find);
            let leaf = find.1.expect("Megatron plan is searched");
            assert!(front.iter().any(|q| q.stored <= leaf.stored
                && q.transient <= leaf.transient
                && q.exposed_s <= leaf.exposed_s));
        }
        // Opening the windows can only lower exposed time at equal memory.
        let tp = LayerSlots {
            window_a_s: 1e-3,
            window_b_s: 1e-3,
        };
        let open = layer_frontier(&g, &tp, true);
        for p in &front {
            assert!(open.iter().any(|q| q.stored <= p.stored
                && q.transient <= p.transient
                && q.exposed_s <= p.exposed_s));
        }
    }

    #[test]
    fn stage_optimum_beats_or_ties_the_heuristic() {
        let g = gpt_graph();
        let slots = LayerSlots {
            window_a_s: 5e-4,
            window_b_s: 5e-4,
        };
        let full = g.total_bytes();
        for frac in [0.15, 0.3, 0.5, 0.8] {
            let problem = StageProblem {
                layers: 16,
                in_flight: 2,
                static_bytes: 1 << 30,
                budget_bytes: (1u64 << 30) + (frac * (2 * 16 * full) as f64) as u64,
                interior: slots,
                top: LayerSlots {
                    window_a_s: 2e-3,
                    window_b_s: 5e-4,
                },
            };
            let opt = solve_stage(&g, &problem).unwrap();
            let heu = crate::sched::lynx_heu::solve_stage(&g, &problem).unwrap();
            let cm = crate::sched::checkmate::solve_stage(&g, &problem).unwrap();
            assert!(opt.exposed_s <= heu.exposed_s + 1e-12, "{frac}");
            assert!(opt.exposed_s <= cm.exposed_s + 1e-12, "{frac}");
        }
    }
}
