//! Cost model of one GPT transformer layer in training: forward and backward time of each op
//! and the bytes of every activation its backward needs, as functions of hidden size `h`, heads
//! `a`, sequence `s`, micro-batch `b`, tensor parallelism `t`, sequence parallelism and a
//! [`Hardware`] profile. bf16 activations (2 bytes), 1-byte dropout masks, as in Megatron-LM.
//!
//! Activation accounting follows Korthikanti et al. 2022 ("Reducing Activation Recomputation in
//! Large Transformer Models", section 4.1): per layer
//! `sbh (34 + 5 a s / h)` bytes without parallelism, `sbh (10 + 24/t + 5 a s / (h t))` with tensor
//! parallelism, `sbh (34/t + 5 a s / (h t))` with sequence parallelism as well; selective
//! recomputation keeps `34 sbh / t` (with sequence parallelism), full recomputation keeps the layer
//! input `2 sbh`. [`megatron_activation_bytes`] writes those formulas down; [`layer_cost`] builds
//! the same totals tensor by tensor, and the tests check that the two agree.
//!
//! Times are rooflines ([`Hardware::kernel_s`]) of each op's FLOPs and HBM traffic; backward is
//! twice the forward FLOPs and traffic (input and weight gradients); collectives are rings.

use super::hardware::Hardware;
use crate::{Error, Result};
use alloc::{format, string::String, vec::Vec};

/// Shape of a GPT model (pre-LayerNorm, GeLU MLP of width `4h`, learned positions, tied
/// embeddings).
#[derive(Debug, Clone, PartialEq)]
pub struct ModelConfig {
    /// Name shown in reports.
    pub name: String,
    /// Transformer layers `L`.
    pub layers: usize,
    /// Hidden size `h`.
    pub hidden: usize,
    /// Attention heads `a`.
    pub heads: usize,
    /// Vocabulary `V` (Megatron pads GPT-2's to 51200).
    pub vocab: usize,
}

/// Names accepted by [`ModelConfig::preset`].
pub const MODEL_PRESETS: &[&str] = &[
    "gpt-1.3b", "gpt-2.7b", "gpt-6.7b", "gpt-13b", "gpt-20b", "gpt-22b", "gpt-175b",
];

impl ModelConfig {
    /// The GPT shapes of the Lynx evaluation (1.3B to 20B) and two of Korthikanti et al.'s
    /// (22B: 48 layers, h 6144, 64 heads; 175B: 96 layers, h 12288, 96 heads).
    pub fn preset(name: &str) -> Result<Self> {
        let (layers, hidden, heads) = match name.to_ascii_lowercase().as_str() {
            "gpt-1.3b" => (24, 2048, 16),
            "gpt-2.7b" => (32, 2560, 32),
            "gpt-6.7b" => (32, 4096, 32),
            "gpt-13b" => (40, 5120, 40),
            "gpt-20b" => (44, 6144, 64),
            "gpt-22b" => (48, 6144, 64),
            "gpt-175b" => (96, 12288, 96),
            _ => {
                return Err(Error::invalid(format!(
                    "unknown model preset '{name}' (known: {}, or a JSON config file)",
                    MODEL_PRESETS.join(", ")
                )))
            }
        };
        Ok(ModelConfig {
            name: name.to_ascii_lowercase(),
            layers,
            hidden,
            heads,
            vocab: 51200,
        })
    }

    /// Parameters of one layer: `12 h^2 + 13 h` (QKV, projection, two MLP matrices, biases, two
    /// LayerNorms).
    pub fn params_per_layer(&self) -> f64 {
        let h = self.hidden as f64;
        12.0 * h * h + 13.0 * h
    }
}

