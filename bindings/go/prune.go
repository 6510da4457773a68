package llmcore

/*
#include <stdlib.h>
#include <llmcore.h>

extern bool goPruneProgressCallback(size_t layer, llmc_prune_stage stage, size_t done, size_t total, void *user_data);
*/
import "C"

import (
	"runtime/cgo"
	"unsafe"
)

// PruneMethod is a pruning method.
type PruneMethod uint32

const (
	// PruneMagnitude: smallest |W| per matrix; needs no calibration (unless OWL is on).
	PruneMagnitude PruneMethod = PruneMethod(C.LLMC_PRUNE_MAGNITUDE)
	// PruneWanda: |W_ij| ||X_j||_2 per output row.
	PruneWanda PruneMethod = PruneMethod(C.LLMC_PRUNE_WANDA)
	// PruneSparseGPT: masks and updates from the inputs' Hessian.
	PruneSparseGPT PruneMethod = PruneMethod(C.LLMC_PRUNE_SPARSEGPT)
	// PruneFISTA: the l1-regularized reconstruction solved by FISTA.
	PruneFISTA PruneMethod = PruneMethod(C.LLMC_PRUNE_FISTA)
)

// PruneMode is what each layer's inputs are while pruning.
type PruneMode uint32

const (
	// PruneModeDefault: the method's own (dense-input for FISTA, sequential otherwise).
	PruneModeDefault PruneMode = PruneMode(C.LLMC_PRUNE_MODE_DEFAULT)
	// PruneModeSequential: each layer sees the already pruned layers' outputs.
	PruneModeSequential PruneMode = PruneMode(C.LLMC_PRUNE_MODE_SEQUENTIAL)
	// PruneModeDenseInput: each layer sees the dense model's inputs.
	PruneModeDenseInput PruneMode = PruneMode(C.LLMC_PRUNE_MODE_DENSE_INPUT)
)

// PruneFormat is how the pruned model's linear weights are written (zeros stay exact).
type PruneFormat uint32

const (
	PruneF16  PruneFormat = PruneFormat(C.LLMC_PRUNE_FORMAT_F16)
	PruneQ8_0 PruneFormat = PruneFormat(C.LLMC_PRUNE_FORMAT_Q8_0)
	PruneQ4_0 PruneFormat = PruneFormat(C.LLMC_PRUNE_FORMAT_Q4_0)
)

// FistaWarm is where FISTA starts from.
type FistaWarm uint32

const (
	FistaWarmWanda     FistaWarm = FistaWarm(C.LLMC_FISTA_WARM_WANDA)
	FistaWarmSparseGPT FistaWarm = FistaWarm(C.LLMC_FISTA_WARM_SPARSEGPT)
)

// PruneStage is what a pruning run is doing (PruneProgress.Stage).
type PruneStage uint32

const (
	StageOutliers   PruneStage = PruneStage(C.LLMC_PRUNE_STAGE_OUTLIERS)
	StageInputs     PruneStage = PruneStage(C.LLMC_PRUNE_STAGE_INPUTS)
	StageStatistics PruneStage = PruneStage(C.LLMC_PRUNE_STAGE_STATISTICS)
	StagePrune      PruneStage = PruneStage(C.LLMC_PRUNE_STAGE_PRUNE)
	StagePropagate  PruneStage = PruneStage(C.LLMC_PRUNE_STAGE_PROPAGATE)
	StageSave       PruneStage = PruneStage(C.LLMC_PRUNE_STAGE_SAVE)
)

// PruneParams say how to prune; start from DefaultPruneParams. The fields are those of
// llmc_prune_params (see llmcore.h): NMN and NMM both 0 mean unstructured Sparsity; OwlM 0
// turns OWL off; Calib "" means none (magnitude without OWL only); SeqLen 0 means 2048 or the
// model's context when shorter. Settings of another method than the chosen one are ignored.
type PruneParams struct {
	Method           PruneMethod
	Sparsity         float64
	NMN, NMM         int
	Mode             PruneMode
	OwlM, OwlLambda  float64
	Calib            string
	NSamples, SeqLen int
	Seed             uint64
	Format           PruneFormat
	Overwrite        bool
	SparseGPTBlock   int
	SparseGPTDamp    float64
	FistaIters       int
	FistaRounds      int
	FistaTolerance   float64
	FistaWarm        FistaWarm
	FistaRefit       bool
}

