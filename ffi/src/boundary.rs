//! The boundary every export goes through: the panic guard, the thread's last error message,
//! the logging callback, and the checked conversions of C arguments (pointers, lengths, text,
//! parameter structs) and outputs (caller buffers written only on success).

use crate::status::llmc_status;
use std::cell::RefCell;
use std::ffi::{c_char, c_void, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::RwLock;

/// Why a call failed: the status it returns and the message the thread keeps.
#[derive(Debug)]
pub(crate) struct Failure {
    pub status: llmc_status,
    pub message: String,
}

impl From<runtime::Error> for Failure {
    fn from(e: runtime::Error) -> Failure {
        Failure {
            status: llmc_status::from_error(&e),
            message: e.to_string(),
        }
    }
}

/// The result of an export's body.
pub(crate) type FfiResult<T = ()> = Result<T, Failure>;

/// An `LLMC_ERR_INVALID_ARGUMENT` failure.
pub(crate) fn invalid(message: impl Into<String>) -> Failure {
    Failure {
        status: llmc_status::LLMC_ERR_INVALID_ARGUMENT,
        message: message.into(),
    }
}

/// An `LLMC_ERR_NULL_ARGUMENT` failure naming the argument.
pub(crate) fn null(name: &str) -> Failure {
    Failure {
        status: llmc_status::LLMC_ERR_NULL_ARGUMENT,
        message: format!("'{name}' is NULL"),
    }
}

/// A core error's message without its kind's prefix (the status carries the kind).
pub(crate) fn inner(e: runtime::Error) -> String {
    match e {
        runtime::Error::InvalidArgument(m) => m,
        other => other.to_string(),
    }
}

/// A core error caused by the argument or field `name`: the error's status, and its message
/// (without the kind's prefix) after the name.
pub(crate) fn in_field(name: &str, e: runtime::Error) -> Failure {
    Failure {
        status: llmc_status::from_error(&e),
        message: format!("{name}: {}", inner(e)),
    }
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// Runs an export's body: a panic becomes `LLMC_ERR_INTERNAL`, a failure sets the thread's
/// last error message to "`function`: message" and is logged at `LLMC_LOG_WARN`.
pub(crate) fn guard(function: &str, body: impl FnOnce() -> FfiResult) -> llmc_status {
    let failure = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => return llmc_status::LLMC_OK,
        Ok(Err(f)) => f,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            Failure {
                status: llmc_status::LLMC_ERR_INTERNAL,
                message: format!("panic: {what}"),
            }
        }
    };
    let text = format!("{function}: {}", failure.message);
    // A message with an interior NUL is cut there rather than lost.
    let c = CString::new(text.as_str()).unwrap_or_else(|e| {
        let end = e.nul_position();
        CString::new(&e.into_vec()[..end]).unwrap_or_default()
    });
    LAST_ERROR.with(|m| *m.borrow_mut() = c);
    // Logged after the message is set, so a logger may read it with llmc_last_error_message.
    log(LLMC_LOG_WARN, &text);
    failure.status
}

/// Copies the message of the last call that failed on this thread into `buf` (NUL-terminated,
/// cut to `len - 1` bytes when longer) and returns the message's full length in bytes without
/// the NUL (0 when no call has failed on this thread yet). `buf` may be NULL when `len` is 0,
/// to learn the length. A successful call does not clear the message.
#[no_mangle]
pub unsafe extern "C" fn llmc_last_error_message(buf: *mut c_char, len: usize) -> usize {
    catch_unwind(|| {
        LAST_ERROR.with(|m| {
            let m = m.borrow();
            let bytes = m.as_bytes();
            if !buf.is_null() && len > 0 {
                let n = bytes.len().min(len - 1);
                // SAFETY: the caller promises `buf` holds `len` bytes; n + 1 <= len.
                unsafe {
                    std::ptr::copy_nonoverlapping(bytes.as_ptr(), buf.cast::<u8>(), n);
                    *buf.add(n) = 0;
                }
            }
            bytes.len()
        })
    })
    .unwrap_or(0)
}

/// Severity of a log message.
#[allow(non_camel_case_types)]
pub type llmc_log_level = u32;
/// Detail useful when debugging an integration.
pub const LLMC_LOG_DEBUG: llmc_log_level = 0;
/// Milestones: a model loaded, a generation finished.
pub const LLMC_LOG_INFO: llmc_log_level = 1;
/// A call failed (the same text as its last error message).
pub const LLMC_LOG_WARN: llmc_log_level = 2;
/// Something the library could not recover from.
pub const LLMC_LOG_ERROR: llmc_log_level = 3;

