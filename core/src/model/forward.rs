//! The decoder forward pass: one code path for prefill, decode and tree verification.
//!
//! A [`Batch`] carries new tokens, their explicit positions and, for each, the cache slots it
//! attends to. The new tokens' keys and values go to the slots right after the cache's filled
//! ones, so new token `i` lives in slot `cache.len() + i`. Every kernel is row-independent, so a
//! token's logits are bit-identical whichever batch it is evaluated in.

use super::kv_cache::{KvCache, KvLayer};
use super::linear::{Linear, LinearInput, Matrix, Observer};
use super::Model;
use crate::io::gguf::GgufFile;
use crate::kernels::activation::swiglu;
pub use crate::kernels::attention::VisibleSlots;
use crate::kernels::attention::{attention_row, KvElement};
use crate::kernels::matmul::{matmul_exact, matmul_quantized, quantize_rows, QuantizedRows};
use crate::kernels::norm::rms_norm;
use crate::tensor::quant::{dequantize_row, vec_dot_type};
use crate::{Error, Result};
use alloc::format;
use alloc::vec;
use alloc::vec::Vec;

/// Which numeric path the matrix products take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Numerics {
    /// Activations quantized to 8-bit blocks against the quantized weights, integer dot
    /// products (as llama.cpp computes).
    #[default]
    Fast,
    /// f32 activations against dequantized weights: the reference path.
    Exact,
}

/// Which cache slots each new token attends to. Every form gives each new token a
/// [`VisibleSlots`] set, a shared prefix `0..prefix` plus extra slots after it, so no form
/// needs a list of the prefix's slots.
#[derive(Debug, Clone, Copy)]
pub enum Mask<'a> {
    /// New token `i` sees every filled slot and the new tokens `0..=i`: the prefix
    /// `0..cache.len() + i + 1` and no extra slot.
    Causal,
    /// New token `i` sees `rows[i]` (every slot below `cache.len() + n`), e.g. for draft-tree
    /// verification the cache before the tree as the prefix and the node's ancestors in the
    /// tree and itself as the extra slots.
    Rows(&'a [VisibleSlots<'a>]),
    /// New token `i` sees exactly the slots `visible[i]` (ascending, each below
    /// `cache.len() + n`). Read as [`Mask::Rows`] without copying: a list's leading run
    /// `0, 1, 2, ..` is the prefix, the rest are the extra slots.
    Visible(&'a [Vec<u32>]),
}

impl<'a> Mask<'a> {
    /// The slots new token `i` sees when the cache held `base` slots before the batch.
    /// `i` must be a row of the batch (checked by [`Model::forward`] before it asks).
    pub fn row(&self, i: usize, base: usize) -> VisibleSlots<'a> {
        match *self {
            Mask::Causal => VisibleSlots {
                prefix: base + i + 1,
                extra: &[],
            },
            Mask::Rows(rows) => rows[i],
            Mask::Visible(lists) => VisibleSlots::from_ascending(&lists[i]),
        }
    }
}

/// New tokens for one forward pass.
#[derive(Debug, Clone, Copy)]
pub struct Batch<'a> {
    pub tokens: &'a [u32],
    /// Rotary position of each token.
    pub positions: &'a [u32],
    pub mask: Mask<'a>,
}

impl<'a> Batch<'a> {
    /// Tokens at consecutive positions from `start`, causal.
    pub fn causal(tokens: &'a [u32], positions: &'a [u32]) -> Self {
        Batch {
            tokens,
            positions,
            mask: Mask::Causal,
        }
    }
}

/// Which of the new tokens get logits.
#[derive(Debug, Clone, Copy)]
pub enum LogitRows<'a> {
    /// Only the last token (decoding).
    Last,
    /// Every new token (perplexity, tree verification).
    All,
    /// These new-token indices, in this order.
    Some(&'a [usize]),
}

