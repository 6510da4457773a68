//! The layer-by-layer pruning pipeline (ALGORITHMS.md section 2, "common pipeline").
//!
//! The calibration windows are embedded once; then each decoder layer in turn
//! - observes its linear operators' inputs over every window ([`Model::layer_forward`] with an
//!   [`Observer`] accumulating the statistics the method needs),
//! - has its seven matrices pruned and replaced by owned f32 ones ([`Model::set_linear`]),
//! - and passes its outputs on as the next layer's inputs.
//!
//! Two modes decide what those outputs are:
//! - [`Mode::Sequential`] (Wanda's and SparseGPT's code): the pruned layer is re-run, so each
//!   layer sees the inputs the pruned model will give it;
//! - [`Mode::DenseInput`] (FISTAPruner's default): every layer sees the dense model's inputs, so
//!   layers are independent and a range of them can be pruned anywhere (shards), with the
//!   result bit-identical to a whole-model run. FISTA's intra-layer correction still makes each
//!   operator see X* (its input after the earlier operators of the same layer were pruned,
//!   order Q,K,V -> O -> gate/up -> down) next to the dense X.
//!
//! Everything runs on the exact numeric path (f32 activations) with an f32 KV cache; memory is
//! the windows' residual rows (N x L x d_model floats), one statistic per operator input, and
//! one window's activations at a time.

use super::method::{Method, Observed, Prepared, Statistic};
use super::owl::{self, OwlParams};
use super::pattern::Pattern;
use super::stats::{ChannelNorms, CrossStats, InputStats};
use super::wanda;
use crate::io::Value;
use crate::model::{
    KvCache, KvType, Linear, LinearInput, Mask, Matrix, Model, Numerics, Observer, OwnedWeight,
};
use crate::{Error, Result};
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::ops::Range;

/// What each layer's inputs are (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Sequential,
    DenseInput,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Sequential => "sequential",
            Mode::DenseInput => "dense-input",
        }
    }
}

/// A pruning run.
#[derive(Debug, Clone, PartialEq)]
pub struct PruneSpec {
    pub method: Method,
    pub pattern: Pattern,
    pub mode: Mode,
    /// The decoder layers to prune (all of them for a whole-model run).
    pub layers: Range<usize>,
    /// OWL's layer sparsities around the pattern's (computed over all layers, so the shards of
    /// a distributed run agree).
    pub owl: Option<OwlParams>,
}

impl PruneSpec {
    /// `method` at `pattern` over every layer of `model`, in the method's default mode.
    pub fn new(method: Method, pattern: Pattern, model: &Model) -> PruneSpec {
        PruneSpec {
            mode: method.default_mode(),
            method,
            pattern,
            layers: 0..model.config.n_layer,
            owl: None,
        }
    }

    /// The `llmcore.prune.*` metadata of a run, which every shard carries and the pruned model
    /// keeps: method, pattern, target sparsity, and the settings (method, pattern, OWL, mode and
    /// `calibration`, a description of the calibration windows; not the layer range, so the
    /// shards of one run agree).
    pub fn run_keys(&self, calibration: &str) -> Vec<(String, Value)> {
        let settings = format!(
            "method={:?} pattern={} owl={:?} mode={} {calibration}",
            self.method,
            self.pattern.describe(),
            self.owl,
            self.mode.name()
        );
        vec![
            (
                "llmcore.prune.method".into(),
                Value::String(self.method.name().into()),
            ),
            (
                "llmcore.prune.pattern".into(),
                Value::String(self.pattern.describe()),
            ),
            (
                "llmcore.prune.sparsity".into(),
                Value::F32(self.pattern.sparsity() as f32),
            ),
            ("llmcore.prune.settings".into(), Value::String(settings)),
        ]
    }

    /// Whether the run reads calibration windows (the method's statistics or OWL's scores).
    pub fn needs_calibration(&self) -> bool {
        self.method.statistic().is_some() || self.owl.is_some()
    }
}

/// Where a run is, for a progress bar: `done` of `total` work units (one unit is one window
/// through one layer, or one matrix pruned), now at `layer` doing `stage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub layer: usize,
    pub stage: Stage,
    pub done: usize,
    pub total: usize,
}

/// What a run is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// OWL: the dense model's Wanda scores of this layer, for its outlier ratio.
    Outliers,
    /// Running the dense layers before the range, to get the range's inputs.
    Inputs,
    /// Observing the inputs of the layer's operators (`None`: all of them).
    Statistics(Option<LinearInput>),
    /// Pruning this operator.
    Prune(Linear),
    /// Running the pruned (or dense) layer to make the next layer's inputs.
    Propagate,
}

