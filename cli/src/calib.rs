//! `llmcore calib selfgen|inspect`: self-generated calibration sets for pruning.
//!
//! `selfgen` writes a set of generated texts (with their perplexities and the settings that
//! made them); `llmcore prune --calib selfgen:F --nsamples N --seqlen L` draws windows from it.
//! Rerunning `selfgen` with the same settings onto an existing set reuses it.

use crate::args::{opt, path, switch, Flag, Parsed};
use crate::generate::{flag_name, sampler_from_flags};
use crate::output::{emit, load_model, parse, usage_err};
use crate::progress::Progress;
use crate::Failure;
use llmcore::io::json::Json;
use llmcore::prune::calib::{selfgen, selfgen_settings, SelfGenParams, SynthSet};
use std::ffi::OsString;
use std::time::Instant;

const SELFGEN_FLAGS: &[Flag] = &[
    path(
        "--model",
        "PATH",
        "GGUF model that generates (and later is pruned)",
    ),
    path(
        "--seeds-from",
        "FILE",
        "text whose blank-line separated paragraphs seed the texts",
    ),
    opt("--n", "N", "texts to generate (default 500)"),
    opt("--len", "L", "new tokens per text at most (default 512)"),
    path("--out", "FILE", "the set file to write"),
    opt(
        "--seed-tokens",
        "K",
        "tokens of each seed paragraph (default 2)",
    ),
    opt(
        "--drop",
        "F",
        "fraction dropped, highest perplexity first, in [0, 1) (default 0.2)",
    ),
    opt("--temperature", "T", "sampling temperature (default 0.6)"),
    opt("--top-k", "K", "keep the K most likely tokens (default 50)"),
    opt("--top-p", "P", "nucleus probability (default 0.95)"),
    opt(
        "--repeat-penalty",
        "R",
        "repetition penalty over the whole text (default 1.2)",
    ),
    opt(
        "--seed",
        "S",
        "random seed: seed paragraphs and text i's sampling (seed + i) (default 0)",
    ),
    switch(
        "--force",
        "replace an existing set made with other settings",
    ),
];

const INSPECT_FLAGS: &[Flag] = &[];

const USAGE: &str =
    "usage: llmcore calib selfgen --model M --seeds-from FILE --out F [--n N] [--len L] [flags]
       llmcore calib inspect F";

pub fn run(argv: &[OsString]) -> Result<(), Failure> {
    match argv.first().and_then(|a| a.to_str()) {
        Some("selfgen") => run_selfgen(&argv[1..]),
        Some("inspect") => run_inspect(&argv[1..]),
        _ => Err(Failure::Usage(USAGE.into())),
    }
}

fn set_json(set: &SynthSet, path: &std::path::Path, cached: bool, seconds: f64) -> Json {
    let kept: Vec<_> = set.texts.iter().filter(|t| t.kept).collect();
    let ppl = |it: &mut dyn Iterator<Item = f64>, max: bool| {
        it.fold(if max { f64::MIN } else { f64::MAX }, |a, b| {
            if max {
                a.max(b)
            } else {
                a.min(b)
            }
        })
    };
    let all_ppl = || set.texts.iter().map(|t| t.ppl);
    Json::object(vec![
        ("path", Json::from(path.display().to_string())),
        ("cached", Json::from(cached)),
        ("texts", Json::from(set.texts.len() as u64)),
        ("kept", Json::from(kept.len() as u64)),
        (
            "kept_tokens",
            Json::from(kept.iter().map(|t| t.tokens.len() as u64).sum::<u64>()),
        ),
        ("ppl_min", Json::from(ppl(&mut all_ppl(), false))),
        ("ppl_max", Json::from(ppl(&mut all_ppl(), true))),
        (
            "ppl_max_kept",
            Json::from(ppl(&mut kept.iter().map(|t| t.ppl), true)),
        ),
        ("seconds", Json::from(seconds)),
        ("settings", set.settings.clone()),
    ])
}