/// Receives a log message (NUL-terminated, valid only during the call) and the `user_data`
/// given to `llmc_log_set`. It runs on the thread that made the call being logged, so it must
/// be thread-safe when the library is used from several threads; it must not unwind (C++
/// exceptions, longjmp) through the library.
#[allow(non_camel_case_types)]
pub type llmc_log_callback = Option<
    unsafe extern "C" fn(level: llmc_log_level, message: *const c_char, user_data: *mut c_void),
>;

/// The installed logger: callback, user data (as an address) and minimum level.
struct Logger {
    callback: unsafe extern "C" fn(llmc_log_level, *const c_char, *mut c_void),
    user_data: usize,
    min_level: llmc_log_level,
}

static LOGGER: RwLock<Option<Logger>> = RwLock::new(None);

/// Installs (or, with a NULL `callback`, removes) the process-wide logger; messages below
/// `min_level` are not delivered. Nothing is logged until a logger is installed. Returns
/// `LLMC_ERR_INVALID_ARGUMENT` for a level above `LLMC_LOG_ERROR`.
#[no_mangle]
pub extern "C" fn llmc_log_set(
    callback: llmc_log_callback,
    user_data: *mut c_void,
    min_level: llmc_log_level,
) -> llmc_status {
    guard("llmc_log_set", || {
        if min_level > LLMC_LOG_ERROR {
            return Err(invalid(format!("log level {min_level} (0..=3)")));
        }
        let logger = callback.map(|callback| Logger {
            callback,
            user_data: user_data as usize,
            min_level,
        });
        *LOGGER.write().unwrap_or_else(|e| e.into_inner()) = logger;
        Ok(())
    })
}

/// Sends `message` to the installed logger, if any, at `level`.
pub(crate) fn log(level: llmc_log_level, message: &str) {
    let target = {
        let guard = LOGGER.read().unwrap_or_else(|e| e.into_inner());
        match &*guard {
            Some(l) if level >= l.min_level => Some((l.callback, l.user_data)),
            _ => None,
        }
    };
    if let Some((callback, user_data)) = target {
        let text = CString::new(message.replace('\0', " ")).unwrap_or_default();
        // SAFETY: the callback and its user data were installed by the caller for this use.
        unsafe { callback(level, text.as_ptr(), user_data as *mut c_void) };
    }
}

/// `&T` from a pointer that must not be NULL.
///
/// # Safety
/// A non-NULL `p` must point to a live `T` for `'a`.
pub(crate) unsafe fn arg_ref<'a, T>(p: *const T, name: &str) -> FfiResult<&'a T> {
    // SAFETY: non-NULL checked; validity is the caller's promise.
    unsafe { p.as_ref() }.ok_or_else(|| null(name))
}

/// `&mut T` from a pointer that must not be NULL.
///
/// # Safety
/// A non-NULL `p` must point to a live `T` not otherwise borrowed for `'a`.
pub(crate) unsafe fn arg_mut<'a, T>(p: *mut T, name: &str) -> FfiResult<&'a mut T> {
    // SAFETY: as above.
    unsafe { p.as_mut() }.ok_or_else(|| null(name))
}

/// A slice of `n` elements at `p`; `p` may be NULL only when `n` is 0.
///
/// # Safety
/// A non-NULL `p` must point to `n` initialised elements valid for `'a`.
pub(crate) unsafe fn arg_slice<'a, T>(p: *const T, n: usize, name: &str) -> FfiResult<&'a [T]> {
    if n == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(null(name));
    }
    let fits = matches!(n.checked_mul(size_of::<T>()), Some(b) if b <= isize::MAX as usize);
    if !fits {
        return Err(invalid(format!(
            "'{name}': {n} elements do not fit in memory"
        )));
    }
    // SAFETY: non-NULL, size bounded; the rest is the caller's promise.
    Ok(unsafe { std::slice::from_raw_parts(p, n) })
}

/// A NUL-terminated UTF-8 string.
///
/// # Safety
/// A non-NULL `p` must point to a NUL-terminated string valid for `'a`.
pub(crate) unsafe fn arg_cstr<'a>(p: *const c_char, name: &str) -> FfiResult<&'a str> {
    if p.is_null() {
        return Err(null(name));
    }
    // SAFETY: non-NULL; NUL termination is the caller's promise.
    let s = unsafe { CStr::from_ptr(p) };
    s.to_str()
        .map_err(|e| invalid(format!("'{name}' is not UTF-8 (byte {})", e.valid_up_to())))
}

