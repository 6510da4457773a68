//! Models: loading a GGUF file, its hyper-parameters and metadata, and its tokenizer.

use crate::boundary::{
    arg_cstr, arg_path, arg_ref, arg_slice, arg_text, check_result_or_older, guard, invalid, log,
    out_ptr, write_result, write_text, OutList, LLMC_LOG_INFO,
};
use crate::status::llmc_status;
use runtime::io::gguf::Value;
use runtime::model::Model;
use std::ffi::{c_char, CString};
use std::sync::Arc;

/// A token id (an index into the model's vocabulary).
#[allow(non_camel_case_types)]
pub type llmc_token = u32;

/// A loaded model: weights (memory-mapped), hyper-parameters and tokenizer. Immutable once
/// loaded, so one handle may be used from any number of threads at once (sessions, tokenizer,
/// perplexity). Each session keeps the model alive: `llmc_model_free` may be called while
/// sessions made from it still exist; the model is released with the last of them.
#[allow(non_camel_case_types)]
pub struct llmc_model {
    pub(crate) model: Arc<Model>,
    arch: CString,
    name: CString,
}

// The model handle is shared between threads; the core guarantees it can be.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<Model>()
};

/// A NUL-free C string from text read out of a file.
fn c_string(s: &str) -> CString {
    CString::new(s.replace('\0', " ")).unwrap_or_default()
}

/// Loads a GGUF model (LLaMA or Qwen2 family; safetensors files are read with
/// `llmc_tensors_open`, the runtime runs GGUF only). The file is memory-mapped and must not be
/// modified while the model lives. On success `*out` receives a new handle to release with
/// `llmc_model_free`; on failure `*out` is left untouched: `LLMC_ERR_IO` for a missing file or
/// a directory, `LLMC_ERR_FORMAT` for a truncated or corrupted one (including a count the file
/// cannot hold, such as more layers than tensors, and tensor rows that are not whole
/// quantization blocks), `LLMC_ERR_UNSUPPORTED` for an architecture or a hyper-parameter this
/// runtime does not implement (partial rotary, rotary scaling, sliding window, experts, ...;
/// the message names the key), `LLMC_ERR_MISSING_TENSOR` / `LLMC_ERR_SHAPE` for a tensor the
/// model lacks or that has the wrong shape. No file makes the load allocate more than a small
/// multiple of its size.
#[no_mangle]
pub unsafe extern "C" fn llmc_model_load(
    path: *const c_char,
    out: *mut *mut llmc_model,
) -> llmc_status {
    guard("llmc_model_load", || {
        // SAFETY: the caller passes a NUL-terminated path.
        let path = unsafe { arg_path(path, "path")? };
        let out = out_ptr(out, "out")?;
        let t0 = std::time::Instant::now();
        let model = Model::open(path)?;
        let c = &model.config;
        log(
            LLMC_LOG_INFO,
            &format!(
                "loaded {}: {} '{}', {} layers, d_model {}, vocabulary {}, in {:.0} ms",
                path.display(),
                c.arch.name(),
                c.name,
                c.n_layer,
                c.d_model,
                c.vocab_size,
                t0.elapsed().as_secs_f64() * 1e3
            ),
        );
        let handle = llmc_model {
            arch: c_string(c.arch.name()),
            name: c_string(&c.name),
            model: Arc::new(model),
        };
        // SAFETY: checked non-NULL; written last, on success only.
        unsafe { out.write(Box::into_raw(Box::new(handle))) };
        Ok(())
    })
}

/// Releases a model handle. NULL is a no-op. Sessions made from it stay valid.
#[no_mangle]
pub unsafe extern "C" fn llmc_model_free(model: *mut llmc_model) {
    if !model.is_null() {
        // SAFETY: `model` came from `llmc_model_load` and is freed once (caller's promise).
        let _ = std::panic::catch_unwind(|| drop(unsafe { Box::from_raw(model) }));
    }
}

