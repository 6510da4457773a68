//! What every subcommand shares: parsing with usage errors, the thread pool, model loading and
//! result printing (human text, or one JSON object with `--json`) to a stdout that may close.

use crate::args::{usage, Flag, Parsed};
use crate::Failure;
use llmcore::io::json::Json;
use llmcore::model::Model;
use std::ffi::OsString;
use std::io::{self, Write};
use std::num::NonZeroUsize;
use std::path::Path;
use std::sync::Arc;

/// `--threads` above this many times the hardware threads is capped to it: more threads only
/// add switching (10,000 of them took over 300 s for four tokens).
const THREADS_PER_HARDWARE_THREAD: usize = 2;

/// Parses a subcommand's flags (answering `--help`) and sets up the thread pool.
pub fn parse(
    cmd: &str,
    synopsis: &str,
    flags: &[Flag],
    argv: &[OsString],
) -> Result<Parsed, Failure> {
    let text = usage(cmd, synopsis, flags);
    if argv.iter().any(|a| a == "--help" || a == "-h") {
        write_stdout(&text)?;
        std::process::exit(0);
    }
    let p = Parsed::parse(argv, flags).map_err(|m| Failure::Usage(format!("{m}\n{text}")))?;
    let asked: usize = p
        .num("--threads", 0)
        .map_err(|m| Failure::Usage(format!("{m}\n{text}")))?;
    if asked > 0 {
        let hardware = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
        let cap = THREADS_PER_HARDWARE_THREAD * hardware;
        if asked > cap {
            warn(&format!(
                "--threads {asked} is more than {THREADS_PER_HARDWARE_THREAD}x the {hardware} \
                 hardware threads; using {cap}"
            ));
        }
        rayon::ThreadPoolBuilder::new()
            .num_threads(asked.min(cap))
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
pub fn load_model(path: &Path) -> Result<Arc<Model>, Failure> {
    Ok(Arc::new(Model::open(path)?))
}

/// Prints `json` on stdout when `--json` was given, else `human`.
pub fn emit(p: &Parsed, json: Json, human: impl FnOnce() -> String) -> Result<(), Failure> {
    if p.flag("--json") {
        write_stdout(&format!("{json}\n"))
    } else {
        write_stdout(&human())
    }
}

/// Writes and flushes `text` on stdout. A reader that went away (`... | head -c1`: EPIPE)
/// becomes [`Failure::StdoutClosed`], a quiet exit; other write errors are run errors.
pub fn write_stdout(text: &str) -> Result<(), Failure> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| match e.kind() {
            io::ErrorKind::BrokenPipe => Failure::StdoutClosed,
            _ => Failure::Run(format!("writing to stdout: {e}")),
        })
}

/// Prints `llmcore: warning: {message}` on stderr.
pub fn warn(message: &str) {
    note(&format!("llmcore: warning: {message}"));
}

/// Prints a line on stderr (a closed stderr is not worth failing for).
pub fn note(line: &str) {
    let _ = writeln!(io::stderr(), "{line}");
}

/// Writes `text` to `path` whole or not at all (`llmcore::io::atomic`: a temporary beside it,
/// renamed on success), so a failed write leaves no half-written file under the final name.
pub fn write_atomic(path: &Path, text: &str) -> Result<(), Failure> {
    Ok(llmcore::io::atomic::write_atomic(path, text.as_bytes())?)
}
