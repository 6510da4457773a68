//! The tokenizer on the real models, against reference ids from llama.cpp's own tokenizer
//! (`tests/data/tokenizer/vectors.json`, made by `scripts/tokenizer_vectors.py`).
//! Needs the GGUF assets: `scripts/fetch-assets.sh` (or point `LLMCORE_ASSETS` at a folder
//! holding `models/`).

mod common;

use llmcore::io::gguf::GgufFile;
use llmcore::io::json::{self, Json};
use llmcore::tokenizer::{StreamDecoder, Tokenizer};
use llmcore::Error;

fn tokenizer(file: &str) -> Tokenizer {
    let path = common::asset(&format!("models/{}", file));
    let gguf = GgufFile::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Tokenizer::from_gguf(&gguf).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn vectors() -> Json {
    let path = common::fixture("tokenizer/vectors.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    json::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every reference string of `model`, encoded with special parsing on and off, must give
/// llama.cpp's ids token for token, decode back to the string (unless the vocabulary lacks a
/// token for one of its bytes, which encoding drops: SmolLM2 has none for some control bytes),
/// and stream-decode to the same text as `decode`.
fn check_model(model: &str) {
    let v = vectors();
    let strings: Vec<&str> = v
        .get("strings")
        .and_then(Json::as_array)
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(
        strings.len() >= 300,
        "only {} reference strings",
        strings.len()
    );
    let m = v
        .get("models")
        .and_then(|m| m.get(model))
        .unwrap_or_else(|| panic!("no vectors for {model}"));
    let t = tokenizer(m.get("file").and_then(Json::as_str).unwrap());
    let mut mismatches = Vec::new();
    let mut checked = 0;
    for (mode, parse_special) in [("special", true), ("plain", false)] {
        let expected = m.get(mode).and_then(Json::as_array).unwrap();
        assert_eq!(expected.len(), strings.len());
        for (s, exp) in strings.iter().zip(expected) {
            let want: Vec<u32> = exp
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap() as u32)
                .collect();
            let got = t
                .encode(s, parse_special)
                .unwrap_or_else(|e| panic!("{model} {mode} {s:?}: {e}"));
            if got != want {
                mismatches.push(format!("{mode} {s:?}:\n  want {want:?}\n  got  {got:?}"));
                continue;
            }
            checked += 1;
            let back = t.decode(&got).unwrap();
            let spellable = s
                .chars()
                .all(|c| !c.is_ascii() || t.token_id(c.encode_utf8(&mut [0; 4])).is_some());
            if spellable {
                assert_eq!(back, *s, "{model}: decode(encode({s:?}))");
            }
            let mut stream = StreamDecoder::new();
            let mut text = String::new();
            for &id in &got {
                text += &stream.push(&t, id).unwrap();
            }
            text += &stream.finish();
            assert_eq!(text, back, "{model}: stream decode of {s:?}");
        }
    }
    assert!(
        mismatches.is_empty(),
        "{model}: {} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    assert!(
        checked >= 2 * 300,
        "{model}: only {checked} vectors checked"
    );
}

#[test]
fn smollm2_matches_llama_cpp() {
    check_model("smollm2");
}

#[test]
fn qwen_matches_llama_cpp() {
    check_model("qwen2.5-coder");
}

#[test]
fn special_tokens_and_metadata() {
    let smol = tokenizer("SmolLM2-135M-Instruct.Q4_1.gguf");
    assert_eq!(smol.vocab_size(), 49152);
    assert_eq!((smol.bos(), smol.eos()), (Some(1), Some(2)));
    assert_eq!(smol.token_id("<|im_start|>"), Some(1));
    assert!(smol.is_control(2) && !smol.is_control(100));
    let chat = "<|im_start|>user\nhi<|im_end|>";
    let on = smol.encode(chat, true).unwrap();
    assert_eq!(on.first(), Some(&1));
    assert_eq!(on.last(), Some(&2));
    let off = smol.encode(chat, false).unwrap();
    assert!(!off.contains(&1) && !off.contains(&2), "{off:?}");
    assert_eq!(smol.decode(&off).unwrap(), chat);
    assert_eq!(smol.decode(&on).unwrap(), chat);

    let qwen = tokenizer("Qwen2.5-Coder-0.5B-Instruct.gguf");
    assert_eq!(qwen.vocab_size(), 151936);
    assert_eq!(qwen.eos(), Some(151645));
    assert_eq!(qwen.token_id("<|im_end|>"), Some(151645));
    // `<tool_call>` is user-defined: matched as a whole even without special parsing.
    let tool = qwen.token_id("<tool_call>").unwrap();
    assert_eq!(qwen.encode("<tool_call>", false).unwrap(), [tool]);
    assert!(!qwen.is_control(tool));
    assert_eq!(qwen.token_bytes(151645).unwrap(), b"<|im_end|>");
    assert!(matches!(
        qwen.decode(&[151936]),
        Err(Error::TokenOutOfRange {
            id: 151936,
            vocab_size: 151936
        })
    ));
}

#[test]
fn chat_templates() {
    let smol = tokenizer("SmolLM2-135M-Instruct.Q4_1.gguf");
    assert_eq!(
        smol.apply_chat_template(&[("user", "Hi!")], true).unwrap(),
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n\
         <|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n"
    );
    let qwen = tokenizer("Qwen2.5-Coder-0.5B-Instruct.gguf");
    assert_eq!(
        qwen.apply_chat_template(&[("user", "Hi!")], true).unwrap(),
        "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n\
         <|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n"
    );
    assert_eq!(
        qwen.apply_chat_template(
            &[
                ("system", "Be terse."),
                ("user", "Hi!"),
                ("assistant", "Hello.")
            ],
            false
        )
        .unwrap(),
        "<|im_start|>system\nBe terse.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n\
         <|im_start|>assistant\nHello.<|im_end|>\n"
    );
}
