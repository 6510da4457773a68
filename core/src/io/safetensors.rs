//! safetensors reader and writer.
//!
//! Layout (as defined by Hugging Face's `safetensors` format):
//! ```text
//! u64 LE header length N | N bytes of UTF-8 JSON header | data buffer
//! ```
//! The header is a JSON object mapping each tensor name to
//! `{"dtype": "F32", "shape": [d0, d1, ...], "data_offsets": [begin, end]}` (offsets relative
//! to the data buffer, row-major data, little-endian), plus an optional `"__metadata__"` object
//! of string to string. The tensors must cover the data buffer exactly: sorted by offset they
//! are contiguous from 0 to its end, without gaps or overlaps, and each spans
//! `product(shape) * dtype size` bytes.

use super::bytes::Bytes;
use super::json::{self, Json};
use crate::{Error, Result};
use alloc::{
    collections::BTreeMap,
    format,
    string::{String, ToString},
    vec::Vec,
};

const FMT: &str = "safetensors";
const METADATA_KEY: &str = "__metadata__";

/// Element type of a safetensors tensor, named as in the header's `dtype` field.
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SafeDtype {
    BOOL,
    U8,
    I8,
    F8_E5M2,
    F8_E4M3,
    I16,
    U16,
    F16,
    BF16,
    I32,
    U32,
    F32,
    F64,
    I64,
    U64,
}

impl SafeDtype {
    const ALL: [SafeDtype; 15] = [
        SafeDtype::BOOL,
        SafeDtype::U8,
        SafeDtype::I8,
        SafeDtype::F8_E5M2,
        SafeDtype::F8_E4M3,
        SafeDtype::I16,
        SafeDtype::U16,
        SafeDtype::F16,
        SafeDtype::BF16,
        SafeDtype::I32,
        SafeDtype::U32,
        SafeDtype::F32,
        SafeDtype::F64,
        SafeDtype::I64,
        SafeDtype::U64,
    ];

    /// The header's name of the type ("F32", "BF16", ...).
    pub fn name(self) -> &'static str {
        match self {
            SafeDtype::BOOL => "BOOL",
            SafeDtype::U8 => "U8",
            SafeDtype::I8 => "I8",
            SafeDtype::F8_E5M2 => "F8_E5M2",
            SafeDtype::F8_E4M3 => "F8_E4M3",
            SafeDtype::I16 => "I16",
            SafeDtype::U16 => "U16",
            SafeDtype::F16 => "F16",
            SafeDtype::BF16 => "BF16",
            SafeDtype::I32 => "I32",
            SafeDtype::U32 => "U32",
            SafeDtype::F32 => "F32",
            SafeDtype::F64 => "F64",
            SafeDtype::I64 => "I64",
            SafeDtype::U64 => "U64",
        }
    }

    /// The type named `name` in a header.
    pub fn from_name(name: &str) -> Option<SafeDtype> {
        SafeDtype::ALL.into_iter().find(|d| d.name() == name)
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            SafeDtype::BOOL | SafeDtype::U8 | SafeDtype::I8 => 1,
            SafeDtype::F8_E5M2 | SafeDtype::F8_E4M3 => 1,
            SafeDtype::I16 | SafeDtype::U16 | SafeDtype::F16 | SafeDtype::BF16 => 2,
            SafeDtype::I32 | SafeDtype::U32 | SafeDtype::F32 => 4,
            SafeDtype::F64 | SafeDtype::I64 | SafeDtype::U64 => 8,
        }
    }
}

/// A borrowed tensor: its type, shape (outermost first) and little-endian row-major bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SafeTensorView<'a> {
    pub dtype: SafeDtype,
    pub shape: &'a [usize],
    pub data: &'a [u8],
}

#[derive(Debug)]
struct Entry {
    name: String,
    dtype: SafeDtype,
    shape: Vec<usize>,
    /// Absolute byte range in the file.
    start: usize,
    end: usize,
}

/// A parsed safetensors file.
#[derive(Debug)]
pub struct SafeTensors {
    data: Bytes,
    /// Tensors in header order.
    entries: Vec<Entry>,
    by_name: BTreeMap<String, usize>,
    metadata: Vec<(String, String)>,
}

