//! `llmcore schedule`: plan activation recomputation for pipeline-parallel GPT training.
//!
//! The flags become one JSON request for [`llmcore::sched::Request::from_json`] (the same
//! reader the C ABI uses, so defaults and checks live in one place): `--model` and
//! `--hardware` take a preset name or a JSON file (`{"name"?, "layers", "hidden", "heads",
//! "vocab"?}`; `{"base"?, "name"?, <Hardware field>: number, ..}`). With `--policy all` it
//! prints every policy's simulated step time, peak memory per stage and search time (the
//! Lynx tables of BENCHMARKS.md).

use crate::args::{opt, switch, Flag, Parsed};
use crate::output::{emit, parse, usage_err};
use crate::Failure;
use llmcore::io::json::{self, Json};
use llmcore::sched::{
    comparison_json, cost_model::ModelConfig, hardware::Hardware, plan, policy::Policy, Plan,
    Request, Setup,
};
use std::fmt::Write;
use std::time::Instant;

const FLAGS: &[Flag] = &[
    opt(
        "--model",
        "NAME|FILE.json",
        "gpt-1.3b, gpt-2.7b, gpt-6.7b, gpt-13b, gpt-20b, gpt-22b, gpt-175b, or a config file",
    ),
    opt(
        "--hardware",
        "NAME|FILE.json",
        "a100 or h100 (default a100), or a profile file",
    ),
    opt("--tp", "T", "tensor parallelism (default 1)"),
    opt("--pp", "P", "pipeline stages (default 1)"),
    opt("--dp", "D", "data parallelism (default 1)"),
    opt("--micro-batch", "B", "micro-batch size in sequences"),
    opt("--global-batch", "G", "global batch in sequences"),
    opt("--seq", "S", "sequence length (default 2048)"),
    opt(
        "--memory-gb",
        "M",
        "memory budget per GPU in GB (default: the hardware's)",
    ),
    opt(
        "--policy",
        "NAME",
        "none|full|selective|checkmate|opt|heu|all (default heu)",
    ),
    switch("--sequence-parallel", "Megatron sequence parallelism"),
];

const SYNOPSIS: &str =
    "--model M --micro-batch B --global-batch G [--hardware H] [--tp T] [--pp P] \
[--dp D] [--seq S] [--memory-gb M] [--sequence-parallel] [--policy NAME]";

/// Runs the subcommand on its arguments (those after `schedule`).
pub fn run(argv: &[std::ffi::OsString]) -> Result<(), Failure> {
    let p = parse("schedule", SYNOPSIS, FLAGS, argv)?;
    p.at_most_positional(0).map_err(usage_err)?;
    let req = Request::from_json(&request(&p)?).map_err(|e| usage_err(e.to_string()))?;
    match req.policy {
        Some(policy) => {
            let plan = plan(&req.setup, policy)?;
            emit(&p, plan.to_json(), || describe(&plan))
        }
        None => table(&p, &req.setup),
    }
}

/// The request object of the given flags (`--micro-batch` becomes `micro_batch`, ..). Values
/// that are not numbers are usage errors naming the flag.
fn request(p: &Parsed) -> Result<Json, Failure> {
    let mut fields = Vec::new();
    let model = p.required("--model").map_err(usage_err)?;
    fields.push(("model", config(model, "--model", ModelConfig::from_json)?));
    if let Some(h) = p.str("--hardware") {
        fields.push(("hardware", config(h, "--hardware", Hardware::from_json)?));
    }
    for flag in [
        "--tp",
        "--pp",
        "--dp",
        "--micro-batch",
        "--global-batch",
        "--seq",
    ] {
        if p.str(flag).is_some() {
            let n: u64 = p.num(flag, 0).map_err(usage_err)?;
            fields.push((&flag[2..], Json::from(n)));
        }
    }
    if p.str("--memory-gb").is_some() {
        let gb: f64 = p.num("--memory-gb", 0.0).map_err(usage_err)?;
        fields.push(("memory_gb", Json::from(gb)));
    }
    if let Some(policy) = p.str("--policy") {
        fields.push(("policy", Json::from(policy)));
    }
    fields.push((
        "sequence_parallel",
        Json::from(p.flag("--sequence-parallel")),
    ));
    Ok(Json::object(
        fields.into_iter().map(|(k, v)| (k.replace('-', "_"), v)),
    ))
}

/// A preset name as a JSON string, or the contents of a `.json` file, checked by `read` so
/// that its errors name the file and the flag.
fn config<T>(
    arg: &str,
    flag: &str,
    read: fn(&Json) -> llmcore::Result<T>,
) -> Result<Json, Failure> {
    if !arg.ends_with(".json") {
        return Ok(Json::from(arg));
    }
    let text = std::fs::read_to_string(arg).map_err(|e| Failure::Run(format!("{arg}: {e}")))?;
    let value = json::parse(&text)
        .and_then(|v| read(&v).map(|_| v))
        .map_err(|e| usage_err(format!("{flag} {arg}: {e}")))?;
    Ok(value)
}