/// Hyper-parameters of a loaded model. Set `struct_size = sizeof(llmc_model_info)` before
/// calling `llmc_model_get_info`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
#[allow(non_camel_case_types)]
pub struct llmc_model_info {
    pub struct_size: usize,
    /// `general.architecture` ("llama", "qwen2"); owned by the model, valid while it lives.
    pub arch: *const c_char,
    /// `general.name`, or ""; owned by the model, valid while it lives.
    pub name: *const c_char,
    pub n_layer: u32,
    /// Residual width.
    pub d_model: u32,
    /// Hidden width of the MLP.
    pub d_ffn: u32,
    pub n_head: u32,
    /// Key/value heads (grouped-query attention when fewer than `n_head`).
    pub n_kv_head: u32,
    pub head_dim: u32,
    /// Logits per row: the size of one row in `llmc_session_eval`'s output.
    pub vocab_size: u32,
    /// Context length the model was trained for (the most a session may hold).
    pub context_length: u32,
    pub rope_theta: f32,
    pub rms_eps: f32,
    /// Beginning-of-sequence token, or -1 when the model has none.
    pub bos_token: i64,
    /// End-of-sequence token, or -1 when the model has none.
    pub eos_token: i64,
    /// Weights in all tensors (llama.cpp's `llama_model_n_params`). This field and the ones
    /// after it were appended; a struct from the header before them (its `struct_size` ending
    /// at `eos_token`) is filled up to there.
    pub n_params: u64,
    /// Bytes of tensor data, without the file's header and padding (`llama_model_size`).
    pub tensor_bytes: u64,
    /// End-of-turn token (`<|im_end|>`...), or -1: the metadata's, else inferred from token
    /// text (docs/c-api.md, "Vocabulary").
    pub eot_token: i64,
    /// Padding token, or -1.
    pub pad_token: i64,
    /// Tokens that end generation (`llmc_vocab_eog` lists them).
    pub n_eog_tokens: usize,
    /// Whether prompts should start with BOS (`LLMC_TOKENIZE_ADD_SPECIAL` adds it).
    pub add_bos: bool,
}

/// `sizeof(llmc_model_info)` before `n_params` and the fields after it were appended.
const MODEL_INFO_V1_SIZE: usize = std::mem::offset_of!(llmc_model_info, n_params);

/// Fills `*info` (whose `struct_size` the caller set) with the model's hyper-parameters and
/// vocabulary facts.
#[no_mangle]
pub unsafe extern "C" fn llmc_model_get_info(
    model: *const llmc_model,
    info: *mut llmc_model_info,
) -> llmc_status {
    guard("llmc_model_get_info", || {
        // SAFETY: caller passes a live handle and a writable struct.
        let m = unsafe { arg_ref(model, "model")? };
        let (info, size) = unsafe { check_result_or_older(info, &[MODEL_INFO_V1_SIZE], "info")? };
        let c = &m.model.config;
        let tok = m.model.tokenizer();
        let id = |t: Option<u32>| t.map_or(-1, i64::from);
        let value = llmc_model_info {
            struct_size: size_of::<llmc_model_info>(),
            arch: m.arch.as_ptr(),
            name: m.name.as_ptr(),
            n_layer: c.n_layer as u32,
            d_model: c.d_model as u32,
            d_ffn: c.d_ffn as u32,
            n_head: c.n_head as u32,
            n_kv_head: c.n_kv_head as u32,
            head_dim: c.head_dim as u32,
            vocab_size: c.vocab_size as u32,
            context_length: c.context_length as u32,
            rope_theta: c.rope_theta,
            rms_eps: c.rms_eps,
            bos_token: id(tok.bos()),
            eos_token: id(tok.eos()),
            n_params: m.model.file().parameter_count(),
            tensor_bytes: m.model.file().tensor_bytes(),
            eot_token: id(tok.eot()),
            pad_token: id(tok.pad()),
            n_eog_tokens: tok.eog_tokens().len(),
            add_bos: tok.add_bos(),
        };
        // SAFETY: checked above.
        unsafe { write_result(info, size, value) };
        Ok(())
    })
}