fn err(at: u64, message: impl Into<String>) -> Error {
    Error::format(FMT, at, message)
}

/// Bytes of `shape` elements of `dtype`, `None` on overflow.
fn byte_size(dtype: SafeDtype, shape: &[usize]) -> Option<usize> {
    shape
        .iter()
        .try_fold(dtype.size(), |a, &d| a.checked_mul(d))
}

impl SafeTensors {
    /// Parses and validates a safetensors file held in `data`. Errors are [`Error::Format`]
    /// with format "safetensors": offsets inside the header point into its JSON text, errors
    /// about one tensor's entry point at the header start (8) and name the tensor, and errors
    /// about coverage point at the first uncovered or doubly covered data byte.
    pub fn parse(data: Bytes) -> Result<SafeTensors> {
        let len = data.len() as u64;
        let header_len = match data.get(..8) {
            Some(b) => u64::from_le_bytes(b.try_into().expect("8 bytes")),
            None => {
                return Err(err(
                    0,
                    format!("truncated: {len} bytes, the header length needs 8"),
                ))
            }
        };
        if header_len > len - 8 {
            return Err(err(
                0,
                format!(
                    "header length {header_len} exceeds the {} bytes after it",
                    len - 8
                ),
            ));
        }
        let data_start = 8 + header_len as usize;
        let text = core::str::from_utf8(&data[8..data_start])
            .map_err(|e| err(8 + e.valid_up_to() as u64, "header is not valid UTF-8"))?;
        let header = json::parse(text).map_err(|e| match e {
            Error::Format {
                offset, message, ..
            } => err(8 + offset, format!("header JSON: {message}")),
            other => other,
        })?;
        let members = match header {
            Json::Object(m) => m,
            _ => return Err(err(8, "header is not a JSON object")),
        };

        let data_len = data.len() - data_start;
        let mut entries = Vec::with_capacity(members.len());
        let mut by_name = BTreeMap::new();
        let mut metadata = None;
        for (name, v) in members {
            if name == METADATA_KEY {
                if metadata.is_some() {
                    return Err(err(8, "duplicate __metadata__"));
                }
                metadata = Some(parse_metadata(&v)?);
                continue;
            }
            if by_name.insert(name.clone(), entries.len()).is_some() {
                return Err(err(8, format!("duplicate tensor '{name}'")));
            }
            entries.push(parse_entry(name, &v, data_start, data_len)?);
        }

        // Coverage: sorted by offset, the tensors tile the data buffer exactly.
        let mut order: Vec<&Entry> = entries.iter().collect();
        order.sort_by_key(|e| (e.start, e.end));
        let mut covered = data_start;
        for e in order {
            if e.start != covered {
                let what = if e.start > covered {
                    "gap before"
                } else {
                    "overlap with"
                };
                return Err(err(covered as u64, format!("{what} tensor '{}'", e.name)));
            }
            covered = e.end;
        }
        if covered != data.len() {
            return Err(err(
                covered as u64,
                "data buffer has bytes that belong to no tensor",
            ));
        }
        Ok(SafeTensors {
            data,
            entries,
            by_name,
            metadata: metadata.unwrap_or_default(),
        })
    }

    /// Maps the file at `path` and parses it.
    #[cfg(feature = "std")]
    pub fn open(path: impl AsRef<std::path::Path>) -> Result<SafeTensors> {
        SafeTensors::parse(Bytes::map_file(path)?)
    }

    /// Tensor names in header order.
    pub fn names(&self) -> Vec<&str> {
        self.entries.iter().map(|e| e.name.as_str()).collect()
    }

    /// The `__metadata__` pairs in header order (empty if absent).
    pub fn metadata(&self) -> &[(String, String)] {
        &self.metadata
    }

    /// The tensor `name`, borrowed from the file; [`Error::MissingTensor`] if absent.
    pub fn tensor(&self, name: &str) -> Result<SafeTensorView<'_>> {
        let e = self.by_name.get(name).map(|&i| &self.entries[i]);
        let e = e.ok_or_else(|| Error::MissingTensor(name.into()))?;
        Ok(SafeTensorView {
            dtype: e.dtype,
            shape: &e.shape,
            data: &self.data[e.start..e.end],
        })
    }
}

