//! Tree verification: which drafted tokens the target accepts, given its logits at every node
//! of the tree (one forward over the tree), and the token it adds at the end of the accepted
//! path. Lossless: the emitted tokens are distributed as the target's own sampling would give.

use super::tree::DraftTree;
use crate::model::sampling::Sampler;
use crate::Result;
use alloc::vec::Vec;

/// The result of verifying a tree.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// Accepted nodes, the root's child first, each the parent of the next.
    pub accepted: Vec<usize>,
    /// The target's token after the last accepted node (or after the root).
    pub bonus: u32,
}

/// How often the target's choice at a node was the draft's candidate of each rank.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RankStats {
    /// Nodes where the target chose a token and the draft had proposed candidates.
    pub visits: u64,
    /// `hits[r]`: visits where the chosen token was the draft's candidate of rank r.
    pub hits: Vec<u64>,
}

impl RankStats {
    fn record(&mut self, rank: Option<usize>) {
        self.visits += 1;
        if let Some(r) = rank {
            if self.hits.len() <= r {
                self.hits.resize(r + 1, 0);
            }
            self.hits[r] += 1;
        }
    }

    /// The measured probability that the target's choice is the rank-r candidate, for
    /// `ranks` ranks (0 where never seen or nothing was measured).
    pub fn acceptance(&self, ranks: usize) -> Vec<f64> {
        (0..ranks)
            .map(|r| match (self.visits, self.hits.get(r)) {
                (0, _) | (_, None) => 0.0,
                (v, Some(&h)) => h as f64 / v as f64,
            })
            .collect()
    }

    /// Adds another run's counts.
    pub fn merge(&mut self, other: &RankStats) {
        self.visits += other.visits;
        if self.hits.len() < other.hits.len() {
            self.hits.resize(other.hits.len(), 0);
        }
        for (a, b) in self.hits.iter_mut().zip(&other.hits) {
            *a += b;
        }
    }
}

