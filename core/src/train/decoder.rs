//! The decoder's training forward and hand-written backward, top to bottom as in llm.c's
//! train_gpt2.c: every op is the runtime's kernel ([`crate::kernels`], the linear layers
//! through [`crate::kernels::gemm`]) and its backward sits beside it there; this file only
//! strings them together and keeps what the backward needs.
//!
//! A batch is `rows` sequences of `seq + 1` tokens: inputs `t[..seq]`, targets `t[1..]`, each
//! row at positions `0..seq` with causal attention inside the row. The loss is the mean
//! cross-entropy over all `rows * seq` predictions.
//!
//! With gradient checkpointing a layer keeps only its input rows during the forward and
//! recomputes the rest when the backward reaches it (one extra layer forward per layer, the
//! activations of one layer alive at a time).

use super::params::{LayerSlots, Params};
use crate::kernels::activation::{swiglu, swiglu_backward};
use crate::kernels::attention::{attention_row, attention_row_backward, VisibleSlots};
use crate::kernels::gemm::{gemm, Mat};
use crate::kernels::loss::{cross_entropy, cross_entropy_backward};
use crate::kernels::norm::{rms_norm, rms_norm_backward};
use crate::kernels::rope::Rope;
use crate::model::Linear;
use crate::{Error, Result};
use alloc::format;
use alloc::vec;
use alloc::vec::Vec;

/// Rows of the head's logits alive at once (the logits of a whole batch would be
/// `rows * seq * vocab` floats).
const HEAD_ROWS: usize = 256;

/// A batch of token rows.
#[derive(Debug, Clone, Copy)]
pub struct TokenBatch<'a> {
    /// `rows * (seq + 1)` token ids, row-major.
    pub tokens: &'a [u32],
    pub rows: usize,
    pub seq: usize,
}

impl TokenBatch<'_> {
    fn check(&self, vocab: usize) -> Result<()> {
        if self.rows == 0 || self.seq == 0 {
            return Err(Error::invalid(format!(
                "a batch of {} rows of {} predictions is empty",
                self.rows, self.seq
            )));
        }
        if self.tokens.len() != self.rows * (self.seq + 1) {
            return Err(Error::invalid(format!(
                "{} tokens for {} rows of {} (seq + 1)",
                self.tokens.len(),
                self.rows,
                self.seq + 1
            )));
        }
        if let Some(&id) = self.tokens.iter().find(|&&t| t as usize >= vocab) {
            return Err(Error::TokenOutOfRange {
                id,
                vocab_size: vocab,
            });
        }
        Ok(())
    }

    /// The input token of prediction `i` (row-major over `rows x seq`).
    fn input(&self, i: usize) -> u32 {
        self.tokens[(i / self.seq) * (self.seq + 1) + i % self.seq]
    }

    /// The target of prediction `i`.
    fn target(&self, i: usize) -> u32 {
        self.tokens[(i / self.seq) * (self.seq + 1) + i % self.seq + 1]
    }
}

/// What one layer's backward needs from its forward (all `n` rows).
struct LayerActs {
    /// RMSNorm(x) * g before attention.
    h1: Vec<f32>,
    /// Queries and keys after RoPE, values.
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    /// Attention output before the output projection.
    att: Vec<f32>,
    /// The residual after attention.
    x_mid: Vec<f32>,
    h2: Vec<f32>,
    gate: Vec<f32>,
    up: Vec<f32>,
    act: Vec<f32>,
}

/// The decoder of `p` evaluated for training.
pub struct Decoder<'a> {
    p: &'a Params,
    rope: Rope,
}

impl<'a> Decoder<'a> {
    pub fn new(p: &'a Params) -> Self {
        let c = &p.config;
        Decoder {
            p,
            rope: Rope::new(c.head_dim, c.rope_theta, c.arch.rope_style()),
        }
    }

    /// The mean cross-entropy of `batch` (forward only).
    pub fn loss(&self, batch: &TokenBatch) -> Result<f32> {
        batch.check(self.p.config.vocab_size)?;
        let mut x = self.embed(batch);
        for l in 0..self.p.config.n_layer {
            self.layer_forward(l, &mut x, batch)?;
        }
        self.head(&x, batch, None)
    }