/// Runs `f(i, row)` over the `width`-wide rows of `out`, in parallel under `std`.
fn for_each_row<F>(out: &mut [f32], width: usize, f: F)
where
    F: Fn(usize, &mut [f32]) + Sync + Send,
{
    #[cfg(feature = "std")]
    {
        use rayon::prelude::*;
        out.par_chunks_mut(width)
            .enumerate()
            .for_each(|(i, row)| f(i, row));
    }
    #[cfg(not(feature = "std"))]
    for (i, row) in out.chunks_mut(width).enumerate() {
        f(i, row);
    }
}

/// y_j = x W_j^T for several matrices sharing the input `x` (`n` rows), each weight read from
/// its storage (`file` backs the mapped ones). On the fast path the activations are quantized
/// once per activation block type.
fn project(
    numerics: Numerics,
    file: &GgufFile,
    x: &[f32],
    n: usize,
    outputs: &mut [(&Matrix, &mut [f32])],
) -> Result<()> {
    let mut quantized: Option<(crate::tensor::GgmlType, QuantizedRows)> = None;
    for (m, y) in outputs.iter_mut() {
        let w = match m.dense_view(file) {
            Some(w) => w,
            None => {
                let Matrix::Sparse(s) = m else {
                    unreachable!("mapped and owned matrices have a dense view")
                };
                match numerics {
                    Numerics::Exact => s.matmul(x, n, y)?,
                    Numerics::Fast => s.matmul_fast(x, n, y)?,
                }
                continue;
            }
        };
        match numerics {
            Numerics::Exact => matmul_exact(&w, x, n, y)?,
            Numerics::Fast => {
                let act = vec_dot_type(w.ty);
                if quantized.as_ref().is_none_or(|(t, _)| *t != act) {
                    quantized = Some((act, quantize_rows(w.ty, x, n, w.cols)?));
                }
                let (_, xq) = quantized.as_ref().expect("set above");
                matmul_quantized(&w, xq, y)?;
            }
        }
    }
    Ok(())
}

/// The activations of one decoder layer for `n` tokens, allocated once per forward and reused
/// by every layer.
struct LayerScratch {
    h: Vec<f32>,
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    attn: Vec<f32>,
    gate: Vec<f32>,
    up: Vec<f32>,
    hidden: Vec<f32>,
    delta: Vec<f32>,
}

impl LayerScratch {
    fn new(cfg: &super::ModelConfig, n: usize) -> Self {
        let q_dim = cfg.n_head * cfg.head_dim;
        LayerScratch {
            h: vec![0.0; n * cfg.d_model],
            q: vec![0.0; n * q_dim],
            k: vec![0.0; n * cfg.kv_dim()],
            v: vec![0.0; n * cfg.kv_dim()],
            attn: vec![0.0; n * q_dim],
            gate: vec![0.0; n * cfg.d_ffn],
            up: vec![0.0; n * cfg.d_ffn],
            hidden: vec![0.0; n * cfg.d_ffn],
            delta: vec![0.0; n * cfg.d_model],
        }
    }
}

impl Model {
    /// Evaluates `batch`, appending its keys and values to `cache`, and returns the logits of
    /// the rows chosen by `rows` (`vocab_size` floats each, in that order): [`Model::embed`],
    /// then [`Model::layer_forward`] for every layer, then [`Model::logits`].
    ///
    /// Errors (nothing is written to the cache): a token id out of range, mismatched lengths,
    /// a bad mask, or more slots than the cache holds.
    pub fn forward(
        &self,
        cache: &mut KvCache,
        batch: &Batch<'_>,
        numerics: Numerics,
        rows: LogitRows<'_>,
    ) -> Result<Vec<f32>> {
        self.forward_layers(cache, batch, numerics, rows, self.weights.layers.len())
    }

