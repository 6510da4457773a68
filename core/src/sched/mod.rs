//! Recomputation schedules for pipeline-parallel GPT training (Lynx, Wang et al. 2024).
//!
//! Training keeps activations for the backward pass; dropping some and recomputing them saves
//! memory at the cost of time. Lynx places the recomputation inside the communication windows
//! of a pipeline step (tensor-parallel all-reduces, pipeline waits) so it is hidden. This module
//! is a planner: it predicts, for a model, a hardware profile and a parallel layout, the step
//! time and per-stage peak memory of each policy, and emits the schedule for a training engine
//! (Megatron-LM) to execute. All figures are simulated by [`cost_model`] and [`pipeline`].
//!
//! - [`cost_model`]: per-op times and activation bytes of a GPT layer; Megatron's formulas.
//! - [`hardware`]: GPU and link profiles (A100-80GB and H100-80GB presets).
//! - [`pipeline`]: the 1F1B simulator.
//! - [`policy`]: schedule types and the Megatron policies (none, full, selective).
//! - [`layer_search`], [`lynx_opt`], [`checkmate`], [`lynx_heu`]: the solvers.
//! - [`checker`]: an independent replay of any schedule.
//! - [`plan`]: all of the above for one policy, with the report ([`Plan::to_json`]).
//! - [`request`]: model configs, hardware profiles and whole plan requests read from JSON, and
//!   [`plan_json`], the JSON-in, JSON-out entry point for the C ABI.

pub mod checker;
pub mod checkmate;
pub mod cost_model;
pub mod hardware;
pub mod layer_search;
pub mod lynx_heu;
pub mod lynx_opt;
pub mod pipeline;
pub mod policy;
mod report;
pub mod request;
pub use report::{comparison_json, MegatronRecompute};
pub use request::{plan_json, Request};

use crate::{Error, Result};
use alloc::{format, string::String, vec::Vec};
use cost_model::{LayerCost, ModelConfig, Training};
use hardware::Hardware;
use pipeline::StageTimes;
use policy::{LayerPlan, LayerSlots, Policy, StageProblem};

/// Everything a plan depends on.
#[derive(Debug, Clone, PartialEq)]
pub struct Setup {
    /// Model shape.
    pub model: ModelConfig,
    /// Batch and parallel layout.
    pub training: Training,
    /// GPU and link profile.
    pub hardware: Hardware,
    /// Memory budget per GPU, bytes.
    pub budget_bytes: u64,
}

/// One stage of a plan.
#[derive(Debug, Clone, PartialEq)]
pub struct StageReport {
    /// Stage index.
    pub stage: usize,
    /// Global index of the stage's bottom layer.
    pub first_layer: usize,
    /// Per layer (bottom first), each activation's recompute slot or `None` (stored).
    pub layers: Vec<LayerPlan>,
    /// Micro-batches in flight at the peak.
    pub in_flight: usize,
    /// Model state and logits bytes.
    pub static_bytes: u64,
    /// Predicted peak bytes (from the checker's replay).
    pub peak_bytes: u64,
    /// Recompute seconds on the critical path per micro-batch (with Megatron's reruns of ops
    /// whose output it discards: fc2 under full, attention over V under selective).
    pub exposed_s: f64,
    /// Recompute seconds hidden in tensor-parallel windows per micro-batch.
    pub hidden_tp_s: f64,
    /// Recompute seconds placed in the pipeline window per micro-batch.
    pub pipeline_window_s: f64,
    /// Capacity of the pipeline window in recompute seconds.
    pub pipeline_capacity_s: f64,
    /// Forward and backward seconds per micro-batch (backward with exposed recomputation).
    pub forward_s: f64,
    /// See `forward_s`.
    pub backward_s: f64,
}

/// A policy's schedule with its predictions.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The policy.
    pub policy: Policy,
    /// What was planned for.
    pub setup: Setup,
    /// Names of the activations, in the order of every [`LayerPlan`].
    pub tensor_names: Vec<&'static str>,
    /// Per stage.
    pub stages: Vec<StageReport>,
    /// Simulated step time, seconds.
    pub iteration_s: f64,
    /// Step time with nothing recomputed and no memory limit (the reference for overheads).
    pub no_recompute_iteration_s: f64,
}

/// The cost model and per-stage problems of a setup.
struct Prepared {
    cost: LayerCost,
    problems: Vec<StageProblem>,
    base: Vec<StageTimes>,
    transfers: Vec<f64>,
    tail_s: f64,
}

