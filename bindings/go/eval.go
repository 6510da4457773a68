package llmcore

/*
#include <stdint.h>
#include <stdlib.h>
#include <llmcore.h>

extern bool goEvalLoglikelihood(void *user_data, llmc_eval_pair *requests, size_t n, double *logprob_out, bool *is_greedy_out);
extern bool goEvalRolling(void *user_data, llmc_eval_text *texts, size_t n, double *logprob_out);
extern char *goEvalGenerate(void *user_data, char *context, size_t context_len, llmc_eval_text *until, size_t n_until, size_t max_tokens, size_t *text_len_out);
extern bool goEvalProgress(size_t task_index, size_t n_tasks, size_t done, size_t total, void *user_data);
*/
import "C"

import (
	"fmt"
	"runtime"
	"runtime/cgo"
	"unsafe"
)

// EvalParams say how to run tasks; start from DefaultEvalParams. The fields are those of
// llmc_eval_params (see llmcore.h): Limit -1 means every document, NumFewshot -1 each task's
// own, MaxLength 0 min(context length, 2048); MaxLength and Exact apply to EvalModel only.
// TasksDir is where suite names are looked up ("" = "tasks"); ModelName names the model in
// EvalModel's results ("" = its general.name).
type EvalParams struct {
	Limit, NumFewshot int
	BootstrapIters    int
	BootstrapSeed     uint64
	Samples           bool
	MaxLength         int
	Exact             bool
	TasksDir          string
	ModelName         string
}

// DefaultEvalParams: every document, each task's own few-shot count, 1000 bootstrap resamples
// with seed 1234, no samples, fast numerics (as `llmcore eval`).
func DefaultEvalParams() EvalParams {
	c := C.llmc_eval_default_params()
	return EvalParams{Limit: int(c.limit), NumFewshot: int(c.num_fewshot),
		BootstrapIters: int(c.bootstrap_iters), BootstrapSeed: uint64(c.bootstrap_seed),
		Samples: bool(c.samples), MaxLength: int(c.max_length), Exact: bool(c.exact)}
}

// EvalProgress is where an evaluation is: task TaskIndex (0-based) of NTasks, Done of its
// Total requests answered.
type EvalProgress struct {
	TaskIndex, NTasks, Done, Total int
}

// EvalRequest is a log-likelihood request: log p(Continuation | Context).
type EvalRequest struct {
	Context, Continuation string
}

// EvalLogLikelihood answers an EvalRequest: LogProb in nats, and whether the continuation is
// the greedy one.
type EvalLogLikelihood struct {
	LogProb  float64
	IsGreedy bool
}

// EvalGenerateRequest asks for the greedy text after Context, at most MaxTokens tokens,
// stopping at the first of Until (text past it is cut by the library).
type EvalGenerateRequest struct {
	Context   string
	Until     []string
	MaxTokens int
}

// Engine is a language model that is not ours, for EvalEngine. Name names it in the results;
// it implements whichever of LoglikelihoodEngine (multiple-choice tasks), RollingEngine
// (loglikelihood_rolling tasks) and GenerateEngine (generation tasks) its tasks need: a task
// that needs one it lacks is an error before any work. The methods run on the goroutine that
// called EvalEngine, one at a time.
type Engine interface {
	Name() string
}

// LoglikelihoodEngine answers a task's log-likelihood requests, all at once and in order.
type LoglikelihoodEngine interface {
	Engine
	Loglikelihood(requests []EvalRequest) ([]EvalLogLikelihood, error)
}

// RollingEngine gives the log-likelihood of each whole text from an empty context.
type RollingEngine interface {
	Engine
	LoglikelihoodRolling(texts []string) ([]float64, error)
}

// GenerateEngine answers one generation request.
type GenerateEngine interface {
	Engine
	GenerateUntil(request EvalGenerateRequest) (string, error)
}