impl Stage {
    /// "statistics of attn_q/k/v input", "prune ffn_down", ...
    pub fn describe(self) -> String {
        match self {
            Stage::Outliers => "OWL outliers".into(),
            Stage::Inputs => "dense inputs".into(),
            Stage::Statistics(None) => "statistics".into(),
            Stage::Statistics(Some(i)) => format!("statistics {}", i.name()),
            Stage::Prune(op) => format!("prune {}", op.gguf_name()),
            Stage::Propagate => "propagate".into(),
        }
    }
}

/// One pruned matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct MatrixReport {
    pub layer: usize,
    pub op: Linear,
    pub rows: usize,
    pub cols: usize,
    /// Weights exactly zero after pruning.
    pub zeros: usize,
    /// The sparsity this matrix was pruned to (the layer's OWL ratio, or the pattern's).
    pub target: f64,
    /// Method-specific numbers (FISTA: the lambda found and the sparsity before projection).
    pub notes: Vec<(&'static str, f64)>,
}

impl MatrixReport {
    /// zeros / (rows * cols).
    pub fn sparsity(&self) -> f64 {
        self.zeros as f64 / (self.rows * self.cols) as f64
    }
}

/// What a run did.
#[derive(Debug, Clone, PartialEq)]
pub struct PruneReport {
    pub matrices: Vec<MatrixReport>,
    /// Calibration tokens per layer pass (windows x length).
    pub calibration_tokens: usize,
}

impl PruneReport {
    /// Zeros over weights of every pruned matrix.
    pub fn sparsity(&self) -> f64 {
        let zeros: usize = self.matrices.iter().map(|m| m.zeros).sum();
        let all: usize = self.matrices.iter().map(|m| m.rows * m.cols).sum();
        zeros as f64 / all.max(1) as f64
    }
}

/// Checks a spec and calibration set against a model before any work: the layer range, the
/// pattern against every operator's width, the OWL settings, and windows that are non-empty,
/// of one length, within the model's context and made of its token ids.
pub fn validate(model: &Model, calib: &[Vec<u32>], spec: &PruneSpec) -> Result<()> {
    let cfg = &model.config;
    let r = &spec.layers;
    if r.start >= r.end || r.end > cfg.n_layer {
        return Err(Error::invalid(format!(
            "layer range {}..{} is not a non-empty part of the model's 0..{}",
            r.start, r.end, cfg.n_layer
        )));
    }
    for op in Linear::ALL {
        let (_, cols) = cfg.linear_shape(op);
        spec.pattern
            .validate_for(&format!("{} ({cols} columns)", op.gguf_name()), cols)?;
    }
    spec.method.validate(spec.mode)?;
    if let Some(owl) = &spec.owl {
        owl.validate_for(spec.pattern)?;
    }
    if !spec.needs_calibration() {
        return Ok(());
    }
    let len = calib.first().map(Vec::len).unwrap_or(0);
    if calib.is_empty() || len == 0 {
        let who = match spec.method.statistic() {
            Some(_) => spec.method.name(),
            None => "OWL",
        };
        return Err(Error::invalid(format!(
            "{who} needs calibration windows; got none"
        )));
    }
    if let Some((i, w)) = calib.iter().enumerate().find(|(_, w)| w.len() != len) {
        return Err(Error::invalid(format!(
            "calibration window {i} has {} tokens, window 0 has {len}",
            w.len()
        )));
    }
    if len > cfg.context_length {
        return Err(Error::invalid(format!(
            "calibration windows of {len} tokens exceed the model's context of {}",
            cfg.context_length
        )));
    }
    for (i, w) in calib.iter().enumerate() {
        if let Some(&id) = w.iter().find(|&&t| t as usize >= cfg.vocab_size) {
            return Err(Error::invalid(format!(
                "calibration window {i}: token {id} is outside the vocabulary of {}",
                cfg.vocab_size
            )));
        }
    }
    Ok(())
}

/// Prunes `spec.layers` of `model` in place with the calibration windows `calib`, reporting
/// through `progress` (returning `false` cancels with [`Error::Cancelled`]; the model is then
/// partly pruned and should be dropped).
pub fn prune(
    model: &mut Model,
    calib: &[Vec<u32>],
    spec: &PruneSpec,
    progress: &mut dyn FnMut(&Progress) -> bool,
) -> Result<PruneReport> {
    validate(model, calib, spec)?;
    let mut run = Run::new(model, calib, spec, progress)?;
    let patterns = match &spec.owl {
        None => vec![spec.pattern; run.model.config.n_layer],
        Some(owl) => {
            let lods = run.outlier_ratios(owl)?;
            owl::layer_patterns(
                &owl::layer_sparsities(&lods, spec.pattern.sparsity(), owl.lambda),
                spec.pattern,
            )
        }
    };
    run.advance_inputs(spec.layers.start)?;
    let mut matrices = Vec::new();
    for l in spec.layers.clone() {
        matrices.extend(run.prune_layer(l, patterns[l])?);
    }
    Ok(PruneReport {
        matrices,
        calibration_tokens: calib.iter().map(Vec::len).sum(),
    })
}

