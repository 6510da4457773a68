//! Vocabulary facts beyond `llmc_model_info`: each token's attributes, the tokens that end
//! generation, and tokenizing / detokenizing with the special-token options of llama.h's
//! `llama_tokenize` (`add_special`, `parse_special`) and `llama_detokenize` (control tokens
//! rendered or dropped).

use crate::boundary::{arg_ref, arg_slice, arg_text, guard, invalid, out_ptr, write_text, OutList};
use crate::model::{llmc_model, llmc_token};
use crate::status::llmc_status;
use runtime::tokenizer::token_type;
use std::ffi::c_char;

/// Attribute bits of a token (`llmc_token_attributes`).
#[allow(non_camel_case_types)]
pub type llmc_token_attr = u32;
/// An ordinary vocabulary entry.
pub const LLMC_TOKEN_ATTR_NORMAL: llmc_token_attr = 1;
/// A control token (`<|im_start|>`, `<|im_end|>`): matched in text only with special parsing,
/// dropped by `llmc_detokenize_opts` with `LLMC_DETOKENIZE_SKIP_CONTROL`.
pub const LLMC_TOKEN_ATTR_CONTROL: llmc_token_attr = 2;
/// A user-defined token (`<tool_call>`): always matched in text as a whole, always rendered.
pub const LLMC_TOKEN_ATTR_USER_DEFINED: llmc_token_attr = 4;
/// The unknown token.
pub const LLMC_TOKEN_ATTR_UNKNOWN: llmc_token_attr = 8;
/// A reserved, unused slot.
pub const LLMC_TOKEN_ATTR_UNUSED: llmc_token_attr = 16;
/// A raw byte token (`<0x0A>`).
pub const LLMC_TOKEN_ATTR_BYTE: llmc_token_attr = 32;
/// The token ends generation (`llmc_generate` stops at it): the EOS, the end-of-turn token and
/// the others `llmc_vocab_eog` lists.
pub const LLMC_TOKEN_ATTR_EOG: llmc_token_attr = 64;

/// Writes the attributes of `token` (`LLMC_TOKEN_ATTR_*` bits: exactly one of NORMAL,
/// CONTROL, USER_DEFINED, UNKNOWN, UNUSED, BYTE, plus EOG when it ends generation) into
/// `*attr`. `LLMC_ERR_TOKEN_OUT_OF_RANGE` for an id past the vocabulary.
#[no_mangle]
pub unsafe extern "C" fn llmc_token_attributes(
    model: *const llmc_model,
    token: llmc_token,
    attr: *mut llmc_token_attr,
) -> llmc_status {
    guard("llmc_token_attributes", || {
        // SAFETY: caller passes a live handle.
        let m = unsafe { arg_ref(model, "model")? };
        let attr = out_ptr(attr, "attr")?;
        let tok = m.model.tokenizer();
        let ty = tok
            .token_type(token)
            .ok_or(runtime::Error::TokenOutOfRange {
                id: token,
                vocab_size: tok.vocab_size(),
            })?;
        let kind = match ty {
            token_type::CONTROL => LLMC_TOKEN_ATTR_CONTROL,
            token_type::USER_DEFINED => LLMC_TOKEN_ATTR_USER_DEFINED,
            token_type::UNKNOWN => LLMC_TOKEN_ATTR_UNKNOWN,
            token_type::UNUSED => LLMC_TOKEN_ATTR_UNUSED,
            token_type::BYTE => LLMC_TOKEN_ATTR_BYTE,
            _ => LLMC_TOKEN_ATTR_NORMAL,
        };
        let eog = if tok.is_eog(token) {
            LLMC_TOKEN_ATTR_EOG
        } else {
            0
        };
        // SAFETY: checked non-NULL; written on success only.
        unsafe { attr.write(kind | eog) };
        Ok(())
    })
}

/// Writes every token that ends generation (ascending) into `tokens` (`capacity` of them) and
/// their number into `*n_out` (also `llmc_model_info.n_eog_tokens`). A NULL `tokens` with
/// capacity 0 asks only for the count.
#[no_mangle]
pub unsafe extern "C" fn llmc_vocab_eog(
    model: *const llmc_model,
    tokens: *mut llmc_token,
    capacity: usize,
    n_out: *mut usize,
) -> llmc_status {
    guard("llmc_vocab_eog", || {
        // SAFETY: caller passes a live handle and `capacity` writable ids.
        let m = unsafe { arg_ref(model, "model")? };
        let out = OutList::new(tokens, capacity, n_out, "tokens", "n_out")?;
        // SAFETY: caller's buffer of `capacity` ids.
        unsafe { out.write(m.model.tokenizer().eog_tokens(), "tokens") }
    })
}