/// How one training step is laid out.
#[derive(Debug, Clone, PartialEq)]
pub struct Training {
    /// Sequence length `s`.
    pub seq: usize,
    /// Micro-batch `b`.
    pub micro_batch: usize,
    /// Global batch in sequences.
    pub global_batch: usize,
    /// Tensor parallelism `t`.
    pub tp: usize,
    /// Pipeline stages `p`.
    pub pp: usize,
    /// Data parallelism `d`.
    pub dp: usize,
    /// Megatron sequence parallelism (LayerNorm/dropout regions sharded over `t`).
    pub sequence_parallel: bool,
    /// Bytes of model state per parameter: bf16 weight 2 + fp32 gradient 4 + fp32 master
    /// weight 4 + Adam moments 8 = 18 (Megatron-LM mixed precision, no distributed optimizer).
    pub bytes_per_param: f64,
}

impl Training {
    /// Micro-batches per step per pipeline: `m = global / (b d)`.
    pub fn micro_batches(&self) -> usize {
        self.global_batch / (self.micro_batch * self.dp)
    }
}

/// Most micro-batches per step the simulator accepts.
pub const MAX_MICRO_BATCHES: usize = 1 << 20;

/// Largest byte total a configuration may reach (activations of every layer times the pipeline
/// depth, plus model state); far below `u64::MAX`, far above any real GPU.
pub const MAX_MODELED_BYTES: f64 = 1e17;

/// Checks a model and a layout against each other; every message names the values at fault.
pub fn validate(model: &ModelConfig, train: &Training, hw: &Hardware) -> Result<()> {
    hw.validate()?;
    let positive = [
        ("layers", model.layers),
        ("hidden", model.hidden),
        ("heads", model.heads),
        ("vocab", model.vocab),
        ("seq", train.seq),
        ("micro-batch", train.micro_batch),
        ("global-batch", train.global_batch),
        ("tp", train.tp),
        ("pp", train.pp),
        ("dp", train.dp),
    ];
    for (what, v) in positive {
        if v == 0 {
            return Err(Error::invalid(format!("{what} must be at least 1")));
        }
    }
    let (t, p) = (train.tp, train.pp);
    if !model.heads.is_multiple_of(t) {
        return Err(Error::invalid(format!(
            "tensor parallelism tp={t} does not divide the {} attention heads of {}",
            model.heads, model.name
        )));
    }
    if !model.hidden.is_multiple_of(t) {
        return Err(Error::invalid(format!(
            "tensor parallelism tp={t} does not divide the hidden size {} of {}",
            model.hidden, model.name
        )));
    }
    if !model.hidden.is_multiple_of(model.heads) {
        return Err(Error::invalid(format!(
            "heads {} do not divide the hidden size {}",
            model.heads, model.hidden
        )));
    }
    if !model.vocab.is_multiple_of(t) {
        return Err(Error::invalid(format!(
            "tensor parallelism tp={t} does not divide the vocabulary {}",
            model.vocab
        )));
    }
    if !model.layers.is_multiple_of(p) {
        return Err(Error::invalid(format!(
            "pipeline parallelism pp={p} does not divide the {} layers of {}",
            model.layers, model.name
        )));
    }
    if train.sequence_parallel && !train.seq.is_multiple_of(t) {
        return Err(Error::invalid(format!(
            "sequence parallelism needs tp {t} to divide the sequence {}",
            train.seq
        )));
    }
    for (what, v) in [
        ("tp", train.tp),
        ("pp", train.pp),
        ("dp", train.dp),
        ("micro-batch", train.micro_batch),
    ] {
        if v > 1 << 20 {
            return Err(Error::invalid(format!(
                "{what} {v} is beyond the modelled range (at most 1048576)"
            )));
        }
    }
    let per_step = train.micro_batch * train.dp;
    if !train.global_batch.is_multiple_of(per_step) {
        return Err(Error::invalid(format!(
            "global batch {} is not a multiple of micro-batch {} x data parallel {}",
            train.global_batch, train.micro_batch, train.dp
        )));
    }
    if !(train.bytes_per_param > 0.0 && train.bytes_per_param < 1e3) {
        return Err(Error::invalid("bytes per parameter must lie in (0, 1000)"));
    }
    // Keep every byte count far from u64 overflow and the simulation small.
    if train.micro_batches() > MAX_MICRO_BATCHES {
        return Err(Error::invalid(format!(
            "{} micro-batches per step; at most {MAX_MICRO_BATCHES} are simulated",
            train.micro_batches()
        )));
    }
    let layer = megatron_activation_bytes(model, train, MegatronRecompute::None);
    let state = model.layers as f64 * model.params_per_layer() * train.bytes_per_param
        + 2.0
            * (model.vocab as f64 + train.seq as f64)
            * model.hidden as f64
            * train.bytes_per_param;
    let logits = 6.0 * train.seq as f64 * train.micro_batch as f64 * model.vocab as f64;
    let extent = model.layers as f64 * layer * train.pp as f64 + state + logits;
    if extent.is_nan() || extent >= MAX_MODELED_BYTES {
        return Err(Error::invalid(format!(
            "configuration too large to model: about {extent:.3e} bytes of activations and state (limit {MAX_MODELED_BYTES:.0e})"
        )));
    }
    Ok(())
}

