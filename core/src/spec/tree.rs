//! Draft trees: the root (the last accepted token, not yet in the target's cache) and the
//! drafted nodes below it, in an order where every parent comes before its children, so a
//! tree's rows can be verified in one target forward with each node seeing the prefix, its
//! ancestors and itself.

use crate::model::VisibleSlots;
use crate::{Error, Result};
use alloc::format;
use alloc::vec::Vec;

/// A draft's proposals after one context: `(token, probability)` pairs, distinct tokens, most
/// likely first (ties by token id).
pub type Candidates = Vec<(u32, f32)>;

/// Sorts `c` most likely first (ties by token id) and keeps the first `k`.
pub(crate) fn rank(c: &mut Candidates, k: usize) {
    c.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    c.truncate(k);
}

/// A draft tree. Index 0 is the root; every other node's parent has a smaller index.
#[derive(Debug, Clone, PartialEq)]
pub struct DraftTree {
    tokens: Vec<u32>,
    parent: Vec<usize>,
    depth: Vec<u32>,
    /// The draft's path probability p_hat (product of q along the path; 1 at the root).
    weight: Vec<f64>,
    /// The node's rank among the draft's candidates at its parent (0 = most likely).
    rank: Vec<u32>,
    /// Indices of each node's children, in sibling order (the draft's rank order).
    children: Vec<Vec<usize>>,
    /// The draft's candidates after each node, where the builder asked for them.
    proposals: Vec<Option<Candidates>>,
}

impl DraftTree {
    /// A tree holding only `root`.
    pub fn new(root: u32) -> Self {
        DraftTree {
            tokens: alloc::vec![root],
            parent: alloc::vec![0],
            depth: alloc::vec![0],
            weight: alloc::vec![1.0],
            rank: alloc::vec![0],
            children: alloc::vec![Vec::new()],
            proposals: alloc::vec![None],
        }
    }

    /// Adds `token` below `parent` as its `rank`-th candidate with path probability `weight`;
    /// returns its index. Children are kept in rank order; a token the parent already has is
    /// an error.
    pub fn push(&mut self, parent: usize, token: u32, rank: u32, weight: f64) -> Result<usize> {
        if parent >= self.len() {
            return Err(Error::invalid(format!(
                "draft tree: parent {parent} of a tree of {} nodes",
                self.len()
            )));
        }
        if self.children[parent]
            .iter()
            .any(|&c| self.tokens[c] == token)
        {
            return Err(Error::invalid(format!(
                "draft tree: node {parent} already has a child {token}"
            )));
        }
        let i = self.len();
        self.tokens.push(token);
        self.parent.push(parent);
        self.depth.push(self.depth[parent] + 1);
        self.weight.push(weight);
        self.rank.push(rank);
        self.children.push(Vec::new());
        self.proposals.push(None);
        let at = self.children[parent]
            .iter()
            .position(|&c| self.rank[c] > rank)
            .unwrap_or(self.children[parent].len());
        self.children[parent].insert(at, i);
        Ok(i)
    }

    /// Nodes, the root included.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Whether the tree is only its root.
    pub fn is_empty(&self) -> bool {
        self.len() == 1
    }

    pub fn tokens(&self) -> &[u32] {
        &self.tokens
    }

    pub fn token(&self, i: usize) -> u32 {
        self.tokens[i]
    }

    /// The parent of node `i` (the root is its own parent).
    pub fn parent(&self, i: usize) -> usize {
        self.parent[i]
    }

    pub fn depth(&self, i: usize) -> u32 {
        self.depth[i]
    }

    /// The deepest node's depth.
    pub fn max_depth(&self) -> u32 {
        self.depth.iter().copied().max().unwrap_or(0)
    }

    pub fn weight(&self, i: usize) -> f64 {
        self.weight[i]
    }

    pub fn rank(&self, i: usize) -> u32 {
        self.rank[i]
    }

    pub fn children(&self, i: usize) -> &[usize] {
        &self.children[i]
    }

    /// The draft's candidates after node `i`, if the builder drafted after it.
    pub fn proposals(&self, i: usize) -> Option<&Candidates> {
        self.proposals[i].as_ref()
    }

    pub(crate) fn set_proposals(&mut self, i: usize, c: Candidates) {
        self.proposals[i] = Some(c);
    }

    /// The draft's expected acceptance length, E(A) = sum of p_hat over the non-root nodes.
    pub fn expected_acceptance(&self) -> f64 {
        self.weight[1..].iter().sum()
    }

    /// Node indices from the root's first child down to `i` (empty for the root).
    pub fn path(&self, mut i: usize) -> Vec<usize> {
        let mut p = Vec::with_capacity(self.depth[i] as usize);
        while i != 0 {
            p.push(i);
            i = self.parent[i];
        }
        p.reverse();
        p
    }

    /// Tokens of the path from the root (included) down to `i`.
    pub fn path_tokens(&self, i: usize) -> Vec<u32> {
        let mut t = alloc::vec![self.tokens[0]];
        t.extend(self.path(i).into_iter().map(|j| self.tokens[j]));
        t
    }

