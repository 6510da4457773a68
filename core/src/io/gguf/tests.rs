use super::*;
use alloc::string::ToString;

/// A small valid file. Layout (byte offsets):
/// ```text
///   0 magic | 4 version | 8 tensor_count=2 | 16 kv_count=2
///  24 kv "general.architecture": key 24..52, type 52..56, value 56..69
///  69 kv "n": key 69..78, type 78..82, value 82..86
///  86 tensor "a": name 86..95, n_dims 95..99, dims 99..115, type 115..119, offset 119..127
/// 127 tensor "b": name 127..136, n_dims 136..140, dims 140..148, type 148..152, offset 152..160
/// 160 data: a at 160..228 (padded to 256), b at 256..272 (padded to 288)
/// ```
fn sample() -> Vec<u8> {
    let a: Vec<u8> = (0..68u8).collect();
    let b: Vec<u8> = [1.0f32, 2.0, 3.0, 4.0]
        .iter()
        .flat_map(|x| x.to_le_bytes())
        .collect();
    write_gguf(
        &[
            (
                "general.architecture".to_string(),
                Value::String("llama".into()),
            ),
            ("n".to_string(), Value::U32(7)),
        ],
        &[
            ("a".to_string(), vec![32, 2], GgmlType::Q8_0, &a),
            ("b".to_string(), vec![4], GgmlType::F32, &b),
        ],
    )
    .unwrap()
}

fn parse_vec(v: Vec<u8>) -> Result<GgufFile> {
    GgufFile::parse(Bytes::Owned(v))
}

/// The offset of the GGUF format error `v` gives; panics on anything else.
fn err_offset(v: Vec<u8>) -> u64 {
    match parse_vec(v) {
        Err(Error::Format {
            format: "GGUF",
            offset,
            ..
        }) => offset,
        other => panic!("expected a GGUF format error, got {other:?}"),
    }
}

fn patch(mut v: Vec<u8>, at: usize, bytes: &[u8]) -> Vec<u8> {
    v[at..at + bytes.len()].copy_from_slice(bytes);
    v
}

#[test]
fn sample_layout_is_as_documented() {
    let v = sample();
    assert_eq!(v.len(), 288);
    assert_eq!(&v[0..4], b"GGUF");
    assert_eq!(&v[44..52], b"itecture");
    assert_eq!(v[94], b'a');
    assert_eq!(v[135], b'b');
    assert_eq!(u64::from_le_bytes(v[152..160].try_into().unwrap()), 96);
}

#[test]
fn hand_built_file_round_trips() {
    let f = parse_vec(sample()).unwrap();
    assert_eq!(f.version, 3);
    assert_eq!(f.get_str("general.architecture").unwrap(), "llama");
    assert_eq!(f.get_u32("n").unwrap(), 7);
    assert_eq!(f.data_offset(), 160);
    assert_eq!(f.alignment(), 32);
    assert_eq!(f.tensors.len(), 2);
    let a = f.tensor_info("a").unwrap();
    assert_eq!(
        (a.dims.as_slice(), a.ty, a.offset),
        (&[32u64, 2][..], GgmlType::Q8_0, 0)
    );
    assert_eq!(f.tensor_data(a), (0..68u8).collect::<Vec<_>>().as_slice());
    let w = f.weight("a").unwrap();
    assert_eq!((w.rows, w.cols, w.row(1)[0]), (2, 32, 34));
    let b = f.weight("b").unwrap();
    assert_eq!((b.rows, b.cols), (1, 4));
    assert_eq!(&b.data[4..8], &2.0f32.to_le_bytes());
    assert_eq!(f.file_bytes().len(), 288);
    assert!(matches!(f.weight("c"), Err(Error::MissingTensor(n)) if n == "c"));
    // Writing what was read gives the same bytes back.
    let tensors: Vec<_> = f
        .tensors
        .iter()
        .map(|t| (t.name.clone(), t.dims.clone(), t.ty, f.tensor_data(t)))
        .collect();
    assert_eq!(write_gguf(&f.metadata, &tensors).unwrap(), sample());
}