    /// The mean cross-entropy of `batch`, its gradient added into `grads` (laid out as
    /// [`Params::zeros_like`]).
    pub fn loss_and_grad(
        &self,
        batch: &TokenBatch,
        grads: &mut [Vec<f32>],
        checkpoint: bool,
    ) -> Result<f32> {
        batch.check(self.p.config.vocab_size)?;
        if grads.len() != self.p.tensors.len()
            || grads
                .iter()
                .zip(&self.p.tensors)
                .any(|(g, t)| g.len() != t.len())
        {
            return Err(Error::invalid(
                "gradient buffers are not laid out like the parameters",
            ));
        }
        let n_layer = self.p.config.n_layer;
        let mut x = self.embed(batch);
        let mut inputs = Vec::with_capacity(n_layer);
        let mut acts = Vec::with_capacity(n_layer);
        for l in 0..n_layer {
            inputs.push(x.clone());
            let a = self.layer_forward(l, &mut x, batch)?;
            if !checkpoint {
                acts.push(a);
            }
        }
        let mut dx = vec![0f32; x.len()];
        let loss = self.head(&x, batch, Some((grads, &mut dx)))?;
        for l in (0..n_layer).rev() {
            let a = match acts.pop() {
                Some(a) => a,
                None => self.layer_forward(l, &mut inputs[l].clone(), batch)?,
            };
            self.layer_backward(l, &inputs[l], &a, batch, &mut dx, grads);
        }
        let d = self.p.config.d_model;
        let de = &mut grads[self.p.layout.token_embd];
        for (i, row) in dx.chunks_exact(d).enumerate() {
            let t = batch.input(i) as usize;
            de[t * d..(t + 1) * d]
                .iter_mut()
                .zip(row)
                .for_each(|(g, v)| *g += v);
        }
        Ok(loss)
    }

    fn embed(&self, batch: &TokenBatch) -> Vec<f32> {
        let d = self.p.config.d_model;
        let e = &self.p.tensors[self.p.layout.token_embd];
        let n = batch.rows * batch.seq;
        let mut x = vec![0f32; n * d];
        for (i, row) in x.chunks_exact_mut(d).enumerate() {
            let t = batch.input(i) as usize;
            row.copy_from_slice(&e[t * d..(t + 1) * d]);
        }
        x
    }

    fn slots(&self, l: usize) -> &LayerSlots {
        &self.p.layout.layers[l]
    }

    /// `y = x Wᵀ (+ b)` for tensor `w`, through the GEMM its backward uses too (one product of
    /// all rows: the runtime's `matmul_exact` tiles 16 weight rows at a time for
    /// row-independence, which training does not need, and repacks the inputs for every tile).
    fn linear(&self, w: usize, bias: Option<usize>, x: &[f32]) -> Result<Vec<f32>> {
        let (rows, cols) = self.p.dims(w);
        let n = x.len() / cols;
        let mut y = vec![0f32; n * rows];
        gemm(
            1.0,
            Mat::new(x, n, cols),
            Mat::new(&self.p.tensors[w], rows, cols).t(),
            0.0,
            &mut y,
        );
        if let Some(b) = bias {
            let b = &self.p.tensors[b];
            y.chunks_exact_mut(rows)
                .for_each(|r| r.iter_mut().zip(b).for_each(|(v, b)| *v += b));
        }
        Ok(y)
    }

    /// The backward of [`Self::linear`]: `dx += dy W`, `dW += dyᵀ x`, `db += Σ_rows dy`.
    fn linear_backward(
        &self,
        w: usize,
        bias: Option<usize>,
        x: &[f32],
        dy: &[f32],
        dx: &mut [f32],
        grads: &mut [Vec<f32>],
    ) {
        let (rows, cols) = self.p.dims(w);
        let n = x.len() / cols;
        let (x_m, dy_m) = (Mat::new(x, n, cols), Mat::new(dy, n, rows));
        gemm(1.0, dy_m, Mat::new(&self.p.tensors[w], rows, cols), 1.0, dx);
        gemm(1.0, dy_m.t(), x_m, 1.0, &mut grads[w]);
        if let Some(b) = bias {
            let db = &mut grads[b];
            dy.chunks_exact(rows)
                .for_each(|r| db.iter_mut().zip(r).for_each(|(g, v)| *g += v));
        }
    }

