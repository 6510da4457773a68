//! Byte-level BPE tokenizer built from GGUF `tokenizer.ggml.*` metadata (`model = "gpt2"`).
//!
//! Encoding follows llama.cpp (`llama-vocab.cpp`) step for step:
//! 1. special-token partition: every control (`token_type` 3), user-defined (4) and unknown (2)
//!    token text is cut out of the text as a whole token, longest text first, each occurrence
//!    left to right; with `parse_special == false` only user-defined tokens are cut (control
//!    text is then ordinary text), as in llama.cpp and Hugging Face `tokenizers`;
//! 2. each remaining text fragment is split by the pre-tokenizer named by `tokenizer.ggml.pre`
//!    ([`PreTokenizer`]);
//! 3. each piece is spelled in bytes and merged by BPE rank (module `bpe`); bytes without a
//!    token are dropped (see [`Tokenizer::encode`]).
//!
//! No BOS token is added: both supported models set `add_bos_token = false`; callers that want
//! one prepend [`Tokenizer::bos`].

mod bpe;
mod bytes;
mod chat;
mod pretok;
mod special;
mod stream;
mod unicode_tables;

// `from_gguf` needs `crate::io::gguf` (the GGUF reader); enabled when that module is merged.
mod gguf;

pub use bytes::byte_to_char;
pub use chat::ChatTemplate;
pub use pretok::PreTokenizer;
pub use stream::StreamDecoder;
pub use unicode_tables::UNICODE_VERSION;

use crate::{Error, Result};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use bpe::{Merge, MergeMap, Scratch, TextMap};
use bytes::ByteDecoder;

/// GGUF `tokenizer.ggml.token_type` values (llama.cpp's `llama_token_type`).
pub mod token_type {
    /// An ordinary vocabulary entry, spelled in the byte-level alphabet.
    pub const NORMAL: i32 = 1;
    /// The unknown token.
    pub const UNKNOWN: i32 = 2;
    /// A control token (`<|im_start|>`): only matched in text when special parsing is on.
    pub const CONTROL: i32 = 3;
    /// A user-defined token (`<tool_call>`): always matched in text as a whole.
    pub const USER_DEFINED: i32 = 4;
    /// A reserved, unused slot.
    pub const UNUSED: i32 = 5;
    /// A raw byte token (`<0x0A>`, SentencePiece vocabularies).
    pub const BYTE: i32 = 6;
}

/// The tokenizer metadata of a model, borrowed from wherever it was read (a GGUF file, a test
/// fixture). Field names follow the GGUF `tokenizer.ggml.*` keys.
#[derive(Debug, Clone, Default)]
pub struct Vocab<'a> {
    /// `tokenizer.ggml.model`; only `"gpt2"` (byte-level BPE) is implemented.
    pub model: &'a str,
    /// `tokenizer.ggml.pre`: the pre-tokenizer name.
    pub pre: &'a str,
    /// `tokenizer.ggml.tokens`: token texts; normal tokens in the byte-level alphabet.
    pub tokens: Vec<&'a str>,
    /// `tokenizer.ggml.token_type`, one per token; empty means all normal.
    pub token_types: Vec<i32>,
    /// `tokenizer.ggml.merges`: `"left right"` in rank order.
    pub merges: Vec<&'a str>,
    /// `tokenizer.ggml.bos_token_id`.
    pub bos: Option<u32>,
    /// `tokenizer.ggml.eos_token_id`.
    pub eos: Option<u32>,
    /// `tokenizer.ggml.eot_token_id` (end of turn); inferred from token text when absent.
    pub eot: Option<u32>,
    /// `tokenizer.ggml.eom_token_id` (end of message); inferred from token text when absent.
    pub eom: Option<u32>,
    /// `tokenizer.ggml.padding_token_id`.
    pub pad: Option<u32>,
    /// `tokenizer.ggml.add_bos_token`: whether a prompt should start with BOS (absent = no,
    /// as both supported models say).
    pub add_bos: bool,
    /// `tokenizer.chat_template` (Jinja source), if present.
    pub chat_template: Option<&'a str>,
}

