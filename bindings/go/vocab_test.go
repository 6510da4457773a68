package llmcore

import (
	"errors"
	"reflect"
	"testing"
)

// The vocabulary facts llama.cpp's API gives for SmolLM2 (tests/data/reference/vocab_smollm2.json).
func TestVocabularyFacts(t *testing.T) {
	m := load(t)
	defer m.Close()
	info, err := m.Info()
	if err != nil {
		t.Fatal(err)
	}
	if info.NParams != 134515008 || info.TensorBytes != 96576768 || info.EOT != 2 || info.Pad != 2 ||
		info.AddBOS || info.NEOGTokens != 3 {
		t.Fatalf("info %+v", info)
	}
	eog, err := m.EOGTokens()
	if err != nil || !reflect.DeepEqual(eog, []Token{0, 2, 4}) {
		t.Fatalf("EOG %v (%v)", eog, err)
	}
	a, err := m.TokenAttributes(2)
	if err != nil || a != TokenAttrControl|TokenAttrEOG {
		t.Fatalf("attributes of token 2: %d (%v)", a, err)
	}
	var e *Error
	if _, err := m.TokenAttributes(49152); !errors.As(err, &e) || e.Status != StatusTokenOutOfRange {
		t.Fatalf("token 49152: %v", err)
	}
	ids, err := m.TokenizeOpts("<|im_start|>user\nHi<|im_end|>", TokenizeParseSpecial|TokenizeAddSpecial)
	if err != nil || ids[0] != 1 || ids[len(ids)-1] != 2 {
		t.Fatalf("tokenize: %v (%v)", ids, err)
	}
	if text, err := m.DetokenizeOpts(ids, DetokenizeSkipControl); err != nil || text != "user\nHi" {
		t.Fatalf("detokenize without control tokens: %q (%v)", text, err)
	}
}