    fn norm_rows(&self, x: &[f32], gain: usize) -> Vec<f32> {
        let d = self.p.config.d_model;
        let g = &self.p.tensors[gain];
        let mut h = vec![0f32; x.len()];
        for (xr, hr) in x.chunks_exact(d).zip(h.chunks_exact_mut(d)) {
            rms_norm(xr, g, self.p.config.rms_eps, hr);
        }
        h
    }

    /// `dx += RMSNorm'(x)ᵀ dh`, `dg += ...` for the norm with gain tensor `gain`.
    fn norm_rows_backward(
        &self,
        x: &[f32],
        gain: usize,
        dh: &[f32],
        dx: &mut [f32],
        grads: &mut [Vec<f32>],
    ) {
        let d = self.p.config.d_model;
        let g = &self.p.tensors[gain];
        let mut dxr = vec![0f32; d];
        for ((xr, dhr), out) in x
            .chunks_exact(d)
            .zip(dh.chunks_exact(d))
            .zip(dx.chunks_exact_mut(d))
        {
            rms_norm_backward(
                xr,
                g,
                self.p.config.rms_eps,
                dhr,
                &mut dxr,
                &mut grads[gain],
            );
            out.iter_mut().zip(&dxr).for_each(|(o, v)| *o += v);
        }
    }

    fn bias(&self, l: usize, i: usize) -> Option<usize> {
        self.slots(l).qkv_bias.map(|b| b[i])
    }

    /// One decoder layer on the residual rows `x` (updated in place), returning what its
    /// backward needs.
    fn layer_forward(&self, l: usize, x: &mut [f32], batch: &TokenBatch) -> Result<LayerActs> {
        let c = &self.p.config;
        let s = *self.slots(l);
        let w = |op: Linear| s.linear[op as usize];
        let (hd, q_dim, kv) = (c.head_dim, c.n_head * c.head_dim, c.kv_dim());
        let h1 = self.norm_rows(x, s.attn_norm);
        let mut q = self.linear(w(Linear::Q), self.bias(l, 0), &h1)?;
        let mut k = self.linear(w(Linear::K), self.bias(l, 1), &h1)?;
        let v = self.linear(w(Linear::V), self.bias(l, 2), &h1)?;
        for i in 0..batch.rows * batch.seq {
            let pos = i % batch.seq;
            self.rope.apply(&mut q[i * q_dim..(i + 1) * q_dim], pos);
            self.rope.apply(&mut k[i * kv..(i + 1) * kv], pos);
        }
        let mut att = vec![0f32; q.len()];
        let (seq, row_q, row_kv) = (batch.seq, batch.seq * q_dim, batch.seq * kv);
        for_each_sequence(&mut att, row_q, |b, out| {
            let (keys, values) = (
                &k[b * row_kv..(b + 1) * row_kv],
                &v[b * row_kv..(b + 1) * row_kv],
            );
            for t in 0..seq {
                attention_row(
                    &q[b * row_q + t * q_dim..b * row_q + (t + 1) * q_dim],
                    keys,
                    values,
                    VisibleSlots {
                        prefix: t + 1,
                        extra: &[],
                    },
                    c.n_head,
                    c.n_kv_head,
                    hd,
                    &mut out[t * q_dim..(t + 1) * q_dim],
                );
            }
        });
        let o = self.linear(w(Linear::O), None, &att)?;
        add(x, &o);
        let x_mid = x.to_vec();
        let h2 = self.norm_rows(x, s.ffn_norm);
        let gate = self.linear(w(Linear::Gate), None, &h2)?;
        let up = self.linear(w(Linear::Up), None, &h2)?;
        let mut act = vec![0f32; gate.len()];
        swiglu(&gate, &up, &mut act);
        let down = self.linear(w(Linear::Down), None, &act)?;
        add(x, &down);
        Ok(LayerActs {
            h1,
            q,
            k,
            v,
            att,
            x_mid,
            h2,
            gate,
            up,
            act,
        })
    }

