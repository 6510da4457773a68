//! Independent checker: replays a stage's schedule event by event and verifies what the
//! solvers promise, without using their bookkeeping.
//!
//! For each layer it walks the backward pass in time order: recompute in window A, recompute on
//! the critical path, MLP backward, recompute in the MLP all-reduce window, recompute on the
//! critical path, attention backward. A recomputation needs every input of its producer alive at
//! that moment (stored and not yet consumed, or recomputed earlier and not yet freed); a backward
//! segment needs every activation it consumes alive and frees them afterwards. It sums window
//! usage against capacity, exposed time, and tracks the recomputed bytes alive at every event.
//! Peak memory is `static + in_flight * stored bytes of all layers + largest live recomputed
//! bytes` (1F1B: the stage holds `in_flight` micro-batches' stored activations while it
//! backpropagates one layer of one of them).

use super::cost_model::{LayerGraph, Segment};
use super::layer_search::WINDOW_EPS_S;
use super::policy::{LayerPlan, Slot, StageProblem};
use crate::{Error, Result};
use alloc::format;

/// What a replay measured for one stage.
#[derive(Debug, Clone, PartialEq)]
pub struct StageCheck {
    /// Peak bytes on one GPU of the stage.
    pub peak_bytes: u64,
    /// Stored activation bytes of one micro-batch over all the stage's layers.
    pub stored_bytes: u64,
    /// Largest recomputed bytes alive at once.
    pub transient_bytes: u64,
    /// Recompute seconds on the critical path per micro-batch.
    pub exposed_s: f64,
    /// Recompute seconds hidden in tensor-parallel all-reduce windows per micro-batch.
    pub hidden_tp_s: f64,
    /// Recompute seconds placed in the top layer's pipeline window per micro-batch.
    pub pipeline_window_s: f64,
}

#[derive(Clone, Copy, PartialEq)]
enum Life {
    Stored,
    Dropped,
    Recomputed,
    Gone,
}

/// Replays `plans` (bottom layer first) of a stage and checks the budget; an error names the
/// first violated dependency, deadline, window or the budget.
pub fn check_stage(
    graph: &LayerGraph,
    problem: &StageProblem,
    plans: &[LayerPlan],
) -> Result<StageCheck> {
    let out = replay(graph, problem, plans)?;
    if out.peak_bytes > problem.budget_bytes {
        return Err(Error::invalid(format!(
            "peak memory {} bytes exceeds the budget {} bytes",
            out.peak_bytes, problem.budget_bytes
        )));
    }
    Ok(out)
}

/// Replays `plans` like [`check_stage`] but measures the peak without enforcing the budget.
pub fn replay(
    graph: &LayerGraph,
    problem: &StageProblem,
    plans: &[LayerPlan],
) -> Result<StageCheck> {
    if plans.len() != problem.layers {
        return Err(Error::invalid(format!(
            "schedule has {} layers, stage has {}",
            plans.len(),
            problem.layers
        )));
    }
    let n = graph.tensors.len();
    let mut out = StageCheck {
        peak_bytes: 0,
        stored_bytes: 0,
        transient_bytes: 0,
        exposed_s: 0.0,
        hidden_tp_s: 0.0,
        pipeline_window_s: 0.0,
    };
    for (layer, plan) in plans.iter().enumerate().rev() {
        if plan.len() != n {
            return Err(Error::invalid(format!(
                "layer {layer}: plan has {} entries, graph {n}",
                plan.len()
            )));
        }
        let slots = problem.slots(layer);
        let mut life: alloc::vec::Vec<Life> = plan
            .iter()
            .map(|p| {
                if p.is_some() {
                    Life::Dropped
                } else {
                    Life::Stored
                }
            })
            .collect();
        out.stored_bytes += graph.fixed_bytes
            + plan
                .iter()
                .zip(&graph.tensors)
                .filter(|(p, _)| p.is_none())
                .map(|(_, t)| t.bytes)
                .sum::<u64>();
        let mut live = 0u64;
        let mut used = [0.0f64; 2];
        let events: [(Option<Slot>, Option<Segment>); 6] = [
            (Some(Slot::WindowA), None),
            (Some(Slot::Exposed1), None),
            (None, Some(Segment::Mlp)),
            (Some(Slot::WindowB), None),
            (Some(Slot::Exposed2), None),
            (None, Some(Segment::Attention)),
        ];
        for (slot, segment) in events {
            if let Some(slot) = slot {
                for i in 0..n {
                    if plan[i] != Some(slot) {
                        continue;
                    }
                    let t = &graph.tensors[i];
                    for &d in &t.deps {
                        if !matches!(life[d], Life::Stored | Life::Recomputed) {
                            return Err(Error::invalid(format!(
                                "layer {layer}: recomputing '{}' in {} needs '{}', which is not alive then",
                                t.name,
                                slot.label(),
                                graph.tensors[d].name
                            )));
                        }
                    }
                    if slot.is_window() && !t.window_ok {
                        return Err(Error::invalid(format!(
                            "layer {layer}: '{}' communicates and cannot be recomputed in {}",
                            t.name,
                            slot.label()
                        )));
                    }
                    life[i] = Life::Recomputed;
                    live += t.bytes;
                    out.transient_bytes = out.transient_bytes.max(live);
                    match slot {
                        Slot::WindowA => used[0] += t.recompute_s,
                        Slot::WindowB => used[1] += t.recompute_s,
                        _ => out.exposed_s += t.recompute_s,
                    }
                }
            }
            if let Some(segment) = segment {
                for (t, state) in graph.tensors.iter().zip(life.iter_mut()) {
                    if t.segment != segment {
                        continue;
                    }
                    match *state {
                        Life::Stored => {}
                        Life::Recomputed => live -= t.bytes,
                        _ => {
                            return Err(Error::invalid(format!(
                                "layer {layer}: the backward needs '{}', which was dropped and not recomputed in time",
                                t.name
                            )))
                        }
                    }
                    *state = Life::Gone;
                }
            }
        }
        for (k, (u, cap)) in used
            .iter()
            .zip([slots.window_a_s, slots.window_b_s])
            .enumerate()
        {
            if *u > cap + WINDOW_EPS_S {
                return Err(Error::invalid(format!(
                    "layer {layer}: window {} holds {u:.3e} s of recomputation, capacity {cap:.3e} s",
                    if k == 0 { "A" } else { "B" }
                )));
            }
        }
        if layer + 1 == problem.layers {
            out.pipeline_window_s = used[0];
            out.hidden_tp_s += used[1];
        } else {
            out.hidden_tp_s += used[0] + used[1];
        }
    }
    out.peak_bytes =
        problem.static_bytes + problem.in_flight as u64 * out.stored_bytes + out.transient_bytes;
    Ok(out)
}