/// Accumulates a statistic of each of a layer's four inputs (indexed by [`LinearInput`]).
struct StatsObserver {
    stats: Vec<Observed>,
}

impl StatsObserver {
    /// Empty statistics of `kind` (norms or Gram) for each input of `model`'s layers.
    fn new(model: &Model, kind: Statistic) -> Self {
        let stats = LinearInput::ALL
            .iter()
            .map(|i| {
                let cols = model.config.linear_shape(i.ops()[0]).1;
                match kind {
                    Statistic::Norms => Observed::Norms(ChannelNorms::new(cols)),
                    Statistic::Gram | Statistic::Cross => Observed::Gram(InputStats::new(cols)),
                }
            })
            .collect();
        StatsObserver { stats }
    }
}

impl Observer for StatsObserver {
    fn observe(&mut self, _layer: usize, input: LinearInput, x: &[f32], n: usize) {
        match &mut self.stats[input as usize] {
            Observed::Norms(s) => s.add(x, n),
            Observed::Gram(s) => s.add(x, n),
            Observed::Cross(_) => unreachable!("cross statistics are gathered in pairs of runs"),
        }
    }
}

/// The state of one pruning run: the residual rows of every window at the current layer.
struct Run<'a> {
    model: &'a mut Model,
    spec: &'a PruneSpec,
    positions: Vec<u32>,
    cache: KvCache,
    xs: Vec<Vec<f32>>,
    progress: &'a mut dyn FnMut(&Progress) -> bool,
    done: usize,
    total: usize,
}

impl<'a> Run<'a> {
    fn new(
        model: &'a mut Model,
        calib: &[Vec<u32>],
        spec: &'a PruneSpec,
        progress: &'a mut dyn FnMut(&Progress) -> bool,
    ) -> Result<Self> {
        let cfg = &model.config;
        let len = calib.first().map(Vec::len).unwrap_or(0);
        let xs = if spec.needs_calibration() {
            calib
                .iter()
                .map(|w| model.embed(w))
                .collect::<Result<_>>()?
        } else {
            Vec::new()
        };
        let windows = xs.len();
        let layers = spec.layers.len();
        // Units per window per layer: a statistics pass per input observed (FISTA: one per
        // operator group, each running the dense and the partly pruned layer) and, in
        // sequential mode, the pass through the pruned layer.
        let passes_per_layer = match (spec.method.statistic(), spec.mode) {
            (None, _) => 0,
            (Some(Statistic::Norms | Statistic::Gram), Mode::Sequential) => 2,
            (Some(Statistic::Norms | Statistic::Gram), Mode::DenseInput) => 1,
            (Some(Statistic::Cross), Mode::Sequential) => LinearInput::ALL.len() + 1,
            (Some(Statistic::Cross), Mode::DenseInput) => LinearInput::ALL.len(),
        };
        let owl_passes = if spec.owl.is_some() { cfg.n_layer } else { 0 };
        let total = windows * (spec.layers.start + owl_passes + passes_per_layer * layers)
            + Linear::ALL.len() * layers;
        Ok(Run {
            positions: (0..len as u32).collect(),
            cache: KvCache::new(cfg.n_layer, cfg.kv_dim(), len.max(1), KvType::F32),
            model,
            spec,
            xs,
            progress,
            done: 0,
            total,
        })
    }

    /// Counts one unit of work done and asks whether to go on.
    fn tick(&mut self, layer: usize, stage: Stage) -> Result<()> {
        self.done += 1;
        let p = Progress {
            layer,
            stage,
            done: self.done,
            total: self.total,
        };
        if (self.progress)(&p) {
            Ok(())
        } else {
            Err(Error::Cancelled)
        }
    }

    /// Runs layer `l` on window `w`'s rows `x` (the cache slots are reused, never committed).
    fn layer(
        &mut self,
        l: usize,
        x: &mut [f32],
        observer: Option<&mut dyn Observer>,
    ) -> Result<()> {
        self.model.layer_forward(
            l,
            x,
            &self.positions,
            Mask::Causal,
            &mut self.cache,
            Numerics::Exact,
            observer,
        )
    }