    /// The backward of one layer: `dx` holds the gradient of the layer's output and leaves
    /// holding that of its input `x_in`; parameter gradients are added into `grads`.
    fn layer_backward(
        &self,
        l: usize,
        x_in: &[f32],
        a: &LayerActs,
        batch: &TokenBatch,
        dx: &mut [f32],
        grads: &mut [Vec<f32>],
    ) {
        let c = &self.p.config;
        let s = *self.slots(l);
        let w = |op: Linear| s.linear[op as usize];
        let (hd, q_dim, kv) = (c.head_dim, c.n_head * c.head_dim, c.kv_dim());
        // MLP: x_out = x_mid + Down(swiglu(Gate h2, Up h2)), h2 = RMSNorm(x_mid) g2.
        let mut d_act = vec![0f32; a.act.len()];
        self.linear_backward(w(Linear::Down), None, &a.act, dx, &mut d_act, grads);
        let (mut d_gate, mut d_up) = (vec![0f32; a.gate.len()], vec![0f32; a.up.len()]);
        swiglu_backward(&a.gate, &a.up, &d_act, &mut d_gate, &mut d_up);
        let mut d_h2 = vec![0f32; a.h2.len()];
        self.linear_backward(w(Linear::Gate), None, &a.h2, &d_gate, &mut d_h2, grads);
        self.linear_backward(w(Linear::Up), None, &a.h2, &d_up, &mut d_h2, grads);
        self.norm_rows_backward(&a.x_mid, s.ffn_norm, &d_h2, dx, grads);
        // Attention: x_mid = x_in + O(attn(rope(Q h1), rope(K h1), V h1)), h1 = RMSNorm(x_in) g1.
        let mut d_att = vec![0f32; a.att.len()];
        self.linear_backward(w(Linear::O), None, &a.att, dx, &mut d_att, grads);
        let mut dq = vec![0f32; a.q.len()];
        let mut dk = vec![0f32; a.k.len()];
        let mut dv = vec![0f32; a.v.len()];
        let (seq, row_q, row_kv) = (batch.seq, batch.seq * q_dim, batch.seq * kv);
        for_each_sequence_3(&mut dq, row_q, &mut dk, &mut dv, row_kv, |b, dq, dk, dv| {
            let (keys, values) = (
                &a.k[b * row_kv..(b + 1) * row_kv],
                &a.v[b * row_kv..(b + 1) * row_kv],
            );
            for t in 0..seq {
                attention_row_backward(
                    &a.q[b * row_q + t * q_dim..b * row_q + (t + 1) * q_dim],
                    keys,
                    values,
                    VisibleSlots {
                        prefix: t + 1,
                        extra: &[],
                    },
                    c.n_head,
                    c.n_kv_head,
                    hd,
                    &d_att[b * row_q + t * q_dim..b * row_q + (t + 1) * q_dim],
                    &mut dq[t * q_dim..(t + 1) * q_dim],
                    dk,
                    dv,
                );
            }
        });
        for i in 0..batch.rows * batch.seq {
            let pos = i % batch.seq;
            self.rope
                .apply_backward(&mut dq[i * q_dim..(i + 1) * q_dim], pos);
            self.rope.apply_backward(&mut dk[i * kv..(i + 1) * kv], pos);
        }
        let mut d_h1 = vec![0f32; a.h1.len()];
        self.linear_backward(w(Linear::Q), self.bias(l, 0), &a.h1, &dq, &mut d_h1, grads);
        self.linear_backward(w(Linear::K), self.bias(l, 1), &a.h1, &dk, &mut d_h1, grads);
        self.linear_backward(w(Linear::V), self.bias(l, 2), &a.h1, &dv, &mut d_h1, grads);
        self.norm_rows_backward(x_in, s.attn_norm, &d_h1, dx, grads);
    }

