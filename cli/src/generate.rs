//! `llmcore generate --model M --prompt P [...]`: sample text, streaming it to stdout.

use crate::args::{opt, switch, Flag};
use crate::kv;
use crate::output::{load_model, parse, usage_err};
use crate::Failure;
use llmcore::io::json::Json;
use llmcore::model::generate::{generate, GenerateParams};
use llmcore::model::sampling::SamplerParams;
use llmcore::model::{Numerics, Session};
use std::io::Write;

const FLAGS: &[Flag] = &[
    opt("--model", "PATH", "GGUF model"),
    opt("--prompt", "TEXT", "the prompt (raw text unless --chat)"),
    opt("--max-tokens", "N", "tokens to generate (default 128)"),
    opt("--temperature", "T", "0 = greedy (default 0)"),
    opt(
        "--top-k",
        "K",
        "keep the K most likely tokens, 0 = all (default 40)",
    ),
    opt("--top-p", "P", "nucleus probability (default 0.95)"),
    opt(
        "--repeat-penalty",
        "R",
        "penalty on the last 64 tokens, 1 = off (default 1)",
    ),
    opt("--seed", "S", "random seed (default 0)"),
    opt("--stop", "TEXT", "stop before this string"),
    opt(
        "--ctx",
        "N",
        "context size in tokens (default: prompt + max tokens)",
    ),
    switch("--chat", "wrap the prompt in the model's chat template"),
    switch(
        "--no-special",
        "treat special-token text in the prompt as plain text",
    ),
    switch(
        "--exact",
        "use the exact f32 path instead of the quantized fast path",
    ),
    kv::FLAG,
];

pub fn run(argv: &[String]) -> Result<(), Failure> {
    let p = parse("generate", "--model M --prompt P [flags]", FLAGS, argv)?;
    p.at_most_positional(0).map_err(usage_err)?;
    let defaults = SamplerParams::default();
    let sampler = SamplerParams {
        temperature: p
            .num("--temperature", defaults.temperature)
            .map_err(usage_err)?,
        top_k: p.num("--top-k", defaults.top_k).map_err(usage_err)?,
        top_p: p.num("--top-p", defaults.top_p).map_err(usage_err)?,
        repeat_penalty: p
            .num("--repeat-penalty", defaults.repeat_penalty)
            .map_err(usage_err)?,
        repeat_last_n: defaults.repeat_last_n,
        seed: p.num("--seed", defaults.seed).map_err(usage_err)?,
    };
    if !(sampler.top_p > 0.0 && sampler.top_p <= 1.0) {
        return Err(usage_err(format!(
            "--top-p must be in (0, 1], got {}",
            sampler.top_p
        )));
    }
    if sampler.repeat_penalty.is_nan()
        || sampler.repeat_penalty <= 0.0
        || !sampler.temperature.is_finite()
    {
        return Err(usage_err(
            "--repeat-penalty must be > 0 and --temperature finite".into(),
        ));
    }
    let params = GenerateParams {
        max_tokens: p.num("--max-tokens", 128).map_err(usage_err)?,
        sampler,
        stop: p
            .str("--stop")
            .map(|s| vec![s.to_string()])
            .unwrap_or_default(),
    };
    let model = load_model(p.required("--model").map_err(usage_err)?)?;
    let prompt_text = p.required("--prompt").map_err(usage_err)?;
    let tok = model.tokenizer();
    let text = if p.flag("--chat") {
        tok.apply_chat_template(&[("user", prompt_text)], true)?
    } else {
        prompt_text.to_string()
    };
    let prompt = tok.encode(&text, !p.flag("--no-special"))?;
    if prompt.is_empty() {
        return Err(usage_err("the prompt is empty".into()));
    }
    let ctx = p
        .num("--ctx", prompt.len() + params.max_tokens)
        .map_err(usage_err)?;
    let numerics = if p.flag("--exact") {
        Numerics::Exact
    } else {
        Numerics::Fast
    };
    let kv_type = kv::kv_type(&p, numerics)?;
    let mut session = Session::with_kv_type(model.clone(), ctx, numerics, kv_type)?;
    let json = p.flag("--json");
    let mut stdout = std::io::stdout();
    let out = generate(&mut session, &prompt, &params, &mut |piece| {
        if !json {
            let _ = stdout.write_all(piece.as_bytes());
            let _ = stdout.flush();
        }
        true
    })?;
    let prefill_tps = out.prompt_tokens as f64 / out.prefill_seconds.max(1e-9);
    let decode_tps = out.decode_steps as f64 / out.decode_seconds.max(1e-9);
    if json {
        let j = Json::object(vec![
            ("text", Json::from(out.text.as_str())),
            (
                "tokens",
                Json::Array(out.tokens.iter().map(|&t| Json::from(t as u64)).collect()),
            ),
            ("prompt_tokens", Json::from(out.prompt_tokens as u64)),
            ("stop_reason", Json::from(out.stop.name())),
            ("kv_type", Json::from(kv_type.name())),
            ("prefill_tokens_per_s", Json::from(prefill_tps)),
            ("decode_tokens_per_s", Json::from(decode_tps)),
        ]);
        println!("{j}");
    } else {
        println!();
        eprintln!(
            "[{} prompt tokens, {:.1} tokens/s prefill; {} generated, {:.1} tokens/s decode; stop: {}]",
            out.prompt_tokens,
            prefill_tps,
            out.tokens.len(),
            decode_tps,
            out.stop.name()
        );
    }
    Ok(())
}
