//! GGUF (versions 2 and 3) reader and writer.
//!
//! Layout (little-endian), as specified in ggml's `docs/gguf.md`:
//! ```text
//! u32 magic "GGUF" | u32 version | u64 tensor_count | u64 metadata_kv_count
//! metadata_kv_count x { string key | u32 value_type | value }
//! tensor_count x { string name | u32 n_dims | u64 dims[n_dims] | u32 ggml_type | u64 offset }
//! padding to `general.alignment` (default 32) | tensor data
//! ```
//! where `string = u64 len | len bytes of UTF-8` and an array value is
//! `u32 element_type | u64 count | count values`. Version 3 only added big-endian files (which
//! this reader rejects through the version check, since the version then reads byte-swapped);
//! version 1 used 32-bit counts and is not supported.
//!
//! [`GgufFile::parse`] validates the whole header before returning, so later accessors never
//! fail on offsets: every count is bounded by the bytes left before anything is allocated,
//! every tensor's rows are whole blocks of its type, and its bytes lie inside the file and are
//! aligned.
//!
//! Memory is bounded by the file, never by a number in it: vectors reserve at most
//! [`PREALLOC_LIMIT`] elements ahead of reading them, and the decoded metadata (each value's
//! in-memory [`Value`] plus a string's text) may take at most
//! `METADATA_MEMORY_FACTOR x file length + METADATA_MEMORY_SLACK` bytes, so a file of small
//! values (a 1-byte `u8` element decodes to a 32-byte `Value`) cannot make the reader allocate
//! more than a small multiple of its own size.

use super::bytes::Bytes;
use crate::tensor::{GgmlType, WeightView};
use crate::{Error, Result};
use alloc::{
    collections::BTreeMap,
    format,
    string::{String, ToString},
    vec,
    vec::Vec,
};

const MAGIC: &[u8; 4] = b"GGUF";
/// Alignment of the data section and of every tensor when `general.alignment` is absent.
pub const DEFAULT_ALIGNMENT: u64 = 32;
/// Deepest nesting of arrays inside a metadata value that the reader accepts.
pub const MAX_ARRAY_DEPTH: usize = 8;
/// Most dimensions a GGUF tensor may have (`GGML_MAX_DIMS`).
pub const MAX_DIMS: usize = 4;
const FMT: &str = "GGUF";
/// Smallest encoded metadata pair: empty key (8) + type (4) + 1-byte value.
const MIN_KV_SIZE: u64 = 13;
/// Smallest encoded tensor info: empty name (8) + n_dims (4) + one dim (8) + type (4) + offset (8).
const MIN_TENSOR_INFO_SIZE: u64 = 32;

/// Decoded metadata may take this many bytes of memory per byte of the file, plus
/// [`METADATA_MEMORY_SLACK`]: real files need under 4 (Qwen2.5's 152k-token vocabulary decodes
/// to about 3x its encoded size), a file made only of `u8` arrays would need 32.
pub const METADATA_MEMORY_FACTOR: u64 = 8;
/// Bytes of decoded metadata every file may use whatever its size (small test files).
pub const METADATA_MEMORY_SLACK: u64 = 1 << 20;

/// Most elements reserved ahead of parsing them: beyond this, vectors grow as elements are
/// actually read, so a count that merely fits the file never reserves memory by itself.
pub const PREALLOC_LIMIT: u64 = 1 << 16;

fn prealloc<T>(n: u64) -> Vec<T> {
    Vec::with_capacity(n.min(PREALLOC_LIMIT) as usize)
}

/// A metadata value (GGUF `gguf_metadata_value_type` 0..=12).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    F32(f32),
    Bool(bool),
    String(String),
    /// Elements of one type (arrays of arrays may hold inner arrays of different types).
    Array(Vec<Value>),
    U64(u64),
    I64(i64),
    F64(f64),
}

impl Value {
    /// GGUF's type id of this value.
    pub fn type_id(&self) -> u32 {
        match self {
            Value::U8(_) => 0,
            Value::I8(_) => 1,
            Value::U16(_) => 2,
            Value::I16(_) => 3,
            Value::U32(_) => 4,
            Value::I32(_) => 5,
            Value::F32(_) => 6,
            Value::Bool(_) => 7,
            Value::String(_) => 8,
            Value::Array(_) => 9,
            Value::U64(_) => 10,
            Value::I64(_) => 11,
            Value::F64(_) => 12,
        }
    }

