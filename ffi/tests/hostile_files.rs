//! Hostile and unusual model files through the C ABI: `llmc_model_load` returns the status of
//! the error kind, writes no handle, and `llmc_last_error_message` names the key, tensor or
//! path that is wrong; the process lives on and the next load of a good file succeeds.

mod common;

use common::last_error;
use runtime as core_lib;
#[path = "../../tests/common/tiny_llama.rs"]
mod tiny_llama;

use llmcore::model::{llmc_model, llmc_model_free, llmc_model_load};
use llmcore::status::llmc_status;
use runtime::io::gguf::Value;
use std::ffi::CString;
use std::path::{Path, PathBuf};
use tiny_llama::TinyLlama;

fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("llmcore-ffi-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Loads `path` through the C ABI: the status, and the handle on success (freed here).
fn load(path: &Path) -> llmc_status {
    let c = CString::new(path.to_str().unwrap()).unwrap();
    let mut m: *mut llmc_model = std::ptr::null_mut();
    let status = unsafe { llmc_model_load(c.as_ptr(), &mut m) };
    assert_eq!(
        status == llmc_status::LLMC_OK,
        !m.is_null(),
        "a handle only on success"
    );
    unsafe { llmc_model_free(m) };
    status
}

fn fails(path: &Path, status: llmc_status, says: &str) {
    assert_eq!(load(path), status, "{}", last_error());
    let e = last_error();
    assert!(e.starts_with("llmc_model_load: "), "{e}");
    assert!(e.contains(says), "expected {says:?} in {e}");
}

#[test]
fn hostile_files_fail_with_their_status_and_a_message_naming_what_is_wrong() {
    use llmc_status::*;
    let dir = scratch("hostile");
    let file = |name: &str, bytes: Vec<u8>| {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    fails(
        &file("blocks.gguf", tiny_llama::block_count_1e8()),
        LLMC_ERR_FORMAT,
        "llama.block_count: 100000000 layers",
    );
    fails(
        &file("rows.gguf", tiny_llama::ragged_rows()),
        LLMC_ERR_FORMAT,
        "tensor 'blk.1.ffn_down.weight' has rows of 48 elements",
    );
    let partial = TinyLlama::new().set("llama.rope.dimension_count", Value::U32(4));
    fails(
        &file("partial-rope.gguf", partial.bytes()),
        LLMC_ERR_UNSUPPORTED,
        "llama.rope.dimension_count = 4, the head size is 8",
    );
    let yarn = TinyLlama::new().set("llama.rope.scaling.type", Value::String("yarn".into()));
    fails(
        &file("yarn.gguf", yarn.bytes()),
        LLMC_ERR_UNSUPPORTED,
        "llama.rope.scaling.type = 'yarn'",
    );
    let swa = TinyLlama::new().set("llama.attention.sliding_window", Value::U32(4096));
    fails(
        &file("swa.gguf", swa.bytes()),
        LLMC_ERR_UNSUPPORTED,
        "hyper-parameter 'llama.attention.sliding_window' is not implemented",
    );
    fails(
        &dir,
        LLMC_ERR_IO,
        &format!("{}: is a directory, not a file", dir.display()),
    );
    // Still alive, and a good file loads.
    assert_eq!(load(&file("tiny.gguf", TinyLlama::new().bytes())), LLMC_OK);
    std::fs::remove_dir_all(dir).unwrap();
}
