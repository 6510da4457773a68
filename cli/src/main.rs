//! The `llmcore` command: a thin shell over the `llmcore` library.

mod args;
mod generate;
mod info;
mod kv;
mod output;
mod perplexity;
mod progress;
mod schedule;
mod tokenize;

use std::process::ExitCode;

/// Why a subcommand failed: bad usage (exit 2, with the usage text) or a runtime error (exit 1).
pub enum Failure {
    Usage(String),
    Run(String),
}

impl From<llmcore::Error> for Failure {
    fn from(e: llmcore::Error) -> Self {
        Failure::Run(e.to_string())
    }
}

const COMMANDS: &str = "\
usage: llmcore <command> [flags]   (every command takes --threads N and --json)

commands:
  info        model file metadata and tensors
  tokenize    text to token ids
  generate    generate text from a prompt
  perplexity  perplexity of a text file
  schedule    recomputation schedule for pipeline-parallel training (Lynx)
";

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = argv.first().cloned() else {
        eprint!("{COMMANDS}");
        return ExitCode::from(2);
    };
    let rest = &argv[1..];
    let result = match cmd.as_str() {
        "info" => info::run(rest),
        "tokenize" => tokenize::run(rest),
        "generate" => generate::run(rest),
        "perplexity" => perplexity::run(rest),
        "schedule" => schedule::run(rest),
        "help" | "--help" | "-h" => {
            print!("{COMMANDS}");
            return ExitCode::SUCCESS;
        }
        other => Err(Failure::Usage(format!(
            "unknown command '{other}'\n\n{COMMANDS}"
        ))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(m)) => {
            eprintln!("llmcore: {m}");
            ExitCode::from(2)
        }
        Err(Failure::Run(m)) => {
            eprintln!("llmcore: error: {m}");
            ExitCode::from(1)
        }
    }
}
