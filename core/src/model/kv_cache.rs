//! The key/value cache: per layer, one row of `kv_dim` keys and one of values per slot, stored
//! as f32 or f16 ([`KvType`], chosen when the cache is made).
//!
//! Slots `0..len` are filled. A forward pass appends its new tokens' entries at `len..`; the
//! cache can be truncated (roll back rejected tokens) and compacted (keep a chosen subset of
//! the newest entries, e.g. the accepted path of a draft tree, moved right after the prefix).
//! An f16 cache rounds each entry once, when it is written (to nearest, ties to even), and
//! attention widens it back exactly, so every reader of a slot sees the same value.

use super::forward::Numerics;
use crate::kernels::attention::KvElement;
use crate::{Error, Result};
use alloc::format;
use alloc::vec;
use alloc::vec::Vec;
use half::f16;

/// How the KV cache stores keys and values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KvType {
    /// 4 bytes per element: the exact path's choice.
    F32,
    /// IEEE binary16, 2 bytes per element (llama.cpp's default cache type).
    F16,
}

impl KvType {
    /// The default for a numeric path, as llama.cpp chooses: f16 on the fast path, f32 on the
    /// exact (reference) path.
    pub fn default_for(numerics: Numerics) -> KvType {
        match numerics {
            Numerics::Fast => KvType::F16,
            Numerics::Exact => KvType::F32,
        }
    }

    /// Bytes per stored element.
    pub fn size(self) -> usize {
        match self {
            KvType::F32 => 4,
            KvType::F16 => 2,
        }
    }

    /// `"f32"` or `"f16"`.
    pub fn name(self) -> &'static str {
        match self {
            KvType::F32 => "f32",
            KvType::F16 => "f16",
        }
    }

    /// The type named `name` (`"f32"` or `"f16"`), as [`KvType::name`] spells it.
    pub fn from_name(name: &str) -> Result<KvType> {
        match name {
            "f32" => Ok(KvType::F32),
            "f16" => Ok(KvType::F16),
            other => Err(Error::invalid(format!(
                "KV cache type '{other}' (f16 or f32)"
            ))),
        }
    }
}

/// Keys and values of every layer in one element type; slot j of a layer is
/// `[j*kv_dim, (j+1)*kv_dim)`.
#[derive(Debug, Clone)]
struct Planes<T> {
    keys: Vec<Vec<T>>,
    values: Vec<Vec<T>>,
}

impl<T: KvElement> Planes<T> {
    fn new(n_layer: usize) -> Self {
        Planes {
            keys: vec![Vec::new(); n_layer],
            values: vec![Vec::new(); n_layer],
        }
    }

    /// Every layer holds exactly `elems` elements (new ones zero).
    fn resize(&mut self, elems: usize) {
        for plane in self.keys.iter_mut().chain(&mut self.values) {
            plane.resize(elems, T::ZERO);
        }
    }

    /// Copies the `width`-element rows `from[i]` to rows `to + i`, in order (`to + i <= from[i]`).
    fn move_rows(&mut self, width: usize, from: &[usize], to: usize) {
        for plane in self.keys.iter_mut().chain(&mut self.values) {
            for (i, &s) in from.iter().enumerate() {
                plane.copy_within(s * width..(s + 1) * width, (to + i) * width);
            }
        }
    }

    /// Writes the f32 rows `k` and `v` into layer `l` from element `at` on.
    fn write(&mut self, l: usize, at: usize, k: &[f32], v: &[f32]) {
        T::from_f32_row(k, &mut self.keys[l][at..at + k.len()]);
        T::from_f32_row(v, &mut self.values[l][at..at + v.len()]);
    }
}

