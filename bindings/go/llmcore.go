// Package llmcore is the Go binding of libllmcore's C API (llmcore.h), built with cgo against
// the installed library (pkg-config llmcore).
//
// Handles are freed by Close or, failing that, by a finalizer. A Model may be used from many
// goroutines at once; a Session serializes its own calls with a mutex. A Session keeps its
// model alive, so a Model may be closed while its sessions are still in use. Errors are
// *Error values carrying the C status and the library's message.
package llmcore

/*
#cgo pkg-config: llmcore
#include <stdlib.h>
#include <llmcore.h>

extern bool goTextCallback(char *text, size_t len, void *user_data);
extern bool goProgressCallback(size_t done, size_t total, void *user_data);
*/
import "C"

import (
	"fmt"
	"runtime"
	"runtime/cgo"
	"sync"
	"unsafe"
)

// Token is a token id.
type Token = uint32

// Status codes of the C API (llmc_status).
const (
	StatusOK              = int(C.LLMC_OK)
	StatusNullArgument    = int(C.LLMC_ERR_NULL_ARGUMENT)
	StatusInvalidArgument = int(C.LLMC_ERR_INVALID_ARGUMENT)
	StatusIO              = int(C.LLMC_ERR_IO)
	StatusFormat          = int(C.LLMC_ERR_FORMAT)
	StatusUnsupported     = int(C.LLMC_ERR_UNSUPPORTED)
	StatusMissingTensor   = int(C.LLMC_ERR_MISSING_TENSOR)
	StatusMissingMetadata = int(C.LLMC_ERR_MISSING_METADATA)
	StatusShape           = int(C.LLMC_ERR_SHAPE)
	StatusTokenOutOfRange = int(C.LLMC_ERR_TOKEN_OUT_OF_RANGE)
	StatusContextOverflow = int(C.LLMC_ERR_CONTEXT_OVERFLOW)
	StatusBufferTooSmall  = int(C.LLMC_ERR_BUFFER_TOO_SMALL)
	StatusCancelled       = int(C.LLMC_ERR_CANCELLED)
	StatusInternal        = int(C.LLMC_ERR_INTERNAL)
	StatusCallback        = int(C.LLMC_ERR_CALLBACK)
)

// Error is a failed call: the C status and the library's message.
type Error struct {
	Status  int
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("llmcore: %s", e.Message)
}

// check turns a status into an *Error. It must run on the goroutine's current OS thread right
// after the call, since the message is thread-local: callers lock the thread around both.
func check(status C.llmc_status) error {
	if status == C.LLMC_OK {
		return nil
	}
	n := C.llmc_last_error_message(nil, 0)
	buf := make([]byte, int(n)+1)
	C.llmc_last_error_message((*C.char)(unsafe.Pointer(&buf[0])), C.size_t(len(buf)))
	return &Error{Status: int(status), Message: string(buf[:n])}
}

// call runs a C call and reads its error on the same OS thread.
func call(f func() C.llmc_status) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	return check(f())
}

// Version is the library's version, "MAJOR.MINOR.PATCH".
func Version() string { return C.GoString(C.llmc_version()) }

// ABIVersion is the library's ABI version; HeaderABIVersion the one this package was built with.
func ABIVersion() uint32 { return uint32(C.llmc_abi_version()) }

// The version macros of the header this package was compiled against.
const (
	HeaderABIVersion = uint32(C.LLMC_ABI_VERSION)
	VersionMajor     = int(C.LLMC_VERSION_MAJOR)
	VersionMinor     = int(C.LLMC_VERSION_MINOR)
	VersionPatch     = int(C.LLMC_VERSION_PATCH)
)

// Numerics selects the numeric path of matrix products.
type Numerics uint32

const (
	// Fast: 8-bit activation blocks against quantized weights (llama.cpp's arithmetic).
	Fast Numerics = Numerics(C.LLMC_NUMERICS_FAST)
	// Exact: f32 activations against dequantized weights.
	Exact Numerics = Numerics(C.LLMC_NUMERICS_EXACT)
)

// KVType selects what a session's KV cache stores keys and values as.
type KVType uint64

