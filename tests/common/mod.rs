//! Shared by the integration tests: where the real assets are.
#![allow(dead_code)] // each test binary uses its own subset

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use llmcore::model::Model;

/// `$LLMCORE_ASSETS`, or `assets/` at the repository root.
pub fn assets_dir() -> PathBuf {
    match std::env::var_os("LLMCORE_ASSETS") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets"),
    }
}

/// Path of an asset, failing the test with the fix when it is missing.
pub fn asset(rel: &str) -> PathBuf {
    let p = assets_dir().join(rel);
    assert!(
        p.exists(),
        "{} is missing: run scripts/fetch-assets.sh",
        p.display()
    );
    p
}

/// Path of a committed test fixture under tests/data.
pub fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(rel)
}

pub const SMOLLM2: &str = "models/SmolLM2-135M-Instruct.Q4_1.gguf";
pub const QWEN_05B: &str = "models/Qwen2.5-Coder-0.5B-Instruct.gguf";

/// Models loaded so far, by asset path.
type Loaded = std::sync::Mutex<Vec<(&'static str, Arc<Model>)>>;

/// The model at `rel`, loaded once per test binary.
pub fn model(rel: &'static str) -> Arc<Model> {
    static CACHE: OnceLock<Loaded> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut c = cache.lock().unwrap();
    if let Some((_, m)) = c.iter().find(|(r, _)| *r == rel) {
        return m.clone();
    }
    let m = Arc::new(Model::open(asset(rel)).unwrap_or_else(|e| panic!("loading {rel}: {e}")));
    c.push((rel, m.clone()));
    m
}