impl<T: StateElement> Planes<T> {
    /// A deep copy of the first `elems` elements of every layer, or an error when the memory
    /// cannot be had.
    fn try_copy(&self, elems: usize) -> Result<Self> {
        let copy = |planes: &[Vec<T>]| -> Result<Vec<Vec<T>>> {
            let mut out = Vec::new();
            out.try_reserve_exact(planes.len())
                .map_err(|_| no_memory(planes.len()))?;
            for plane in planes {
                let mut row = Vec::new();
                row.try_reserve_exact(elems)
                    .map_err(|_| no_memory(elems * T::SIZE))?;
                row.extend_from_slice(&plane[..elems]);
                out.push(row);
            }
            Ok(out)
        };
        Ok(Planes {
            keys: copy(&self.keys)?,
            values: copy(&self.values)?,
        })
    }

    /// Appends the first `elems` elements of each layer's keys, then its values, layer by
    /// layer, little-endian.
    fn write_state(&self, elems: usize, out: &mut Vec<u8>) {
        for (k, v) in self.keys.iter().zip(&self.values) {
            for x in k[..elems].iter().chain(&v[..elems]) {
                x.put_le(out);
            }
        }
    }

    /// Planes of `elems` elements per layer read from `bytes`, laid out as
    /// [`Planes::write_state`] writes them (`bytes.len()` is `2 * n_layer * elems * T::SIZE`).
    fn read_state(n_layer: usize, elems: usize, bytes: &[u8]) -> Result<Self> {
        let mut p = Planes::new(n_layer);
        let mut chunks = bytes.chunks_exact(T::SIZE);
        for l in 0..n_layer {
            for plane in [&mut p.keys[l], &mut p.values[l]] {
                plane
                    .try_reserve_exact(elems)
                    .map_err(|_| no_memory(elems * T::SIZE))?;
                plane.extend(chunks.by_ref().take(elems).map(T::get_le));
            }
        }
        Ok(p)
    }
}

/// The error for an allocation of `bytes` that failed.
fn no_memory(bytes: usize) -> Error {
    Error::invalid(format!("cannot allocate {bytes} bytes for a KV cache copy"))
}

/// How a stored element is written in a saved session state: little-endian, `SIZE` bytes.
trait StateElement: KvElement {
    const SIZE: usize;
    fn put_le(&self, out: &mut Vec<u8>);
    /// The element whose `SIZE` little-endian bytes are `b`.
    fn get_le(b: &[u8]) -> Self;
}

impl StateElement for f32 {
    const SIZE: usize = 4;
    fn put_le(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    fn get_le(b: &[u8]) -> f32 {
        f32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }
}

impl StateElement for f16 {
    const SIZE: usize = 2;
    fn put_le(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_bits().to_le_bytes());
    }
    fn get_le(b: &[u8]) -> f16 {
        f16::from_bits(u16::from_le_bytes([b[0], b[1]]))
    }
}

#[derive(Debug, Clone)]
enum Store {
    F32(Planes<f32>),
    F16(Planes<f16>),
}

/// Runs `$body` with `$p` bound to the cache's planes, whatever their element type.
macro_rules! with_planes {
    ($store:expr, $p:ident => $body:expr) => {
        match $store {
            Store::F32($p) => $body,
            Store::F16($p) => $body,
        }
    };
}

/// One layer's keys and values (slots `0..len` plus any reserved ones), in the stored type.
#[derive(Debug, Clone, Copy)]
pub(crate) enum KvLayer<'a> {
    F32(&'a [f32], &'a [f32]),
    F16(&'a [f16], &'a [f16]),
}

/// Keys and values of every layer, `capacity` slots.
#[derive(Debug, Clone)]
pub struct KvCache {
    n_layer: usize,
    kv_dim: usize,
    capacity: usize,
    len: usize,
    store: Store,
}