const (
	// KVDefault: f16 on the fast path, f32 on the exact one (as llama.cpp).
	KVDefault KVType = KVType(C.LLMC_KV_DEFAULT)
	// KVF32: 4-byte f32 keys and values.
	KVF32 KVType = KVType(C.LLMC_KV_F32)
	// KVF16: 2-byte f16 keys and values, half the memory.
	KVF16 KVType = KVType(C.LLMC_KV_F16)
)

// Model is a loaded GGUF model, safe for concurrent use.
type Model struct {
	p *C.llmc_model
}

// Load loads a GGUF model.
func Load(path string) (*Model, error) {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var p *C.llmc_model
	if err := call(func() C.llmc_status { return C.llmc_model_load(cpath, &p) }); err != nil {
		return nil, err
	}
	m := &Model{p: p}
	runtime.SetFinalizer(m, (*Model).Close)
	return m, nil
}

// Close releases the model handle (sessions made from it stay valid). Safe to call twice.
func (m *Model) Close() {
	if m.p != nil {
		C.llmc_model_free(m.p)
		m.p = nil
	}
	runtime.SetFinalizer(m, nil)
}

// Info holds a model's hyper-parameters.
type Info struct {
	Arch, Name                                    string
	NLayer, DModel, DFFN, NHead, NKVHead, HeadDim uint32
	VocabSize, ContextLength                      uint32
	RopeTheta, RMSEps                             float32
	BOS, EOS                                      int64 // -1 when absent
	NParams, TensorBytes                          uint64
	EOT, Pad                                      int64 // -1 when absent
	NEOGTokens                                    int
	AddBOS                                        bool
}

// Info reads the model's hyper-parameters.
func (m *Model) Info() (Info, error) {
	var c C.llmc_model_info
	c.struct_size = C.size_t(unsafe.Sizeof(c))
	err := call(func() C.llmc_status { return C.llmc_model_get_info(m.p, &c) })
	runtime.KeepAlive(m)
	if err != nil {
		return Info{}, err
	}
	return Info{
		Arch: C.GoString(c.arch), Name: C.GoString(c.name),
		NLayer: uint32(c.n_layer), DModel: uint32(c.d_model), DFFN: uint32(c.d_ffn),
		NHead: uint32(c.n_head), NKVHead: uint32(c.n_kv_head), HeadDim: uint32(c.head_dim),
		VocabSize: uint32(c.vocab_size), ContextLength: uint32(c.context_length),
		RopeTheta: float32(c.rope_theta), RMSEps: float32(c.rms_eps),
		BOS: int64(c.bos_token), EOS: int64(c.eos_token),
		NParams: uint64(c.n_params), TensorBytes: uint64(c.tensor_bytes),
		EOT: int64(c.eot_token), Pad: int64(c.pad_token), NEOGTokens: int(c.n_eog_tokens),
		AddBOS: bool(c.add_bos),
	}, nil
}

// readText calls fill twice: for the length, then into a buffer of that length plus the NUL.
func readText(fill func(buf *C.char, capacity C.size_t, n *C.size_t) C.llmc_status) (string, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var n C.size_t
	if err := check(fill(nil, 0, &n)); err != nil {
		return "", err
	}
	buf := C.malloc(n + 1)
	defer C.free(buf)
	if err := check(fill((*C.char)(buf), n+1, &n)); err != nil {
		return "", err
	}
	return C.GoStringN((*C.char)(buf), C.int(n)), nil
}

// Metadata is the value of a GGUF metadata key as text (arrays as JSON).
func (m *Model) Metadata(key string) (string, error) {
	ckey := C.CString(key)
	defer C.free(unsafe.Pointer(ckey))
	defer runtime.KeepAlive(m)
	return readText(func(b *C.char, c C.size_t, n *C.size_t) C.llmc_status {
		return C.llmc_model_meta_value(m.p, ckey, b, c, n)
	})
}

