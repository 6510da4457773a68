//! Baseline trees of a fixed shape, filled with the draft's ranked candidates: a chain of k
//! tokens, an EAGLE-style hand-made tree, and a Sequoia-style tree built by dynamic
//! programming from measured acceptance rates by child rank.

use super::draft::Draft;
use super::tree::DraftTree;
use crate::{Error, Result};
use alloc::format;
use alloc::vec;
use alloc::vec::Vec;

/// A tree shape: each node as the ranks of the draft candidates along its path from the root
/// (`[0, 1]` = the second candidate after the first candidate). Every path's parent comes
/// before it, so any first n paths form a tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shape {
    paths: Vec<Vec<u32>>,
}

impl Shape {
    /// A shape from rank paths, checked: no empty or repeated path, each parent listed earlier.
    pub fn new(paths: Vec<Vec<u32>>) -> Result<Shape> {
        for (i, p) in paths.iter().enumerate() {
            if p.is_empty() {
                return Err(Error::invalid(format!("tree shape: path {i} is empty")));
            }
            if paths[..i].contains(p) {
                return Err(Error::invalid(format!(
                    "tree shape: path {p:?} is listed twice"
                )));
            }
            let parent = &p[..p.len() - 1];
            if !parent.is_empty() && !paths[..i].iter().any(|q| q == parent) {
                return Err(Error::invalid(format!(
                    "tree shape: path {p:?} comes before its parent {parent:?}"
                )));
            }
        }
        Ok(Shape { paths })
    }

    /// A chain of `k` tokens: the draft's top candidate at each step.
    pub fn chain(k: usize) -> Shape {
        Shape {
            paths: (1..=k).map(|d| vec![0; d]).collect(),
        }
    }

    /// A 25-node tree in the style of EAGLE-1's fixed tree: wide near the root (4 candidates),
    /// narrowing with depth, deepest (6) along the top candidates.
    pub fn eagle() -> Shape {
        let paths: [&[u32]; 25] = [
            &[0],
            &[1],
            &[2],
            &[3],
            &[0, 0],
            &[0, 1],
            &[0, 2],
            &[1, 0],
            &[1, 1],
            &[2, 0],
            &[3, 0],
            &[0, 0, 0],
            &[0, 0, 1],
            &[0, 1, 0],
            &[1, 0, 0],
            &[0, 2, 0],
            &[2, 0, 0],
            &[0, 0, 0, 0],
            &[0, 0, 0, 1],
            &[0, 0, 1, 0],
            &[0, 1, 0, 0],
            &[0, 0, 0, 0, 0],
            &[0, 0, 0, 0, 1],
            &[0, 0, 0, 1, 0],
            &[0, 0, 0, 0, 0, 0],
        ];
        Shape {
            paths: paths.iter().map(|p| p.to_vec()).collect(),
        }
    }

    /// Sequoia's tree for `budget` nodes and `max_depth` layers: the shape maximizing the
    /// expected number of accepted tokens when the child of rank r is the target's choice with
    /// probability `acceptance[r]` at every node (see [`Sequoia`]). Returns the shape and its
    /// expectation.
    pub fn sequoia(acceptance: &[f64], budget: usize, max_depth: usize) -> (Shape, f64) {
        Sequoia::new(acceptance, budget, max_depth).shape(budget)
    }

    /// Nodes in the shape.
    pub fn len(&self) -> usize {
        self.paths.len()
    }

    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    pub fn paths(&self) -> &[Vec<u32>] {
        &self.paths
    }