fn parse_metadata(v: &Json) -> Result<Vec<(String, String)>> {
    let m = v
        .as_object()
        .ok_or_else(|| err(8, "__metadata__ is not an object"))?;
    m.iter()
        .map(|(k, v)| match v {
            Json::String(s) => Ok((k.clone(), s.clone())),
            _ => Err(err(
                8,
                format!("__metadata__ value of '{k}' is not a string"),
            )),
        })
        .collect()
}

fn parse_entry(name: String, v: &Json, data_start: usize, data_len: usize) -> Result<Entry> {
    let bad = |what: &str| err(8, format!("tensor '{name}': {what}"));
    if v.as_object().is_none() {
        return Err(bad("entry is not an object"));
    }
    let dtype = v
        .get("dtype")
        .and_then(Json::as_str)
        .ok_or_else(|| bad("missing string \"dtype\""))?;
    let dtype =
        SafeDtype::from_name(dtype).ok_or_else(|| bad(&format!("unknown dtype {dtype:?}")))?;
    let shape = v
        .get("shape")
        .and_then(Json::as_array)
        .ok_or_else(|| bad("missing array \"shape\""))?
        .iter()
        .map(|d| d.as_u64().and_then(|d| usize::try_from(d).ok()))
        .collect::<Option<Vec<usize>>>()
        .ok_or_else(|| bad("shape holds something other than non-negative integers"))?;
    let offsets = v
        .get("data_offsets")
        .and_then(Json::as_array)
        .ok_or_else(|| bad("missing array \"data_offsets\""))?;
    let (begin, end) = match offsets {
        [b, e] => match (b.as_u64(), e.as_u64()) {
            (Some(b), Some(e)) if b <= e && e <= data_len as u64 => (b as usize, e as usize),
            _ => {
                return Err(bad(&format!(
                    "data_offsets must be [begin, end] with begin <= end <= {data_len}"
                )))
            }
        },
        _ => return Err(bad("data_offsets must have two entries")),
    };
    let size = byte_size(dtype, &shape).ok_or_else(|| bad("shape size overflows"))?;
    if size != end - begin {
        return Err(bad(&format!(
            "shape {shape:?} of {} needs {size} bytes, data_offsets span {}",
            dtype.name(),
            end - begin
        )));
    }
    Ok(Entry {
        name,
        dtype,
        shape,
        start: data_start + begin,
        end: data_start + end,
    })
}