    /// The value as a signed 128-bit integer if it is any integer type.
    fn as_integer(&self) -> Option<i128> {
        Some(match *self {
            Value::U8(v) => v as i128,
            Value::I8(v) => v as i128,
            Value::U16(v) => v as i128,
            Value::I16(v) => v as i128,
            Value::U32(v) => v as i128,
            Value::I32(v) => v as i128,
            Value::U64(v) => v as i128,
            Value::I64(v) => v as i128,
            _ => return None,
        })
    }

    /// The value as an `f32` if it is an `F32` or `F64`.
    fn as_float(&self) -> Option<f32> {
        match *self {
            Value::F32(v) => Some(v),
            Value::F64(v) => Some(v as f32),
            _ => None,
        }
    }
}

/// Encoded size of the smallest value of GGUF type `ty`, or `None` for an unknown type.
fn min_value_size(ty: u32) -> Option<u64> {
    Some(match ty {
        0 | 1 | 7 => 1,
        2 | 3 => 2,
        4..=6 => 4,
        8 => 8,
        9 => 12,
        10..=12 => 8,
        _ => return None,
    })
}

/// One entry of the tensor-info table.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorInfo {
    pub name: String,
    /// Dimensions in GGUF order: innermost (contiguous) first.
    pub dims: Vec<u64>,
    pub ty: GgmlType,
    /// Start of the tensor's bytes, relative to the data section.
    pub offset: u64,
}

impl TensorInfo {
    /// Number of elements (product of `dims`), `None` on overflow.
    pub fn n_elements(&self) -> Option<u64> {
        self.dims.iter().try_fold(1u64, |a, &d| a.checked_mul(d))
    }

    /// Bytes of the tensor's data, `None` on overflow or if a row (`dims[0]` elements) is not
    /// a whole number of blocks (ggml quantizes each row on its own).
    pub fn n_bytes(&self) -> Option<u64> {
        let row = *self.dims.first()?;
        if !row.is_multiple_of(self.ty.block_size() as u64) {
            return None;
        }
        self.ty.bytes_for(self.n_elements()?)
    }
}

/// A parsed GGUF file: metadata, tensor infos and the (borrowed or mapped) bytes.
#[derive(Debug)]
pub struct GgufFile {
    pub version: u32,
    /// Metadata pairs in file order (keys are unique).
    pub metadata: Vec<(String, Value)>,
    /// Tensor infos in file order (names are unique).
    pub tensors: Vec<TensorInfo>,
    data: Bytes,
    data_offset: u64,
    alignment: u64,
    by_name: BTreeMap<String, usize>,
    /// File offset of each metadata value, parallel to `metadata`.
    value_offsets: Vec<u64>,
}

/// Bounds-checked little-endian reader that turns every failure into a GGUF format error at
/// the offset where it happened.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Bytes of memory the metadata values decoded so far may still take.
    memory_left: u64,
}

