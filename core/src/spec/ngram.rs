//! The free draft: continuations looked up in the text so far (prompt and generated tokens),
//! as prompt-lookup decoding does, with several candidates and their counts so a tree can
//! branch over them.

use super::draft::Draft;
use super::tree::{rank, Candidates, DraftTree};
use crate::{Error, Result};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// Looks up the longest suffix of the context (up to `n` tokens, at least `min_n`) that occurred
/// earlier, and proposes the tokens that followed its occurrences, with probability = count /
/// occurrences. No match: no candidates (the tree stops growing there).
#[derive(Debug, Clone)]
pub struct NgramDraft {
    n: usize,
    min_n: usize,
    context: Vec<u32>,
}

impl NgramDraft {
    /// Suffixes of `min_n..=n` tokens; `1 <= min_n <= n`.
    pub fn new(n: usize, min_n: usize) -> Result<NgramDraft> {
        if min_n == 0 || min_n > n {
            return Err(Error::invalid(format!(
                "n-gram draft: lengths {min_n}..={n} (need 1 <= min <= n)"
            )));
        }
        Ok(NgramDraft {
            n,
            min_n,
            context: Vec::new(),
        })
    }

    /// Candidates after `seq`: the continuations of the longest suffix seen before.
    pub fn lookup(&self, seq: &[u32], k: usize) -> Candidates {
        for len in (self.min_n..=self.n.min(seq.len().saturating_sub(1))).rev() {
            let suffix = &seq[seq.len() - len..];
            let mut counts: Vec<(u32, u32)> = Vec::new();
            // Occurrences that end before the suffix itself and have a next token.
            for start in 0..seq.len() - len {
                if &seq[start..start + len] == suffix {
                    let next = seq[start + len];
                    match counts.iter_mut().find(|c| c.0 == next) {
                        Some(c) => c.1 += 1,
                        None => counts.push((next, 1)),
                    }
                }
            }
            let total: u32 = counts.iter().map(|c| c.1).sum();
            if total > 0 {
                let mut c: Candidates = counts
                    .into_iter()
                    .map(|(t, n)| (t, n as f32 / total as f32))
                    .collect();
                rank(&mut c, k);
                return c;
            }
        }
        Vec::new()
    }
}

impl Draft for NgramDraft {
    fn describe(&self) -> String {
        format!("ngram ({}..={} tokens)", self.min_n, self.n)
    }

    fn reset(&mut self) {
        self.context.clear();
    }

    fn extend(&mut self, tokens: &[u32]) {
        self.context.extend_from_slice(tokens);
    }

    fn propose(&mut self, tree: &DraftTree, nodes: &[usize], k: usize) -> Result<Vec<Candidates>> {
        let mut seq = self.context.clone();
        let base = seq.len();
        Ok(nodes
            .iter()
            .map(|&i| {
                seq.truncate(base);
                seq.extend(tree.path_tokens(i));
                self.lookup(&seq, k)
            })
            .collect())
    }

    fn commit(&mut self, tree: &DraftTree, accepted: &[usize]) -> Result<()> {
        self.context.push(tree.token(0));
        self.context.extend(accepted.iter().map(|&i| tree.token(i)));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_seen_suffix_proposes_its_continuations_by_count() {
        let d = NgramDraft::new(3, 1).unwrap();
        // "1 2 3" is followed by 4 twice and 5 once; the suffix is "1 2 3".
        let seq = [1, 2, 3, 4, 9, 1, 2, 3, 5, 1, 2, 3, 4, 7, 1, 2, 3];
        let c = d.lookup(&seq, 8);
        assert_eq!(c.iter().map(|x| x.0).collect::<Vec<_>>(), [4, 5]);
        assert!((c[0].1 - 2.0 / 3.0).abs() < 1e-6);
        // Only "7" was seen once; with nothing longer, the 1-gram "7" has no continuation.
        assert!(d.lookup(&[1, 2, 7], 4).is_empty());
        // A shorter suffix is used when the longer ones never occurred.
        assert_eq!(d.lookup(&[5, 6, 8, 6], 4), alloc::vec![(8, 1.0)]);
        assert!(NgramDraft::new(2, 3).is_err() && NgramDraft::new(2, 0).is_err());
    }

    #[test]
    fn proposals_follow_each_node_path() {
        let mut d = NgramDraft::new(2, 1).unwrap();
        d.extend(&[1, 2, 3, 1, 2, 4]);
        let mut t = DraftTree::new(1);
        let a = t.push(0, 2, 0, 0.5).unwrap();
        let c = d.propose(&t, &[0, a], 4).unwrap();
        // After "...4 1": "1" was followed by 2 (twice).
        assert_eq!(c[0], alloc::vec![(2, 1.0)]);
        // After "...4 1 2": "1 2" was followed by 3 and by 4.
        assert_eq!(c[1].iter().map(|x| x.0).collect::<Vec<_>>(), [3, 4]);
        d.commit(&t, &[a]).unwrap();
        assert_eq!(d.context, [1, 2, 3, 1, 2, 4, 1, 2]);
    }
}