// EvalResults are an evaluation's results, safe for concurrent use.
type EvalResults struct {
	p *C.llmc_eval_results
}

func newEvalResults(p *C.llmc_eval_results) *EvalResults {
	r := &EvalResults{p: p}
	runtime.SetFinalizer(r, (*EvalResults).Close)
	return r
}

// Close releases the results. Safe to call twice.
func (r *EvalResults) Close() {
	if r.p != nil {
		C.llmc_eval_results_free(r.p)
		r.p = nil
	}
	runtime.SetFinalizer(r, nil)
}

// JSON is the results object of `llmcore eval --out`: model, settings, tasks (each with its
// file hash, metrics and, when asked for, samples), categories, timing.
func (r *EvalResults) JSON() (string, error) {
	defer runtime.KeepAlive(r)
	return readText(func(b *C.char, c C.size_t, n *C.size_t) C.llmc_status {
		return C.llmc_eval_results_json(r.p, b, c, n)
	})
}

// Metric is the value of metric ("acc", "exact_match", ...) over task and its bootstrap
// standard error; an unknown task or metric is a StatusInvalidArgument error naming what there is.
func (r *EvalResults) Metric(task, metric string) (value, stderr float64, err error) {
	ctask := C.CString(task)
	defer C.free(unsafe.Pointer(ctask))
	cmetric := C.CString(metric)
	defer C.free(unsafe.Pointer(cmetric))
	var v, s C.double
	err = call(func() C.llmc_status { return C.llmc_eval_results_metric(r.p, ctask, cmetric, &v, &s) })
	runtime.KeepAlive(r)
	return float64(v), float64(s), err
}

// evalRun is what one evaluation's callbacks reach through their handle.
type evalRun struct {
	engine   Engine
	progress func(EvalProgress) bool
	answer   *C.char // GenerateUntil's last text, valid until the next call
	err      error   // the first error or panic of a callback
}

// guard runs a callback's body; an error or a panic is kept and fails the callback.
func (r *evalRun) guard(f func() error) (ok bool) {
	defer func() {
		if p := recover(); p != nil {
			if r.err == nil {
				r.err = fmt.Errorf("panic in an eval callback: %v", p)
			}
			ok = false
		}
	}()
	if err := f(); err != nil {
		if r.err == nil {
			r.err = err
		}
		return false
	}
	return true
}

// evalRunOf is the run behind a callback's user data: C memory holding the run's handle.
func evalRunOf(userData unsafe.Pointer) *evalRun {
	return cgo.Handle(*(*C.uintptr_t)(userData)).Value().(*evalRun)
}

func evalCount(callback string, got, want int) error {
	if got != want {
		return fmt.Errorf("the engine's %s answered %d of %d requests", callback, got, want)
	}
	return nil
}

func evalTexts(texts *C.llmc_eval_text, n C.size_t) []string {
	out := make([]string, int(n))
	for i, t := range unsafe.Slice(texts, int(n)) {
		out[i] = C.GoStringN(t.text, C.int(t.len))
	}
	return out
}

//export goEvalLoglikelihood
func goEvalLoglikelihood(userData unsafe.Pointer, requests *C.llmc_eval_pair, n C.size_t, logprobOut *C.double, isGreedyOut *C.bool) C.bool {
	run := evalRunOf(userData)
	return C.bool(run.guard(func() error {
		reqs := make([]EvalRequest, int(n))
		for i, r := range unsafe.Slice(requests, int(n)) {
			reqs[i] = EvalRequest{Context: C.GoStringN(r.context, C.int(r.context_len)),
				Continuation: C.GoStringN(r.continuation, C.int(r.continuation_len))}
		}
		out, err := run.engine.(LoglikelihoodEngine).Loglikelihood(reqs)
		if err != nil {
			return err
		}
		if err := evalCount("Loglikelihood", len(out), len(reqs)); err != nil {
			return err
		}
		lp, greedy := unsafe.Slice(logprobOut, int(n)), unsafe.Slice(isGreedyOut, int(n))
		for i, o := range out {
			lp[i], greedy[i] = C.double(o.LogProb), C.bool(o.IsGreedy)
		}
		return nil
	}))
}