fn err(at: usize, message: impl Into<String>) -> Error {
    Error::format(FMT, at as u64, message)
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> u64 {
        (self.buf.len() - self.pos) as u64
    }

    fn take(&mut self, n: u64, what: &str) -> Result<&'a [u8]> {
        if n > self.remaining() {
            return Err(err(
                self.pos,
                format!(
                    "truncated: {what} needs {n} bytes, {} left",
                    self.remaining()
                ),
            ));
        }
        let s = &self.buf[self.pos..self.pos + n as usize];
        self.pos += n as usize;
        Ok(s)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N as u64, what)?);
        Ok(a)
    }

    fn u32(&mut self, what: &str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    fn u64(&mut self, what: &str) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    /// A `u64` element count, checked against the bytes left: `count * min_size` must fit.
    fn count(&mut self, min_size: u64, what: &str) -> Result<u64> {
        let at = self.pos;
        let n = self.u64(what)?;
        match n.checked_mul(min_size) {
            Some(need) if need <= self.remaining() => Ok(n),
            _ => Err(err(
                at,
                format!(
                    "{what} {n} cannot fit in the {} bytes left",
                    self.remaining()
                ),
            )),
        }
    }

    fn string(&mut self, what: &str) -> Result<String> {
        let len_at = self.pos;
        let len = self.u64(what)?;
        if len > self.remaining() {
            return Err(err(
                len_at,
                format!(
                    "{what} length {len} exceeds the {} bytes left",
                    self.remaining()
                ),
            ));
        }
        let start = self.pos;
        let bytes = self.take(len, what)?;
        match core::str::from_utf8(bytes) {
            Ok(s) => Ok(s.to_string()),
            Err(e) => Err(err(
                start + e.valid_up_to(),
                format!("{what} is not valid UTF-8"),
            )),
        }
    }

    /// Charges `bytes` of decoded memory against the file's budget.
    fn charge(&mut self, at: usize, bytes: u64) -> Result<()> {
        self.memory_left = self.memory_left.checked_sub(bytes).ok_or_else(|| {
            err(
                at,
                format!(
                    "metadata would decode to more than {METADATA_MEMORY_FACTOR}x the file's {} bytes (+{METADATA_MEMORY_SLACK})",
                    self.buf.len()
                ),
            )
        })?;
        Ok(())
    }

    fn value(&mut self, ty: u32, depth: usize) -> Result<Value> {
        let at = self.pos;
        self.charge(at, core::mem::size_of::<Value>() as u64)?;
        Ok(match ty {
            0 => Value::U8(self.array::<1>("u8 value")?[0]),
            1 => Value::I8(self.array::<1>("i8 value")?[0] as i8),
            2 => Value::U16(u16::from_le_bytes(self.array("u16 value")?)),
            3 => Value::I16(i16::from_le_bytes(self.array("i16 value")?)),
            4 => Value::U32(self.u32("u32 value")?),
            5 => Value::I32(i32::from_le_bytes(self.array("i32 value")?)),
            6 => Value::F32(f32::from_le_bytes(self.array("f32 value")?)),
            7 => match self.array::<1>("bool value")?[0] {
                0 => Value::Bool(false),
                1 => Value::Bool(true),
                b => return Err(err(at, format!("bool value {b} is neither 0 nor 1"))),
            },
            8 => {
                let s = self.string("string value")?;
                self.charge(at, s.len() as u64)?;
                Value::String(s)
            }
            9 => {
                if depth >= MAX_ARRAY_DEPTH {
                    return Err(err(
                        at,
                        format!("arrays nested deeper than {MAX_ARRAY_DEPTH}"),
                    ));
                }
                let elem_ty = self.u32("array element type")?;
                let min = min_value_size(elem_ty)
                    .ok_or_else(|| err(at, format!("unknown array element type {elem_ty}")))?;
                let n = self.count(min, "array length")?;
                let mut items = prealloc(n);
                for _ in 0..n {
                    items.push(self.value(elem_ty, depth + 1)?);
                }
                Value::Array(items)
            }
            10 => Value::U64(self.u64("u64 value")?),
            11 => Value::I64(i64::from_le_bytes(self.array("i64 value")?)),
            12 => Value::F64(f64::from_le_bytes(self.array("f64 value")?)),
            _ => return Err(err(at, format!("unknown value type {ty}"))),
        })
    }
}

