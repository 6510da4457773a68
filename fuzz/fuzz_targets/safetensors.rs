//! safetensors reader on arbitrary bytes: never panics; an accepted file's tensors are readable.
#![no_main]
use libfuzzer_sys::fuzz_target;
use llmcore::io::{Bytes, SafeTensors};

fuzz_target!(|data: &[u8]| {
    if let Ok(st) = SafeTensors::parse(Bytes::Owned(data.to_vec())) {
        for name in st.names() {
            let v = st.tensor(name).unwrap();
            assert_eq!(v.data.len(), v.shape.iter().product::<usize>() * v.dtype.size());
        }
    }
});
