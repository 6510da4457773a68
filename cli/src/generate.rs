//! `llmcore generate --model M --prompt P [...]`: sample text, streaming it to stdout.

use crate::args::{opt, path, switch, Flag, Parsed};
use crate::kv;
use crate::output::{note, parse, usage_err, write_stdout};
use crate::sparse;
use crate::Failure;
use llmcore::io::json::Json;
use llmcore::model::generate::{generate, GenerateParams};
use llmcore::model::sampling::{LogitBias, SamplerParams, Setting};
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
        "--min-p",
        "P",
        "keep tokens at least P times as likely as the best, in [0, 1], 0 = off (default 0)",
    ),
    opt(
        "--repeat-penalty",
        "R",
        "penalty on recent tokens, > 0, 1 = off (default 1)",
    ),
    opt(
        "--repeat-last-n",
        "N",
        "how many recent tokens the penalties look at (default 64)",
    ),
    opt(
        "--frequency-penalty",
        "F",
        "subtracted per occurrence of a recent token, finite, 0 = off (default 0)",
    ),
    opt(
        "--presence-penalty",
        "F",
        "subtracted once from each recent token, finite, 0 = off (default 0)",
    ),
    opt(
        "--logit-bias",
        "ID=B,...",
        "add B to token ID's logit first (B finite or -inf = ban)",
    ),
    opt("--seed", "S", "random seed (default 0)"),
    opt("--stop", "TEXT", "stop before this (non-empty) string"),
];

/// The sampler set by `--temperature`, `--top-k`, `--top-p`, `--min-p`, the penalty flags and
/// `--seed`, each defaulting to `defaults`' value (not yet validated).
pub fn sampler_from_flags(p: &Parsed, defaults: SamplerParams) -> Result<SamplerParams, Failure> {
    let num = |name, default: f32| p.num(name, default).map_err(usage_err);
    Ok(SamplerParams {
        temperature: num("--temperature", defaults.temperature)?,
        top_k: p.num("--top-k", defaults.top_k).map_err(usage_err)?,
        top_p: num("--top-p", defaults.top_p)?,
        min_p: num("--min-p", defaults.min_p)?,
        repeat_penalty: num("--repeat-penalty", defaults.repeat_penalty)?,
        repeat_last_n: p
            .num("--repeat-last-n", defaults.repeat_last_n)
            .map_err(usage_err)?,
        frequency_penalty: num("--frequency-penalty", defaults.frequency_penalty)?,
        presence_penalty: num("--presence-penalty", defaults.presence_penalty)?,
        seed: p.num("--seed", defaults.seed).map_err(usage_err)?,
    })
}

/// `--logit-bias ID=B[,ID=B...]` (empty when absent; ranges are checked against the model).
fn logit_bias_from_flag(p: &Parsed) -> Result<Vec<LogitBias>, Failure> {
    let Some(list) = p.str("--logit-bias") else {
        return Ok(Vec::new());
    };
    list.split(',')
        .map(|entry| {
            let parsed = entry.split_once('=').and_then(|(id, bias)| {
                Some(LogitBias {
                    token: id.trim().parse().ok()?,
                    bias: bias.trim().parse().ok()?,
                })
            });
            parsed.ok_or_else(|| {
                usage_err(format!(
                    "--logit-bias: '{entry}' is not TOKEN_ID=BIAS (e.g. 13=-inf,42=1.5)"
                ))
            })
        })
        .collect()
}

/// `--max-tokens` (default 128), the sampler flags and `--stop`, validated (the error names
/// the flag).
pub fn generate_params_from_flags(p: &Parsed) -> Result<GenerateParams, Failure> {
    let params = GenerateParams {
        max_tokens: p.num("--max-tokens", 128).map_err(usage_err)?,
        sampler: sampler_from_flags(p, SamplerParams::default())?,
        logit_bias: logit_bias_from_flag(p)?,
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
        Setting::LogitBias(i) => format!("--logit-bias entry {i}"),
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
    params
        .validate_for(model.config.vocab_size, &flag_name)
        .map_err(|e| usage_err(e.to_string()))?;
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
