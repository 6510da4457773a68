//! Draft sources behind one trait: a model drafting with its own KV cache (a separate small
//! model, any loaded model such as a pruned copy, or the target's own first k layers), and the
//! free n-gram draft over the text so far ([`super::ngram`]).

use super::cost::{measure_forward, Curve};
use super::tree::{rank, Candidates, DraftTree};
use crate::math::expf;
use crate::model::{Batch, KvCache, KvType, LogitRows, Mask, Model, Numerics, VisibleSlots};
use crate::tokenizer::Tokenizer;
use crate::{Error, Result};
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

/// Proposes tokens for draft trees. A draft follows the generation's context: tokens given to
/// [`Draft::extend`] and the accepted paths of the trees it drafted ([`Draft::commit`]).
pub trait Draft {
    /// A short description for reports ("model SmolLM2 (30 layers)", "self 8/30", "ngram 3").
    fn describe(&self) -> String;

    /// Forgets the context (a new generation).
    fn reset(&mut self);

    /// Appends `tokens` to the context.
    fn extend(&mut self, tokens: &[u32]);

    /// Up to `k` candidates after each of `nodes` of `tree`, whose paths from the root are
    /// context after what the draft already holds. Within one tree, a node is asked for only
    /// once and after its parent (the builders ask layer by layer, the root first).
    fn propose(&mut self, tree: &DraftTree, nodes: &[usize], k: usize) -> Result<Vec<Candidates>>;

    /// Ends `tree`: the root and the `accepted` nodes (the path below the root, in order)
    /// join the context.
    fn commit(&mut self, tree: &DraftTree, accepted: &[usize]) -> Result<()>;

    /// Seconds one proposal takes by number of nodes drafted after, for the cost model. The
    /// default is no cost (a lookup draft's microseconds).
    fn measure(&self, widths: &[usize]) -> Result<Curve> {
        let _ = widths;
        Ok(Curve::default())
    }
}

/// Checks that a draft model's tokenizer is the target's: the same number of tokens, each with
/// the same bytes, and the same end-of-sequence token. The error names the first difference.
pub fn check_vocabularies(target: &Tokenizer, draft: &Tokenizer) -> Result<()> {
    let (nt, nd) = (target.vocab_size(), draft.vocab_size());
    if nt != nd {
        return Err(Error::invalid(format!(
            "draft and target vocabularies differ: {nd} tokens in the draft, {nt} in the target"
        )));
    }
    for id in 0..nt as u32 {
        if target.token_bytes(id)? != draft.token_bytes(id)? {
            return Err(Error::invalid(format!(
                "draft and target vocabularies differ at token {id}: {:?} in the draft, {:?} in \
                 the target",
                String::from_utf8_lossy(draft.token_bytes(id)?),
                String::from_utf8_lossy(target.token_bytes(id)?)
            )));
        }
    }
    if target.eos() != draft.eos() {
        return Err(Error::invalid(format!(
            "draft and target end-of-sequence tokens differ: {:?} in the draft, {:?} in the target",
            draft.eos(),
            target.eos()
        )));
    }
    Ok(())
}

/// A model drafting through its first `layers` decoder layers (all of them for a separate
/// draft model, the first k for a self-draft that shares the target's weights), with its own
/// KV cache of those layers.
///
/// Within a tree every drafted node gets a slot after the context and sees the context, its
/// ancestors' slots and its own (a fresh mask per layer of the tree, not one carried over);
/// [`Draft::commit`] compacts the accepted path's slots onto the context and forgets the rest.
pub struct ModelDraft {
    model: Arc<Model>,
    layers: usize,
    numerics: Numerics,
    cache: KvCache,
    /// Context tokens not yet in the cache.
    pending: Vec<u32>,
    /// Cache length at the root of the current tree (the context before it).
    context: usize,
    /// Cache slot of each drafted node of the current tree.
    slot: Vec<Option<usize>>,
    /// Candidate ids stay below this (the smaller of the two models' logit widths).
    id_limit: usize,
}

