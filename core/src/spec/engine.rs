//! The speculative decoder: per step, draft a tree after the last accepted token, verify it in
//! one target forward, keep the accepted path's KV entries in both caches, and emit the accepted
//! tokens and the target's bonus token through the same emitter as plain generation (EOS, stop
//! strings, the token limit and the context limit end it exactly where plain decoding would).

use super::cost::{measure_forward, profile_widths, AcceptanceEstimate, CostModel, Curve, Plan};
use super::draft::Draft;
use super::opt_tree::OptTree;
use super::static_tree::Shape;
use super::tree::{Candidates, DraftTree};
use super::verify::{verify, RankStats};
use crate::model::generate::{now, Emitter, GenerateParams, Generation, StopReason};
use crate::model::sampling::{validate_logit_bias, Sampler, Setting};
use crate::model::{Batch, LogitRows, Mask, Session};
use crate::{Error, Result};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// Which tree the draft fills each step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TreeKind {
    /// OPT-Tree: the E(A)-maximizing tree, rebuilt every step ([`OptTree`]).
    Opt,
    /// A chain of `budget` tokens.
    Chain,
    /// The fixed EAGLE-style tree ([`Shape::eagle`]), its first `budget` nodes.
    Eagle,
    /// Sequoia's static tree for `budget` nodes from the acceptance by rank measured so far
    /// ([`Shape::sequoia`]).
    Sequoia,
}

impl TreeKind {
    pub fn name(self) -> &'static str {
        match self {
            TreeKind::Opt => "opt",
            TreeKind::Chain => "chain",
            TreeKind::Eagle => "eagle",
            TreeKind::Sequoia => "sequoia",
        }
    }

    /// The kind named `name` (`opt`, `chain`, `eagle`, `sequoia`).
    pub fn from_name(name: &str) -> Result<TreeKind> {
        [
            TreeKind::Opt,
            TreeKind::Chain,
            TreeKind::Eagle,
            TreeKind::Sequoia,
        ]
        .into_iter()
        .find(|k| k.name() == name)
        .ok_or_else(|| {
            Error::invalid(format!(
                "unknown tree {name:?} (expected opt, chain, eagle or sequoia)"
            ))
        })
    }
}

/// How many nodes each step's tree gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// This many nodes (below the root) every step.
    Fixed(usize),
    /// The budget up to `max` (or no tree) that the cost model predicts fastest, every step,
    /// from forward times measured at the start and the acceptance measured so far.
    Auto { max: usize },
}

/// Settings of speculative generation.
#[derive(Debug, Clone, PartialEq)]
pub struct SpecParams {
    pub generate: GenerateParams,
    pub tree: TreeKind,
    pub budget: Budget,
    /// Layers a tree may have.
    pub max_depth: usize,
    /// OPT-Tree's stop rule ([`OptTree::delta`]).
    pub delta: f64,
}

impl Default for SpecParams {
    fn default() -> Self {
        let opt = OptTree::default();
        SpecParams {
            generate: GenerateParams::default(),
            tree: TreeKind::Opt,
            budget: Budget::Auto { max: 32 },
            max_depth: opt.max_depth,
            delta: opt.delta,
        }
    }
}

impl SpecParams {
    /// Checks every setting before any work: the generation's ([`GenerateParams::validate`]),
    /// a budget and a depth of at least 1, and delta.
    pub fn validate(&self) -> Result<()> {
        self.generate.validate()?;
        let budget = match self.budget {
            Budget::Fixed(n) | Budget::Auto { max: n } => n,
        };
        OptTree {
            budget,
            max_depth: self.max_depth,
            delta: self.delta,
        }
        .validate()
    }
}

