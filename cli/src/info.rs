//! `llmcore info MODEL`: what a model file holds.

use crate::args::switch;
use crate::output::{emit, parse, usage_err};
use crate::Failure;
use llmcore::io::gguf::{GgufFile, Value};
use llmcore::io::json::Json;
use llmcore::model::ModelConfig;
use llmcore::tensor::quant::{cpu_simd_level, simd_level};
use llmcore::tokenizer::Tokenizer;

const FLAGS: &[crate::args::Flag] = &[switch("--tensors", "list every tensor")];

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary
/// (`str::floor_char_boundary`, stable only since Rust 1.91, above the MSRV).
fn prefix_within(s: &str, max: usize) -> &str {
    let mut end = max.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A metadata value for display; long arrays are summarized.
fn show(v: &Value) -> String {
    match v {
        Value::String(s) if s.len() > 80 => {
            format!("{:?}... ({} bytes)", prefix_within(s, 60), s.len())
        }
        Value::String(s) => format!("{s:?}"),
        Value::Array(a) => format!("[{} items]", a.len()),
        other => format!("{other:?}"),
    }
}

pub fn run(argv: &[std::ffi::OsString]) -> Result<(), Failure> {
    let p = parse("info", "MODEL.gguf [--tensors]", FLAGS, argv)?;
    p.at_most_positional(1).map_err(usage_err)?;
    let path = p
        .positional
        .first()
        .map(std::path::Path::new)
        .ok_or_else(|| usage_err("a model path is required".into()))?;
    let file = GgufFile::open(path)?;
    let cfg = ModelConfig::from_gguf(&file)?;
    let params = file.parameter_count();
    let tok = Tokenizer::from_gguf(&file)?;
    let id = |t: Option<u32>| t.map_or(Json::Null, |t| Json::from(t as u64));
    let eog: Vec<Json> = tok
        .eog_tokens()
        .iter()
        .map(|&t| Json::from(t as u64))
        .collect();
    let vocab = Json::object(vec![
        ("bos", id(tok.bos())),
        ("eos", id(tok.eos())),
        ("eot", id(tok.eot())),
        ("pad", id(tok.pad())),
        ("add_bos", Json::from(tok.add_bos())),
        ("eog", Json::Array(eog)),
    ]);
    let bytes: u64 = file.file_bytes().len() as u64;
    let mut by_type: Vec<(&'static str, usize)> = Vec::new();
    for t in &file.tensors {
        match by_type.iter_mut().find(|(n, _)| *n == t.ty.name()) {
            Some((_, c)) => *c += 1,
            None => by_type.push((t.ty.name(), 1)),
        }
    }
    let json = Json::object(vec![
        ("path", Json::from(path.to_string_lossy().as_ref())),
        ("gguf_version", Json::from(file.version as u64)),
        ("architecture", Json::from(cfg.arch.name())),
        ("name", Json::from(cfg.name.as_str())),
        ("parameters", Json::from(params)),
        ("file_bytes", Json::from(bytes)),
        ("tensor_bytes", Json::from(file.tensor_bytes())),
        ("n_layer", Json::from(cfg.n_layer as u64)),
        ("d_model", Json::from(cfg.d_model as u64)),
        ("d_ffn", Json::from(cfg.d_ffn as u64)),
        ("n_head", Json::from(cfg.n_head as u64)),
        ("n_kv_head", Json::from(cfg.n_kv_head as u64)),
        ("head_dim", Json::from(cfg.head_dim as u64)),
        ("vocab_size", Json::from(cfg.vocab_size as u64)),
        ("context_length", Json::from(cfg.context_length as u64)),
        ("rope_theta", Json::from(cfg.rope_theta as f64)),
        ("rms_eps", Json::from(cfg.rms_eps as f64)),
        ("tensor_count", Json::from(file.tensors.len() as u64)),
        ("vocab", vocab),
        ("simd", Json::from(simd_level().name())),
        (
            "tensor_types",
            Json::object(
                by_type
                    .iter()
                    .map(|(n, c)| (*n, Json::from(*c as u64)))
                    .collect::<Vec<_>>(),
            ),
        ),
    ]);
    emit(&p, json, || {
        let mut s = format!(
            "{}\n  GGUF v{}, {} ({}), {:.1}M parameters, {:.1} MB\n",
            path.display(),
            file.version,
            cfg.arch.name(),
            cfg.name,
            params as f64 / 1e6,
            bytes as f64 / 1e6
        );
        s += &format!(
            "  {} layers, d {}, ffn {}, {} heads / {} KV heads, head dim {}, vocab {}, context {}\n",
            cfg.n_layer, cfg.d_model, cfg.d_ffn, cfg.n_head, cfg.n_kv_head, cfg.head_dim, cfg.vocab_size, cfg.context_length
        );
        let show_id = |t: Option<u32>| t.map_or("none".to_string(), |t| t.to_string());
        s += &format!(
            "  special tokens: bos {}, eos {}, eot {}, pad {}, end of generation {:?}; add BOS: {}\n",
            show_id(tok.bos()),
            show_id(tok.eos()),
            show_id(tok.eot()),
            show_id(tok.pad()),
            tok.eog_tokens(),
            if tok.add_bos() { "yes" } else { "no" }
        );
        s += &format!(
            "  kernels: SIMD level {} (CPU: {}; LLMCORE_SIMD caps it)\n",
            simd_level(),
            cpu_simd_level()
        );
        s += "  tensor types:";
        for (n, c) in &by_type {
            s += &format!(" {n} x{c}");
        }
        s += "\n  metadata:\n";
        for (k, v) in &file.metadata {
            s += &format!("    {k} = {}\n", show(v));
        }
        if p.flag("--tensors") {
            s += "  tensors:\n";
            for t in &file.tensors {
                s += &format!("    {:<32} {:<6} {:?}\n", t.name, t.ty.name(), t.dims);
            }
        }
        s
    })
}