impl ModelDraft {
    /// A separate draft model for `target` (its tokenizer is checked against the target's).
    pub fn new(draft: Arc<Model>, target: &Model, numerics: Numerics) -> Result<ModelDraft> {
        check_vocabularies(target.tokenizer(), draft.tokenizer())?;
        let layers = draft.config.n_layer;
        let id_limit = target.config.vocab_size.min(draft.config.vocab_size);
        Ok(ModelDraft::with_layers(draft, layers, numerics, id_limit))
    }

    /// The target's own first `layers` layers, final norm and output head as its draft (the
    /// weights are shared, not copied). `layers` must be below the model's layer count.
    pub fn self_draft(target: Arc<Model>, layers: usize, numerics: Numerics) -> Result<ModelDraft> {
        let n = target.config.n_layer;
        if layers == 0 || layers >= n {
            return Err(Error::invalid(format!(
                "a self-draft of {layers} layers from a model of {n}: it takes 1..={} layers",
                n - 1
            )));
        }
        let id_limit = target.config.vocab_size;
        Ok(ModelDraft::with_layers(target, layers, numerics, id_limit))
    }

    fn with_layers(model: Arc<Model>, layers: usize, numerics: Numerics, id_limit: usize) -> Self {
        let cfg = &model.config;
        let cache = KvCache::new(
            layers,
            cfg.kv_dim(),
            cfg.context_length,
            KvType::default_for(numerics),
        );
        ModelDraft {
            model,
            layers,
            numerics,
            cache,
            pending: Vec::new(),
            context: 0,
            slot: Vec::new(),
            id_limit,
        }
    }

    /// Decoder layers the draft runs.
    pub fn layers(&self) -> usize {
        self.layers
    }
}

impl Draft for ModelDraft {
    fn describe(&self) -> String {
        let n = self.model.config.n_layer;
        if self.layers == n {
            format!("model ({n} layers)")
        } else {
            format!("self ({} of {n} layers)", self.layers)
        }
    }

    fn reset(&mut self) {
        self.cache.truncate(0).expect("0 is always a valid length");
        self.pending.clear();
        self.slot.clear();
        self.context = 0;
    }

    fn extend(&mut self, tokens: &[u32]) {
        self.pending.extend_from_slice(tokens);
    }

    fn propose(&mut self, tree: &DraftTree, nodes: &[usize], k: usize) -> Result<Vec<Candidates>> {
        if nodes.is_empty() {
            return Ok(Vec::new());
        }
        // The tree's first proposal: the pending context goes in the same batch, causally.
        let starts = nodes.contains(&0);
        if starts {
            self.context = self.cache.len() + self.pending.len();
            self.slot.clear();
        }
        self.slot.resize(tree.len(), None);
        let head: Vec<u32> = if starts {
            core::mem::take(&mut self.pending)
        } else {
            Vec::new()
        };
        let base = self.cache.len();
        let mut tokens = head.clone();
        let mut positions: Vec<u32> = (base..base + head.len()).map(|p| p as u32).collect();
        let mut extras: Vec<Vec<u32>> = Vec::with_capacity(nodes.len());
        for (j, &i) in nodes.iter().enumerate() {
            let own = (base + head.len() + j) as u32;
            let mut extra: Vec<u32> = Vec::with_capacity(tree.depth(i) as usize + 1);
            let mut a = i;
            while a != 0 {
                a = tree.parent(a);
                let s = self.slot[a].ok_or_else(|| {
                    Error::invalid(format!(
                        "draft: node {i} asked for before its ancestor {a} was drafted"
                    ))
                })?;
                extra.push(s as u32);
            }
            extra.reverse();
            extra.push(own);
            extras.push(extra);
            tokens.push(tree.token(i));
            positions.push((self.context + tree.depth(i) as usize) as u32);
        }
        let mut rows: Vec<VisibleSlots<'_>> = (0..head.len())
            .map(|j| VisibleSlots {
                prefix: base + j + 1,
                extra: &[],
            })
            .collect();
        rows.extend(extras.iter().map(|e| VisibleSlots {
            prefix: self.context,
            extra: e,
        }));
        let out: Vec<usize> = (head.len()..tokens.len()).collect();
        let batch = Batch {
            tokens: &tokens,
            positions: &positions,
            mask: Mask::Rows(&rows),
        };
        let logits = self.model.forward_layers(
            &mut self.cache,
            &batch,
            self.numerics,
            LogitRows::Some(&out),
            self.layers,
        );
        let logits = match logits {
            Ok(l) => l,
            Err(e) => {
                if starts {
                    self.pending = head;
                }
                return Err(e);
            }
        };
        for (j, &i) in nodes.iter().enumerate() {
            self.slot[i] = Some(base + head.len() + j);
        }
        let width = self.model.config.vocab_size;
        Ok(logits
            .chunks(width)
            .map(|row| top_k_softmax(&row[..self.id_limit], k))
            .collect())
    }