// DefaultPruneParams: Wanda at 50% unstructured in its own mode, no OWL, 128 windows of 2048
// tokens (or the model's context), seed 0, F16 weights, no overwrite; Calib must be set.
func DefaultPruneParams() PruneParams {
	c := C.llmc_prune_default_params()
	return PruneParams{Method: PruneMethod(c.method), Sparsity: float64(c.sparsity),
		NMN: int(c.nm_n), NMM: int(c.nm_m), Mode: PruneMode(c.mode), OwlM: float64(c.owl_m),
		OwlLambda: float64(c.owl_lambda), NSamples: int(c.nsamples), SeqLen: int(c.seqlen),
		Seed: uint64(c.seed), Format: PruneFormat(c.format), Overwrite: bool(c.overwrite),
		SparseGPTBlock: int(c.sparsegpt_block), SparseGPTDamp: float64(c.sparsegpt_damp),
		FistaIters: int(c.fista_iters), FistaRounds: int(c.fista_rounds),
		FistaTolerance: float64(c.fista_tolerance), FistaWarm: FistaWarm(c.fista_warm),
		FistaRefit: bool(c.fista_refit)}
}

// PruneProgress is where a pruning run is: at Layer doing Stage, Done of Total work units.
type PruneProgress struct {
	Layer       int
	Stage       PruneStage
	Done, Total int
}

// PruneResult is what a pruning run did.
type PruneResult struct {
	Sparsity                  float64 // exactly-zero weights over the pruned matrices' weights
	Matrices                  int
	CalibrationTokens         int
	PruneSeconds, SaveSeconds float64
}

//export goPruneProgressCallback
func goPruneProgressCallback(layer C.size_t, stage C.llmc_prune_stage, done, total C.size_t, userData unsafe.Pointer) C.bool {
	f := (*cgo.Handle)(userData).Value().(func(PruneProgress) bool)
	return C.bool(f(PruneProgress{Layer: int(layer), Stage: PruneStage(stage), Done: int(done), Total: int(total)}))
}

// Prune prunes the GGUF model at modelPath into a new GGUF file at outPath (llmc_prune: the
// library opens its own copy of the model; bad settings are errors before any work; a failed
// or cancelled run leaves no file). progress (may be nil) returning false cancels with
// StatusCancelled.
func Prune(modelPath, outPath string, p PruneParams, progress func(PruneProgress) bool) (PruneResult, error) {
	for _, v := range []int{p.NMN, p.NMM, p.NSamples, p.SeqLen, p.SparseGPTBlock, p.FistaIters, p.FistaRounds} {
		if v < 0 {
			return PruneResult{}, &Error{Status: StatusInvalidArgument, Message: "Prune: a count in PruneParams is negative"}
		}
	}
	c := C.llmc_prune_default_params()
	c.method = C.llmc_prune_method(p.Method)
	c.sparsity = C.double(p.Sparsity)
	c.nm_n = C.size_t(p.NMN)
	c.nm_m = C.size_t(p.NMM)
	c.mode = C.llmc_prune_mode(p.Mode)
	c.owl_m = C.double(p.OwlM)
	c.owl_lambda = C.double(p.OwlLambda)
	if p.Calib != "" {
		c.calib = C.CString(p.Calib)
		defer C.free(unsafe.Pointer(c.calib))
	}
	c.nsamples = C.size_t(p.NSamples)
	c.seqlen = C.size_t(p.SeqLen)
	c.seed = C.uint64_t(p.Seed)
	c.format = C.llmc_prune_format(p.Format)
	c.overwrite = C.bool(p.Overwrite)
	c.sparsegpt_block = C.size_t(p.SparseGPTBlock)
	c.sparsegpt_damp = C.double(p.SparseGPTDamp)
	c.fista_iters = C.size_t(p.FistaIters)
	c.fista_rounds = C.size_t(p.FistaRounds)
	c.fista_tolerance = C.double(p.FistaTolerance)
	c.fista_warm = C.llmc_fista_warm(p.FistaWarm)
	c.fista_refit = C.bool(p.FistaRefit)
	cmodel := C.CString(modelPath)
	defer C.free(unsafe.Pointer(cmodel))
	cout := C.CString(outPath)
	defer C.free(unsafe.Pointer(cout))
	var cb C.llmc_prune_progress
	var ud unsafe.Pointer
	if progress != nil {
		h := cgo.NewHandle(progress)
		defer h.Delete()
		cb = C.llmc_prune_progress(C.goPruneProgressCallback)
		ud = unsafe.Pointer(&h) // a Go pointer to memory without Go pointers, for the call only
	}
	var r C.llmc_prune_result
	r.struct_size = C.size_t(unsafe.Sizeof(r))
	if err := call(func() C.llmc_status { return C.llmc_prune(cmodel, cout, &c, cb, ud, &r) }); err != nil {
		return PruneResult{}, err
	}
	return PruneResult{Sparsity: float64(r.sparsity), Matrices: int(r.n_matrices),
		CalibrationTokens: int(r.calibration_tokens), PruneSeconds: float64(r.prune_seconds),
		SaveSeconds: float64(r.save_seconds)}, nil
}