    /// Final norm, head and mean cross-entropy over `x`'s rows, `HEAD_ROWS` at a time. With
    /// `back = (grads, dx)`, the head's and final norm's gradients go into `grads` and the
    /// residual's into `dx`.
    fn head(
        &self,
        x: &[f32],
        batch: &TokenBatch,
        mut back: Option<(&mut [Vec<f32>], &mut [f32])>,
    ) -> Result<f32> {
        let c = &self.p.config;
        let (d, vocab) = (c.d_model, c.vocab_size);
        let (norm, head) = (self.p.layout.output_norm, self.p.layout.head());
        let n = batch.rows * batch.seq;
        let scale = 1.0 / n as f32;
        let mut total = 0f64;
        for r0 in (0..n).step_by(HEAD_ROWS) {
            let r1 = (r0 + HEAD_ROWS).min(n);
            let xs = &x[r0 * d..r1 * d];
            let h = self.norm_rows(xs, norm);
            let logits = self.linear(head, None, &h)?;
            let targets: Vec<u32> = (r0..r1).map(|i| batch.target(i)).collect();
            let mut losses = vec![0f32; r1 - r0];
            match back.as_mut() {
                None => for_each_row(&mut losses, |i, l| {
                    *l = cross_entropy(&logits[i * vocab..(i + 1) * vocab], targets[i])?;
                    Ok(())
                })?,
                Some((grads, dx)) => {
                    let mut dlogits = vec![0f32; logits.len()];
                    for_each_row_with(&mut losses, &mut dlogits, vocab, |i, l, d| {
                        let row = &logits[i * vocab..(i + 1) * vocab];
                        *l = cross_entropy_backward(row, targets[i], scale, d)?;
                        Ok(())
                    })?;
                    let mut dh = vec![0f32; h.len()];
                    self.linear_backward(head, None, &h, &dlogits, &mut dh, grads);
                    self.norm_rows_backward(xs, norm, &dh, &mut dx[r0 * d..r1 * d], grads);
                }
            }
            total += losses.iter().map(|&l| l as f64).sum::<f64>();
        }
        Ok((total / n as f64) as f32)
    }
}

/// Runs `f(i, &mut out[i])` for every row `i`, in parallel under `std`; the first error wins.
fn for_each_row<F>(out: &mut [f32], f: F) -> Result<()>
where
    F: Fn(usize, &mut f32) -> Result<()> + Sync + Send,
{
    #[cfg(feature = "std")]
    {
        use rayon::prelude::*;
        out.par_iter_mut()
            .enumerate()
            .try_for_each(|(i, o)| f(i, o))
    }
    #[cfg(not(feature = "std"))]
    out.iter_mut().enumerate().try_for_each(|(i, o)| f(i, o))
}

/// [`for_each_row`] with row `i`'s `width`-float slice of `rows` alongside.
fn for_each_row_with<F>(out: &mut [f32], rows: &mut [f32], width: usize, f: F) -> Result<()>
where
    F: Fn(usize, &mut f32, &mut [f32]) -> Result<()> + Sync + Send,
{
    #[cfg(feature = "std")]
    {
        use rayon::prelude::*;
        out.par_iter_mut()
            .zip(rows.par_chunks_mut(width))
            .enumerate()
            .try_for_each(|(i, (o, r))| f(i, o, r))
    }
    #[cfg(not(feature = "std"))]
    out.iter_mut()
        .zip(rows.chunks_mut(width))
        .enumerate()
        .try_for_each(|(i, (o, r))| f(i, o, r))
}

/// `x += y`.
fn add(x: &mut [f32], y: &[f32]) {
    x.iter_mut().zip(y).for_each(|(a, b)| *a += b);
}

/// Runs `f(b, out_b)` for each sequence `b` of `out` (`width` floats each), in parallel under
/// `std`.
fn for_each_sequence<F: Fn(usize, &mut [f32]) + Sync + Send>(out: &mut [f32], width: usize, f: F) {
    #[cfg(feature = "std")]
    {
        use rayon::prelude::*;
        out.par_chunks_mut(width)
            .enumerate()
            .for_each(|(b, o)| f(b, o));
    }
    #[cfg(not(feature = "std"))]
    out.chunks_mut(width).enumerate().for_each(|(b, o)| f(b, o));
}

