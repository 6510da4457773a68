//! Plans requested as JSON: the model config, the hardware profile and the whole request read
//! from [`Json`] values, and [`plan_json`], the one entry point the C ABI and the CLI share.
//!
//! A request is an object (every field but `model`, `micro_batch` and `global_batch` optional):
//!
//! ```text
//! {"model": "gpt-1.3b" | {"name", "layers", "hidden", "heads", "vocab"?},
//!  "hardware": "a100" | "h100" | {"base"?, "name"?, <Hardware field>: number, ..},
//!  "tp": 1, "pp": 1, "dp": 1, "micro_batch": B, "global_batch": G, "seq": 2048,
//!  "sequence_parallel": false, "memory_gb": <the hardware's memory>, "policy": "heu" | .. | "all"}
//! ```
//!
//! Every error names the field at fault.

use super::cost_model::{ModelConfig, Training};
use super::hardware::Hardware;
use super::policy::Policy;
use super::{comparison_json, plan, Setup};
use crate::io::json::Json;
use crate::{Error, Result};
use alloc::{format, string::ToString, vec::Vec};

/// Largest whole number a config field takes (far above any real model or layout; the cost
/// model bounds the totals separately).
const MAX_WHOLE: u64 = 1 << 32;

/// The members of `value`, which must be an object whose keys are all in `known`.
fn members<'a>(
    value: &'a Json,
    what: &str,
    known: &[&str],
) -> Result<&'a [(alloc::string::String, Json)]> {
    let m = value
        .as_object()
        .ok_or_else(|| Error::invalid(format!("{what} must be a JSON object")))?;
    if let Some((k, _)) = m.iter().find(|(k, _)| !known.contains(&k.as_str())) {
        return Err(Error::invalid(format!(
            "{what}: unknown field '{k}' (known: {})",
            known.join(", ")
        )));
    }
    if let Some(i) = (1..m.len()).find(|&i| m[..i].iter().any(|(k, _)| *k == m[i].0)) {
        return Err(Error::invalid(format!(
            "{what}: field '{}' given twice",
            m[i].0
        )));
    }
    Ok(m)
}

/// Field `key` of `obj` as a whole number in `1..=2^32`; `default` when absent (`None`: the
/// field is required).
fn whole(obj: &Json, what: &str, key: &str, default: Option<usize>) -> Result<usize> {
    match obj.get(key) {
        None => default.ok_or_else(|| Error::invalid(format!("{what}: missing field '{key}'"))),
        Some(v) => v
            .as_u64()
            .filter(|n| (1..=MAX_WHOLE).contains(n))
            .map(|n| n as usize)
            .ok_or_else(|| {
                Error::invalid(format!(
                    "{what}: field '{key}' must be a whole number from 1 to {MAX_WHOLE}, got {v}"
                ))
            }),
    }
}

/// Field `key` of `obj` as a string, if present.
fn string<'a>(obj: &'a Json, what: &str, key: &str) -> Result<Option<&'a str>> {
    obj.get(key)
        .map(|v| {
            v.as_str().ok_or_else(|| {
                Error::invalid(format!("{what}: field '{key}' must be a string, got {v}"))
            })
        })
        .transpose()
}

impl ModelConfig {
    /// A model from JSON: a preset name (see [`ModelConfig::preset`]) or an object
    /// `{"name"?, "layers", "hidden", "heads", "vocab"?}` (vocabulary 51200 when absent).
    /// The shape is checked against a layout later, by [`super::cost_model::validate`].
    pub fn from_json(value: &Json) -> Result<Self> {
        if let Some(name) = value.as_str() {
            return Self::preset(name);
        }
        const WHAT: &str = "model config";
        members(value, WHAT, &["name", "layers", "hidden", "heads", "vocab"])?;
        Ok(ModelConfig {
            name: string(value, WHAT, "name")?.unwrap_or("custom").to_string(),
            layers: whole(value, WHAT, "layers", None)?,
            hidden: whole(value, WHAT, "hidden", None)?,
            heads: whole(value, WHAT, "heads", None)?,
            vocab: whole(value, WHAT, "vocab", Some(51200))?,
        })
    }
}

impl Hardware {
    /// A profile from JSON: a preset name (see [`Hardware::preset`]) or an object naming the
    /// preset to start from (`"base"`, default `a100`), optionally a `"name"`, and any numeric
    /// field of [`Hardware`] to override (through [`Hardware::set`], which checks each).
    pub fn from_json(value: &Json) -> Result<Self> {
        if let Some(name) = value.as_str() {
            return Self::preset(name);
        }
        const WHAT: &str = "hardware profile";
        let fields = value.as_object().ok_or_else(|| {
            Error::invalid(format!("{WHAT} must be a preset name or a JSON object"))
        })?;
        let mut hw = Self::preset(string(value, WHAT, "base")?.unwrap_or("a100"))?;
        if let Some(name) = string(value, WHAT, "name")? {
            hw.name = name.to_string();
        }
        for (key, v) in fields {
            if key == "base" || key == "name" {
                continue;
            }
            let x = v.as_f64().ok_or_else(|| {
                Error::invalid(format!("{WHAT}: field '{key}' must be a number, got {v}"))
            })?;
            hw.set(key, x)?;
        }
        Ok(hw)
    }
}