    /// Fills the shape's first `budget` paths of at most `max_depth` tokens with the draft's
    /// candidates, one draft forward per layer over the layer's nodes that have children in
    /// the shape. A path whose rank the draft did not propose is left out with its subtree.
    pub fn build(
        &self,
        draft: &mut dyn Draft,
        root: u32,
        budget: usize,
        max_depth: usize,
    ) -> Result<DraftTree> {
        let paths: Vec<&Vec<u32>> = self
            .paths
            .iter()
            .filter(|p| p.len() <= max_depth)
            .take(budget)
            .collect();
        let mut tree = DraftTree::new(root);
        // node[i]: the tree index of paths[i], once placed.
        let mut node: Vec<Option<usize>> = vec![None; paths.len()];
        let index_of = |node: &[Option<usize>], p: &[u32]| -> Option<usize> {
            if p.is_empty() {
                return Some(0);
            }
            paths
                .iter()
                .position(|q| q.as_slice() == p)
                .and_then(|i| node[i])
        };
        let depth = paths.iter().map(|p| p.len()).max().unwrap_or(0);
        for d in 1..=depth {
            let layer: Vec<usize> = (0..paths.len()).filter(|&i| paths[i].len() == d).collect();
            // Parents of this layer (placed nodes), each with the ranks it needs.
            let mut parents: Vec<(usize, u32)> = Vec::new();
            for &i in &layer {
                let Some(p) = index_of(&node, &paths[i][..d - 1]) else {
                    continue;
                };
                let r = paths[i][d - 1];
                match parents.iter_mut().find(|x| x.0 == p) {
                    Some(x) => x.1 = x.1.max(r),
                    None => parents.push((p, r)),
                }
            }
            if parents.is_empty() {
                break;
            }
            parents.sort_unstable();
            let asked: Vec<usize> = parents.iter().map(|x| x.0).collect();
            let k = parents.iter().map(|x| x.1 as usize + 1).max().unwrap_or(1);
            let proposals = draft.propose(&tree, &asked, k)?;
            for (&p, c) in asked.iter().zip(proposals) {
                tree.set_proposals(p, c);
            }
            for &i in &layer {
                let Some(p) = index_of(&node, &paths[i][..d - 1]) else {
                    continue;
                };
                let r = paths[i][d - 1] as usize;
                let c = tree.proposals(p).expect("proposed above");
                if let Some(&(t, q)) = c.get(r) {
                    let w = tree.weight(p) * q as f64;
                    node[i] = Some(tree.push(p, t, r as u32, w)?);
                }
            }
        }
        Ok(tree)
    }
}

/// Sequoia's dynamic program, solved once for every budget up to a maximum: with F(d, m) the
/// best expected number of accepted tokens of m nodes below a node with d layers left,
/// F(d, m) = max over sizes s_r >= 0 with sum m of sum over ranks r with s_r > 0 of
/// acceptance[r] * (1 + F(d - 1, s_r - 1)), and F(0, m) = F(d, 0) = 0.
#[derive(Debug, Clone)]
pub struct Sequoia {
    ranks: usize,
    max_depth: usize,
    /// best[d][m] = F(d, m).
    best: Vec<Vec<f64>>,
    /// choice[d][r][m]: nodes the subtree of rank r takes when ranks r.. share m nodes with d
    /// layers left.
    choice: Vec<Vec<Vec<usize>>>,
}

impl Sequoia {
    /// The program for budgets up to `max_budget` and trees of up to `max_depth` layers.
    pub fn new(acceptance: &[f64], max_budget: usize, max_depth: usize) -> Sequoia {
        let (r_max, budget) = (acceptance.len(), max_budget);
        let mut best = vec![vec![0.0f64; budget + 1]; max_depth + 1];
        let mut choice = vec![vec![vec![0usize; budget + 1]; r_max + 1]; max_depth + 1];
        for d in 1..=max_depth {
            // g[r][m]: the best over ranks r.. with m nodes.
            let mut g = vec![vec![0.0f64; budget + 1]; r_max + 1];
            for r in (0..r_max).rev() {
                for m in 0..=budget {
                    let (mut v, mut pick) = (g[r + 1][m], 0);
                    for s in 1..=m {
                        let here = acceptance[r] * (1.0 + best[d - 1][s - 1]) + g[r + 1][m - s];
                        if here > v + 1e-15 {
                            (v, pick) = (here, s);
                        }
                    }
                    g[r][m] = v;
                    choice[d][r][m] = pick;
                }
            }
            best[d] = g[0].clone();
        }
        Sequoia {
            ranks: r_max,
            max_depth,
            best,
            choice,
        }
    }