impl GgufFile {
    /// Parses and validates a GGUF v2/v3 file held in `data`. Errors are [`Error::Format`]
    /// with format "GGUF" and the byte offset of the problem, except version 1 files which
    /// give [`Error::Unsupported`].
    pub fn parse(data: Bytes) -> Result<GgufFile> {
        let file_len = data.len() as u64;
        let mut r = Reader {
            buf: &data,
            pos: 0,
            memory_left: file_len
                .saturating_mul(METADATA_MEMORY_FACTOR)
                .saturating_add(METADATA_MEMORY_SLACK),
        };
        if r.array::<4>("magic")? != *MAGIC {
            return Err(err(0, "bad magic, expected \"GGUF\""));
        }
        let version = r.u32("version")?;
        match version {
            2 | 3 => {}
            1 => return Err(Error::Unsupported("GGUF version 1 (32-bit counts)".into())),
            v => return Err(err(4, format!("unknown version {v}"))),
        }
        let tensor_count_at = r.pos;
        let tensor_count = r.u64("tensor count")?;
        let kv_count = r.u64("metadata count")?;
        let need = tensor_count
            .checked_mul(MIN_TENSOR_INFO_SIZE)
            .zip(kv_count.checked_mul(MIN_KV_SIZE))
            .and_then(|(a, b)| a.checked_add(b));
        if !matches!(need, Some(n) if n <= r.remaining()) {
            return Err(err(
                tensor_count_at,
                format!(
                    "{tensor_count} tensors and {kv_count} metadata pairs cannot fit in the {} bytes left",
                    r.remaining()
                ),
            ));
        }

        let mut metadata = prealloc(kv_count);
        let mut value_offsets = prealloc(kv_count);
        let mut keys = BTreeMap::new();
        let mut alignment = DEFAULT_ALIGNMENT;
        for _ in 0..kv_count {
            let key_at = r.pos;
            let key = r.string("metadata key")?;
            if keys.insert(key.clone(), ()).is_some() {
                return Err(err(key_at, format!("duplicate metadata key '{key}'")));
            }
            let ty_at = r.pos;
            let ty = r.u32("value type")?;
            if min_value_size(ty).is_none() {
                return Err(err(ty_at, format!("unknown value type {ty}")));
            }
            let value_at = r.pos;
            let value = r.value(ty, 0)?;
            if key == "general.alignment" {
                alignment = match value {
                    Value::U32(a) if a.is_power_of_two() => a as u64,
                    _ => {
                        return Err(err(
                            value_at,
                            "general.alignment must be a u32 power of two",
                        ))
                    }
                };
            }
            metadata.push((key, value));
            value_offsets.push(value_at as u64);
        }

        let mut tensors = prealloc(tensor_count);
        // For each tensor: where its offset field is, and its byte size.
        let mut extents = prealloc(tensor_count);
        let mut by_name = BTreeMap::new();
        for i in 0..tensor_count as usize {
            let name_at = r.pos;
            let name = r.string("tensor name")?;
            if by_name.insert(name.clone(), i).is_some() {
                return Err(err(name_at, format!("duplicate tensor name '{name}'")));
            }
            let n_dims_at = r.pos;
            let n_dims = r.u32("tensor n_dims")?;
            if n_dims == 0 || n_dims as usize > MAX_DIMS {
                return Err(err(
                    n_dims_at,
                    format!("tensor '{name}' has {n_dims} dimensions, expected 1 to {MAX_DIMS}"),
                ));
            }
            let mut dims = vec![0u64; n_dims as usize];
            for d in dims.iter_mut() {
                *d = r.u64("tensor dimension")?;
            }
            let ty_at = r.pos;
            let ty_id = r.u32("tensor type")?;
            let ty = GgmlType::from_id(ty_id).map_err(|_| {
                err(
                    ty_at,
                    format!("tensor '{name}' has unknown GGML type id {ty_id}"),
                )
            })?;
            if !dims[0].is_multiple_of(ty.block_size() as u64) {
                return Err(err(
                    n_dims_at,
                    format!(
                        "tensor '{name}' has rows of {} elements, not a whole number of {} blocks of {}",
                        dims[0],
                        ty.name(),
                        ty.block_size()
                    ),
                ));
            }
            let offset_at = r.pos;
            let offset = r.u64("tensor offset")?;
            let info = TensorInfo {
                name,
                dims,
                ty,
                offset,
            };
            let n = info.n_elements().ok_or_else(|| {
                err(
                    n_dims_at,
                    format!("tensor '{}' element count overflows", info.name),
                )
            })?;
            // Whole rows of blocks were checked above, so only the byte count can overflow.
            let size = ty.bytes_for(n).ok_or_else(|| {
                err(
                    n_dims_at,
                    format!("tensor '{}' byte size overflows", info.name),
                )
            })?;
            if offset % alignment != 0 {
                return Err(err(
                    offset_at,
                    format!(
                        "tensor '{}' offset {offset} is not a multiple of the alignment {alignment}",
                        info.name
                    ),
                ));
            }
            extents.push((offset_at, size));
            tensors.push(info);
        }

        let header_end = r.pos as u64;
        let data_offset = header_end.div_ceil(alignment) * alignment;
        if !tensors.is_empty() && data_offset > file_len {
            return Err(err(
                r.pos,
                format!(
                    "data section starts at {data_offset}, past the end of the file ({file_len})"
                ),
            ));
        }
        let data_len = file_len.saturating_sub(data_offset);
        for (info, &(offset_at, size)) in tensors.iter().zip(&extents) {
            match info.offset.checked_add(size) {
                Some(end) if end <= data_len => {}
                _ => {
                    return Err(err(
                        offset_at,
                        format!(
                            "tensor '{}' bytes {}..{}+{size} lie outside the {data_len}-byte data section",
                            info.name, info.offset, info.offset
                        ),
                    ))
                }
            }
        }
        Ok(GgufFile {
            version,
            metadata,
            tensors,
            data,
            data_offset,
            alignment,
            by_name,
            value_offsets,
        })
    }

