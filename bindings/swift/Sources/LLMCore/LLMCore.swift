// LLMCore: a Swift wrapper over libllmcore's C API (llmcore.h), mirroring the C++ wrapper
// (bindings/cpp/llmcore.hpp). Handles are classes whose deinit calls the C *_free function;
// failing calls throw LLMCoreError with the C status and the library's message. A Model may be
// used from many threads at once; a Session from one thread at a time. A Session keeps its
// model alive. UNTESTED: written without a Swift toolchain (see README.md).
import CLLMCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A token id.
public typealias Token = UInt32

/// The llmc_status codes (append-only; see llmcore.h).
public enum Status: Int32 {
    case ok = 0
    case nullArgument = -1
    case invalidArgument = -2
    case io = -3
    case format = -4
    case unsupported = -5
    case missingTensor = -6
    case missingMetadata = -7
    case shape = -8
    case tokenOutOfRange = -9
    case contextOverflow = -10
    case bufferTooSmall = -11
    case cancelled = -12
    case `internal` = -13
}

/// A failed call: its raw status (see `Status`) and the library's message.
public struct LLMCoreError: Error, CustomStringConvertible {
    public let status: Int32
    public let message: String
    public var kind: Status? { Status(rawValue: status) }
    public var description: String { message }
}

/// Throws LLMCoreError for anything but LLMC_OK.
@inline(__always)
func check(_ status: Int32) throws {
    if status == Status.ok.rawValue { return }
    let n = llmc_last_error_message(nil, 0)
    var buf = [CChar](repeating: 0, count: n + 1)
    let capacity = buf.count  // not read inside the call: &buf is an exclusive access
    llmc_last_error_message(&buf, capacity)
    throw LLMCoreError(status: status, message: String(cString: buf))
}

/// Calls `fill` for the length, then into a buffer of that length plus the NUL.
func readText(
    _ fill: (UnsafeMutablePointer<CChar>?, Int, UnsafeMutablePointer<Int>) -> Int32
) throws -> String {
    var n = 0
    try check(fill(nil, 0, &n))
    let capacity = n + 1
    var buf = [CChar](repeating: 0, count: capacity)
    try check(fill(&buf, capacity, &n))
    return String(cString: buf)
}

/// The library's version, "MAJOR.MINOR.PATCH".
public func version() -> String { String(cString: llmc_version()) }

/// Plans activation recomputation (Lynx) for a JSON request (fields at llmc_schedule in
/// llmcore.h) and returns the plan as JSON text; throws LLMCoreError (.format for text that is
/// not JSON, .invalidArgument for a bad request or a budget no schedule meets).
public func schedule(_ requestJSON: String) throws -> String {
    try readText { llmc_schedule(requestJSON, $0, $1, $2) }
}

/// The numeric path of matrix products.
public enum Numerics: UInt32 {
    case fast = 0  // LLMC_NUMERICS_FAST
    case exact = 1  // LLMC_NUMERICS_EXACT
}

/// What a session's KV cache stores keys and values as.
public enum KVType: UInt64 {
    case `default` = 0  // LLMC_KV_DEFAULT: f16 on the fast path, f32 on the exact one
    case f32 = 1  // LLMC_KV_F32
    case f16 = 2  // LLMC_KV_F16
}

/// A model's hyper-parameters.
public struct ModelInfo {
    public let arch: String, name: String
    public let nLayer: UInt32, dModel: UInt32, dFFN: UInt32, nHead: UInt32, nKVHead: UInt32
    public let headDim: UInt32, vocabSize: UInt32, contextLength: UInt32
    public let ropeTheta: Float, rmsEps: Float
    public let bos: Int64, eos: Int64  // -1 when absent
    public let nParams: UInt64, tensorBytes: UInt64
    public let eot: Int64, pad: Int64  // -1 when absent
    public let nEOGTokens: Int, addBOS: Bool
}

/// Why generation ended (LLMC_STOP_*).
public enum StopReason: UInt32 {
    case eos = 0, stopString = 1, maxTokens = 2, callback = 3, contextFull = 4
}

/// Generation settings; defaults from llmc_generate_default_params() (greedy).
public struct GenerateParams {
    public var c = llmc_generate_default_params()
    public var stop: [String] = []
    /// Added to the logits before every other step (`-Float.infinity` bans a token).
    public var logitBias: [llmc_logit_bias] = []
    public init() {}
}

