//! `llmcore schedule`: plan activation recomputation for pipeline-parallel GPT training.
//!
//! ```text
//! llmcore schedule --model gpt-1.3b|...|gpt-20b|CONFIG.json --hardware a100|h100|HW.json
//!   --tp T --pp P [--dp D] --micro-batch B --global-batch G [--seq S] [--memory-gb M]
//!   [--sequence-parallel] [--policy none|full|selective|checkmate|opt|heu|all] [--json]
//! ```
//! CONFIG.json: `{"name": .., "layers": .., "hidden": .., "heads": .., "vocab": ..}`;
//! HW.json: `{"base": "a100"|"h100", <any Hardware field>: number, ..}`.
//! With `--policy all` it prints every policy's simulated step time, peak memory per stage and
//! search time (the benchmark table of BENCHMARKS.md).

use llmcore::sched::{
    comparison_json,
    cost_model::{ModelConfig, Training},
    hardware::Hardware,
    plan,
    policy::Policy,
    Plan, Setup,
};
use std::time::Instant;

const USAGE: &str = "usage: llmcore schedule --model gpt-1.3b|gpt-2.7b|gpt-6.7b|gpt-13b|gpt-20b|CONFIG.json \
--hardware a100|h100|HW.json --tp T --pp P [--dp D] --micro-batch B --global-batch G [--seq S] \
[--memory-gb M] [--sequence-parallel] [--policy none|full|selective|checkmate|opt|heu|all] [--json]";

/// Runs the subcommand on its arguments (those after `schedule`).
pub fn run(args: &[String], json: bool) -> Result<(), String> {
    let mut opts = std::collections::HashMap::new();
    let mut sequence_parallel = false;
    let mut json = json;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--json" => json = true,
            "--sequence-parallel" => sequence_parallel = true,
            "-h" | "--help" => return Err(USAGE.into()),
            k if k.starts_with("--") => {
                let v = it
                    .next()
                    .ok_or_else(|| format!("{k} needs a value\n{USAGE}"))?;
                opts.insert(&k[2..], v.clone());
            }
            _ => return Err(format!("unexpected argument '{a}'\n{USAGE}")),
        }
    }
    let take = |k: &str| opts.get(k).cloned();
    let num = |k: &str, default: Option<usize>| -> Result<usize, String> {
        match take(k) {
            Some(v) => v
                .parse()
                .map_err(|_| format!("--{k} expects a whole number, got '{v}'")),
            None => default.ok_or_else(|| format!("--{k} is required\n{USAGE}")),
        }
    };
    for k in opts.keys() {
        let known = [
            "model",
            "hardware",
            "tp",
            "pp",
            "dp",
            "micro-batch",
            "global-batch",
            "seq",
            "memory-gb",
            "policy",
        ];
        if !known.contains(k) {
            return Err(format!("unknown option --{k}\n{USAGE}"));
        }
    }
    let model = load_model(&take("model").ok_or_else(|| format!("--model is required\n{USAGE}"))?)?;
    let hardware = load_hardware(&take("hardware").unwrap_or_else(|| "a100".into()))?;
    let training = Training {
        seq: num("seq", Some(2048))?,
        micro_batch: num("micro-batch", None)?,
        global_batch: num("global-batch", None)?,
        tp: num("tp", Some(1))?,
        pp: num("pp", Some(1))?,
        dp: num("dp", Some(1))?,
        sequence_parallel,
        bytes_per_param: 18.0,
    };
    let memory_gb = match take("memory-gb") {
        Some(v) => v
            .parse::<f64>()
            .ok()
            .filter(|g| *g > 0.0)
            .ok_or_else(|| format!("--memory-gb expects a positive number, got '{v}'"))?,
        None => hardware.memory_gb,
    };
    let setup = Setup {
        model,
        training,
        hardware,
        budget_bytes: (memory_gb * 1e9) as u64,
    };
    let policy = take("policy").unwrap_or_else(|| "heu".into());
    if policy == "all" {
        return table(&setup, json);
    }
    let policy = Policy::parse(&policy).ok_or_else(|| {
        format!("unknown policy '{policy}' (none, full, selective, checkmate, opt, heu, all)")
    })?;
    let p = plan(&setup, policy).map_err(|e| e.to_string())?;
    if json {
        println!("{}", p.to_json());
    } else {
        print_plan(&p);
    }
    Ok(())
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

