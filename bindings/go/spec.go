package llmcore

/*
#include <stdlib.h>
#include <llmcore.h>

extern bool goTextCallback(char *text, size_t len, void *user_data);
*/
import "C"

import (
	"runtime"
	"runtime/cgo"
	"unsafe"
)

// TreeKind is the tree a draft fills each speculative step.
type TreeKind uint32

const (
	// TreeOpt: OPT-Tree, the tree maximizing the expected accepted length, rebuilt each step.
	TreeOpt TreeKind = TreeKind(C.LLMC_TREE_OPT)
	// TreeChain: a chain of Budget tokens.
	TreeChain TreeKind = TreeKind(C.LLMC_TREE_CHAIN)
	// TreeEagle: the fixed EAGLE-style tree, its first Budget nodes.
	TreeEagle TreeKind = TreeKind(C.LLMC_TREE_EAGLE)
	// TreeSequoia: Sequoia's static tree for Budget nodes from the acceptance measured so far.
	TreeSequoia TreeKind = TreeKind(C.LLMC_TREE_SEQUOIA)
)

// DraftKind is where the draft tokens come from.
type DraftKind uint32

const (
	// DraftModel: a separate model (SpecParams.DraftModel) with the target's vocabulary.
	DraftModel DraftKind = DraftKind(C.LLMC_DRAFT_MODEL)
	// DraftSelf: the target's own first SelfDraftLayers layers.
	DraftSelf DraftKind = DraftKind(C.LLMC_DRAFT_SELF)
	// DraftNgram: continuations of the last NgramMin..NgramN tokens seen earlier in the text.
	DraftNgram DraftKind = DraftKind(C.LLMC_DRAFT_NGRAM)
)

// SpecParams say how to speculate; start from DefaultSpecParams. The fields are those of
// llmc_spec_params (see llmcore.h): Budget 0 means automatic (the cost model's choice up to
// BudgetMax); DraftModel is used with Draft == DraftModel only, SelfDraftLayers with DraftSelf,
// NgramN and NgramMin with DraftNgram.
type SpecParams struct {
	Generate         GenerateParams
	Tree             TreeKind
	Budget           int
	BudgetMax        int
	MaxDepth         int
	Delta            float64
	Draft            DraftKind
	DraftModel       *Model
	SelfDraftLayers  int
	NgramN, NgramMin int
}

// DefaultSpecParams: the generation defaults (greedy, 128 tokens), OPT-Tree with an automatic
// budget up to 32, depth 10, delta 0.5, the n-gram draft of 3..1 tokens.
func DefaultSpecParams() SpecParams {
	c := C.llmc_spec_default_params()
	return SpecParams{Generate: DefaultGenerateParams(), Tree: TreeKind(c.tree),
		Budget: int(c.budget), BudgetMax: int(c.budget_max), MaxDepth: int(c.max_depth),
		Delta: float64(c.delta), Draft: DraftKind(c.draft_kind),
		SelfDraftLayers: int(c.self_draft_layers), NgramN: int(c.ngram_n),
		NgramMin: int(c.ngram_min)}
}

// Speculation is what Speculate produced: the Generation Generate would report (its decode
// steps are the verification steps) and what speculation did.
type Speculation struct {
	Generation
	Steps, Drafted, Accepted    int
	MeanAcceptedLength          float64
	DraftSeconds, VerifySeconds float64
}

// Speculate appends prompt and generates after it speculatively (llmc_speculate): the draft
// chosen by p proposes token trees that the session's model verifies, and each text piece is
// passed to onText (may be nil; return false to stop). Greedy output is Generate's text for the
// same settings. Bad settings are errors before any work, the session left as it was.
func (s *Session) Speculate(prompt []Token, p SpecParams, onText func(string) bool) (Speculation, error) {
	for _, v := range []int{p.Generate.MaxTokens, p.Generate.TopK, p.Generate.RepeatLastN, p.Budget,
		p.BudgetMax, p.MaxDepth, p.SelfDraftLayers, p.NgramN, p.NgramMin} {
		if v < 0 {
			return Speculation{}, &Error{Status: StatusInvalidArgument, Message: "Speculate: a count in SpecParams is negative"}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	gc, free := cGenerateParams(p.Generate)
	defer free()
	// In C memory: the struct passed to C may hold no pointer to Go memory.
	g := (*C.llmc_generate_params)(C.malloc(C.size_t(unsafe.Sizeof(gc))))
	defer C.free(unsafe.Pointer(g))
	*g = gc
	c := C.llmc_spec_default_params()
	c.generate = g
	c.tree = C.llmc_tree_kind(p.Tree)
	c.budget = C.size_t(p.Budget)
	c.budget_max = C.size_t(p.BudgetMax)
	c.max_depth = C.size_t(p.MaxDepth)
	c.delta = C.double(p.Delta)
	c.draft_kind = C.llmc_draft_kind(p.Draft)
	if p.DraftModel != nil {
		c.draft_model = p.DraftModel.p
	}
	c.self_draft_layers = C.size_t(p.SelfDraftLayers)
	c.ngram_n = C.size_t(p.NgramN)
	c.ngram_min = C.size_t(p.NgramMin)
	sink := &textSink{onText: onText}
	h := cgo.NewHandle(sink)
	defer h.Delete()
	var r C.llmc_spec_result
	r.struct_size = C.size_t(unsafe.Sizeof(r))
	err := call(func() C.llmc_status {
		return C.llmc_speculate(s.p, tokenPtr(prompt), C.size_t(len(prompt)), &c,
			C.llmc_text_callback(C.goTextCallback), unsafe.Pointer(&h), &r)
	})
	runtime.KeepAlive(prompt)
	runtime.KeepAlive(p.DraftModel)
	if err != nil {
		return Speculation{}, err
	}
	return Speculation{
		Generation: Generation{Text: string(sink.text), Tokens: int(r.n_tokens),
			PromptTokens: int(r.prompt_tokens), DecodeSteps: int(r.decode_steps),
			StopReason: uint32(r.stop_reason), PrefillSeconds: float64(r.prefill_seconds),
			DecodeSeconds: float64(r.decode_seconds)},
		Steps: int(r.steps), Drafted: int(r.drafted), Accepted: int(r.accepted),
		MeanAcceptedLength: float64(r.mean_accepted_length),
		DraftSeconds:       float64(r.draft_seconds), VerifySeconds: float64(r.verify_seconds),
	}, nil
}
