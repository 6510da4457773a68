//! The Lynx recomputation planner (`llmcore::sched`): a training layout and memory budget in,
//! the schedule (which activations each pipeline stage drops and where it recomputes them, the
//! Megatron-LM flags, the predicted memory and iteration time) out, both as JSON text. The
//! figures are simulated by the core's cost model, not measured.

use crate::boundary::{arg_cstr, guard, write_text};
use crate::status::llmc_status;
use runtime::io::json;
use std::ffi::c_char;

/// Plans activation recomputation for one training layout with Lynx (see `docs/lynx.md`).
/// `request_json` is a NUL-terminated UTF-8 JSON object:
/// `{"model": "gpt-1.3b" | {"name", "layers", "hidden", "heads", "vocab"?},
/// "hardware": "a100" | "h100" | {"base"?, "name"?, <profile field>: number, ...},
/// "tp", "pp", "dp", "micro_batch", "global_batch", "seq", "sequence_parallel", "memory_gb",
/// "policy": "none" | "full" | "selective" | "checkmate" | "opt" | "heu" (default) | "all"}`
/// (`model`, `micro_batch` and `global_batch` are required). The plan goes as JSON text,
/// NUL-terminated, into `buf` (`capacity` bytes) and its length into `*n_out`; a NULL `buf`
/// with capacity 0 asks only for the length. Each call plans afresh (a size query costs as
/// much as the plan itself), so a caller may pass a generous buffer first.
///
/// Errors: `LLMC_ERR_FORMAT` for text that is not JSON (the message gives the byte offset);
/// `LLMC_ERR_INVALID_ARGUMENT` for a request whose message names the field at fault (unknown or
/// mistyped fields, unknown presets or policies, tensor parallelism that does not divide the
/// heads, pipeline stages that do not divide the layers) and for a budget the policy cannot
/// meet (the message gives the least memory any schedule needs, in GB).
#[no_mangle]
pub unsafe extern "C" fn llmc_schedule(
    request_json: *const c_char,
    buf: *mut c_char,
    capacity: usize,
    n_out: *mut usize,
) -> llmc_status {
    guard("llmc_schedule", || {
        // SAFETY: the caller passes a NUL-terminated request.
        let text = unsafe { arg_cstr(request_json, "request_json")? };
        let request = json::parse(text)?;
        let plan = runtime::sched::plan_json(&request)?.to_string();
        // SAFETY: caller's buffer of `capacity` bytes.
        unsafe { write_text(buf, capacity, plan.as_bytes(), n_out) }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::boundary::llmc_last_error_message;
    use std::ffi::{CStr, CString};

    fn last_error() -> String {
        let mut buf = vec![0 as c_char; 1024];
        unsafe { llmc_last_error_message(buf.as_mut_ptr(), buf.len()) };
        unsafe { CStr::from_ptr(buf.as_ptr()) }
            .to_string_lossy()
            .into_owned()
    }

    /// Calls `llmc_schedule` with a size query, then into a buffer of that size.
    fn schedule(request: &str) -> Result<String, (llmc_status, String)> {
        let req = CString::new(request).unwrap();
        let mut n = 0usize;
        let s = unsafe { llmc_schedule(req.as_ptr(), std::ptr::null_mut(), 0, &mut n) };
        if s != llmc_status::LLMC_OK {
            return Err((s, last_error()));
        }
        let mut buf = vec![0 as c_char; n + 1];
        let s = unsafe { llmc_schedule(req.as_ptr(), buf.as_mut_ptr(), buf.len(), &mut n) };
        assert_eq!(s, llmc_status::LLMC_OK, "{}", last_error());
        let text = unsafe { CStr::from_ptr(buf.as_ptr()) }.to_str().unwrap();
        assert_eq!(text.len(), n);
        Ok(text.to_string())
    }

    const BASE: &str = r#""model": "gpt-1.3b", "micro_batch": 1, "global_batch": 8"#;

    #[test]
    fn plans_the_same_json_as_the_core() {
        let request = format!(r#"{{{BASE}, "tp": 2, "pp": 2, "policy": "selective"}}"#);
        let text = schedule(&request).unwrap();
        let want = runtime::sched::plan_json(&json::parse(&request).unwrap()).unwrap();
        assert_eq!(json::parse(&text).unwrap(), want);
        assert_eq!(
            want.get("policy").and_then(json::Json::as_str),
            Some("selective")
        );
    }

    #[test]
    fn bad_requests_name_the_field_or_the_minimum() {
        let cases = [
            (
                r#"{"model": "gpt-1.3b",#"#.to_string(),
                llmc_status::LLMC_ERR_FORMAT,
                "malformed JSON at byte offset 21",
            ),
            (
                format!(r#"{{{BASE}, "tp": 3}}"#),
                llmc_status::LLMC_ERR_INVALID_ARGUMENT,
                "does not divide the 16 attention heads",
            ),
            (
                format!(r#"{{{BASE}, "policy": "fastest"}}"#),
                llmc_status::LLMC_ERR_INVALID_ARGUMENT,
                "unknown policy 'fastest'",
            ),
            (
                format!(r#"{{{BASE}, "memory_gb": 1, "policy": "opt"}}"#),
                llmc_status::LLMC_ERR_INVALID_ARGUMENT,
                "the leanest schedule needs",
            ),
        ];
        for (request, status, needle) in cases {
            let (s, message) = schedule(&request).unwrap_err();
            assert_eq!(s, status, "{request}: {message}");
            assert!(
                message.starts_with("llmc_schedule: ") && message.contains(needle),
                "{request}: {message}"
            );
        }
    }

    #[test]
    fn pointers_are_checked_and_small_buffers_untouched() {
        let mut n = 7usize;
        let s = unsafe { llmc_schedule(std::ptr::null(), std::ptr::null_mut(), 0, &mut n) };
        assert_eq!(s, llmc_status::LLMC_ERR_NULL_ARGUMENT);
        assert!(last_error().contains("'request_json' is NULL"));
        let req = CString::new(format!("{{{BASE}}}")).unwrap();
        let s =
            unsafe { llmc_schedule(req.as_ptr(), std::ptr::null_mut(), 0, std::ptr::null_mut()) };
        assert_eq!(s, llmc_status::LLMC_ERR_NULL_ARGUMENT);
        assert!(last_error().contains("'n_out' is NULL"));
        let mut small = [5 as c_char; 16];
        let s = unsafe { llmc_schedule(req.as_ptr(), small.as_mut_ptr(), small.len(), &mut n) };
        assert_eq!(s, llmc_status::LLMC_ERR_BUFFER_TOO_SMALL);
        assert!(last_error().contains("'buf' holds 16"));
        assert_eq!((n, small), (7, [5; 16]), "nothing written on failure");
    }
}