#[test]
fn every_value_type_round_trips_with_typed_getters() {
    let md = vec![
        ("u8".to_string(), Value::U8(200)),
        ("i8".to_string(), Value::I8(-5)),
        ("u16".to_string(), Value::U16(60000)),
        ("i16".to_string(), Value::I16(-300)),
        ("u32".to_string(), Value::U32(4_000_000_000)),
        ("i32".to_string(), Value::I32(-70000)),
        ("f32".to_string(), Value::F32(0.5)),
        ("bool".to_string(), Value::Bool(true)),
        ("s".to_string(), Value::String("h\u{e9}".into())),
        ("u64".to_string(), Value::U64(1 << 40)),
        ("i64".to_string(), Value::I64(-1)),
        ("f64".to_string(), Value::F64(1e-3)),
        (
            "toks".to_string(),
            Value::Array(vec![Value::String("a".into()), Value::String("".into())]),
        ),
        (
            "scores".to_string(),
            Value::Array(vec![Value::F32(-1.5), Value::F32(2.0)]),
        ),
        (
            "types".to_string(),
            Value::Array(vec![Value::I32(1), Value::I32(-3)]),
        ),
        ("empty".to_string(), Value::Array(vec![])),
        (
            "nested".to_string(),
            Value::Array(vec![
                Value::Array(vec![Value::U8(1)]),
                Value::Array(vec![Value::Bool(false)]),
            ]),
        ),
        ("general.alignment".to_string(), Value::U32(64)),
    ];
    let bytes = write_gguf(
        &md,
        &[("t".to_string(), vec![3], GgmlType::F32, &[0u8; 12][..])],
    )
    .unwrap();
    let f = parse_vec(bytes).unwrap();
    assert_eq!(f.metadata, md);
    assert_eq!(f.alignment(), 64);
    assert_eq!(f.data_offset() % 64, 0);
    assert_eq!(f.get_u32("u8").unwrap(), 200);
    assert_eq!(f.get_u32("u16").unwrap(), 60000);
    assert_eq!(f.get_u32("u32").unwrap(), 4_000_000_000);
    assert_eq!(f.get_u64("u64").unwrap(), 1 << 40);
    assert!(matches!(f.get_u32("u64"), Err(Error::MissingMetadata(k)) if k == "u64"));
    assert!(f.get_u32("i8").is_err());
    assert!(f.get_u32("f32").is_err());
    assert_eq!(f.get_f32("f32").unwrap(), 0.5);
    assert_eq!(f.get_f32("f64").unwrap(), 1e-3f64 as f32);
    assert!(f.get_f32("u8").is_err());
    assert!(f.get_bool("bool").unwrap());
    assert_eq!(f.get_str("s").unwrap(), "h\u{e9}");
    assert!(f.get_str("u8").is_err());
    assert!(f.get_str("absent").is_err());
    assert_eq!(f.get_str_array("toks").unwrap(), ["a", ""]);
    assert!(f.get_str_array("scores").is_err());
    assert_eq!(f.get_f32_array("scores").unwrap(), [-1.5, 2.0]);
    assert_eq!(f.get_i32_array("types").unwrap(), [1, -3]);
    assert!(f.get_i32_array("toks").is_err());
    assert!(f.get_str_array("empty").unwrap().is_empty());
}