// Tokenize encodes UTF-8 text; with parseSpecial, special-token text becomes special tokens.
func (m *Model) Tokenize(text string, parseSpecial bool) ([]Token, error) {
	ctext := C.CString(text)
	defer C.free(unsafe.Pointer(ctext))
	defer runtime.KeepAlive(m)
	var n C.size_t
	tl := C.size_t(len(text))
	ps := C.bool(parseSpecial)
	if err := call(func() C.llmc_status { return C.llmc_tokenize(m.p, ctext, tl, ps, nil, 0, &n) }); err != nil {
		return nil, err
	}
	out := make([]Token, int(n)+1)
	err := call(func() C.llmc_status {
		return C.llmc_tokenize(m.p, ctext, tl, ps, (*C.llmc_token)(&out[0]), C.size_t(len(out)), &n)
	})
	if err != nil {
		return nil, err
	}
	return out[:n], nil
}

// tokenPtr is a pointer to the first token, or nil for none.
func tokenPtr(t []Token) *C.llmc_token {
	if len(t) == 0 {
		return nil
	}
	return (*C.llmc_token)(&t[0])
}

// Detokenize decodes token ids to text.
func (m *Model) Detokenize(tokens []Token) (string, error) {
	defer runtime.KeepAlive(m)
	return readText(func(b *C.char, c C.size_t, n *C.size_t) C.llmc_status {
		return C.llmc_detokenize(m.p, tokenPtr(tokens), C.size_t(len(tokens)), b, c, n)
	})
}

// PerplexityParams are perplexity settings; start from DefaultPerplexityParams.
type PerplexityParams struct {
	Ctx, MaxWindows int
	ScoreAll        bool // score every token but each window's first, not the second half
	Numerics        Numerics
}

// DefaultPerplexityParams: 512-token windows, all of them, second halves, fast numerics.
func DefaultPerplexityParams() PerplexityParams {
	c := C.llmc_perplexity_default_params()
	return PerplexityParams{Ctx: int(c.ctx), MaxWindows: int(c.max_windows),
		ScoreAll: c.score == C.LLMC_SCORE_ALL, Numerics: Numerics(c.numerics)}
}

// PerplexityResult is the outcome of Perplexity.
type PerplexityResult struct {
	PPL, NLL                               float64
	TokensScored, Windows, TokensEvaluated int
}

//export goProgressCallback
func goProgressCallback(done, total C.size_t, userData unsafe.Pointer) C.bool {
	f := (*cgo.Handle)(userData).Value().(func(int, int) bool)
	return C.bool(f(int(done), int(total)))
}

// Perplexity of tokens over non-overlapping windows; progress (may be nil) returning false
// cancels with StatusCancelled.
func (m *Model) Perplexity(tokens []Token, p PerplexityParams, progress func(done, total int) bool) (PerplexityResult, error) {
	c := C.llmc_perplexity_default_params()
	c.ctx = C.size_t(p.Ctx)
	c.max_windows = C.size_t(p.MaxWindows)
	if p.ScoreAll {
		c.score = C.LLMC_SCORE_ALL
	}
	c.numerics = C.llmc_numerics(p.Numerics)
	var r C.llmc_perplexity_result
	r.struct_size = C.size_t(unsafe.Sizeof(r))
	var cb C.llmc_progress_callback
	var ud unsafe.Pointer
	if progress != nil {
		h := cgo.NewHandle(progress)
		defer h.Delete()
		cb = C.llmc_progress_callback(C.goProgressCallback)
		ud = unsafe.Pointer(&h) // a Go pointer to memory without Go pointers, for the call only
	}
	err := call(func() C.llmc_status {
		return C.llmc_perplexity(m.p, tokenPtr(tokens), C.size_t(len(tokens)), &c, cb, ud, &r)
	})
	runtime.KeepAlive(m)
	runtime.KeepAlive(tokens)
	if err != nil {
		return PerplexityResult{}, err
	}
	return PerplexityResult{PPL: float64(r.ppl), NLL: float64(r.nll),
		TokensScored: int(r.tokens_scored), Windows: int(r.windows),
		TokensEvaluated: int(r.tokens_evaluated)}, nil
}

