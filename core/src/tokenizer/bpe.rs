//! Byte-pair encoding by merge rank (Sennrich et al. 2016; GPT-2's byte-level variant).
//!
//! A word starts as one symbol per byte (the byte's token). Repeatedly, the adjacent pair whose
//! merge has the lowest rank (its index in `tokenizer.ggml.merges`) is replaced by the merged
//! token; among equal ranks the leftmost pair goes first. Symbols form a doubly linked list and
//! candidate pairs sit in a min-heap keyed by (rank, left position); a popped pair is applied
//! only if both of its symbols are still the ones it was made from. Merges are looked up by
//! token-id pair in an open-addressing hash table, so a word of `n` bytes costs `O(n log n)`.

use alloc::collections::BinaryHeap;
use alloc::vec;
use alloc::vec::Vec;
use core::cmp::Reverse;

/// Multiplicative (Fibonacci) hashing of a 64-bit key to `bits` bits.
fn fib_hash(key: u64, bits: u32) -> usize {
    (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - bits)) as usize
}

/// Number of index bits for a table holding `n` entries at load factor at most 1/2.
fn table_bits(n: usize) -> u32 {
    let mut bits = 4;
    while (1usize << bits) < 2 * n.max(1) {
        bits += 1;
    }
    bits
}

/// Open-addressing map from a token's bytes to its id; the keys live in the caller's token
/// storage, the table stores only ids (`u32::MAX` marks an empty slot).
pub(crate) struct TextMap {
    slots: Vec<u32>,
    bits: u32,
}

/// FNV-1a over `bytes`, widened into a 64-bit key for [`fib_hash`].
fn bytes_key(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xCBF2_9CE4_8422_2325;
    for &b in bytes {
        h = (h ^ b as u64).wrapping_mul(0x0100_0000_01B3);
    }
    h
}

impl TextMap {
    /// Index tokens `0..n`; `text(id)` gives a token's bytes. The first id of duplicated bytes
    /// wins.
    pub fn build<'a>(n: usize, text: impl Fn(u32) -> &'a [u8]) -> TextMap {
        let bits = table_bits(n);
        let mut map = TextMap {
            slots: vec![u32::MAX; 1 << bits],
            bits,
        };
        for id in 0..n as u32 {
            let t = text(id);
            let mask = map.slots.len() - 1;
            let mut i = fib_hash(bytes_key(t), bits);
            loop {
                let s = map.slots[i];
                if s == u32::MAX {
                    map.slots[i] = id;
                    break;
                }
                if text(s) == t {
                    break;
                }
                i = (i + 1) & mask;
            }
        }
        map
    }

    /// The id whose bytes are `key`.
    pub fn get<'a>(&self, key: &[u8], text: impl Fn(u32) -> &'a [u8]) -> Option<u32> {
        let mask = self.slots.len() - 1;
        let mut i = fib_hash(bytes_key(key), self.bits);
        loop {
            let s = self.slots[i];
            if s == u32::MAX {
                return None;
            }
            if text(s) == key {
                return Some(s);
            }
            i = (i + 1) & mask;
        }
    }
}

/// One merge rule: `rank` orders merges, `id` is the merged token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Merge {
    pub rank: u32,
    pub id: u32,
}

/// Open-addressing map from a (left id, right id) pair to its [`Merge`].
pub(crate) struct MergeMap {
    keys: Vec<u64>,
    vals: Vec<Merge>,
    bits: u32,
}

const EMPTY: u64 = u64::MAX;

fn pair_key(left: u32, right: u32) -> u64 {
    ((left as u64) << 32) | right as u64
}

impl MergeMap {
    /// An empty map sized for `n` merges.
    pub fn with_capacity(n: usize) -> MergeMap {
        let bits = table_bits(n);
        MergeMap {
            keys: vec![EMPTY; 1 << bits],
            vals: vec![Merge { rank: 0, id: 0 }; 1 << bits],
            bits,
        }
    }

    /// Add a merge; a pair already present keeps its first (lowest-rank) merge.
    pub fn insert(&mut self, left: u32, right: u32, merge: Merge) {
        let key = pair_key(left, right);
        let mask = self.keys.len() - 1;
        let mut i = fib_hash(key, self.bits);
        while self.keys[i] != EMPTY {
            if self.keys[i] == key {
                return;
            }
            i = (i + 1) & mask;
        }
        self.keys[i] = key;
        self.vals[i] = merge;
    }

    /// The merge of `left` followed by `right`, if any.
    pub fn get(&self, left: u32, right: u32) -> Option<Merge> {
        let key = pair_key(left, right);
        let mask = self.keys.len() - 1;
        let mut i = fib_hash(key, self.bits);
        loop {
            let k = self.keys[i];
            if k == key {
                return Some(self.vals[i]);
            }
            if k == EMPTY {
                return None;
            }
            i = (i + 1) & mask;
        }
    }
}

