package llmcore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// modelPath is SmolLM2 under $LLMCORE_ASSETS, or the repository's assets/.
func modelPath(t *testing.T) string {
	return assetModel(t, "SmolLM2-135M-Instruct.Q4_1.gguf")
}

// assetModel is the model file name under $LLMCORE_ASSETS/models, or the repository's assets/.
func assetModel(t *testing.T, name string) string {
	dir := os.Getenv("LLMCORE_ASSETS")
	if dir == "" {
		dir = filepath.Join("..", "..", "assets")
	}
	p := filepath.Join(dir, "models", name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s is missing: run scripts/fetch-assets.sh (or set LLMCORE_ASSETS)", p)
	}
	return p
}

func load(t *testing.T) *Model {
	m, err := Load(modelPath(t))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestVersion(t *testing.T) {
	if ABIVersion() != HeaderABIVersion {
		t.Fatalf("library ABI %d, header ABI %d", ABIVersion(), HeaderABIVersion)
	}
	if want := fmt.Sprintf("%d.%d.%d", VersionMajor, VersionMinor, VersionPatch); Version() != want {
		t.Fatalf("version %q, header %q", Version(), want)
	}
}

func TestErrorsCarryStatusAndMessage(t *testing.T) {
	_, err := Load("/nonexistent/model.gguf")
	var e *Error
	if !errors.As(err, &e) || e.Status != StatusIO || e.Message == "" {
		t.Fatalf("want an IO error, got %v", err)
	}
	m := load(t)
	defer m.Close()
	info, err := m.Info()
	if err != nil || info.Arch != "llama" || info.NLayer != 30 || info.VocabSize != 49152 {
		t.Fatalf("info %+v, %v", info, err)
	}
	if _, err := m.Detokenize([]Token{info.VocabSize}); !errors.As(err, &e) || e.Status != StatusTokenOutOfRange {
		t.Fatalf("want token out of range, got %v", err)
	}
	if _, err := m.Metadata("no.such.key"); !errors.As(err, &e) || e.Status != StatusMissingMetadata {
		t.Fatalf("want missing metadata, got %v", err)
	}
	s, err := m.NewSession(4, Fast)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Eval(make([]Token, 5)); !errors.As(err, &e) || e.Status != StatusContextOverflow {
		t.Fatalf("want context overflow, got %v", err)
	}
	if _, err := m.NewSessionKV(4, Fast, KVType(7)); !errors.As(err, &e) || e.Status != StatusInvalidArgument {
		t.Fatalf("want invalid argument for KV type 7, got %v", err)
	}
	s32, err := m.NewSessionKV(4, Fast, KVF32)
	if err != nil {
		t.Fatal(err)
	}
	s32.Close()
}

func TestTokenizeRoundTrip(t *testing.T) {
	m := load(t)
	defer m.Close()
	text := "The capital of France is"
	toks, err := m.Tokenize(text, true)
	if err != nil || len(toks) < 4 {
		t.Fatalf("%v %v", toks, err)
	}
	back, err := m.Detokenize(toks)
	if err != nil || back != text {
		t.Fatalf("%q %v", back, err)
	}
	arch, err := m.Metadata("general.architecture")
	if err != nil || arch != "llama" {
		t.Fatalf("%q %v", arch, err)
	}
}

// generate runs a greedy generation of n tokens on its own session.
func generate(t *testing.T, m *Model, prompt string, n int) string {
	toks, err := m.Tokenize(prompt, true)
	if err != nil {
		t.Error(err)
		return ""
	}
	s, err := m.NewSession(len(toks)+n, Fast)
	if err != nil {
		t.Error(err)
		return ""
	}
	defer s.Close()
	p := DefaultGenerateParams()
	p.MaxTokens = n
	streamed := ""
	g, err := s.Generate(toks, p, func(piece string) bool { streamed += piece; return true })
	if err != nil {
		t.Error(err)
		return ""
	}
	if g.Text != streamed || g.Tokens != n || g.StopReason != StopMaxTokens {
		t.Errorf("generation %+v, streamed %q", g, streamed)
	}
	return g.Text
}

func TestGoroutinesShareOneModel(t *testing.T) {
	m := load(t)
	defer m.Close()
	prompts := []string{"The capital of France is", "def fibonacci(n):"}
	serial := make([]string, len(prompts))
	for i, p := range prompts {
		serial[i] = generate(t, m, p, 16)
	}
	parallel := make([]string, len(prompts))
	var wg sync.WaitGroup
	for i, p := range prompts {
		wg.Add(1)
		go func(i int, p string) {
			defer wg.Done()
			parallel[i] = generate(t, m, p, 16)
		}(i, p)
	}
	wg.Wait()
	for i := range prompts {
		if serial[i] == "" || serial[i] != parallel[i] {
			t.Fatalf("prompt %d: serial %q, parallel %q", i, serial[i], parallel[i])
		}
	}
}

func TestCallbacksStopAndCancel(t *testing.T) {
	m := load(t)
	toks, _ := m.Tokenize("The capital of France is", true)
	s, err := m.NewSession(64, Fast)
	if err != nil {
		t.Fatal(err)
	}
	m.Close() // the session keeps the model alive
	p := DefaultGenerateParams()
	p.MaxTokens = 16
	pieces := 0
	g, err := s.Generate(toks, p, func(string) bool { pieces++; return pieces < 2 })
	if err != nil || g.StopReason != StopCallback || pieces != 2 {
		t.Fatalf("%+v %v %d", g, err, pieces)
	}
	if n, _ := s.Len(); n == 0 {
		t.Fatal("session is empty after generating")
	}
	s.Close()

	m = load(t)
	defer m.Close()
	pp := DefaultPerplexityParams()
	pp.Ctx = 4
	calls := 0
	r, err := m.Perplexity(toks, pp, func(done, total int) bool { calls++; return true })
	if err != nil || r.Windows != 1 || calls != 1 || r.PPL <= 1 {
		t.Fatalf("%+v %v %d", r, err, calls)
	}
	var e *Error
	_, err = m.Perplexity(toks, pp, func(done, total int) bool { return false })
	if !errors.As(err, &e) || e.Status != StatusCancelled {
		t.Fatalf("want cancelled, got %v", err)
	}
	lp, _, err := m.LogLikelihood(toks[:2], toks[2:3], Fast)
	if err != nil || lp >= 0 {
		t.Fatalf("%v %v", lp, err)
	}
}
