//! `llmcore speculate --target T (--draft D | --self-draft-layers K | --ngram N) ...`:
//! speculative generation over draft trees, measured against plain decoding of the target in
//! the same run.
//!
//! Rates: speculative tokens/s is the generated tokens over the wall time after the target's
//! prompt prefill (so it includes the draft's own prefill and the first verification, which
//! evaluates the prompt's last token); plain tokens/s is plain decoding's rate (single-token
//! forwards per second, the first token coming from the prefill). With `--repeat N` each is the
//! median of N runs.

use crate::args::{opt, path, switch, Flag, Parsed};
use crate::generate::{flag_name, generate_params_from_flags, SAMPLER_FLAGS};
use crate::kv;
use crate::output::{load_model, note, parse, usage_err, write_stdout};
use crate::progress::Progress;
use crate::Failure;
use llmcore::io::json::{self, Json};
use llmcore::model::generate::generate;
use llmcore::model::{Model, Numerics, Session};
use llmcore::spec::{
    Budget, Curve, Draft, ModelDraft, NgramDraft, SpecParams, Speculation, Speculator, TreeKind,
};
use std::ffi::OsString;
use std::sync::Arc;
use std::time::Instant;

const FLAGS: &[Flag] = &[
    path("--target", "PATH", "the target GGUF model"),
    path(
        "--draft",
        "PATH",
        "a draft model with the target's vocabulary",
    ),
    opt(
        "--self-draft-layers",
        "K",
        "draft with the target's own first K layers",
    ),
    opt(
        "--ngram",
        "N",
        "draft continuations of the last <= N tokens from the text so far",
    ),
    opt(
        "--tree",
        "KIND",
        "opt | chain | eagle | sequoia (default opt)",
    ),
    opt(
        "--budget",
        "auto|N",
        "tree nodes per step; auto = the cost model's choice, up to --budget-max (default auto)",
    ),
    opt(
        "--budget-max",
        "N",
        "largest budget auto picks (default 32)",
    ),
    opt("--max-depth", "D", "tree layers at most (default 10)"),
    opt(
        "--delta",
        "X",
        "OPT-Tree's stop threshold on E(A) growth (default 0.5)",
    ),
    opt("--prompt", "TEXT", "the prompt (raw text unless --chat)"),
    path(
        "--prompts-file",
        "PATH",
        "JSON lines {\"id\", \"kind\", \"prompt\"}, one prompt each",
    ),
    opt(
        "--max-tokens",
        "N",
        "tokens to generate per prompt (default 128)",
    ),
    opt(
        "--repeat",
        "N",
        "runs per prompt; rates are medians (default 1)",
    ),
    opt(
        "--ctx",
        "N",
        "context size in tokens (default: prompt + max tokens + 1, at most the model's)",
    ),
    switch("--chat", "wrap each prompt in the target's chat template"),
    switch("--no-baseline", "do not measure plain decoding"),
    switch(
        "--exact",
        "use the exact f32 path instead of the quantized fast path",
    ),
    kv::FLAG,
];

/// One prompt of the run.
struct Prompt {
    id: String,
    kind: String,
    text: String,
}

/// One prompt's measurements.
struct Row<'a> {
    prompt: &'a Prompt,
    prompt_tokens: usize,
    /// The last run's result.
    out: Speculation,
    spec_tps: f64,
    /// 0 without a baseline.
    plain_tps: f64,
    speedup: Option<f64>,
    predicted_tps: Option<f64>,
    predicted_speedup: Option<f64>,
    /// Greedy with a baseline: every run's tokens equal plain decoding's.
    matches_plain: Option<bool>,
}

/// The prompts of `--prompts-file` (JSON lines; blank lines skipped), each error naming its line.
fn read_prompts(path: &std::path::Path) -> Result<Vec<Prompt>, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::Run(format!("reading {}: {e}", path.display())))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = |m: String| Failure::Run(format!("{}:{}: {m}", path.display(), i + 1));
        let j = json::parse(line).map_err(|e| at(e.to_string()))?;
        let field = |k: &str| j.get(k).and_then(Json::as_str).map(str::to_string);
        let text = field("prompt").ok_or_else(|| at("no \"prompt\" string".into()))?;
        out.push(Prompt {
            id: field("id").unwrap_or_else(|| format!("line-{}", i + 1)),
            kind: field("kind").unwrap_or_default(),
            text,
        });
    }
    if out.is_empty() {
        return Err(Failure::Run(format!("{} holds no prompt", path.display())));
    }
    Ok(out)
}

/// What is wrong, without the error kind's prefix (the flag named before it says the kind).
fn message(e: llmcore::Error) -> String {
    match e {
        llmcore::Error::InvalidArgument(m) => m,
        e => e.to_string(),
    }
}

