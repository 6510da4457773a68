//! Safetensors files: list their tensors and copy a tensor's bytes into a caller buffer (the
//! runtime itself runs GGUF models only).

use crate::boundary::{
    arg_cstr, arg_path, arg_ref, check_result, guard, invalid, out_ptr, write_text, Failure,
};
use crate::status::llmc_status;
use runtime::io::safetensors::SafeTensors;
use std::ffi::{c_char, c_void, CString};

/// Most dimensions `llmc_tensor_info` reports.
pub const LLMC_MAX_DIMS: usize = 8;

/// An open safetensors file (memory-mapped; it must not be modified while open). Read-only,
/// so one handle may be used from several threads at once.
#[allow(non_camel_case_types)]
pub struct llmc_tensors {
    file: SafeTensors,
    /// NUL-terminated dtype names, one per `SafeDtype` seen, for `llmc_tensor_info::dtype`.
    dtype_names: Vec<CString>,
}

const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<SafeTensors>()
};

/// Opens a safetensors file. On success `*out` receives a handle to release with
/// `llmc_tensors_free`; on failure it is left untouched.
#[no_mangle]
pub unsafe extern "C" fn llmc_tensors_open(
    path: *const c_char,
    out: *mut *mut llmc_tensors,
) -> llmc_status {
    guard("llmc_tensors_open", || {
        // SAFETY: the caller passes a NUL-terminated path.
        let path = unsafe { arg_path(path, "path")? };
        let out = out_ptr(out, "out")?;
        let file = SafeTensors::open(path)?;
        let mut dtype_names: Vec<CString> = Vec::new();
        for name in file.names() {
            let dtype = file.tensor(name)?.dtype.name();
            if !dtype_names.iter().any(|d| d.to_bytes() == dtype.as_bytes()) {
                dtype_names.push(CString::new(dtype).unwrap_or_default());
            }
        }
        // SAFETY: checked non-NULL; written on success only.
        unsafe { out.write(Box::into_raw(Box::new(llmc_tensors { file, dtype_names }))) };
        Ok(())
    })
}

/// Releases a safetensors handle. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn llmc_tensors_free(tensors: *mut llmc_tensors) {
    if !tensors.is_null() {
        // SAFETY: `tensors` came from `llmc_tensors_open` and is freed once (caller's promise).
        let _ = std::panic::catch_unwind(|| drop(unsafe { Box::from_raw(tensors) }));
    }
}

/// Writes the number of tensors into `*count`.
#[no_mangle]
pub unsafe extern "C" fn llmc_tensors_count(
    tensors: *const llmc_tensors,
    count: *mut usize,
) -> llmc_status {
    guard("llmc_tensors_count", || {
        // SAFETY: caller passes a live handle.
        let t = unsafe { arg_ref(tensors, "tensors")? };
        let count = out_ptr(count, "count")?;
        // SAFETY: checked non-NULL.
        unsafe { count.write(t.file.names().len()) };
        Ok(())
    })
}

/// Writes the name of tensor `index` (header order) NUL-terminated into `buf` and its length
/// into `*n_out`; a NULL `buf` with capacity 0 asks only for the length.
#[no_mangle]
pub unsafe extern "C" fn llmc_tensors_name(
    tensors: *const llmc_tensors,
    index: usize,
    buf: *mut c_char,
    capacity: usize,
    n_out: *mut usize,
) -> llmc_status {
    guard("llmc_tensors_name", || {
        // SAFETY: caller passes a live handle.
        let t = unsafe { arg_ref(tensors, "tensors")? };
        let names = t.file.names();
        let name = names
            .get(index)
            .ok_or_else(|| invalid(format!("tensor index {index} of {}", names.len())))?;
        // SAFETY: caller's buffer of `capacity` bytes.
        unsafe { write_text(buf, capacity, name.as_bytes(), n_out) }
    })
}

