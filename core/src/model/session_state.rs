//! A session's saved state: its KV cache in a small versioned, self-describing binary format,
//! so that a prefilled prompt can be stored and resumed later, bit for bit.
//!
//! Layout (every integer little-endian):
//!
//! | offset | bytes | field |
//! |---|---|---|
//! | 0 | 8 | magic `LLMCSESS` |
//! | 8 | 4 | format version ([`VERSION`] = 1) |
//! | 12 | 4 | KV type: 1 = f32, 2 = f16 |
//! | 16 | 4 | numeric path: 0 = fast, 1 = exact |
//! | 20 | 4 | the model's layer count |
//! | 24 | 4 | KV heads |
//! | 28 | 4 | head dimension |
//! | 32 | 4 | vocabulary size |
//! | 36 | 4 | model width (`d_model`) |
//! | 40 | 8 | `len`, the tokens held |
//! | 48 | `len * kv_bytes_per_token` | per layer, its keys then its values ([`KvCache::write_state`]) |
//! | end - 32 | 32 | SHA-256 of every byte before it |
//!
//! The model has no stored fingerprint, so its identity is its shape: layers, KV heads, head
//! dimension, vocabulary and width. Loading checks the bytes (a `Format` error with the offset
//! for truncated or corrupt input), then the identity (an invalid-argument error naming the
//! field that differs), then the context, and changes nothing unless all pass.

use super::forward::Numerics;
use super::kv_cache::{KvCache, KvType};
use super::ModelConfig;
use crate::io::sha256::Sha256;
use crate::{Error, Result};
use alloc::format;
use alloc::vec::Vec;

/// The first 8 bytes of every saved state.
pub const MAGIC: [u8; 8] = *b"LLMCSESS";
/// The format version this build writes and reads.
pub const VERSION: u32 = 1;
/// Bytes before the cache rows.
const HEADER: usize = 48;
/// Bytes of the trailing checksum.
const CHECKSUM: usize = 32;
/// The name `Format` errors carry.
const FORMAT: &str = "session state";

/// The identity fields of the header (offsets 12..40), in order, with their names.
fn identity(config: &ModelConfig, kv_type: KvType, numerics: Numerics) -> [(&'static str, u32); 7] {
    let kv = match kv_type {
        KvType::F32 => 1,
        KvType::F16 => 2,
    };
    let path = match numerics {
        Numerics::Fast => 0,
        Numerics::Exact => 1,
    };
    [
        ("KV type (1 = f32, 2 = f16)", kv),
        ("numeric path (0 = fast, 1 = exact)", path),
        ("layer count", config.n_layer as u32),
        ("KV heads", config.n_kv_head as u32),
        ("head dimension", config.head_dim as u32),
        ("vocabulary size", config.vocab_size as u32),
        ("model width", config.d_model as u32),
    ]
}

/// Bytes [`save`] writes for `cache`.
pub fn size(cache: &KvCache) -> usize {
    HEADER + cache.state_bytes() + CHECKSUM
}

/// The saved state of a session of a model shaped `config` whose cache is `cache`.
pub fn save(config: &ModelConfig, cache: &KvCache, numerics: Numerics) -> Vec<u8> {
    let mut out = Vec::with_capacity(size(cache));
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    for (_, v) in identity(config, cache.kv_type(), numerics) {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&(cache.len() as u64).to_le_bytes());
    cache.write_state(&mut out);
    let mut h = Sha256::new();
    h.update(&out);
    out.extend_from_slice(&h.finalize());
    out
}

/// The little-endian u32 at `at` (the caller checked the length).
fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Replaces `cache` with the state in `bytes`, saved by a session of a model shaped `config`
/// on path `numerics`; on any error `cache` is unchanged.
pub fn load(
    config: &ModelConfig,
    cache: &mut KvCache,
    numerics: Numerics,
    bytes: &[u8],
) -> Result<()> {
    if bytes.len() < HEADER + CHECKSUM {
        return Err(Error::format(
            FORMAT,
            bytes.len() as u64,
            format!(
                "truncated: {} bytes, a state has at least {}",
                bytes.len(),
                HEADER + CHECKSUM
            ),
        ));
    }
    if bytes[..8] != MAGIC {
        return Err(Error::format(
            FORMAT,
            0,
            "bad magic (not a saved session state)",
        ));
    }
    let version = u32_at(bytes, 8);
    if version != VERSION {
        return Err(Error::format(
            FORMAT,
            8,
            format!("version {version}; this build reads version {VERSION}"),
        ));
    }
    let len = u64::from_le_bytes(bytes[40..48].try_into().expect("8 bytes"));
    // The length the header implies, from its own shape: 2 (keys, values) * layers * KV heads
    // * head dimension * element size per token.
    let elem = match u32_at(bytes, 12) {
        1 => 4u64,
        2 => 2,
        other => {
            return Err(Error::format(
                FORMAT,
                12,
                format!("KV type {other} (1 or 2)"),
            ))
        }
    };
    let expected = [20, 24, 28]
        .iter()
        .try_fold(2 * elem, |acc, &at| {
            acc.checked_mul(u64::from(u32_at(bytes, at)))
        })
        .and_then(|per_token| per_token.checked_mul(len))
        .and_then(|rows| rows.checked_add((HEADER + CHECKSUM) as u64));
    if expected != Some(bytes.len() as u64) {
        let what = match expected {
            Some(e) if e > bytes.len() as u64 => {
                format!(
                    "truncated: {} bytes, the header's {len} tokens need {e}",
                    bytes.len()
                )
            }
            Some(e) => format!("{} bytes, the header's {len} tokens need {e}", bytes.len()),
            None => format!("a length of {len} tokens overflows"),
        };
        return Err(Error::format(FORMAT, 40, what));
    }
    let body = bytes.len() - CHECKSUM;
    let mut h = Sha256::new();
    h.update(&bytes[..body]);
    if h.finalize()[..] != bytes[body..] {
        return Err(Error::format(
            FORMAT,
            body as u64,
            "checksum mismatch (corrupt state)",
        ));
    }
    for (i, (name, ours)) in identity(config, cache.kv_type(), numerics)
        .into_iter()
        .enumerate()
    {
        let theirs = u32_at(bytes, 12 + 4 * i);
        if theirs != ours {
            return Err(Error::invalid(format!(
                "the state's {name} is {theirs}, this session's is {ours}"
            )));
        }
    }
    cache.read_state(len as usize, &bytes[HEADER..body])
}