    /// [`Model::forward`] through the first `layers` decoder layers only, then the final norm
    /// and the output head: the self-draft of speculative decoding (the model's own first
    /// layers, no second copy of any weight). `cache` needs at least `layers` layers.
    pub fn forward_layers(
        &self,
        cache: &mut KvCache,
        batch: &Batch<'_>,
        numerics: Numerics,
        rows: LogitRows<'_>,
        layers: usize,
    ) -> Result<Vec<f32>> {
        let have = self.weights.layers.len();
        if layers == 0 || layers > have {
            return Err(Error::invalid(format!(
                "a forward through {layers} layers of a model with {have} (1..={have})"
            )));
        }
        if cache.n_layer() < layers {
            return Err(Error::invalid(format!(
                "a forward through {layers} layers over a KV cache of {}",
                cache.n_layer()
            )));
        }
        in_pool(|| self.forward_in_pool(cache, batch, numerics, rows, layers))
    }

    /// [`Model::forward_layers`], on whatever thread calls it.
    fn forward_in_pool(
        &self,
        cache: &mut KvCache,
        batch: &Batch<'_>,
        numerics: Numerics,
        rows: LogitRows<'_>,
        layers: usize,
    ) -> Result<Vec<f32>> {
        let n = batch.tokens.len();
        self.check_batch(cache, batch)?;
        let out_rows: Vec<usize> = match rows {
            LogitRows::Last => vec![n - 1],
            LogitRows::All => (0..n).collect(),
            LogitRows::Some(r) => r.to_vec(),
        };
        self.check_logit_rows(n, &out_rows)?;
        let x = self.run_layers(cache, batch, numerics, layers)?;
        self.logits_in_pool(&x, &out_rows, numerics)
    }

    /// [`Model::forward`] without the output head: the residual stream of every new token
    /// after the last layer (`d_model` floats each), for a caller that needs the logits of
    /// only some rows and learns which as it goes ([`Model::logits`] then gives them, bit for
    /// bit what [`Model::forward`] would have): tree verification needs the rows along the
    /// accepted path only.
    pub fn forward_hidden(
        &self,
        cache: &mut KvCache,
        batch: &Batch<'_>,
        numerics: Numerics,
    ) -> Result<Vec<f32>> {
        self.check_batch(cache, batch)?;
        let layers = self.weights.layers.len();
        in_pool(|| self.run_layers(cache, batch, numerics, layers))
    }

    /// Embeds a checked batch, runs the first `layers` layers and commits its cache slots.
    fn run_layers(
        &self,
        cache: &mut KvCache,
        batch: &Batch<'_>,
        numerics: Numerics,
        layers: usize,
    ) -> Result<Vec<f32>> {
        let n = batch.tokens.len();
        cache.reserve(n)?;
        let mut x = self.embed(batch.tokens)?;
        let mut scratch = LayerScratch::new(&self.config, n);
        for l in 0..layers {
            self.layer_step(l, &mut x, batch, cache, numerics, &mut scratch, None)?;
        }
        cache.commit(n);
        Ok(x)
    }

    /// The residual stream's first value: the token embeddings of `tokens`, `d_model` floats
    /// each. Errors on a token id out of range.
    pub fn embed(&self, tokens: &[u32]) -> Result<Vec<f32>> {
        let d = self.config.d_model;
        self.check_tokens(tokens)?;
        let embd = self.weights.token_embd.view(&self.file);
        let mut x = vec![0.0f32; tokens.len() * d];
        for (row, &t) in x.chunks_mut(d).zip(tokens) {
            dequantize_row(embd.ty, embd.row(t as usize), row)?;
        }
        Ok(x)
    }