/// A symbol of the word being merged; `prev`/`next` link the live symbols (`usize::MAX`: none).
#[derive(Clone, Copy)]
struct Symbol {
    id: u32,
    prev: usize,
    next: usize,
}

/// Reusable buffers for [`bpe`].
#[derive(Default)]
pub(crate) struct Scratch {
    symbols: Vec<Symbol>,
    /// Candidates: (rank, left position, left id, right id).
    heap: BinaryHeap<Reverse<(u32, usize, u32, u32)>>,
}

const NONE: usize = usize::MAX;

/// Merge the byte tokens `ids` (one per byte of the word) and append the result to `out`.
pub(crate) fn bpe(merges: &MergeMap, ids: &[u32], scratch: &mut Scratch, out: &mut Vec<u32>) {
    if ids.len() < 2 {
        out.extend_from_slice(ids);
        return;
    }
    let syms = &mut scratch.symbols;
    syms.clear();
    syms.extend(ids.iter().enumerate().map(|(i, &id)| Symbol {
        id,
        prev: if i == 0 { NONE } else { i - 1 },
        next: if i + 1 == ids.len() { NONE } else { i + 1 },
    }));
    let heap = &mut scratch.heap;
    heap.clear();
    for i in 0..ids.len() - 1 {
        if let Some(m) = merges.get(ids[i], ids[i + 1]) {
            heap.push(Reverse((m.rank, i, ids[i], ids[i + 1])));
        }
    }
    while let Some(Reverse((_, left, lid, rid))) = heap.pop() {
        let right = syms[left].next;
        // Stale candidate: a symbol was merged away or replaced since it was pushed.
        if right == NONE || syms[left].id != lid || syms[right].id != rid {
            continue;
        }
        let Some(m) = merges.get(lid, rid) else {
            continue;
        };
        syms[left].id = m.id;
        let after = syms[right].next;
        syms[left].next = after;
        // Mark the absorbed symbol dead so candidates that name it fail the check above.
        syms[right].id = u32::MAX;
        if after != NONE {
            syms[after].prev = left;
            if let Some(m2) = merges.get(m.id, syms[after].id) {
                heap.push(Reverse((m2.rank, left, m.id, syms[after].id)));
            }
        }
        let before = syms[left].prev;
        if before != NONE {
            if let Some(m2) = merges.get(syms[before].id, m.id) {
                heap.push(Reverse((m2.rank, before, syms[before].id, m.id)));
            }
        }
    }
    let mut i = 0;
    while i != NONE {
        out.push(syms[i].id);
        i = syms[i].next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiny_vocab() {
        // tokens: 0 a, 1 b, 2 c, 3 ab, 4 bc, 5 abc, 6 cc
        // merges by rank: "b c"(0) "a bc"(1) "a b"(2) "c c"(3)
        let mut m = MergeMap::with_capacity(4);
        m.insert(1, 2, Merge { rank: 0, id: 4 });
        m.insert(0, 4, Merge { rank: 1, id: 5 });
        m.insert(0, 1, Merge { rank: 2, id: 3 });
        m.insert(2, 2, Merge { rank: 3, id: 6 });
        let mut s = Scratch::default();
        let run = |ids: &[u32], s: &mut Scratch| {
            let mut out = Vec::new();
            bpe(&m, ids, s, &mut out);
            out
        };
        // "abc": b c merges first (rank 0), then a bc.
        assert_eq!(run(&[0, 1, 2], &mut s), [5]);
        // "ab": only a b.
        assert_eq!(run(&[0, 1], &mut s), [3]);
        // "abcc": b c first (leftmost among none equal), then a bc; the last c stays.
        assert_eq!(run(&[0, 1, 2, 2], &mut s), [5, 2]);
        // "ccc": equal ranks go leftmost first: (cc) c.
        assert_eq!(run(&[2, 2, 2], &mut s), [6, 2]);
        // "cab": no merge for c a; a b merges.
        assert_eq!(run(&[2, 0, 1], &mut s), [2, 3]);
        assert_eq!(run(&[1], &mut s), [1]);
        assert_eq!(run(&[], &mut s), Vec::<u32>::new());
    }

    #[test]
    fn text_map() {
        let toks: [&[u8]; 4] = [b"a", b"bc", b"", b"a"];
        let map = TextMap::build(4, |i| toks[i as usize]);
        assert_eq!(map.get(b"a", |i| toks[i as usize]), Some(0));
        assert_eq!(map.get(b"bc", |i| toks[i as usize]), Some(1));
        assert_eq!(map.get(b"", |i| toks[i as usize]), Some(2));
        assert_eq!(map.get(b"b", |i| toks[i as usize]), None);
    }
}
