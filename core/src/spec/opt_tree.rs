//! OPT-Tree (Wang et al., TACL 2025): the draft tree that maximizes the expected acceptance
//! length E(A) = sum over nodes of p_hat(node), p_hat = the product of the draft's
//! probabilities along the path from the root, grown layer by layer.

use super::draft::Draft;
use super::tree::DraftTree;
use crate::{Error, Result};
use alloc::format;
use alloc::vec::Vec;

/// Candidates a node proposes per layer: at most the budget and never more than this (a
/// child of rank >= 16 rarely has a path probability among a tree's top nodes, and each costs a
/// sort slot per layer).
pub const MAX_BRANCH: usize = 16;

/// OPT-Tree's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OptTree {
    /// Nodes of the final tree, the root excluded (n).
    pub budget: usize,
    /// Layers drafted at most.
    pub max_depth: usize,
    /// Stop when a layer raises the best n-node E(A) by less than this.
    pub delta: f64,
}

impl Default for OptTree {
    /// The paper's depth limit 10 and delta 0.5; a CPU-sized budget of 16 (the paper's 50-60
    /// is for GPUs, where verifying 60 tokens costs what verifying one does).
    fn default() -> Self {
        OptTree {
            budget: 16,
            max_depth: 10,
            delta: 0.5,
        }
    }
}

impl OptTree {
    /// Checks the settings (a budget or depth of zero is an error: use plain decoding).
    pub fn validate(&self) -> Result<()> {
        if self.budget == 0 || self.max_depth == 0 {
            return Err(Error::invalid(format!(
                "tree budget {} and depth {} must both be >= 1",
                self.budget, self.max_depth
            )));
        }
        if !(self.delta.is_finite() && self.delta >= 0.0) {
            return Err(Error::invalid(format!(
                "OPT-Tree delta must be a finite number >= 0, got {}",
                self.delta
            )));
        }
        Ok(())
    }

    /// Builds the tree after `root` with at most `budget` nodes and `max_depth` layers (the
    /// caller's limits, e.g. the room left in the context, cap the settings').
    ///
    /// Layer 0 is the draft's top candidates after the root, weighted by their probability q.
    /// Each next layer is one draft forward over the previous layer's nodes; each proposes its
    /// top children with weight p_hat(parent) * q(child), and the global top n of those
    /// candidates form the layer. Only nodes whose weight is above the current n-th largest are
    /// drafted after (a child never outweighs its parent, so the others' children cannot make
    /// the final tree). Growth stops when the sum of the n largest weights over all layers rose
    /// by less than `delta`, at the depth limit, or when no node is left to draft after; the
    /// last layer drafted is kept. The final tree is the n largest-weight nodes, ties broken by
    /// depth and then by creation order, which keeps it ancestor-closed: a child's weight is at
    /// most its parent's, and on a tie the shallower parent comes first.
    pub fn build(
        &self,
        draft: &mut dyn Draft,
        root: u32,
        budget: usize,
        max_depth: usize,
    ) -> Result<DraftTree> {
        let budget = budget.min(self.budget);
        let max_depth = max_depth.min(self.max_depth);
        let mut tree = DraftTree::new(root);
        if budget == 0 || max_depth == 0 {
            return Ok(tree);
        }
        let k = budget.min(MAX_BRANCH);
        let mut frontier = alloc::vec![0usize];
        let mut best = 0.0f64;
        for _ in 0..max_depth {
            let proposals = draft.propose(&tree, &frontier, k)?;
            let mut cands: Vec<(f64, usize, u32, u32)> = Vec::new();
            for (&p, c) in frontier.iter().zip(proposals) {
                let w = tree.weight(p);
                cands.extend(
                    c.iter()
                        .enumerate()
                        .map(|(r, &(t, q))| (w * q as f64, p, r as u32, t)),
                );
                tree.set_proposals(p, c);
            }
            cands.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
            cands.truncate(budget);
            let first_new = tree.len();
            for &(w, p, r, t) in &cands {
                tree.push(p, t, r, w)?;
            }
            let mut weights: Vec<f64> = (1..tree.len()).map(|i| tree.weight(i)).collect();
            weights.sort_by(|a, b| b.total_cmp(a));
            let e: f64 = weights.iter().take(budget).sum();
            let threshold = if weights.len() >= budget {
                weights[budget - 1]
            } else {
                0.0
            };
            frontier = (first_new..tree.len())
                .filter(|&i| tree.weight(i) > threshold)
                .collect();
            if e - best < self.delta || frontier.is_empty() {
                break;
            }
            best = e;
        }
        select(&tree, budget)
    }
}