    /// OWL's outlier ratio of every layer of the dense model (its own inputs, all windows),
    /// from the Wanda scores of the layer's operators pooled.
    fn outlier_ratios(&mut self, owl: &OwlParams) -> Result<Vec<f64>> {
        let mut xs = self.xs.clone();
        let mut lods = Vec::with_capacity(self.model.config.n_layer);
        for l in 0..self.model.config.n_layer {
            let mut obs = StatsObserver::new(self.model, Statistic::Norms);
            for x in xs.iter_mut() {
                self.layer(l, x, Some(&mut obs))?;
                self.tick(l, Stage::Outliers)?;
            }
            let mut scores = Vec::with_capacity(Linear::ALL.len());
            for op in Linear::ALL {
                let (rows, cols) = self.model.config.linear_shape(op);
                let norms = match &obs.stats[op.input() as usize] {
                    Observed::Norms(n) => n.col_norms(),
                    _ => unreachable!("a norms observer"),
                };
                scores.push(wanda::scores(
                    &self.model.linear_f32(l, op)?,
                    rows,
                    cols,
                    &norms,
                )?);
            }
            let pooled: Vec<&[f32]> = scores.iter().map(Vec::as_slice).collect();
            lods.push(owl::outlier_ratio(&pooled, owl.m));
        }
        Ok(lods)
    }

    /// Runs the dense layers `0..end` over every window.
    fn advance_inputs(&mut self, end: usize) -> Result<()> {
        for l in 0..end {
            for w in 0..self.xs.len() {
                let mut x = core::mem::take(&mut self.xs[w]);
                self.layer(l, &mut x, None)?;
                self.xs[w] = x;
                self.tick(l, Stage::Inputs)?;
            }
        }
        Ok(())
    }

    /// Prunes layer `l` to `pattern` and moves the windows' rows to its output.
    fn prune_layer(&mut self, l: usize, pattern: Pattern) -> Result<Vec<MatrixReport>> {
        let (reports, dense_outputs) = match self.spec.method.statistic() {
            None => return self.prune_ops(l, &Linear::ALL, pattern, None),
            Some(kind @ (Statistic::Norms | Statistic::Gram)) => {
                self.prune_layer_observed(l, pattern, kind)?
            }
            Some(Statistic::Cross) => self.prune_layer_corrected(l, pattern)?,
        };
        match self.spec.mode {
            Mode::DenseInput => self.xs = dense_outputs,
            Mode::Sequential => {
                for w in 0..self.xs.len() {
                    let mut x = core::mem::take(&mut self.xs[w]);
                    self.layer(l, &mut x, None)?;
                    self.xs[w] = x;
                    self.tick(l, Stage::Propagate)?;
                }
            }
        }
        Ok(reports)
    }

    /// Wanda's and SparseGPT's layer: one dense pass observes all four inputs, then every
    /// operator is pruned. Returns the reports and, in dense-input mode, the dense outputs.
    fn prune_layer_observed(
        &mut self,
        l: usize,
        pattern: Pattern,
        kind: Statistic,
    ) -> Result<(Vec<MatrixReport>, Vec<Vec<f32>>)> {
        let mut obs = StatsObserver::new(self.model, kind);
        let mut outputs = Vec::new();
        for w in 0..self.xs.len() {
            let mut x = self.xs[w].clone();
            self.layer(l, &mut x, Some(&mut obs))?;
            if self.spec.mode == Mode::DenseInput {
                outputs.push(x);
            }
            self.tick(l, Stage::Statistics(None))?;
        }
        let prepared = obs
            .stats
            .into_iter()
            .map(|s| self.spec.method.prepare(s))
            .collect::<Result<Vec<_>>>()?;
        let reports = self.prune_ops(l, &Linear::ALL, pattern, Some(&prepared))?;
        Ok((reports, outputs))
    }

