//! The key/value cache: per layer, one row of `kv_dim` keys and one of values per slot.
//!
//! Slots `0..len` are filled. A forward pass appends its new tokens' entries at `len..`; the
//! cache can be truncated (roll back rejected tokens) and compacted (keep a chosen subset of
//! the newest entries, e.g. the accepted path of a draft tree, moved right after the prefix).

use crate::{Error, Result};
use alloc::format;
use alloc::vec;
use alloc::vec::Vec;

/// Keys and values of every layer, f32, `capacity` slots.
#[derive(Debug, Clone)]
pub struct KvCache {
    n_layer: usize,
    kv_dim: usize,
    capacity: usize,
    len: usize,
    /// `keys[l]` holds `capacity * kv_dim` floats; slot j is `[j*kv_dim, (j+1)*kv_dim)`.
    keys: Vec<Vec<f32>>,
    values: Vec<Vec<f32>>,
}

impl KvCache {
    /// An empty cache of `capacity` slots. Memory is reserved as the cache grows.
    pub fn new(n_layer: usize, kv_dim: usize, capacity: usize) -> Self {
        KvCache {
            n_layer,
            kv_dim,
            capacity,
            len: 0,
            keys: vec![Vec::new(); n_layer],
            values: vec![Vec::new(); n_layer],
        }
    }

    /// Filled slots.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no slot is filled.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Maximum number of slots.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Width of one slot's keys (or values).
    pub fn kv_dim(&self) -> usize {
        self.kv_dim
    }

    /// Makes room for `n` more slots, or says how many the context lacks.
    pub(crate) fn reserve(&mut self, n: usize) -> Result<()> {
        let needed = self.len.checked_add(n).ok_or(Error::ContextOverflow {
            needed: usize::MAX,
            capacity: self.capacity,
        })?;
        if needed > self.capacity {
            return Err(Error::ContextOverflow {
                needed,
                capacity: self.capacity,
            });
        }
        for l in 0..self.n_layer {
            self.keys[l].resize(needed * self.kv_dim, 0.0);
            self.values[l].resize(needed * self.kv_dim, 0.0);
        }
        Ok(())
    }

    /// Keys and values of layer `l` for slots `0..end` (mutable, for writing new entries).
    pub(crate) fn layer_mut(&mut self, l: usize) -> (&mut [f32], &mut [f32]) {
        (&mut self.keys[l], &mut self.values[l])
    }

    /// Marks `n` reserved slots as filled.
    pub(crate) fn commit(&mut self, n: usize) {
        self.len += n;
    }

    /// Drops every slot from `len` on (rolls back rejected tokens).
    pub fn truncate(&mut self, len: usize) -> Result<()> {
        if len > self.len {
            return Err(Error::invalid(format!(
                "cannot truncate the KV cache to {len} slots: it holds {}",
                self.len
            )));
        }
        self.len = len;
        for l in 0..self.n_layer {
            self.keys[l].truncate(len * self.kv_dim);
            self.values[l].truncate(len * self.kv_dim);
        }
        Ok(())
    }

    /// Keeps slots `0..base` and, after them in the given order, the slots listed in `keep`
    /// (each `>= base`, strictly increasing); drops the rest. Used to keep the accepted path of
    /// a verified draft tree.
    pub fn compact(&mut self, base: usize, keep: &[usize]) -> Result<()> {
        if base > self.len {
            return Err(Error::invalid(format!(
                "compact base {base} is past the {} filled slots",
                self.len
            )));
        }
        let mut prev = None;
        for &s in keep {
            if s < base || s >= self.len || prev.is_some_and(|p| s <= p) {
                return Err(Error::invalid(format!(
                    "compact: slot {s} must be in {base}..{} and after the previous kept slot",
                    self.len
                )));
            }
            prev = Some(s);
        }
        let d = self.kv_dim;
        for l in 0..self.n_layer {
            for (i, &s) in keep.iter().enumerate() {
                let dst = (base + i) * d;
                self.keys[l].copy_within(s * d..(s + 1) * d, dst);
                self.values[l].copy_within(s * d..(s + 1) * d, dst);
            }
        }
        self.truncate(base + keep.len())
    }

    /// Keys and values of layer `l`, slots `0..len` plus any reserved ones.
    pub(crate) fn layer(&self, l: usize) -> (&[f32], &[f32]) {
        (&self.keys[l], &self.values[l])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled(n: usize) -> KvCache {
        let mut c = KvCache::new(2, 3, 8);
        c.reserve(n).unwrap();
        for l in 0..2 {
            let (k, v) = c.layer_mut(l);
            for (i, x) in k.iter_mut().enumerate() {
                *x = (l * 1000 + i) as f32;
            }
            for (i, x) in v.iter_mut().enumerate() {
                *x = -((l * 1000 + i) as f32);
            }
        }
        c.commit(n);
        c
    }

    #[test]
    fn overflow_is_an_error() {
        let mut c = filled(6);
        assert_eq!(
            c.reserve(3),
            Err(Error::ContextOverflow {
                needed: 9,
                capacity: 8
            })
        );
        assert_eq!(c.len(), 6);
    }

    #[test]
    fn compact_moves_kept_slots_after_base() {
        let mut c = filled(7);
        c.compact(2, &[4, 6]).unwrap();
        assert_eq!(c.len(), 4);
        let (k, v) = c.layer(1);
        assert_eq!(&k[6..9], &[1012.0, 1013.0, 1014.0]);
        assert_eq!(&k[9..12], &[1018.0, 1019.0, 1020.0]);
        assert_eq!(&v[9..12], &[-1018.0, -1019.0, -1020.0]);
        assert_eq!(&k[0..6], &[1000.0, 1001.0, 1002.0, 1003.0, 1004.0, 1005.0]);
    }

    #[test]
    fn compact_rejects_bad_slots() {
        let mut c = filled(7);
        assert!(c.compact(2, &[1]).is_err());
        assert!(c.compact(2, &[5, 4]).is_err());
        assert!(c.compact(2, &[7]).is_err());
        assert!(c.truncate(8).is_err());
        assert_eq!(c.len(), 7);
    }
}