/// The draft chosen by exactly one of `--draft`, `--self-draft-layers`, `--ngram`.
fn draft_from_flags(
    p: &Parsed,
    target: &Arc<Model>,
    numerics: Numerics,
) -> Result<Box<dyn Draft>, Failure> {
    let given: Vec<&str> = ["--draft", "--self-draft-layers", "--ngram"]
        .into_iter()
        .filter(|f| p.str(f).is_some() || p.path(f).is_some())
        .collect();
    if given.len() != 1 {
        return Err(usage_err(format!(
            "give exactly one of --draft, --self-draft-layers, --ngram (got {})",
            if given.is_empty() {
                "none".to_string()
            } else {
                given.join(", ")
            }
        )));
    }
    Ok(match given[0] {
        "--draft" => {
            let d = load_model(p.required_path("--draft").map_err(usage_err)?)?;
            Box::new(ModelDraft::new(d, target, numerics).map_err(|e| usage_err(message(e)))?)
        }
        "--self-draft-layers" => {
            let k = p.num("--self-draft-layers", 0).map_err(usage_err)?;
            Box::new(
                ModelDraft::self_draft(target.clone(), k, numerics)
                    .map_err(|e| usage_err(format!("--self-draft-layers: {}", message(e))))?,
            )
        }
        _ => {
            let n = p.num("--ngram", 0).map_err(usage_err)?;
            Box::new(
                NgramDraft::new(n, 1).map_err(|e| usage_err(format!("--ngram: {}", message(e))))?,
            )
        }
    })
}

