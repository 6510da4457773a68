//! The `--kv f16|f32` flag of `generate` and `perplexity`: what the KV cache stores.

use crate::args::{opt, Flag, Parsed};
use crate::output::usage_err;
use crate::Failure;
use llmcore::model::{KvType, Numerics};

/// The flag, as both commands list it.
pub const FLAG: Flag = opt(
    "--kv",
    "f16|f32",
    "KV cache type (default f16, f32 with --exact; llama.cpp's default is f16)",
);

/// The KV cache type `--kv` names, or the numeric path's default ([`KvType::default_for`]).
pub fn kv_type(p: &Parsed, numerics: Numerics) -> Result<KvType, Failure> {
    match p.str(FLAG.name) {
        None => Ok(KvType::default_for(numerics)),
        Some(name) => KvType::from_name(name)
            .map_err(|_| usage_err(format!("--kv must be 'f16' or 'f32', got '{name}'"))),
    }
}
