//! [`Tokenizer::from_gguf`]: read the `tokenizer.*` metadata of a GGUF file.

use super::{Tokenizer, Vocab};
use crate::io::gguf::GgufFile;
use crate::Result;

impl Tokenizer {
    /// Build the tokenizer described by a GGUF file's metadata: `tokenizer.ggml.model`, `.pre`,
    /// `.tokens`, `.merges` (required), `.token_type`, `.bos_token_id`, `.eos_token_id`, `.eot_token_id`, `.eom_token_id`,
    /// `.padding_token_id`, `.add_bos_token` and
    /// `tokenizer.chat_template` (optional). A key that is present with the wrong type is an
    /// [`crate::Error::MissingMetadata`] error; see [`Tokenizer::from_vocab`] for the rest.
    pub fn from_gguf(f: &GgufFile) -> Result<Tokenizer> {
        let optional_id = |key: &str| f.get(key).map(|_| f.get_u32(key)).transpose();
        let token_types = match f.get("tokenizer.ggml.token_type") {
            Some(_) => f.get_i32_array("tokenizer.ggml.token_type")?,
            None => alloc::vec::Vec::new(),
        };
        let chat_template = match f.get("tokenizer.chat_template") {
            Some(_) => Some(f.get_str("tokenizer.chat_template")?),
            None => None,
        };
        let vocab = Vocab {
            model: f.get_str("tokenizer.ggml.model")?,
            pre: f.get_str("tokenizer.ggml.pre")?,
            tokens: f.get_str_array("tokenizer.ggml.tokens")?,
            token_types,
            merges: f.get_str_array("tokenizer.ggml.merges")?,
            bos: optional_id("tokenizer.ggml.bos_token_id")?,
            eos: optional_id("tokenizer.ggml.eos_token_id")?,
            eot: optional_id("tokenizer.ggml.eot_token_id")?,
            eom: optional_id("tokenizer.ggml.eom_token_id")?,
            pad: optional_id("tokenizer.ggml.padding_token_id")?,
            add_bos: match f.get("tokenizer.ggml.add_bos_token") {
                Some(_) => f.get_bool("tokenizer.ggml.add_bos_token")?,
                None => false,
            },
            chat_template,
        };
        Tokenizer::from_vocab(&vocab)
    }
}