//export goEvalRolling
func goEvalRolling(userData unsafe.Pointer, texts *C.llmc_eval_text, n C.size_t, logprobOut *C.double) C.bool {
	run := evalRunOf(userData)
	return C.bool(run.guard(func() error {
		out, err := run.engine.(RollingEngine).LoglikelihoodRolling(evalTexts(texts, n))
		if err != nil {
			return err
		}
		if err := evalCount("LoglikelihoodRolling", len(out), int(n)); err != nil {
			return err
		}
		lp := unsafe.Slice(logprobOut, int(n))
		for i, o := range out {
			lp[i] = C.double(o)
		}
		return nil
	}))
}

//export goEvalGenerate
func goEvalGenerate(userData unsafe.Pointer, context *C.char, contextLen C.size_t, until *C.llmc_eval_text, nUntil C.size_t, maxTokens C.size_t, textLenOut *C.size_t) *C.char {
	run := evalRunOf(userData)
	ok := run.guard(func() error {
		req := EvalGenerateRequest{Context: C.GoStringN(context, C.int(contextLen)),
			Until: evalTexts(until, nUntil), MaxTokens: int(maxTokens)}
		text, err := run.engine.(GenerateEngine).GenerateUntil(req)
		if err != nil {
			return err
		}
		C.free(unsafe.Pointer(run.answer))
		run.answer = C.CString(text)
		*textLenOut = C.size_t(len(text))
		return nil
	})
	if !ok {
		return nil
	}
	return run.answer
}

//export goEvalProgress
func goEvalProgress(taskIndex, nTasks, done, total C.size_t, userData unsafe.Pointer) C.bool {
	run := evalRunOf(userData)
	goOn := false
	ok := run.guard(func() error {
		goOn = run.progress(EvalProgress{TaskIndex: int(taskIndex), NTasks: int(nTasks), Done: int(done), Total: int(total)})
		return nil
	})
	return C.bool(ok && goOn)
}

// evaluate converts the params and runs f (llmc_eval_run or llmc_eval_run_model) with the
// callbacks of run; an error a callback returned (or its panic) comes back wrapped in the
// library's message.
func evaluate(tasks string, p EvalParams, run *evalRun, f func(ctasks, cdir *C.char, c *C.llmc_eval_params, cb C.llmc_eval_progress, ud unsafe.Pointer, out **C.llmc_eval_results) C.llmc_status) (*EvalResults, error) {
	if p.BootstrapIters < 0 || p.MaxLength < 0 {
		return nil, &Error{Status: StatusInvalidArgument, Message: "Eval: BootstrapIters or MaxLength is negative"}
	}
	c := C.llmc_eval_default_params()
	c.limit = C.int64_t(p.Limit)
	c.num_fewshot = C.int64_t(p.NumFewshot)
	c.bootstrap_iters = C.size_t(p.BootstrapIters)
	c.bootstrap_seed = C.uint64_t(p.BootstrapSeed)
	c.samples = C.bool(p.Samples)
	c.max_length = C.size_t(p.MaxLength)
	c.exact = C.bool(p.Exact)
	ctasks := C.CString(tasks)
	defer C.free(unsafe.Pointer(ctasks))
	var cdir *C.char
	if p.TasksDir != "" {
		cdir = C.CString(p.TasksDir)
		defer C.free(unsafe.Pointer(cdir))
	}
	h := cgo.NewHandle(run)
	defer h.Delete()
	// The callbacks' user data is C memory holding the handle (C may keep no Go pointer).
	slot := (*C.uintptr_t)(C.malloc(C.size_t(unsafe.Sizeof(C.uintptr_t(0)))))
	defer C.free(unsafe.Pointer(slot))
	*slot = C.uintptr_t(h)
	defer func() { C.free(unsafe.Pointer(run.answer)) }()
	var cb C.llmc_eval_progress
	if run.progress != nil {
		cb = C.llmc_eval_progress(C.goEvalProgress)
	}
	var out *C.llmc_eval_results
	err := call(func() C.llmc_status { return f(ctasks, cdir, &c, cb, unsafe.Pointer(slot), &out) })
	if run.err != nil {
		lib, ok := err.(*Error)
		if !ok {
			lib = &Error{Status: StatusCallback, Message: "eval"}
		}
		return nil, &engineError{lib: lib, cause: run.err}
	}
	if err != nil {
		return nil, err
	}
	return newEvalResults(out), nil
}

