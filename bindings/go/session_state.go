package llmcore

/*
#include <llmcore.h>
*/
import "C"

import (
	"runtime"
	"unsafe"
)

// Fork makes an independent copy of the session: the same model, numeric path and KV type,
// and a copy of its cache (prefill a shared prompt once, then continue each fork its own way).
func (s *Session) Fork() (*Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var p *C.llmc_session
	if err := call(func() C.llmc_status { return C.llmc_session_fork(s.p, &p) }); err != nil {
		return nil, err
	}
	f := &Session{p: p, vocab: s.vocab}
	runtime.SetFinalizer(f, (*Session).Close)
	return f, nil
}

// SaveState is the session's cache in the session-state format (llmc_session_state_save).
func (s *Session) SaveState() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n C.size_t
	if err := call(func() C.llmc_status { return C.llmc_session_state_size(s.p, &n) }); err != nil {
		return nil, err
	}
	buf := make([]byte, int(n))
	err := call(func() C.llmc_status {
		return C.llmc_session_state_save(s.p, (*C.uint8_t)(unsafe.Pointer(&buf[0])),
			C.size_t(len(buf)), &n)
	})
	if err != nil {
		return nil, err
	}
	return buf[:n], nil
}

// LoadState replaces the session's cache with a saved state; on an error (StatusFormat,
// StatusInvalidArgument, StatusContextOverflow) the session is unchanged.
func (s *Session) LoadState(state []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var p *C.uint8_t
	if len(state) > 0 {
		p = (*C.uint8_t)(unsafe.Pointer(&state[0]))
	}
	err := call(func() C.llmc_status { return C.llmc_session_state_load(s.p, p, C.size_t(len(state))) })
	runtime.KeepAlive(state)
	return err
}