/// What a generation produced.
public struct Generation {
    public var text = ""
    public var tokens = 0, promptTokens = 0, decodeSteps = 0
    public var stopReason = StopReason.maxTokens
    public var prefillSeconds = 0.0, decodeSeconds = 0.0
    public var decodeTokensPerSecond: Double {
        decodeSeconds > 0 ? Double(decodeSteps) / decodeSeconds : 0
    }
}

/// The tree a draft fills each speculative step (LLMC_TREE_*).
public enum TreeKind: UInt32 {
    case opt = 0, chain = 1, eagle = 2, sequoia = 3
}

/// Where speculative decoding's draft tokens come from (LLMC_DRAFT_*).
public enum DraftKind: UInt32 {
    case model = 0  // a separate model with the target's vocabulary (SpecParams.draftModel)
    case selfDraft = 1  // the target's own first c.self_draft_layers layers
    case ngram = 2  // continuations of the last c.ngram_min...c.ngram_n tokens seen earlier
}

/// Speculative decoding settings; defaults from llmc_spec_default_params() (OPT-Tree, automatic
/// budget up to 32, the n-gram draft). `generate` replaces `c.generate`; a non-nil `draftModel`
/// replaces `c.draft_model`.
public struct SpecParams {
    public var c = llmc_spec_default_params()
    public var generate = GenerateParams()
    public var draftModel: Model? = nil
    public init() {}
    public var tree: TreeKind {
        get { TreeKind(rawValue: c.tree) ?? .opt }
        set { c.tree = newValue.rawValue }
    }
    public var draft: DraftKind {
        get { DraftKind(rawValue: c.draft_kind) ?? .ngram }
        set { c.draft_kind = newValue.rawValue }
    }
}

/// What a speculative generation produced: the Generation `generate` would report (its decode
/// steps are the verification steps) and what speculation did.
public struct Speculation {
    public var generation: Generation
    public var steps: Int, drafted: Int, accepted: Int
    public var meanAcceptedLength: Double, draftSeconds: Double, verifySeconds: Double
}

/// Perplexity settings; defaults from llmc_perplexity_default_params().
public struct PerplexityParams {
    public var c = llmc_perplexity_default_params()
    public init() {}
}

/// Boxes a Swift closure for a C callback's user_data, keeping what it throws.
final class CallbackBox<F> {
    let fn: F
    var text = ""
    var error: Error?
    init(_ fn: F) { self.fn = fn }
}

/// A loaded GGUF model.
public final class Model {
    let handle: OpaquePointer

    /// Loads a GGUF model; throws LLMCoreError (.io, .format, ...).
    public init(path: String) throws {
        var h: OpaquePointer?
        try check(llmc_model_load(path, &h))
        handle = h!
    }

    deinit { llmc_model_free(handle) }

    public func info() throws -> ModelInfo {
        var c = llmc_model_info()
        c.struct_size = MemoryLayout<llmc_model_info>.size
        try check(llmc_model_get_info(handle, &c))
        return ModelInfo(
            arch: String(cString: c.arch), name: String(cString: c.name),
            nLayer: c.n_layer, dModel: c.d_model, dFFN: c.d_ffn, nHead: c.n_head,
            nKVHead: c.n_kv_head, headDim: c.head_dim, vocabSize: c.vocab_size,
            contextLength: c.context_length, ropeTheta: c.rope_theta, rmsEps: c.rms_eps,
            bos: c.bos_token, eos: c.eos_token, nParams: c.n_params, tensorBytes: c.tensor_bytes,
            eot: c.eot_token, pad: c.pad_token, nEOGTokens: c.n_eog_tokens, addBOS: c.add_bos)
    }

    /// Every token that ends generation, ascending.
    public func eogTokens() throws -> [Token] {
        var n = 0
        try check(llmc_vocab_eog(handle, nil, 0, &n))
        var out = [Token](repeating: 0, count: n)
        try check(llmc_vocab_eog(handle, &out, n, &n))
        return Array(out.prefix(n))
    }

    /// The token's LLMC_TOKEN_ATTR_* bits.
    public func tokenAttributes(_ token: Token) throws -> UInt32 {
        var a: llmc_token_attr = 0
        try check(llmc_token_attributes(handle, token, &a))
        return a
    }