fn prepare(setup: &Setup) -> Result<Prepared> {
    let (model, train, hw) = (&setup.model, &setup.training, &setup.hardware);
    cost_model::validate(model, train, hw)?;
    let cost = cost_model::layer_cost(model, train, hw);
    if cost.graph.tensors.len() > policy::MAX_TENSORS {
        return Err(Error::Unsupported(format!(
            "layer graphs above {} tensors",
            policy::MAX_TENSORS
        )));
    }
    let per_stage = model.layers / train.pp;
    let (f, b) = (cost.forward_s(), cost.backward_s());
    let base: Vec<StageTimes> = (0..train.pp)
        .map(|i| {
            let (ef, eb) = cost_model::stage_extra_s(model, train, hw, i);
            StageTimes {
                forward_s: per_stage as f64 * f + ef,
                backward_s: per_stage as f64 * b + eb,
                pre_backward_s: 0.0,
            }
        })
        .collect();
    let transfers: Vec<f64> = (0..train.pp - 1)
        .map(|i| cost_model::p2p_s(model, train, hw, i))
        .collect();
    let run = pipeline::simulate_1f1b(&base, &transfers, train.micro_batches())?;
    let eta = hw.overlap_efficiency;
    let tp_window = cost.backward_collective_s * eta;
    let problems = (0..train.pp)
        .map(|i| StageProblem {
            layers: per_stage,
            in_flight: cost_model::in_flight(train, i),
            static_bytes: cost_model::stage_static_bytes(model, train, i),
            budget_bytes: setup.budget_bytes,
            interior: LayerSlots {
                window_a_s: tp_window,
                window_b_s: tp_window,
            },
            top: LayerSlots {
                window_a_s: run.pre_backward_gap_s[i] * eta,
                window_b_s: tp_window,
            },
        })
        .collect();
    let tail_s = cost_model::step_tail_s(model, train, hw);
    Ok(Prepared {
        cost,
        problems,
        base,
        transfers,
        tail_s,
    })
}

/// The layer cost model and the scheduling problem of every stage of a setup (what the
/// solvers and the checker work on).
pub fn stage_problems(setup: &Setup) -> Result<(LayerCost, Vec<StageProblem>)> {
    let prep = prepare(setup)?;
    Ok((prep.cost, prep.problems))
}

fn gb(bytes: u64) -> f64 {
    bytes as f64 / 1e9
}