    /// The tree restricted to `keep` (node indices, the root implied, each node's parent
    /// kept too), renumbered in the order of the old indices; returns it with the old index of
    /// each new node.
    pub fn subtree(&self, keep: &[usize]) -> Result<(DraftTree, Vec<usize>)> {
        let mut old: Vec<usize> = keep.iter().copied().filter(|&i| i != 0).collect();
        old.sort_unstable();
        old.dedup();
        old.insert(0, 0);
        let mut new_of = alloc::vec![usize::MAX; self.len()];
        new_of[0] = 0;
        let mut t = DraftTree::new(self.tokens[0]);
        t.proposals[0] = self.proposals[0].clone();
        for &i in &old[1..] {
            let p = *new_of.get(self.parent[i]).ok_or_else(|| {
                Error::invalid(format!("draft tree: node {i} of a tree of {}", self.len()))
            })?;
            if p == usize::MAX {
                return Err(Error::invalid(format!(
                    "draft tree: node {i} kept without its parent {}",
                    self.parent[i]
                )));
            }
            new_of[i] = t.push(p, self.tokens[i], self.rank[i], self.weight[i])?;
            t.proposals[new_of[i]] = self.proposals[i].clone();
        }
        Ok((t, old))
    }

    /// The slots each node sees when the tree is evaluated as one batch after `prefix` cached
    /// tokens (node `i` in slot `prefix + i`): the prefix, then its ancestors and itself. Flat
    /// storage for [`TreeMask::rows`].
    pub fn mask(&self, prefix: usize) -> TreeMask {
        let mut slots = Vec::new();
        let mut spans = Vec::with_capacity(self.len());
        for i in 0..self.len() {
            let start = slots.len();
            slots.push((prefix + i) as u32);
            let mut j = i;
            while j != 0 {
                j = self.parent[j];
                slots.push((prefix + j) as u32);
            }
            slots[start..].reverse();
            spans.push((start, slots.len()));
        }
        TreeMask {
            prefix,
            slots,
            spans,
        }
    }

    /// Rotary positions of the nodes after `prefix` cached tokens: `prefix + depth`.
    pub fn positions(&self, prefix: usize) -> Vec<u32> {
        self.depth.iter().map(|&d| prefix as u32 + d).collect()
    }
}

/// The visible sets of a tree's nodes ([`DraftTree::mask`]).
#[derive(Debug, Clone)]
pub struct TreeMask {
    prefix: usize,
    slots: Vec<u32>,
    spans: Vec<(usize, usize)>,
}

impl TreeMask {
    /// One [`VisibleSlots`] per node, for [`crate::model::Mask::Rows`].
    pub fn rows(&self) -> Vec<VisibleSlots<'_>> {
        self.spans
            .iter()
            .map(|&(a, b)| VisibleSlots {
                prefix: self.prefix,
                extra: &self.slots[a..b],
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// root(9) -> a(1) -> c(3); root -> b(2) -> d(4); b -> e(5).
    fn sample() -> DraftTree {
        let mut t = DraftTree::new(9);
        let a = t.push(0, 1, 0, 0.6).unwrap();
        let b = t.push(0, 2, 1, 0.3).unwrap();
        t.push(a, 3, 0, 0.5).unwrap();
        t.push(b, 5, 1, 0.1).unwrap();
        t.push(b, 4, 0, 0.2).unwrap();
        t
    }

    #[test]
    fn a_node_sees_exactly_the_prefix_its_ancestors_and_itself() {
        let t = sample();
        let m = t.mask(10);
        let rows = m.rows();
        let seen: Vec<(usize, Vec<u32>)> =
            rows.iter().map(|r| (r.prefix, r.extra.to_vec())).collect();
        assert_eq!(
            seen,
            alloc::vec![
                (10, alloc::vec![10]),
                (10, alloc::vec![10, 11]),
                (10, alloc::vec![10, 12]),
                (10, alloc::vec![10, 11, 13]),
                (10, alloc::vec![10, 12, 14]),
                (10, alloc::vec![10, 12, 15]),
            ]
        );
        assert_eq!(t.positions(10), alloc::vec![10, 11, 11, 12, 12, 12]);
        // Every node's visible set is ancestor-closed: it sees its parent's set plus itself.
        for i in 1..t.len() {
            let mine = &seen[i].1;
            let parent = &seen[t.parent(i)].1;
            assert_eq!(&mine[..mine.len() - 1], &parent[..]);
        }
    }

    #[test]
    fn children_are_in_rank_order_and_paths_follow_parents() {
        let t = sample();
        assert_eq!(t.children(2), &[5, 4]);
        assert_eq!(t.path(5), alloc::vec![2, 5]);
        assert_eq!(t.path_tokens(5), alloc::vec![9, 2, 4]);
        assert_eq!(t.max_depth(), 2);
        assert!((t.expected_acceptance() - 1.7).abs() < 1e-12);
    }

    #[test]
    fn duplicate_children_and_orphans_are_refused() {
        let mut t = sample();
        assert!(t.push(0, 1, 2, 0.01).is_err());
        assert!(t.push(17, 1, 0, 0.01).is_err());
        assert!(t.subtree(&[3]).is_err(), "node 3 kept without its parent 1");
        let (s, old) = t.subtree(&[1, 3, 2]).unwrap();
        assert_eq!(old, alloc::vec![0, 1, 2, 3]);
        assert_eq!(s.tokens(), &[9, 1, 2, 3]);
        assert_eq!(s.parent(3), 1);
    }
}
