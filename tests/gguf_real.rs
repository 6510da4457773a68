//! The GGUF reader on the real model files. The expected facts were read independently with
//! the `gguf` Python package (gguf-py 0.19.0, `GGUFReader`). The assets are required: run
//! `scripts/fetch-assets.sh` (or point `LLMCORE_ASSETS` at a folder holding `models/`).

mod common;

use llmcore::io::{write_gguf, GgufFile, Value};
use llmcore::tensor::GgmlType;
use std::collections::BTreeMap;

fn model(name: &str) -> GgufFile {
    let path = common::asset(&format!("models/{}", name));
    GgufFile::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn type_counts(f: &GgufFile) -> BTreeMap<&'static str, usize> {
    let mut m = BTreeMap::new();
    for t in &f.tensors {
        *m.entry(t.ty.name()).or_insert(0) += 1;
    }
    m
}

/// Every tensor's bytes have the size its dims and type imply, and every matrix-shaped
/// tensor gives a weight view.
fn check_all_tensors(f: &GgufFile) {
    for t in &f.tensors {
        assert_eq!(
            f.tensor_data(t).len() as u64,
            t.n_bytes().unwrap(),
            "{}",
            t.name
        );
        let w = f.weight(&t.name).unwrap();
        assert_eq!(
            w.rows * w.cols,
            t.n_elements().unwrap() as usize,
            "{}",
            t.name
        );
    }
}

#[test]
fn smollm2_opens_with_the_expected_metadata_and_tensors() {
    let f = model("SmolLM2-135M-Instruct.Q4_1.gguf");
    assert_eq!(f.version, 3);
    assert_eq!(f.metadata.len(), 33); // gguf-py lists 36 fields: these plus 3 header fields
    assert_eq!(f.tensors.len(), 272);
    assert_eq!(
        type_counts(&f),
        BTreeMap::from([("f32", 61), ("q4_1", 210), ("q8_0", 1)])
    );
    assert_eq!(f.data_offset(), 1_785_664);
    assert_eq!(f.file_bytes().len(), 98_362_432);
    assert_eq!(f.get_str("general.architecture").unwrap(), "llama");
    assert_eq!(f.get_u32("llama.block_count").unwrap(), 30);
    assert_eq!(f.get_u32("llama.embedding_length").unwrap(), 576);
    assert_eq!(f.get_u32("llama.attention.head_count").unwrap(), 9);
    assert_eq!(f.get_u32("llama.attention.head_count_kv").unwrap(), 3);
    assert_eq!(f.get_f32("llama.rope.freq_base").unwrap(), 100_000.0);
    assert_eq!(f.get_u32("tokenizer.ggml.bos_token_id").unwrap(), 1);
    assert_eq!(f.get_u32("tokenizer.ggml.eos_token_id").unwrap(), 2);
    let tokens = f.get_str_array("tokenizer.ggml.tokens").unwrap();
    assert_eq!(tokens.len(), 49_152);
    assert_eq!(tokens[..3], ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]);
    assert_eq!(
        f.get_str_array("tokenizer.ggml.merges").unwrap().len(),
        48_900
    );
    assert_eq!(
        f.get_i32_array("tokenizer.ggml.token_type").unwrap().len(),
        49_152
    );

    let emb = f.tensor_info("token_embd.weight").unwrap();
    assert_eq!(
        (emb.ty, emb.dims.as_slice(), emb.offset),
        (GgmlType::Q8_0, &[576u64, 49152][..], 0)
    );
    assert_eq!(f.tensor_data(emb).len(), 30_081_024);
    let w = f.weight("token_embd.weight").unwrap();
    assert_eq!((w.rows, w.cols, w.row_bytes()), (49_152, 576, 18 * 34));
    let down = f.tensor_info("blk.0.ffn_down.weight").unwrap();
    assert_eq!(
        (down.ty, down.dims.as_slice(), down.offset),
        (GgmlType::Q4_1, &[1536u64, 576][..], 30_083_328)
    );
    assert!(f.tensor_info("output.weight").is_none()); // tied to token_embd
    assert!(f.weight("output.weight").is_err());
    check_all_tensors(&f);
}

#[test]
fn smollm2_rewritten_by_our_writer_is_byte_identical() {
    let f = model("SmolLM2-135M-Instruct.Q4_1.gguf");
    let tensors: Vec<_> = f
        .tensors
        .iter()
        .map(|t| (t.name.clone(), t.dims.clone(), t.ty, f.tensor_data(t)))
        .collect();
    let out = write_gguf(&f.metadata, &tensors).unwrap();
    assert_eq!(out.len(), f.file_bytes().len());
    assert!(out == f.file_bytes(), "rewritten file differs");
}

#[test]
fn qwen_0_5b_opens_with_the_expected_metadata_and_tensors() {
    let f = model("Qwen2.5-Coder-0.5B-Instruct.gguf");
    assert_eq!(f.version, 3);
    assert_eq!(f.metadata.len(), 26); // gguf-py: 29 fields, 3 of them from the header
    assert_eq!(f.tensors.len(), 291);
    assert_eq!(
        type_counts(&f),
        BTreeMap::from([
            ("f32", 121),
            ("q4_K", 12),
            ("q5_0", 133),
            ("q6_K", 12),
            ("q8_0", 13)
        ])
    );
    assert_eq!(f.data_offset(), 5_947_776);
    assert_eq!(f.file_bytes().len(), 491_400_064);
    assert_eq!(f.get_str("general.architecture").unwrap(), "qwen2");
    assert_eq!(f.get_u32("qwen2.block_count").unwrap(), 24);
    assert_eq!(f.get_u32("qwen2.embedding_length").unwrap(), 896);
    assert_eq!(f.get_u32("qwen2.attention.head_count").unwrap(), 14);
    assert_eq!(f.get_u32("qwen2.attention.head_count_kv").unwrap(), 2);
    assert_eq!(f.get_f32("qwen2.rope.freq_base").unwrap(), 1_000_000.0);
    assert_eq!(f.get_u32("tokenizer.ggml.eos_token_id").unwrap(), 151_645);
    assert_eq!(
        f.get_str_array("tokenizer.ggml.tokens").unwrap().len(),
        151_936
    );
    assert_eq!(
        f.get_str_array("tokenizer.ggml.merges").unwrap().len(),
        151_387
    );
    assert!(matches!(
        f.get("general.alignment"),
        None | Some(Value::U32(32))
    ));

    let out = f.tensor_info("output.weight").unwrap();
    assert_eq!(
        (out.ty, out.dims.as_slice(), out.offset),
        (GgmlType::Q8_0, &[896u64, 151_936][..], 0)
    );
    let emb = f.tensor_info("token_embd.weight").unwrap();
    assert_eq!((emb.ty, emb.offset), (GgmlType::Q5_0, 144_643_072));
    let down = f.tensor_info("blk.0.ffn_down.weight").unwrap();
    assert_eq!(
        (down.ty, down.dims.as_slice()),
        (GgmlType::Q6K, &[4864u64, 896][..])
    );
    let bias = f.tensor_info("blk.0.attn_q.bias").unwrap();
    assert_eq!(
        (bias.ty, bias.dims.as_slice(), bias.offset),
        (GgmlType::F32, &[896u64][..], 248_441_600)
    );
    check_all_tensors(&f);
}