    /// Maps the file at `path` and parses it.
    #[cfg(feature = "std")]
    pub fn open(path: impl AsRef<std::path::Path>) -> Result<GgufFile> {
        GgufFile::parse(Bytes::map_file(path)?)
    }

    /// The metadata value for `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.metadata.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Byte offset in the file of the value of `key` (for errors about that value).
    pub fn value_offset(&self, key: &str) -> Option<u64> {
        let i = self.metadata.iter().position(|(k, _)| k == key)?;
        Some(self.value_offsets[i])
    }

    fn missing(key: &str) -> Error {
        Error::MissingMetadata(key.into())
    }

    /// A string value.
    pub fn get_str(&self, key: &str) -> Result<&str> {
        match self.get(key) {
            Some(Value::String(s)) => Ok(s),
            _ => Err(Self::missing(key)),
        }
    }

    /// Any integer value that fits in a `u32`.
    pub fn get_u32(&self, key: &str) -> Result<u32> {
        self.get(key)
            .and_then(Value::as_integer)
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(|| Self::missing(key))
    }

    /// Any integer value that fits in a `u64`.
    pub fn get_u64(&self, key: &str) -> Result<u64> {
        self.get(key)
            .and_then(Value::as_integer)
            .and_then(|v| u64::try_from(v).ok())
            .ok_or_else(|| Self::missing(key))
    }

    /// An `F32` or `F64` value (the latter rounded to `f32`).
    pub fn get_f32(&self, key: &str) -> Result<f32> {
        self.get(key)
            .and_then(Value::as_float)
            .ok_or_else(|| Self::missing(key))
    }

    /// A bool value.
    pub fn get_bool(&self, key: &str) -> Result<bool> {
        match self.get(key) {
            Some(Value::Bool(b)) => Ok(*b),
            _ => Err(Self::missing(key)),
        }
    }

    fn get_array(&self, key: &str) -> Result<&[Value]> {
        match self.get(key) {
            Some(Value::Array(a)) => Ok(a),
            _ => Err(Self::missing(key)),
        }
    }