/// Writes the number of GGUF metadata pairs into `*count`.
#[no_mangle]
pub unsafe extern "C" fn llmc_model_meta_count(
    model: *const llmc_model,
    count: *mut usize,
) -> llmc_status {
    guard("llmc_model_meta_count", || {
        // SAFETY: caller passes a live handle.
        let m = unsafe { arg_ref(model, "model")? };
        let count = out_ptr(count, "count")?;
        // SAFETY: checked non-NULL.
        unsafe { count.write(m.model.file().metadata.len()) };
        Ok(())
    })
}

/// Writes the key of metadata pair `index` (in file order) NUL-terminated into `buf`
/// (`capacity` bytes) and its length into `*n_out`. A NULL `buf` with capacity 0 asks only
/// for the length.
#[no_mangle]
pub unsafe extern "C" fn llmc_model_meta_key(
    model: *const llmc_model,
    index: usize,
    buf: *mut c_char,
    capacity: usize,
    n_out: *mut usize,
) -> llmc_status {
    guard("llmc_model_meta_key", || {
        // SAFETY: caller passes a live handle.
        let m = unsafe { arg_ref(model, "model")? };
        let meta = &m.model.file().metadata;
        let (key, _) = meta
            .get(index)
            .ok_or_else(|| invalid(format!("metadata index {index} of {}", meta.len())))?;
        // SAFETY: caller's buffer of `capacity` bytes.
        unsafe { write_text(buf, capacity, key.as_bytes(), n_out) }
    })
}

/// Writes the value of metadata `key` as text (numbers in decimal, booleans as true/false,
/// strings as they are, arrays as JSON) NUL-terminated into `buf` and its length into
/// `*n_out`. `LLMC_ERR_MISSING_METADATA` when the key is absent.
#[no_mangle]
pub unsafe extern "C" fn llmc_model_meta_value(
    model: *const llmc_model,
    key: *const c_char,
    buf: *mut c_char,
    capacity: usize,
    n_out: *mut usize,
) -> llmc_status {
    guard("llmc_model_meta_value", || {
        // SAFETY: caller passes a live handle and a NUL-terminated key.
        let m = unsafe { arg_ref(model, "model")? };
        let key = unsafe { arg_cstr(key, "key")? };
        let value = m
            .model
            .file()
            .get(key)
            .ok_or_else(|| runtime::Error::MissingMetadata(key.into()))?;
        let text = match value {
            Value::String(s) => s.clone(),
            v => render(v),
        };
        // SAFETY: caller's buffer of `capacity` bytes.
        unsafe { write_text(buf, capacity, text.as_bytes(), n_out) }
    })
}

/// A metadata value as JSON text.
fn render(v: &Value) -> String {
    use runtime::io::json::Json;
    match v {
        Value::U8(x) => x.to_string(),
        Value::I8(x) => x.to_string(),
        Value::U16(x) => x.to_string(),
        Value::I16(x) => x.to_string(),
        Value::U32(x) => x.to_string(),
        Value::I32(x) => x.to_string(),
        Value::U64(x) => x.to_string(),
        Value::I64(x) => x.to_string(),
        Value::F32(x) => x.to_string(),
        Value::F64(x) => x.to_string(),
        Value::Bool(x) => x.to_string(),
        Value::String(s) => Json::from(s.as_str()).to_string(),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(render).collect();
            format!("[{}]", parts.join(","))
        }
    }
}

/// Tokenizes `text_len` bytes of UTF-8 `text` (no NUL needed) with the model's tokenizer,
/// writing the ids into `tokens` (`capacity` of them) and their count into `*n_tokens`.
/// With `parse_special`, special-token text in `text` (e.g. "<|im_start|>") becomes the special
/// token. No BOS is added. A NULL `tokens` with capacity 0 asks only for the count.
#[no_mangle]
pub unsafe extern "C" fn llmc_tokenize(
    model: *const llmc_model,
    text: *const c_char,
    text_len: usize,
    parse_special: bool,
    tokens: *mut llmc_token,
    capacity: usize,
    n_tokens: *mut usize,
) -> llmc_status {
    guard("llmc_tokenize", || {
        // SAFETY: caller passes a live handle and `text_len` readable bytes.
        let m = unsafe { arg_ref(model, "model")? };
        let text = unsafe { arg_text(text, text_len, "text")? };
        let out = OutList::new(tokens, capacity, n_tokens, "tokens", "n_tokens")?;
        let ids = m.model.tokenizer().encode(text, parse_special)?;
        // SAFETY: caller's buffer of `capacity` tokens.
        unsafe { out.write(&ids, "tokens") }
    })
}

