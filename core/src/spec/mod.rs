//! Speculative decoding over draft trees (OPT-Tree, Wang et al., TACL 2025): a draft proposes
//! a tree of candidate continuations, the target verifies the whole tree in one forward (each
//! node at position prefix + depth, seeing the prefix, its ancestors and itself), and the
//! longest path the target agrees with is emitted with one token of the target's own.
//!
//! - [`draft`]: the [`Draft`] trait; [`ModelDraft`] (a separate model with the same
//!   vocabulary, any loaded model, or the target's own first k layers) and [`NgramDraft`].
//! - [`opt_tree`]: the E(A)-maximizing tree; [`static_tree`]: chain, EAGLE-style and
//!   Sequoia-style shapes.
//! - [`verify`]: greedy and lossless sampled acceptance.
//! - [`cost`]: measured forward times and the budget that maximizes tokens per second.
//! - [`engine`]: [`Speculator::generate`], the loop with KV compaction in both caches.

pub mod cost;
pub mod draft;
pub mod engine;
pub mod ngram;
pub mod opt_tree;
pub mod static_tree;
pub mod tree;
pub mod verify;

pub use cost::{CostModel, Curve, Plan};
pub use draft::{check_vocabularies, Draft, ModelDraft};
pub use engine::{Budget, SpecParams, SpecStats, Speculation, Speculator, TreeKind};
pub use ngram::NgramDraft;
pub use opt_tree::OptTree;
pub use static_tree::{Sequoia, Shape};
pub use tree::{Candidates, DraftTree};
pub use verify::{RankStats, Verdict};
