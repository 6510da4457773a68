package llmcore

/*
#include <stdlib.h>
#include <llmcore.h>
*/
import "C"

import (
	"runtime"
	"unsafe"
)

// Tensors is an open safetensors file (read-only; safe for concurrent use). The runtime
// itself loads GGUF models only.
type Tensors struct {
	p *C.llmc_tensors
}

// OpenTensors opens a safetensors file.
func OpenTensors(path string) (*Tensors, error) {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var p *C.llmc_tensors
	if err := call(func() C.llmc_status { return C.llmc_tensors_open(cpath, &p) }); err != nil {
		return nil, err
	}
	t := &Tensors{p: p}
	runtime.SetFinalizer(t, (*Tensors).Close)
	return t, nil
}

// Close releases the file. Safe to call twice.
func (t *Tensors) Close() {
	if t.p != nil {
		C.llmc_tensors_free(t.p)
		t.p = nil
	}
	runtime.SetFinalizer(t, nil)
}

// Names lists the tensors in header order.
func (t *Tensors) Names() ([]string, error) {
	defer runtime.KeepAlive(t)
	var n C.size_t
	if err := call(func() C.llmc_status { return C.llmc_tensors_count(t.p, &n) }); err != nil {
		return nil, err
	}
	names := make([]string, 0, int(n))
	for i := C.size_t(0); i < n; i++ {
		name, err := readText(func(b *C.char, c C.size_t, o *C.size_t) C.llmc_status {
			return C.llmc_tensors_name(t.p, i, b, c, o)
		})
		if err != nil {
			return nil, err
		}
		names = append(names, name)
	}
	return names, nil
}

// Metadata is a value of the file's __metadata__ map.
func (t *Tensors) Metadata(key string) (string, error) {
	ckey := C.CString(key)
	defer C.free(unsafe.Pointer(ckey))
	defer runtime.KeepAlive(t)
	return readText(func(b *C.char, c C.size_t, o *C.size_t) C.llmc_status {
		return C.llmc_tensors_meta_value(t.p, ckey, b, c, o)
	})
}

// TensorInfo is a tensor's type and shape.
type TensorInfo struct {
	Dtype       string // "F32", "BF16", "I64", ...
	ElementSize int
	Shape       []uint64 // outermost first
	NBytes      int
}

// Info describes the tensor called name.
func (t *Tensors) Info(name string) (TensorInfo, error) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var c C.llmc_tensor_info
	c.struct_size = C.size_t(unsafe.Sizeof(c))
	err := call(func() C.llmc_status { return C.llmc_tensors_info(t.p, cname, &c) })
	defer runtime.KeepAlive(t)
	if err != nil {
		return TensorInfo{}, err
	}
	shape := make([]uint64, int(c.n_dims))
	for i := range shape {
		shape[i] = uint64(c.shape[i])
	}
	return TensorInfo{Dtype: C.GoString(c.dtype), ElementSize: int(c.element_size),
		Shape: shape, NBytes: int(c.n_bytes)}, nil
}

// Read copies the tensor's bytes (little-endian, row-major).
func (t *Tensors) Read(name string) ([]byte, error) {
	info, err := t.Info(name)
	if err != nil {
		return nil, err
	}
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	buf := C.malloc(C.size_t(info.NBytes) + 1)
	defer C.free(buf)
	err = call(func() C.llmc_status {
		return C.llmc_tensors_read(t.p, cname, buf, C.size_t(info.NBytes))
	})
	runtime.KeepAlive(t)
	if err != nil {
		return nil, err
	}
	return C.GoBytes(buf, C.int(info.NBytes)), nil
}