/// Options of `llmc_tokenize_opts` (bits).
#[allow(non_camel_case_types)]
pub type llmc_tokenize_flags = u32;
/// Special-token text ("<|im_start|>") becomes that token (`llmc_tokenize`'s `parse_special`).
pub const LLMC_TOKENIZE_PARSE_SPECIAL: llmc_tokenize_flags = 1;
/// Start with BOS when the model asks for it (`llmc_model_info.add_bos`; llama.cpp's
/// `add_special`).
pub const LLMC_TOKENIZE_ADD_SPECIAL: llmc_tokenize_flags = 2;

/// `llmc_tokenize` with options (`LLMC_TOKENIZE_*` bits; any other bit is
/// `LLMC_ERR_INVALID_ARGUMENT`).
#[no_mangle]
pub unsafe extern "C" fn llmc_tokenize_opts(
    model: *const llmc_model,
    text: *const c_char,
    text_len: usize,
    flags: llmc_tokenize_flags,
    tokens: *mut llmc_token,
    capacity: usize,
    n_tokens: *mut usize,
) -> llmc_status {
    guard("llmc_tokenize_opts", || {
        // SAFETY: caller passes a live handle and `text_len` readable bytes.
        let m = unsafe { arg_ref(model, "model")? };
        let text = unsafe { arg_text(text, text_len, "text")? };
        let out = OutList::new(tokens, capacity, n_tokens, "tokens", "n_tokens")?;
        let known = LLMC_TOKENIZE_PARSE_SPECIAL | LLMC_TOKENIZE_ADD_SPECIAL;
        if flags & !known != 0 {
            return Err(invalid(format!(
                "flags {flags:#x} has bits other than LLMC_TOKENIZE_*"
            )));
        }
        let tok = m.model.tokenizer();
        let parse = flags & LLMC_TOKENIZE_PARSE_SPECIAL != 0;
        let ids = if flags & LLMC_TOKENIZE_ADD_SPECIAL != 0 {
            tok.encode_prompt(text, parse)?
        } else {
            tok.encode(text, parse)?
        };
        // SAFETY: caller's buffer of `capacity` tokens.
        unsafe { out.write(&ids, "tokens") }
    })
}

/// Options of `llmc_detokenize_opts` (bits).
#[allow(non_camel_case_types)]
pub type llmc_detokenize_flags = u32;
/// Control tokens (`<|im_start|>`, `<|im_end|>`, every end-of-generation token) render as
/// nothing instead of their text (llama.cpp's detokenize without `unparse_special`);
/// user-defined tokens still render.
pub const LLMC_DETOKENIZE_SKIP_CONTROL: llmc_detokenize_flags = 1;

/// `llmc_detokenize` with options (`LLMC_DETOKENIZE_*` bits; any other bit is
/// `LLMC_ERR_INVALID_ARGUMENT`).
#[no_mangle]
pub unsafe extern "C" fn llmc_detokenize_opts(
    model: *const llmc_model,
    tokens: *const llmc_token,
    n: usize,
    flags: llmc_detokenize_flags,
    buf: *mut c_char,
    capacity: usize,
    n_out: *mut usize,
) -> llmc_status {
    guard("llmc_detokenize_opts", || {
        // SAFETY: caller passes a live handle and `n` readable ids.
        let m = unsafe { arg_ref(model, "model")? };
        let tokens = unsafe { arg_slice(tokens, n, "tokens")? };
        if flags & !LLMC_DETOKENIZE_SKIP_CONTROL != 0 {
            return Err(invalid(format!(
                "flags {flags:#x} has bits other than LLMC_DETOKENIZE_*"
            )));
        }
        let render_control = flags & LLMC_DETOKENIZE_SKIP_CONTROL == 0;
        let text = m.model.tokenizer().decode_with(tokens, render_control)?;
        // SAFETY: caller's buffer of `capacity` bytes.
        unsafe { write_text(buf, capacity, text.as_bytes(), n_out) }
    })
}
