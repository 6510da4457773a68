//! The plan as Megatron-LM flags and as JSON.
//!
//! The JSON of the planner is built here, as [`Json`] values ([`Plan::to_json`],
//! [`comparison_json`]); reading requests and configs is in [`super::request`].

use super::cost_model::tensor;
use super::policy::{LayerPlan, Policy};
use super::{gb, Plan, StageReport};
use crate::io::json::Json;
use alloc::{format, string::String, vec, vec::Vec};

/// Megatron-LM recompute flags that realise a plan, if its flags can.
#[derive(Debug, Clone, PartialEq)]
pub struct MegatronRecompute {
    /// The flags (empty: no recomputation).
    pub flags: Vec<String>,
    /// Whether Megatron executes the plan as planned: false when the flags reproduce its
    /// memory but recompute on the critical path what the plan hides in windows, or when no
    /// flag can express the plan (then `flags` is empty and the plan needs per-op hooks).
    pub exact: bool,
    /// What differs.
    pub note: &'static str,
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    None,
    Selective,
    Full,
    Other,
}

fn kind(plan: &LayerPlan) -> Kind {
    let dropped: Vec<usize> = (0..plan.len()).filter(|&i| plan[i].is_some()).collect();
    if dropped.is_empty() {
        Kind::None
    } else if dropped.len() == plan.len() {
        Kind::Full
    } else if dropped == [tensor::SOFTMAX, tensor::SOFTMAX_DROPOUT] {
        Kind::Selective
    } else {
        Kind::Other
    }
}

impl Plan {
    /// Megatron-LM's parallel layout flags for the setup.
    pub fn megatron_flags(&self) -> Vec<String> {
        let (m, t) = (&self.setup.model, &self.setup.training);
        let mut f = vec![
            format!("--num-layers {}", m.layers),
            format!("--hidden-size {}", m.hidden),
            format!("--num-attention-heads {}", m.heads),
            format!("--seq-length {}", t.seq),
            format!("--micro-batch-size {}", t.micro_batch),
            format!("--global-batch-size {}", t.global_batch),
            format!("--tensor-model-parallel-size {}", t.tp),
            format!("--pipeline-model-parallel-size {}", t.pp),
            String::from("--bf16"),
        ];
        if t.sequence_parallel {
            f.push(String::from("--sequence-parallel"));
        }
        f
    }

    /// The recompute flags: `selective` when every layer drops exactly the attention core,
    /// `full` with `block` and the same bottom `N` layers on every stage, nothing when nothing
    /// is dropped; otherwise none apply.
    pub fn megatron_recompute(&self) -> MegatronRecompute {
        let kinds: Vec<Vec<Kind>> = self
            .stages
            .iter()
            .map(|s| s.layers.iter().map(kind).collect())
            .collect();
        let hidden = self
            .stages
            .iter()
            .any(|s| s.hidden_tp_s > 0.0 || s.pipeline_window_s > 0.0);
        let (exact, note) = if hidden {
            (false, "same activations dropped, but Megatron recomputes on the critical path what this plan hides in communication windows")
        } else {
            (true, "")
        };
        let all = |k: Kind| kinds.iter().flatten().all(|&x| x == k);
        if all(Kind::None) {
            return MegatronRecompute {
                flags: vec![],
                exact: true,
                note: "",
            };
        }
        if all(Kind::Selective) {
            return MegatronRecompute {
                flags: vec![String::from("--recompute-granularity selective")],
                exact,
                note,
            };
        }
        let block = |ks: &Vec<Kind>| {
            let n = ks.iter().take_while(|&&k| k == Kind::Full).count();
            ks[n..].iter().all(|&k| k == Kind::None).then_some(n)
        };
        let blocks: Vec<Option<usize>> = kinds.iter().map(block).collect();
        if let Some(Some(n)) = blocks.first() {
            if blocks.iter().all(|b| *b == Some(*n)) {
                return MegatronRecompute {
                    flags: vec![
                        String::from("--recompute-granularity full"),
                        String::from("--recompute-method block"),
                        format!("--recompute-num-layers {n}"),
                    ],
                    exact,
                    note,
                };
            }
        }
        MegatronRecompute {
            flags: vec![],
            exact: false,
            note: "per-tensor schedule: Megatron-LM flags cannot express it; it needs per-op checkpoint hooks",
        }
    }

