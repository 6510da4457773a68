//! Shared by the C ABI's integration tests: the thread's last error message, and the check
//! that a call failed with the expected status and a message naming its function.
#![allow(dead_code)] // each test binary uses its own subset

use llmcore::boundary::llmc_last_error_message;
use llmcore::status::llmc_status;

/// The calling thread's last error message.
pub fn last_error() -> String {
    let mut buf = vec![0u8; 4096];
    let n = unsafe { llmc_last_error_message(buf.as_mut_ptr().cast(), buf.len()) };
    buf.truncate(n.min(buf.len() - 1));
    String::from_utf8(buf).unwrap()
}

/// `status` must be `want`, and the message must start with the function and contain `needle`.
#[track_caller]
pub fn expect(status: llmc_status, want: llmc_status, function: &str, needle: &str) {
    let e = last_error();
    assert_eq!(status, want, "{e}");
    assert!(
        e.starts_with(&format!("{function}: ")) && e.contains(needle),
        "message {e:?} should name {function} and contain {needle:?}"
    );
}