#[test]
fn writer_rejects_inconsistent_input() {
    let t = |dims: Vec<u64>, ty, n: usize| {
        write_gguf(&[], &[("t".into(), dims, ty, &vec![0u8; n][..])])
    };
    assert!(t(vec![4], GgmlType::F32, 16).is_ok());
    assert!(matches!(
        t(vec![4], GgmlType::F32, 15),
        Err(Error::InvalidArgument(_))
    ));
    assert!(t(vec![16], GgmlType::Q8_0, 34).is_err());
    assert!(t(vec![], GgmlType::F32, 4).is_err());
    assert!(t(vec![1; 5], GgmlType::F32, 4).is_err());
    let mixed = [(
        "m".to_string(),
        Value::Array(vec![Value::U8(1), Value::I8(1)]),
    )];
    assert!(write_gguf(&mixed, &[]).is_err());
    let dup = [
        ("k".to_string(), Value::U8(1)),
        ("k".to_string(), Value::U8(2)),
    ];
    assert!(write_gguf(&dup, &[]).is_err());
    let align = [("general.alignment".to_string(), Value::U32(24))];
    assert!(write_gguf(&align, &[]).is_err());
}

/// A file with one metadata pair: a 40-byte key and a 100-byte string value, no tensors.
/// Layout: key length 24..32, key 32..72, type 72..76, value length 76..84, value 84..184.
fn long_kv() -> Vec<u8> {
    let md = [("k".repeat(40), Value::String("v".repeat(100)))];
    let v = write_gguf(&md, &[]).unwrap();
    assert_eq!(v.len(), 192); // 184 padded to 32
    v
}

#[test]
fn truncation_in_each_section_reports_where() {
    let v = sample();
    let cut = |n: usize| err_offset(v[..n].to_vec());
    assert_eq!(cut(0), 0); // magic
    assert_eq!(cut(2), 0);
    assert_eq!(cut(6), 4); // version
    assert_eq!(cut(12), 8); // tensor count
    assert_eq!(cut(20), 16); // metadata count
                             // Counts are checked against the bytes left (2 tensors and 2 pairs need at least 90).
    assert_eq!(cut(24), 8);
    assert_eq!(cut(113), 8);
    assert_eq!(cut(117), 115); // tensor type
    assert_eq!(cut(125), 119); // tensor offset
    assert_eq!(cut(140), 140); // second tensor's dims
    assert_eq!(cut(158), 152); // last tensor offset
    assert_eq!(cut(160), 119); // data section empty: tensor a's bytes are outside
    assert_eq!(cut(250), 152); // a fits, b does not
    assert!(parse_vec(v[..272].to_vec()).is_ok()); // b ends exactly at 272; padding is optional

    let kv = long_kv();
    let cut = |n: usize| err_offset(kv[..n].to_vec());
    assert_eq!(cut(50), 24); // key length exceeds what is left
    assert_eq!(cut(74), 72); // value type
    assert_eq!(cut(80), 76); // string length field
    assert_eq!(cut(100), 76); // string length exceeds what is left
    assert!(parse_vec(kv[..184].to_vec()).is_ok());
}

#[test]
fn every_prefix_fails_cleanly_at_or_before_its_end() {
    for bytes in [sample(), long_kv()] {
        let ok_from = if bytes.len() == 288 { 272 } else { 184 };
        for n in 0..bytes.len() {
            match parse_vec(bytes[..n].to_vec()) {
                Ok(_) => assert!(n >= ok_from, "prefix {n} parsed"),
                Err(Error::Format { offset, .. }) => assert!(offset <= n as u64, "{n}: {offset}"),
                Err(e) => panic!("prefix {n}: {e:?}"),
            }
        }
    }
}

#[test]
fn bad_magic_and_versions() {
    assert_eq!(err_offset(patch(sample(), 0, b"GGUG")), 0);
    assert_eq!(err_offset(patch(sample(), 4, &0u32.to_le_bytes())), 4);
    assert_eq!(err_offset(patch(sample(), 4, &4u32.to_le_bytes())), 4);
    // A big-endian v3 file reads as version 0x03000000.
    assert_eq!(err_offset(patch(sample(), 4, &3u32.to_be_bytes())), 4);
    assert!(matches!(
        parse_vec(patch(sample(), 4, &1u32.to_le_bytes())),
        Err(Error::Unsupported(_))
    ));
    let v2 = parse_vec(patch(sample(), 4, &2u32.to_le_bytes())).unwrap();
    assert_eq!(v2.version, 2);
}

