//! GGUF reader on arbitrary bytes: never panics; an accepted file's tensors are readable.
#![no_main]
use libfuzzer_sys::fuzz_target;
use llmcore::io::{Bytes, GgufFile};

fuzz_target!(|data: &[u8]| {
    if let Ok(f) = GgufFile::parse(Bytes::Owned(data.to_vec())) {
        for t in &f.tensors {
            assert_eq!(f.tensor_data(t).len() as u64, t.n_bytes().unwrap());
            let _ = f.weight(&t.name);
        }
    }
});