impl KvCache {
    /// An empty cache of `capacity` slots storing `ty`. Memory is reserved as the cache grows.
    pub fn new(n_layer: usize, kv_dim: usize, capacity: usize, ty: KvType) -> Self {
        let store = match ty {
            KvType::F32 => Store::F32(Planes::new(n_layer)),
            KvType::F16 => Store::F16(Planes::new(n_layer)),
        };
        KvCache {
            n_layer,
            kv_dim,
            capacity,
            len: 0,
            store,
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

    /// Number of layers whose keys and values it holds.
    pub fn n_layer(&self) -> usize {
        self.n_layer
    }

    /// Width of one slot's keys (or values).
    pub fn kv_dim(&self) -> usize {
        self.kv_dim
    }

    /// The element type keys and values are stored in.
    pub fn kv_type(&self) -> KvType {
        match self.store {
            Store::F32(_) => KvType::F32,
            Store::F16(_) => KvType::F16,
        }
    }

    /// Bytes one slot takes over all layers: `2 * n_layer * kv_dim * element size` (keys and
    /// values).
    pub fn bytes_per_token(&self) -> usize {
        2 * self.n_layer * self.kv_dim * self.kv_type().size()
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
        let elems = needed * self.kv_dim;
        with_planes!(&mut self.store, p => p.resize(elems));
        Ok(())
    }

    /// Stores the f32 rows `k` and `v` (whole slots, `kv_dim` each) of layer `l` into the
    /// reserved slots from `slot` on, converted to the cache's type.
    pub(crate) fn write(&mut self, l: usize, slot: usize, k: &[f32], v: &[f32]) {
        let at = slot * self.kv_dim;
        with_planes!(&mut self.store, p => p.write(l, at, k, v));
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
        let elems = len * self.kv_dim;
        with_planes!(&mut self.store, p => p.resize(elems));
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
        with_planes!(&mut self.store, p => p.move_rows(d, keep, base));
        self.truncate(base + keep.len())
    }

    /// A deep copy of the filled slots (same capacity and type); an error, not an abort, when
    /// the memory cannot be had.
    pub fn try_clone(&self) -> Result<KvCache> {
        let elems = self.len * self.kv_dim;
        let store = match &self.store {
            Store::F32(p) => Store::F32(p.try_copy(elems)?),
            Store::F16(p) => Store::F16(p.try_copy(elems)?),
        };
        Ok(KvCache { store, ..*self })
    }

    /// Bytes [`KvCache::write_state`] appends: every filled slot's keys and values.
    pub fn state_bytes(&self) -> usize {
        self.len * self.bytes_per_token()
    }

    /// Appends the filled slots to `out`: per layer, its keys then its values (`len * kv_dim`
    /// little-endian elements each, f16 as its bit pattern).
    pub fn write_state(&self, out: &mut Vec<u8>) {
        let elems = self.len * self.kv_dim;
        with_planes!(&self.store, p => p.write_state(elems, out));
    }

    /// Replaces the contents with `len` slots read from `rows`, laid out as
    /// [`KvCache::write_state`] writes them. `rows` must be exactly `len * bytes_per_token()`
    /// bytes and `len` within the capacity; on any error the cache is unchanged.
    pub fn read_state(&mut self, len: usize, rows: &[u8]) -> Result<()> {
        if len > self.capacity {
            return Err(Error::ContextOverflow {
                needed: len,
                capacity: self.capacity,
            });
        }
        let needed = len.checked_mul(self.bytes_per_token());
        if needed != Some(rows.len()) {
            return Err(Error::invalid(format!(
                "{} bytes of KV rows for {len} slots of {} bytes",
                rows.len(),
                self.bytes_per_token()
            )));
        }
        let elems = len * self.kv_dim;
        self.store = match self.store {
            Store::F32(_) => Store::F32(Planes::read_state(self.n_layer, elems, rows)?),
            Store::F16(_) => Store::F16(Planes::read_state(self.n_layer, elems, rows)?),
        };
        self.len = len;
        Ok(())
    }

    /// Keys and values of layer `l`, slots `0..len` plus any reserved ones.
    pub(crate) fn layer(&self, l: usize) -> KvLayer<'_> {
        match &self.store {
            Store::F32(p) => KvLayer::F32(&p.keys[l], &p.values[l]),
            Store::F16(p) => KvLayer::F16(&p.keys[l], &p.values[l]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Layer `l`'s keys (or values) as f32, whatever the stored type.
    fn plane(c: &KvCache, l: usize, values: bool) -> Vec<f32> {
        match c.layer(l) {
            KvLayer::F32(k, v) => if values { v } else { k }.to_vec(),
            KvLayer::F16(k, v) => if values { v } else { k }
                .iter()
                .map(|x| x.to_f32())
                .collect(),
        }
    }

    /// A cache of 2 layers, 3-wide slots, 8 slots of room, the first `n` filled with
    /// `±(l * 1000 + element index)` (integers below 2048: exact in f16 too).
    fn filled(n: usize, ty: KvType) -> KvCache {
        let mut c = KvCache::new(2, 3, 8, ty);
        c.reserve(n).unwrap();
        for l in 0..2 {
            let k: Vec<f32> = (0..n * 3).map(|i| (l * 1000 + i) as f32).collect();
            let v: Vec<f32> = k.iter().map(|x| -x).collect();
            c.write(l, 0, &k, &v);
        }
        c.commit(n);
        c
    }

    const TYPES: [KvType; 2] = [KvType::F32, KvType::F16];

    #[test]
    fn overflow_is_an_error() {
        for ty in TYPES {
            let mut c = filled(6, ty);
            assert_eq!(
                c.reserve(3),
                Err(Error::ContextOverflow {
                    needed: 9,
                    capacity: 8
                })
            );
            assert_eq!(c.len(), 6);
        }
    }

    #[test]
    fn compact_moves_kept_slots_after_base() {
        for ty in TYPES {
            let mut c = filled(7, ty);
            c.compact(2, &[4, 6]).unwrap();
            assert_eq!(c.len(), 4);
            let (k, v) = (plane(&c, 1, false), plane(&c, 1, true));
            assert_eq!(k.len(), 12, "{ty:?}");
            assert_eq!(&k[6..9], &[1012.0, 1013.0, 1014.0]);
            assert_eq!(&k[9..12], &[1018.0, 1019.0, 1020.0]);
            assert_eq!(&v[9..12], &[-1018.0, -1019.0, -1020.0]);
            assert_eq!(&k[0..6], &[1000.0, 1001.0, 1002.0, 1003.0, 1004.0, 1005.0]);
        }
    }

    #[test]
    fn compact_rejects_bad_slots() {
        for ty in TYPES {
            let mut c = filled(7, ty);
            assert!(c.compact(2, &[1]).is_err());
            assert!(c.compact(2, &[5, 4]).is_err());
            assert!(c.compact(2, &[7]).is_err());
            assert!(c.truncate(8).is_err());
            assert_eq!(c.len(), 7);
        }
    }

    #[test]
    fn f16_rounds_once_at_store_time_and_halves_the_memory() {
        let mut c = KvCache::new(1, 4, 2, KvType::F16);
        c.reserve(1).unwrap();
        // 1 + 2^-11 is a tie between 1 and 1 + 2^-10: to even gives 1; 0.1 -> its nearest f16.
        c.write(0, 0, &[1.0 + 2f32.powi(-11), 0.1, -65520.0, 3.0], &[0.0; 4]);
        c.commit(1);
        assert_eq!(
            plane(&c, 0, false),
            [
                1.0,
                f16::from_f32_const(0.1).to_f32(),
                f32::NEG_INFINITY,
                3.0
            ]
        );
        let f32_cache = KvCache::new(30, 192, 8, KvType::F32);
        assert_eq!(f32_cache.bytes_per_token(), 2 * 30 * 192 * 4);
        assert_eq!(c.bytes_per_token(), 2 * 4 * 2);
        c.truncate(0).unwrap();
        assert!(plane(&c, 0, false).is_empty());
    }

    #[test]
    fn type_names_round_trip_and_defaults_follow_the_numeric_path() {
        for ty in TYPES {
            assert_eq!(KvType::from_name(ty.name()), Ok(ty));
        }
        assert!(KvType::from_name("q8_0").is_err());
        assert_eq!(KvType::default_for(Numerics::Fast), KvType::F16);
        assert_eq!(KvType::default_for(Numerics::Exact), KvType::F32);
    }
}