    /// An array of strings.
    pub fn get_str_array(&self, key: &str) -> Result<Vec<&str>> {
        self.get_array(key)?
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.as_str()),
                _ => Err(Self::missing(key)),
            })
            .collect()
    }

    /// An array of `F32`/`F64` values.
    pub fn get_f32_array(&self, key: &str) -> Result<Vec<f32>> {
        self.get_array(key)?
            .iter()
            .map(|v| v.as_float().ok_or_else(|| Self::missing(key)))
            .collect()
    }

    /// An array of integers that all fit in `i32`.
    pub fn get_i32_array(&self, key: &str) -> Result<Vec<i32>> {
        self.get_array(key)?
            .iter()
            .map(|v| {
                v.as_integer()
                    .and_then(|x| i32::try_from(x).ok())
                    .ok_or_else(|| Self::missing(key))
            })
            .collect()
    }

    /// Index in [`GgufFile::tensors`] of the tensor named `name`.
    pub fn tensor_index(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    /// The info of the tensor named `name`.
    pub fn tensor_info(&self, name: &str) -> Option<&TensorInfo> {
        self.tensor_index(name).map(|i| &self.tensors[i])
    }

    /// The bytes of a tensor, borrowed from the file. For an info of this file the range was
    /// validated by [`GgufFile::parse`]; an info that does not fit this file (e.g. one from
    /// another file) gives an empty slice rather than reading out of bounds.
    pub fn tensor_data(&self, info: &TensorInfo) -> &[u8] {
        let range = info.n_bytes().and_then(|size| {
            let start = self.data_offset.checked_add(info.offset)?;
            let end = start.checked_add(size)?;
            Some(usize::try_from(start).ok()?..usize::try_from(end).ok()?)
        });
        range.and_then(|r| self.data.get(r)).unwrap_or(&[])
    }

    /// The tensor `name` as a 2-D weight: GGUF dims `[cols, rows]` (a 1-D tensor is one row;
    /// higher dims are accepted only when they are all 1). [`Error::MissingTensor`] if absent,
    /// [`Error::Shape`] if it is not a matrix.
    pub fn weight(&self, name: &str) -> Result<WeightView<'_>> {
        let info = self
            .tensor_info(name)
            .ok_or_else(|| Error::MissingTensor(name.into()))?;
        let not_matrix = || Error::Shape {
            tensor: name.into(),
            expected: "a 1-D or 2-D tensor".into(),
            found: format!("{:?}", info.dims),
        };
        if info.dims.iter().skip(2).any(|&d| d != 1) {
            return Err(not_matrix());
        }
        let cols = usize::try_from(info.dims[0]).map_err(|_| not_matrix())?;
        let rows =
            usize::try_from(info.dims.get(1).copied().unwrap_or(1)).map_err(|_| not_matrix())?;
        WeightView::new(info.ty, rows, cols, self.tensor_data(info))
    }

    /// The whole file.
    pub fn file_bytes(&self) -> &[u8] {
        &self.data
    }

    /// Elements in all tensors (llama.cpp's `llama_model_n_params`).
    pub fn parameter_count(&self) -> u64 {
        self.tensors
            .iter()
            .map(|t| t.n_elements().unwrap_or(0))
            .sum()
    }

    /// Bytes of all tensors' data, without the header and alignment padding (llama.cpp's
    /// `llama_model_size`).
    pub fn tensor_bytes(&self) -> u64 {
        self.tensors.iter().map(|t| t.n_bytes().unwrap_or(0)).sum()
    }

    /// Byte offset of the data section in the file.
    pub fn data_offset(&self) -> u64 {
        self.data_offset
    }

    /// Alignment of the data section and of each tensor (`general.alignment`, default 32).
    pub fn alignment(&self) -> u64 {
        self.alignment
    }
}