    /// Runs decoder layer `layer` on the residual rows `x` (`n = positions.len()` rows of
    /// `d_model`, updated in place): the new tokens' keys and values go to `layer`'s cache slots
    /// `cache.len()..cache.len() + n` (the cache is not committed: the caller commits once every
    /// layer has run, or reuses the slots, as layer-by-layer pruning does), and each new token
    /// attends to `mask.row(i, cache.len())`. `observer` sees every linear operator's input.
    ///
    /// This is the body of [`Model::forward`]'s loop, so a layer run here gives the bits it
    /// gives there.
    #[allow(clippy::too_many_arguments)]
    pub fn layer_forward(
        &self,
        layer: usize,
        x: &mut [f32],
        positions: &[u32],
        mask: Mask<'_>,
        cache: &mut KvCache,
        numerics: Numerics,
        observer: Option<&mut dyn Observer>,
    ) -> Result<()> {
        let n = positions.len();
        if layer >= self.weights.layers.len() {
            return Err(Error::invalid(format!(
                "layer {layer} of a model with {} layers",
                self.weights.layers.len()
            )));
        }
        if x.len() != n * self.config.d_model {
            return Err(Error::invalid(format!(
                "{} residual floats for {n} positions of width {}",
                x.len(),
                self.config.d_model
            )));
        }
        let batch = Batch {
            tokens: &[],
            positions,
            mask,
        };
        self.check_rows(cache, n, &batch)?;
        cache.reserve(n)?;
        let mut scratch = LayerScratch::new(&self.config, n);
        in_pool(|| self.layer_step(layer, x, &batch, cache, numerics, &mut scratch, observer))
    }

    /// One decoder layer over checked inputs (see [`Model::layer_forward`]).
    #[allow(clippy::too_many_arguments)]
    fn layer_step(
        &self,
        l: usize,
        x: &mut [f32],
        batch: &Batch<'_>,
        cache: &mut KvCache,
        numerics: Numerics,
        s: &mut LayerScratch,
        mut observer: Option<&mut dyn Observer>,
    ) -> Result<()> {
        let cfg = &self.config;
        let file = &self.file;
        let lw = &self.weights.layers[l];
        let n = batch.positions.len();
        let base = cache.len();
        let (kv, hd) = (cfg.kv_dim(), cfg.head_dim);
        let q_dim = cfg.n_head * hd;
        let mut observe = |input: LinearInput, rows: &[f32]| {
            if let Some(o) = observer.as_deref_mut() {
                o.observe(l, input, rows, n);
            }
        };
        let op = |o: Linear| lw.linear(o);

        // Attention block: h = RMSNorm(x) * g; q, k, v = h W^T (+ b); RoPE on q and k.
        rms_norm_rows(x, &lw.attn_norm, cfg.rms_eps, &mut s.h);
        observe(LinearInput::Attn, &s.h);
        project(
            numerics,
            file,
            &s.h,
            n,
            &mut [
                (op(Linear::Q), &mut s.q[..]),
                (op(Linear::K), &mut s.k[..]),
                (op(Linear::V), &mut s.v[..]),
            ],
        )?;
        if let Some(b) = &lw.qkv_bias {
            add_row_bias(&mut s.q, &b.q);
            add_row_bias(&mut s.k, &b.k);
            add_row_bias(&mut s.v, &b.v);
        }
        for t in 0..n {
            let pos = batch.positions[t] as usize;
            self.rope.apply(&mut s.q[t * q_dim..(t + 1) * q_dim], pos);
            self.rope.apply(&mut s.k[t * kv..(t + 1) * kv], pos);
        }
        cache.write(l, base, &s.k, &s.v);
        let heads = (cfg.n_head, cfg.n_kv_head, hd);
        match cache.layer(l) {
            KvLayer::F32(kc, vc) => attend(&s.q, kc, vc, batch.mask, base, heads, &mut s.attn),
            KvLayer::F16(kc, vc) => attend(&s.q, kc, vc, batch.mask, base, heads, &mut s.attn),
        }
        observe(LinearInput::AttnOut, &s.attn);
        project(
            numerics,
            file,
            &s.attn,
            n,
            &mut [(op(Linear::O), &mut s.delta[..])],
        )?;
        add_in_place(x, &s.delta);

        // MLP block: x += (silu(h Wg^T) * (h Wu^T)) Wd^T with h = RMSNorm(x) * g.
        rms_norm_rows(x, &lw.ffn_norm, cfg.rms_eps, &mut s.h);
        observe(LinearInput::Mlp, &s.h);
        project(
            numerics,
            file,
            &s.h,
            n,
            &mut [
                (op(Linear::Gate), &mut s.gate[..]),
                (op(Linear::Up), &mut s.up[..]),
            ],
        )?;
        swiglu(&s.gate, &s.up, &mut s.hidden);
        observe(LinearInput::Down, &s.hidden);
        project(
            numerics,
            file,
            &s.hidden,
            n,
            &mut [(op(Linear::Down), &mut s.delta[..])],
        )?;
        add_in_place(x, &s.delta);
        Ok(())
    }