/// A NUL-terminated file path: any bytes on Unix, UTF-8 elsewhere.
///
/// # Safety
/// A non-NULL `p` must point to a NUL-terminated string valid for `'a`.
pub(crate) unsafe fn arg_path<'a>(p: *const c_char, name: &str) -> FfiResult<&'a std::path::Path> {
    if p.is_null() {
        return Err(null(name));
    }
    // SAFETY: non-NULL; NUL termination is the caller's promise.
    let bytes = unsafe { CStr::from_ptr(p) }.to_bytes();
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        Ok(std::path::Path::new(std::ffi::OsStr::from_bytes(bytes)))
    }
    #[cfg(not(unix))]
    {
        let s = std::str::from_utf8(bytes)
            .map_err(|e| invalid(format!("'{name}' is not UTF-8 (byte {})", e.valid_up_to())))?;
        Ok(std::path::Path::new(s))
    }
}

/// `len` bytes of UTF-8 text (no NUL needed); `p` may be NULL only when `len` is 0.
///
/// # Safety
/// As [`arg_slice`].
pub(crate) unsafe fn arg_text<'a>(p: *const c_char, len: usize, name: &str) -> FfiResult<&'a str> {
    // SAFETY: forwarded.
    let bytes = unsafe { arg_slice(p.cast::<u8>(), len, name)? };
    std::str::from_utf8(bytes)
        .map_err(|e| invalid(format!("'{name}' is not UTF-8 (byte {})", e.valid_up_to())))
}

/// Checks that an output pointer is not NULL (it is written later, on success only).
pub(crate) fn out_ptr<T>(p: *mut T, name: &str) -> FfiResult<*mut T> {
    if p.is_null() {
        Err(null(name))
    } else {
        Ok(p)
    }
}

/// Where a list of `T` goes: a caller buffer of `capacity` elements plus the count. A NULL
/// buffer with capacity 0 asks only for the count.
pub(crate) struct OutList<T> {
    buf: *mut T,
    capacity: usize,
    count: *mut usize,
}

impl<T: Copy> OutList<T> {
    /// Checks the pointers, named `name` and `count_name` in messages (the count pointer is
    /// required; the buffer may be NULL only with capacity 0).
    pub fn new(
        buf: *mut T,
        capacity: usize,
        count: *mut usize,
        name: &str,
        count_name: &str,
    ) -> FfiResult<Self> {
        if buf.is_null() && capacity > 0 {
            return Err(null(name));
        }
        let count = out_ptr(count, count_name)?;
        Ok(OutList {
            buf,
            capacity,
            count,
        })
    }

    /// Fails with `LLMC_ERR_BUFFER_TOO_SMALL` (writing nothing) unless `needed` elements fit;
    /// a size query always fits.
    pub fn check(&self, needed: usize, name: &str) -> FfiResult {
        if self.buf.is_null() || needed <= self.capacity {
            return Ok(());
        }
        Err(Failure {
            status: llmc_status::LLMC_ERR_BUFFER_TOO_SMALL,
            message: format!("'{name}' holds {} elements, {needed} needed", self.capacity),
        })
    }

    /// Writes `items` (after [`OutList::check`] passed for their length) and their count.
    ///
    /// # Safety
    /// The buffer given to [`OutList::new`] must hold `capacity` elements.
    pub unsafe fn write(self, items: &[T], name: &str) -> FfiResult {
        self.check(items.len(), name)?;
        if !self.buf.is_null() {
            // SAFETY: the caller's buffer holds `capacity >= items.len()` elements.
            unsafe { std::ptr::copy_nonoverlapping(items.as_ptr(), self.buf, items.len()) };
        }
        // SAFETY: checked non-NULL in `new`.
        unsafe { self.count.write(items.len()) };
        Ok(())
    }
}