/// Serializes tensors `(name, dtype, shape, little-endian row-major bytes)`, stored in the
/// given order, and `metadata` (written as `__metadata__` when non-empty) into a safetensors
/// file. The header is padded with spaces to a multiple of 8 bytes so the data is 8-aligned.
/// [`Error::InvalidArgument`] for duplicate or reserved names, or bytes that do not match
/// the shape.
pub fn serialize(
    tensors: &[(&str, SafeDtype, &[usize], &[u8])],
    metadata: &[(&str, &str)],
) -> Result<Vec<u8>> {
    let mut members = Vec::with_capacity(tensors.len() + 1);
    if !metadata.is_empty() {
        members.push((
            METADATA_KEY.to_string(),
            Json::object(metadata.iter().map(|&(k, v)| (k, Json::from(v)))),
        ));
    }
    let mut names = BTreeMap::new();
    let mut offset = 0usize;
    for &(name, dtype, shape, bytes) in tensors {
        if name == METADATA_KEY || names.insert(name, ()).is_some() {
            return Err(Error::invalid(format!(
                "safetensors tensor name '{name}' is reserved or repeated"
            )));
        }
        if byte_size(dtype, shape) != Some(bytes.len()) {
            return Err(Error::invalid(format!(
                "tensor '{name}': shape {shape:?} of {} does not match {} bytes",
                dtype.name(),
                bytes.len()
            )));
        }
        let end = offset + bytes.len();
        members.push((
            name.to_string(),
            Json::object([
                ("dtype", Json::from(dtype.name())),
                (
                    "shape",
                    Json::Array(shape.iter().map(|&d| Json::from(d)).collect()),
                ),
                ("data_offsets", Json::from(alloc::vec![offset, end])),
            ]),
        ));
        offset = end;
    }
    let mut header = Json::Object(members).to_string();
    let padded = header.len().div_ceil(8) * 8;
    while header.len() < padded {
        header.push(' ');
    }
    let mut out = Vec::with_capacity(8 + header.len() + offset);
    out.extend_from_slice(&(header.len() as u64).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for &(_, _, _, bytes) in tensors {
        out.extend_from_slice(bytes);
    }
    Ok(out)
}

/// [`serialize`] into the file at `path`, written whole or not at all
/// ([`super::atomic::write_atomic`]); I/O failures are [`Error::Io`].
#[cfg(feature = "std")]
pub fn write_file(
    path: impl AsRef<std::path::Path>,
    tensors: &[(&str, SafeDtype, &[usize], &[u8])],
    metadata: &[(&str, &str)],
) -> Result<()> {
    super::atomic::write_atomic(path.as_ref(), &serialize(tensors, metadata)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn f32_bytes(v: &[f32]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    fn sample() -> Vec<u8> {
        let a = f32_bytes(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let b = [7u8, 8, 9];
        serialize(
            &[
                ("a", SafeDtype::F32, &[2, 3], &a),
                ("b.bias", SafeDtype::U8, &[3], &b),
            ],
            &[("format", "pt"), ("note", "q\"x")],
        )
        .unwrap()
    }

    /// A file whose header is exactly `header` (unpadded) followed by `data`.
    fn raw(header: &str, data: &[u8]) -> Vec<u8> {
        let mut v = (header.len() as u64).to_le_bytes().to_vec();
        v.extend_from_slice(header.as_bytes());
        v.extend_from_slice(data);
        v
    }

    fn err_of(v: Vec<u8>) -> (u64, String) {
        match SafeTensors::parse(Bytes::Owned(v)) {
            Err(Error::Format {
                format: "safetensors",
                offset,
                message,
            }) => (offset, message),
            other => panic!("expected a safetensors format error, got {other:?}"),
        }
    }

    #[test]
    fn round_trip() {
        let v = sample();
        let header_len = u64::from_le_bytes(v[..8].try_into().unwrap());
        assert_eq!(header_len % 8, 0);
        let st = SafeTensors::parse(Bytes::Owned(v)).unwrap();
        assert_eq!(st.names(), ["a", "b.bias"]);
        assert_eq!(
            st.metadata(),
            [
                ("format".into(), "pt".into()),
                ("note".into(), "q\"x".into())
            ]
        );
        let a = st.tensor("a").unwrap();
        assert_eq!((a.dtype, a.shape), (SafeDtype::F32, &[2usize, 3][..]));
        assert_eq!(a.data, f32_bytes(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]));
        assert_eq!(st.tensor("b.bias").unwrap().data, [7, 8, 9]);
        assert!(matches!(st.tensor("c"), Err(Error::MissingTensor(n)) if n == "c"));
    }

    #[test]
    fn reads_a_file_written_by_the_reference_library_layout() {
        // Header as the Python library writes it (sorted keys, no spaces), scalars included.
        let v = raw(
            r#"{"__metadata__":{"format":"pt"},"s":{"dtype":"BF16","shape":[],"data_offsets":[4,6]},"w":{"dtype":"I16","shape":[2],"data_offsets":[0,4]}}"#,
            &[1, 0, 2, 0, 0x80, 0x3f],
        );
        let st = SafeTensors::parse(Bytes::Owned(v)).unwrap();
        let s = st.tensor("s").unwrap();
        assert_eq!(
            (s.dtype, s.shape.len(), s.data),
            (SafeDtype::BF16, 0, &[0x80u8, 0x3f][..])
        );
        assert_eq!(st.tensor("w").unwrap().data, [1, 0, 2, 0]);
    }

    #[test]
    fn empty_file_of_tensors() {
        let v = serialize(&[], &[]).unwrap();
        assert_eq!(&v[8..10], b"{}");
        assert!(SafeTensors::parse(Bytes::Owned(v))
            .unwrap()
            .names()
            .is_empty());
    }

    #[test]
    fn malformed_files_report_where() {
        assert_eq!(err_of(vec![1, 0, 0]).0, 0);
        assert_eq!(err_of(raw("{}", b"")[..9].to_vec()).0, 0); // header length past end
        let mut v = raw("{\"a\":1}", b"");
        v[10] = 0xff;
        assert_eq!(err_of(v).0, 10); // bad UTF-8
        assert_eq!(err_of(raw("{\"a\" 1}", b"")).0, 8 + 5); // bad JSON
        assert_eq!(err_of(raw("[]", b"")).0, 8);
        let t = |entry: &str, data: &[u8]| err_of(raw(&format!("{{\"t\":{entry}}}"), data));
        assert!(t("1", b"").1.contains("not an object"));
        assert!(t(
            r#"{"dtype":"F33","shape":[1],"data_offsets":[0,4]}"#,
            &[0; 4]
        )
        .1
        .contains("dtype"));
        assert!(t(r#"{"shape":[1],"data_offsets":[0,4]}"#, &[0; 4])
            .1
            .contains("dtype"));
        assert!(t(
            r#"{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}"#,
            &[0; 4]
        )
        .1
        .contains("shape"));
        assert!(t(
            r#"{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}"#,
            &[0; 4]
        )
        .1
        .contains("shape"));
        assert!(
            t(r#"{"dtype":"F32","shape":[1],"data_offsets":[0]}"#, &[0; 4])
                .1
                .contains("two")
        );
        assert!(t(
            r#"{"dtype":"F32","shape":[1],"data_offsets":[4,0]}"#,
            &[0; 4]
        )
        .1
        .contains("begin"));
        assert!(t(
            r#"{"dtype":"F32","shape":[1],"data_offsets":[0,8]}"#,
            &[0; 4]
        )
        .1
        .contains("begin"));
        assert!(t(
            r#"{"dtype":"F32","shape":[2],"data_offsets":[0,4]}"#,
            &[0; 4]
        )
        .1
        .contains("needs 8"));
        let huge = r#"{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,4]}"#;
        assert!(t(huge, &[0; 4]).1.contains("overflows"));
        // Coverage: a gap at the start, trailing bytes, an overlap.
        let h = format!(
            "{{\"t\":{}}}",
            r#"{"dtype":"U8","shape":[2],"data_offsets":[1,3]}"#
        );
        assert_eq!(err_of(raw(&h, &[0; 3])).0, 8 + h.len() as u64);
        let h = format!(
            "{{\"t\":{}}}",
            r#"{"dtype":"U8","shape":[2],"data_offsets":[0,2]}"#
        );
        assert_eq!(err_of(raw(&h, &[0; 3])).0, 8 + h.len() as u64 + 2);
        let h = r#"{"x":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"y":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}}"#;
        let (at, msg) = err_of(raw(h, &[0; 3]));
        assert_eq!(at, 8 + h.len() as u64 + 2);
        assert!(msg.contains("overlap"));
        // Duplicates and bad metadata.
        let h = r#"{"x":{"dtype":"U8","shape":[0],"data_offsets":[0,0]},"x":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}"#;
        assert!(err_of(raw(h, b"")).1.contains("duplicate"));
        assert!(err_of(raw(r#"{"__metadata__":{"k":1}}"#, b""))
            .1
            .contains("not a string"));
        assert!(err_of(raw(r#"{"__metadata__":[]}"#, b""))
            .1
            .contains("not an object"));
    }

    #[test]
    fn serialize_rejects_inconsistent_input() {
        assert!(serialize(&[("a", SafeDtype::F32, &[2], &[0; 4])], &[]).is_err());
        assert!(serialize(&[("__metadata__", SafeDtype::U8, &[1], &[0])], &[]).is_err());
        assert!(serialize(
            &[
                ("a", SafeDtype::U8, &[1], &[0]),
                ("a", SafeDtype::U8, &[1], &[0])
            ],
            &[]
        )
        .is_err());
    }

    #[cfg(feature = "std")]
    #[test]
    fn write_file_then_open() {
        let p = std::env::temp_dir().join(format!("llmcore-st-{}.safetensors", std::process::id()));
        write_file(&p, &[("x", SafeDtype::I32, &[1], &7i32.to_le_bytes())], &[]).unwrap();
        let st = SafeTensors::open(&p).unwrap();
        assert_eq!(st.tensor("x").unwrap().data, 7i32.to_le_bytes());
        std::fs::remove_file(&p).unwrap();
    }
}
