//! What every subcommand shares: parsing with usage errors, the thread pool, model loading and
//! result printing (human text, or one JSON object with `--json`).

use crate::args::{usage, Flag, Parsed};
use crate::Failure;
use llmcore::io::json::Json;
use llmcore::model::Model;
use std::sync::Arc;

/// Parses a subcommand's flags (answering `--help`) and sets up the thread pool.
pub fn parse(
    cmd: &str,
    synopsis: &str,
    flags: &[Flag],
    argv: &[String],
) -> Result<Parsed, Failure> {
    let text = usage(cmd, synopsis, flags);
    if argv.iter().any(|a| a == "--help" || a == "-h") {
        print!("{text}");
        std::process::exit(0);
    }
    let p = Parsed::parse(argv, flags).map_err(|m| Failure::Usage(format!("{m}\n{text}")))?;
    let threads: usize = p
        .num("--threads", 0)
        .map_err(|m| Failure::Usage(format!("{m}\n{text}")))?;
    if threads > 0 {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build_global()
            .map_err(|e| Failure::Run(format!("thread pool: {e}")))?;
    }
    Ok(p)
}

/// Turns a flag-level problem into a usage failure.
pub fn usage_err(m: String) -> Failure {
    Failure::Usage(m)
}

/// Loads a GGUF model (memory-mapped).
pub fn load_model(path: &str) -> Result<Arc<Model>, Failure> {
    Ok(Arc::new(Model::open(path)?))
}

/// Prints `json` on stdout when `--json` was given, else `human`.
pub fn emit(p: &Parsed, json: Json, human: impl FnOnce() -> String) {
    if p.flag("--json") {
        println!("{json}");
    } else {
        print!("{}", human());
    }
}
