//! Hostile and unusual model files through the `llmcore` command: each ends in exit 1 with one
//! `llmcore: error:` line naming the key, tensor or path that is wrong (never a panic, exit
//! 101, or an abort), and the tiny llama they start from generates.

use llmcore as core_lib;
#[path = "../../tests/common/tiny_llama.rs"]
mod tiny_llama;

use llmcore::io::gguf::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use tiny_llama::TinyLlama;

fn llmcore(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_llmcore"))
        .args(args)
        .output()
        .expect("run llmcore")
}

/// A fresh directory for this test's files.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("llmcore-cli-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p.to_string_lossy().into_owned()
}

/// Asserts `o` is a runtime failure (exit 1) whose one error line contains `says`.
fn fails_saying(o: &Output, says: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "stderr: {err}");
    assert!(err.starts_with("llmcore: error: "), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(says), "expected {says:?} in {err}");
}

/// `tokenize` and `generate` both load the model; `info` only parses the file.
fn every_loading_command_fails_saying(model: &str, says: &str) {
    fails_saying(
        &llmcore(&["tokenize", "--model", model, "--text", "hi"]),
        says,
    );
    let generate = [
        "generate",
        "--model",
        model,
        "--prompt",
        "hi",
        "--max-tokens",
        "1",
    ];
    fails_saying(&llmcore(&generate), says);
}

#[test]
fn the_tiny_llama_generates() {
    let dir = scratch("tiny");
    let m = write(&dir, "tiny.gguf", &TinyLlama::new().bytes());
    let o = llmcore(&[
        "generate",
        "--model",
        &m,
        "--prompt",
        "ABC",
        "--max-tokens",
        "2",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_block_count_the_file_cannot_hold_names_the_key() {
    let dir = scratch("blocks");
    let m = write(&dir, "blocks.gguf", &tiny_llama::block_count_1e8());
    every_loading_command_fails_saying(
        &m,
        "llama.block_count: 100000000 layers, but a decoder has at least one and the file holds 1 tensors",
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn rows_that_are_not_whole_blocks_name_the_tensor() {
    let dir = scratch("rows");
    let m = write(&dir, "rows.gguf", &tiny_llama::ragged_rows());
    let says = "tensor 'blk.1.ffn_down.weight' has rows of 48 elements, not a whole number of q8_0 blocks of 32";
    every_loading_command_fails_saying(&m, says);
    fails_saying(&llmcore(&["info", &m]), says);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn unimplemented_hyper_parameters_name_the_key() {
    let dir = scratch("hparams");
    for (i, (key, value, says)) in [
        ("llama.rope.dimension_count", Value::U32(4), "unsupported: llama.rope.dimension_count = 4, the head size is 8 (partial rotary embedding is not implemented)"),
        ("llama.rope.scaling.type", Value::String("yarn".into()), "unsupported: llama.rope.scaling.type = 'yarn'"),
        ("llama.rope.scaling.factor", Value::F32(8.0), "unsupported: llama.rope.scaling.factor = 8"),
        ("llama.attention.key_length", Value::U32(16), "unsupported: llama.attention.key_length = 16"),
        ("llama.attention.sliding_window", Value::U32(4096), "unsupported: hyper-parameter 'llama.attention.sliding_window' is not implemented"),
        ("llama.final_logit_softcapping", Value::F32(30.0), "unsupported: hyper-parameter 'llama.final_logit_softcapping'"),
        ("llama.expert_count", Value::U32(8), "unsupported: llama.expert_count = 8 (mixture of experts is not implemented)"),
    ]
    .into_iter()
    .enumerate()
    {
        let m = write(&dir, &format!("h{i}.gguf"), &TinyLlama::new().set(key, value).bytes());
        every_loading_command_fails_saying(&m, says);
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_directory_is_named_as_a_directory() {
    let dir = scratch("dir");
    let d = dir.to_string_lossy().into_owned();
    let says = format!("{d}: is a directory, not a file");
    every_loading_command_fails_saying(&d, &says);
    fails_saying(&llmcore(&["info", &d]), &says);
    std::fs::remove_dir_all(dir).unwrap();
}