/// A byte-level BPE tokenizer (see the module documentation for the algorithm).
pub struct Tokenizer {
    /// Raw bytes of all tokens, concatenated; token `i` is `bytes[offs[i]..offs[i + 1]]`.
    bytes: Vec<u8>,
    offs: Vec<u32>,
    types: Vec<i32>,
    by_text: TextMap,
    merges: MergeMap,
    /// The token of each single byte.
    byte_token: [u32; 256],
    /// Control, user-defined and unknown tokens, longest text first.
    specials: Vec<u32>,
    pre: PreTokenizer,
    bos: Option<u32>,
    eos: Option<u32>,
    eot: Option<u32>,
    pad: Option<u32>,
    add_bos: bool,
    /// Every token that ends generation, ascending ([`special::infer`]).
    eog: Vec<u32>,
    chat: Option<ChatTemplate>,
    chat_error: Option<String>,
}

/// Marks a byte without a token in [`Tokenizer`]'s byte table.
const NO_TOKEN: u32 = u32::MAX;

/// A piece of the input after the special-token partition.
#[derive(Clone, Copy)]
enum Fragment {
    /// Text bytes `start..end` of the input, to be pre-tokenized and merged.
    Text(usize, usize),
    /// A special token matched as a whole.
    Token(u32),
}

impl Tokenizer {
    /// Build a tokenizer from its metadata.
    ///
    /// Errors: [`Error::Unsupported`] for a model other than `gpt2` or an unknown pre-tokenizer;
    /// [`Error::InvalidArgument`] for inconsistent metadata (token type count, out-of-range
    /// BOS/EOS, a merge without a space). Merges whose parts or result are
    /// not tokens can never fire on token ids and are skipped.
    pub fn from_vocab(v: &Vocab<'_>) -> Result<Tokenizer> {
        if v.model != "gpt2" {
            return Err(Error::Unsupported(format!(
                "tokenizer model '{}' (only byte-level BPE 'gpt2' is implemented)",
                v.model
            )));
        }
        let pre = PreTokenizer::from_name(v.pre).ok_or_else(|| {
            Error::Unsupported(format!(
                "pre-tokenizer '{}' (implemented: gpt2, smollm, qwen2)",
                v.pre
            ))
        })?;
        let n = v.tokens.len();
        if n == 0 || n >= u32::MAX as usize {
            return Err(Error::invalid(format!(
                "tokenizer.ggml.tokens has {n} entries"
            )));
        }
        if !v.token_types.is_empty() && v.token_types.len() != n {
            return Err(Error::invalid(format!(
                "tokenizer.ggml.token_type has {} entries for {n} tokens",
                v.token_types.len()
            )));
        }
        let mut types = if v.token_types.is_empty() {
            alloc::vec![token_type::NORMAL; n]
        } else {
            v.token_types.clone()
        };
        for (key, id) in [
            ("bos_token_id", v.bos),
            ("eos_token_id", v.eos),
            ("eot_token_id", v.eot),
            ("eom_token_id", v.eom),
            ("padding_token_id", v.pad),
        ] {
            if let Some(id) = id.filter(|&id| id as usize >= n) {
                return Err(Error::invalid(format!(
                    "tokenizer.ggml.{key} = {id} >= vocabulary size {n}"
                )));
            }
        }

        // Special tokens implied by their text (end of turn, FIM, end of generation) are control
        // tokens, as llama.cpp makes them.
        let specials_inferred = special::infer(&v.tokens, v.eos, v.eot, v.eom);
        for &id in &specials_inferred.control {
            types[id as usize] = token_type::CONTROL;
        }

        // Raw bytes of every token: byte-level tokens are decoded from the alphabet; control and
        // user-defined tokens (and any text outside the alphabet) are their UTF-8 text.
        let dec = ByteDecoder::new();
        let mut bytes = Vec::with_capacity(v.tokens.iter().map(|t| t.len()).sum());
        let mut offs = Vec::with_capacity(n + 1);
        offs.push(0u32);
        for (i, t) in v.tokens.iter().enumerate() {
            let special = matches!(types[i], token_type::CONTROL | token_type::USER_DEFINED);
            if special || !dec.decode_into(t, &mut bytes) {
                bytes.extend_from_slice(t.as_bytes());
            }
            let end = u32::try_from(bytes.len())
                .map_err(|_| Error::invalid("tokenizer.ggml.tokens exceed 4 GiB of text"))?;
            offs.push(end);
        }
        let text = |id: u32| &bytes[offs[id as usize] as usize..offs[id as usize + 1] as usize];
        let by_text = TextMap::build(n, text);

        // Some vocabularies lack a few byte tokens (SmolLM2 has none for 0x04, 0x06, 0x13, ...,
        // 0xF1, 0xF2 and bytes that never occur in UTF-8); `encode` drops such bytes.
        let mut byte_token = [NO_TOKEN; 256];
        for (b, slot) in byte_token.iter_mut().enumerate() {
            *slot = by_text.get(&[b as u8], text).unwrap_or(NO_TOKEN);
        }

        let mut merges = MergeMap::with_capacity(v.merges.len());
        let mut buf = Vec::new();
        for (rank, m) in v.merges.iter().enumerate() {
            let (l, r) = m.split_once(' ').ok_or_else(|| {
                Error::invalid(format!(
                    "tokenizer.ggml.merges[{rank}] = '{m}' has no space"
                ))
            })?;
            // Both parts and the merged token, as raw bytes: `buf[..split]`, `buf[split..]`, `buf`.
            buf.clear();
            let decoded = dec.decode_into(l, &mut buf);
            let split = buf.len();
            if !(decoded && dec.decode_into(r, &mut buf)) {
                continue;
            }
            let get = |k: &[u8]| by_text.get(k, text);
            if let (Some(li), Some(ri), Some(id)) =
                (get(&buf[..split]), get(&buf[split..]), get(&buf))
            {
                merges.insert(
                    li,
                    ri,
                    Merge {
                        rank: rank as u32,
                        id,
                    },
                );
            }
        }

        let mut specials: Vec<u32> = (0..n as u32)
            .filter(|&i| {
                matches!(
                    types[i as usize],
                    token_type::CONTROL | token_type::USER_DEFINED | token_type::UNKNOWN
                ) && !text(i).is_empty()
            })
            .collect();
        specials.sort_by_key(|&i| core::cmp::Reverse(text(i).len()));

        let (chat, chat_error) = match v.chat_template.map(ChatTemplate::detect) {
            Some(Ok(t)) => (Some(t), None),
            Some(Err(e)) => (None, Some(e.to_string())),
            None => (None, None),
        };
        Ok(Tokenizer {
            bytes,
            offs,
            types,
            by_text,
            merges,
            byte_token,
            specials,
            pre,
            bos: v.bos,
            eos: v.eos,
            eot: specials_inferred.eot,
            pad: v.pad,
            add_bos: v.add_bos,
            eog: specials_inferred.eog,
            chat,
            chat_error,
        })
    }

