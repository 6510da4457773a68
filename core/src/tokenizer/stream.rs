//! Incremental detokenization: tokens may end in the middle of a UTF-8 sequence (byte-level BPE
//! splits multi-byte characters), so text is released only once its bytes are complete.

use super::Tokenizer;
use crate::Result;
use alloc::string::String;
use alloc::vec::Vec;

/// Accumulates token bytes and yields complete UTF-8 text. An incomplete sequence at the end
/// is held back until more bytes arrive; bytes that can never form a character become U+FFFD
/// (one per maximal invalid subsequence, as `String::from_utf8_lossy` does), so the
/// concatenation of every `push` and the final `finish` equals [`Tokenizer::decode`] of all ids.
#[derive(Debug, Default, Clone)]
pub struct StreamDecoder {
    pending: Vec<u8>,
}

impl StreamDecoder {
    /// A decoder with nothing pending.
    pub fn new() -> StreamDecoder {
        StreamDecoder::default()
    }

    /// Add token `id`; returns the text that became complete (possibly empty). Errors with
    /// [`crate::Error::TokenOutOfRange`] on a bad id, leaving the pending bytes unchanged.
    pub fn push(&mut self, tokenizer: &Tokenizer, id: u32) -> Result<String> {
        self.pending.extend_from_slice(tokenizer.token_bytes(id)?);
        let mut out = String::new();
        let mut start = 0;
        loop {
            match core::str::from_utf8(&self.pending[start..]) {
                Ok(s) => {
                    out.push_str(s);
                    start = self.pending.len();
                    break;
                }
                Err(e) => {
                    let valid = e.valid_up_to();
                    // The first `valid` bytes are valid UTF-8 by definition of `valid_up_to`.
                    out.push_str(
                        core::str::from_utf8(&self.pending[start..start + valid]).unwrap_or(""),
                    );
                    start += valid;
                    match e.error_len() {
                        // Invalid bytes: replace and continue after them.
                        Some(len) => {
                            out.push(char::REPLACEMENT_CHARACTER);
                            start += len;
                        }
                        // An incomplete sequence at the end: wait for more bytes.
                        None => break,
                    }
                }
            }
        }
        self.pending.drain(..start);
        Ok(out)
    }

    /// End of stream: the held-back bytes, lossily decoded.
    pub fn finish(&mut self) -> String {
        let s = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        s
    }
}