/// [`for_each_sequence`] over three outputs: `a` with sequences of `wa` floats, `b` and `c`
/// of `wb`.
fn for_each_sequence_3<F>(a: &mut [f32], wa: usize, b: &mut [f32], c: &mut [f32], wb: usize, f: F)
where
    F: Fn(usize, &mut [f32], &mut [f32], &mut [f32]) + Sync + Send,
{
    #[cfg(feature = "std")]
    {
        use rayon::prelude::*;
        a.par_chunks_mut(wa)
            .zip(b.par_chunks_mut(wb))
            .zip(c.par_chunks_mut(wb))
            .enumerate()
            .for_each(|(i, ((a, b), c))| f(i, a, b, c));
    }
    #[cfg(not(feature = "std"))]
    a.chunks_mut(wa)
        .zip(b.chunks_mut(wb))
        .zip(c.chunks_mut(wb))
        .enumerate()
        .for_each(|(i, ((a, b), c))| f(i, a, b, c));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::sampling::Rng;
    use crate::model::{Arch, ModelConfig};

    pub(crate) fn tiny(arch: Arch) -> ModelConfig {
        ModelConfig {
            arch,
            name: "tiny".into(),
            n_layer: 2,
            d_model: 16,
            d_ffn: 24,
            n_head: 4,
            n_kv_head: 2,
            head_dim: 4,
            vocab_size: 11,
            context_length: 32,
            rope_theta: 10000.0,
            rms_eps: 1e-5,
        }
    }

    fn batch_tokens(rows: usize, seq: usize, vocab: usize) -> Vec<u32> {
        let mut rng = Rng::new(5);
        (0..rows * (seq + 1))
            .map(|_| (rng.next_u64() % vocab as u64) as u32)
            .collect()
    }

    #[test]
    fn gradient_matches_a_directional_finite_difference() {
        for (arch, tied) in [(Arch::Llama, true), (Arch::Qwen2, false)] {
            let mut p = Params::init(tiny(arch), tied, 3);
            // Larger weights than the init so every op matters (f32 differences of a steeper
            // loss: within 3%, the f64 PyTorch comparison in tests/train_reference.rs is the
            // tight check).
            for t in &mut p.tensors {
                t.iter_mut().for_each(|v| *v *= 2.0);
            }
            let tokens = batch_tokens(2, 5, 11);
            let batch = TokenBatch {
                tokens: &tokens,
                rows: 2,
                seq: 5,
            };
            let mut grads = p.zeros_like();
            let loss = Decoder::new(&p)
                .loss_and_grad(&batch, &mut grads, false)
                .unwrap();
            assert!((loss - Decoder::new(&p).loss(&batch).unwrap()).abs() < 1e-6);
            // One random direction per tensor, so a wrong tensor is named.
            let mut rng = Rng::new(9);
            for (i, spec) in p.layout.specs.iter().enumerate() {
                let dir: Vec<f32> = p.tensors[i].iter().map(|_| rng.normal() as f32).collect();
                let along: f64 = grads[i]
                    .iter()
                    .zip(&dir)
                    .map(|(g, d)| *g as f64 * *d as f64)
                    .sum();
                let h = 2e-3f32;
                let at = |sign: f32| {
                    let mut q = p.clone();
                    q.tensors[i]
                        .iter_mut()
                        .zip(&dir)
                        .for_each(|(v, d)| *v += sign * h * d);
                    Decoder::new(&q).loss(&batch).unwrap() as f64
                };
                let fd = (at(1.0) - at(-1.0)) / (2.0 * h as f64);
                assert!(
                    (fd - along).abs() <= 0.03 * along.abs() + 2e-3,
                    "{arch:?} {}: finite difference {fd} vs gradient {along}",
                    spec.name
                );
            }
        }
    }

    #[test]
    fn checkpointing_gives_the_same_gradient() {
        let p = Params::init(tiny(Arch::Qwen2), false, 1);
        let tokens = batch_tokens(3, 6, 11);
        let batch = TokenBatch {
            tokens: &tokens,
            rows: 3,
            seq: 6,
        };
        let (mut a, mut b) = (p.zeros_like(), p.zeros_like());
        let d = Decoder::new(&p);
        let la = d.loss_and_grad(&batch, &mut a, false).unwrap();
        let lb = d.loss_and_grad(&batch, &mut b, true).unwrap();
        assert_eq!(la, lb);
        assert_eq!(a, b);
    }

    #[test]
    fn bad_batches_are_named() {
        let p = Params::init(tiny(Arch::Llama), true, 1);
        let d = Decoder::new(&p);
        let toks = [1u32, 2, 30];
        let b = TokenBatch {
            tokens: &toks,
            rows: 1,
            seq: 2,
        };
        assert!(matches!(
            d.loss(&b),
            Err(Error::TokenOutOfRange { id: 30, .. })
        ));
        let b = TokenBatch {
            tokens: &toks,
            rows: 2,
            seq: 2,
        };
        assert!(d.loss(&b).is_err());
    }
}
