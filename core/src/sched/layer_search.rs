//! Depth-first search over one layer's drop/recompute decisions, shared by the exact solvers
//! (which enumerate the Pareto frontier) and the heuristic (which bounds and prunes).
//!
//! Decision per tensor `i`: stored, or dropped with a recompute slot `x_i` in
//! {WindowA, Exposed1, WindowB, Exposed2}. Constraints:
//! - deadline: `x_i <= deadline(segment_i)` (recomputed before its backward consumes it);
//! - dependencies: for every input `j` of `i`'s producer, `j` is stored and not yet consumed
//!   (`x_i <= deadline(segment_j)`), or dropped with `x_j <= x_i` (recomputed first, same slot
//!   in topological order);
//! - window capacity: `sum_{x_i = W} recompute_i <= capacity_W` for both windows, and only
//!   tensors whose producer does not communicate may use a window.
//!
//! Tensors are decided in reverse topological order, so every consumer of `i` is decided first
//! and `i`'s latest feasible slot is known: the earliest of its own deadline, its dropped
//! consumers' slots and its inputs' deadlines. Two dominance rules keep the search small without
//! losing optimality: of the two exposed slots only the latest feasible one is tried (same
//! exposed time, no more memory, looser constraints on `i`'s own inputs), and a tensor whose
//! consumers' slots already break its deadline ends the branch.
//!
//! Metrics of a complete plan: `stored` = fixed bytes + stored tensors' bytes; `transient` =
//! `max(bytes recomputed before the MLP backward, bytes of dropped attention-segment tensors)`
//! (the recomputed tensors alive at once during the MLP and the attention backward); `exposed` =
//! recompute time in the exposed slots.

use super::cost_model::LayerGraph;
use super::policy::{LayerSlots, Slot, MAX_TENSORS};
use alloc::vec::Vec;

/// Tolerance on window capacities, seconds (sums of the same terms in different order).
pub const WINDOW_EPS_S: f64 = 1e-12;

/// A complete layer plan with its metrics.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Leaf {
    /// [`super::policy::encode`]d plan.
    pub code: u64,
    /// Stored bytes per micro-batch, including the fixed layer input.
    pub stored: u64,
    /// Peak recomputed bytes alive during this layer's backward.
    pub transient: u64,
    /// Recompute seconds on the critical path per micro-batch.
    pub exposed_s: f64,
}

/// What a partial plan has committed to so far; every field only grows as more tensors are
/// decided, so each is a lower bound for the complete plan.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Partial {
    /// Stored bytes so far (with the fixed bytes).
    pub stored: u64,
    /// Lower bound on the transient bytes.
    pub transient: u64,
    /// Exposed seconds so far.
    pub exposed_s: f64,
}

/// Receives the search's plans.
pub trait Visitor {
    /// Whether no completion of `partial` can be of use (ends the branch).
    fn prune(&self, partial: &Partial) -> bool;
    /// A complete feasible plan.
    fn leaf(&mut self, leaf: Leaf);
}

struct State<'a> {
    graph: &'a LayerGraph,
    slots: LayerSlots,
    windows: bool,
    consumers: Vec<Vec<usize>>,
    choice: [Option<Slot>; MAX_TENSORS],
    stored: u64,
    early: u64,
    late: u64,
    exposed_s: f64,
    used_a: f64,
    used_b: f64,
}

/// Runs the search over `graph` with the given window capacities; with `windows == false` no
/// tensor is placed in a window (Checkmate's problem). Graphs above [`MAX_TENSORS`] tensors are
/// rejected by the callers.
pub fn search(graph: &LayerGraph, slots: &LayerSlots, windows: bool, visitor: &mut impl Visitor) {
    let n = graph.tensors.len();
    debug_assert!(n <= MAX_TENSORS);
    let mut consumers = alloc::vec![Vec::new(); n];
    for (i, t) in graph.tensors.iter().enumerate() {
        for &d in &t.deps {
            consumers[d].push(i);
        }
    }
    let mut st = State {
        graph,
        slots: *slots,
        windows,
        consumers,
        choice: [None; MAX_TENSORS],
        stored: graph.fixed_bytes,
        early: 0,
        late: 0,
        exposed_s: 0.0,
        used_a: 0.0,
        used_b: 0.0,
    };
    descend(&mut st, n, visitor);
}

fn descend(st: &mut State, remaining: usize, v: &mut impl Visitor) {
    let partial = Partial {
        stored: st.stored,
        transient: if st.early > st.late {
            st.early
        } else {
            st.late
        },
        exposed_s: st.exposed_s,
    };
    if v.prune(&partial) {
        return;
    }
    if remaining == 0 {
        let n = st.graph.tensors.len();
        v.leaf(Leaf {
            code: super::policy::encode(&st.choice[..n]),
            stored: partial.stored,
            transient: partial.transient,
            exposed_s: partial.exposed_s,
        });
        return;
    }
    let i = remaining - 1;
    let graph = st.graph;
    let spec = &graph.tensors[i];
    let deadline = Slot::deadline(spec.segment);
    // Consumers already decided: i must be ready by the earliest dropped one, and alive (not
    // yet consumed by its own backward) until the latest.
    let mut earliest = deadline;
    for &c in &st.consumers[i] {
        if let Some(s) = st.choice[c] {
            if s > deadline {
                return;
            }
            if s < earliest {
                earliest = s;
            }
        }
    }
    // i's producer reads its inputs, which must still be alive: not past their own deadlines.
    for &d in &spec.deps {
        let dl = Slot::deadline(graph.tensors[d].segment);
        if dl < earliest {
            earliest = dl;
        }
    }
    let bytes = spec.bytes;
    let r = spec.recompute_s;
    let late = deadline > Slot::WindowB;
    let place = |st: &mut State, slot: Slot, v: &mut _| {
        st.choice[i] = Some(slot);
        let saved = (st.exposed_s, st.used_a, st.used_b);
        let early = slot <= Slot::Exposed1;
        if early {
            st.early += bytes;
        }
        if late {
            st.late += bytes;
        }
        match slot {
            Slot::WindowA => st.used_a += r,
            Slot::WindowB => st.used_b += r,
            _ => st.exposed_s += r,
        }
        descend(st, i, v);
        // Restore by value: undoing a float sum with a subtraction leaves rounding residue.
        (st.exposed_s, st.used_a, st.used_b) = saved;
        if early {
            st.early -= bytes;
        }
        if late {
            st.late -= bytes;
        }
    };
    // Options in the order a bounded search profits from: hidden recomputation first (least
    // memory at no time), the later window first (it does not add to the MLP-phase transient),
    // then stored, then exposed.
    if st.windows && spec.window_ok {
        if earliest >= Slot::WindowB && st.used_b + r <= st.slots.window_b_s + WINDOW_EPS_S {
            place(st, Slot::WindowB, v);
        }
        if st.used_a + r <= st.slots.window_a_s + WINDOW_EPS_S {
            place(st, Slot::WindowA, v);
        }
    }
    st.choice[i] = None;
    st.stored += bytes;
    descend(st, i, v);
    st.stored -= bytes;
    let exposed = if earliest >= Slot::Exposed2 {
        Some(Slot::Exposed2)
    } else if earliest >= Slot::Exposed1 {
        Some(Slot::Exposed1)
    } else {
        None
    };
    if let Some(slot) = exposed {
        place(st, slot, v);
    }
    st.choice[i] = None;
}