/// What speculation did over a generation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SpecStats {
    /// Target verification forwards (one per step).
    pub steps: usize,
    /// Draft tokens verified (tree nodes below the root), summed over steps.
    pub drafted: usize,
    /// Draft tokens accepted, summed over steps.
    pub accepted: usize,
    /// `accepted_hist[a]`: steps that accepted `a` draft tokens.
    pub accepted_hist: Vec<usize>,
    /// Wall time in the draft's proposals.
    pub draft_seconds: f64,
    /// Wall time in the target's verification forwards.
    pub verify_seconds: f64,
    /// The rank of the target's choice among the draft's candidates.
    pub rank: RankStats,
    /// The cost model's predictions summed over steps (0 without a cost model): tokens per
    /// step (1 + E(A) from the acceptance by rank measured before the step) and seconds.
    pub predicted_tokens: f64,
    pub predicted_seconds: f64,
}

impl SpecStats {
    /// Tokens per second the cost model predicted for the steps taken (`None` without one).
    pub fn predicted_tokens_per_s(&self) -> Option<f64> {
        (self.predicted_seconds > 0.0).then(|| self.predicted_tokens / self.predicted_seconds)
    }

    /// Mean tokens emitted per target step (accepted + 1): the acceptance length.
    pub fn mean_accepted_length(&self) -> f64 {
        if self.steps == 0 {
            0.0
        } else {
            (self.accepted + self.steps) as f64 / self.steps as f64
        }
    }
}

/// A speculative generation: the [`Generation`] plain decoding would report (its
/// `decode_seconds` and `decode_steps` count the verification steps, prefill excluded) and what
/// speculation did.
#[derive(Debug, Clone, PartialEq)]
pub struct Speculation {
    pub generation: Generation,
    pub stats: SpecStats,
}

/// Times a draft's proposals and records the widths it drafted after.
struct Timed<'a> {
    inner: &'a mut dyn Draft,
    calls: Vec<(usize, f64)>,
}

impl Draft for Timed<'_> {
    fn describe(&self) -> String {
        self.inner.describe()
    }
    fn reset(&mut self) {
        self.inner.reset()
    }
    fn extend(&mut self, tokens: &[u32]) {
        self.inner.extend(tokens)
    }
    fn propose(&mut self, tree: &DraftTree, nodes: &[usize], k: usize) -> Result<Vec<Candidates>> {
        let t = now();
        let c = self.inner.propose(tree, nodes, k)?;
        self.calls.push((nodes.len(), now() - t));
        Ok(c)
    }
    fn commit(&mut self, tree: &DraftTree, accepted: &[usize]) -> Result<()> {
        self.inner.commit(tree, accepted)
    }
    fn measure(&self, widths: &[usize]) -> Result<Curve> {
        self.inner.measure(widths)
    }
}

/// The target's logits of tree nodes, computed on demand from the verification's hidden rows.
/// Asked for a node, it computes the node and the draft's first-ranked chain below it in one
/// call of the output head: the rows the walk will ask for next if the draft is right, at
/// what one batched call costs instead of one call per accepted token.
struct HeadRows<'t> {
    tree: &'t DraftTree,
    vocab: usize,
    rows: Vec<Option<Vec<f32>>>,
}

/// Rows one call of the output head computes at most.
const HEAD_CHAIN: usize = 8;

impl<'t> HeadRows<'t> {
    fn new(tree: &'t DraftTree, vocab: usize) -> Self {
        HeadRows {
            tree,
            vocab,
            rows: alloc::vec![None; tree.len()],
        }
    }

    fn row(&mut self, session: &Session, hidden: &[f32], node: usize) -> Result<Vec<f32>> {
        if self.rows[node].is_none() {
            let mut chain = alloc::vec![node];
            while let Some(&c) = self
                .tree
                .children(*chain.last().expect("non-empty"))
                .first()
            {
                if chain.len() == HEAD_CHAIN {
                    break;
                }
                chain.push(c);
            }
            let logits = session.logits(hidden, &chain)?;
            for (&i, row) in chain.iter().zip(logits.chunks(self.vocab)) {
                self.rows[i] = Some(row.to_vec());
            }
        }
        Ok(self.rows[node].take().expect("computed above"))
    }
}