    fn text(&self, id: u32) -> &[u8] {
        &self.bytes[self.offs[id as usize] as usize..self.offs[id as usize + 1] as usize]
    }

    /// Number of tokens in the vocabulary.
    pub fn vocab_size(&self) -> usize {
        self.types.len()
    }

    /// The beginning-of-sequence token, if the metadata names one.
    pub fn bos(&self) -> Option<u32> {
        self.bos
    }

    /// The end-of-sequence token, if the metadata names one.
    pub fn eos(&self) -> Option<u32> {
        self.eos
    }

    /// The end-of-turn token: the metadata's `eot_token_id`, else inferred from token text
    /// (module `special`: the EOS when its text is an end-of-turn text such as `<|im_end|>`,
    /// else the lowest id with such a text).
    pub fn eot(&self) -> Option<u32> {
        self.eot
    }

    /// The padding token, if the metadata names one.
    pub fn pad(&self) -> Option<u32> {
        self.pad
    }

    /// Whether the model wants BOS at the start of a prompt (`tokenizer.ggml.add_bos_token`).
    pub fn add_bos(&self) -> bool {
        self.add_bos
    }

    /// Whether `id` ends generation: the EOS, the end-of-turn and end-of-message tokens, the
    /// fill-in-the-middle pad / repository / file-separator tokens and every token whose text
    /// is one llama.cpp treats as an end (`<|im_end|>`, `<|endoftext|>`, `<|eot_id|>`, ...).
    pub fn is_eog(&self, id: u32) -> bool {
        self.eog.binary_search(&id).is_ok()
    }