/// Writes the value of `key` in the file's `__metadata__` map NUL-terminated into `buf` and
/// its length into `*n_out` (`LLMC_ERR_MISSING_METADATA` when absent).
#[no_mangle]
pub unsafe extern "C" fn llmc_tensors_meta_value(
    tensors: *const llmc_tensors,
    key: *const c_char,
    buf: *mut c_char,
    capacity: usize,
    n_out: *mut usize,
) -> llmc_status {
    guard("llmc_tensors_meta_value", || {
        // SAFETY: caller passes a live handle, a NUL-terminated key, `capacity` bytes.
        let t = unsafe { arg_ref(tensors, "tensors")? };
        let key = unsafe { arg_cstr(key, "key")? };
        let (_, value) = t
            .file
            .metadata()
            .iter()
            .find(|(k, _)| k == key)
            .ok_or_else(|| runtime::Error::MissingMetadata(key.into()))?;
        // SAFETY: caller's buffer of `capacity` bytes.
        unsafe { write_text(buf, capacity, value.as_bytes(), n_out) }
    })
}

/// A tensor's type and shape. Set `struct_size = sizeof(llmc_tensor_info)` before the call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
#[allow(non_camel_case_types)]
pub struct llmc_tensor_info {
    pub struct_size: usize,
    /// The safetensors dtype name ("F32", "BF16", "I64", ...); owned by the handle.
    pub dtype: *const c_char,
    /// Bytes per element.
    pub element_size: usize,
    pub n_dims: usize,
    /// Dimensions, outermost first; `shape[n_dims..]` are 0.
    pub shape: [u64; LLMC_MAX_DIMS],
    /// Bytes of the tensor's data (little-endian, row-major).
    pub n_bytes: usize,
}

/// Fills `*info` for the tensor called `name` (`LLMC_ERR_MISSING_TENSOR` when absent,
/// `LLMC_ERR_UNSUPPORTED` beyond `LLMC_MAX_DIMS` dimensions).
#[no_mangle]
pub unsafe extern "C" fn llmc_tensors_info(
    tensors: *const llmc_tensors,
    name: *const c_char,
    info: *mut llmc_tensor_info,
) -> llmc_status {
    guard("llmc_tensors_info", || {
        // SAFETY: caller passes a live handle, a NUL-terminated name and a result struct.
        let t = unsafe { arg_ref(tensors, "tensors")? };
        let name = unsafe { arg_cstr(name, "name")? };
        let info = unsafe { check_result(info, "info")? };
        let view = t.file.tensor(name)?;
        if view.shape.len() > LLMC_MAX_DIMS {
            return Err(runtime::Error::Unsupported(format!(
                "tensor '{name}' has {} dimensions, llmc_tensor_info holds {LLMC_MAX_DIMS}",
                view.shape.len()
            ))
            .into());
        }
        let mut shape = [0u64; LLMC_MAX_DIMS];
        for (s, &d) in shape.iter_mut().zip(view.shape) {
            *s = d as u64;
        }
        let dtype = view.dtype.name();
        let dtype = t
            .dtype_names
            .iter()
            .find(|d| d.to_bytes() == dtype.as_bytes());
        let dtype = dtype.ok_or_else(|| invalid(format!("dtype of '{name}' not indexed")))?;
        let value = llmc_tensor_info {
            struct_size: size_of::<llmc_tensor_info>(),
            dtype: dtype.as_ptr(),
            element_size: view.dtype.size(),
            n_dims: view.shape.len(),
            shape,
            n_bytes: view.data.len(),
        };
        // SAFETY: checked above.
        unsafe { info.write(value) };
        Ok(())
    })
}

/// Copies the bytes of the tensor called `name` into `buf` (`capacity` bytes, at least its
/// `n_bytes`).
#[no_mangle]
pub unsafe extern "C" fn llmc_tensors_read(
    tensors: *const llmc_tensors,
    name: *const c_char,
    buf: *mut c_void,
    capacity: usize,
) -> llmc_status {
    guard("llmc_tensors_read", || {
        // SAFETY: caller passes a live handle, a NUL-terminated name, `capacity` bytes.
        let t = unsafe { arg_ref(tensors, "tensors")? };
        let name = unsafe { arg_cstr(name, "name")? };
        let buf = out_ptr(buf, "buf")?;
        let data = t.file.tensor(name)?.data;
        if capacity < data.len() {
            return Err(Failure {
                status: llmc_status::LLMC_ERR_BUFFER_TOO_SMALL,
                message: format!(
                    "'buf' holds {capacity} bytes, tensor '{name}' has {}",
                    data.len()
                ),
            });
        }
        // SAFETY: capacity >= data.len().
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), buf.cast::<u8>(), data.len()) };
        Ok(())
    })
}