/// The `n` largest-weight nodes of `tree` (ties: shallower, then earlier), as a tree.
pub(crate) fn select(tree: &DraftTree, n: usize) -> Result<DraftTree> {
    let mut order: Vec<usize> = (1..tree.len()).collect();
    order.sort_by(|&a, &b| {
        tree.weight(b)
            .total_cmp(&tree.weight(a))
            .then(tree.depth(a).cmp(&tree.depth(b)))
            .then(a.cmp(&b))
    });
    order.truncate(n);
    Ok(tree.subtree(&order)?.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::tree::Candidates;
    use alloc::string::String;

    /// A draft whose candidates depend only on the depth of the node asked about, recording
    /// which nodes it was asked for.
    struct ByDepth {
        layers: Vec<Candidates>,
        asked: Vec<Vec<usize>>,
    }

    impl Draft for ByDepth {
        fn describe(&self) -> String {
            "by depth".into()
        }
        fn reset(&mut self) {}
        fn extend(&mut self, _: &[u32]) {}
        fn propose(&mut self, t: &DraftTree, nodes: &[usize], k: usize) -> Result<Vec<Candidates>> {
            self.asked.push(nodes.to_vec());
            Ok(nodes
                .iter()
                .map(|&i| {
                    let mut c =
                        self.layers[(t.depth(i) as usize).min(self.layers.len() - 1)].clone();
                    c.truncate(k);
                    c
                })
                .collect())
        }
        fn commit(&mut self, _: &DraftTree, _: &[usize]) -> Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_confident_draft_grows_a_chain_to_the_depth_limit() {
        let mut d = ByDepth {
            layers: alloc::vec![alloc::vec![(7, 0.99), (8, 0.01)]],
            asked: Vec::new(),
        };
        let opt = OptTree {
            budget: 4,
            max_depth: 10,
            delta: 0.5,
        };
        let t = opt.build(&mut d, 1, 4, 10).unwrap();
        // p_hat of the chain: .99, .98, .97, .96 beat every side branch (<= .01).
        assert_eq!(t.len(), 5);
        assert_eq!(t.max_depth(), 4);
        assert!(t.tokens()[1..].iter().all(|&x| x == 7));
        // Layer e.g. 5 adds .95 > delta, so growth continues while it helps; once the chain's
        // weights fall below the 4th largest (.96), nothing is drafted after them.
        assert!(d.asked.iter().all(|a| !a.is_empty()));
        assert!(d.asked.len() <= 5, "{:?}", d.asked);
    }

    #[test]
    fn delta_stops_growth_and_the_last_layer_is_kept() {
        // Layer 0 sums to .9; layer 1 adds .9 * .3 = .27 < .5: stop after drafting layer 1.
        let mut d = ByDepth {
            layers: alloc::vec![
                alloc::vec![(1, 0.6), (2, 0.3)],
                alloc::vec![(3, 0.2), (4, 0.1)]
            ],
            asked: Vec::new(),
        };
        let t = OptTree::default().build(&mut d, 0, 16, 10).unwrap();
        assert_eq!(d.asked.len(), 2);
        // The second forward's proposals are in the tree (4 children), not thrown away.
        assert_eq!(t.len(), 1 + 2 + 4);
        assert_eq!(t.max_depth(), 2);
    }

    #[test]
    fn the_final_tree_is_ancestor_closed_under_ties() {
        // Every q is 1 or ties: p_hat(child) == p_hat(parent) everywhere.
        let mut d = ByDepth {
            layers: alloc::vec![alloc::vec![(5, 0.5), (6, 0.5)], alloc::vec![(7, 1.0)]],
            asked: Vec::new(),
        };
        for n in 1..8 {
            let t = OptTree {
                budget: n,
                max_depth: 6,
                delta: 0.0,
            }
            .build(&mut d, 0, n, 6)
            .unwrap();
            assert_eq!(t.len(), n + 1);
            for i in 1..t.len() {
                assert!(t.parent(i) < i);
            }
        }
        assert!(OptTree {
            budget: 0,
            ..Default::default()
        }
        .validate()
        .is_err());
    }
}