fn human(j: &Json) -> String {
    let n = |k: &str| j.get(k).and_then(Json::as_f64).unwrap_or(f64::NAN);
    format!(
        "{}{}: {} texts, {} kept ({} tokens); perplexity {:.2}..{:.2}, kept up to {:.2}\n",
        j.get("path").and_then(Json::as_str).unwrap_or(""),
        if j.get("cached").and_then(Json::as_bool) == Some(true) {
            " (cached)"
        } else {
            ""
        },
        n("texts"),
        n("kept"),
        n("kept_tokens"),
        n("ppl_min"),
        n("ppl_max"),
        n("ppl_max_kept"),
    )
}

fn params(p: &Parsed) -> Result<SelfGenParams, Failure> {
    let d = SelfGenParams::default();
    let params = SelfGenParams {
        texts: p.num("--n", d.texts).map_err(usage_err)?,
        seed_tokens: p.num("--seed-tokens", d.seed_tokens).map_err(usage_err)?,
        max_new: p.num("--len", d.max_new).map_err(usage_err)?,
        sampler: sampler_from_flags(p, d.sampler)?,
        drop: p.num("--drop", d.drop).map_err(usage_err)?,
    };
    params
        .sampler
        .validate_named(&flag_name)
        .and_then(|_| params.validate())
        .map_err(|e| usage_err(e.to_string()))?;
    Ok(params)
}

fn run_selfgen(argv: &[OsString]) -> Result<(), Failure> {
    let p = parse(
        "calib selfgen",
        "--model M --seeds-from FILE --out F [flags]",
        SELFGEN_FLAGS,
        argv,
    )?;
    p.at_most_positional(0).map_err(usage_err)?;
    let params = params(&p)?;
    let out = p.required_path("--out").map_err(usage_err)?;
    let seeds_path = p.required_path("--seeds-from").map_err(usage_err)?;
    let seeds = std::fs::read_to_string(seeds_path)
        .map_err(|e| Failure::Run(format!("{}: {e}", seeds_path.display())))?;
    let model = load_model(p.required_path("--model").map_err(usage_err)?)?;
    let settings = selfgen_settings(&model, &seeds, &params);
    if out.exists() {
        match SynthSet::load(out) {
            Ok(set) if set.settings == settings => {
                return emit(&p, set_json(&set, out, true, 0.0), || human(&set_json(&set, out, true, 0.0)));
            }
            _ if p.flag("--force") => {}
            Ok(_) => {
                return Err(Failure::Run(format!(
                    "{} holds a set made with other settings (model, seeds or sampling); --force replaces it",
                    out.display()
                )))
            }
            Err(e) => {
                return Err(Failure::Run(format!(
                    "{} exists and is not a set ({e}); --force replaces it",
                    out.display()
                )))
            }
        }
    }
    let mut bar = Progress::new("selfgen");
    let start = Instant::now();
    let set = selfgen(&model, &seeds, &params, &mut |done, total| {
        bar.update(done, total);
        true
    })?;
    set.save(out)?;
    let j = set_json(&set, out, false, start.elapsed().as_secs_f64());
    emit(&p, j.clone(), || human(&j))
}

fn run_inspect(argv: &[OsString]) -> Result<(), Failure> {
    let p = parse("calib inspect", "F", INSPECT_FLAGS, argv)?;
    p.at_most_positional(1).map_err(usage_err)?;
    let path = p
        .positional
        .first()
        .map(std::path::PathBuf::from)
        .ok_or_else(|| usage_err("calib inspect needs a set file".into()))?;
    let set = SynthSet::load(&path)?;
    let j = set_json(&set, &path, true, 0.0);
    emit(&p, j.clone(), || {
        format!(
            "{}settings: {}\n",
            human(&j).replace(" (cached)", ""),
            set.settings
        )
    })
}