    fn commit(&mut self, tree: &DraftTree, accepted: &[usize]) -> Result<()> {
        let mut keep = Vec::new();
        let mut rest = Vec::new();
        for i in core::iter::once(0).chain(accepted.iter().copied()) {
            match self.slot.get(i).copied().flatten() {
                Some(s) if rest.is_empty() => keep.push(s),
                _ => rest.push(tree.token(i)),
            }
        }
        if self.slot.first().copied().flatten().is_some() {
            self.cache.compact(self.context, &keep)?;
        }
        self.pending.extend(rest);
        self.slot.clear();
        Ok(())
    }

    fn measure(&self, widths: &[usize]) -> Result<Curve> {
        measure_forward(&self.model, self.layers, self.numerics, 0, widths, true)
    }
}

/// The `k` most likely tokens of softmax(`logits`), most likely first (ties by id). Logits more
/// than 30 below the maximum are left out of the normalizer (each weighs < 1e-13 of the
/// largest, so even 150k of them move a probability by < 2e-8) to spare an exp per vocabulary
/// entry.
pub(crate) fn top_k_softmax(logits: &[f32], k: usize) -> Candidates {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let floor = max - 30.0;
    let sum: f64 = logits
        .iter()
        .filter(|&&l| l > floor)
        .map(|&l| expf(l - max) as f64)
        .sum();
    let k = k.min(logits.len());
    let mut idx: Vec<u32> = (0..logits.len() as u32).collect();
    let by_logit = |a: &u32, b: &u32| {
        logits[*b as usize]
            .total_cmp(&logits[*a as usize])
            .then(a.cmp(b))
    };
    if k < idx.len() && k > 0 {
        idx.select_nth_unstable_by(k - 1, by_logit);
    }
    idx.truncate(k);
    let mut c: Candidates = idx
        .into_iter()
        .map(|t| (t, (expf(logits[t as usize] - max) as f64 / sum) as f32))
        .collect();
    rank(&mut c, k);
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_softmax_ranks_and_normalizes() {
        let l = [1.0f32, 3.0, 3.0, -50.0, 2.0];
        let c = top_k_softmax(&l, 3);
        assert_eq!(c.iter().map(|x| x.0).collect::<Vec<_>>(), [1, 2, 4]);
        let z: f64 = l.iter().map(|&x| (x as f64 - 3.0).exp()).sum();
        assert!((c[0].1 as f64 - 1.0 / z).abs() < 1e-6);
        assert!((c[2].1 as f64 - (-1.0f64).exp() / z).abs() < 1e-6);
        assert_eq!(top_k_softmax(&l, 0), Vec::new());
        assert_eq!(top_k_softmax(&l, 9).len(), 5);
    }
}
