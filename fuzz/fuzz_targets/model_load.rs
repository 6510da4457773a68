//! Model loading on arbitrary bytes, not only parsing: parse -> config -> weights -> tokenizer
//! never panics or aborts (an allocation sized by a number in the file would abort), and a
//! model that loads tokenizes, detokenizes and runs one forward pass of two tokens on both
//! numeric paths to `Ok` or `Err`. The forward pass is always small here: every weight lies
//! inside the input, so its work is bounded by the input's size.
//!
//! Seeds (fuzz/seeds/model_load/) are written by tests/hostile_files.rs from the tiny llama of
//! tests/common/tiny_llama.rs: the valid llama and Qwen2 models and the review's 1e8-layer file.
#![no_main]
use libfuzzer_sys::fuzz_target;
use llmcore::io::{Bytes, GgufFile};
use llmcore::model::{LogitRows, Model, Numerics, Session};
use std::sync::Arc;

fuzz_target!(|data: &[u8]| {
    let Ok(file) = GgufFile::parse(Bytes::Owned(data.to_vec())) else {
        return;
    };
    let Ok(model) = Model::from_gguf(file) else {
        return;
    };
    let model = Arc::new(model);
    if let Ok(ids) = model.tokenizer().encode("Hi <|im_start|> 12!", true) {
        let _ = model.tokenizer().decode(&ids);
    }
    let tokens = [0, (model.config.vocab_size as u32).saturating_sub(1)];
    for numerics in [Numerics::Fast, Numerics::Exact] {
        if let Ok(mut s) = Session::new(model.clone(), 0, numerics) {
            let _ = s.eval(&tokens, LogitRows::All);
        }
    }
});