// LogLikelihood is log p(continuation | context) in nats and whether the continuation is
// the greedy one.
func (m *Model) LogLikelihood(context, continuation []Token, numerics Numerics) (float64, bool, error) {
	var lp C.double
	var greedy C.bool
	err := call(func() C.llmc_status {
		return C.llmc_loglikelihood(m.p, tokenPtr(context), C.size_t(len(context)),
			tokenPtr(continuation), C.size_t(len(continuation)), C.llmc_numerics(numerics), &lp, &greedy)
	})
	runtime.KeepAlive(m)
	runtime.KeepAlive(context)
	runtime.KeepAlive(continuation)
	return float64(lp), bool(greedy), err
}

// Session is a KV cache over a model. Its methods are serialized by a mutex.
type Session struct {
	mu    sync.Mutex
	p     *C.llmc_session
	vocab int
}

// NewSession makes a session holding up to nCtx tokens (0 = the model's training context),
// its KV cache storing the numeric path's default type.
func (m *Model) NewSession(nCtx int, numerics Numerics) (*Session, error) {
	return m.NewSessionKV(nCtx, numerics, KVDefault)
}

// NewSessionKV is NewSession with the KV cache storing kv.
func (m *Model) NewSessionKV(nCtx int, numerics Numerics, kv KVType) (*Session, error) {
	info, err := m.Info()
	if err != nil {
		return nil, err
	}
	params := C.llmc_session_default_params()
	params.n_ctx = C.size_t(nCtx)
	params.numerics = C.llmc_numerics(numerics)
	params.kv_type = C.llmc_kv_type(kv)
	var p *C.llmc_session
	err = call(func() C.llmc_status { return C.llmc_session_new(m.p, &params, &p) })
	runtime.KeepAlive(m)
	if err != nil {
		return nil, err
	}
	s := &Session{p: p, vocab: int(info.VocabSize)}
	runtime.SetFinalizer(s, (*Session).Close)
	return s, nil
}

// Close releases the session. Safe to call twice.
func (s *Session) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.p != nil {
		C.llmc_session_free(s.p)
		s.p = nil
	}
	runtime.SetFinalizer(s, nil)
}

// Len is the number of tokens the cache holds.
func (s *Session) Len() (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n C.size_t
	err := call(func() C.llmc_status { return C.llmc_session_len(s.p, &n) })
	return int(n), err
}

// Eval appends tokens causally and returns the last token's logits.
func (s *Session) Eval(tokens []Token) ([]float32, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	logits := make([]float32, s.vocab)
	err := call(func() C.llmc_status {
		return C.llmc_session_eval(s.p, tokenPtr(tokens), C.size_t(len(tokens)),
			(*C.float)(&logits[0]), C.size_t(len(logits)))
	})
	runtime.KeepAlive(tokens)
	if err != nil {
		return nil, err
	}
	return logits, nil
}

// Truncate forgets every token from n on.
func (s *Session) Truncate(n int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return call(func() C.llmc_status { return C.llmc_session_truncate(s.p, C.size_t(n)) })
}

// Clear empties the cache.
func (s *Session) Clear() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return call(func() C.llmc_status { return C.llmc_session_clear(s.p) })
}

// GenerateParams are generation settings; start from DefaultGenerateParams (greedy).
type GenerateParams struct {
	MaxTokens                         int
	Temperature, TopP, MinP           float32
	TopK, RepeatLastN                 int
	RepeatPenalty                     float32
	FrequencyPenalty, PresencePenalty float32
	Seed                              uint64
	Stop                              []string
	LogitBias                         []LogitBias
}

// DefaultGenerateParams: 128 tokens, greedy, no stop strings, DefaultSamplerParams' sampler.
func DefaultGenerateParams() GenerateParams {
	c := C.llmc_generate_default_params()
	return GenerateParams{MaxTokens: int(c.max_tokens), Temperature: float32(c.temperature),
		TopP: float32(c.top_p), MinP: float32(c.min_p), TopK: int(c.top_k),
		RepeatLastN: int(c.repeat_last_n), RepeatPenalty: float32(c.repeat_penalty),
		FrequencyPenalty: float32(c.frequency_penalty), PresencePenalty: float32(c.presence_penalty),
		Seed: uint64(c.seed)}
}