#[test]
fn huge_counts_fail_without_allocating() {
    assert_eq!(err_offset(patch(sample(), 8, &u64::MAX.to_le_bytes())), 8);
    assert_eq!(
        err_offset(patch(sample(), 8, &(1u64 << 60).to_le_bytes())),
        8
    );
    assert_eq!(
        err_offset(patch(sample(), 16, &(u64::MAX / 13).to_le_bytes())),
        8
    );
    // String lengths.
    assert_eq!(err_offset(patch(sample(), 24, &u64::MAX.to_le_bytes())), 24);
    assert_eq!(
        err_offset(patch(sample(), 56, &(1u64 << 50).to_le_bytes())),
        56
    );
    assert_eq!(err_offset(patch(sample(), 86, &300u64.to_le_bytes())), 86);
    // An array of u64 claiming 2^61 elements: 2^64 bytes overflows; and one claiming 100.
    let md = [(
        "a".to_string(),
        Value::Array(vec![Value::U64(1), Value::U64(2)]),
    )];
    let v = write_gguf(&md, &[]).unwrap();
    // key 24..33, type 33..37, elem type 37..41, count 41..49, items 49..65
    assert_eq!(
        err_offset(patch(v.clone(), 41, &(1u64 << 61).to_le_bytes())),
        41
    );
    assert_eq!(err_offset(patch(v.clone(), 41, &100u64.to_le_bytes())), 41);
    assert_eq!(err_offset(patch(v, 41, &u64::MAX.to_le_bytes())), 41);
}

#[test]
fn unknown_type_ids() {
    assert_eq!(err_offset(patch(sample(), 52, &13u32.to_le_bytes())), 52); // value type
    assert_eq!(err_offset(patch(sample(), 115, &4u32.to_le_bytes())), 115); // removed Q4_2
    assert_eq!(err_offset(patch(sample(), 148, &999u32.to_le_bytes())), 148);
    let md = [("a".to_string(), Value::Array(vec![Value::U8(1)]))];
    let v = write_gguf(&md, &[]).unwrap();
    assert_eq!(err_offset(patch(v, 37, &99u32.to_le_bytes())), 37); // array element type
    let md = [("b".to_string(), Value::Bool(true))];
    let v = write_gguf(&md, &[]).unwrap();
    assert_eq!(err_offset(patch(v, 37, &[2])), 37);
}

#[test]
fn bad_utf8_in_strings() {
    let mut v = sample();
    v[40] = 0xff; // inside the key "general.architecture" (32..52)
    assert_eq!(err_offset(v), 40);
    let mut v = sample();
    v[66] = 0xc3; // "llama" at 64..69: a lead byte followed by ASCII
    assert_eq!(err_offset(v), 66);
    let mut v = sample();
    v[94] = 0x80; // tensor name "a"
    assert_eq!(err_offset(v), 94);
}

#[test]
fn tensor_dims_are_checked() {
    assert_eq!(err_offset(patch(sample(), 95, &0u32.to_le_bytes())), 95);
    assert_eq!(err_offset(patch(sample(), 95, &5u32.to_le_bytes())), 95);
    // dims [2^40, 2^40]: the element count overflows u64.
    let v = patch(
        patch(sample(), 99, &(1u64 << 40).to_le_bytes()),
        107,
        &(1u64 << 40).to_le_bytes(),
    );
    assert_eq!(err_offset(v), 95);
    // dims [8, 2] of Q8_0: not a whole number of 32-element blocks.
    assert_eq!(err_offset(patch(sample(), 99, &8u64.to_le_bytes())), 95);
    // dims [48, 2] of Q8_0: 96 elements are 3 whole blocks, but a row of 48 is not; the error
    // names the tensor at parse time rather than surfacing when a row is read.
    match parse_vec(patch(
        patch(sample(), 99, &48u64.to_le_bytes()),
        107,
        &2u64.to_le_bytes(),
    )) {
        Err(Error::Format {
            offset: 95,
            message,
            ..
        }) => assert!(
            message.contains("tensor 'a' has rows of 48 elements")
                && message.contains("q8_0 blocks of 32"),
            "{message}"
        ),
        other => panic!("expected a format error for tensor 'a', got {other:?}"),
    }
    // dims [2^62] of F32: the element count fits but the byte size overflows.
    assert_eq!(
        err_offset(patch(sample(), 140, &(1u64 << 62).to_le_bytes())),
        136
    );
    // A huge but representable size lies outside the file.
    let v = patch(sample(), 140, &(1u64 << 40).to_le_bytes());
    assert_eq!(err_offset(v), 152);
}

