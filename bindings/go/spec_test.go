package llmcore

import (
	"errors"
	"strings"
	"testing"
)

func TestSpeculateGreedyIsGenerate(t *testing.T) {
	m := load(t)
	defer m.Close()
	toks, err := m.Tokenize("The capital of France is", true)
	if err != nil {
		t.Fatal(err)
	}
	d := DefaultSpecParams()
	if d.Tree != TreeOpt || d.Budget != 0 || d.BudgetMax != 32 || d.MaxDepth != 10 || d.Delta != 0.5 ||
		d.Draft != DraftNgram || d.NgramN != 3 || d.NgramMin != 1 || d.Generate.MaxTokens != 128 {
		t.Fatalf("defaults %+v", d)
	}
	gp := DefaultGenerateParams()
	gp.MaxTokens = 24
	plainSession, err := m.NewSession(0, Fast)
	if err != nil {
		t.Fatal(err)
	}
	defer plainSession.Close()
	plain, err := plainSession.Generate(toks, gp, nil)
	if err != nil {
		t.Fatal(err)
	}
	plainLen, _ := plainSession.Len()

	self := d
	self.Generate = gp
	self.Draft, self.SelfDraftLayers = DraftSelf, 8
	selfFixed := self
	selfFixed.Tree, selfFixed.Budget = TreeChain, 4 // drafts every step
	ngram := d
	ngram.Generate = gp
	for name, p := range map[string]SpecParams{"self-draft 8": self, "self-draft 8, chain 4": selfFixed, "ngram": ngram} {
		s, err := m.NewSession(0, Fast)
		if err != nil {
			t.Fatal(err)
		}
		streamed := ""
		r, err := s.Speculate(toks, p, func(piece string) bool { streamed += piece; return true })
		n, _ := s.Len()
		s.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if r.Text != plain.Text || streamed != plain.Text || r.Tokens != plain.Tokens || r.StopReason != plain.StopReason || n != plainLen {
			t.Fatalf("%s: %q (%d tokens, stop %d, session %d) vs plain %q (%d, %d, %d)", name, r.Text,
				r.Tokens, r.StopReason, n, plain.Text, plain.Tokens, plain.StopReason, plainLen)
		}
		if r.Steps < 1 || r.Steps != r.DecodeSteps || r.Accepted > r.Drafted || r.MeanAcceptedLength < 1 {
			t.Fatalf("%s: stats %+v", name, r)
		}
		if p.Budget > 0 && r.Drafted < r.Steps {
			t.Fatalf("%s: a fixed budget drafted %d tokens in %d steps", name, r.Drafted, r.Steps)
		}
	}
}

func TestSpeculateRefusesBadSettings(t *testing.T) {
	m := load(t)
	defer m.Close()
	qwen, err := Load(assetModel(t, "Qwen2.5-Coder-0.5B-Instruct.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer qwen.Close()
	toks, _ := m.Tokenize("The capital of France is", true)
	s, err := m.NewSession(0, Fast)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	base := DefaultSpecParams()
	base.Generate.MaxTokens = 24
	var e *Error
	bad := func(p SpecParams, prompt []Token, status int, needle string) {
		t.Helper()
		_, err := s.Speculate(prompt, p, func(string) bool { t.Fatal("text streamed"); return false })
		if !errors.As(err, &e) || e.Status != status || !strings.Contains(e.Message, needle) {
			t.Fatalf("want status %d with %q, got %v", status, needle, err)
		}
		if n, _ := s.Len(); n != 0 {
			t.Fatalf("a refused call left %d tokens in the session", n)
		}
	}
	p := base
	p.Budget, p.MaxDepth = 0, 0
	bad(p, toks, StatusInvalidArgument, "params->max_depth")
	p = base
	p.Draft, p.SelfDraftLayers = DraftSelf, 30
	bad(p, toks, StatusInvalidArgument, "a self-draft of 30 layers from a model of 30")
	p = base
	p.Draft = DraftModel
	bad(p, toks, StatusNullArgument, "'params->draft_model' is NULL")
	p.DraftModel = qwen
	bad(p, toks, StatusInvalidArgument, "params->draft_model: draft and target vocabularies differ")
	p = base
	p.Tree = 9
	bad(p, toks, StatusInvalidArgument, "params->tree 9")
	p = base
	p.Draft = 9
	bad(p, toks, StatusInvalidArgument, "params->draft_kind 9")
	p = base
	p.Generate.Stop = []string{""}
	bad(p, toks, StatusInvalidArgument, "params->generate->stop[0]")
	p = base
	p.NgramN = -1
	bad(p, toks, StatusInvalidArgument, "negative")
	bad(base, nil, StatusInvalidArgument, "the prompt is empty")
	bad(base, []Token{toks[0], 49152}, StatusTokenOutOfRange, "49152")
}
