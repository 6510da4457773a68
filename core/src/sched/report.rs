//! The plan as Megatron-LM flags and as JSON.
//!
//! All JSON text of the planner is built here, in [`Plan::to_json`] and [`comparison_json`]
//! with the two helpers `esc` and `list` (one place, so it can move onto the crate's JSON value
//! type without touching anything else).

use super::cost_model::tensor;
use super::policy::{LayerPlan, Policy};
use super::Plan;
use alloc::{format, string::String, vec, vec::Vec};
use core::fmt::Write;

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

fn esc(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}
fn list(items: &[String]) -> String {
    let v: Vec<String> = items.iter().map(|s| esc(s)).collect();
    format!("[{}]", v.join(","))
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
    /// layers), Megatron-LM flags.
    pub fn to_json(&self) -> String {
        let (m, t, hw) = (
            &self.setup.model,
            &self.setup.training,
            &self.setup.hardware,
        );
        let mut o = String::new();
        let _ = write!(
            o,
            "{{\"policy\":{},\"model\":{{\"name\":{},\"layers\":{},\"hidden\":{},\"heads\":{},\"vocab\":{}}},",
            esc(self.policy.name()),
            esc(&m.name),
            m.layers,
            m.hidden,
            m.heads,
            m.vocab
        );
        let _ = write!(
            o,
            "\"hardware\":{},\"training\":{{\"seq\":{},\"micro_batch\":{},\"global_batch\":{},\"micro_batches\":{},\"tp\":{},\"pp\":{},\"dp\":{},\"sequence_parallel\":{}}},\"memory_budget_gb\":{},",
            esc(&hw.name),
            t.seq,
            t.micro_batch,
            t.global_batch,
            t.micro_batches(),
            t.tp,
            t.pp,
            t.dp,
            t.sequence_parallel,
            self.setup.budget_bytes as f64 / 1e9
        );
        let _ = write!(
            o,
            "\"simulated\":true,\"iteration_s\":{},\"no_recompute_iteration_s\":{},\"stages\":[",
            self.iteration_s, self.no_recompute_iteration_s
        );
        for (si, s) in self.stages.iter().enumerate() {
            if si > 0 {
                o.push(',');
            }
            let _ = write!(
                o,
                "{{\"stage\":{},\"layers\":[{},{}],\"in_flight\":{},\"peak_gb\":{},\"static_gb\":{},\"exposed_recompute_ms\":{},\"hidden_tp_recompute_ms\":{},\"pipeline_window_recompute_ms\":{},\"pipeline_window_capacity_ms\":{},\"schedule\":[",
                s.stage,
                s.first_layer,
                s.first_layer + s.layers.len(),
                s.in_flight,
                s.peak_bytes as f64 / 1e9,
                s.static_bytes as f64 / 1e9,
                s.exposed_s * 1e3,
                s.hidden_tp_s * 1e3,
                s.pipeline_window_s * 1e3,
                s.pipeline_capacity_s * 1e3
            );
            let mut start = 0;
            let mut first = true;
            while start < s.layers.len() {
                let mut end = start + 1;
                while end < s.layers.len() && s.layers[end] == s.layers[start] {
                    end += 1;
                }
                let recompute: Vec<String> = s.layers[start]
                    .iter()
                    .enumerate()
                    .filter_map(|(i, slot)| {
                        slot.map(|sl| {
                            format!(
                                "{{\"tensor\":{},\"slot\":{}}}",
                                esc(self.tensor_names[i]),
                                esc(sl.label())
                            )
                        })
                    })
                    .collect();
                if !first {
                    o.push(',');
                }
                first = false;
                let _ = write!(
                    o,
                    "{{\"layers\":[{},{}],\"recompute\":[{}]}}",
                    s.first_layer + start,
                    s.first_layer + end,
                    recompute.join(",")
                );
                start = end;
            }
            o.push_str("]}");
        }
        let mr = self.megatron_recompute();
        let _ = write!(
            o,
            "],\"megatron_flags\":{},\"megatron_recompute\":{{\"flags\":{},\"exact\":{},\"note\":{}}}}}",
            list(&self.megatron_flags()),
            list(&mr.flags),
            mr.exact,
            esc(mr.note)
        );
        o
    }
}

/// Several policies' outcomes side by side (what `llmcore schedule --policy all --json`
/// prints): per row the policy, the search seconds, and the plan or the error.
pub fn comparison_json(rows: &[(Policy, core::result::Result<&Plan, String>, f64)]) -> String {
    let items: Vec<String> = rows
        .iter()
        .map(|(p, r, search_s)| match r {
            Ok(plan) => format!(
                "{{\"policy\":{},\"search_s\":{search_s},\"plan\":{}}}",
                esc(p.name()),
                plan.to_json()
            ),
            Err(e) => format!("{{\"policy\":{},\"error\":{}}}", esc(p.name()), esc(e)),
        })
        .collect();
    format!("[{}]", items.join(","))
}
