//! JSON parser on arbitrary UTF-8: never panics; accepted values write back to equal JSON.
#![no_main]
use libfuzzer_sys::fuzz_target;
use llmcore::io::json;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(v) = json::parse(text) {
            assert_eq!(json::parse(&v.to_string()).unwrap(), v);
        }
    }
});