/// Where in a layer's backward pass an activation is consumed; recomputation must finish
/// before that point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segment {
    /// The MLP backward (fc2, GeLU, fc1), which runs before the tensor-parallel all-reduce of
    /// the MLP input gradient.
    Mlp,
    /// The attention backward (LayerNorm 2, projection, attention core, QKV), after that
    /// all-reduce.
    Attention,
}

/// One activation a layer may store for its backward pass, or drop and recompute.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorSpec {
    /// Name of the tensor (the op whose input or output it is).
    pub name: &'static str,
    /// Bytes on one GPU for one micro-batch.
    pub bytes: u64,
    /// Forward time of the op that produces it, seconds: the cost of recomputing it.
    pub recompute_s: f64,
    /// Tensors (indices into the same graph, all smaller) the producer reads. The layer input
    /// is always stored and is not listed.
    pub deps: Vec<usize>,
    /// Where the backward pass consumes it.
    pub segment: Segment,
    /// Whether its recomputation may run inside a communication window: false when the
    /// producer itself communicates (a tensor-parallel all-reduce or all-gather).
    pub window_ok: bool,
}

/// The activations of one layer in topological order (each tensor's deps come before it).
#[derive(Debug, Clone, PartialEq)]
pub struct LayerGraph {
    /// Droppable activations.
    pub tensors: Vec<TensorSpec>,
    /// Bytes always stored per layer and micro-batch: the layer input (LayerNorm 1's input).
    pub fixed_bytes: u64,
}

impl LayerGraph {
    /// Bytes of every activation, stored or not (the no-recomputation footprint).
    pub fn total_bytes(&self) -> u64 {
        self.fixed_bytes + self.tensors.iter().map(|t| t.bytes).sum::<u64>()
    }
}

/// Indices of the GPT layer's tensors in [`layer_cost`]'s graph.
pub mod tensor {
    /// LayerNorm 1 output = QKV input.
    pub const LN1_OUT: usize = 0;
    /// Q and K.
    pub const QK: usize = 1;
    /// V.
    pub const V: usize = 2;
    /// Softmax output.
    pub const SOFTMAX: usize = 3;
    /// Softmax-dropout mask and output.
    pub const SOFTMAX_DROPOUT: usize = 4;
    /// Attention context = projection input.
    pub const CONTEXT: usize = 5;
    /// Dropout mask after the projection.
    pub const ATTN_DROPOUT_MASK: usize = 6;
    /// Residual sum after attention = LayerNorm 2 input.
    pub const LN2_IN: usize = 7;
    /// LayerNorm 2 output = fc1 input.
    pub const LN2_OUT: usize = 8;
    /// fc1 output = GeLU input.
    pub const FC1_OUT: usize = 9;
    /// GeLU output = fc2 input.
    pub const GELU_OUT: usize = 10;
    /// Dropout mask after fc2.
    pub const MLP_DROPOUT_MASK: usize = 11;
}

