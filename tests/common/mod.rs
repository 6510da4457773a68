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

/// A committed fixture pair: `<stem>.json`, whose `arrays` index lists `{name, offset, len}`
/// (in floats), and `<stem>.bin`, the arrays as little-endian f32. The parsed JSON and the
/// arrays by name.
pub fn f32_fixture(
    stem: &str,
) -> (
    llmcore::io::json::Json,
    std::collections::HashMap<String, Vec<f32>>,
) {
    use llmcore::io::json::{parse, Json};
    let meta = parse(&std::fs::read_to_string(fixture(&format!("{stem}.json"))).unwrap()).unwrap();
    let bin = std::fs::read(fixture(&format!("{stem}.bin"))).unwrap();
    let floats: Vec<f32> = bin
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let num = |j: &Json, k: &str| j.get(k).and_then(Json::as_f64).unwrap() as usize;
    let arrays = meta
        .get("arrays")
        .and_then(Json::as_array)
        .unwrap()
        .iter()
        .map(|a| {
            let (off, len) = (num(a, "offset"), num(a, "len"));
            let name = a.get("name").and_then(Json::as_str).unwrap().to_string();
            (name, floats[off..off + len].to_vec())
        })
        .collect();
    (meta, arrays)
}