// engineError is the library's error for a run an engine's error stopped, wrapping the
// engine's error: errors.Is / errors.As find the engine's error, and errors.As also finds
// the library's *Error (StatusCallback).
type engineError struct {
	lib   *Error
	cause error
}

func (e *engineError) Error() string { return e.lib.Error() + ": " + e.cause.Error() }
func (e *engineError) Unwrap() error { return e.cause }
func (e *engineError) As(target interface{}) bool {
	if t, ok := target.(**Error); ok {
		*t = e.lib
		return true
	}
	return false
}

// EvalEngine runs the tasks that tasks names (llmc_eval_run: a comma-separated list of task
// files, suite files or directories, or suite names in p.TasksDir) on engine. progress (may
// be nil) returning false cancels with StatusCancelled. A task needing a method the engine
// lacks is a StatusInvalidArgument error before any work; an error the engine returns stops
// the run and comes back wrapped (errors.Is / errors.As find it).
func EvalEngine(engine Engine, tasks string, p EvalParams, progress func(EvalProgress) bool) (*EvalResults, error) {
	_, ll := engine.(LoglikelihoodEngine)
	_, rolling := engine.(RollingEngine)
	_, gen := engine.(GenerateEngine)
	cname := C.CString(engine.Name())
	defer C.free(unsafe.Pointer(cname))
	run := &evalRun{engine: engine, progress: progress}
	return evaluate(tasks, p, run, func(ctasks, cdir *C.char, c *C.llmc_eval_params, cb C.llmc_eval_progress, ud unsafe.Pointer, out **C.llmc_eval_results) C.llmc_status {
		var e C.llmc_eval_engine
		e.struct_size = C.size_t(unsafe.Sizeof(e))
		e.user_data = ud
		if ll {
			e.loglikelihood = C.llmc_eval_loglikelihood_fn(C.goEvalLoglikelihood)
		}
		if rolling {
			e.loglikelihood_rolling = C.llmc_eval_rolling_fn(C.goEvalRolling)
		}
		if gen {
			e.generate_until = C.llmc_eval_generate_fn(C.goEvalGenerate)
		}
		return C.llmc_eval_run(&e, cname, ctasks, cdir, c, cb, ud, out)
	})
}

// EvalModel runs the tasks on m with this library's runtime (llmc_eval_run_model); the
// results' model object holds the model file's SHA-256.
func EvalModel(m *Model, tasks string, p EvalParams, progress func(EvalProgress) bool) (*EvalResults, error) {
	var cname *C.char
	if p.ModelName != "" {
		cname = C.CString(p.ModelName)
		defer C.free(unsafe.Pointer(cname))
	}
	run := &evalRun{progress: progress}
	defer runtime.KeepAlive(m)
	return evaluate(tasks, p, run, func(ctasks, cdir *C.char, c *C.llmc_eval_params, cb C.llmc_eval_progress, ud unsafe.Pointer, out **C.llmc_eval_results) C.llmc_status {
		return C.llmc_eval_run_model(m.p, cname, ctasks, cdir, c, cb, ud, out)
	})
}