    /// Detokenizes with LLMC_DETOKENIZE_* options (SKIP_CONTROL drops control tokens).
    public func detokenize(_ tokens: [Token], flags: UInt32) throws -> String {
        try tokens.withUnsafeBufferPointer { t in
            try readText { llmc_detokenize_opts(handle, t.baseAddress, t.count, flags, $0, $1, $2) }
        }
    }

    /// A metadata value as text (arrays as JSON).
    public func metadata(_ key: String) throws -> String {
        try readText { llmc_model_meta_value(handle, key, $0, $1, $2) }
    }

    public func tokenize(_ text: String, parseSpecial: Bool = true) throws -> [Token] {
        let bytes = Array(text.utf8)
        return try bytes.withUnsafeBufferPointer { b -> [Token] in
            let ptr = UnsafeRawPointer(b.baseAddress)?.assumingMemoryBound(to: CChar.self)
            var n = 0
            try check(llmc_tokenize(handle, ptr, b.count, parseSpecial, nil, 0, &n))
            let capacity = n + 1
            var out = [Token](repeating: 0, count: capacity)
            try check(llmc_tokenize(handle, ptr, b.count, parseSpecial, &out, capacity, &n))
            return Array(out.prefix(n))
        }
    }

    /// Tokenizes with LLMC_TOKENIZE_* options (ADD_SPECIAL: BOS when the model asks for it).
    public func tokenize(_ text: String, flags: UInt32) throws -> [Token] {
        let bytes = Array(text.utf8)
        return try bytes.withUnsafeBufferPointer { b -> [Token] in
            let ptr = UnsafeRawPointer(b.baseAddress)?.assumingMemoryBound(to: CChar.self)
            var n = 0
            try check(llmc_tokenize_opts(handle, ptr, b.count, flags, nil, 0, &n))
            let capacity = n + 1
            var out = [Token](repeating: 0, count: capacity)
            try check(llmc_tokenize_opts(handle, ptr, b.count, flags, &out, capacity, &n))
            return Array(out.prefix(n))
        }
    }

    public func detokenize(_ tokens: [Token]) throws -> String {
        try tokens.withUnsafeBufferPointer { t in
            try readText { llmc_detokenize(handle, t.baseAddress, t.count, $0, $1, $2) }
        }
    }

    /// Perplexity; `progress(done, total)` returning false cancels (.cancelled).
    public func perplexity(
        _ tokens: [Token], params: PerplexityParams = PerplexityParams(),
        progress: ((Int, Int) -> Bool)? = nil
    ) throws -> llmc_perplexity_result {
        var p = params.c
        var r = llmc_perplexity_result()
        r.struct_size = MemoryLayout<llmc_perplexity_result>.size
        let box = CallbackBox<((Int, Int) -> Bool)?>(progress)
        let ud = Unmanaged.passUnretained(box).toOpaque()
        let cb: llmc_progress_callback = { done, total, ud in
            let box = Unmanaged<CallbackBox<((Int, Int) -> Bool)?>>.fromOpaque(ud!)
                .takeUnretainedValue()
            return box.fn?(done, total) ?? true
        }
        let status = tokens.withUnsafeBufferPointer { t in
            llmc_perplexity(handle, t.baseAddress, t.count, &p, cb, ud, &r)
        }
        withExtendedLifetime(box) {}
        try check(status)
        return r
    }

    /// log p(continuation | context) in nats, and whether it is the greedy continuation.
    public func loglikelihood(
        context: [Token], continuation: [Token], numerics: Numerics = .fast
    ) throws -> (logprob: Double, isGreedy: Bool) {
        var lp = 0.0
        var greedy = false
        let status = context.withUnsafeBufferPointer { c in
            continuation.withUnsafeBufferPointer { k in
                llmc_loglikelihood(
                    handle, c.baseAddress, c.count, k.baseAddress, k.count, numerics.rawValue,
                    &lp, &greedy)
            }
        }
        try check(status)
        return (lp, greedy)
    }
}

/// A KV cache over a model; use from one thread at a time.
public final class Session {
    let handle: OpaquePointer
    let vocab: Int

