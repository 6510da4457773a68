package llmcore

/*
#include <stdlib.h>
#include <llmcore.h>

extern bool goProgressCallback(size_t done, size_t total, void *user_data);
*/
import "C"

import (
	"fmt"
	"runtime"
	"runtime/cgo"
	"unsafe"
)

// SelfGenParams say how CalibSelfGen synthesizes a calibration set; start from
// DefaultSelfGenParams.
type SelfGenParams struct {
	Texts, SeedTokens, MaxNew int
	Temperature, TopP         float32
	TopK                      int
	RepeatPenalty             float32
	Seed                      uint64  // text i samples with Seed + i
	Drop                      float64 // fraction of texts dropped, highest perplexity first, in [0, 1)
}

// DefaultSelfGenParams: the paper's settings (500 texts of up to 512 new tokens from 2-token
// seeds, temperature 0.6, top-p 0.95, top-k 50, repetition penalty 1.2, the worst 20% dropped).
func DefaultSelfGenParams() SelfGenParams {
	c := C.llmc_selfgen_default_params()
	return SelfGenParams{Texts: int(c.texts), SeedTokens: int(c.seed_tokens),
		MaxNew: int(c.max_new), Temperature: float32(c.temperature), TopP: float32(c.top_p),
		TopK: int(c.top_k), RepeatPenalty: float32(c.repeat_penalty), Seed: uint64(c.seed),
		Drop: float64(c.drop)}
}

// CalibSelfGen generates a self-made calibration set with the model from the blank-line
// separated paragraphs of seeds and writes it to outPath (JSON; a failure or a cancellation
// leaves no file, an existing file is replaced). progress (may be nil) is called after each
// text; returning false cancels with StatusCancelled. Use the file as "selfgen:PATH".
func (m *Model) CalibSelfGen(seeds, outPath string, p SelfGenParams, progress func(done, total int) bool) error {
	c := C.llmc_selfgen_default_params()
	c.texts = C.size_t(p.Texts)
	c.seed_tokens = C.size_t(p.SeedTokens)
	c.max_new = C.size_t(p.MaxNew)
	c.temperature = C.float(p.Temperature)
	c.top_k = C.size_t(p.TopK)
	c.top_p = C.float(p.TopP)
	c.repeat_penalty = C.float(p.RepeatPenalty)
	c.seed = C.uint64_t(p.Seed)
	c.drop = C.double(p.Drop)
	cseeds := C.CString(seeds)
	defer C.free(unsafe.Pointer(cseeds))
	cout := C.CString(outPath)
	defer C.free(unsafe.Pointer(cout))
	var cb C.llmc_progress_callback
	var ud unsafe.Pointer
	if progress != nil {
		h := cgo.NewHandle(progress)
		defer h.Delete()
		cb = C.llmc_progress_callback(C.goProgressCallback)
		ud = unsafe.Pointer(&h) // a Go pointer to memory without Go pointers, for the call only
	}
	err := call(func() C.llmc_status {
		return C.llmc_calib_selfgen(m.p, cseeds, C.size_t(len(seeds)), &c, cout, cb, ud)
	})
	runtime.KeepAlive(m)
	return err
}

// CalibWindows draws n calibration windows of length tokens for the model from source:
// "file:PATH" (UTF-8 text), "random" (random non-control tokens) or "selfgen:PATH" (a set
// from CalibSelfGen), with seed.
func (m *Model) CalibWindows(source string, n, length int, seed uint64) ([][]Token, error) {
	csrc := C.CString(source)
	defer C.free(unsafe.Pointer(csrc))
	if n < 0 || length < 0 {
		return nil, &Error{Status: StatusInvalidArgument,
			Message: fmt.Sprintf("CalibWindows: negative count %d or length %d", n, length)}
	}
	flat := make([]Token, n*length)
	var count C.size_t
	err := call(func() C.llmc_status {
		return C.llmc_calib_windows(m.p, csrc, C.size_t(n), C.size_t(length), C.uint64_t(seed),
			tokenPtr(flat), C.size_t(len(flat)), &count)
	})
	runtime.KeepAlive(m)
	if err != nil {
		return nil, err
	}
	windows := make([][]Token, n)
	for i := range windows {
		windows[i] = flat[i*length : (i+1)*length : (i+1)*length]
	}
	return windows, nil
}