// Stop reasons of a Generation.
const (
	StopEOS         = uint32(C.LLMC_STOP_EOS)
	StopString      = uint32(C.LLMC_STOP_STRING)
	StopMaxTokens   = uint32(C.LLMC_STOP_MAX_TOKENS)
	StopCallback    = uint32(C.LLMC_STOP_CALLBACK)
	StopContextFull = uint32(C.LLMC_STOP_CONTEXT_FULL)
)

// Generation is what Generate produced.
type Generation struct {
	Text                              string
	Tokens, PromptTokens, DecodeSteps int
	StopReason                        uint32
	PrefillSeconds, DecodeSeconds     float64
}

// DecodeTokensPerSecond is decode steps over decode time.
func (g Generation) DecodeTokensPerSecond() float64 {
	if g.DecodeSeconds <= 0 {
		return 0
	}
	return float64(g.DecodeSteps) / g.DecodeSeconds
}

// textSink collects streamed text and forwards it to the caller's callback.
type textSink struct {
	text   []byte
	onText func(string) bool
}

//export goTextCallback
func goTextCallback(text *C.char, n C.size_t, userData unsafe.Pointer) C.bool {
	sink := (*cgo.Handle)(userData).Value().(*textSink)
	piece := C.GoStringN(text, C.int(n))
	sink.text = append(sink.text, piece...)
	if sink.onText == nil {
		return true
	}
	return C.bool(sink.onText(piece))
}

// cGenerateParams is p as the C struct, its stop strings and logit bias in C memory until
// free is called.
func cGenerateParams(p GenerateParams) (c C.llmc_generate_params, free func()) {
	c = C.llmc_generate_default_params()
	c.max_tokens = C.size_t(p.MaxTokens)
	c.temperature = C.float(p.Temperature)
	c.top_k = C.size_t(p.TopK)
	c.top_p = C.float(p.TopP)
	c.min_p = C.float(p.MinP)
	c.repeat_penalty = C.float(p.RepeatPenalty)
	c.repeat_last_n = C.size_t(p.RepeatLastN)
	c.frequency_penalty = C.float(p.FrequencyPenalty)
	c.presence_penalty = C.float(p.PresencePenalty)
	c.seed = C.uint64_t(p.Seed)
	bias, freeBias := cLogitBias(p.LogitBias)
	c.logit_bias = bias
	c.n_logit_bias = C.size_t(len(p.LogitBias))
	if len(p.Stop) == 0 {
		return c, freeBias
	}
	stops := C.malloc(C.size_t(len(p.Stop)) * C.size_t(unsafe.Sizeof(uintptr(0))))
	arr := unsafe.Slice((**C.char)(stops), len(p.Stop))
	for i, st := range p.Stop {
		arr[i] = C.CString(st)
	}
	c.stop = (**C.char)(stops)
	c.n_stop = C.size_t(len(p.Stop))
	return c, func() {
		for _, st := range arr {
			C.free(unsafe.Pointer(st))
		}
		C.free(stops)
		freeBias()
	}
}

// Generate appends prompt and generates after it, passing each text piece to onText (may be
// nil; return false to stop).
func (s *Session) Generate(prompt []Token, p GenerateParams, onText func(string) bool) (Generation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, free := cGenerateParams(p)
	defer free()
	sink := &textSink{onText: onText}
	h := cgo.NewHandle(sink)
	defer h.Delete()
	var g C.llmc_generation
	g.struct_size = C.size_t(unsafe.Sizeof(g))
	err := call(func() C.llmc_status {
		return C.llmc_generate(s.p, tokenPtr(prompt), C.size_t(len(prompt)), &c,
			C.llmc_text_callback(C.goTextCallback), unsafe.Pointer(&h), &g)
	})
	runtime.KeepAlive(prompt)
	if err != nil {
		return Generation{}, err
	}
	return Generation{Text: string(sink.text), Tokens: int(g.n_tokens),
		PromptTokens: int(g.prompt_tokens), DecodeSteps: int(g.decode_steps),
		StopReason: uint32(g.stop_reason), PrefillSeconds: float64(g.prefill_seconds),
		DecodeSeconds: float64(g.decode_seconds)}, nil
}