/// Budgets `--budget auto` chooses among (up to its maximum).
const AUTO_BUDGETS: [usize; 11] = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48];
/// With an automatic budget, trees of this size run until [`EXPLORE_VISITS`] nodes are measured.
const EXPLORE_BUDGET: usize = 4;
const EXPLORE_VISITS: f64 = 8.0; // nodes measured in all, not decayed
/// While the plan is plain decoding, every this many steps one 1-node tree keeps the
/// acceptance measurement alive, so speculation resumes when the text becomes predictable.
/// The interval doubles after each probe that leaves the plan at plain decoding (a model
/// draft must first read every token since its last proposal, so probes are not free), up to
/// [`PROBE_MAX`], and returns to this when a tree is chosen.
const PROBE_EVERY: usize = 32;
const PROBE_MAX: usize = 1024;

/// A speculative decoder: settings, the cost model (measured at first use with an automatic
/// budget) and the acceptance by rank measured over every generation it has run.
#[derive(Debug, Clone)]
pub struct Speculator {
    params: SpecParams,
    costs: Option<CostModel>,
    rank: RankStats,
    /// The acceptance by rank the plans use (recent steps, smoothed).
    estimate: AcceptanceEstimate,
    /// Plain steps between probes ([`PROBE_EVERY`]).
    probe_every: usize,
    profile_seconds: f64,
}

impl Speculator {
    pub fn new(params: SpecParams) -> Result<Speculator> {
        params.validate()?;
        Ok(Speculator {
            params,
            costs: None,
            rank: RankStats::default(),
            estimate: AcceptanceEstimate::default(),
            probe_every: PROBE_EVERY,
            profile_seconds: 0.0,
        })
    }

    pub fn params(&self) -> &SpecParams {
        &self.params
    }

    /// The cost model, once measured (or set).
    pub fn costs(&self) -> Option<&CostModel> {
        self.costs.as_ref()
    }

    /// Uses `costs` instead of measuring them.
    pub fn set_costs(&mut self, costs: CostModel) {
        self.costs = Some(costs);
    }

    /// Seconds spent measuring forward times (once per speculator).
    pub fn profile_seconds(&self) -> f64 {
        self.profile_seconds
    }

    /// Acceptance by rank measured over every generation so far (the plans follow a recent,
    /// smoothed estimate of it).
    pub fn rank_stats(&self) -> &RankStats {
        &self.rank
    }

    /// Measures the target's and the draft's forward times for the budgets this speculator
    /// may pick, unless already known.
    pub fn profile(&mut self, session: &Session, draft: &dyn Draft) -> Result<&CostModel> {
        if self.costs.is_none() {
            let t = now();
            let max = match self.params.budget {
                Budget::Fixed(n) | Budget::Auto { max: n } => n,
            };
            let widths = profile_widths(max);
            let model = session.model();
            let verify = measure_forward(
                model,
                model.config.n_layer,
                session.numerics(),
                0,
                &widths,
                false,
            )?;
            let draft = draft.measure(&widths)?;
            self.costs = Some(CostModel { verify, draft });
            self.profile_seconds += now() - t;
        }
        Ok(self.costs.as_ref().expect("set above"))
    }

