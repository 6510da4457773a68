//! Load a GGUF model, generate greedily with streaming output, print tokens/s, then score a
//! continuation — the Rust API in one page.
//!
//! `cargo run --release --example quickstart -- [MODEL.gguf] [PROMPT]`
//! (default: SmolLM2 from `scripts/fetch-assets.sh`, "The capital of France is").

use std::io::Write;
use std::sync::Arc;

use llmcore::model::generate::{generate, GenerateParams};
use llmcore::model::perplexity::loglikelihood;
use llmcore::model::{Model, Numerics, Session};

fn main() -> Result<(), llmcore::Error> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .unwrap_or_else(|| "assets/models/SmolLM2-135M-Instruct.Q4_1.gguf".into());
    let prompt = args
        .next()
        .unwrap_or_else(|| "The capital of France is".into());

    let model = Arc::new(Model::open(&path)?);
    let tokens = model.tokenizer().encode(&prompt, true)?;
    let mut session = Session::new(model.clone(), 512, Numerics::Fast)?;
    let params = GenerateParams {
        max_tokens: 32,
        ..Default::default()
    };

    print!("{prompt}");
    let out = generate(&mut session, &tokens, &params, &mut |piece| {
        print!("{piece}");
        std::io::stdout().flush().is_ok()
    })?;
    println!(
        "\n[{} prompt tokens at {:.1} tok/s, {} generated at {:.1} tok/s, stop: {}]",
        out.prompt_tokens,
        out.prompt_tokens as f64 / out.prefill_seconds,
        out.tokens.len(),
        out.decode_steps as f64 / out.decode_seconds,
        out.stop.name()
    );

    // How likely is the text we just generated, given the prompt?
    let ll = loglikelihood(&model, &tokens, &out.tokens, Numerics::Fast)?;
    println!(
        "log p(generated | prompt) = {:.3} nats, greedy: {}",
        ll.logprob, ll.is_greedy
    );
    Ok(())
}
