//! Checkmate-style optimum (Jain et al., MLSys 2020): which activations to store and which to
//! recompute, minimising recomputation time under a memory budget, with every recomputation on
//! the critical path (no overlap with communication).
//!
//! Checkmate solves an MILP over a general graph with Gurobi or CBC. Here the graph is the GPT
//! layer's and the problem is the same as Lynx-OPT's with both windows closed, so it is solved
//! exactly by [`super::lynx_opt`]'s frontier-and-knapsack algorithm; the formulation is written
//! there.

use super::cost_model::LayerGraph;
use super::lynx_opt::{solve_with, StageSolution};
use super::policy::StageProblem;

/// The exact no-overlap optimum of one stage; `None` when no schedule fits the budget.
pub fn solve_stage(graph: &LayerGraph, problem: &StageProblem) -> Option<StageSolution> {
    solve_with(graph, problem, false)
}