    /// The plan for the next step.
    fn plan(&self, plain_run: usize) -> Plan {
        match (self.params.budget, &self.costs) {
            (Budget::Auto { max }, Some(costs)) => {
                let budgets: Vec<usize> =
                    AUTO_BUDGETS.iter().copied().filter(|&b| b <= max).collect();
                let plan =
                    costs.choose(&self.estimate.acceptance(), &budgets, self.params.max_depth);
                // Until a few nodes have ever been measured, explore with a small tree instead
                // of trusting the prior; while plain decoding is chosen, probe now and then.
                let forced = if (self.rank.visits as f64) < EXPLORE_VISITS {
                    plan.budget.max(EXPLORE_BUDGET.min(max))
                } else if plan.budget == 0
                    && plain_run > 0
                    && plain_run.is_multiple_of(self.probe_every)
                {
                    1
                } else {
                    return plan;
                };
                self.predict(costs, forced)
            }
            (Budget::Fixed(n), Some(costs)) => self.predict(costs, n),
            (Budget::Fixed(n), None) | (Budget::Auto { max: n }, None) => Plan {
                budget: n,
                accepted: 0.0,
                seconds: 0.0,
                tokens_per_s: 0.0,
            },
        }
    }

    /// The prediction for a tree of `budget` nodes (Sequoia's shape for the current estimate).
    fn predict(&self, costs: &CostModel, budget: usize) -> Plan {
        let acc = self.estimate.acceptance();
        let (shape, e) = Shape::sequoia(&acc, budget, self.params.max_depth);
        Plan {
            budget,
            ..costs.predict(&shape, e)
        }
    }

    /// The tree after `root` with at most `budget` nodes and `depth` layers.
    fn tree(
        &self,
        draft: &mut dyn Draft,
        root: u32,
        budget: usize,
        depth: usize,
    ) -> Result<DraftTree> {
        let p = &self.params;
        match p.tree {
            TreeKind::Opt => OptTree {
                budget,
                max_depth: p.max_depth,
                delta: p.delta,
            }
            .build(draft, root, budget, depth),
            TreeKind::Chain => Shape::chain(budget).build(draft, root, budget, depth),
            TreeKind::Eagle => Shape::eagle().build(draft, root, budget, depth),
            TreeKind::Sequoia => {
                let (shape, _) = Shape::sequoia(&self.estimate.acceptance(), budget, p.max_depth);
                shape.build(draft, root, budget, depth)
            }
        }
    }