/// A parsed plan request: what to plan and which policy (`None`: every policy).
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// Model, layout, hardware and budget, validated against each other.
    pub setup: Setup,
    /// The policy, or `None` for all of [`Policy::ALL`].
    pub policy: Option<Policy>,
}

/// Fields a request may have.
pub const REQUEST_FIELDS: &[&str] = &[
    "model",
    "hardware",
    "tp",
    "pp",
    "dp",
    "micro_batch",
    "global_batch",
    "seq",
    "sequence_parallel",
    "memory_gb",
    "policy",
];

impl Request {
    /// Reads and validates a request (the module docs give its fields and defaults). Errors
    /// name the field: unknown or mistyped fields, unknown presets or policies, a layout the
    /// model does not divide into ([`super::cost_model::validate`]).
    pub fn from_json(request: &Json) -> Result<Self> {
        const WHAT: &str = "schedule request";
        members(request, WHAT, REQUEST_FIELDS)?;
        let model = ModelConfig::from_json(
            request
                .get("model")
                .ok_or_else(|| Error::invalid(format!("{WHAT}: missing field 'model'")))?,
        )?;
        let hardware = match request.get("hardware") {
            Some(h) => Hardware::from_json(h)?,
            None => Hardware::a100_80gb(),
        };
        let sequence_parallel = match request.get("sequence_parallel") {
            None => false,
            Some(v) => v.as_bool().ok_or_else(|| {
                Error::invalid(format!(
                    "{WHAT}: field 'sequence_parallel' must be true or false, got {v}"
                ))
            })?,
        };
        let training = Training {
            seq: whole(request, WHAT, "seq", Some(2048))?,
            micro_batch: whole(request, WHAT, "micro_batch", None)?,
            global_batch: whole(request, WHAT, "global_batch", None)?,
            tp: whole(request, WHAT, "tp", Some(1))?,
            pp: whole(request, WHAT, "pp", Some(1))?,
            dp: whole(request, WHAT, "dp", Some(1))?,
            sequence_parallel,
            bytes_per_param: 18.0,
        };
        let memory_gb = match request.get("memory_gb") {
            None => hardware.memory_gb,
            Some(v) => v.as_f64().filter(|g| *g > 0.0 && *g < 1e9).ok_or_else(|| {
                Error::invalid(format!(
                    "{WHAT}: field 'memory_gb' must be a positive number of GB, got {v}"
                ))
            })?,
        };
        let policy = match string(request, WHAT, "policy")?.unwrap_or("heu") {
            "all" => None,
            name => Some(Policy::parse(name).ok_or_else(|| {
                Error::invalid(format!(
                    "{WHAT}: unknown policy '{name}' (none, full, selective, checkmate, opt, heu, all)"
                ))
            })?),
        };
        super::cost_model::validate(&model, &training, &hardware)?;
        Ok(Request {
            setup: Setup {
                model,
                training,
                hardware,
                budget_bytes: (memory_gb * 1e9) as u64,
            },
            policy,
        })
    }
}

