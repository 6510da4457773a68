//! `llmcore perplexity --model M --text FILE --ctx N`: perplexity over non-overlapping windows.

use crate::args::{opt, path, switch, Flag};
use crate::kv;
use crate::output::{emit, parse, usage_err};
use crate::progress::Progress;
use crate::sparse;
use crate::Failure;
use llmcore::io::json::Json;
use llmcore::model::perplexity::{perplexity, PerplexityParams, ScoreMode};
use llmcore::model::Numerics;
use std::time::Instant;

const FLAGS: &[Flag] = &[
    path("--model", "PATH", "GGUF model"),
    path("--text", "FILE", "UTF-8 text file to score"),
    opt("--ctx", "N", "window length in tokens (default 512)"),
    opt("--max-windows", "K", "score at most K windows (default: all)"),
    opt("--score", "half|all", "score the second half of each window (llama.cpp) or all but the first token (default half)"),
    switch("--exact", "use the exact f32 path instead of the quantized fast path"),
    kv::FLAG,
    sparse::FLAG,
];

pub fn run(argv: &[std::ffi::OsString]) -> Result<(), Failure> {
    let p = parse(
        "perplexity",
        "--model M --text FILE [--ctx N] [--max-windows K]",
        FLAGS,
        argv,
    )?;
    p.at_most_positional(0).map_err(usage_err)?;
    let score = match p.str("--score").unwrap_or("half") {
        "half" => ScoreMode::SecondHalf,
        "all" => ScoreMode::All,
        other => {
            return Err(usage_err(format!(
                "--score must be 'half' or 'all', got '{other}'"
            )))
        }
    };
    let numerics = if p.flag("--exact") {
        Numerics::Exact
    } else {
        Numerics::Fast
    };
    let params = PerplexityParams {
        ctx: p.num("--ctx", 512).map_err(usage_err)?,
        max_windows: p.num("--max-windows", 0).map_err(usage_err)?,
        score,
        numerics,
        kv_type: kv::kv_type(&p, numerics)?,
    };
    let sparse_kind = sparse::kind(&p)?;
    let model = sparse::load(p.required_path("--model").map_err(usage_err)?, sparse_kind)?;
    let path = p.required_path("--text").map_err(usage_err)?;
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::Run(format!("{}: {e}", path.display())))?;
    let tokens = model.tokenizer().encode(&text, false)?;
    let mut bar = Progress::new("perplexity");
    let start = Instant::now();
    let r = perplexity(&model, &tokens, &params, &mut |done, total| {
        bar.update(done, total);
        true
    })?;
    let secs = start.elapsed().as_secs_f64();
    let tps = r.tokens_evaluated as f64 / secs.max(1e-9);
    let json = Json::object(vec![
        ("ppl", Json::from(r.ppl)),
        ("nll", Json::from(r.nll)),
        ("tokens_scored", Json::from(r.tokens_scored as u64)),
        ("windows", Json::from(r.windows as u64)),
        ("ctx", Json::from(params.ctx as u64)),
        ("kv_type", Json::from(params.kv_type.name())),
        ("tokens_per_s", Json::from(tps)),
    ]);
    emit(&p, json, || {
        format!(
            "perplexity {:.4} (mean NLL {:.5}) over {} scored tokens in {} windows of {}; {:.1} tokens/s\n",
            r.ppl, r.nll, r.tokens_scored, r.windows, params.ctx, tps
        )
    })
}
