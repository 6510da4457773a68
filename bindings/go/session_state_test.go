package llmcore

import (
	"bytes"
	"errors"
	"testing"
)

// A fork and a resumed state continue exactly like a fresh session fed the whole text; a state
// that does not fit is refused and changes nothing.
func TestForkAndSavedStateContinueLikeFreshSessions(t *testing.T) {
	m := load(t)
	defer m.Close()
	toks, err := m.Tokenize("The lighthouse keeper counted the ships", false)
	if err != nil || len(toks) < 5 {
		t.Fatalf("tokenize: %v, %d tokens", err, len(toks))
	}
	prompt, more := toks[:3], toks[3:5]
	base, err := m.NewSession(64, Fast)
	if err != nil {
		t.Fatal(err)
	}
	defer base.Close()
	if _, err := base.Eval(prompt); err != nil {
		t.Fatal(err)
	}
	fork, err := base.Fork()
	if err != nil {
		t.Fatal(err)
	}
	defer fork.Close()
	whole, _ := m.NewSession(64, Fast)
	defer whole.Close()
	want, _ := whole.Eval(toks[:5])
	got, err := fork.Eval(more)
	if err != nil || !sameBits(got, want) {
		t.Fatalf("fork's logits differ from a fresh session's (%v)", err)
	}
	state, err := base.SaveState()
	if err != nil {
		t.Fatal(err)
	}
	resumed, _ := m.NewSession(64, Fast)
	defer resumed.Close()
	if err := resumed.LoadState(state); err != nil {
		t.Fatal(err)
	}
	again, _ := resumed.SaveState()
	if !bytes.Equal(again, state) {
		t.Fatal("save -> load -> save differs")
	}
	a, _ := base.Eval(more)
	b, _ := resumed.Eval(more)
	if !sameBits(a, b) {
		t.Fatal("resumed logits differ")
	}
	var e *Error
	if err := resumed.LoadState(state[:len(state)-1]); !errors.As(err, &e) || e.Status != StatusFormat {
		t.Fatalf("truncated state: %v", err)
	}
	tiny, _ := m.NewSession(2, Fast)
	defer tiny.Close()
	if err := tiny.LoadState(state); !errors.As(err, &e) || e.Status != StatusContextOverflow {
		t.Fatalf("state past the context: %v", err)
	}
	if n, _ := resumed.Len(); n != len(toks[:5]) {
		t.Fatalf("a refused load changed the session: %d tokens", n)
	}
}