fn write_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u64).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn write_value(out: &mut Vec<u8>, v: &Value, depth: usize) -> Result<()> {
    match v {
        Value::U8(x) => out.push(*x),
        Value::I8(x) => out.push(*x as u8),
        Value::U16(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::I16(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::U32(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::I32(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::F32(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::Bool(x) => out.push(*x as u8),
        Value::String(s) => write_str(out, s),
        Value::Array(items) => {
            if depth >= MAX_ARRAY_DEPTH {
                return Err(Error::invalid(format!(
                    "GGUF arrays nested deeper than {MAX_ARRAY_DEPTH}"
                )));
            }
            // An empty array's element type is not recorded anywhere; u8 is as good as any.
            let elem_ty = items.first().map_or(0, Value::type_id);
            if items.iter().any(|x| x.type_id() != elem_ty) {
                return Err(Error::invalid("GGUF array elements must all have one type"));
            }
            out.extend_from_slice(&elem_ty.to_le_bytes());
            out.extend_from_slice(&(items.len() as u64).to_le_bytes());
            for x in items {
                write_value(out, x, depth + 1)?;
            }
        }
        Value::U64(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::I64(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::F64(x) => out.extend_from_slice(&x.to_le_bytes()),
    }
    Ok(())
}

fn pad_to(out: &mut Vec<u8>, alignment: u64) {
    let len = out.len() as u64;
    out.resize((len.div_ceil(alignment) * alignment) as usize, 0);
}

/// A tensor to write: name, dims (innermost first), type, and its encoded size in bytes.
pub type TensorDecl = (String, Vec<u64>, GgmlType, u64);

/// The header of a GGUF version 3 file holding `metadata` (in order) and tensors declared by
/// `tensors`, packed in order, each aligned to `general.alignment` (a u32 power of two if
/// present in `metadata`, else 32): the bytes before the data section (padded to the
/// alignment) and the alignment. Errors ([`Error::InvalidArgument`]) for duplicate keys or
/// names, 0 or more than 4 dims, a byte count that does not match the dims and type, a bad
/// alignment, or mixed-type arrays.
pub fn gguf_header(metadata: &[(String, Value)], tensors: &[TensorDecl]) -> Result<(Vec<u8>, u64)> {
    let mut alignment = DEFAULT_ALIGNMENT;
    let mut keys = BTreeMap::new();
    for (k, v) in metadata {
        if keys.insert(k.as_str(), ()).is_some() {
            return Err(Error::invalid(format!("duplicate GGUF metadata key '{k}'")));
        }
        if k == "general.alignment" {
            alignment = match v {
                Value::U32(a) if a.is_power_of_two() => *a as u64,
                _ => {
                    return Err(Error::invalid(
                        "general.alignment must be a u32 power of two",
                    ))
                }
            };
        }
    }
    let mut out = Vec::new();
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&3u32.to_le_bytes());
    out.extend_from_slice(&(tensors.len() as u64).to_le_bytes());
    out.extend_from_slice(&(metadata.len() as u64).to_le_bytes());
    for (k, v) in metadata {
        write_str(&mut out, k);
        out.extend_from_slice(&v.type_id().to_le_bytes());
        write_value(&mut out, v, 0)?;
    }
    let mut names = BTreeMap::new();
    let mut offset = 0u64;
    for (name, dims, ty, n_bytes) in tensors {
        if names.insert(name.as_str(), ()).is_some() {
            return Err(Error::invalid(format!(
                "duplicate GGUF tensor name '{name}'"
            )));
        }
        if dims.is_empty() || dims.len() > MAX_DIMS {
            return Err(Error::invalid(format!(
                "tensor '{name}' has {} dims, expected 1 to {MAX_DIMS}",
                dims.len()
            )));
        }
        let info = TensorInfo {
            name: name.clone(),
            dims: dims.clone(),
            ty: *ty,
            offset,
        };
        if info.n_bytes() != Some(*n_bytes) {
            return Err(Error::invalid(format!(
                "tensor '{name}' {:?} of {} needs {:?} bytes, got {}",
                dims,
                ty.name(),
                info.n_bytes(),
                n_bytes
            )));
        }
        write_str(&mut out, name);
        out.extend_from_slice(&(dims.len() as u32).to_le_bytes());
        for d in dims {
            out.extend_from_slice(&d.to_le_bytes());
        }
        out.extend_from_slice(&ty.id().to_le_bytes());
        out.extend_from_slice(&offset.to_le_bytes());
        offset += n_bytes.div_ceil(alignment) * alignment;
    }
    pad_to(&mut out, alignment);
    Ok((out, alignment))
}

/// Zero bytes that pad `len` bytes up to a multiple of `alignment`.
pub fn padding(len: u64, alignment: u64) -> usize {
    (len.div_ceil(alignment) * alignment - len) as usize
}

/// Writes a whole GGUF version 3 file in memory: [`gguf_header`] for `metadata` and `tensors`
/// given as `(name, dims innermost first, type, encoded bytes)`, then the tensors' bytes, each
/// padded to the alignment. (`io::gguf_writer` streams the same bytes to a file.)
pub fn write_gguf(
    metadata: &[(String, Value)],
    tensors: &[(String, Vec<u64>, GgmlType, &[u8])],
) -> Result<Vec<u8>> {
    let decls: Vec<TensorDecl> = tensors
        .iter()
        .map(|(n, d, t, b)| (n.clone(), d.clone(), *t, b.len() as u64))
        .collect();
    let (mut out, alignment) = gguf_header(metadata, &decls)?;
    for (_, _, _, bytes) in tensors {
        out.extend_from_slice(bytes);
        pad_to(&mut out, alignment);
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
