//! What a recomputation schedule says, and the three Megatron-LM policies.
//!
//! A layer's backward pass runs, in time order (see [`Slot`]): a window before it starts (the
//! tensor-parallel all-reduce that ends the backward of the layer above, or the pipeline wait
//! for the gradient when it is the stage's top layer), the MLP backward, the all-reduce of the
//! MLP input gradient, then the attention backward. Every dropped activation is recomputed in
//! one of four slots; a schedule gives, per layer, each activation's slot or `None` (stored).

use super::cost_model::{tensor, LayerGraph, Segment};
use alloc::vec::Vec;

/// When a dropped activation is recomputed, in time order within its layer's backward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Slot {
    /// Inside the communication window before the layer's backward: the all-reduce that ends
    /// the backward of the layer above, or for a stage's top layer the pipeline wait.
    WindowA = 0,
    /// On the critical path, before the MLP backward.
    Exposed1 = 1,
    /// Inside the all-reduce of the MLP input gradient, between MLP and attention backward.
    WindowB = 2,
    /// On the critical path, before the attention backward.
    Exposed2 = 3,
}

impl Slot {
    /// All slots in time order.
    pub const ALL: [Slot; 4] = [Slot::WindowA, Slot::Exposed1, Slot::WindowB, Slot::Exposed2];

    /// Whether the slot is a communication window (recomputation there is hidden).
    pub fn is_window(self) -> bool {
        matches!(self, Slot::WindowA | Slot::WindowB)
    }

    /// Name used in reports.
    pub fn label(self) -> &'static str {
        match self {
            Slot::WindowA => "window_before_layer",
            Slot::Exposed1 => "critical_before_mlp",
            Slot::WindowB => "window_mlp_allreduce",
            Slot::Exposed2 => "critical_before_attention",
        }
    }

    /// The latest slot whose recomputation is ready for the backward of `segment`.
    pub fn deadline(segment: Segment) -> Slot {
        match segment {
            Segment::Mlp => Slot::Exposed1,
            Segment::Attention => Slot::Exposed2,
        }
    }

    fn from_index(i: u64) -> Slot {
        Slot::ALL[i as usize]
    }
}

/// Per activation of one layer: `None` stored, `Some(slot)` dropped and recomputed in `slot`.
pub type LayerPlan = Vec<Option<Slot>>;

/// Packs a layer plan into 3 bits per tensor (0 stored, 1 + slot): the search's compact form.
pub fn encode(plan: &[Option<Slot>]) -> u64 {
    plan.iter().enumerate().fold(0, |code, (i, s)| {
        code | (s.map_or(0, |s| 1 + s as u64) << (3 * i))
    })
}

/// Inverse of [`encode`] for `n` tensors.
pub fn decode(code: u64, n: usize) -> LayerPlan {
    (0..n)
        .map(|i| match (code >> (3 * i)) & 7 {
            0 => None,
            k => Some(Slot::from_index(k - 1)),
        })
        .collect()
}

/// Most tensors a layer graph may have (3 bits each in a `u64` plan code).
pub const MAX_TENSORS: usize = 21;

/// Recomputation capacity of a layer's two windows, in seconds of recompute work (a window of
/// `w` seconds holds `w * overlap_efficiency`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LayerSlots {
    /// Capacity of [`Slot::WindowA`].
    pub window_a_s: f64,
    /// Capacity of [`Slot::WindowB`].
    pub window_b_s: f64,
}

/// One pipeline stage's scheduling problem.
#[derive(Debug, Clone, PartialEq)]
pub struct StageProblem {
    /// Layers on the stage.
    pub layers: usize,
    /// Micro-batches whose stored activations coexist at the peak (`min(p - i, m)`).
    pub in_flight: usize,
    /// Model state and other bytes independent of the schedule.
    pub static_bytes: u64,
    /// Memory budget of one GPU, bytes.
    pub budget_bytes: u64,
    /// Windows of every layer but the top one.
    pub interior: LayerSlots,
    /// Windows of the top layer (window A is the pipeline wait).
    pub top: LayerSlots,
}

impl StageProblem {
    /// Windows of layer `layer` (0 = bottom of the stage).
    pub fn slots(&self, layer: usize) -> &LayerSlots {
        if layer + 1 == self.layers {
            &self.top
        } else {
            &self.interior
        }
    }
}

/// The policies `llmcore schedule` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Store everything.
    None,
    /// Megatron-LM full recomputation (`--recompute-granularity full --recompute-method block`)
    /// on the fewest layers per stage that fit the budget.
    Full,
    /// Megatron-LM selective recomputation of the attention core.
    Selective,
    /// Exact optimum of drop/recompute decisions without overlap (Checkmate's problem).
    Checkmate,
    /// Exact optimum with recomputation placed in communication windows (Lynx-OPT).
    LynxOpt,
    /// One layer's optimum reused across identical layers, stage-aware (Lynx-HEU).
    LynxHeu,
}

impl Policy {
    /// All policies in report order.
    pub const ALL: [Policy; 6] = [
        Policy::None,
        Policy::Full,
        Policy::Selective,
        Policy::Checkmate,
        Policy::LynxOpt,
        Policy::LynxHeu,
    ];

    /// Command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Policy::None => "none",
            Policy::Full => "full",
            Policy::Selective => "selective",
            Policy::Checkmate => "checkmate",
            Policy::LynxOpt => "opt",
            Policy::LynxHeu => "heu",
        }
    }

    /// Parses a command-line name.
    pub fn parse(name: &str) -> Option<Policy> {
        Policy::ALL.iter().copied().find(|p| p.name() == name)
    }
}

/// Every activation stored.
pub fn keep_all(graph: &LayerGraph) -> LayerPlan {
    alloc::vec![None; graph.tensors.len()]
}

/// Megatron full recomputation of a layer: everything but the layer input dropped and rerun on
/// the critical path before the MLP backward (the MLP inputs need the whole attention chain).
pub fn megatron_full(graph: &LayerGraph) -> LayerPlan {
    alloc::vec![Some(Slot::Exposed1); graph.tensors.len()]
}

/// Megatron selective recomputation: the softmax output and its dropout are dropped and
/// recomputed just before the attention backward (Korthikanti et al. section 5).
pub fn megatron_selective(graph: &LayerGraph) -> LayerPlan {
    let mut plan = keep_all(graph);
    plan[tensor::SOFTMAX] = Some(Slot::Exposed2);
    plan[tensor::SOFTMAX_DROPOUT] = Some(Slot::Exposed2);
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        let plan = alloc::vec![
            None,
            Some(Slot::WindowB),
            Some(Slot::Exposed2),
            None,
            Some(Slot::WindowA)
        ];
        assert_eq!(decode(encode(&plan), plan.len()), plan);
        assert_eq!(Policy::parse("opt"), Some(Policy::LynxOpt));
        assert_eq!(Policy::parse("fast"), None);
    }
}