/// Turns `n` token ids back into UTF-8 text (written NUL-terminated into `buf`, its length
/// into `*n_out`). Bytes that do not form valid UTF-8 become U+FFFD.
#[no_mangle]
pub unsafe extern "C" fn llmc_detokenize(
    model: *const llmc_model,
    tokens: *const llmc_token,
    n: usize,
    buf: *mut c_char,
    capacity: usize,
    n_out: *mut usize,
) -> llmc_status {
    guard("llmc_detokenize", || {
        // SAFETY: caller passes a live handle and `n` readable ids.
        let m = unsafe { arg_ref(model, "model")? };
        let tokens = unsafe { arg_slice(tokens, n, "tokens")? };
        let text = m.model.tokenizer().decode(tokens)?;
        // SAFETY: caller's buffer of `capacity` bytes.
        unsafe { write_text(buf, capacity, text.as_bytes(), n_out) }
    })
}

/// Writes the raw bytes of one token (which may be part of a UTF-8 sequence) into `buf`,
/// followed by a NUL, and their count into `*n_out`.
#[no_mangle]
pub unsafe extern "C" fn llmc_token_to_piece(
    model: *const llmc_model,
    token: llmc_token,
    buf: *mut c_char,
    capacity: usize,
    n_out: *mut usize,
) -> llmc_status {
    guard("llmc_token_to_piece", || {
        // SAFETY: caller passes a live handle.
        let m = unsafe { arg_ref(model, "model")? };
        let bytes = m.model.tokenizer().token_bytes(token)?;
        // SAFETY: caller's buffer of `capacity` bytes.
        unsafe { write_text(buf, capacity, bytes, n_out) }
    })
}

/// One message of a conversation: NUL-terminated UTF-8 role ("system", "user", "assistant")
/// and content.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
#[allow(non_camel_case_types)]
pub struct llmc_chat_message {
    pub role: *const c_char,
    pub content: *const c_char,
}

/// Formats `n` messages with the model's chat template (from its GGUF metadata), ending with
/// the assistant's turn opener when `add_generation_prompt`; the text (to tokenize with
/// `parse_special`) goes NUL-terminated into `buf`, its length into `*n_out`.
#[no_mangle]
pub unsafe extern "C" fn llmc_apply_chat_template(
    model: *const llmc_model,
    messages: *const llmc_chat_message,
    n: usize,
    add_generation_prompt: bool,
    buf: *mut c_char,
    capacity: usize,
    n_out: *mut usize,
) -> llmc_status {
    guard("llmc_apply_chat_template", || {
        // SAFETY: caller passes a live handle and `n` messages of NUL-terminated strings.
        let m = unsafe { arg_ref(model, "model")? };
        let messages = unsafe { arg_slice(messages, n, "messages")? };
        let mut pairs = Vec::with_capacity(n);
        for (i, msg) in messages.iter().enumerate() {
            // SAFETY: as above.
            let role = unsafe { arg_cstr(msg.role, &format!("messages[{i}].role"))? };
            let content = unsafe { arg_cstr(msg.content, &format!("messages[{i}].content"))? };
            pairs.push((role, content));
        }
        let text = m
            .model
            .tokenizer()
            .apply_chat_template(&pairs, add_generation_prompt)?;
        // SAFETY: caller's buffer of `capacity` bytes.
        unsafe { write_text(buf, capacity, text.as_bytes(), n_out) }
    })
}