/// Forward ops of a layer, in order; `forward_s` includes the op's collective.
#[derive(Debug, Clone, PartialEq)]
pub struct OpCost {
    /// Op name.
    pub name: &'static str,
    /// Forward time, seconds (compute plus its collective on the critical path).
    pub forward_s: f64,
    /// Backward time, seconds (compute only; backward collectives are listed in
    /// [`LayerCost::backward_collective_s`]).
    pub backward_s: f64,
}

/// Everything the schedulers need about one layer.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerCost {
    /// Droppable activations and their recompute costs.
    pub graph: LayerGraph,
    /// Forward ops in execution order.
    pub ops: Vec<OpCost>,
    /// Each of the two backward tensor-parallel collectives (after fc1's input gradient and
    /// after QKV's), seconds; these are the communication windows inside a stage.
    pub backward_collective_s: f64,
}

impl LayerCost {
    /// Forward time of the layer.
    pub fn forward_s(&self) -> f64 {
        self.ops.iter().map(|o| o.forward_s).sum()
    }

    /// Backward time of the layer without recomputation (including both collectives).
    pub fn backward_s(&self) -> f64 {
        self.ops.iter().map(|o| o.backward_s).sum::<f64>() + 2.0 * self.backward_collective_s
    }

    /// Forward time of one op by name (0 when absent).
    pub fn op_forward_s(&self, name: &str) -> f64 {
        self.ops
            .iter()
            .filter(|o| o.name == name)
            .map(|o| o.forward_s)
            .sum()
    }
}

/// Which of Megatron's activation formulas to evaluate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MegatronRecompute {
    /// Everything stored.
    None,
    /// Attention core (softmax, its dropout, attention over V) recomputed.
    Selective,
    /// Only the layer input stored.
    Full,
}

/// Korthikanti et al.'s closed-form activation bytes per layer and micro-batch on one GPU:
/// `sbh(34 + 5as/h)` for `t = 1`; `sbh(10 + 24/t + 5as/(ht))` with tensor parallelism;
/// `sbh(34/t + 5as/(ht))` with sequence parallelism; selective drops the `5as/h` term; full keeps
/// `2sbh` (`2sbh/t` with sequence parallelism).
pub fn megatron_activation_bytes(
    model: &ModelConfig,
    train: &Training,
    mode: MegatronRecompute,
) -> f64 {
    let (s, b, h, a, t) = (
        train.seq as f64,
        train.micro_batch as f64,
        model.hidden as f64,
        model.heads as f64,
        train.tp as f64,
    );
    let sbh = s * b * h;
    let attention_core = 5.0 * a * s / (h * t);
    let rest = if train.sequence_parallel {
        34.0 / t
    } else {
        10.0 + 24.0 / t
    };
    match mode {
        MegatronRecompute::None => sbh * (rest + attention_core),
        MegatronRecompute::Selective => sbh * rest,
        MegatronRecompute::Full => {
            if train.sequence_parallel {
                2.0 * sbh / t
            } else {
                2.0 * sbh
            }
        }
    }
}