    /// The final norm and output projection of the residual rows `rows` of `x`
    /// (`vocab_size` logits each, in that order).
    pub fn logits(&self, x: &[f32], rows: &[usize], numerics: Numerics) -> Result<Vec<f32>> {
        in_pool(|| self.logits_in_pool(x, rows, numerics))
    }

    /// [`Model::logits`], on whatever thread calls it.
    fn logits_in_pool(&self, x: &[f32], rows: &[usize], numerics: Numerics) -> Result<Vec<f32>> {
        let (d, w) = (self.config.d_model, &self.weights);
        if !x.len().is_multiple_of(d) {
            return Err(Error::invalid(format!(
                "{} residual floats is not a whole number of rows of {d}",
                x.len()
            )));
        }
        self.check_logit_rows(x.len() / d, rows)?;
        let m = rows.len();
        let mut hn = vec![0.0f32; m * d];
        for (i, &t) in rows.iter().enumerate() {
            rms_norm(
                &x[t * d..(t + 1) * d],
                &w.output_norm,
                self.config.rms_eps,
                &mut hn[i * d..(i + 1) * d],
            );
        }
        let mut logits = vec![0.0f32; m * self.config.vocab_size];
        let output = Matrix::Mapped(w.output);
        project(
            numerics,
            &self.file,
            &hn,
            m,
            &mut [(&output, &mut logits[..])],
        )?;
        Ok(logits)
    }

    /// The weight of operator `op` of `layer`.
    pub fn linear(&self, layer: usize, op: Linear) -> Result<&Matrix> {
        self.weights
            .layers
            .get(layer)
            .map(|lw| lw.linear(op))
            .ok_or_else(|| self.no_layer(layer))
    }

    /// The weight of operator `op` of `layer` decoded to f32, row-major `rows x cols`.
    pub fn linear_f32(&self, layer: usize, op: Linear) -> Result<Vec<f32>> {
        self.linear(layer, op)?.to_f32(&self.file)
    }

    /// Replaces the weight of operator `op` of `layer` (e.g. with its pruned values) and
    /// returns the one it replaces; `m` must have the operator's shape.
    pub fn set_linear(&mut self, layer: usize, op: Linear, m: Matrix) -> Result<Matrix> {
        let (rows, cols) = self.config.linear_shape(op);
        if (m.rows(), m.cols()) != (rows, cols) {
            return Err(Error::Shape {
                tensor: format!("blk.{layer}.{}.weight", op.gguf_name()),
                expected: format!("{rows}x{cols}"),
                found: format!("{}x{}", m.rows(), m.cols()),
            });
        }
        let no_layer = self.no_layer(layer);
        let lw = self.weights.layers.get_mut(layer).ok_or(no_layer)?;
        Ok(core::mem::replace(&mut lw.linear[op as usize], m))
    }

    fn no_layer(&self, layer: usize) -> Error {
        Error::invalid(format!(
            "layer {layer} of a model with {} layers",
            self.weights.layers.len()
        ))
    }

