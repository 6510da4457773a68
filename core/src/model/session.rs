//! A conversation with a model: its KV cache (and the type it stores) and the numeric path it
//! runs on.

use super::forward::{Batch, LogitRows, Numerics};
use super::kv_cache::{KvCache, KvType};
use super::session_state;
use super::Model;
use crate::{Error, Result};
use alloc::format;
use alloc::sync::Arc;
use alloc::vec::Vec;

/// One KV cache over a shared model. Sessions over the same [`Model`] are independent and may
/// run on different threads.
pub struct Session {
    model: Arc<Model>,
    cache: KvCache,
    numerics: Numerics,
}

impl Session {
    /// A session with room for `n_ctx` tokens (0 = the model's training context) whose cache
    /// stores the numeric path's default type ([`KvType::default_for`]: f16 on the fast path,
    /// f32 on the exact one).
    pub fn new(model: Arc<Model>, n_ctx: usize, numerics: Numerics) -> Result<Session> {
        Session::with_kv_type(model, n_ctx, numerics, KvType::default_for(numerics))
    }

    /// [`Session::new`] with the cache storing `kv_type`.
    pub fn with_kv_type(
        model: Arc<Model>,
        n_ctx: usize,
        numerics: Numerics,
        kv_type: KvType,
    ) -> Result<Session> {
        let cfg = &model.config;
        let n_ctx = if n_ctx == 0 {
            cfg.context_length
        } else {
            n_ctx
        };
        if n_ctx > cfg.context_length {
            return Err(Error::invalid(format!(
                "context of {n_ctx} tokens exceeds the model's {}",
                cfg.context_length
            )));
        }
        let cache = KvCache::new(cfg.n_layer, cfg.kv_dim(), n_ctx, kv_type);
        Ok(Session {
            model,
            cache,
            numerics,
        })
    }

    /// The model this session runs.
    pub fn model(&self) -> &Arc<Model> {
        &self.model
    }

    /// The numeric path of this session.
    pub fn numerics(&self) -> Numerics {
        self.numerics
    }

    /// The type the KV cache stores keys and values in.
    pub fn kv_type(&self) -> KvType {
        self.cache.kv_type()
    }

    /// Bytes of KV cache one token takes (keys and values of every layer).
    pub fn kv_bytes_per_token(&self) -> usize {
        self.cache.bytes_per_token()
    }

    /// Tokens held in the cache.
    pub fn len(&self) -> usize {
        self.cache.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.cache.is_empty()
    }

    /// Context capacity in tokens.
    pub fn capacity(&self) -> usize {
        self.cache.capacity()
    }

    /// Appends `tokens` at the next positions (causal) and returns the logits of `rows`.
    pub fn eval(&mut self, tokens: &[u32], rows: LogitRows<'_>) -> Result<Vec<f32>> {
        let start = self.cache.len() as u32;
        let positions: Vec<u32> = (start..start + tokens.len() as u32).collect();
        self.eval_batch(&Batch::causal(tokens, &positions), rows)
    }

    /// Evaluates an arbitrary batch (explicit positions and mask).
    pub fn eval_batch(&mut self, batch: &Batch<'_>, rows: LogitRows<'_>) -> Result<Vec<f32>> {
        self.model
            .forward(&mut self.cache, batch, self.numerics, rows)
    }

    /// Evaluates a batch without the output head: the residual rows after the last layer
    /// ([`Model::forward_hidden`]); [`Session::logits`] gives any row's logits.
    pub fn eval_hidden(&mut self, batch: &Batch<'_>) -> Result<Vec<f32>> {
        self.model
            .forward_hidden(&mut self.cache, batch, self.numerics)
    }

    /// The logits of rows `rows` of residual rows `hidden` from [`Session::eval_hidden`].
    pub fn logits(&self, hidden: &[f32], rows: &[usize]) -> Result<Vec<f32>> {
        self.model.logits(hidden, rows, self.numerics)
    }

    /// Forgets every token from `len` on.
    pub fn truncate(&mut self, len: usize) -> Result<()> {
        self.cache.truncate(len)
    }

    /// Keeps the first `base` tokens and then the slots in `keep` (see [`KvCache::compact`]).
    pub fn compact(&mut self, base: usize, keep: &[usize]) -> Result<()> {
        self.cache.compact(base, keep)
    }

    /// An independent copy of this session: same model, numeric path and KV type, and a deep
    /// copy of the cache (prefill a shared prompt once, fork, continue each fork its own way).
    /// Running out of memory for the copy is an error.
    pub fn fork(&self) -> Result<Session> {
        Ok(Session {
            model: self.model.clone(),
            cache: self.cache.try_clone()?,
            numerics: self.numerics,
        })
    }

    /// Bytes [`Session::save_state`] returns.
    pub fn state_size(&self) -> usize {
        session_state::size(&self.cache)
    }

    /// The cache in the [`session_state`] format, for [`Session::load_state`] later.
    pub fn save_state(&self) -> Vec<u8> {
        session_state::save(&self.model.config, &self.cache, self.numerics)
    }

    /// Replaces the cache with a state from [`Session::save_state`] of a session of the same
    /// model shape, KV type and numeric path, holding no more tokens than this context. On
    /// any error (a `Format` error with the offset for truncated or corrupt bytes, an invalid
    /// argument naming a mismatch, a context overflow) the session is unchanged.
    pub fn load_state(&mut self, bytes: &[u8]) -> Result<()> {
        session_state::load(&self.model.config, &mut self.cache, self.numerics, bytes)
    }

    /// Writes [`Session::save_state`] to `path`, whole or not at all
    /// ([`crate::io::atomic::write_atomic`]).
    #[cfg(feature = "std")]
    pub fn save_state_file(&self, path: &std::path::Path) -> Result<()> {
        crate::io::atomic::write_atomic(path, &self.save_state())
    }

    /// [`Session::load_state`] from the file at `path`; I/O failures are [`Error::Io`].
    #[cfg(feature = "std")]
    pub fn load_state_file(&mut self, path: &std::path::Path) -> Result<()> {
        use alloc::string::ToString;
        let bytes = std::fs::read(path).map_err(|e| Error::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        self.load_state(&bytes)
    }

    /// Empties the cache.
    pub fn clear(&mut self) {
        self.cache.truncate(0).expect("0 is always a valid length");
    }
}
