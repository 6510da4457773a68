//! The `llmcore` command: a thin shell over the `llmcore` library.

mod args;
mod audio;
mod calib;
mod eval;
mod eval_compare;
mod generate;
mod info;
mod kv;
mod output;
mod perplexity;
mod plot;
mod progress;
mod prune;
mod schedule;
mod sparse;
mod speculate;
mod tokenize;
mod train;

use std::ffi::OsString;
use std::process::ExitCode;

/// Why a subcommand failed: bad usage (exit 2, with the usage text), a runtime error (exit 1),
/// or stdout's reader went away (exit 0 without a word, as a pipe into `head` expects).
pub enum Failure {
    Usage(String),
    Run(String),
    StdoutClosed,
}

impl From<llmcore::Error> for Failure {
    fn from(e: llmcore::Error) -> Self {
        Failure::Run(e.to_string())
    }
}

const COMMANDS: &str = "\
usage: llmcore <command> [flags]   (every command takes --threads N and --json)

commands:
  audio       speech front end: log-mel/energy/F0 of a WAV (features), Mandarin text to pinyin and phonemes (g2p), a scene/speaker corpus to feature files with prosody statistics (corpus)
  info        model file metadata and tensors
  calib       self-generated calibration sets for pruning (selfgen, inspect)
  tokenize    text to token ids
  eval        evaluate on tasks (multiple choice, generation, rolling log-likelihood) as lm-evaluation-harness does; eval compare: results side by side, plotted
  generate    generate text from a prompt
  perplexity  perplexity of a text file
  prune       prune a model with a calibration set (magnitude, Wanda, SparseGPT, FISTA; OWL); prune merge: assemble shards
  speculate   speculative generation over draft trees (OPT-Tree, chain, EAGLE, Sequoia) vs plain decoding
  schedule    recomputation schedule for pipeline-parallel training (Lynx)
  train       train from scratch or fine-tune (AdamW, Adafactor, CAME, Adapprox), save as GGUF
";

fn main() -> ExitCode {
    // Paths may be any bytes the OS allows: arguments stay `OsString` until a flag needs text.
    let argv: Vec<OsString> = std::env::args_os().skip(1).collect();
    let Some(cmd) = argv.first() else {
        output::note(COMMANDS.trim_end());
        return ExitCode::from(2);
    };
    let rest = &argv[1..];
    let result = match cmd.to_str().unwrap_or("") {
        "audio" => audio::run(rest),
        "info" => info::run(rest),
        "calib" => calib::run(rest),
        "eval" => eval::run(rest),
        "tokenize" => tokenize::run(rest),
        "generate" => generate::run(rest),
        "perplexity" => perplexity::run(rest),
        "prune" => prune::run(rest),
        "schedule" => schedule::run(rest),
        "speculate" => speculate::run(rest),
        "train" => train::run(rest),
        "help" | "--help" | "-h" => output::write_stdout(COMMANDS),
        _ => Err(Failure::Usage(format!(
            "unknown command '{}'\n\n{COMMANDS}",
            cmd.to_string_lossy()
        ))),
    };
    match result {
        Ok(()) | Err(Failure::StdoutClosed) => ExitCode::SUCCESS,
        Err(Failure::Usage(m)) => {
            output::note(&format!("llmcore: {m}"));
            ExitCode::from(2)
        }
        Err(Failure::Run(m)) => {
            output::note(&format!("llmcore: error: {m}"));
            ExitCode::from(1)
        }
    }
}