#[test]
fn offsets_must_be_aligned_and_inside_the_data() {
    assert_eq!(err_offset(patch(sample(), 119, &8u64.to_le_bytes())), 119);
    assert_eq!(err_offset(patch(sample(), 152, &128u64.to_le_bytes())), 152);
    assert_eq!(
        err_offset(patch(sample(), 152, &(u64::MAX - 31).to_le_bytes())),
        152
    );
    // Overlapping tensors are allowed (both in range): b at 0.
    assert!(parse_vec(patch(sample(), 152, &0u64.to_le_bytes())).is_ok());
}

#[test]
fn alignment_must_be_a_u32_power_of_two() {
    let v = write_gguf(&[("general.alignment".to_string(), Value::U32(16))], &[]).unwrap();
    // key 24..49, type 49..53, value 53..57
    assert_eq!(parse_vec(v.clone()).unwrap().alignment(), 16);
    assert_eq!(err_offset(patch(v.clone(), 53, &24u32.to_le_bytes())), 53);
    assert_eq!(err_offset(patch(v.clone(), 53, &0u32.to_le_bytes())), 53);
    assert_eq!(err_offset(patch(v, 49, &5u32.to_le_bytes())), 53); // i32, not u32
}

#[test]
fn duplicates_are_rejected() {
    // Rename tensor "b" to "a".
    assert_eq!(err_offset(patch(sample(), 135, b"a")), 127);
    // Rename key "n" to a duplicate needs equal lengths: build it by hand.
    let mut v = write_gguf(
        &[("x".into(), Value::U8(1)), ("y".into(), Value::U8(2))],
        &[],
    )
    .unwrap();
    // first pair 24..38 ("x" at 32), second 38..52 ("y" at 46)
    v[46] = b'x';
    assert_eq!(err_offset(v), 38);
}

#[test]
fn nesting_depth_is_bounded() {
    let mut deep = Value::U8(0);
    for _ in 0..MAX_ARRAY_DEPTH {
        deep = Value::Array(vec![deep]);
    }
    let ok = write_gguf(&[("d".into(), deep.clone())], &[]).unwrap();
    assert_eq!(parse_vec(ok).unwrap().get("d"), Some(&deep));
    assert!(write_gguf(&[("d".into(), Value::Array(vec![deep]))], &[]).is_err());
    // Hand-built: 9 nested array headers, each {type 9, count 1}, then a u8.
    let mut v = Vec::new();
    v.extend_from_slice(b"GGUF");
    v.extend_from_slice(&3u32.to_le_bytes());
    v.extend_from_slice(&0u64.to_le_bytes());
    v.extend_from_slice(&1u64.to_le_bytes());
    v.extend_from_slice(&1u64.to_le_bytes());
    v.push(b'd');
    v.extend_from_slice(&9u32.to_le_bytes()); // value type: array, value at 37
    for _ in 0..=MAX_ARRAY_DEPTH {
        v.extend_from_slice(&9u32.to_le_bytes());
        v.extend_from_slice(&1u64.to_le_bytes());
    }
    v.push(0);
    // The 9th array starts after 8 headers of 12 bytes.
    assert_eq!(err_offset(v), 37 + 12 * MAX_ARRAY_DEPTH as u64);
}