    /// Checks that every logit row is one of the batch's `n` rows.
    fn check_logit_rows(&self, n: usize, rows: &[usize]) -> Result<()> {
        match rows.iter().find(|&&i| i >= n) {
            Some(bad) => Err(Error::invalid(format!(
                "logit row {bad} requested from a batch of {n} tokens"
            ))),
            None => Ok(()),
        }
    }

    /// Checks every token id against the vocabulary.
    pub(crate) fn check_tokens(&self, tokens: &[u32]) -> Result<()> {
        match tokens
            .iter()
            .find(|&&t| t as usize >= self.config.vocab_size)
        {
            Some(&id) => Err(Error::TokenOutOfRange {
                id,
                vocab_size: self.config.vocab_size,
            }),
            None => Ok(()),
        }
    }

    /// Validates a batch against the model and the cache before anything is written.
    fn check_batch(&self, cache: &KvCache, batch: &Batch<'_>) -> Result<()> {
        let n = batch.tokens.len();
        if n == 0 {
            return Err(Error::invalid("empty batch"));
        }
        if batch.positions.len() != n {
            return Err(Error::invalid(format!(
                "{n} tokens but {} positions",
                batch.positions.len()
            )));
        }
        self.check_tokens(batch.tokens)?;
        self.check_rows(cache, n, batch)
    }

    /// Validates `n` new rows' positions and mask against the cache.
    fn check_rows(&self, cache: &KvCache, n: usize, batch: &Batch<'_>) -> Result<()> {
        if n == 0 {
            return Err(Error::invalid("empty batch"));
        }
        let end = cache.len() + n;
        if end > cache.capacity() {
            return Err(Error::ContextOverflow {
                needed: end,
                capacity: cache.capacity(),
            });
        }
        let rows = match batch.mask {
            Mask::Causal => return Ok(()),
            Mask::Rows(rows) => rows.len(),
            Mask::Visible(lists) => lists.len(),
        };
        if rows != n {
            return Err(Error::invalid(format!("{n} tokens but {rows} mask rows")));
        }
        for i in 0..n {
            if let Mask::Visible(lists) = batch.mask {
                check_ascending(i, &lists[i])?;
            }
            check_row(i, batch.mask.row(i, cache.len()), end)?;
        }
        Ok(())
    }
}

/// Runs `f` on a rayon pool worker under `std`: a pass's ~7 parallel products per layer then
/// fork from inside the pool, instead of the caller's thread handing each one to the pool and
/// sleeping until it is done (a futex wake-up per product, ~20% of decode time).
fn in_pool<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    #[cfg(feature = "std")]
    if rayon::current_thread_index().is_none() {
        return rayon::scope(|_| f());
    }
    f()
}

/// Runs [`attention_row`] for every new token's query row of `q` into `attn` (in parallel under
/// `std`), token `t` seeing `mask.row(t, base)`; `heads` is `(n_head, n_kv_head, head_dim)`.
fn attend<T: KvElement>(
    q: &[f32],
    keys: &[T],
    values: &[T],
    mask: Mask<'_>,
    base: usize,
    (n_head, n_kv_head, hd): (usize, usize, usize),
    attn: &mut [f32],
) {
    let q_dim = n_head * hd;
    for_each_row(attn, q_dim, |t, out| {
        let q_row = &q[t * q_dim..(t + 1) * q_dim];
        let visible = mask.row(t, base);
        attention_row(q_row, keys, values, visible, n_head, n_kv_head, hd, out);
    });
}

/// Checks that mask row `i`'s explicit slot list ascends strictly.
fn check_ascending(i: usize, list: &[u32]) -> Result<()> {
    match list.windows(2).find(|w| w[0] >= w[1]) {
        Some(w) => Err(Error::invalid(format!(
            "mask row {i}: slot {} follows slot {}; slots must ascend",
            w[1], w[0]
        ))),
        None => Ok(()),
    }
}

