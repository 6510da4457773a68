//! Shared by the CLI's integration tests: the real model's path, running the built binary, and
//! reading its `--json` output.
#![allow(dead_code)] // each test binary uses its own subset

use llmcore::io::json::{parse, Json};
use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::{Command, Output};

/// SmolLM2-135M under `$LLMCORE_ASSETS` or the repository's `assets/`.
pub fn model() -> String {
    let dir = std::env::var_os("LLMCORE_ASSETS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../assets"));
    let p = dir.join("models/SmolLM2-135M-Instruct.Q4_1.gguf");
    assert!(
        p.exists(),
        "{} is missing: run scripts/fetch-assets.sh",
        p.display()
    );
    p.to_string_lossy().into_owned()
}

/// Runs the built `llmcore` with `args`.
pub fn llmcore<S: AsRef<OsStr>>(args: &[S]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_llmcore"))
        .args(args)
        .output()
        .expect("run llmcore")
}

/// The JSON a successful run printed (failing the test with its stderr otherwise).
pub fn json(o: &Output) -> Json {
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    parse(std::str::from_utf8(&o.stdout).unwrap().trim()).unwrap()
}