#[test]
fn data_section_past_end_of_file() {
    // A tensor of 0 elements (size 0) in a file cut right after the tensor infos, off alignment.
    let v = write_gguf(&[], &[("z".into(), vec![0], GgmlType::F32, &[][..])]).unwrap();
    // header 24, name 24..33, n_dims 33..37, dim 37..45, type 45..49, offset 49..57; data at 64
    assert!(parse_vec(v.clone()).is_ok());
    assert_eq!(err_offset(v[..57].to_vec()), 57);
}

#[test]
fn tensor_data_of_a_foreign_info_is_empty_not_a_panic() {
    let f = parse_vec(sample()).unwrap();
    let alien = TensorInfo {
        name: "x".into(),
        dims: vec![1 << 40],
        ty: GgmlType::F32,
        offset: 0,
    };
    assert!(f.tensor_data(&alien).is_empty());
    let overflow = TensorInfo {
        name: "x".into(),
        dims: vec![4],
        ty: GgmlType::F32,
        offset: u64::MAX,
    };
    assert!(f.tensor_data(&overflow).is_empty());
}

#[test]
fn weight_rejects_true_3d_tensors() {
    let v = write_gguf(
        &[],
        &[("t".into(), vec![2, 2, 2], GgmlType::F32, &[0u8; 32][..])],
    )
    .unwrap();
    let f = parse_vec(v).unwrap();
    assert!(matches!(f.weight("t"), Err(Error::Shape { .. })));
    let v = write_gguf(
        &[],
        &[("t".into(), vec![2, 2, 1, 1], GgmlType::F32, &[0u8; 16][..])],
    )
    .unwrap();
    let w = parse_vec(v)
        .unwrap()
        .weight("t")
        .map(|w| (w.rows, w.cols))
        .unwrap();
    assert_eq!(w, (2, 2));
}

#[test]
fn writer_refuses_rows_that_are_not_whole_blocks() {
    let bytes = [0u8; 3 * 34];
    let e = write_gguf(&[], &[("w".into(), vec![48, 2], GgmlType::Q8_0, &bytes)]).unwrap_err();
    assert!(
        matches!(e, Error::InvalidArgument(ref m) if m.contains("'w'")),
        "{e:?}"
    );
}

#[test]
fn metadata_memory_is_bounded_by_the_file_size() {
    // One u8 array: 1 encoded byte per element, 32 bytes decoded. Under the slack it loads...
    let small = vec![Value::U8(7); 1000];
    let v = write_gguf(&[("a".to_string(), Value::Array(small))], &[]).unwrap();
    assert!(parse_vec(v).is_ok());
    // ...but 2^17 elements would decode to 4 MiB, more than 8x the ~131 kB file + 1 MiB.
    #[cfg(target_pointer_width = "64")]
    assert_eq!(
        core::mem::size_of::<Value>(),
        32,
        "the size METADATA_MEMORY_FACTOR's doc states"
    );
    let big = vec![Value::U8(7); 1 << 17];
    let v = write_gguf(&[("a".to_string(), Value::Array(big))], &[]).unwrap();
    let limit = v.len() as u64 * METADATA_MEMORY_FACTOR + METADATA_MEMORY_SLACK;
    assert!((1u64 << 17) * core::mem::size_of::<Value>() as u64 > limit);
    match parse_vec(v) {
        Err(Error::Format { message, .. }) => {
            assert!(
                message.contains("metadata would decode to more than"),
                "{message}"
            )
        }
        other => panic!("expected a format error, got {other:?}"),
    }
}

#[test]
fn value_offsets_point_at_the_values() {
    let f = parse_vec(sample()).unwrap();
    assert_eq!(f.value_offset("general.architecture"), Some(56));
    assert_eq!(f.value_offset("n"), Some(82));
    assert_eq!(f.value_offset("absent"), None);
    assert_eq!(f.tensor_index("b"), Some(1));
}
