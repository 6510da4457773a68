package llmcore

/*
#include <stdlib.h>
#include <llmcore.h>
*/
import "C"

import (
	"fmt"
	"runtime"
	"sync"
	"unsafe"
)

// OptimizerKind is the optimizer an Optimizer runs (llmc_optimizer_kind).
type OptimizerKind uint32

const (
	// AdamW as torch.optim.AdamW computes it (8 bytes of state per value).
	AdamW OptimizerKind = OptimizerKind(C.LLMC_OPTIMIZER_ADAMW)
	// Adafactor as Hugging Face transformers computes it (factored second moment).
	Adafactor OptimizerKind = OptimizerKind(C.LLMC_OPTIMIZER_ADAFACTOR)
	// Came as came-pytorch computes it (factored second moment and instability).
	Came OptimizerKind = OptimizerKind(C.LLMC_OPTIMIZER_CAME)
	// Adapprox keeps Adam's second moment as adaptive-rank factors.
	Adapprox OptimizerKind = OptimizerKind(C.LLMC_OPTIMIZER_ADAPPROX)
)

// OptimizerParams are the fields of llmc_optimizer_params (see llmcore.h for which fields
// each kind reads); start from DefaultOptimizerParams.
type OptimizerParams struct {
	Kind                                      OptimizerKind
	LR, Beta1, Beta2, Beta3, Eps, Eps2, Clip  float64
	WeightDecay, DecayRate                    float64
	FirstMoment, ScaleParameter, RelativeStep bool
	WarmupInit                                bool
	RankMin, RankMax, Oversample, PowerIters  uint32
	ErrorTarget                               float64
	Guidance                                  bool
	Seed                                      uint64
}

// DefaultOptimizerParams are kind's defaults (llmc_optimizer_default_params).
func DefaultOptimizerParams(kind OptimizerKind) OptimizerParams {
	c := C.llmc_optimizer_default_params(C.llmc_optimizer_kind(kind))
	return OptimizerParams{Kind: OptimizerKind(c.kind), LR: float64(c.lr),
		Beta1: float64(c.beta1), Beta2: float64(c.beta2), Beta3: float64(c.beta3),
		Eps: float64(c.eps), Eps2: float64(c.eps2), Clip: float64(c.clip),
		WeightDecay: float64(c.weight_decay), DecayRate: float64(c.decay_rate),
		FirstMoment: bool(c.first_moment), ScaleParameter: bool(c.scale_parameter),
		RelativeStep: bool(c.relative_step), WarmupInit: bool(c.warmup_init),
		RankMin: uint32(c.rank_min), RankMax: uint32(c.rank_max),
		Oversample: uint32(c.oversample), PowerIters: uint32(c.power_iters),
		ErrorTarget: float64(c.error_target), Guidance: bool(c.guidance), Seed: uint64(c.seed)}
}

func (p OptimizerParams) c() C.llmc_optimizer_params {
	c := C.llmc_optimizer_default_params(C.llmc_optimizer_kind(p.Kind))
	c.lr, c.beta1, c.beta2, c.beta3 = C.double(p.LR), C.double(p.Beta1), C.double(p.Beta2), C.double(p.Beta3)
	c.eps, c.eps2, c.clip = C.double(p.Eps), C.double(p.Eps2), C.double(p.Clip)
	c.weight_decay, c.decay_rate = C.double(p.WeightDecay), C.double(p.DecayRate)
	c.first_moment, c.scale_parameter = C.bool(p.FirstMoment), C.bool(p.ScaleParameter)
	c.relative_step, c.warmup_init = C.bool(p.RelativeStep), C.bool(p.WarmupInit)
	c.rank_min, c.rank_max = C.uint32_t(p.RankMin), C.uint32_t(p.RankMax)
	c.oversample, c.power_iters = C.uint32_t(p.Oversample), C.uint32_t(p.PowerIters)
	c.error_target, c.guidance, c.seed = C.double(p.ErrorTarget), C.bool(p.Guidance), C.uint64_t(p.Seed)
	return c
}

// ParamShape declares one parameter: a vector (Dims = {len}) or a row-major matrix
// (Dims = {rows, cols}); other lengths are refused by the library.
type ParamShape struct {
	Name string
	Dims []int
}

