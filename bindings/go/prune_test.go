package llmcore

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// calibSpec is the repository's calibration excerpt as a "file:" source.
func calibSpec(t *testing.T) string {
	p, err := filepath.Abs(filepath.Join("..", "..", "tests", "data", "persuasion_excerpt.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatal(err)
	}
	return "file:" + p
}

func TestCalibWindowsAndSelfGen(t *testing.T) {
	m := load(t)
	defer m.Close()
	w, err := m.CalibWindows(calibSpec(t), 3, 16, 5)
	if err != nil || len(w) != 3 || len(w[2]) != 16 {
		t.Fatalf("windows %v, %v", w, err)
	}
	var e *Error
	if _, err := m.CalibWindows("web", 1, 16, 0); !errors.As(err, &e) || e.Status != StatusInvalidArgument {
		t.Fatalf("want an invalid source, got %v", err)
	}
	p := DefaultSelfGenParams()
	if p.Texts != 500 || p.SeedTokens != 2 || p.MaxNew != 512 || p.Drop != 0.2 {
		t.Fatalf("defaults %+v", p)
	}
	p.Texts, p.MaxNew, p.Drop = 2, 4, 0
	out := filepath.Join(t.TempDir(), "set.json")
	seeds := "Once upon a time\n\nThe weather today"
	calls := 0
	if err := m.CalibSelfGen(seeds, out, p, func(done, total int) bool { calls++; return true }); err != nil || calls != 2 {
		t.Fatalf("selfgen: %v after %d calls", err, calls)
	}
	if w, err := m.CalibWindows("selfgen:"+out, 2, 2, 0); err != nil || len(w) != 2 {
		t.Fatalf("selfgen windows %v, %v", w, err)
	}
	cancelled := filepath.Join(t.TempDir(), "cancelled.json")
	err = m.CalibSelfGen(seeds, cancelled, p, func(int, int) bool { return false })
	if !errors.As(err, &e) || e.Status != StatusCancelled {
		t.Fatalf("want cancelled, got %v", err)
	}
	if _, err := os.Stat(cancelled); !os.IsNotExist(err) {
		t.Fatalf("a cancelled selfgen left %s", cancelled)
	}
}

func TestPrune(t *testing.T) {
	model := modelPath(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "pruned.gguf")
	d := DefaultPruneParams()
	if d.Method != PruneWanda || d.Sparsity != 0.5 || d.NSamples != 128 || d.Format != PruneF16 || d.Overwrite || !d.FistaRefit {
		t.Fatalf("defaults %+v", d)
	}
	var e *Error
	bad := func(p PruneParams, status int, needle string) {
		t.Helper()
		_, err := Prune(model, out, p, nil)
		if !errors.As(err, &e) || e.Status != status || !strings.Contains(e.Message, needle) {
			t.Fatalf("want status %d with %q, got %v", status, needle, err)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Fatalf("a failed prune left %s", out)
		}
	}
	bad(d, StatusInvalidArgument, "needs calibration")
	p := d
	p.Calib, p.NSamples, p.SeqLen = calibSpec(t), 2, 32
	q := p
	q.Sparsity = 1
	bad(q, StatusInvalidArgument, "outside [0, 1)")
	q = p
	q.NMN, q.NMM = 2, 5
	bad(q, StatusInvalidArgument, "does not divide the 576 columns")
	q = p
	q.Method = 17
	bad(q, StatusInvalidArgument, "params->method 17")
	q = p
	q.NSamples = -1
	bad(q, StatusInvalidArgument, "negative")

	stages := map[PruneStage]int{}
	_, err := Prune(model, out, p, func(pr PruneProgress) bool {
		stages[pr.Stage]++
		return pr.Stage != StagePrune
	})
	if !errors.As(err, &e) || e.Status != StatusCancelled || stages[StagePrune] != 1 {
		t.Fatalf("want cancelled at the first prune, got %v, %v", err, stages)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatalf("a cancelled prune left %s", out)
	}

	p.Format = PruneQ8_0
	r, err := Prune(model, out, p, nil)
	if err != nil || r.Matrices != 210 || r.Sparsity < 0.499 || r.Sparsity > 0.501 || r.CalibrationTokens != 64 {
		t.Fatalf("prune %+v, %v", r, err)
	}
	back, err := Load(out)
	if err != nil {
		t.Fatal(err)
	}
	defer back.Close()
	if v, err := back.Metadata("llmcore.prune.method"); err != nil || v != "wanda" {
		t.Fatalf("llmcore.prune.method %q, %v", v, err)
	}
	if _, err := Prune(model, out, p, nil); !errors.As(err, &e) || e.Status != StatusIO {
		t.Fatalf("want an existing-output error, got %v", err)
	}
}
