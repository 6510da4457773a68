package llmcore

/*
#include <stdlib.h>
#include <llmcore.h>
*/
import "C"

import "unsafe"

// Schedule plans activation recomputation (Lynx) for a JSON request (its fields are listed at
// llmc_schedule in llmcore.h and in docs/lynx.md) and returns the plan as JSON text. Errors
// are *Error: StatusFormat for text that is not JSON, StatusInvalidArgument for a bad request
// (the message names the field) or a budget no schedule meets (it gives the least memory).
func Schedule(requestJSON string) (string, error) {
	creq := C.CString(requestJSON)
	defer C.free(unsafe.Pointer(creq))
	return readText(func(b *C.char, c C.size_t, n *C.size_t) C.llmc_status {
		return C.llmc_schedule(creq, b, c, n)
	})
}