    /// Generates after `prompt` (appended to what `session` holds) with `draft` proposing,
    /// streaming text to `on_text` as [`crate::model::generate::generate`] does. Greedy output
    /// is the target's plain greedy output token for token; sampled output is distributed as
    /// the target's. On return `session` holds the prompt and the generated tokens except the
    /// last, as after plain generation.
    pub fn generate(
        &mut self,
        session: &mut Session,
        draft: &mut dyn Draft,
        prompt: &[u32],
        on_text: &mut dyn FnMut(&str) -> bool,
    ) -> Result<Speculation> {
        let params = self.params.clone();
        let gp = &params.generate;
        let Some((&root, head)) = prompt.split_last() else {
            return Err(Error::invalid(
                "speculative generation needs a non-empty prompt",
            ));
        };
        // Every id checked before any work, so a bad one leaves the session as it was.
        session.model().check_tokens(prompt)?;
        let vocab = session.model().config.vocab_size;
        validate_logit_bias(&gp.logit_bias, vocab, &Setting::field_name)?;
        let room = session.capacity() - session.len();
        if prompt.len() > room {
            return Err(Error::ContextOverflow {
                needed: session.len() + prompt.len(),
                capacity: session.capacity(),
            });
        }
        if let Budget::Auto { .. } = params.budget {
            self.profile(session, draft)?;
        }
        let model = session.model().clone();
        let mut sampler = Sampler::with_logit_bias(gp.sampler, &gp.logit_bias);
        let mut emitter = Emitter::new(model.tokenizer(), prompt.len(), gp, on_text);
        let mut stats = SpecStats::default();
        if gp.max_tokens == 0 {
            return Ok(Speculation {
                generation: emitter.out,
                stats,
            });
        }
        let t0 = now();
        if !head.is_empty() {
            session.eval(head, LogitRows::Last)?;
        }
        emitter.out.prefill_seconds = now() - t0;
        let mut timed = Timed {
            inner: draft,
            calls: Vec::new(),
        };
        timed.reset();
        timed.extend(head);
        let mut history: Vec<u32> = prompt.to_vec();
        let mut root = root;
        let mut plain_run = 0;
        let stop = 'steps: loop {
            let base = session.len();
            // Room for the root and the nodes; tokens left to emit cap the depth.
            let left = gp.max_tokens - emitter.out.tokens.len();
            let plan = self.plan(plain_run);
            if let Budget::Auto { .. } = params.budget {
                // A probe (a forced 1-node tree after a plain run) backs off; a chosen tree resets.
                self.probe_every = match (plan.budget, plain_run) {
                    (0, _) => self.probe_every,
                    (_, 0) => PROBE_EVERY,
                    _ => (self.probe_every * 2).min(PROBE_MAX),
                };
            }
            let budget = plan.budget.min(session.capacity() - base - 1);
            plain_run = if budget == 0 { plain_run + 1 } else { 0 };
            timed.calls.clear();
            let tree = self.tree(&mut timed, root, budget, left - 1)?;
            let draft_seconds: f64 = timed.calls.iter().map(|c| c.1).sum();
            let mask = tree.mask(base);
            let rows = mask.rows();
            let positions = tree.positions(base);
            let batch = Batch {
                tokens: tree.tokens(),
                positions: &positions,
                mask: Mask::Rows(&rows),
            };
            let t = now();
            let hidden = session.eval_hidden(&batch)?;
            let mut ranks = RankStats::default();
            let mut head = HeadRows::new(&tree, vocab);
            let verdict = verify(
                &tree,
                &mut |node| head.row(session, &hidden, node),
                &history[..history.len() - 1],
                &mut sampler,
                &mut ranks,
            )?;
            let verify_seconds = now() - t;
            stats.rank.merge(&ranks);
            self.rank.merge(&ranks);
            self.estimate.update(&ranks);
            let keep: Vec<usize> = core::iter::once(base)
                .chain(verdict.accepted.iter().map(|&i| base + i))
                .collect();
            session.compact(base, &keep)?;
            timed.commit(&tree, &verdict.accepted)?;
            if let (Budget::Auto { .. }, Some(costs)) = (params.budget, self.costs.as_mut()) {
                costs.verify.observe(tree.len(), verify_seconds);
                // The first proposal also feeds the draft the tokens it had not seen yet.
                for &(w, s) in timed.calls.iter().skip(1) {
                    costs.draft.observe(w, s);
                }
            }
            if plan.seconds > 0.0 {
                stats.predicted_tokens += 1.0 + plan.accepted;
                stats.predicted_seconds += plan.seconds;
            }
            stats.steps += 1;
            stats.drafted += tree.len() - 1;
            stats.accepted += verdict.accepted.len();
            let a = verdict.accepted.len();
            if stats.accepted_hist.len() <= a {
                stats.accepted_hist.resize(a + 1, 0);
            }
            stats.accepted_hist[a] += 1;
            stats.draft_seconds += draft_seconds;
            stats.verify_seconds += verify_seconds;
            emitter.out.decode_seconds += draft_seconds + verify_seconds;
            emitter.out.decode_steps += 1;
            let emitted = verdict
                .accepted
                .iter()
                .map(|&i| tree.token(i))
                .chain(core::iter::once(verdict.bonus));
            for (j, token) in emitted.enumerate() {
                history.push(token);
                // Plain decoding would now hold the root and the first j emitted tokens.
                let held = base + 1 + j;
                let stop = match emitter.emit(token)? {
                    Some(s) => Some(s),
                    None if held >= session.capacity() => Some(StopReason::ContextFull),
                    None => None,
                };
                if let Some(stop) = stop {
                    session.truncate(held)?;
                    break 'steps stop;
                }
            }
            root = verdict.bonus;
        };
        Ok(Speculation {
            generation: emitter.finish(stop),
            stats,
        })
    }
}