    /// `nCtx` 0 = the model's training context.
    public init(
        model: Model, nCtx: Int = 0, numerics: Numerics = .fast, kvType: KVType = .default
    ) throws {
        vocab = Int(try model.info().vocabSize)  // before the handle exists: nothing to leak
        var p = llmc_session_default_params()
        p.n_ctx = nCtx
        p.numerics = numerics.rawValue
        p.kv_type = kvType.rawValue
        var h: OpaquePointer?
        try check(llmc_session_new(model.handle, &p, &h))
        handle = h!
    }

    private init(handle: OpaquePointer, vocab: Int) {
        self.handle = handle
        self.vocab = vocab
    }

    deinit { llmc_session_free(handle) }

    /// An independent copy: the same model, numerics and KV type, and a copy of the cache.
    public func fork() throws -> Session {
        var h: OpaquePointer?
        try check(llmc_session_fork(handle, &h))
        return Session(handle: h!, vocab: vocab)
    }

    /// The cache in the session-state format (see llmc_session_state_save).
    public func saveState() throws -> [UInt8] {
        var n = 0
        try check(llmc_session_state_size(handle, &n))
        var state = [UInt8](repeating: 0, count: n)
        try check(llmc_session_state_save(handle, &state, n, &n))
        return Array(state[0..<n])
    }

    /// Replaces the cache with a saved state; throws and leaves the session unchanged when
    /// it does not fit (another model shape, KV type or numeric path, too small a context,
    /// truncated or corrupt bytes).
    public func loadState(_ state: [UInt8]) throws {
        let status = state.withUnsafeBufferPointer { b in
            llmc_session_state_load(handle, b.baseAddress, b.count)
        }
        try check(status)
    }

    public func count() throws -> Int {
        var n = 0
        try check(llmc_session_len(handle, &n))
        return n
    }

    /// Appends `tokens` causally; returns the last token's logits.
    public func eval(_ tokens: [Token]) throws -> [Float] {
        let capacity = vocab
        var logits = [Float](repeating: 0, count: capacity)
        let status = tokens.withUnsafeBufferPointer { t in
            llmc_session_eval(handle, t.baseAddress, t.count, &logits, capacity)
        }
        try check(status)
        return logits
    }

    public func truncate(_ len: Int) throws { try check(llmc_session_truncate(handle, len)) }

    public func clear() throws { try check(llmc_session_clear(handle)) }

    /// Generates after `prompt`, passing each text piece to `onText` (return false to stop;
    /// a thrown error stops generation and is rethrown).
    public func generate(
        _ prompt: [Token], params: GenerateParams = GenerateParams(),
        onText: ((String) throws -> Bool)? = nil
    ) throws -> Generation {
        let box = TextBox(onText)
        let ud = Unmanaged.passUnretained(box).toOpaque()
        var g = llmc_generation()
        g.struct_size = MemoryLayout<llmc_generation>.size
        let status = withCGenerateParams(params) { c -> Int32 in
            var p = c
            return prompt.withUnsafeBufferPointer { t in
                llmc_generate(handle, t.baseAddress, t.count, &p, textCallback, ud, &g)
            }
        }
        withExtendedLifetime(box) {}
        if let error = box.error { throw error }
        try check(status)
        return Generation(
            text: box.text, tokens: g.n_tokens, promptTokens: g.prompt_tokens,
            decodeSteps: g.decode_steps,
            stopReason: StopReason(rawValue: g.stop_reason) ?? .maxTokens,
            prefillSeconds: g.prefill_seconds, decodeSeconds: g.decode_seconds)
    }

    /// Generates after `prompt` speculatively (llmc_speculate): the draft chosen by `params`
    /// proposes token trees that this session's model verifies. Greedy output is `generate`'s
    /// text for the same settings. Bad settings throw before any work, the session untouched.
    public func speculate(
        _ prompt: [Token], params: SpecParams = SpecParams(),
        onText: ((String) throws -> Bool)? = nil
    ) throws -> Speculation {
        let box = TextBox(onText)
        let ud = Unmanaged.passUnretained(box).toOpaque()
        var r = llmc_spec_result()
        r.struct_size = MemoryLayout<llmc_spec_result>.size
        let status = withCGenerateParams(params.generate) { c -> Int32 in
            var g = c
            return withUnsafePointer(to: &g) { gp in
                var p = params.c
                p.generate = gp
                if let draft = params.draftModel { p.draft_model = draft.handle }
                return prompt.withUnsafeBufferPointer { t in
                    llmc_speculate(handle, t.baseAddress, t.count, &p, textCallback, ud, &r)
                }
            }
        }
        withExtendedLifetime(box) {}
        withExtendedLifetime(params.draftModel) {}
        if let error = box.error { throw error }
        try check(status)
        let generation = Generation(
            text: box.text, tokens: r.n_tokens, promptTokens: r.prompt_tokens,
            decodeSteps: r.decode_steps,
            stopReason: StopReason(rawValue: r.stop_reason) ?? .maxTokens,
            prefillSeconds: r.prefill_seconds, decodeSeconds: r.decode_seconds)
        return Speculation(
            generation: generation, steps: r.steps, drafted: r.drafted, accepted: r.accepted,
            meanAcceptedLength: r.mean_accepted_length, draftSeconds: r.draft_seconds,
            verifySeconds: r.verify_seconds)
    }
}