fn table(setup: &Setup, json: bool) -> Result<(), String> {
    let rows: Vec<(Policy, Result<Plan, String>, f64)> = Policy::ALL
        .iter()
        .map(|&p| {
            let (r, s) = timed(setup, p);
            (p, r, s)
        })
        .collect();
    if json {
        let view: Vec<_> = rows
            .iter()
            .map(|(p, r, s)| (*p, r.as_ref().map_err(Clone::clone), *s))
            .collect();
        println!("{}", comparison_json(&view));
        return Ok(());
    }
    let (m, t) = (&setup.model, &setup.training);
    println!(
        "{} on {} | tp {} pp {} dp {} | micro-batch {} x {} | seq {} | budget {:.1} GB (simulated)",
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
    println!(
        "{:<10} {:>10} {:>9} {:>11} {:>12}  peak GB per stage",
        "policy", "step s", "overhead", "exposed ms", "search s"
    );
    for (p, r, s) in &rows {
        match r {
            Ok(plan) => {
                let peaks: Vec<String> = plan
                    .stages
                    .iter()
                    .map(|st| format!("{:.1}", st.peak_bytes as f64 / 1e9))
                    .collect();
                let exposed: f64 = plan
                    .stages
                    .iter()
                    .map(|st| st.exposed_s)
                    .fold(0.0, f64::max);
                println!(
                    "{:<10} {:>10.3} {:>8.1}% {:>11.2} {:>12.3e}  {}",
                    p.name(),
                    plan.iteration_s,
                    100.0 * (plan.iteration_s / plan.no_recompute_iteration_s - 1.0),
                    exposed * 1e3,
                    s,
                    peaks.join(" ")
                );
            }
            Err(e) => println!("{:<10} does not fit: {e}", p.name()),
        }
    }
    Ok(())
}

fn print_plan(p: &Plan) {
    println!(
        "policy {}: simulated step {:.3} s ({:+.1}% vs no recomputation without a memory limit)",
        p.policy.name(),
        p.iteration_s,
        100.0 * (p.iteration_s / p.no_recompute_iteration_s - 1.0)
    );
    for s in &p.stages {
        println!(
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
    println!(
        "megatron flags: {} {}",
        p.megatron_flags().join(" "),
        mr.flags.join(" ")
    );
    if !mr.note.is_empty() {
        println!("note: {}", mr.note);
    }
}

fn load_model(arg: &str) -> Result<ModelConfig, String> {
    if !arg.ends_with(".json") {
        return ModelConfig::preset(arg).map_err(|e| e.to_string());
    }
    let mut m = ModelConfig {
        name: arg.into(),
        layers: 0,
        hidden: 0,
        heads: 0,
        vocab: 51200,
    };
    for (k, v) in read_flat_json(arg)? {
        match (k.as_str(), v) {
            ("name", Value::Str(s)) => m.name = s,
            ("layers" | "hidden" | "heads" | "vocab", Value::Num(x)) => {
                if !(x >= 1.0 && x.fract() == 0.0 && x < 1e9) {
                    return Err(format!(
                        "{arg}: '{k}' must be a positive whole number, got {x}"
                    ));
                }
                let x = x as usize;
                match k.as_str() {
                    "layers" => m.layers = x,
                    "hidden" => m.hidden = x,
                    "heads" => m.heads = x,
                    _ => m.vocab = x,
                }
            }
            _ => return Err(format!("{arg}: unknown or mistyped key '{k}'")),
        }
    }
    for (k, v) in [
        ("layers", m.layers),
        ("hidden", m.hidden),
        ("heads", m.heads),
    ] {
        if v == 0 {
            return Err(format!("{arg}: missing key '{k}'"));
        }
    }
    Ok(m)
}

fn load_hardware(arg: &str) -> Result<Hardware, String> {
    if !arg.ends_with(".json") {
        return Hardware::preset(arg).map_err(|e| e.to_string());
    }
    let pairs = read_flat_json(arg)?;
    let base = pairs.iter().find_map(|(k, v)| match (k.as_str(), v) {
        ("base", Value::Str(s)) => Some(s.clone()),
        _ => None,
    });
    let mut hw =
        Hardware::preset(base.as_deref().unwrap_or("a100")).map_err(|e| format!("{arg}: {e}"))?;
    hw.name = arg.into();
    for (k, v) in pairs {
        match (k.as_str(), v) {
            ("base", _) => {}
            ("name", Value::Str(s)) => hw.name = s,
            (_, Value::Num(x)) => hw.set(&k, x).map_err(|e| format!("{arg}: {e}"))?,
            _ => return Err(format!("{arg}: key '{k}' must be a number")),
        }
    }
    Ok(hw)
}

enum Value {
    Num(f64),
    Str(String),
}

/// Reads a flat JSON object of numbers and plain strings (the two config files need nothing
/// more).
fn read_flat_json(path: &str) -> Result<Vec<(String, Value)>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let bad = |at: usize, what: &str| format!("{path}: byte {at}: {what}");
    let b = text.as_bytes();
    let mut i = 0;
    let ws = |i: &mut usize| {
        while *i < b.len() && b[*i].is_ascii_whitespace() {
            *i += 1
        }
    };
    let string = |i: &mut usize| -> Result<String, String> {
        if b.get(*i) != Some(&b'"') {
            return Err(bad(*i, "expected a string"));
        }
        let start = *i + 1;
        let end = text[start..]
            .find('"')
            .map(|e| start + e)
            .ok_or_else(|| bad(start, "unterminated string"))?;
        if text[start..end].contains('\\') {
            return Err(bad(start, "escapes are not supported in config strings"));
        }
        *i = end + 1;
        Ok(text[start..end].to_string())
    };
    let mut out = Vec::new();
    ws(&mut i);
    if b.get(i) != Some(&b'{') {
        return Err(bad(i, "expected '{'"));
    }
    i += 1;
    loop {
        ws(&mut i);
        if b.get(i) == Some(&b'}') && out.is_empty() {
            i += 1;
            break;
        }
        let key = string(&mut i)?;
        ws(&mut i);
        if b.get(i) != Some(&b':') {
            return Err(bad(i, "expected ':'"));
        }
        i += 1;
        ws(&mut i);
        let value = if b.get(i) == Some(&b'"') {
            Value::Str(string(&mut i)?)
        } else {
            let start = i;
            while i < b.len() && (b[i].is_ascii_digit() || b"+-.eE".contains(&b[i])) {
                i += 1;
            }
            Value::Num(
                text[start..i]
                    .parse()
                    .map_err(|_| bad(start, "expected a number or a string"))?,
            )
        };
        out.push((key, value));
        ws(&mut i);
        match b.get(i) {
            Some(b',') => i += 1,
            Some(b'}') => {
                i += 1;
                break;
            }
            _ => return Err(bad(i, "expected ',' or '}'")),
        }
    }
    ws(&mut i);
    if i != b.len() {
        return Err(bad(i, "trailing characters after the object"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> String {
        let path =
            std::env::temp_dir().join(format!("llmcore-schedule-{}-{name}", std::process::id()));
        std::fs::write(&path, text).unwrap();
        path.to_string_lossy().into_owned()
    }

    #[test]
    fn reads_config_files() {
        let m = write(
            "m.json",
            r#"{"name": "tiny", "layers": 4, "hidden": 256, "heads": 4}"#,
        );
        let model = load_model(&m).unwrap();
        assert_eq!(
            (model.layers, model.hidden, model.heads, model.vocab),
            (4, 256, 4, 51200)
        );
        let h = write(
            "h.json",
            r#" {"base": "h100", "matmul_efficiency": 0.5, "internode_gb_s": 1e2} "#,
        );
        let hw = load_hardware(&h).unwrap();
        assert_eq!(
            (hw.peak_tflops, hw.matmul_efficiency, hw.internode_gb_s),
            (989.0, 0.5, 100.0)
        );
        for (name, text, want) in [
            ("a.json", r#"{"layers": 4,}"#, "expected a string"),
            (
                "b.json",
                r#"{"layers": 4.5, "hidden": 256, "heads": 4}"#,
                "positive whole number",
            ),
            (
                "c.json",
                r#"{"hidden": 256, "heads": 4}"#,
                "missing key 'layers'",
            ),
            ("d.json", r#"{"layers": 4} x"#, "trailing"),
        ] {
            let e = load_model(&write(name, text)).unwrap_err();
            assert!(e.contains(want), "{name}: {e}");
        }
        let e = load_hardware(&write("e.json", r#"{"warp_drive": 1}"#)).unwrap_err();
        assert!(
            e.contains("unknown hardware profile key 'warp_drive'"),
            "{e}"
        );
        assert!(load_model("/nonexistent/x.json").is_err());
    }

    #[test]
    fn arguments_are_checked() {
        let args = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
        let e = run(&args("--model gpt-1.3b --micro-batch 1"), false).unwrap_err();
        assert!(e.contains("--global-batch is required"), "{e}");
        let e = run(
            &args("--model gpt-1.3b --micro-batch x --global-batch 8"),
            false,
        )
        .unwrap_err();
        assert!(e.contains("whole number"), "{e}");
        let e = run(
            &args("--model gpt-1.3b --micro-batch 1 --global-batch 8 --policy fastest"),
            false,
        )
        .unwrap_err();
        assert!(e.contains("unknown policy"), "{e}");
        let e = run(
            &args("--model gpt-1.3b --micro-batch 1 --global-batch 8 --colour red"),
            false,
        )
        .unwrap_err();
        assert!(e.contains("unknown option --colour"), "{e}");
        run(&args("--model gpt-1.3b --tp 2 --pp 2 --micro-batch 1 --global-batch 8 --policy selective"), false).unwrap();
    }
}