/// Checks mask row `i`: at least one slot, extra slots ascending and after the prefix, and every
/// slot below `end` (the cache's filled slots plus the batch).
fn check_row(i: usize, row: VisibleSlots<'_>, end: usize) -> Result<()> {
    if row.is_empty() {
        return Err(Error::invalid(format!("mask row {i} sees no slot")));
    }
    check_ascending(i, row.extra)?;
    if let Some(&s) = row.extra.first().filter(|&&s| (s as usize) < row.prefix) {
        return Err(Error::invalid(format!(
            "mask row {i}: extra slot {s} lies inside the prefix 0..{}",
            row.prefix
        )));
    }
    if row.end() > end {
        return Err(Error::invalid(format!(
            "mask row {i}: slot {} is past the {end} slots of the cache and the batch",
            row.end() - 1
        )));
    }
    Ok(())
}

/// RMSNorm of every row of `x` (rows as wide as `gain`) into `out`.
fn rms_norm_rows(x: &[f32], gain: &[f32], eps: f32, out: &mut [f32]) {
    for (xr, hr) in x.chunks(gain.len()).zip(out.chunks_mut(gain.len())) {
        rms_norm(xr, gain, eps, hr);
    }
}

/// Adds `bias` to every row of `x`.
fn add_row_bias(x: &mut [f32], bias: &[f32]) {
    for row in x.chunks_mut(bias.len()) {
        add_in_place(row, bias);
    }
}

/// x += y, elementwise.
fn add_in_place(x: &mut [f32], y: &[f32]) {
    for (a, b) in x.iter_mut().zip(y) {
        *a += b;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causal_rows_are_a_prefix_without_a_slot_list() {
        // 32k tokens after 100 cached: each row is {0..100 + i + 1} with nothing listed, so the
        // mask costs no memory per token (a list per row would be ~2 GB of slot ids here).
        let (base, n) = (100, 32_768);
        for i in 0..n {
            let row = Mask::Causal.row(i, base);
            assert_eq!((row.prefix, row.extra.len()), (base + i + 1, 0));
            check_row(i, row, base + n).unwrap();
        }
        // A row is a length and a borrowed slice: nothing owned.
        assert_eq!(
            core::mem::size_of::<VisibleSlots<'_>>(),
            3 * core::mem::size_of::<usize>()
        );
    }

    #[test]
    fn explicit_lists_are_read_as_prefix_and_extras_in_place() {
        let lists = vec![vec![0, 1, 2, 3, 5], vec![0, 1, 4, 6]];
        let mask = Mask::Visible(&lists);
        let row = mask.row(1, 4);
        assert_eq!((row.prefix, row.extra), (2, &[4u32, 6][..]));
        assert!(core::ptr::eq(row.extra.as_ptr(), lists[1][2..].as_ptr()));
        let tree = [VisibleSlots {
            prefix: 4,
            extra: &[5, 7],
        }];
        assert_eq!(Mask::Rows(&tree).row(0, 4), tree[0]);
    }

    #[test]
    fn bad_rows_are_named() {
        let err = |row: VisibleSlots<'_>| match check_row(3, row, 8) {
            Err(Error::InvalidArgument(m)) => m,
            other => panic!("{other:?}"),
        };
        let row = |prefix, extra| VisibleSlots { prefix, extra };
        assert_eq!(err(row(0, &[])), "mask row 3 sees no slot");
        assert_eq!(
            err(row(2, &[5, 5])),
            "mask row 3: slot 5 follows slot 5; slots must ascend"
        );
        assert_eq!(
            err(row(4, &[2])),
            "mask row 3: extra slot 2 lies inside the prefix 0..4"
        );
        assert_eq!(
            err(row(9, &[])),
            "mask row 3: slot 8 is past the 8 slots of the cache and the batch"
        );
        assert_eq!(
            err(row(2, &[3, 8])),
            "mask row 3: slot 8 is past the 8 slots of the cache and the batch"
        );
        assert!(check_row(3, row(0, &[7]), 8).is_ok());
        assert!(check_ascending(1, &[0, 2, 1]).is_err());
    }
}
