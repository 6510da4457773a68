//! `llmcore tokenize --model M (--text S | --file F)`: text to token ids.

use crate::args::{opt, path, switch, Flag};
use crate::output::{emit, load_model, parse, usage_err};
use crate::Failure;
use llmcore::io::json::Json;

const FLAGS: &[Flag] = &[
    path("--model", "PATH", "GGUF model whose tokenizer to use"),
    opt("--text", "STRING", "text to tokenize"),
    path("--file", "PATH", "file whose contents to tokenize"),
    switch("--no-special", "treat special-token text as plain text"),
    switch(
        "--add-special",
        "start with BOS when the model asks for it (add_bos_token)",
    ),
];

pub fn run(argv: &[std::ffi::OsString]) -> Result<(), Failure> {
    let p = parse("tokenize", "--model M (--text S | --file F)", FLAGS, argv)?;
    p.at_most_positional(0).map_err(usage_err)?;
    let model = load_model(p.required_path("--model").map_err(usage_err)?)?;
    let text = match (p.str("--text"), p.path("--file")) {
        (Some(t), None) => t.to_string(),
        (None, Some(f)) => {
            std::fs::read_to_string(f).map_err(|e| Failure::Run(format!("{}: {e}", f.display())))?
        }
        _ => return Err(usage_err("give exactly one of --text and --file".into())),
    };
    let tok = model.tokenizer();
    let parse_special = !p.flag("--no-special");
    let ids = if p.flag("--add-special") {
        tok.encode_prompt(&text, parse_special)?
    } else {
        tok.encode(&text, parse_special)?
    };
    let json = Json::object(vec![
        (
            "ids",
            Json::Array(ids.iter().map(|&i| Json::from(i as u64)).collect()),
        ),
        ("count", Json::from(ids.len() as u64)),
    ]);
    emit(&p, json, || {
        let mut s = String::new();
        for &id in &ids {
            let piece = String::from_utf8_lossy(tok.token_bytes(id).unwrap_or(b"?")).into_owned();
            let end = if tok.is_eog(id) {
                "  (ends generation)"
            } else {
                ""
            };
            s += &format!("{id:>7} {piece:?}{end}\n");
        }
        s + &format!("{} tokens\n", ids.len())
    })
}