    /// The best shape for `budget` nodes (at most the maximum the program was solved for) and
    /// F(max_depth, budget).
    pub fn shape(&self, budget: usize) -> (Shape, f64) {
        let budget = budget.min(self.best[0].len() - 1);
        // Read the shape off the choices, breadth first so parents precede children.
        let mut paths = Vec::new();
        let mut queue: Vec<(Vec<u32>, usize, usize)> = vec![(Vec::new(), budget, self.max_depth)];
        let mut at = 0;
        while at < queue.len() {
            let (path, mut m, d) = queue[at].clone();
            at += 1;
            if d == 0 {
                continue;
            }
            for (r, by_size) in self.choice[d].iter().enumerate().take(self.ranks) {
                let s = by_size[m];
                if s == 0 {
                    continue;
                }
                let mut child = path.clone();
                child.push(r as u32);
                paths.push(child.clone());
                queue.push((child, s - 1, d - 1));
                m -= s;
            }
        }
        paths.sort_by_key(|p| p.len());
        (Shape { paths }, self.best[self.max_depth][budget])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_list_parents_first() {
        assert!(Shape::new(Shape::eagle().paths).is_ok());
        assert_eq!(Shape::eagle().len(), 25);
        assert!(Shape::new(Shape::chain(5).paths).is_ok());
        assert!(Shape::new(vec![vec![0, 0], vec![0]]).is_err());
        assert!(Shape::new(vec![vec![0], vec![0]]).is_err());
        assert!(Shape::new(vec![vec![]]).is_err());
    }

    #[test]
    fn sequoia_with_one_sure_rank_is_a_chain_and_matches_closed_forms() {
        // Only rank 0 is ever accepted, with probability a: a chain, E = a + a^2 + ... + a^n.
        let a = 0.8;
        let (s, e) = Shape::sequoia(&[a, 0.0], 4, 10);
        assert_eq!(s, Shape::chain(4));
        let closed: f64 = (1..=4).map(|k| a.powi(k)).sum();
        assert!((e - closed).abs() < 1e-12, "{e} vs {closed}");
        // Depth 1: the best n nodes are the n most likely ranks, side by side.
        let acc = [0.5, 0.2, 0.1, 0.05];
        let (s, e) = Shape::sequoia(&acc, 3, 1);
        assert_eq!(s.paths(), &[vec![0], vec![1], vec![2]]);
        assert!((e - 0.8).abs() < 1e-12);
        // Two nodes with two layers: a chain (.5 + .25 = .75) beats two siblings (.7).
        let (s, e) = Shape::sequoia(&acc, 2, 2);
        assert_eq!(s, Shape::chain(2));
        assert!((e - 0.75).abs() < 1e-12);
        assert!(Shape::new(Shape::sequoia(&acc, 20, 6).0.paths).is_ok());
    }

    #[test]
    fn sequoia_matches_brute_force_on_small_budgets() {
        // Every tree of up to 5 nodes over 3 ranks and depth 3, enumerated by its rank paths.
        let acc = [0.55, 0.25, 0.12];
        fn value(paths: &[Vec<u32>], acc: &[f64]) -> f64 {
            paths
                .iter()
                .map(|p| p.iter().map(|&r| acc[r as usize]).product::<f64>())
                .sum()
        }
        let all: Vec<Vec<u32>> = (1..=3usize)
            .flat_map(|d| {
                (0..3u32.pow(d as u32)).map(move |mut x| {
                    let mut p = vec![0u32; d];
                    for slot in p.iter_mut() {
                        *slot = x % 3;
                        x /= 3;
                    }
                    p
                })
            })
            .collect();
        for n in 1..=5 {
            let mut best = 0.0f64;
            let mut pick: Vec<usize> = Vec::new();
            fn rec(
                all: &[Vec<u32>],
                from: usize,
                n: usize,
                pick: &mut Vec<usize>,
                best: &mut f64,
                acc: &[f64],
            ) {
                if pick.len() == n {
                    let paths: Vec<Vec<u32>> = pick.iter().map(|&i| all[i].clone()).collect();
                    let closed = paths
                        .iter()
                        .all(|p| p.len() == 1 || paths.contains(&p[..p.len() - 1].to_vec()));
                    if closed {
                        *best = best.max(value(&paths, acc));
                    }
                    return;
                }
                for i in from..all.len() {
                    pick.push(i);
                    rec(all, i + 1, n, pick, best, acc);
                    pick.pop();
                }
            }
            rec(&all, 0, n, &mut pick, &mut best, &acc);
            let (s, e) = Shape::sequoia(&acc, n, 3);
            // One program solved for the largest budget answers every smaller one.
            let (s5, e5) = Sequoia::new(&acc, 5, 3).shape(n);
            assert!((e5 - e).abs() < 1e-12 && s5.len() == n);
            assert!((e - best).abs() < 1e-12, "n={n}: dp {e} vs brute {best}");
            assert!((value(s.paths(), &acc) - e).abs() < 1e-12);
            assert_eq!(s.len(), n);
        }
    }
}