/// Writes `text` NUL-terminated into `buf` (`capacity` bytes, which must be at least
/// `text.len() + 1`) and its length without the NUL into `*n_out`; a NULL `buf` with capacity
/// 0 writes only the length.
///
/// # Safety
/// A non-NULL `buf` must hold `capacity` bytes; a non-NULL `n_out` must be writable.
pub(crate) unsafe fn write_text(
    buf: *mut c_char,
    capacity: usize,
    text: &[u8],
    n_out: *mut usize,
) -> FfiResult {
    let out = OutList::new(buf.cast::<u8>(), capacity, n_out, "buf", "n_out")?;
    out.check(text.len() + 1, "buf")?;
    if !buf.is_null() {
        // SAFETY: capacity >= len + 1 checked above.
        unsafe {
            std::ptr::copy_nonoverlapping(text.as_ptr(), buf.cast::<u8>(), text.len());
            *buf.add(text.len()) = 0;
        }
    }
    // SAFETY: checked non-NULL in `OutList::new`.
    unsafe { n_out.write(text.len()) };
    Ok(())
}

/// Checks a struct's leading `struct_size` against this library's size of it.
fn check_struct_size(size: usize, ours: usize, name: &str) -> FfiResult {
    if size == ours {
        return Ok(());
    }
    Err(invalid(format!(
        "'{name}'->struct_size is {size}, this library's is {ours}: initialise the struct \
         with its llmc_*_default_params() (or sizeof) from the header this library shipped with"
    )))
}

/// A parameter struct starting with `size_t struct_size`; NULL means `defaults`.
///
/// # Safety
/// A non-NULL `p` must point to a readable `T` whose first field is its size.
pub(crate) unsafe fn read_params<T: Copy>(p: *const T, defaults: T, name: &str) -> FfiResult<T> {
    if p.is_null() {
        return Ok(defaults);
    }
    // SAFETY: every parameter struct starts with a size_t.
    let size = unsafe { std::ptr::read_unaligned(p.cast::<usize>()) };
    check_struct_size(size, size_of::<T>(), name)?;
    // SAFETY: the size matches; the struct holds only plain integers, floats and pointers.
    Ok(unsafe { std::ptr::read(p) })
}

/// [`read_params`] that also takes the struct as an older header declared it: when the
/// caller's `struct_size` is one of `older` (each a prefix of today's layout, shorter than it,
/// as fields are only ever appended), the fields it has are read and the appended ones keep
/// their `defaults`.
///
/// # Safety
/// A non-NULL `p` must point to a readable struct of its stated `struct_size`, a prefix of `T`.
pub(crate) unsafe fn read_params_or_older<T: Copy>(
    p: *const T,
    defaults: T,
    older: &[usize],
    name: &str,
) -> FfiResult<T> {
    if !p.is_null() {
        // SAFETY: every parameter struct starts with a size_t.
        let size = unsafe { std::ptr::read_unaligned(p.cast::<usize>()) };
        if older.contains(&size) && size < size_of::<T>() {
            let mut out = defaults;
            // SAFETY: the caller's struct holds `size` readable bytes, a prefix of T's layout
            // (plain integers, floats and pointers); the struct_size copied over is restored.
            unsafe {
                std::ptr::copy_nonoverlapping(
                    p.cast::<u8>(),
                    (&mut out as *mut T).cast::<u8>(),
                    size,
                );
                std::ptr::write_unaligned((&mut out as *mut T).cast::<usize>(), size_of::<T>());
            }
            return Ok(out);
        }
    }
    // SAFETY: forwarded from the caller.
    unsafe { read_params(p, defaults, name) }
}

/// Checks a result struct (its `struct_size` set by the caller) before work starts.
///
/// # Safety
/// A non-NULL `p` must point to a readable `T` whose first field is its size.
pub(crate) unsafe fn check_result<T>(p: *mut T, name: &str) -> FfiResult<*mut T> {
    let p = out_ptr(p, name)?;
    // SAFETY: every result struct starts with a size_t.
    let size = unsafe { std::ptr::read_unaligned(p.cast::<usize>()) };
    check_struct_size(size, size_of::<T>(), name)?;
    Ok(p)
}

/// [`check_result`] that also takes the struct as an older header declared it: a caller's
/// `struct_size` among `older` (each a prefix of today's layout, shorter than it, as fields are
/// only ever appended) is accepted. Returns the pointer and the caller's size, for
/// [`write_result`].
///
/// # Safety
/// A non-NULL `p` must point to a writable struct of its stated `struct_size`.
pub(crate) unsafe fn check_result_or_older<T>(
    p: *mut T,
    older: &[usize],
    name: &str,
) -> FfiResult<(*mut T, usize)> {
    let p = out_ptr(p, name)?;
    // SAFETY: every result struct starts with a size_t.
    let size = unsafe { std::ptr::read_unaligned(p.cast::<usize>()) };
    if older.contains(&size) && size < size_of::<T>() {
        return Ok((p, size));
    }
    check_struct_size(size, size_of::<T>(), name)?;
    Ok((p, size))
}