    /// FISTAPruner's layer with intra-layer error correction: for each operator group in
    /// forward order (Q,K,V -> O -> gate/up -> down), every window runs through the dense
    /// layer (its `X`) and through the layer with the groups before it pruned (its `X*`; for
    /// Q,K,V the two are equal), their cross statistics are gathered, and the group is pruned.
    /// The pruned matrices are set into the model only when the layer is done, so dense runs
    /// stay dense; for a pruned run they are swapped in and out (moves, not copies). The dense
    /// run is repeated for each group rather than its four inputs kept for every window
    /// (windows x tokens x (3 d_model + d_ffn) floats, 350 MB at 64 x 512 on SmolLM2): a layer
    /// pass is cheap next to the memory a large model's calibration set would need.
    fn prune_layer_corrected(
        &mut self,
        l: usize,
        pattern: Pattern,
    ) -> Result<(Vec<MatrixReport>, Vec<Vec<f32>>)> {
        let n = self.positions.len();
        let mut pruned: Vec<(Linear, Matrix)> = Vec::new();
        let mut reports = Vec::new();
        let mut outputs = Vec::new();
        for input in LinearInput::ALL {
            let cols = self.model.config.linear_shape(input.ops()[0]).1;
            let mut stats = CrossStats::new(cols);
            for w in 0..self.xs.len() {
                let mut x = self.xs[w].clone();
                let mut dense = Capture::new(input);
                self.layer(l, &mut x, Some(&mut dense))?;
                if input == LinearInput::Attn && self.spec.mode == Mode::DenseInput {
                    outputs.push(x);
                }
                if pruned.is_empty() {
                    stats.add_same(&dense.rows, n);
                } else {
                    let mut x = self.xs[w].clone();
                    let mut star = Capture::new(input);
                    pruned = self.swap(l, pruned)?;
                    let run = self.layer(l, &mut x, Some(&mut star));
                    pruned = self.swap(l, pruned)?;
                    run?;
                    stats.add(&dense.rows, &star.rows, n);
                }
                self.tick(l, Stage::Statistics(Some(input)))?;
            }
            let prepared = self.spec.method.prepare(Observed::Cross(stats))?;
            for &op in input.ops() {
                let (rows, cols) = self.model.config.linear_shape(op);
                let mut w = self.model.linear_f32(l, op)?;
                let notes = self
                    .spec
                    .method
                    .prune(&mut w, rows, cols, Some(&prepared), pattern)?;
                let (m, report) = pruned_matrix(l, op, rows, cols, &w, pattern, notes)?;
                pruned.push((op, m));
                reports.push(report);
                self.tick(l, Stage::Prune(op))?;
            }
        }
        self.swap(l, pruned)?;
        Ok((reports, outputs))
    }

    /// Sets each `(op, matrix)` into layer `l`, returning the matrices it replaced.
    fn swap(&mut self, l: usize, ms: Vec<(Linear, Matrix)>) -> Result<Vec<(Linear, Matrix)>> {
        ms.into_iter()
            .map(|(op, m)| Ok((op, self.model.set_linear(l, op, m)?)))
            .collect()
    }

    /// Prunes `ops` of layer `l` with what the method prepared of each one's input (indexed by
    /// [`LinearInput`]), replacing each matrix.
    fn prune_ops(
        &mut self,
        l: usize,
        ops: &[Linear],
        pattern: Pattern,
        prepared: Option<&[Prepared]>,
    ) -> Result<Vec<MatrixReport>> {
        let mut reports = Vec::with_capacity(ops.len());
        for &op in ops {
            let (rows, cols) = self.model.config.linear_shape(op);
            let mut w = self.model.linear_f32(l, op)?;
            let p = prepared.map(|s| &s[op.input() as usize]);
            let notes = self.spec.method.prune(&mut w, rows, cols, p, pattern)?;
            let (m, report) = pruned_matrix(l, op, rows, cols, &w, pattern, notes)?;
            self.model.set_linear(l, op, m)?;
            reports.push(report);
            self.tick(l, Stage::Prune(op))?;
        }
        Ok(reports)
    }
}

/// The owned matrix of pruned weights `w` and its report.
fn pruned_matrix(
    l: usize,
    op: Linear,
    rows: usize,
    cols: usize,
    w: &[f32],
    pattern: Pattern,
    notes: Vec<(&'static str, f64)>,
) -> Result<(Matrix, MatrixReport)> {
    let zeros = w.iter().filter(|&&v| v == 0.0).count();
    let report = MatrixReport {
        layer: l,
        op,
        rows,
        cols,
        zeros,
        target: pattern.sparsity(),
        notes,
    };
    Ok((Matrix::Owned(OwnedWeight::from_f32(rows, cols, w)?), report))
}

/// Keeps one window's rows of one operator input.
struct Capture {
    input: LinearInput,
    rows: Vec<f32>,
}

impl Capture {
    fn new(input: LinearInput) -> Self {
        Capture {
            input,
            rows: Vec::new(),
        }
    }
}

impl Observer for Capture {
    fn observe(&mut self, _layer: usize, input: LinearInput, x: &[f32], _n: usize) {
        if input == self.input {
            self.rows.clear();
            self.rows.extend_from_slice(x);
        }
    }
}
