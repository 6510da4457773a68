//! Vocabulary facts against llama.cpp (tests/data/reference/vocab_<model>.json, made by
//! scripts/vocab_reference.py with llama-cpp-python 0.3.16) on SmolLM2-135M and
//! Qwen2.5-Coder-0.5B: BOS, EOS, padding, the add-BOS flag, every end-of-generation token,
//! every token's attribute (control, user-defined, unused, ...), the parameter count and tensor
//! bytes, and the detokenized text of a ChatML exchange with control tokens rendered and
//! dropped. The end-of-turn token is compared where llama.cpp's choice is determined (see
//! `eot`).

mod common;

use llmcore::io::gguf::GgufFile;
use llmcore::io::json::{parse, Json};
use llmcore::tokenizer::{token_type, Tokenizer};

fn reference(key: &str) -> Json {
    let path = common::fixture(&format!("reference/vocab_{key}.json"));
    parse(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn num(j: &Json, key: &str) -> i64 {
    j.get(key)
        .and_then(Json::as_i64)
        .unwrap_or_else(|| panic!("{key}"))
}

fn ids(j: &Json, key: &str) -> Vec<u32> {
    j.get(key)
        .and_then(Json::as_array)
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

/// llama.cpp's attribute bits for a GGUF token type (`llama_token_attr`).
fn llama_attr(ty: i32) -> i64 {
    match ty {
        token_type::UNKNOWN => 1,
        token_type::UNUSED => 2,
        token_type::NORMAL => 4,
        token_type::CONTROL => 8,
        token_type::USER_DEFINED => 16,
        token_type::BYTE => 32,
        other => panic!("token type {other}"),
    }
}

fn check(key: &str, file: &str) {
    let r = reference(key);
    let gguf = GgufFile::open(common::asset(&format!("models/{file}"))).unwrap();
    let tok = Tokenizer::from_gguf(&gguf).unwrap();
    let id = |t: Option<u32>| t.map_or(-1, |t| t as i64);
    assert_eq!(tok.vocab_size() as i64, num(&r, "n_tokens"));
    assert_eq!(id(tok.bos()), num(&r, "bos"), "{key}: bos");
    assert_eq!(id(tok.eos()), num(&r, "eos"), "{key}: eos");
    assert_eq!(id(tok.pad()), num(&r, "pad"), "{key}: pad");
    assert_eq!(
        Some(tok.add_bos()),
        r.get("add_bos").and_then(Json::as_bool),
        "{key}: add_bos"
    );
    assert_eq!(tok.eog_tokens(), ids(&r, "eog"), "{key}: end of generation");
    // llama.cpp takes the first end-of-turn text its hash map yields: for Qwen that is the EOS
    // `<|im_end|>`, as our rule (the EOS when it is such a text) gives; for SmolLM2 it yields
    // `<|endoftext|>` (0) where we take the EOS `<|im_end|>` (2). Both end generation either way.
    let eot = num(&r, "eot");
    match key {
        "smollm2" => {
            assert_eq!((eot, tok.eot()), (0, Some(2)));
            assert!(tok.is_eog(0) && tok.is_eog(2));
        }
        _ => assert_eq!(id(tok.eot()), eot, "{key}: eot"),
    }
    let attrs = r.get("attrs").and_then(Json::as_object).unwrap();
    let mut special = 0;
    for i in 0..tok.vocab_size() as u32 {
        let ours = llama_attr(tok.token_type(i).unwrap());
        let want = attrs
            .iter()
            .find(|(k, _)| k.parse::<u32>() == Ok(i))
            .map_or(4, |(_, v)| v.as_i64().unwrap());
        assert_eq!(ours, want, "{key}: attribute of token {i}");
        special += (ours != 4) as usize;
    }
    assert_eq!(special, attrs.len());
    assert_eq!(gguf.parameter_count() as i64, num(&r, "n_params"));
    assert_eq!(gguf.tensor_bytes() as i64, num(&r, "size"));

    let chat = r.get("chat").and_then(Json::as_str).unwrap();
    let chat_ids = tok.encode(chat, true).unwrap();
    assert_eq!(chat_ids, ids(&r, "chat_ids"), "{key}: chat ids");
    // add_bos is false for both models: llama.cpp's add_special adds nothing, nor do we.
    assert_eq!(ids(&r, "chat_with_add_special"), chat_ids);
    let text = |k: &str| r.get(k).and_then(Json::as_str).unwrap().to_string();
    assert_eq!(
        tok.decode_with(&chat_ids, true).unwrap(),
        text("detokenized_with_control")
    );
    assert_eq!(
        tok.decode_with(&chat_ids, false).unwrap(),
        text("detokenized_without_control")
    );
}

#[test]
fn smollm2_vocabulary_facts_match_llama_cpp() {
    check("smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf");
}

#[test]
fn qwen_vocabulary_facts_match_llama_cpp() {
    check("qwen05", "Qwen2.5-Coder-0.5B-Instruct.gguf");
}
