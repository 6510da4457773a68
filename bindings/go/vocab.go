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

// Token attribute bits (TokenAttributes).
const (
	TokenAttrNormal      = uint32(C.LLMC_TOKEN_ATTR_NORMAL)
	TokenAttrControl     = uint32(C.LLMC_TOKEN_ATTR_CONTROL)
	TokenAttrUserDefined = uint32(C.LLMC_TOKEN_ATTR_USER_DEFINED)
	TokenAttrUnknown     = uint32(C.LLMC_TOKEN_ATTR_UNKNOWN)
	TokenAttrUnused      = uint32(C.LLMC_TOKEN_ATTR_UNUSED)
	TokenAttrByte        = uint32(C.LLMC_TOKEN_ATTR_BYTE)
	TokenAttrEOG         = uint32(C.LLMC_TOKEN_ATTR_EOG)
)

// Options of TokenizeOpts and DetokenizeOpts.
const (
	TokenizeParseSpecial  = uint32(C.LLMC_TOKENIZE_PARSE_SPECIAL)
	TokenizeAddSpecial    = uint32(C.LLMC_TOKENIZE_ADD_SPECIAL)
	DetokenizeSkipControl = uint32(C.LLMC_DETOKENIZE_SKIP_CONTROL)
)

// TokenAttributes is the token's TokenAttr* bits (one kind, plus TokenAttrEOG when it ends
// generation).
func (m *Model) TokenAttributes(t Token) (uint32, error) {
	defer runtime.KeepAlive(m)
	var a C.llmc_token_attr
	err := call(func() C.llmc_status { return C.llmc_token_attributes(m.p, C.llmc_token(t), &a) })
	return uint32(a), err
}

// EOGTokens lists every token that ends generation, ascending.
func (m *Model) EOGTokens() ([]Token, error) {
	defer runtime.KeepAlive(m)
	var n C.size_t
	if err := call(func() C.llmc_status { return C.llmc_vocab_eog(m.p, nil, 0, &n) }); err != nil {
		return nil, err
	}
	out := make([]Token, int(n)+1)
	err := call(func() C.llmc_status {
		return C.llmc_vocab_eog(m.p, (*C.llmc_token)(&out[0]), C.size_t(len(out)), &n)
	})
	return out[:n], err
}

// TokenizeOpts tokenizes with Tokenize* options (TokenizeAddSpecial: BOS when the model asks).
func (m *Model) TokenizeOpts(text string, flags uint32) ([]Token, error) {
	ctext := C.CString(text)
	defer C.free(unsafe.Pointer(ctext))
	defer runtime.KeepAlive(m)
	tl, f := C.size_t(len(text)), C.llmc_tokenize_flags(flags)
	var n C.size_t
	if err := call(func() C.llmc_status { return C.llmc_tokenize_opts(m.p, ctext, tl, f, nil, 0, &n) }); err != nil {
		return nil, err
	}
	out := make([]Token, int(n)+1)
	err := call(func() C.llmc_status {
		return C.llmc_tokenize_opts(m.p, ctext, tl, f, (*C.llmc_token)(&out[0]), C.size_t(len(out)), &n)
	})
	if err != nil {
		return nil, err
	}
	return out[:n], nil
}

// DetokenizeOpts decodes with Detokenize* options (DetokenizeSkipControl drops control tokens).
func (m *Model) DetokenizeOpts(tokens []Token, flags uint32) (string, error) {
	defer runtime.KeepAlive(m)
	return readText(func(b *C.char, c C.size_t, n *C.size_t) C.llmc_status {
		return C.llmc_detokenize_opts(m.p, tokenPtr(tokens), C.size_t(len(tokens)),
			C.llmc_detokenize_flags(flags), b, c, n)
	})
}