/// Verifies `tree` against the target's logits, which `logits(node)` gives for a node (the
/// walk asks only for the root and the nodes it accepts, so a caller can compute the output
/// head for those rows alone), where `history` is the context before the root. At each accepted node (the root
/// first) the target's distribution is the sampler's ([`Sampler::distribution`], with the
/// repetition penalty over the context, the root and the node's path), and:
/// - greedy: the child whose token is the argmax is accepted, if there is one;
/// - sampling (every draft here is deterministic, so the candidates are fixed before the
///   target's randomness): the children are visited in rank order, child x is accepted with
///   probability p(x) / (what is left), and on rejection p(x) is set to 0; the probability of
///   accepting x is then exactly p(x). Siblings hold distinct tokens, so each is tried once.
///
/// When no child is accepted the bonus token is drawn from what is left of p (the argmax when
/// greedy); at a leaf it is drawn from p. `stats` records the rank of each chosen token among
/// the draft's candidates at nodes that have them.
pub fn verify(
    tree: &DraftTree,
    logits: &mut dyn FnMut(usize) -> Result<Vec<f32>>,
    history: &[u32],
    sampler: &mut Sampler,
    stats: &mut RankStats,
) -> Result<Verdict> {
    let greedy = sampler.params.temperature <= 0.0;
    let mut context: Vec<u32> = history.to_vec();
    context.push(tree.token(0));
    let mut accepted = Vec::new();
    let mut at = 0;
    loop {
        let mut row = logits(at)?;
        let mut p = sampler.distribution(&mut row, &context);
        let children = tree.children(at);
        let mut next = None;
        if greedy {
            let y = p[0].0;
            next = children.iter().copied().find(|&c| tree.token(c) == y);
        } else {
            for &c in children {
                let t = tree.token(c);
                let Some(j) = p.iter().position(|x| x.0 == t) else {
                    continue;
                };
                let left: f64 = p.iter().map(|x| x.1).sum();
                if sampler.rng().next_f64() * left < p[j].1 {
                    next = Some(c);
                    break;
                }
                p.remove(j);
            }
        }
        let chosen = match next {
            Some(c) => tree.token(c),
            None if greedy => p[0].0,
            None => {
                let left: f64 = p.iter().map(|x| x.1).sum();
                for x in p.iter_mut() {
                    x.1 /= left;
                }
                sampler.draw(&p)
            }
        };
        if let Some(c) = tree.proposals(at) {
            stats.record(c.iter().position(|x| x.0 == chosen));
        }
        match next {
            Some(c) => {
                accepted.push(c);
                context.push(tree.token(c));
                at = c;
            }
            None => {
                return Ok(Verdict {
                    accepted,
                    bonus: chosen,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::sampling::SamplerParams;

    /// Logits for a 4-token vocabulary: one row per node.
    fn rows(r: &[[f32; 4]]) -> impl FnMut(usize) -> Result<Vec<f32>> + '_ {
        move |i| Ok(r[i].to_vec())
    }

    #[test]
    fn greedy_accepts_the_deepest_matching_path() {
        // root(0) -> 1 -> 2, root -> 3.
        let mut t = DraftTree::new(0);
        let a = t.push(0, 1, 0, 0.5).unwrap();
        t.push(0, 3, 1, 0.2).unwrap();
        t.push(a, 2, 0, 0.3).unwrap();
        let mut s = Sampler::new(SamplerParams::default());
        let mut stats = RankStats::default();
        // Rows in tree order: root, a(1), b(3), c(2). The target says 1 after the root, 2 after
        // 1 and 3 after 2: accept a then c, and add 3.
        let l = [
            [0., 9., 0., 0.],
            [0., 0., 9., 0.],
            [9., 0., 0., 0.],
            [0., 0., 0., 9.],
        ];
        let mut asked = Vec::new();
        let mut logits = |i| {
            asked.push(i);
            rows(&l)(i)
        };
        let v = verify(&t, &mut logits, &[], &mut s, &mut stats).unwrap();
        assert_eq!(asked, vec_of(&[0, 1, 3]), "only the accepted path's rows");
        assert_eq!(
            v,
            Verdict {
                accepted: vec_of(&[a, 3]),
                bonus: 3
            }
        );
        // Wrong first guess: nothing accepted, the bonus is the target's argmax.
        let l2 = [[0., 0., 9., 0.], [0.; 4], [0.; 4], [0.; 4]];
        let v = verify(&t, &mut rows(&l2), &[], &mut s, &mut stats).unwrap();
        assert_eq!(
            v,
            Verdict {
                accepted: vec_of(&[]),
                bonus: 2
            }
        );
    }

    fn vec_of(x: &[usize]) -> Vec<usize> {
        x.to_vec()
    }

    #[test]
    fn sampled_acceptance_reproduces_the_target_distribution() {
        // Root with children 0 and 1 (in rank order), target p = softmax of the logits; the
        // first emitted token must follow p whatever the tree proposes.
        let logits = [1.0f32, 0.2, -0.3, 0.6];
        let z: f64 = logits.iter().map(|&l| (l as f64).exp()).sum();
        let p: Vec<f64> = logits.iter().map(|&l| (l as f64).exp() / z).collect();
        let mut t = DraftTree::new(2);
        t.push(0, 3, 0, 0.6).unwrap();
        t.push(0, 1, 1, 0.3).unwrap();
        let l = [logits, [0.0; 4], [0.0; 4]];
        let params = SamplerParams {
            temperature: 1.0,
            top_k: 0,
            top_p: 1.0,
            seed: 7,
            ..Default::default()
        };
        let mut s = Sampler::new(params);
        let mut stats = RankStats::default();
        let n = 200_000;
        let mut counts = [0u32; 4];
        for _ in 0..n {
            let v = verify(&t, &mut rows(&l), &[], &mut s, &mut stats).unwrap();
            let first = match v.accepted.first() {
                Some(&c) => t.token(c),
                None => v.bonus,
            };
            counts[first as usize] += 1;
        }
        // Chi-square with 3 degrees of freedom; 16.27 is the 0.999 quantile.
        let chi: f64 = (0..4)
            .map(|i| {
                let e = p[i] * n as f64;
                (counts[i] as f64 - e).powi(2) / e
            })
            .sum();
        assert!(chi < 16.27, "chi2 {chi}, counts {counts:?}, p {p:?}");
        assert_eq!(stats.visits, 0, "the tree had no proposals recorded");
    }
}