/// Writes the first `size` bytes of `value` (a result struct starting with its `size_t
/// struct_size`) to `p`, keeping the caller's `struct_size`.
///
/// # Safety
/// `p` and `size` must come from [`check_result_or_older`].
pub(crate) unsafe fn write_result<T: Copy>(p: *mut T, size: usize, value: T) {
    // SAFETY: the caller's struct holds `size <= size_of::<T>()` writable bytes, a prefix of
    // T's layout; its first field (the size) is restored.
    unsafe {
        std::ptr::copy_nonoverlapping((&value as *const T).cast::<u8>(), p.cast::<u8>(), size);
        std::ptr::write_unaligned(p.cast::<usize>(), size);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn last_error() -> String {
        let n = unsafe { llmc_last_error_message(std::ptr::null_mut(), 0) };
        let mut buf = vec![0 as c_char; n + 1];
        assert_eq!(
            unsafe { llmc_last_error_message(buf.as_mut_ptr(), buf.len()) },
            n
        );
        unsafe { CStr::from_ptr(buf.as_ptr()) }
            .to_str()
            .unwrap()
            .to_string()
    }

    #[test]
    fn failures_set_the_message_and_panics_are_caught() {
        let s = guard("f", || Err(invalid("bad thing")));
        assert_eq!(s, llmc_status::LLMC_ERR_INVALID_ARGUMENT);
        assert_eq!(last_error(), "f: bad thing");
        assert_eq!(guard("g", || Ok(())), llmc_status::LLMC_OK);
        assert_eq!(
            last_error(),
            "f: bad thing",
            "success keeps the last message"
        );
        let s = guard("h", || panic!("boom {}", 7));
        assert_eq!(s, llmc_status::LLMC_ERR_INTERNAL);
        assert_eq!(last_error(), "h: panic: boom 7");
    }

    #[test]
    fn last_error_is_cut_to_the_buffer() {
        guard("f", || Err(invalid("0123456789")));
        let mut buf = [1 as c_char; 5];
        assert_eq!(unsafe { llmc_last_error_message(buf.as_mut_ptr(), 5) }, 13);
        assert_eq!(unsafe { CStr::from_ptr(buf.as_ptr()) }.to_bytes(), b"f: 0");
    }

    #[test]
    fn text_output_needs_room_for_the_nul() {
        let mut n = 99usize;
        let mut buf = [7 as c_char; 3];
        let r = unsafe { write_text(buf.as_mut_ptr(), 3, b"abc", &mut n) };
        assert_eq!(
            r.unwrap_err().status,
            llmc_status::LLMC_ERR_BUFFER_TOO_SMALL
        );
        assert_eq!((n, buf), (99, [7; 3]), "nothing written on failure");
        unsafe { write_text(std::ptr::null_mut(), 0, b"abc", &mut n) }.unwrap();
        assert_eq!(n, 3);
        let mut buf = [7 as c_char; 4];
        unsafe { write_text(buf.as_mut_ptr(), 4, b"abc", &mut n) }.unwrap();
        assert_eq!(unsafe { CStr::from_ptr(buf.as_ptr()) }.to_bytes(), b"abc");
    }

    #[test]
    fn params_need_a_known_struct_size() {
        #[derive(Clone, Copy, PartialEq, Debug)]
        #[repr(C)]
        struct P {
            struct_size: usize,
            x: u32,
        }
        let d = P {
            struct_size: size_of::<P>(),
            x: 1,
        };
        assert_eq!(unsafe { read_params(std::ptr::null(), d, "p") }.unwrap(), d);
        let given = P {
            struct_size: size_of::<P>(),
            x: 5,
        };
        assert_eq!(unsafe { read_params(&given, d, "p") }.unwrap(), given);
        let wrong = P {
            struct_size: 3,
            x: 5,
        };
        let e = unsafe { read_params(&wrong, d, "p") }.unwrap_err();
        assert_eq!(e.status, llmc_status::LLMC_ERR_INVALID_ARGUMENT);
        assert!(e.message.contains("struct_size is 3"), "{}", e.message);
    }
}