/// The box of a streaming text callback.
typealias TextBox = CallbackBox<((String) throws -> Bool)?>

/// The llmc_text_callback of a TextBox: collects the text and forwards each piece; an error
/// thrown by the closure stops generation and is kept in the box.
let textCallback: llmc_text_callback = { text, len, ud in
    let box = Unmanaged<TextBox>.fromOpaque(ud!).takeUnretainedValue()
    let bytes = UnsafeRawBufferPointer(start: text, count: len)
    let piece = String(decoding: bytes, as: UTF8.self)
    box.text += piece
    do {
        return try box.fn?(piece) ?? true
    } catch {
        box.error = error
        return false
    }
}

/// Calls `body` with `params` as the C struct, its stop strings valid during the call.
func withCGenerateParams<R>(_ params: GenerateParams, _ body: (llmc_generate_params) -> R) -> R {
    var p = params.c
    let stops = params.stop.map { strdup($0) }
    defer { stops.forEach { free($0) } }
    var stopPtrs: [UnsafePointer<CChar>?] = stops.map { UnsafePointer($0) }
    return stopPtrs.withUnsafeMutableBufferPointer { s -> R in
        p.stop = UnsafePointer(s.baseAddress)
        p.n_stop = s.count
        return params.logitBias.withUnsafeBufferPointer { b -> R in
            p.logit_bias = b.baseAddress
            p.n_logit_bias = b.count
            return body(p)
        }
    }
}

/// Sampler settings; defaults from llmc_sampler_default_params() (greedy).
public struct SamplerParams {
    public var c = llmc_sampler_default_params()
    /// Added to the logits before every other step (`-Float.infinity` bans a token).
    public var logitBias: [llmc_logit_bias] = []
    public init() {}
}

/// The chain `generate` samples with, over the caller's own logits. One thread at a time.
public final class Sampler {
    let handle: OpaquePointer

    public init(_ params: SamplerParams = SamplerParams()) throws {
        var p = params.c
        var h: OpaquePointer?
        try params.logitBias.withUnsafeBufferPointer { b in
            p.logit_bias = b.baseAddress
            p.n_logit_bias = b.count
            try check(llmc_sampler_new(&p, &h))
        }
        handle = h!
    }

    deinit { llmc_sampler_free(handle) }

    /// The next token for one row of logits (not changed), given the tokens so far.
    public func sample(_ logits: [Float], history: [Token] = []) throws -> Token {
        var t: Token = 0
        try check(llmc_sampler_sample(handle, logits, logits.count, history, history.count, &t))
        return t
    }

    /// What `sample` would draw from: tokens and probabilities, most likely first.
    public func distribution(_ logits: [Float], history: [Token] = []) throws -> [llmc_token_prob] {
        var n = 0
        try check(llmc_sampler_distribution(
            handle, logits, logits.count, history, history.count, nil, 0, &n))
        var out = [llmc_token_prob](repeating: llmc_token_prob(), count: n)
        try check(llmc_sampler_distribution(
            handle, logits, logits.count, history, history.count, &out, n, &n))
        return Array(out.prefix(n))
    }
}

/// A safetensors file (read-only; shareable between threads). The runtime loads GGUF only.
public final class Tensors {
    let handle: OpaquePointer

    public init(path: String) throws {
        var h: OpaquePointer?
        try check(llmc_tensors_open(path, &h))
        handle = h!
    }

    deinit { llmc_tensors_free(handle) }

