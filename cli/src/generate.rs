//! `llmcore generate --model M --prompt P [...]`: sample text, streaming it to stdout.

use crate::args::{opt, path, switch, Flag, Parsed};
use crate::kv;
use crate::output::{note, parse, usage_err, write_stdout};
use crate::sparse;
use crate::Failure;
use llmcore::io::json::Json;
use llmcore::model::generate::{generate, GenerateParams};
use llmcore::model::sampling::{SamplerParams, Setting};
use llmcore::model::{Numerics, Session};
use std::ffi::OsString;

const FLAGS: &[Flag] = &[
    path("--model", "PATH", "GGUF model"),
    opt("--prompt", "TEXT", "the prompt (raw text unless --chat)"),
    opt("--max-tokens", "N", "tokens to generate (default 128)"),
    opt(
        "--ctx",
        "N",
        "context size in tokens, 0 = the model's (default: prompt + max tokens, at most the model's)",
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
    sparse::FLAG,
];

/// The flags [`sampler_from_flags`] reads and `--stop`, shared by the commands that generate.
pub const SAMPLER_FLAGS: &[Flag] = &[
    opt("--temperature", "T", "finite, >= 0; 0 = greedy (default 0)"),
    opt(
        "--top-k",
        "K",
        "keep the K most likely tokens, 0 = all (default 40)",
    ),
    opt(
        "--top-p",
        "P",
        "nucleus probability in (0, 1] (default 0.95)",
    ),
    opt(
        "--repeat-penalty",
        "R",
        "penalty on the last 64 tokens, > 0, 1 = off (default 1)",
    ),
    opt("--seed", "S", "random seed (default 0)"),
    opt("--stop", "TEXT", "stop before this (non-empty) string"),
];

/// The sampler set by `--temperature`, `--top-k`, `--top-p`, `--repeat-penalty` and `--seed`,
/// each defaulting to `defaults`' value (not yet validated).
pub fn sampler_from_flags(p: &Parsed, defaults: SamplerParams) -> Result<SamplerParams, Failure> {
    Ok(SamplerParams {
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
    })
}

/// `--max-tokens` (default 128), the sampler flags and `--stop`, validated (the error names
/// the flag).
pub fn generate_params_from_flags(p: &Parsed) -> Result<GenerateParams, Failure> {
    let params = GenerateParams {
        max_tokens: p.num("--max-tokens", 128).map_err(usage_err)?,
        sampler: sampler_from_flags(p, SamplerParams::default())?,
        stop: p
            .str("--stop")
            .map(|s| vec![s.to_string()])
            .unwrap_or_default(),
    };
    params
        .validate_named(&flag_name)
        .map_err(|e| usage_err(e.to_string()))?;
    Ok(params)
}

/// The flag that sets `setting` (validation errors name it).
pub fn flag_name(setting: Setting) -> String {
    match setting {
        Setting::Stop(_) => "--stop".into(),
        other => format!("--{}", other.field_name().replace('_', "-")),
    }
}

pub fn run(argv: &[OsString]) -> Result<(), Failure> {
    let flags = [FLAGS, SAMPLER_FLAGS].concat();
    let p = parse("generate", "--model M --prompt P [flags]", &flags, argv)?;
    p.at_most_positional(0).map_err(usage_err)?;
    let params = generate_params_from_flags(&p)?;
    let sparse_kind = sparse::kind(&p)?;
    let model = sparse::load(p.required_path("--model").map_err(usage_err)?, sparse_kind)?;
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
    // A --max-tokens beyond the context means "until the context is full".
    let default_ctx = prompt
        .len()
        .saturating_add(params.max_tokens)
        .min(model.config.context_length.max(prompt.len()));
    let ctx = p.num("--ctx", default_ctx).map_err(usage_err)?;
    let numerics = if p.flag("--exact") {
        Numerics::Exact
    } else {
        Numerics::Fast
    };
    let kv_type = kv::kv_type(&p, numerics)?;
    let mut session = Session::with_kv_type(model.clone(), ctx, numerics, kv_type)?;
    let json = p.flag("--json");
    // A failed write (the reader went away) stops generation and becomes the result.
    let mut written = Ok(());
    let out = generate(&mut session, &prompt, &params, &mut |piece| {
        if !json {
            written = write_stdout(piece);
        }
        written.is_ok()
    })?;
    written?;
    let prefill_tps = out.prefill_tokens_per_s();
    let decode_tps = out.decode_tokens_per_s();
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
        write_stdout(&format!("{j}\n"))
    } else {
        write_stdout("\n")?;
        let rate = |tps: Option<f64>, what: &str| match tps {
            Some(r) => format!("{r:.1} tokens/s {what}"),
            None => format!("no {what}"),
        };
        note(&format!(
            "[{} prompt tokens, {}; {} generated, {}; stop: {}]",
            out.prompt_tokens,
            rate(prefill_tps, "prefill"),
            out.tokens.len(),
            rate(decode_tps, "decode"),
            out.stop.name()
        ));
        Ok(())
    }
}