// ParamState is the state one parameter holds (llmc_param_state): its bytes and, for an
// Adapprox matrix, the rank and relative error of its second-moment factors (0 elsewhere).
type ParamState struct {
	Bytes int
	Rank  uint32
	Error float64
}

// Optimizer is an optimizer over float32 parameters (llmc_optimizer); its methods are
// serialized by a mutex.
//
// cgo does not let C receive an array of pointers to Go memory, so the Optimizer holds one
// staging buffer per parameter and per gradient in C memory. Step copies the caller's slices
// in and the updated parameters back out (on success only); to avoid the copies, keep the
// parameters and gradients in the staging buffers themselves (Staged) and call StepStaged.
type Optimizer struct {
	mu     sync.Mutex
	p      *C.llmc_optimizer
	names  []string
	lens   []int
	stage  unsafe.Pointer // every parameter, then every gradient (C memory)
	ptrs   unsafe.Pointer // 2n pointers into stage: the parameters', then the gradients'
	params [][]float32    // views of stage
	grads  [][]float32
}

func invalidArg(format string, args ...interface{}) error {
	return &Error{Status: StatusInvalidArgument, Message: fmt.Sprintf(format, args...)}
}

// NewOptimizer makes an optimizer of p.Kind for shapes, in the order Step takes them.
func NewOptimizer(p OptimizerParams, shapes []ParamShape) (*Optimizer, error) {
	n := len(shapes)
	cs := make([]C.llmc_param_shape, n+1) // +1: a valid pointer even for no parameters
	lens := make([]int, n)
	names := make([]string, n)
	for i, s := range shapes {
		for _, d := range s.Dims {
			if d < 0 {
				return nil, invalidArg("NewOptimizer: shapes[%d] ('%s') has a negative dimension", i, s.Name)
			}
		}
		name := C.CString(s.Name)
		defer C.free(unsafe.Pointer(name))
		cs[i].name = name
		cs[i].ndim = C.size_t(len(s.Dims))
		lens[i] = 1
		for j, d := range s.Dims {
			if j < 2 {
				cs[i].dims[j] = C.size_t(d)
			}
			lens[i] *= d
		}
		names[i] = s.Name
	}
	c := p.c()
	var h *C.llmc_optimizer
	err := call(func() C.llmc_status { return C.llmc_optimizer_new(&c, &cs[0], C.size_t(n), &h) })
	if err != nil {
		return nil, err
	}
	o := &Optimizer{p: h, names: names, lens: lens}
	total := 0
	for _, l := range lens {
		total += l
	}
	o.stage = C.calloc(C.size_t(2*total+1), C.size_t(unsafe.Sizeof(C.float(0))))
	o.ptrs = C.calloc(C.size_t(2*n+1), C.size_t(unsafe.Sizeof(uintptr(0))))
	if o.stage == nil || o.ptrs == nil {
		C.free(o.stage)
		C.free(o.ptrs)
		C.llmc_optimizer_free(h)
		return nil, &Error{Status: StatusInternal, Message: "NewOptimizer: out of memory for the staging buffers"}
	}
	all := unsafe.Slice((*float32)(o.stage), 2*total)
	ptrs := unsafe.Slice((**C.float)(o.ptrs), 2*n)
	off := 0
	for i, l := range lens {
		o.params = append(o.params, all[off:off+l:off+l])
		o.grads = append(o.grads, all[total+off:total+off+l:total+off+l])
		ptrs[i] = (*C.float)(unsafe.Add(o.stage, 4*off))
		ptrs[n+i] = (*C.float)(unsafe.Add(o.stage, 4*(total+off)))
		off += l
	}
	runtime.SetFinalizer(o, (*Optimizer).Close)
	return o, nil
}

// Close releases the optimizer and its staging buffers (slices from Staged become invalid).
// Safe to call twice.
func (o *Optimizer) Close() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.p != nil {
		C.llmc_optimizer_free(o.p)
		C.free(o.stage)
		C.free(o.ptrs)
		o.p, o.stage, o.ptrs, o.params, o.grads = nil, nil, nil, nil, nil
	}
	runtime.SetFinalizer(o, nil)
}