    /// Every token that ends generation ([`Tokenizer::is_eog`]), ascending.
    pub fn eog_tokens(&self) -> &[u32] {
        &self.eog
    }

    /// The GGUF type of token `id` ([`token_type`]; tokens inferred as special are
    /// [`token_type::CONTROL`]); `None` for an out-of-range id.
    pub fn token_type(&self, id: u32) -> Option<i32> {
        self.types.get(id as usize).copied()
    }

    /// The pre-tokenizer in use.
    pub fn pre_tokenizer(&self) -> PreTokenizer {
        self.pre
    }

    /// The id of the token whose raw bytes are exactly `text` (`" hello"`, `"<|im_end|>"`).
    pub fn token_id(&self, text: &str) -> Option<u32> {
        self.by_text.get(text.as_bytes(), |id| self.text(id))
    }

    /// Whether `id` is a control token (`token_type` 3); false for out-of-range ids.
    pub fn is_control(&self, id: u32) -> bool {
        self.types.get(id as usize) == Some(&token_type::CONTROL)
    }

    /// The raw bytes of token `id`: byte-level tokens decoded from the GPT-2 alphabet, control
    /// and user-defined tokens as their text. A token may hold part of a UTF-8 sequence.
    pub fn token_bytes(&self, id: u32) -> Result<&[u8]> {
        if id as usize >= self.vocab_size() {
            return Err(Error::TokenOutOfRange {
                id,
                vocab_size: self.vocab_size(),
            });
        }
        Ok(self.text(id))
    }

    /// Encode `text` to token ids; see the module documentation for the steps. With
    /// `parse_special`, control-token text (`"<|im_start|>"`) becomes that single token.
    /// A byte the vocabulary has no token for is dropped, as llama.cpp and Hugging Face
    /// `tokenizers` do (SmolLM2 lacks the control bytes 0x04, 0x06, 0x13, 0x14, 0x16, 0x1D and
    /// the UTF-8 lead bytes 0xF1, 0xF2); it still keeps its neighbours from merging.
    /// Encoding cannot fail at present; the `Result` leaves room for limits on input size.
    pub fn encode(&self, text: &str, parse_special: bool) -> Result<Vec<u32>> {
        let mut out = Vec::with_capacity(text.len() / 3 + 1);
        let mut pieces = Vec::new();
        let mut ids = Vec::new();
        let mut scratch = Scratch::default();
        for frag in self.partition(text, parse_special) {
            let (start, end) = match frag {
                Fragment::Token(id) => {
                    out.push(id);
                    continue;
                }
                Fragment::Text(s, e) => (s, e),
            };
            pieces.clear();
            self.pre.split(&text[start..end], &mut pieces);
            for &(a, b) in &pieces {
                let word = &text.as_bytes()[start + a..start + b];
                // A byte without a token is dropped but still separates its neighbours, as in
                // llama.cpp (its symbol never merges and has no token to emit).
                for segment in word.split(|&b| self.byte_token[b as usize] == NO_TOKEN) {
                    ids.clear();
                    ids.extend(segment.iter().map(|&b| self.byte_token[b as usize]));
                    bpe::bpe(&self.merges, &ids, &mut scratch, &mut out);
                }
            }
        }
        Ok(out)
    }

    /// [`Tokenizer::encode`] with the BOS token first when the model asks for one
    /// ([`Tokenizer::add_bos`] and a BOS token exist): how a prompt is tokenized with
    /// llama.cpp's `add_special`.
    pub fn encode_prompt(&self, text: &str, parse_special: bool) -> Result<Vec<u32>> {
        let mut ids = self.encode(text, parse_special)?;
        if let (true, Some(bos)) = (self.add_bos, self.bos) {
            ids.insert(0, bos);
        }
        Ok(ids)
    }