    public func names() throws -> [String] {
        var n = 0
        try check(llmc_tensors_count(handle, &n))
        return try (0..<n).map { i in try readText { llmc_tensors_name(handle, i, $0, $1, $2) } }
    }

    /// A value of the file's `__metadata__` map.
    public func metadata(_ key: String) throws -> String {
        try readText { llmc_tensors_meta_value(handle, key, $0, $1, $2) }
    }

    public func info(_ name: String) throws -> llmc_tensor_info {
        var i = llmc_tensor_info()
        i.struct_size = MemoryLayout<llmc_tensor_info>.size
        try check(llmc_tensors_info(handle, name, &i))
        return i
    }

    /// The tensor's bytes (little-endian, row-major).
    public func read(_ name: String) throws -> [UInt8] {
        let size = try info(name).n_bytes
        var out = [UInt8](repeating: 0, count: size)
        try check(llmc_tensors_read(handle, name, &out, size))
        return out
    }
}

// MARK: - Speech front end (llmc_audio_*, llmc_wav_decode, llmc_g2p_*, llmc_phoneme_*)

/// A log-mel recipe (llmc_audio_params): a preset's, "fastspeech2" (default) or "whisper"
/// (an unknown name throws .invalidArgument naming the known ones). Change the fields of `c`
/// you need; every call checks them.
public struct AudioParams {
    public var c = llmc_audio_params()
    public init(preset: String = "fastspeech2") throws {
        try check(llmc_audio_default_params(preset, &c))
    }
}

/// A decoded WAV file: samples (interleaved unless decoded as mono), the file's rate and
/// channel count.
public struct Wav {
    public var samples: [Float]
    public var sampleRate: UInt32
    public var channels: UInt16
}

/// Decodes a RIFF/WAVE file held in memory (llmc_wav_decode); throws .format with the byte
/// offset at fault for a truncated or compressed file.
public func decodeWAV(_ bytes: [UInt8], mono: Bool = true) throws -> Wav {
    var rate: UInt32 = 0
    var channels: UInt16 = 0
    var n = 0
    try check(llmc_wav_decode(bytes, bytes.count, mono, nil, 0, &rate, &channels, &n))
    let capacity = n
    var out = [Float](repeating: 0, count: capacity)
    try check(llmc_wav_decode(bytes, bytes.count, mono, &out, capacity, nil, nil, &n))
    return Wav(samples: out, sampleRate: rate, channels: channels)
}

/// Feature frames audioFeatures and audioF0 give for `nSamples` samples at `sampleRate` Hz.
public func audioFrames(_ nSamples: Int, sampleRate: UInt32, params: AudioParams) throws -> Int {
    var c = params.c
    var n = 0
    try check(llmc_audio_n_frames(&c, nSamples, sampleRate, &n))
    return n
}

/// Log-mel features (`frames` rows of `nMels`, row-major) and frame energy.
public struct Features {
    public var frames: Int
    public var nMels: Int
    public var logMel: [Float]
    public var energy: [Float]
    public func at(_ frame: Int, _ mel: Int) -> Float { logMel[frame * nMels + mel] }
}

/// Log-mel and energy of mono `pcm` at `sampleRate` Hz, resampled to the recipe's rate first
/// when it differs (llmc_audio_features).
public func audioFeatures(_ pcm: [Float], sampleRate: UInt32, params: AudioParams) throws
    -> Features
{
    var c = params.c
    let frames = try audioFrames(pcm.count, sampleRate: sampleRate, params: params)
    let values = frames * params.c.n_mels
    var logMel = [Float](repeating: 0, count: values)
    var energy = [Float](repeating: 0, count: frames)
    var n = 0
    try check(
        llmc_audio_features(
            &c, pcm, pcm.count, sampleRate, &logMel, values, &energy, frames, &n))
    return Features(frames: n, nMels: params.c.n_mels, logMel: logMel, energy: energy)
}

/// An F0 tracker.
public enum F0Method: UInt32 {
    case yin = 0  // LLMC_F0_YIN: every frame voiced
    case pyin = 1  // LLMC_F0_PYIN: unvoiced frames have F0 NaN
}

/// F0 per feature frame: Hz (NaN where pYIN finds the frame unvoiced), voicing, and F0
/// interpolated over the unvoiced frames.
public struct F0Track {
    public var f0: [Float]
    public var voiced: [Bool]
    public var f0Interpolated: [Float]
}