// Staged are the staging buffers of parameter i (its values and its gradient, in C memory,
// valid until Close): StepStaged updates the values in place from the gradient.
func (o *Optimizer) Staged(i int) (param, grad []float32) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if i < 0 || i >= len(o.params) {
		return nil, nil
	}
	return o.params[i], o.grads[i]
}

var errClosed = &Error{Status: StatusNullArgument, Message: "the optimizer is closed"}

func (o *Optimizer) stepStaged() error {
	if o.p == nil {
		return errClosed
	}
	n := C.size_t(len(o.lens))
	params := (**C.float)(o.ptrs)
	grads := (**C.float)(unsafe.Add(o.ptrs, uintptr(n)*unsafe.Sizeof(uintptr(0))))
	return call(func() C.llmc_status { return C.llmc_optimizer_step(o.p, params, grads, n) })
}

// StepStaged is one update of every parameter's staging buffer from its gradient's (Staged).
// All or nothing: on an error (a NaN gradient: the message names the tensor) nothing changed.
func (o *Optimizer) StepStaged() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.stepStaged()
}

// Step is one update of params[i] in place from grads[i], each as long as the i-th declared
// shape, through the staging buffers (copied in, and the parameters back out on success).
// All or nothing: on an error params are unchanged.
func (o *Optimizer) Step(params, grads [][]float32) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.p == nil {
		return errClosed
	}
	n := len(o.lens)
	if len(params) != n || len(grads) != n {
		return invalidArg("Step: %d parameters and %d gradients, the optimizer was created for %d",
			len(params), len(grads), n)
	}
	seen := make(map[*float32]int, n)
	for i, l := range o.lens {
		for _, s := range []struct {
			what string
			v    []float32
		}{{"params", params[i]}, {"grads", grads[i]}} {
			if len(s.v) != l {
				return invalidArg("Step: %s[%d] ('%s') holds %d values, its shape %d", s.what, i,
					o.names[i], len(s.v), l)
			}
		}
		if j, dup := seen[&params[i][0]]; dup {
			return invalidArg("Step: params[%d] ('%s') is the same slice as params[%d] ('%s')",
				i, o.names[i], j, o.names[j])
		}
		seen[&params[i][0]] = i
		copy(o.params[i], params[i])
		copy(o.grads[i], grads[i])
	}
	if err := o.stepStaged(); err != nil {
		return err
	}
	for i := range o.lens {
		copy(params[i], o.params[i])
	}
	return nil
}

// SetLR sets the learning rate of the following steps (finite and > 0).
func (o *Optimizer) SetLR(lr float64) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return call(func() C.llmc_status { return C.llmc_optimizer_set_lr(o.p, C.double(lr)) })
}

// LR is the learning rate the next step uses.
func (o *Optimizer) LR() (float64, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var lr C.double
	err := call(func() C.llmc_status { return C.llmc_optimizer_lr(o.p, &lr) })
	return float64(lr), err
}

// Steps is the number of steps taken (refused ones do not count).
func (o *Optimizer) Steps() (uint64, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var n C.uint64_t
	err := call(func() C.llmc_status { return C.llmc_optimizer_steps(o.p, &n) })
	return uint64(n), err
}

// StateBytes are the bytes of persistent state held now and the largest scratch one
// parameter's step allocates (the staging buffers are not counted).
func (o *Optimizer) StateBytes() (total, stepScratch int, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var t, s C.size_t
	err = call(func() C.llmc_status { return C.llmc_optimizer_state_bytes(o.p, &t, &s) })
	return int(t), int(s), err
}

// ParamState is the state parameter i holds.
func (o *Optimizer) ParamState(i int) (ParamState, error) {
	if i < 0 {
		return ParamState{}, invalidArg("ParamState: index %d", i)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	var s C.llmc_param_state
	s.struct_size = C.size_t(unsafe.Sizeof(s))
	err := call(func() C.llmc_status { return C.llmc_optimizer_param_state(o.p, C.size_t(i), &s) })
	if err != nil {
		return ParamState{}, err
	}
	return ParamState{Bytes: int(s.bytes), Rank: uint32(s.rank), Error: float64(s.error)}, nil
}