    /// Step 1 of encoding: cut special tokens out of `text`, longest first.
    fn partition(&self, text: &str, parse_special: bool) -> Vec<Fragment> {
        if text.is_empty() {
            return Vec::new();
        }
        let mut frags = alloc::vec![Fragment::Text(0, text.len())];
        let mut next = Vec::new();
        for &id in &self.specials {
            if !parse_special && self.types[id as usize] != token_type::USER_DEFINED {
                continue;
            }
            // Special texts are UTF-8 (they come from `&str` tokens), so `find` applies.
            let Ok(pat) = core::str::from_utf8(self.text(id)) else {
                continue;
            };
            next.clear();
            for &f in &frags {
                let Fragment::Text(mut s, e) = f else {
                    next.push(f);
                    continue;
                };
                while let Some(k) = text[s..e].find(pat) {
                    if k > 0 {
                        next.push(Fragment::Text(s, s + k));
                    }
                    next.push(Fragment::Token(id));
                    s += k + pat.len();
                }
                if s < e {
                    next.push(Fragment::Text(s, e));
                }
            }
            core::mem::swap(&mut frags, &mut next);
        }
        frags
    }

    /// Decode ids to text: the concatenated [`Tokenizer::token_bytes`] (control tokens as their
    /// text), with each invalid UTF-8 sequence replaced by U+FFFD as in
    /// `String::from_utf8_lossy`. Errors with [`Error::TokenOutOfRange`] on a bad id.
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        self.decode_with(ids, true)
    }

    /// [`Tokenizer::decode`], with control tokens (`<|im_start|>`, every end-of-generation
    /// token) rendered as their text when `render_control`, as nothing otherwise (llama.cpp's
    /// detokenize without `unparse_special`); user-defined tokens always render.
    pub fn decode_with(&self, ids: &[u32], render_control: bool) -> Result<String> {
        let mut buf = Vec::new();
        for &id in ids {
            let bytes = self.token_bytes(id)?;
            if render_control || !self.is_control(id) {
                buf.extend_from_slice(bytes);
            }
        }
        Ok(String::from_utf8_lossy(&buf).into_owned())
    }

    /// Render a conversation with the model's chat template (see [`ChatTemplate`]):
    /// `messages` are `(role, content)` pairs; `add_generation_prompt` appends the opening of
    /// an assistant turn. Errors with [`Error::Unsupported`] when the model has no template or
    /// one of a family not implemented (the error names it).
    pub fn apply_chat_template(
        &self,
        messages: &[(&str, &str)],
        add_generation_prompt: bool,
    ) -> Result<String> {
        match (&self.chat, &self.chat_error) {
            (Some(t), _) => t.apply(messages, add_generation_prompt),
            (None, Some(e)) => Err(Error::Unsupported(e.clone())),
            (None, None) => Err(Error::Unsupported(
                "the model has no tokenizer.chat_template".into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    /// A byte-level vocabulary: all 256 byte tokens, then "Ġt", "he", "Ġthe", control `<|end|>`,
    /// user-defined `<x>`, "()"; merges "Ġ t", "h e", "Ġt he", "( )".
    fn tiny() -> (Vec<String>, Vec<i32>) {
        let mut toks: Vec<String> = (0..=255u8).map(|b| byte_to_char(b).to_string()).collect();
        for t in ["Ġt", "he", "Ġthe", "<|end|>", "<x>", "()"] {
            toks.push(t.to_string());
        }
        let mut types = vec![token_type::NORMAL; toks.len()];
        types[259] = token_type::CONTROL;
        types[260] = token_type::USER_DEFINED;
        (toks, types)
    }

    fn build(toks: &[String], types: &[i32]) -> Tokenizer {
        let v = Vocab {
            model: "gpt2",
            pre: "gpt2",
            tokens: toks.iter().map(|s| s.as_str()).collect(),
            token_types: types.to_vec(),
            merges: vec!["Ġ t", "h e", "Ġt he", "( )"],
            bos: None,
            eos: Some(259),
            ..Default::default()
        };
        Tokenizer::from_vocab(&v).unwrap()
    }

    #[test]
    fn encode_decode_tiny() {
        let (toks, types) = tiny();
        let t = build(&toks, &types);
        assert_eq!(t.vocab_size(), 262);
        assert_eq!(t.token_bytes(258).unwrap(), b" the");
        assert_eq!(t.token_id(" the"), Some(258));
        assert_eq!(t.encode("a the", false).unwrap(), [b'a' as u32, 258]);
        // "the" without a leading space: only "h e" applies.
        assert_eq!(t.encode("the", false).unwrap(), [b't' as u32, 257]);
        // Control text is split as plain text unless parse_special.
        assert_eq!(t.encode("<|end|>", true).unwrap(), [259]);
        // "<|", "end", "|>" as bytes: no merges apply.
        assert_eq!(
            t.encode("<|end|>", false).unwrap(),
            "<|end|>".bytes().map(u32::from).collect::<Vec<_>>()
        );
        // User-defined tokens are matched either way.
        assert_eq!(t.encode("a<x>", false).unwrap(), [b'a' as u32, 260]);
        assert!(t.is_control(259) && !t.is_control(260) && !t.is_control(9999));
        assert_eq!(t.decode(&[b'a' as u32, 258, 259]).unwrap(), "a the<|end|>");
        assert_eq!(
            t.decode(&[300]),
            Err(Error::TokenOutOfRange {
                id: 300,
                vocab_size: 262
            })
        );
        // A lone UTF-8 lead byte decodes to U+FFFD.
        assert_eq!(t.decode(&[0xE4, b'a' as u32]).unwrap(), "\u{FFFD}a");
        assert_eq!(t.encode("", true).unwrap(), Vec::<u32>::new());
        let s = "naïve 東京 🙂 x";
        assert_eq!(t.decode(&t.encode(s, true).unwrap()).unwrap(), s);
    }

    proptest::proptest! {
        /// With every byte in the vocabulary, decode inverts encode; streaming any id sequence
        /// gives the same text as decoding it at once.
        #[test]
        fn round_trip_and_stream(text in "\\PC{0,30}|[ \t\n<|end>x'a-z0-9]{0,30}",
                                 ids in proptest::collection::vec(0u32..262, 0..20)) {
            let (toks, types) = tiny();
            let t = build(&toks, &types);
            for special in [true, false] {
                let enc = t.encode(&text, special).unwrap();
                proptest::prop_assert_eq!(t.decode(&enc).unwrap(), text.clone());
            }
            let mut stream = StreamDecoder::new();
            let mut streamed = String::new();
            for &id in &ids {
                streamed += &stream.push(&t, id).unwrap();
            }
            streamed += &stream.finish();
            proptest::prop_assert_eq!(streamed, t.decode(&ids).unwrap());
        }
    }

    #[test]
    fn missing_byte_token() {
        let (mut toks, types) = tiny();
        toks[0x04] = "unused".into();
        let t = build(&toks, &types);
        assert_eq!(t.encode("()", false).unwrap(), [261]);
        // "(\u{4})" is one piece; the dropped byte keeps "(" and ")" from merging.
        assert_eq!(
            t.encode("(\u{4})", false).unwrap(),
            [b'(' as u32, b')' as u32]
        );
        assert_eq!(t.encode(" \u{4}", false).unwrap(), [b' ' as u32]);
    }

    #[test]
    fn rejects_bad_metadata() {
        let (toks, types) = tiny();
        let good = Vocab {
            model: "gpt2",
            pre: "gpt2",
            tokens: toks.iter().map(|s| s.as_str()).collect(),
            token_types: types.clone(),
            ..Vocab::default()
        };
        assert!(Tokenizer::from_vocab(&good).is_ok());
        let bad = |f: &dyn Fn(&mut Vocab)| {
            let mut v = good.clone();
            f(&mut v);
            Tokenizer::from_vocab(&v).err().unwrap()
        };
        assert!(
            matches!(bad(&|v| v.model = "llama"), Error::Unsupported(m) if m.contains("llama"))
        );
        assert!(
            matches!(bad(&|v| v.pre = "deepseek-coder"), Error::Unsupported(m) if m.contains("deepseek"))
        );
        assert!(matches!(
            bad(&|v| v.token_types.pop().map(drop).unwrap()),
            Error::InvalidArgument(_)
        ));
        assert!(matches!(
            bad(&|v| v.eos = Some(262)),
            Error::InvalidArgument(_)
        ));
        assert!(
            matches!(bad(&|v| v.merges = vec!["ab"]), Error::InvalidArgument(m) if m.contains("merges[0]"))
        );
    }
}