/// Plans one policy: solves every stage, replays the schedule through [`checker`], and
/// simulates the step. Errors: a setup that does not validate, or a policy that cannot meet the
/// budget (the message gives what it needs and the least any schedule needs).
pub fn plan(setup: &Setup, policy: Policy) -> Result<Plan> {
    let prep = prepare(setup)?;
    let graph = &prep.cost.graph;
    let per_stage = setup.model.layers / setup.training.pp;
    let solved: Option<Vec<Vec<LayerPlan>>> = match policy {
        Policy::None => Some(
            prep.problems
                .iter()
                .map(|_| alloc::vec![policy::keep_all(graph); per_stage])
                .collect(),
        ),
        Policy::Selective => Some(
            prep.problems
                .iter()
                .map(|_| alloc::vec![policy::megatron_selective(graph); per_stage])
                .collect(),
        ),
        Policy::Full => (0..=per_stage).find_map(|n| {
            let plans: Vec<Vec<LayerPlan>> = prep
                .problems
                .iter()
                .map(|_| megatron_block(graph, per_stage, n))
                .collect();
            let fits = plans.iter().zip(&prep.problems).all(|(p, pr)| {
                checker::replay(graph, pr, p).is_ok_and(|c| c.peak_bytes <= pr.budget_bytes)
            });
            fits.then_some(plans)
        }),
        Policy::Checkmate | Policy::LynxOpt | Policy::LynxHeu => prep
            .problems
            .iter()
            .map(|pr| {
                let s = match policy {
                    Policy::Checkmate => checkmate::solve_stage(graph, pr),
                    Policy::LynxOpt => lynx_opt::solve_stage(graph, pr),
                    _ => lynx_heu::solve_stage(graph, pr),
                };
                s.map(|s| s.layers)
            })
            .collect(),
    };
    let stage_plans = match solved {
        Some(p) => p,
        None => return Err(budget_error(setup, &prep, policy)),
    };
    let mut stages = Vec::with_capacity(stage_plans.len());
    for (i, (plans, pr)) in stage_plans.into_iter().zip(&prep.problems).enumerate() {
        let check = checker::replay(graph, pr, &plans)?;
        if check.peak_bytes > pr.budget_bytes {
            return Err(Error::invalid(format!(
                "policy {} needs {:.2} GB on stage {i} (model state and logits {:.2} GB), above the budget of {:.2} GB; {}",
                policy.name(),
                gb(check.peak_bytes),
                gb(pr.static_bytes),
                gb(pr.budget_bytes),
                least_message(setup, &prep)
            )));
        }
        let rerun = megatron_rerun_s(&prep.cost, policy, &plans);
        let exposed_s = check.exposed_s + rerun;
        let base = prep.base[i];
        stages.push(StageReport {
            stage: i,
            first_layer: i * per_stage,
            layers: plans,
            in_flight: pr.in_flight,
            static_bytes: pr.static_bytes,
            peak_bytes: check.peak_bytes,
            exposed_s,
            hidden_tp_s: check.hidden_tp_s,
            pipeline_window_s: check.pipeline_window_s,
            pipeline_capacity_s: pr.top.window_a_s,
            forward_s: base.forward_s,
            backward_s: base.backward_s + exposed_s,
        });
    }
    let eta = setup.hardware.overlap_efficiency;
    let times: Vec<StageTimes> = stages
        .iter()
        .map(|s| StageTimes {
            forward_s: s.forward_s,
            backward_s: s.backward_s,
            pre_backward_s: s.pipeline_window_s / eta,
        })
        .collect();
    let m = setup.training.micro_batches();
    let run = pipeline::simulate_1f1b(&times, &prep.transfers, m)?;
    let reference = pipeline::simulate_1f1b(&prep.base, &prep.transfers, m)?;
    Ok(Plan {
        policy,
        setup: setup.clone(),
        tensor_names: graph.tensors.iter().map(|t| t.name).collect(),
        stages,
        iteration_s: run.makespan_s + prep.tail_s,
        no_recompute_iteration_s: reference.makespan_s + prep.tail_s,
    })
}

/// Megatron block recomputation: the bottom `full` layers of a stage fully recomputed.
fn megatron_block(graph: &cost_model::LayerGraph, layers: usize, full: usize) -> Vec<LayerPlan> {
    (0..layers)
        .map(|l| {
            if l < full {
                policy::megatron_full(graph)
            } else {
                policy::keep_all(graph)
            }
        })
        .collect()
}

/// Time Megatron spends rerunning ops whose outputs it does not need: its full recomputation
/// reruns the whole layer forward, fc2 and its all-reduce included; its selective recomputation
/// reruns the attention core including attention over V, whose output it also stores.
fn megatron_rerun_s(cost: &LayerCost, policy: Policy, plans: &[LayerPlan]) -> f64 {
    let per_layer = match policy {
        Policy::Full => cost.op_forward_s("fc2_residual"),
        Policy::Selective => cost.op_forward_s("attn_over_v"),
        _ => return 0.0,
    };
    let affected = plans
        .iter()
        .filter(|p| p.iter().any(|s| s.is_some()))
        .count();
    affected as f64 * per_layer
}

/// The least memory any schedule needs, as a sentence.
fn least_message(setup: &Setup, prep: &Prepared) -> String {
    let (stage, least) = prep
        .problems
        .iter()
        .enumerate()
        .map(|(i, pr)| (i, lynx_opt::minimum_peak_bytes(&prep.cost.graph, pr)))
        .max_by_key(|&(_, b)| b)
        .unwrap_or((0, 0));
    let lead = format!(
        "the leanest schedule needs {:.2} GB (stage {stage})",
        gb(least)
    );
    if least > setup.budget_bytes {
        format!(
            "{lead}, so no schedule fits: raise the memory budget (--memory-gb, memory_gb) to at least {:.2} or add tensor/pipeline parallelism",
            gb(least)
        )
    } else {
        format!("{lead}, so opt, heu or checkmate fit")
    }
}

fn budget_error(setup: &Setup, prep: &Prepared, policy: Policy) -> Error {
    let what = match policy {
        Policy::Full => "even recomputing every layer does not fit",
        Policy::LynxHeu => "no plan shared by all layers of a stage fits",
        _ => "nothing fits",
    };
    Error::invalid(format!(
        "policy {}: {what} in {:.2} GB; {}",
        policy.name(),
        gb(setup.budget_bytes),
        least_message(setup, prep)
    ))
}
