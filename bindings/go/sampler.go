package llmcore

/*
#include <stdlib.h>
#include <llmcore.h>
*/
import "C"

import (
	"runtime"
	"sync"
	"unsafe"
)

// LogitBias is added to one token's logit before every other sampling step; a Bias of
// float32(math.Inf(-1)) bans the token.
type LogitBias struct {
	Token Token
	Bias  float32
}

// cLogitBias copies bias into C memory (a C struct may not point into Go memory); free
// releases it. A nil pointer for an empty list.
func cLogitBias(bias []LogitBias) (p *C.llmc_logit_bias, free func()) {
	if len(bias) == 0 {
		return nil, func() {}
	}
	mem := C.malloc(C.size_t(len(bias)) * C.size_t(unsafe.Sizeof(C.llmc_logit_bias{})))
	arr := unsafe.Slice((*C.llmc_logit_bias)(mem), len(bias))
	for i, b := range bias {
		arr[i] = C.llmc_logit_bias{token: C.llmc_token(b.Token), bias: C.float(b.Bias)}
	}
	return (*C.llmc_logit_bias)(mem), func() { C.free(mem) }
}

// SamplerParams are the settings of the sampling chain (logit bias, repetition / frequency /
// presence penalties over the last RepeatLastN history tokens, top-k, top-p, min-p,
// temperature); start from DefaultSamplerParams (greedy). Each setting's neutral value turns
// its step off.
type SamplerParams struct {
	Temperature, TopP, MinP                          float32
	TopK, RepeatLastN                                int
	RepeatPenalty, FrequencyPenalty, PresencePenalty float32
	Seed                                             uint64
	LogitBias                                        []LogitBias
}

// DefaultSamplerParams: greedy, top-k 40, top-p 0.95, no min-p, no penalties, seed 0.
func DefaultSamplerParams() SamplerParams {
	c := C.llmc_sampler_default_params()
	return SamplerParams{Temperature: float32(c.temperature), TopP: float32(c.top_p),
		MinP: float32(c.min_p), TopK: int(c.top_k), RepeatLastN: int(c.repeat_last_n),
		RepeatPenalty: float32(c.repeat_penalty), FrequencyPenalty: float32(c.frequency_penalty),
		PresencePenalty: float32(c.presence_penalty), Seed: uint64(c.seed)}
}

// Sampler chooses tokens from the caller's logits with the chain Generate uses. Its calls are
// serialized with a mutex.
type Sampler struct {
	mu sync.Mutex
	p  *C.llmc_sampler
}

// NewSampler makes a sampler; a setting out of range is a StatusInvalidArgument error naming
// its field.
func NewSampler(p SamplerParams) (*Sampler, error) {
	c := C.llmc_sampler_default_params()
	c.temperature = C.float(p.Temperature)
	c.top_k = C.size_t(p.TopK)
	c.top_p = C.float(p.TopP)
	c.min_p = C.float(p.MinP)
	c.repeat_penalty = C.float(p.RepeatPenalty)
	c.repeat_last_n = C.size_t(p.RepeatLastN)
	c.frequency_penalty = C.float(p.FrequencyPenalty)
	c.presence_penalty = C.float(p.PresencePenalty)
	c.seed = C.uint64_t(p.Seed)
	bias, free := cLogitBias(p.LogitBias)
	defer free()
	c.logit_bias = bias
	c.n_logit_bias = C.size_t(len(p.LogitBias))
	var s *C.llmc_sampler
	if err := call(func() C.llmc_status { return C.llmc_sampler_new(&c, &s) }); err != nil {
		return nil, err
	}
	out := &Sampler{p: s}
	runtime.SetFinalizer(out, (*Sampler).Close)
	return out, nil
}

// Close releases the sampler (also done by a finalizer); safe to call twice.
func (s *Sampler) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.p != nil {
		C.llmc_sampler_free(s.p)
		s.p = nil
	}
}

func floatPtr(x []float32) *C.float {
	if len(x) == 0 {
		return nil
	}
	return (*C.float)(&x[0])
}

// Sample chooses the next token from one row of logits (not changed), given the tokens so far
// (which the penalties see).
func (s *Sampler) Sample(logits []float32, history []Token) (Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var t C.llmc_token
	err := call(func() C.llmc_status {
		return C.llmc_sampler_sample(s.p, floatPtr(logits), C.size_t(len(logits)),
			tokenPtr(history), C.size_t(len(history)), &t)
	})
	return Token(t), err
}

// TokenProb is a token and its probability under a sampler's distribution.
type TokenProb struct {
	Token Token
	Prob  float64
}

// Distribution is what Sample would draw from for the same inputs, most likely first.
func (s *Sampler) Distribution(logits []float32, history []Token) ([]TokenProb, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fill := func(buf *C.llmc_token_prob, capacity int, n *C.size_t) error {
		return call(func() C.llmc_status {
			return C.llmc_sampler_distribution(s.p, floatPtr(logits), C.size_t(len(logits)),
				tokenPtr(history), C.size_t(len(history)), buf, C.size_t(capacity), n)
		})
	}
	var n C.size_t
	if err := fill(nil, 0, &n); err != nil {
		return nil, err
	}
	buf := make([]C.llmc_token_prob, int(n))
	if err := fill(&buf[0], len(buf), &n); err != nil {
		return nil, err
	}
	out := make([]TokenProb, int(n))
	for i := range out {
		out[i] = TokenProb{Token: Token(buf[i].token), Prob: float64(buf[i].prob)}
	}
	return out, nil
}