    /// The plan as a JSON object: setup, predictions, per-stage schedule (runs of identical
    /// layers, each with its dropped tensors and their recompute slots), Megatron-LM flags.
    pub fn to_json(&self) -> Json {
        let (m, t, hw) = (
            &self.setup.model,
            &self.setup.training,
            &self.setup.hardware,
        );
        let stages: Vec<Json> = self.stages.iter().map(|s| self.stage_json(s)).collect();
        let mr = self.megatron_recompute();
        Json::object(vec![
            ("policy", Json::from(self.policy.name())),
            (
                "model",
                Json::object(vec![
                    ("name", Json::from(m.name.as_str())),
                    ("layers", Json::from(m.layers)),
                    ("hidden", Json::from(m.hidden)),
                    ("heads", Json::from(m.heads)),
                    ("vocab", Json::from(m.vocab)),
                ]),
            ),
            ("hardware", Json::from(hw.name.as_str())),
            (
                "training",
                Json::object(vec![
                    ("seq", Json::from(t.seq)),
                    ("micro_batch", Json::from(t.micro_batch)),
                    ("global_batch", Json::from(t.global_batch)),
                    ("micro_batches", Json::from(t.micro_batches())),
                    ("tp", Json::from(t.tp)),
                    ("pp", Json::from(t.pp)),
                    ("dp", Json::from(t.dp)),
                    ("sequence_parallel", Json::from(t.sequence_parallel)),
                ]),
            ),
            ("memory_budget_gb", Json::from(gb(self.setup.budget_bytes))),
            ("simulated", Json::from(true)),
            ("iteration_s", Json::from(self.iteration_s)),
            (
                "no_recompute_iteration_s",
                Json::from(self.no_recompute_iteration_s),
            ),
            ("stages", Json::Array(stages)),
            ("megatron_flags", Json::from(self.megatron_flags())),
            (
                "megatron_recompute",
                Json::object(vec![
                    ("flags", Json::from(mr.flags)),
                    ("exact", Json::from(mr.exact)),
                    ("note", Json::from(mr.note)),
                ]),
            ),
        ])
    }

    /// One stage: its layer range, memory, recompute times (ms per micro-batch) and schedule
    /// as runs of identical layers `[first, end)`.
    fn stage_json(&self, s: &StageReport) -> Json {
        let mut runs = Vec::new();
        let mut start = 0;
        while start < s.layers.len() {
            let end = start
                + s.layers[start..]
                    .iter()
                    .take_while(|l| **l == s.layers[start])
                    .count();
            let recompute: Vec<Json> = s.layers[start]
                .iter()
                .zip(&self.tensor_names)
                .filter_map(|(slot, &name)| {
                    slot.map(|sl| {
                        Json::object(vec![
                            ("tensor", Json::from(name)),
                            ("slot", Json::from(sl.label())),
                        ])
                    })
                })
                .collect();
            runs.push(Json::object(vec![
                (
                    "layers",
                    Json::from(vec![s.first_layer + start, s.first_layer + end]),
                ),
                ("recompute", Json::Array(recompute)),
            ]));
            start = end;
        }
        Json::object(vec![
            ("stage", Json::from(s.stage)),
            (
                "layers",
                Json::from(vec![s.first_layer, s.first_layer + s.layers.len()]),
            ),
            ("in_flight", Json::from(s.in_flight)),
            ("peak_gb", Json::from(gb(s.peak_bytes))),
            ("static_gb", Json::from(gb(s.static_bytes))),
            ("exposed_recompute_ms", Json::from(s.exposed_s * 1e3)),
            ("hidden_tp_recompute_ms", Json::from(s.hidden_tp_s * 1e3)),
            (
                "pipeline_window_recompute_ms",
                Json::from(s.pipeline_window_s * 1e3),
            ),
            (
                "pipeline_window_capacity_ms",
                Json::from(s.pipeline_capacity_s * 1e3),
            ),
            ("schedule", Json::Array(runs)),
        ])
    }
}

/// Several policies' outcomes side by side (what `llmcore schedule --policy all --json`
/// prints): `{"simulated": true, "policies": [..]}`, per row the policy, the search seconds
/// when measured, and the plan or the error.
pub fn comparison_json(
    rows: &[(Policy, core::result::Result<&Plan, String>, Option<f64>)],
) -> Json {
    let items: Vec<Json> = rows
        .iter()
        .map(|(p, r, search_s)| {
            let mut row = vec![("policy", Json::from(p.name()))];
            if let Some(s) = search_s {
                row.push(("search_s", Json::from(*s)));
            }
            match r {
                Ok(plan) => row.push(("plan", plan.to_json())),
                Err(e) => row.push(("error", Json::from(e.as_str()))),
            }
            Json::object(row)
        })
        .collect();
    Json::object(vec![
        ("simulated", Json::from(true)),
        ("policies", Json::Array(items)),
    ])
}
