//! Robustness properties of the three parsers (GGUF, safetensors, JSON): on random bytes, on
//! every truncation of a valid file and on random mutations of one, they return `Ok` or `Err`
//! and never panic; and whatever they accept behaves (tensor slices have the sizes their
//! headers promise, and accepted input writes back and reads again to the same value).
//!
//! Each parser gets 100,000 proptest cases: 30,000 random inputs, 20,000 random truncations and
//! 50,000 mutated files, plus an exhaustive pass over every prefix of every seed file.

use llmcore::io::gguf::{write_gguf, GgufFile, Value};
use llmcore::io::json::{self, Json};
use llmcore::io::safetensors::{serialize, SafeDtype, SafeTensors};
use llmcore::io::Bytes;
use llmcore::tensor::GgmlType;
use llmcore::Error;
use proptest::prelude::*;
use proptest::test_runner::Config;

const RANDOM_CASES: u32 = 30_000;
const TRUNCATION_CASES: u32 = 20_000;
const MUTATION_CASES: u32 = 50_000;

fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

// ---------------------------------------------------------------- seeds

/// Seeds written without our writers by `fuzz/seeds/make_seeds.py`: a GGUF from gguf-py's
/// `GGUFWriter` and a safetensors file assembled by hand from the format description.
const GGUF_FROM_GGUF_PY: &[u8] = include_bytes!("../fuzz/seeds/gguf/small.gguf");
const SAFETENSORS_BY_HAND: &[u8] = include_bytes!("../fuzz/seeds/safetensors/small.safetensors");

fn gguf_seeds() -> Vec<Vec<u8>> {
    let f32s: Vec<u8> = (0..8).flat_map(|i| (i as f32).to_le_bytes()).collect();
    let q8: Vec<u8> = (0..68u8).collect();
    let q4k: Vec<u8> = (0..144u8).collect();
    let a = write_gguf(
        &[
            ("general.architecture".into(), Value::String("llama".into())),
            ("llama.block_count".into(), Value::U32(2)),
            ("f".into(), Value::F32(0.5)),
            ("b".into(), Value::Bool(true)),
            (
                "toks".into(),
                Value::Array(vec![Value::String("a".into()), Value::String("bc".into())]),
            ),
            (
                "nest".into(),
                Value::Array(vec![Value::Array(vec![Value::I8(-1)])]),
            ),
        ],
        &[
            ("w".into(), vec![32, 2], GgmlType::Q8_0, &q8),
            ("n".into(), vec![8], GgmlType::F32, &f32s),
            ("k".into(), vec![256], GgmlType::Q4K, &q4k),
        ],
    )
    .unwrap();
    let b = write_gguf(
        &[
            ("general.alignment".into(), Value::U32(8)),
            ("x".into(), Value::U64(7)),
            ("d".into(), Value::F64(-2.0)),
        ],
        &[("t".into(), vec![2, 2, 1], GgmlType::F32, &f32s[..16])],
    )
    .unwrap();
    vec![a, b, GGUF_FROM_GGUF_PY.to_vec()]
}

fn safetensors_seeds() -> Vec<Vec<u8>> {
    let a = serialize(
        &[
            ("w", SafeDtype::F32, &[2, 3], &[0u8; 24]),
            ("b", SafeDtype::BF16, &[3], &[1u8; 6]),
            ("s", SafeDtype::I64, &[], &[2u8; 8]),
        ],
        &[("format", "pt")],
    )
    .unwrap();
    let b = serialize(&[("x", SafeDtype::U8, &[4], &[9u8; 4])], &[]).unwrap();
    vec![a, b, SAFETENSORS_BY_HAND.to_vec()]
}

