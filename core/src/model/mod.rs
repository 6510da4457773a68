//! Decoder-only transformers (LLaMA and Qwen2 families) over memory-mapped GGUF weights.
//!
//! [`Model`] owns the file and the resolved weights and is shared (`Arc`) by any number of
//! [`Session`]s, each with its own KV cache. Prefill, decode and tree verification all go
//! through [`Model::forward`], which is [`Model::embed`], [`Model::layer_forward`] per layer and
//! [`Model::logits`]; pruning runs those pieces itself, observing each linear operator's input
//! ([`Observer`]) and replacing weights ([`Model::set_linear`]).

pub mod config;
pub mod forward;
pub mod generate;
pub mod kv_cache;
pub mod linear;
pub mod perplexity;
pub mod sampling;
#[cfg(feature = "std")]
pub mod save;
pub mod session;
pub mod session_state;
mod sparsify;
pub mod weights;

pub use config::{Arch, ModelConfig};
pub use forward::{Batch, LogitRows, Mask, Numerics, VisibleSlots};
pub use kv_cache::{KvCache, KvType};
pub use linear::{Linear, LinearInput, Matrix, Observer, OwnedWeight};
pub use session::Session;

use crate::io::gguf::GgufFile;
use crate::kernels::rope::Rope;
use crate::tokenizer::Tokenizer;
use crate::Result;
use weights::Weights;

/// A loaded model: weights (borrowed from the mapped file), hyper-parameters and tokenizer.
pub struct Model {
    file: GgufFile,
    pub config: ModelConfig,
    weights: Weights,
    rope: Rope,
    tokenizer: Tokenizer,
}

impl Model {
    /// Builds a model from a parsed GGUF file, checking every tensor it needs. A file held in
    /// memory loads with `Model::from_gguf(GgufFile::parse(Bytes::from(bytes))?)`.
    ///
    /// Any file gives `Ok` or an [`crate::Error`] naming what is wrong, never a panic, and
    /// nothing is sized by a number the file does not back with bytes (see
    /// [`ModelConfig::from_gguf`] and [`crate::io::gguf`]); `fuzz/fuzz_targets/model_load.rs`
    /// and `tests/model_load_prop.rs` check this.
    pub fn from_gguf(file: GgufFile) -> Result<Model> {
        let config = ModelConfig::from_gguf(&file)?;
        let weights = Weights::resolve(&file, &config)?;
        let tokenizer = Tokenizer::from_gguf(&file)?;
        let rope = Rope::new(config.head_dim, config.rope_theta, config.arch.rope_style());
        Ok(Model {
            file,
            config,
            weights,
            rope,
            tokenizer,
        })
    }

    /// Memory-maps and loads a GGUF model. A path that is a directory (or not a regular file)
    /// is an [`crate::Error::Io`] saying so, naming the path.
    #[cfg(feature = "std")]
    pub fn open(path: impl AsRef<std::path::Path>) -> Result<Model> {
        Model::from_gguf(GgufFile::open(path)?)
    }

    /// The model's tokenizer.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// The underlying GGUF file (metadata, tensors).
    pub fn file(&self) -> &GgufFile {
        &self.file
    }
}