/// The speculation settings from the flags, validated.
fn params_from_flags(p: &Parsed) -> Result<SpecParams, Failure> {
    let generate = generate_params_from_flags(p)?;
    let tree = TreeKind::from_name(p.str("--tree").unwrap_or("opt"))
        .map_err(|e| usage_err(format!("--tree: {}", message(e))))?;
    let max: usize = p.num("--budget-max", 32).map_err(usage_err)?;
    let budget = match p.str("--budget").unwrap_or("auto") {
        "auto" => Budget::Auto { max },
        n => Budget::Fixed(n.parse().map_err(|_| {
            usage_err(format!(
                "--budget must be auto or a number of nodes, got {n:?}"
            ))
        })?),
    };
    let params = SpecParams {
        generate,
        tree,
        budget,
        max_depth: p.num("--max-depth", 10).map_err(usage_err)?,
        delta: p.num("--delta", 0.5).map_err(usage_err)?,
    };
    // Name the flag: a budget or depth of zero is the one thing wrong.
    params.validate().map_err(|e| {
        let flag = if params.max_depth == 0 {
            "--max-depth"
        } else if matches!(params.budget, Budget::Fixed(0)) {
            "--budget"
        } else if matches!(params.budget, Budget::Auto { max: 0 }) {
            "--budget-max"
        } else {
            "--delta"
        };
        usage_err(format!("{flag}: {}", message(e)))
    })?;
    Ok(params)
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn curve_json(c: &Curve) -> Json {
    Json::Array(
        c.points()
            .iter()
            .map(|&(n, s)| Json::Array(vec![Json::from(n as u64), Json::from(s)]))
            .collect(),
    )
}

pub fn run(argv: &[OsString]) -> Result<(), Failure> {
    let synopsis = "--target T (--draft D | --self-draft-layers K | --ngram N) \
                    (--prompt P | --prompts-file F) [flags]";
    let flags = [FLAGS, SAMPLER_FLAGS].concat();
    let p = parse("speculate", synopsis, &flags, argv)?;
    p.at_most_positional(0).map_err(usage_err)?;
    let params = params_from_flags(&p)?;
    let repeat: usize = p.num("--repeat", 1).map_err(usage_err)?;
    if repeat == 0 {
        return Err(usage_err("--repeat must be >= 1, got 0".into()));
    }
    let prompts = match (p.str("--prompt"), p.path("--prompts-file")) {
        (Some(t), None) => vec![Prompt {
            id: "prompt".into(),
            kind: String::new(),
            text: t.to_string(),
        }],
        (None, Some(f)) => read_prompts(f)?,
        _ => {
            return Err(usage_err(
                "give exactly one of --prompt, --prompts-file".into(),
            ))
        }
    };
    let numerics = if p.flag("--exact") {
        Numerics::Exact
    } else {
        Numerics::Fast
    };
    let kv_type = kv::kv_type(&p, numerics)?;
    let target_path = p.required_path("--target").map_err(usage_err)?;
    let target = load_model(target_path)?;
    params
        .generate
        .validate_for(target.config.vocab_size, &flag_name)
        .map_err(|e| usage_err(e.to_string()))?;
    let mut draft = draft_from_flags(&p, &target, numerics)?;
    let tok = target.tokenizer();
    let json = p.flag("--json");
    let baseline = !p.flag("--no-baseline");
    let greedy = params.generate.sampler.temperature <= 0.0;
    let max_tokens = params.generate.max_tokens;
    let mut spec = Speculator::new(params.clone())?;
    let ctx_flag: Option<usize> = match p.str("--ctx") {
        Some(_) => Some(p.num("--ctx", 0).map_err(usage_err)?),
        None => None,
    };
    let session_for = |n_prompt: usize| {
        let ctx = ctx_flag.unwrap_or_else(|| {
            n_prompt
                .saturating_add(max_tokens)
                .saturating_add(1)
                .min(target.config.context_length.max(n_prompt))
        });
        Session::with_kv_type(target.clone(), ctx, numerics, kv_type)
    };
    let mut rows = Vec::new();
    let mut progress = (prompts.len() > 1 || repeat > 1).then(|| Progress::new("speculate"));
    let total = prompts.len() * repeat;
    for (pi, pr) in prompts.iter().enumerate() {
        let text = if p.flag("--chat") {
            tok.apply_chat_template(&[("user", pr.text.as_str())], true)?
        } else {
            pr.text.clone()
        };
        let ids = tok.encode(&text, true)?;
        if ids.is_empty() {
            return Err(Failure::Run(format!("prompt {} is empty", pr.id)));
        }
        if pi == 0 {
            spec.profile(&session_for(ids.len())?, draft.as_ref())?;
        }
        let (mut spec_rates, mut plain_rates) = (Vec::new(), Vec::new());
        let mut matches = true;
        let mut last = None;
        for r in 0..repeat {
            if let Some(pg) = progress.as_mut() {
                pg.update_with(pi * repeat + r, total, &pr.id);
            }
            let mut s = session_for(ids.len())?;
            let single = prompts.len() == 1 && repeat == 1 && !json;
            let mut written = Ok(());
            let t = Instant::now();
            let out = spec.generate(&mut s, draft.as_mut(), &ids, &mut |piece| {
                if single {
                    written = write_stdout(piece);
                }
                written.is_ok()
            })?;
            written?;
            let wall = t.elapsed().as_secs_f64() - out.generation.prefill_seconds;
            spec_rates.push(out.generation.tokens.len() as f64 / wall.max(1e-9));
            if baseline {
                let mut s = session_for(ids.len())?;
                let g = generate(&mut s, &ids, &params.generate, &mut |_| true)?;
                if let Some(rate) = g.decode_tokens_per_s() {
                    plain_rates.push(rate);
                }
                matches &= g.tokens == out.generation.tokens;
            }
            last = Some(out);
        }
        let out = last.expect("repeat >= 1");
        let (spec_tps, plain_tps) = (median(spec_rates), median(plain_rates));
        let st = &out.stats;
        let speedup = (plain_tps > 0.0).then(|| spec_tps / plain_tps);
        let predicted = st.predicted_tokens_per_s();
        let plain_predicted = spec.costs().map(|c| 1.0 / c.verify.at(1));
        rows.push(Row {
            prompt: pr,
            prompt_tokens: ids.len(),
            out,
            spec_tps,
            plain_tps,
            speedup,
            predicted_tps: predicted,
            predicted_speedup: predicted.zip(plain_predicted).map(|(a, b)| a / b),
            matches_plain: (baseline && greedy).then_some(matches),
        });
    }
    if let Some(pg) = progress.as_mut() {
        pg.update(total, total);
    }
    let costs = spec.costs().cloned().unwrap_or_default();
    let acceptance = spec.rank_stats().acceptance(8);
    let budget = match params.budget {
        Budget::Auto { max } => format!("auto (<= {max})"),
        Budget::Fixed(n) => n.to_string(),
    };
    let med = |f: &dyn Fn(&Row) -> Option<f64>| {
        let v: Vec<f64> = rows.iter().filter_map(f).collect();
        (!v.is_empty()).then(|| median(v))
    };
    let steps: usize = rows.iter().map(|r| r.out.stats.steps).sum();
    let emitted: usize = rows
        .iter()
        .map(|r| r.out.stats.steps + r.out.stats.accepted)
        .sum();
    let mean_len = if steps > 0 {
        emitted as f64 / steps as f64
    } else {
        0.0
    };
    let all_match = rows
        .iter()
        .map(|r| r.matches_plain)
        .collect::<Option<Vec<bool>>>()
        .map(|v| v.iter().all(|&m| m));
    if json {
        let prompts_json = rows
            .iter()
            .map(|r| {
                let (g, st) = (&r.out.generation, &r.out.stats);
                Json::object(vec![
                    ("id", Json::from(r.prompt.id.as_str())),
                    ("kind", Json::from(r.prompt.kind.as_str())),
                    ("prompt_tokens", Json::from(r.prompt_tokens as u64)),
                    ("tokens", Json::from(g.tokens.len() as u64)),
                    ("text", Json::from(g.text.as_str())),
                    ("stop_reason", Json::from(g.stop.name())),
                    ("spec_tokens_per_s", Json::from(r.spec_tps)),
                    (
                        "plain_tokens_per_s",
                        Json::from((r.plain_tps > 0.0).then_some(r.plain_tps)),
                    ),
                    ("speedup", Json::from(r.speedup)),
                    (
                        "mean_accepted_length",
                        Json::from(st.mean_accepted_length()),
                    ),
                    ("steps", Json::from(st.steps as u64)),
                    ("drafted", Json::from(st.drafted as u64)),
                    ("accepted", Json::from(st.accepted as u64)),
                    (
                        "accepted_hist",
                        Json::Array(
                            st.accepted_hist
                                .iter()
                                .map(|&c| Json::from(c as u64))
                                .collect(),
                        ),
                    ),
                    ("draft_seconds", Json::from(st.draft_seconds)),
                    ("verify_seconds", Json::from(st.verify_seconds)),
                    ("predicted_tokens_per_s", Json::from(r.predicted_tps)),
                    ("predicted_speedup", Json::from(r.predicted_speedup)),
                    ("matches_plain", Json::from(r.matches_plain)),
                ])
            })
            .collect();
        let j = Json::object(vec![
            ("target", Json::from(target_path.display().to_string())),
            ("draft", Json::from(draft.describe())),
            ("tree", Json::from(params.tree.name())),
            ("budget", Json::from(budget)),
            ("max_depth", Json::from(params.max_depth as u64)),
            (
                "temperature",
                Json::from(params.generate.sampler.temperature as f64),
            ),
            ("max_tokens", Json::from(max_tokens as u64)),
            ("repeat", Json::from(repeat as u64)),
            ("kv_type", Json::from(kv_type.name())),
            ("profile_seconds", Json::from(spec.profile_seconds())),
            (
                "costs",
                Json::object(vec![
                    ("verify", curve_json(&costs.verify)),
                    ("draft", curve_json(&costs.draft)),
                ]),
            ),
            (
                "acceptance_by_rank",
                Json::Array(acceptance.iter().map(|&a| Json::from(a)).collect()),
            ),
            ("prompts", Json::Array(prompts_json)),
            (
                "summary",
                Json::object(vec![
                    (
                        "spec_tokens_per_s_median",
                        Json::from(med(&|r| Some(r.spec_tps))),
                    ),
                    (
                        "plain_tokens_per_s_median",
                        Json::from(med(&|r| (r.plain_tps > 0.0).then_some(r.plain_tps))),
                    ),
                    ("speedup_median", Json::from(med(&|r| r.speedup))),
                    ("mean_accepted_length", Json::from(mean_len)),
                    (
                        "predicted_speedup_median",
                        Json::from(med(&|r| r.predicted_speedup)),
                    ),
                    ("all_match_plain", Json::from(all_match)),
                ]),
            ),
        ]);
        return write_stdout(&format!("{j}\n"));
    }
    if prompts.len() == 1 && repeat == 1 {
        write_stdout("\n")?;
    }
    for r in &rows {
        let (out, st) = (&r.out, &r.out.stats);
        let vs = match r.speedup {
            Some(x) => format!(", plain {:.1} tokens/s, speedup {x:.2}x", r.plain_tps),
            None => String::new(),
        };
        let pred = r
            .predicted_speedup
            .map(|x| format!(" (predicted {x:.2}x)"))
            .unwrap_or_default();
        let check = match r.matches_plain {
            Some(true) => ", output = plain greedy",
            Some(false) => ", OUTPUT DIFFERS FROM PLAIN GREEDY",
            None => "",
        };
        note(&format!(
            "[{}: {} prompt tokens, {} generated; {:.1} tokens/s{vs}{pred}; {:.2} tokens per step \
             over {} steps{check}; stop: {}]",
            r.prompt.id,
            r.prompt_tokens,
            out.generation.tokens.len(),
            r.spec_tps,
            st.mean_accepted_length(),
            st.steps,
            out.generation.stop.name()
        ));
    }
    note(&format!(
        "[{} with {}, tree {}, budget {budget}: {mean_len:.2} tokens per step; profile {:.1} s]",
        target_path.display(),
        draft.describe(),
        params.tree.name(),
        spec.profile_seconds()
    ));
    if all_match == Some(false) {
        return Err(Failure::Run(
            "speculative greedy output differs from plain greedy output".into(),
        ));
    }
    Ok(())
}