fn json_seeds() -> Vec<Vec<u8>> {
    [
        r#"{"a": [1, -2.5e3, 0, true, false, null], "s": "x\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00", "o": {"k": {}}}"#,
        r#"[[[1.0E+2]], "h\u00e9llo", {"": []}, -0.0, 12345678901234567890]"#,
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect()
}

// ---------------------------------------------------------------- checks

/// Parses `bytes` as GGUF; on success, reads every tensor and writes the file back.
fn check_gguf(bytes: &[u8]) {
    let Ok(f) = GgufFile::parse(Bytes::Owned(bytes.to_vec())) else {
        return;
    };
    for t in &f.tensors {
        assert_eq!(f.tensor_data(t).len() as u64, t.n_bytes().unwrap());
        let _ = f.weight(&t.name);
    }
    for (k, _) in &f.metadata {
        let _ = (
            f.get_str(k),
            f.get_u32(k),
            f.get_f32(k),
            f.get_str_array(k),
            f.get_i32_array(k),
        );
    }
    let tensors: Vec<_> = f
        .tensors
        .iter()
        .map(|t| (t.name.clone(), t.dims.clone(), t.ty, f.tensor_data(t)))
        .collect();
    let again = GgufFile::parse(Bytes::Owned(write_gguf(&f.metadata, &tensors).unwrap())).unwrap();
    // Debug text compares NaN metadata values as equal.
    assert_eq!(format!("{:?}", again.metadata), format!("{:?}", f.metadata));
    for (t, u) in f.tensors.iter().zip(&again.tensors) {
        assert_eq!((&t.name, &t.dims, t.ty), (&u.name, &u.dims, u.ty));
        assert_eq!(f.tensor_data(t), again.tensor_data(u));
    }
}

/// Parses `bytes` as safetensors; on success, reads every tensor.
fn check_safetensors(bytes: &[u8]) {
    let Ok(st) = SafeTensors::parse(Bytes::Owned(bytes.to_vec())) else {
        return;
    };
    for name in st.names() {
        let v = st.tensor(name).unwrap();
        assert_eq!(
            v.data.len(),
            v.shape.iter().product::<usize>() * v.dtype.size()
        );
    }
}

/// Parses `bytes` (lossily made UTF-8) as JSON; on success, the written text reads back equal.
fn check_json(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    match json::parse(&text) {
        Ok(v) => assert_eq!(json::parse(&v.to_string()).unwrap(), v),
        Err(Error::Format {
            format: "JSON",
            offset,
            ..
        }) => assert!(offset <= text.len() as u64),
        Err(e) => panic!("unexpected error kind {e:?}"),
    }
}

// ---------------------------------------------------------------- strategies

/// Random bytes, half of them behind the first `prefix_len` bytes of a seed (so that the
/// parser gets past its magic/length checks).
fn random_input(seeds: Vec<Vec<u8>>, prefix_len: usize) -> impl Strategy<Value = Vec<u8>> {
    (
        any::<bool>(),
        0..seeds.len(),
        prop::collection::vec(any::<u8>(), 0..400),
    )
        .prop_map(move |(prefixed, i, tail)| {
            let mut v = if prefixed {
                seeds[i][..prefix_len].to_vec()
            } else {
                Vec::new()
            };
            v.extend_from_slice(&tail);
            v
        })
}

fn truncated(seeds: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    (0..seeds.len(), any::<prop::sample::Index>())
        .prop_map(move |(i, cut)| seeds[i][..cut.index(seeds[i].len() + 1)].to_vec())
}

/// A seed with 1 to 8 random edits: overwrite a byte, flip a bit, delete or insert a byte.
fn mutated(seeds: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    let edit = (0u8..4, any::<prop::sample::Index>(), any::<u8>());
    (0..seeds.len(), prop::collection::vec(edit, 1..=8)).prop_map(move |(i, edits)| {
        let mut v = seeds[i].clone();
        for (kind, at, byte) in edits {
            let n = v.len();
            match kind {
                0 if n > 0 => v[at.index(n)] = byte,
                1 if n > 0 => v[at.index(n)] ^= 1 << (byte % 8),
                2 if n > 0 => {
                    v.remove(at.index(n));
                }
                _ => v.insert(at.index(n + 1), byte),
            }
        }
        v
    })
}

// ---------------------------------------------------------------- properties

proptest! {
    #![proptest_config(config(RANDOM_CASES))]
    #[test]
    fn gguf_random_bytes(v in random_input(gguf_seeds(), 24)) { check_gguf(&v) }
    #[test]
    fn safetensors_random_bytes(v in random_input(safetensors_seeds(), 9)) { check_safetensors(&v) }
    #[test]
    fn json_random_bytes(v in random_input(json_seeds(), 1)) { check_json(&v) }
    #[test]
    fn json_random_tokens(s in r#"[\[\]{}":, \\/0-9eE.+\-a-fnrtul]{0,64}"#) { check_json(s.as_bytes()) }
}

proptest! {
    #![proptest_config(config(TRUNCATION_CASES))]
    #[test]
    fn gguf_truncated(v in truncated(gguf_seeds())) { check_gguf(&v) }
    #[test]
    fn safetensors_truncated(v in truncated(safetensors_seeds())) { check_safetensors(&v) }
    #[test]
    fn json_truncated(v in truncated(json_seeds())) { check_json(&v) }
}

proptest! {
    #![proptest_config(config(MUTATION_CASES))]
    #[test]
    fn gguf_mutated(v in mutated(gguf_seeds())) { check_gguf(&v) }
    #[test]
    fn safetensors_mutated(v in mutated(safetensors_seeds())) { check_safetensors(&v) }
    #[test]
    fn json_mutated(v in mutated(json_seeds())) { check_json(&v) }
}

/// Every proper prefix of every seed is rejected with a format error located inside the
/// prefix (a GGUF file stays valid once its last tensor is complete; trailing padding is
/// optional, so those prefixes are allowed to parse).
#[test]
fn every_prefix_of_every_seed() {
    for seed in gguf_seeds() {
        let full = GgufFile::parse(Bytes::Owned(seed.clone())).unwrap();
        let last_end = full
            .tensors
            .iter()
            .map(|t| full.data_offset() + t.offset + t.n_bytes().unwrap())
            .max()
            .unwrap() as usize;
        for n in 0..seed.len() {
            match GgufFile::parse(Bytes::Owned(seed[..n].to_vec())) {
                Ok(_) => assert!(n >= last_end, "GGUF prefix {n} parsed"),
                Err(Error::Format {
                    format: "GGUF",
                    offset,
                    ..
                }) => assert!(offset <= n as u64),
                Err(e) => panic!("GGUF prefix {n}: {e:?}"),
            }
        }
    }
    for seed in safetensors_seeds() {
        assert!(SafeTensors::parse(Bytes::Owned(seed.clone())).is_ok());
        for n in 0..seed.len() {
            match SafeTensors::parse(Bytes::Owned(seed[..n].to_vec())) {
                Err(Error::Format {
                    format: "safetensors",
                    offset,
                    ..
                }) => {
                    assert!(offset <= n as u64)
                }
                other => panic!("safetensors prefix {n}: {other:?}"),
            }
        }
    }
    for seed in json_seeds() {
        let text = std::str::from_utf8(&seed).unwrap();
        assert!(json::parse(text).is_ok());
        for n in (0..text.len()).filter(|&n| text.is_char_boundary(n)) {
            // A prefix of the seeds that is itself a whole value would parse: the seeds are a
            // top-level object and array, so no proper prefix is complete.
            assert!(json::parse(&text[..n]).is_err(), "JSON prefix {n} parsed");
        }
    }
}

/// Files written by other tools read as their writers meant.
#[test]
fn seeds_from_other_writers_read_correctly() {
    let f = GgufFile::parse(Bytes::Owned(GGUF_FROM_GGUF_PY.to_vec())).unwrap();
    assert_eq!(f.get_str("general.architecture").unwrap(), "llama");
    assert_eq!(f.get_u32("llama.block_count").unwrap(), 2);
    assert_eq!(f.get_f32("f").unwrap(), 0.5);
    assert_eq!(f.get_str_array("toks").unwrap(), ["a", "bc"]);
    let n = f.weight("n").unwrap();
    assert_eq!((n.ty, n.rows, n.cols), (GgmlType::F32, 1, 8));
    assert_eq!(&n.data[28..32], &7.0f32.to_le_bytes());
    let m = f.weight("m").unwrap();
    assert_eq!((m.ty, m.rows, m.cols), (GgmlType::F16, 2, 4));
    assert_eq!(&m.data[..2], &[0x00, 0x3c]); // f16 1.0

    let st = SafeTensors::parse(Bytes::Owned(SAFETENSORS_BY_HAND.to_vec())).unwrap();
    assert_eq!(st.metadata(), [("format".to_string(), "pt".to_string())]);
    let b = st.tensor("b").unwrap();
    assert_eq!(
        (b.dtype, b.shape, b.data),
        (
            SafeDtype::BF16,
            &[3usize][..],
            &[24u8, 25, 26, 27, 28, 29][..]
        )
    );
    assert_eq!(st.tensor("w").unwrap().shape, [2, 3]);
}

/// A value built in code survives writing and reading (the writer's escaping).
#[test]
fn json_writer_output_is_strict_json() {
    let v = Json::object(vec![(
        "k\u{0}\u{1f}\"\\",
        Json::from(vec![1.5e-300, -0.0, 2e21]),
    )]);
    assert_eq!(json::parse(&v.to_string()).unwrap(), v);
}