/// Mean wall time of `plan` over enough runs to fill 0.2 s (at least one).
fn timed(setup: &Setup, policy: Policy) -> (Result<Plan, String>, f64) {
    let start = Instant::now();
    let mut runs = 0u32;
    loop {
        let r = plan(setup, policy).map_err(|e| e.to_string());
        runs += 1;
        let el = start.elapsed().as_secs_f64();
        if r.is_err() || el > 0.2 || runs >= 1000 {
            return (r, el / runs as f64);
        }
    }
}

/// Every policy side by side, with search times; a runtime error when none fits.
fn table(p: &Parsed, setup: &Setup) -> Result<(), Failure> {
    let rows: Vec<(Policy, Result<Plan, String>, f64)> = Policy::ALL
        .iter()
        .map(|&policy| {
            let (r, s) = timed(setup, policy);
            (policy, r, s)
        })
        .collect();
    let view: Vec<_> = rows
        .iter()
        .map(|(policy, r, s)| (*policy, r.as_ref().map_err(Clone::clone), Some(*s)))
        .collect();
    emit(p, comparison_json(&view), || table_text(setup, &rows))?;
    match rows.iter().find(|(policy, ..)| *policy == Policy::LynxOpt) {
        Some((_, Err(e), _)) => Err(Failure::Run(format!("no policy fits: {e}"))),
        _ => Ok(()),
    }
}

fn table_text(setup: &Setup, rows: &[(Policy, Result<Plan, String>, f64)]) -> String {
    let (m, t) = (&setup.model, &setup.training);
    let mut o = format!(
        "{} on {} | tp {} pp {} dp {} | micro-batch {} x {} | seq {} | budget {:.1} GB (simulated)\n",
        m.name,
        setup.hardware.name,
        t.tp,
        t.pp,
        t.dp,
        t.micro_batch,
        t.micro_batches(),
        t.seq,
        setup.budget_bytes as f64 / 1e9
    );
    let _ = writeln!(
        o,
        "{:<10} {:>10} {:>9} {:>11} {:>12}  peak GB per stage",
        "policy", "step s", "overhead", "exposed ms", "search s"
    );
    for (policy, r, s) in rows {
        match r {
            Ok(plan) => {
                let peaks: Vec<String> = plan
                    .stages
                    .iter()
                    .map(|st| format!("{:.1}", st.peak_bytes as f64 / 1e9))
                    .collect();
                let exposed = plan
                    .stages
                    .iter()
                    .map(|st| st.exposed_s)
                    .fold(0.0, f64::max);
                let _ = writeln!(
                    o,
                    "{:<10} {:>10.3} {:>8.1}% {:>11.2} {:>12.3e}  {}",
                    policy.name(),
                    plan.iteration_s,
                    100.0 * (plan.iteration_s / plan.no_recompute_iteration_s - 1.0),
                    exposed * 1e3,
                    s,
                    peaks.join(" ")
                );
            }
            Err(e) => {
                let _ = writeln!(o, "{:<10} does not fit: {e}", policy.name());
            }
        }
    }
    o
}

/// One plan as text: step time, per-stage memory and recompute placement, Megatron flags.
fn describe(p: &Plan) -> String {
    let mut o = format!(
        "policy {}: simulated step {:.3} s ({:+.1}% vs no recomputation without a memory limit)\n",
        p.policy.name(),
        p.iteration_s,
        100.0 * (p.iteration_s / p.no_recompute_iteration_s - 1.0)
    );
    for s in &p.stages {
        let _ = writeln!(
            o,
            "stage {} layers {}..{}: peak {:.2} GB, exposed {:.2} ms, hidden in TP windows {:.2} ms, in pipeline window {:.2}/{:.2} ms per micro-batch",
            s.stage,
            s.first_layer,
            s.first_layer + s.layers.len(),
            s.peak_bytes as f64 / 1e9,
            s.exposed_s * 1e3,
            s.hidden_tp_s * 1e3,
            s.pipeline_window_s * 1e3,
            s.pipeline_capacity_s * 1e3
        );
    }
    let mr = p.megatron_recompute();
    let _ = writeln!(
        o,
        "megatron flags: {} {}",
        p.megatron_flags().join(" "),
        mr.flags.join(" ")
    );
    if !mr.note.is_empty() {
        let _ = writeln!(o, "note: {}", mr.note);
    }
    o
}