/// Builds the per-op times and the activation graph of one layer.
///
/// Forward ops (FLOPs / HBM bytes on one GPU, `u = t` under sequence parallelism else 1,
/// `sbh = s b h`, `A = a s^2 b`):
/// `ln1` 8sbh/u / 4sbh/u (+ all-gather of 2sbh under sequence parallelism); `qk_proj`
/// 4sbh·h/t / 2sbh + 4sbh/t + 4h²/t; `v_proj` 2sbh·h/t / 2sbh + 2sbh/t + 2h²/t;
/// `scores_softmax` 2bs²h/t + 5A/t / 4sbh/t + 6A/t; `softmax_dropout` A/t / 5A/t;
/// `attn_over_v` 2bs²h/t / 2A/t + 4sbh/t; `attn_dropout_mask` 0 / sbh/u; `proj_residual`
/// 2sbh·h/t / 2sbh/t + 2h²/t + 2sbh + 5sbh/u + all-reduce of 2sbh (reduce-scatter under
/// sequence parallelism); `ln2` as `ln1`; `fc1` 8sbh·h/t / 2sbh + 8sbh/t + 8h²/t; `gelu`
/// 64sbh/t / 16sbh/t; `mlp_dropout_mask` 0 / sbh/u; `fc2_residual` 8sbh·h/t / 8sbh/t + 8h²/t +
/// 2sbh + 5sbh/u + the same collective as `proj_residual`.
///
/// Stored tensors (Megatron's list): LayerNorm inputs 2sbh/u each (the first is the fixed layer
/// input), QKV input 2sbh/u, Q and K 4sbh/t, V 2sbh/t, softmax output 2A/t, softmax dropout mask
/// and output 3A/t, context 2sbh/t, two dropout masks sbh/u each, fc1 input 2sbh/u, GeLU input
/// and output 8sbh/t each: `34 sbh + 5A` in total for `t = 1`.
pub fn layer_cost(model: &ModelConfig, train: &Training, hw: &Hardware) -> LayerCost {
    let (s, b, h, a, t) = (
        train.seq as u64,
        train.micro_batch as u64,
        model.hidden as u64,
        model.heads as u64,
        train.tp as u64,
    );
    let u = if train.sequence_parallel { t } else { 1 };
    let sbh = s * b * h;
    let att = a * s * s * b; // a s^2 b
    let (fsbh, fatt, fh, ft, fu) = (sbh as f64, att as f64, h as f64, t as f64, u as f64);
    let ranks = train.tp;
    // Row-parallel output: all-reduce of 2sbh, or reduce-scatter under sequence parallelism;
    // LayerNorm output: all-gather of 2sbh under sequence parallelism only.
    let out_collective = if train.sequence_parallel {
        hw.half_collective_s(2.0 * fsbh, ranks)
    } else {
        hw.all_reduce_s(2.0 * fsbh, ranks)
    };
    let ln_collective = if train.sequence_parallel {
        hw.half_collective_s(2.0 * fsbh, ranks)
    } else {
        0.0
    };
    let backward_collective_s = hw.all_reduce_s(2.0 * fsbh, ranks);

    let k = |flops: f64, bytes: f64| hw.kernel_s(flops, bytes);
    let ln = k(8.0 * fsbh / fu, 4.0 * fsbh / fu);
    let qk_proj = k(
        4.0 * fsbh * fh / ft,
        2.0 * fsbh + 4.0 * fsbh / ft + 4.0 * fh * fh / ft,
    );
    let v_proj = k(
        2.0 * fsbh * fh / ft,
        2.0 * fsbh + 2.0 * fsbh / ft + 2.0 * fh * fh / ft,
    );
    let s_f = train.seq as f64;
    let b_f = train.micro_batch as f64;
    let scores_softmax = k(
        2.0 * b_f * s_f * s_f * fh / ft + 5.0 * fatt / ft,
        4.0 * fsbh / ft + 6.0 * fatt / ft,
    );
    let softmax_dropout = k(fatt / ft, 5.0 * fatt / ft);
    let attn_over_v = k(
        2.0 * b_f * s_f * s_f * fh / ft,
        2.0 * fatt / ft + 4.0 * fsbh / ft,
    );
    let mask = k(0.0, fsbh / fu);
    let proj = k(
        2.0 * fsbh * fh / ft,
        2.0 * fsbh / ft + 2.0 * fh * fh / ft + 2.0 * fsbh + 5.0 * fsbh / fu,
    );
    let fc1 = k(
        8.0 * fsbh * fh / ft,
        2.0 * fsbh + 8.0 * fsbh / ft + 8.0 * fh * fh / ft,
    );
    let gelu = k(64.0 * fsbh / ft, 16.0 * fsbh / ft);
    let fc2 = k(
        8.0 * fsbh * fh / ft,
        8.0 * fsbh / ft + 8.0 * fh * fh / ft + 2.0 * fsbh + 5.0 * fsbh / fu,
    );

    // (name, forward compute, forward collective, has backward)
    let table: [(&'static str, f64, f64, bool); 13] = [
        ("ln1", ln, ln_collective, true),
        ("qk_proj", qk_proj, 0.0, true),
        ("v_proj", v_proj, 0.0, true),
        ("scores_softmax", scores_softmax, 0.0, true),
        ("softmax_dropout", softmax_dropout, 0.0, true),
        ("attn_over_v", attn_over_v, 0.0, true),
        ("attn_dropout_mask", mask, 0.0, false),
        ("proj_residual", proj, out_collective, true),
        ("ln2", ln, ln_collective, true),
        ("fc1", fc1, 0.0, true),
        ("gelu", gelu, 0.0, true),
        ("mlp_dropout_mask", mask, 0.0, false),
        ("fc2_residual", fc2, out_collective, true),
    ];
    let ops: Vec<OpCost> = table
        .iter()
        .map(|&(name, compute, collective, bwd)| OpCost {
            name,
            forward_s: compute + collective,
            backward_s: if bwd { 2.0 * compute } else { 0.0 },
        })
        .collect();
    let fwd = |i: usize| ops[i].forward_s;
    let comm = |i: usize| table[i].2 == 0.0;

    use Segment::{Attention, Mlp};
    // (name, bytes, producer op index, deps, segment)
    let specs: [(&'static str, u64, usize, &[usize], Segment); 12] = [
        ("ln1_out", 2 * sbh / u, 0, &[], Attention),
        ("q_k", 4 * sbh / t, 1, &[tensor::LN1_OUT], Attention),
        ("v", 2 * sbh / t, 2, &[tensor::LN1_OUT], Attention),
        ("softmax_out", 2 * att / t, 3, &[tensor::QK], Attention),
        (
            "softmax_dropout",
            3 * att / t,
            4,
            &[tensor::SOFTMAX],
            Attention,
        ),
        (
            "attn_context",
            2 * sbh / t,
            5,
            &[tensor::SOFTMAX_DROPOUT, tensor::V],
            Attention,
        ),
        ("attn_dropout_mask", sbh / u, 6, &[], Attention),
        (
            "ln2_in",
            2 * sbh / u,
            7,
            &[tensor::CONTEXT, tensor::ATTN_DROPOUT_MASK],
            Attention,
        ),
        ("ln2_out", 2 * sbh / u, 8, &[tensor::LN2_IN], Mlp),
        ("fc1_out", 8 * sbh / t, 9, &[tensor::LN2_OUT], Mlp),
        ("gelu_out", 8 * sbh / t, 10, &[tensor::FC1_OUT], Mlp),
        ("mlp_dropout_mask", sbh / u, 11, &[], Mlp),
    ];
    let tensors = specs
        .iter()
        .map(|&(name, bytes, op, deps, segment)| TensorSpec {
            name,
            bytes,
            recompute_s: fwd(op),
            deps: deps.to_vec(),
            segment,
            window_ok: comm(op),
        })
        .collect();
    LayerCost {
        graph: LayerGraph {
            tensors,
            fixed_bytes: 2 * sbh / u,
        },
        ops,
        backward_collective_s,
    }
}

/// Parameters held by pipeline stage `stage` on one GPU: its layers' share `/t`, plus the
/// word embedding `Vh/t` and positions `sh` on the first stage, and the tied output embedding
/// `Vh/t` with the final LayerNorm `2h` on the last.
pub fn stage_params(model: &ModelConfig, train: &Training, stage: usize) -> f64 {
    let (h, t) = (model.hidden as f64, train.tp as f64);
    let layers = (model.layers / train.pp) as f64;
    let mut params = layers * model.params_per_layer() / t;
    if stage == 0 {
        params += model.vocab as f64 * h / t + train.seq as f64 * h;
    }
    if stage + 1 == train.pp {
        params += model.vocab as f64 * h / t + 2.0 * h;
    }
    params
}

/// Memory a stage needs whatever the recomputation: model state (`bytes_per_param` per
/// parameter) and, on the last stage, the vocabulary-parallel logits of one micro-batch in bf16
/// plus their fp32 softmax for the cross-entropy, `s b V / t * (2 + 4)` bytes.
pub fn stage_static_bytes(model: &ModelConfig, train: &Training, stage: usize) -> u64 {
    let mut bytes = stage_params(model, train, stage) * train.bytes_per_param;
    if stage + 1 == train.pp {
        let logits = (train.seq * train.micro_batch * model.vocab / train.tp) as f64;
        bytes += 6.0 * logits;
    }
    bytes as u64
}

/// Per-micro-batch (forward, backward) time a stage spends outside its transformer layers:
/// the embedding lookup on the first stage; the final LayerNorm, the logits GEMM `2 s b h V / t`
/// and the cross-entropy over `s b V / t` fp32 values on the last.
pub fn stage_extra_s(
    model: &ModelConfig,
    train: &Training,
    hw: &Hardware,
    stage: usize,
) -> (f64, f64) {
    let (s, b, h, t) = (
        train.seq as f64,
        train.micro_batch as f64,
        model.hidden as f64,
        train.tp as f64,
    );
    let v = model.vocab as f64;
    let (mut f, mut bw) = (0.0, 0.0);
    if stage == 0 {
        let embed = hw.kernel_s(0.0, 3.0 * 2.0 * s * b * h);
        f += embed;
        bw += 2.0 * embed;
    }
    if stage + 1 == train.pp {
        let ln = hw.kernel_s(8.0 * s * b * h, 4.0 * s * b * h);
        let logits = hw.kernel_s(
            2.0 * s * b * h * v / t,
            2.0 * s * b * h + 2.0 * h * v / t + 2.0 * s * b * v / t,
        );
        let xent = hw.kernel_s(5.0 * s * b * v / t, 10.0 * s * b * v / t);
        f += ln + logits + xent;
        bw += 2.0 * (ln + logits + xent);
    }
    (f, bw)
}

/// Micro-batches whose activations stage `i` holds at its peak under 1F1B: `min(p - i, m)`.
pub fn in_flight(train: &Training, stage: usize) -> usize {
    let m = train.micro_batches();
    let ahead = train.pp - stage;
    if ahead < m {
        ahead
    } else {
        m
    }
}

/// Whether the activations sent from stage `i` to `i + 1` cross a node boundary (Megatron rank
/// order: tensor-parallel ranks innermost, then data-parallel, then pipeline).
pub fn boundary_crosses_nodes(train: &Training, hw: &Hardware, stage: usize) -> bool {
    let stride = train.tp * train.dp;
    (stage * stride) / hw.gpus_per_node != ((stage + 1) * stride) / hw.gpus_per_node
}

/// Pipeline transfer time of one micro-batch's activations (or gradients) between stages `i`
/// and `i + 1`: `2 s b h / t` bytes per GPU (Megatron's scatter/gather optimisation).
pub fn p2p_s(model: &ModelConfig, train: &Training, hw: &Hardware, stage: usize) -> f64 {
    let bytes = 2.0 * (train.seq * train.micro_batch * model.hidden) as f64 / train.tp as f64;
    hw.p2p_s(bytes, boundary_crosses_nodes(train, hw, stage))
}

/// Step-end work outside the pipeline: the data-parallel all-reduce of fp32 gradients and the
/// Adam update (memory-bound over the model state), on the stage with the most parameters.
pub fn step_tail_s(model: &ModelConfig, train: &Training, hw: &Hardware) -> f64 {
    let params = (0..train.pp)
        .map(|i| stage_params(model, train, i))
        .fold(0.0, f64::max);
    // Data-parallel peers are tp ranks apart: the group leaves the node when tp * dp does.
    let across = train.tp * train.dp > hw.gpus_per_node;
    let ring = hw.ring_all_reduce_s(4.0 * params, train.dp, across);
    ring + hw.kernel_s(0.0, 2.0 * train.bytes_per_param * params)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    fn bytes_of(graph: &LayerGraph, which: &[usize]) -> u64 {
        which.iter().map(|&i| graph.tensors[i].bytes).sum()
    }

    fn setup(name: &str, t: usize, sp: bool) -> (ModelConfig, Training) {
        let model = ModelConfig::preset(name).unwrap();
        let train = Training {
            seq: 2048,
            micro_batch: 4,
            global_batch: 64,
            tp: t,
            pp: 1,
            dp: 1,
            sequence_parallel: sp,
            bytes_per_param: 18.0,
        };
        (model, train)
    }

    #[test]
    fn graph_totals_reproduce_megatron_formulas() {
        let hw = Hardware::a100_80gb();
        for (name, t, sp) in [
            ("gpt-22b", 1, false),
            ("gpt-22b", 8, false),
            ("gpt-22b", 8, true),
            ("gpt-1.3b", 2, false),
        ] {
            let (model, train) = setup(name, t, sp);
            let g = layer_cost(&model, &train, &hw).graph;
            let none = megatron_activation_bytes(&model, &train, MegatronRecompute::None);
            // The formulas are in real arithmetic; the graph counts whole bytes.
            let same = |a: f64, b: f64| (a - b).abs() <= 1e-12 * b;
            assert!(same(g.total_bytes() as f64, none), "{name} t={t} sp={sp}");
            let dropped = bytes_of(&g, &[tensor::SOFTMAX, tensor::SOFTMAX_DROPOUT]);
            let selective = megatron_activation_bytes(&model, &train, MegatronRecompute::Selective);
            assert!(same((g.total_bytes() - dropped) as f64, selective));
            let full = megatron_activation_bytes(&model, &train, MegatronRecompute::Full);
            assert!(same(g.fixed_bytes as f64, full));
        }
        // Spelled out for 22B, t = 1: s b h = 2048 * 4 * 6144 = 50_331_648;
        // 5 a s / h = 5 * 64 * 2048 / 6144 = 106.67; 34 + 106.67 = 140.67 -> 7.08 GB per layer.
        let (model, train) = setup("gpt-22b", 1, false);
        let g = layer_cost(&model, &train, &Hardware::a100_80gb()).graph;
        assert_eq!(g.total_bytes(), 50_331_648 * 34 + 5 * 64 * 2048 * 2048 * 4);
        assert_eq!(g.total_bytes(), 7_079_985_152);
    }

    #[test]
    fn errors_name_the_problem() {
        let hw = Hardware::a100_80gb();
        let (model, mut train) = setup("gpt-1.3b", 3, false);
        let e = validate(&model, &train, &hw).unwrap_err().to_string();
        assert!(e.contains("does not divide the 16 attention heads"), "{e}");
        train.tp = 1;
        train.pp = 5;
        let e = validate(&model, &train, &hw).unwrap_err().to_string();
        assert!(e.contains("pp=5 does not divide the 24 layers"), "{e}");
        train.pp = 2;
        train.global_batch = 6;
        assert!(validate(&model, &train, &hw)
            .unwrap_err()
            .to_string()
            .contains("global batch 6"));
        let mut odd = model.clone();
        odd.heads = 32;
        odd.hidden = 2000;
        train.global_batch = 64;
        train.tp = 32;
        let e = validate(&odd, &train, &hw).unwrap_err().to_string();
        assert!(e.contains("hidden size 2000"), "{e}");
        assert!(ModelConfig::preset("gpt-7t").is_err());
        // Absurd sizes are refused before any byte count could overflow.
        let (model, mut train) = setup("gpt-1.3b", 1, false);
        train.seq = usize::MAX / 4;
        let e = validate(&model, &train, &hw).unwrap_err().to_string();
        assert!(e.contains("too large to model"), "{e}");
        train.seq = 2048;
        train.dp = usize::MAX / 2;
        assert!(validate(&model, &train, &hw)
            .unwrap_err()
            .to_string()
            .contains("beyond the modelled range"));
    }
}