/// Plans a JSON request (see the module docs): for one policy its [`super::Plan::to_json`];
/// for `"policy": "all"` the [`comparison_json`] of every policy (without search times, which
/// need a clock). Errors: a bad request, or one policy that cannot meet the budget (the message
/// gives the least memory any schedule needs).
pub fn plan_json(request: &Json) -> Result<Json> {
    let req = Request::from_json(request)?;
    match req.policy {
        Some(p) => Ok(plan(&req.setup, p)?.to_json()),
        None => {
            let plans: Vec<(Policy, Result<super::Plan>)> = Policy::ALL
                .iter()
                .map(|&p| (p, plan(&req.setup, p)))
                .collect();
            let rows: Vec<_> = plans
                .iter()
                .map(|(p, r)| (*p, r.as_ref().map_err(|e| e.to_string()), None))
                .collect();
            Ok(comparison_json(&rows))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::json::parse;

    fn err(text: &str) -> alloc::string::String {
        plan_json(&parse(text).unwrap()).unwrap_err().to_string()
    }

    #[test]
    fn configs_from_json() {
        let m = ModelConfig::from_json(
            &parse(r#"{"name": "tiny", "layers": 4, "hidden": 256, "heads": 4}"#).unwrap(),
        )
        .unwrap();
        assert_eq!(
            (m.name.as_str(), m.layers, m.hidden, m.heads, m.vocab),
            ("tiny", 4, 256, 4, 51200)
        );
        assert_eq!(
            ModelConfig::from_json(&Json::from("gpt-13b"))
                .unwrap()
                .layers,
            40
        );
        for (text, want) in [
            (r#"{"hidden": 256, "heads": 4}"#, "missing field 'layers'"),
            (
                r#"{"layers": 4.5, "hidden": 256, "heads": 4}"#,
                "field 'layers' must be a whole number",
            ),
            (
                r#"{"layers": 4, "hidden": 256, "heads": 4, "depth": 2}"#,
                "unknown field 'depth'",
            ),
            (r#"[4]"#, "model config must be a JSON object"),
        ] {
            let e = ModelConfig::from_json(&parse(text).unwrap())
                .unwrap_err()
                .to_string();
            assert!(e.contains(want), "{text}: {e}");
        }
        let hw = Hardware::from_json(
            &parse(r#"{"base": "h100", "matmul_efficiency": 0.5, "internode_gb_s": 1e2}"#).unwrap(),
        )
        .unwrap();
        assert_eq!(
            (hw.peak_tflops, hw.matmul_efficiency, hw.internode_gb_s),
            (989.0, 0.5, 100.0)
        );
        for (text, want) in [
            (
                r#"{"warp_drive": 1}"#,
                "unknown hardware profile key 'warp_drive'",
            ),
            (
                r#"{"peak_tflops": "fast"}"#,
                "field 'peak_tflops' must be a number",
            ),
            (r#"{"base": "tpu"}"#, "unknown hardware preset 'tpu'"),
            (
                r#"{"matmul_efficiency": 2}"#,
                "'matmul_efficiency' must lie in (0, 1]",
            ),
        ] {
            let e = Hardware::from_json(&parse(text).unwrap())
                .unwrap_err()
                .to_string();
            assert!(e.contains(want), "{text}: {e}");
        }
    }

    #[test]
    fn requests_are_checked() {
        let base = r#""model": "gpt-1.3b", "micro_batch": 1, "global_batch": 8"#;
        for (extra, want) in [
            (r#""tp": 3"#, "does not divide the 16 attention heads"),
            (r#""tp": 0"#, "field 'tp' must be a whole number"),
            (r#""policy": "fastest""#, "unknown policy 'fastest'"),
            (r#""memory_gb": -1"#, "field 'memory_gb' must be a positive"),
            (
                r#""sequence_parallel": 1"#,
                "'sequence_parallel' must be true or false",
            ),
            (r#""colour": "red""#, "unknown field 'colour'"),
            (r#""tp": 2, "tp": 4"#, "field 'tp' given twice"),
            (r#""hardware": "tpu""#, "unknown hardware preset"),
        ] {
            let e = err(&format!("{{{base}, {extra}}}"));
            assert!(e.contains(want), "{extra}: {e}");
        }
        assert!(err(r#"{"micro_batch": 1, "global_batch": 8}"#).contains("missing field 'model'"));
        assert!(err(r#"{"model": "gpt-1.3b", "micro_batch": 1}"#)
            .contains("missing field 'global_batch'"));
        let e = err(&format!(r#"{{{base}, "memory_gb": 1, "policy": "opt"}}"#));
        assert!(
            e.contains("raise the memory budget (--memory-gb, memory_gb) to at least"),
            "{e}"
        );
    }

    #[test]
    fn plans_one_policy_or_all() {
        let req = parse(
            r#"{"model": "gpt-1.3b", "hardware": {"base": "a100", "name": "lab"}, "tp": 2,
                "pp": 2, "micro_batch": 1, "global_batch": 8, "policy": "selective"}"#,
        )
        .unwrap();
        let j = plan_json(&req).unwrap();
        assert_eq!(j.get("policy").and_then(Json::as_str), Some("selective"));
        assert_eq!(j.get("hardware").and_then(Json::as_str), Some("lab"));
        let stages = j.get("stages").and_then(Json::as_array).unwrap();
        assert_eq!(stages.len(), 2);
        let req = Request::from_json(&req).unwrap();
        let direct = plan(&req.setup, Policy::Selective).unwrap();
        assert_eq!(
            j.get("iteration_s").and_then(Json::as_f64),
            Some(direct.iteration_s)
        );
        let all = plan_json(
            &parse(r#"{"model": "gpt-1.3b", "tp": 2, "pp": 2, "micro_batch": 1, "global_batch": 8, "policy": "all"}"#)
                .unwrap(),
        )
        .unwrap();
        let rows = all.get("policies").and_then(Json::as_array).unwrap();
        let names: Vec<&str> = rows
            .iter()
            .map(|r| r.get("policy").and_then(Json::as_str).unwrap())
            .collect();
        assert_eq!(
            names,
            ["none", "full", "selective", "checkmate", "opt", "heu"]
        );
        assert!(rows
            .iter()
            .all(|r| r.get("plan").is_some() && r.get("search_s").is_none()));
    }
}