/// F0 of mono `pcm` at `sampleRate` Hz on the recipe's feature frames (llmc_audio_f0).
public func audioF0(
    _ pcm: [Float], sampleRate: UInt32, method: F0Method = .pyin, params: AudioParams
) throws -> F0Track {
    var c = params.c
    let frames = try audioFrames(pcm.count, sampleRate: sampleRate, params: params)
    var f0 = [Float](repeating: 0, count: frames)
    var voiced = [UInt8](repeating: 0, count: frames)
    var interp = [Float](repeating: 0, count: frames)
    var n = 0
    try check(
        llmc_audio_f0(
            &c, method.rawValue, pcm, pcm.count, sampleRate, &f0, &voiced, &interp, frames, &n))
    return F0Track(f0: f0, voiced: voiced.map { $0 == 1 }, f0Interpolated: interp)
}

/// `pcm` (one channel) converted from `fromRate` to `toRate` Hz (llmc_audio_resample).
public func resample(_ pcm: [Float], fromRate: UInt32, toRate: UInt32) throws -> [Float] {
    var n = 0
    try check(llmc_audio_resample(pcm, pcm.count, fromRate, toRate, nil, 0, &n))
    let capacity = n
    var out = [Float](repeating: 0, count: capacity)
    try check(llmc_audio_resample(pcm, pcm.count, fromRate, toRate, &out, capacity, &n))
    return out
}

/// Calls `body` with `text`'s UTF-8 bytes as a C pointer and length (no NUL needed).
func withUTF8<R>(_ text: String, _ body: (UnsafePointer<CChar>?, Int) throws -> R) rethrows -> R {
    let bytes = Array(text.utf8)
    return try bytes.withUnsafeBufferPointer { b in
        try body(UnsafeRawPointer(b.baseAddress)?.assumingMemoryBound(to: CChar.self), b.count)
    }
}

/// A Mandarin pronunciation dictionary (llmc_g2p_dict); immutable, shareable between threads.
public final class G2PDictionary {
    let handle: OpaquePointer

    /// Reads pinyin_dict.json and phrases_dict.json from `directory` (e.g. assets/pypinyin).
    public init(directory: String) throws {
        var h: OpaquePointer?
        try check(llmc_g2p_dict_load(directory, &h))
        handle = h!
    }

    /// Makes it from the two files' texts (e.g. read from the app's bundle).
    public init(pinyinDict: String, phrasesDict: String) throws {
        var h: OpaquePointer?
        try withUTF8(pinyinDict) { a, na in
            try withUTF8(phrasesDict) { b, nb in try check(llmc_g2p_dict_parse(a, na, b, nb, &h)) }
        }
        handle = h!
    }

    deinit { llmc_g2p_dict_free(handle) }

    /// TONE3 syllables separated by spaces, "," and "." for the pauses (llmc_g2p_pinyin).
    public func pinyin(_ text: String, toneSandhi: Bool = true) throws -> String {
        try withUTF8(text) { t, nt in
            try readText { llmc_g2p_pinyin(handle, t, nt, toneSandhi, $0, $1, $2) }
        }
    }

    /// Phoneme ids as spoken (llmc_g2p_phonemes); phonemeSymbol names each.
    public func phonemes(_ text: String) throws -> [UInt32] {
        try withUTF8(text) { t, nt in
            var n = 0
            try check(llmc_g2p_phonemes(handle, t, nt, nil, 0, &n))
            let capacity = n
            var ids = [UInt32](repeating: 0, count: capacity)
            try check(llmc_g2p_phonemes(handle, t, nt, &ids, capacity, &n))
            return ids
        }
    }
}

/// Phonemes in the inventory (ids 0 ..< phonemeCount()).
public func phonemeCount() -> Int { llmc_phoneme_count() }

/// The symbol of phoneme `id` ("sil", "zh", "ong1").
public func phonemeSymbol(_ id: UInt32) throws -> String {
    try readText { llmc_phoneme_symbol(id, $0, $1, $2) }
}

/// The id of the phoneme written `symbol`.
public func phonemeID(_ symbol: String) throws -> UInt32 {
    var id: UInt32 = 0
    try check(llmc_phoneme_id(symbol, &id))
    return id
}
