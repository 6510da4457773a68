package llmcore

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// evalTasks writes a multiple-choice task (the shortest choice is the gold one in the first
// and third questions) and a generation task (answers "yes" and "no") as the suite "mini".
func evalTasks(t *testing.T) (dir, mc, gen string) {
	dir = t.TempDir()
	suite := filepath.Join(dir, "mini")
	if err := os.Mkdir(suite, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"mc.json": `{"name": "mc", "docs": "mc.jsonl", "output_type": "multiple_choice",
  "doc_to_text": "Q: {{q}}\nA:", "doc_to_choice": "{{choices}}", "doc_to_target": "{{answer}}",
  "metrics": ["acc"]}`,
		"mc.jsonl": `{"q": "a", "choices": ["xx", "y"], "answer": 1}
{"q": "b", "choices": ["z", "ww"], "answer": 1}
{"q": "c", "choices": ["vvv", "u", "tt"], "answer": 1}
`,
		"gen.json": `{"name": "gen", "docs": "gen.jsonl", "output_type": "generate_until",
  "doc_to_text": "Q: {{q}}\nA:", "doc_to_target": "{{a}}", "until": ["\n"], "max_tokens": 8,
  "metrics": ["exact_match"]}`,
		"gen.jsonl":  "{\"q\": \"1\", \"a\": \"yes\"}\n{\"q\": \"2\", \"a\": \"no\"}\n",
		"suite.json": `{"suite": "mini", "tasks": ["mc.json", "gen.json"]}`,
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(suite, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, filepath.Join(suite, "mc.json"), filepath.Join(suite, "gen.json")
}

// toyEngine scores a continuation by its length in bytes and answers " yes" past the stop.
type toyEngine struct {
	calls int
	fail  error
}

func (e *toyEngine) Name() string { return "go engine" }

func (e *toyEngine) Loglikelihood(reqs []EvalRequest) ([]EvalLogLikelihood, error) {
	e.calls++
	if e.fail != nil {
		return nil, e.fail
	}
	out := make([]EvalLogLikelihood, len(reqs))
	for i, r := range reqs {
		out[i] = EvalLogLikelihood{LogProb: -float64(len(r.Continuation)), IsGreedy: len(r.Continuation) == 2}
	}
	return out, nil
}

func (e *toyEngine) GenerateUntil(r EvalGenerateRequest) (string, error) {
	e.calls++
	if !strings.HasPrefix(r.Context, "Q: ") || len(r.Until) != 1 || r.Until[0] != "\n" || r.MaxTokens != 8 {
		return "wrong request", nil
	}
	return " yes\nQ: more", nil
}

// mcOnly has no GenerateUntil.
type mcOnly struct{ toy toyEngine }

func (e *mcOnly) Name() string { return "mc only" }

func (e *mcOnly) Loglikelihood(reqs []EvalRequest) ([]EvalLogLikelihood, error) {
	return e.toy.Loglikelihood(reqs)
}

type panics struct{ toyEngine }

func (e *panics) Loglikelihood([]EvalRequest) ([]EvalLogLikelihood, error) { panic("boom") }

func TestEvalEngine(t *testing.T) {
	dir, mc, gen := evalTasks(t)
	d := DefaultEvalParams()
	if d.Limit != -1 || d.NumFewshot != -1 || d.BootstrapIters != 1000 || d.BootstrapSeed != 1234 || d.Samples || d.MaxLength != 0 || d.Exact {
		t.Fatalf("defaults %+v", d)
	}
	p := d
	p.TasksDir = dir
	e := &toyEngine{}
	var seen []EvalProgress
	r, err := EvalEngine(e, "mini", p, func(pr EvalProgress) bool { seen = append(seen, pr); return true })
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if e.calls != 3 || len(seen) != 3 || seen[0] != (EvalProgress{0, 2, 7, 7}) || seen[2] != (EvalProgress{1, 2, 2, 2}) {
		t.Fatalf("%d calls, progress %v", e.calls, seen)
	}
	acc, stderr, err := r.Metric("mc", "acc")
	if err != nil || math.Abs(acc-2.0/3.0) > 1e-12 || stderr <= 0 {
		t.Fatalf("acc %v +- %v, %v", acc, stderr, err)
	}
	if em, _, err := r.Metric("gen", "exact_match"); err != nil || em != 0.5 {
		t.Fatalf("exact_match %v, %v", em, err)
	}
	js, err := r.JSON()
	if err != nil || !strings.Contains(js, `"model":{"name":"go engine","engine":"external"}`) || !strings.Contains(js, `"requests":9,`) {
		t.Fatalf("json %s, %v", js, err)
	}
	var le *Error
	if _, _, err := r.Metric("mc", "bleu"); !errors.As(err, &le) || le.Status != StatusInvalidArgument || !strings.Contains(le.Message, `task mc has no metric "bleu" (it has acc)`) {
		t.Fatalf("want an unknown metric, got %v", err)
	}
	r.Close()
	r.Close()

	bad := func(engine Engine, tasks string, p EvalParams, progress func(EvalProgress) bool, status int, needle string) {
		t.Helper()
		_, err := EvalEngine(engine, tasks, p, progress)
		if !errors.As(err, &le) || le.Status != status || !strings.Contains(le.Message, needle) {
			t.Fatalf("want status %d with %q, got %v", status, needle, err)
		}
	}
	both := mc + "," + gen
	m := &mcOnly{}
	bad(m, both, d, nil, StatusInvalidArgument, "engine has no generate_until callback (task gen needs it)")
	if m.toy.calls != 0 {
		t.Fatal("a task ran before the missing callback was found")
	}
	bad(e, "mini", d, nil, StatusInvalidArgument, `"mini" is neither a file`)
	q := d
	q.Limit = 0
	bad(e, mc, q, nil, StatusInvalidArgument, "params->limit 0")
	q = d
	q.BootstrapIters = -1
	bad(e, mc, q, nil, StatusInvalidArgument, "negative")
	bad(e, both, d, func(pr EvalProgress) bool { return pr.TaskIndex == 0 }, StatusCancelled, "cancelled by the progress callback in task gen")

	// An engine's error comes back wrapped in the library's message; a panic is an error too.
	down := errors.New("engine down")
	_, err = EvalEngine(&toyEngine{fail: down}, mc, d, nil)
	if !errors.Is(err, down) || !strings.Contains(err.Error(), "the engine's loglikelihood callback failed (task mc, 7 requests)") {
		t.Fatalf("want the engine's error, got %v", err)
	}
	if !errors.As(err, &le) || le.Status != StatusCallback {
		t.Fatalf("want StatusCallback, got %v", err)
	}
	_, err = EvalEngine(&panics{}, mc, d, nil)
	if err == nil || !strings.Contains(err.Error(), "panic in an eval callback: boom") {
		t.Fatalf("want the panic, got %v", err)
	}
}

func TestEvalModel(t *testing.T) {
	m := load(t)
	defer m.Close()
	dir := t.TempDir()
	task := filepath.Join(dir, "capitals.json")
	os.WriteFile(task, []byte(`{"name": "capitals", "docs": "capitals.jsonl", "output_type": "multiple_choice",
  "doc_to_text": "Question: What is the capital of {{country}}?\nAnswer:",
  "doc_to_choice": "{{choices}}", "doc_to_target": "{{answer}}", "metrics": ["acc", "acc_norm"]}`), 0o644)
	os.WriteFile(filepath.Join(dir, "capitals.jsonl"), []byte(
		"{\"country\": \"France\", \"choices\": [\"Paris\", \"Lyon\", \"Berlin\"], \"answer\": 0}\n"+
			"{\"country\": \"Italy\", \"choices\": [\"Rome\", \"Milan\", \"Madrid\"], \"answer\": 0}\n"), 0o644)
	p := DefaultEvalParams()
	p.ModelName = "smollm2"
	calls := 0
	r, err := EvalModel(m, task, p, func(EvalProgress) bool { calls++; return true })
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	acc, _, err := r.Metric("capitals", "acc")
	if err != nil || acc < 0 || acc > 1 || calls != 2 {
		t.Fatalf("acc %v after %d progress calls, %v", acc, calls, err)
	}
	js, _ := r.JSON()
	if !strings.Contains(js, `"name":"smollm2","path":null,"sha256":"b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"`) {
		t.Fatalf("model object in %s", js)
	}
	p.MaxLength = 1
	var le *Error
	if _, err := EvalModel(m, task, p, nil); !errors.As(err, &le) || le.Status != StatusInvalidArgument || !strings.Contains(le.Message, "params->max_length") {
		t.Fatalf("want a bad max_length, got %v", err)
	}
}
