// llmcore.hpp: a header-only C++17 wrapper over the libllmcore C API (llmcore.h).
//
// Handles are std::unique_ptr with the C *_free functions as deleters; every failing C call
// throws llmcore::Error carrying the llmc_status and the library's message. Thread rules are
// the C API's: a Model (and Tensors, a G2PDict) may be used from many threads at once, a
// Session and an Optimizer from one thread at a time. A Session keeps its model alive, so a
// Model may be destroyed first.
// Callbacks may throw: the exception stops the work and is rethrown from the call.
#ifndef LLMCORE_HPP
#define LLMCORE_HPP

#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <exception>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "llmcore.h"

namespace llmcore {

using Token = llmc_token;

/// A failed call: the C status and the thread's last error message.
class Error : public std::runtime_error {
  public:
    Error(llmc_status status, const std::string &message)
        : std::runtime_error(message), status_(status) {}
    llmc_status status() const noexcept { return status_; }

  private:
    llmc_status status_;
};

namespace detail {

/// Throws Error for anything but LLMC_OK.
inline void check(llmc_status status) {
    if (status == LLMC_OK) return;
    std::string message(llmc_last_error_message(nullptr, 0), '\0');
    llmc_last_error_message(message.data(), message.size() + 1);
    throw Error(status, message);
}

/// Calls `fill(buf, capacity, &n)` twice: once for the size, once into a buffer of that size.
template <typename T, typename F> std::vector<T> read_list(F fill, std::size_t extra = 0) {
    std::size_t n = 0;
    check(fill(nullptr, 0, &n));
    std::vector<T> out(n + extra);
    check(fill(out.data(), out.size(), &n));
    out.resize(n);
    return out;
}

/// A NUL-terminated text output as a std::string.
template <typename F> std::string read_text(F fill) {
    std::vector<char> buf = read_list<char>(fill, 1);
    return std::string(buf.begin(), buf.end());
}

struct ModelDeleter {
    void operator()(llmc_model *m) const noexcept { llmc_model_free(m); }
};
struct SessionDeleter {
    void operator()(llmc_session *s) const noexcept { llmc_session_free(s); }
};
struct TensorsDeleter {
    void operator()(llmc_tensors *t) const noexcept { llmc_tensors_free(t); }
};
struct SamplerDeleter {
    void operator()(llmc_sampler *s) const noexcept { llmc_sampler_free(s); }
};
struct OptimizerDeleter {
    void operator()(llmc_optimizer *o) const noexcept { llmc_optimizer_free(o); }
};

/// Carries a C++ callback through a C function pointer, keeping any exception it throws.
template <typename Fn> struct Trampoline {
    Fn *fn;
    std::exception_ptr error;
};

using ProgressFn = std::function<bool(std::size_t, std::size_t)>;

/// The llmc_progress_callback of a Trampoline<ProgressFn>: an exception stops the work.
inline bool progress_callback(std::size_t done, std::size_t total, void *ud) {
    auto *t = static_cast<Trampoline<ProgressFn> *>(ud);
    try {
        return (*t->fn)(done, total);
    } catch (...) {
        t->error = std::current_exception();
        return false;
    }
}

} // namespace detail

/// The library version ("MAJOR.MINOR.PATCH").
inline std::string version() { return llmc_version(); }

/// Plans activation recomputation (Lynx) for the JSON request described at llmc_schedule;
/// returns the plan as JSON text. Throws Error (LLMC_ERR_FORMAT for text that is not JSON,
/// LLMC_ERR_INVALID_ARGUMENT for a bad request or a budget no schedule meets).
inline std::string schedule(const std::string &request_json) {
    return detail::read_text([&](char *b, std::size_t c, std::size_t *o) {
        return llmc_schedule(request_json.c_str(), b, c, o);
    });
}

enum class Numerics : llmc_numerics { Fast = LLMC_NUMERICS_FAST, Exact = LLMC_NUMERICS_EXACT };

/// What a session's KV cache stores: Default = f16 on the fast path, f32 on the exact one.
enum class KvType : llmc_kv_type { Default = LLMC_KV_DEFAULT, F32 = LLMC_KV_F32, F16 = LLMC_KV_F16 };

/// Hyper-parameters of a model (llmc_model_info).
struct ModelInfo {
    std::string arch, name;
    uint32_t n_layer, d_model, d_ffn, n_head, n_kv_head, head_dim, vocab_size, context_length;
    float rope_theta, rms_eps;
    int64_t bos_token, eos_token; // -1 when absent
    uint64_t n_params, tensor_bytes;
    int64_t eot_token, pad_token; // -1 when absent
    std::size_t n_eog_tokens;
    bool add_bos;
};

/// Perplexity settings, defaults from llmc_perplexity_default_params().
struct PerplexityParams {
    llmc_perplexity_params c = llmc_perplexity_default_params();
};

/// Generation settings, defaults from llmc_generate_default_params() (greedy).
struct GenerateParams {
    llmc_generate_params c = llmc_generate_default_params();
    std::vector<std::string> stop;
    /// Added to the logits before every other step (-INFINITY bans a token).
    std::vector<llmc_logit_bias> logit_bias;
};

/// What a generation produced.
struct Generation {
    std::string text;
    std::size_t n_tokens = 0, prompt_tokens = 0, decode_steps = 0;
    llmc_stop_reason stop_reason = LLMC_STOP_MAX_TOKENS;
    double prefill_seconds = 0, decode_seconds = 0;
    double decode_tokens_per_second() const {
        return decode_seconds > 0 ? decode_steps / decode_seconds : 0.0;
    }
};

namespace detail {

using TextFn = std::function<bool(std::string_view)>;

/// Collects streamed text and forwards each piece to a TextFn, keeping any exception it throws.
struct TextSink {
    TextFn *fn;
    std::string text;
    std::exception_ptr error;
};

/// The llmc_text_callback of a TextSink: an exception stops generation.
inline bool text_callback(const char *piece, std::size_t len, void *ud) {
    auto *s = static_cast<TextSink *>(ud);
    try {
        s->text.append(piece, len);
        return *s->fn ? (*s->fn)(std::string_view(piece, len)) : true;
    } catch (...) {
        s->error = std::current_exception();
        return false;
    }
}

/// The C struct of `params`, pointing into `stops` (which must outlive the call).
inline llmc_generate_params c_generate_params(const GenerateParams &params,
                                              std::vector<const char *> &stops) {
    llmc_generate_params p = params.c;
    for (const auto &s : params.stop) stops.push_back(s.c_str());
    p.stop = stops.data();
    p.n_stop = stops.size();
    p.logit_bias = params.logit_bias.data();
    p.n_logit_bias = params.logit_bias.size();
    return p;
}

/// A Generation from the streamed text and a C result (llmc_generation or llmc_spec_result).
template <typename R> Generation generation(std::string text, const R &r) {
    Generation out;
    out.text = std::move(text);
    out.n_tokens = r.n_tokens;
    out.prompt_tokens = r.prompt_tokens;
    out.decode_steps = r.decode_steps;
    out.stop_reason = r.stop_reason;
    out.prefill_seconds = r.prefill_seconds;
    out.decode_seconds = r.decode_seconds;
    return out;
}

} // namespace detail

/// Calibration synthesis settings, defaults from llmc_selfgen_default_params().
struct SelfGenParams {
    llmc_selfgen_params c = llmc_selfgen_default_params();
};

class Session;

/// A loaded GGUF model. Move-only; shareable between threads by reference.
class Model {
  public:
    /// Loads a GGUF model; throws Error (LLMC_ERR_IO, LLMC_ERR_FORMAT, ...).
    static Model load(const std::string &path) {
        llmc_model *m = nullptr;
        detail::check(llmc_model_load(path.c_str(), &m));
        return Model(m);
    }

    const llmc_model *get() const noexcept { return ptr_.get(); }

    ModelInfo info() const {
        llmc_model_info c{};
        c.struct_size = sizeof c;
        detail::check(llmc_model_get_info(get(), &c));
        return ModelInfo{c.arch,      c.name,     c.n_layer,    c.d_model,
                         c.d_ffn,     c.n_head,   c.n_kv_head,  c.head_dim,
                         c.vocab_size, c.context_length, c.rope_theta, c.rms_eps,
                         c.bos_token, c.eos_token, c.n_params, c.tensor_bytes,
                         c.eot_token, c.pad_token, c.n_eog_tokens, c.add_bos};
    }

    /// Every token that ends generation, ascending.
    std::vector<Token> eog_tokens() const {
        return detail::read_list<Token>([&](Token *b, std::size_t c, std::size_t *o) {
            return llmc_vocab_eog(get(), b, c, o);
        });
    }

    /// The token's LLMC_TOKEN_ATTR_* bits.
    llmc_token_attr token_attributes(Token token) const {
        llmc_token_attr a = 0;
        detail::check(llmc_token_attributes(get(), token, &a));
        return a;
    }

    /// GGUF metadata keys in file order.
    std::vector<std::string> metadata_keys() const {
        std::size_t n = 0;
        detail::check(llmc_model_meta_count(get(), &n));
        std::vector<std::string> keys;
        for (std::size_t i = 0; i < n; i++)
            keys.push_back(detail::read_text([&](char *b, std::size_t c, std::size_t *o) {
                return llmc_model_meta_key(get(), i, b, c, o);
            }));
        return keys;
    }

    /// A metadata value as text (arrays as JSON).
    std::string metadata(const std::string &key) const {
        return detail::read_text([&](char *b, std::size_t c, std::size_t *o) {
            return llmc_model_meta_value(get(), key.c_str(), b, c, o);
        });
    }

    std::vector<Token> tokenize(std::string_view text, bool parse_special = true) const {
        return detail::read_list<Token>([&](Token *b, std::size_t c, std::size_t *o) {
            return llmc_tokenize(get(), text.data(), text.size(), parse_special, b, c, o);
        });
    }

    /// Tokenizes with LLMC_TOKENIZE_* options (ADD_SPECIAL: BOS when the model asks for it).
    std::vector<Token> tokenize_opts(std::string_view text, llmc_tokenize_flags flags) const {
        return detail::read_list<Token>([&](Token *b, std::size_t c, std::size_t *o) {
            return llmc_tokenize_opts(get(), text.data(), text.size(), flags, b, c, o);
        });
    }

    std::string detokenize(const std::vector<Token> &tokens) const {
        return detail::read_text([&](char *b, std::size_t c, std::size_t *o) {
            return llmc_detokenize(get(), tokens.data(), tokens.size(), b, c, o);
        });
    }

    /// Detokenizes with LLMC_DETOKENIZE_* options (SKIP_CONTROL drops control tokens).
    std::string detokenize_opts(const std::vector<Token> &tokens,
                                llmc_detokenize_flags flags) const {
        return detail::read_text([&](char *b, std::size_t c, std::size_t *o) {
            return llmc_detokenize_opts(get(), tokens.data(), tokens.size(), flags, b, c, o);
        });
    }

    /// The raw bytes of one token.
    std::string token_piece(Token token) const {
        return detail::read_text([&](char *b, std::size_t c, std::size_t *o) {
            return llmc_token_to_piece(get(), token, b, c, o);
        });
    }

    /// (role, content) messages through the model's chat template.
    std::string apply_chat_template(const std::vector<std::pair<std::string, std::string>> &msgs,
                                    bool add_generation_prompt = true) const {
        std::vector<llmc_chat_message> c;
        for (const auto &m : msgs) c.push_back({m.first.c_str(), m.second.c_str()});
        return detail::read_text([&](char *b, std::size_t cap, std::size_t *o) {
            return llmc_apply_chat_template(get(), c.data(), c.size(), add_generation_prompt, b,
                                            cap, o);
        });
    }

    /// Perplexity; `progress(done, total)` returning false cancels (Error LLMC_ERR_CANCELLED).
    llmc_perplexity_result
    perplexity(const std::vector<Token> &tokens, const PerplexityParams &params = {},
               detail::ProgressFn progress = {}) const {
        detail::Trampoline<detail::ProgressFn> t{&progress, nullptr};
        llmc_perplexity_result r{};
        r.struct_size = sizeof r;
        llmc_status st = llmc_perplexity(get(), tokens.data(), tokens.size(), &params.c,
                                         progress ? detail::progress_callback : nullptr, &t, &r);
        if (t.error) std::rethrow_exception(t.error);
        detail::check(st);
        return r;
    }

    /// Generates a self-made calibration set from the blank-line separated paragraphs of
    /// `seeds` and writes it to `out_path` (JSON; use it as "selfgen:PATH"). `progress(done,
    /// total)` after each text returning false cancels (Error LLMC_ERR_CANCELLED, no file).
    void calib_selfgen(std::string_view seeds, const std::string &out_path,
                       const SelfGenParams &params = {}, detail::ProgressFn progress = {}) const {
        detail::Trampoline<detail::ProgressFn> t{&progress, nullptr};
        llmc_status st =
            llmc_calib_selfgen(get(), seeds.data(), seeds.size(), &params.c, out_path.c_str(),
                               progress ? detail::progress_callback : nullptr, &t);
        if (t.error) std::rethrow_exception(t.error);
        detail::check(st);
    }

    /// `n` calibration windows of `len` tokens from `source` ("file:PATH", "random" or
    /// "selfgen:PATH"), drawn with `seed`.
    std::vector<std::vector<Token>> calib_windows(const std::string &source, std::size_t n,
                                                  std::size_t len, uint64_t seed = 0) const {
        std::vector<Token> flat(n * len);
        std::size_t count = 0;
        detail::check(llmc_calib_windows(get(), source.c_str(), n, len, seed, flat.data(),
                                         flat.size(), &count));
        std::vector<std::vector<Token>> windows;
        for (std::size_t i = 0; i < n; i++)
            windows.emplace_back(flat.begin() + i * len, flat.begin() + (i + 1) * len);
        return windows;
    }

    /// log p(continuation | context) and whether it is the greedy continuation.
    std::pair<double, bool> loglikelihood(const std::vector<Token> &context,
                                          const std::vector<Token> &continuation,
                                          Numerics numerics = Numerics::Fast) const {
        double lp = 0;
        bool greedy = false;
        detail::check(llmc_loglikelihood(get(), context.data(), context.size(),
                                         continuation.data(), continuation.size(),
                                         static_cast<llmc_numerics>(numerics), &lp, &greedy));
        return {lp, greedy};
    }

  private:
    explicit Model(llmc_model *m) : ptr_(m) {}
    std::unique_ptr<llmc_model, detail::ModelDeleter> ptr_;
};

/// A KV cache over a model. Move-only; use from one thread at a time.
class Session {
  public:
    /// `n_ctx` 0 = the model's training context.
    explicit Session(const Model &model, std::size_t n_ctx = 0,
                     Numerics numerics = Numerics::Fast, KvType kv_type = KvType::Default) {
        llmc_session_params p = llmc_session_default_params();
        p.n_ctx = n_ctx;
        p.numerics = static_cast<llmc_numerics>(numerics);
        p.kv_type = static_cast<llmc_kv_type>(kv_type);
        llmc_session *s = nullptr;
        detail::check(llmc_session_new(model.get(), &p, &s));
        ptr_.reset(s);
        llmc_model_info info{};
        info.struct_size = sizeof info;
        detail::check(llmc_model_get_info(model.get(), &info));
        vocab_ = info.vocab_size;
    }

    llmc_session *get() const noexcept { return ptr_.get(); }

    std::size_t size() const {
        std::size_t n = 0;
        detail::check(llmc_session_len(get(), &n));
        return n;
    }

    std::size_t capacity() const {
        std::size_t n = 0;
        detail::check(llmc_session_capacity(get(), &n));
        return n;
    }

    /// Appends `tokens` causally; returns the last token's logits (vocab_size floats).
    std::vector<float> eval(const std::vector<Token> &tokens) {
        std::vector<float> logits(vocab_);
        detail::check(
            llmc_session_eval(get(), tokens.data(), tokens.size(), logits.data(), logits.size()));
        return logits;
    }

    /// Evaluates a batch with explicit positions / mask (see llmc_batch); the logits of
    /// `n_rows` rows, vocab_size floats each.
    std::vector<float> eval_batch(const llmc_batch &batch, std::size_t n_rows) {
        std::vector<float> logits(n_rows * vocab_);
        detail::check(llmc_session_eval_batch(get(), &batch, logits.data(), logits.size()));
        return logits;
    }

    void truncate(std::size_t len) { detail::check(llmc_session_truncate(get(), len)); }

    void compact(std::size_t base, const std::vector<std::size_t> &keep) {
        detail::check(llmc_session_compact(get(), base, keep.data(), keep.size()));
    }

    void clear() { detail::check(llmc_session_clear(get())); }

    /// An independent copy (same model, numerics, KV type; a copy of the cache).
    Session fork() const {
        llmc_session *s = nullptr;
        detail::check(llmc_session_fork(get(), &s));
        return Session(s, vocab_);
    }

    /// The cache in the session-state format (see llmc_session_state_save).
    std::vector<std::uint8_t> save_state() const {
        return detail::read_list<std::uint8_t>([&](std::uint8_t *b, std::size_t c, std::size_t *o) {
            return llmc_session_state_save(get(), b, c, o);
        });
    }

    /// Replaces the cache with a saved state; throws Error and leaves the session unchanged
    /// when it does not fit (LLMC_ERR_FORMAT, _INVALID_ARGUMENT, _CONTEXT_OVERFLOW).
    void load_state(const std::vector<std::uint8_t> &state) {
        detail::check(llmc_session_state_load(get(), state.data(), state.size()));
    }

    /// Generates after `prompt`, passing each text piece to `on_text` (return false to stop).
    Generation generate(const std::vector<Token> &prompt, const GenerateParams &params = {},
                        std::function<bool(std::string_view)> on_text = {}) {
        detail::TextSink sink{&on_text, {}, nullptr};
        std::vector<const char *> stops;
        llmc_generate_params p = detail::c_generate_params(params, stops);
        llmc_generation g{};
        g.struct_size = sizeof g;
        llmc_status st = llmc_generate(get(), prompt.data(), prompt.size(), &p,
                                       detail::text_callback, &sink, &g);
        if (sink.error) std::rethrow_exception(sink.error);
        detail::check(st);
        return detail::generation(std::move(sink.text), g);
    }

  private:
    Session(llmc_session *s, std::size_t vocab) : ptr_(s), vocab_(vocab) {}

    std::unique_ptr<llmc_session, detail::SessionDeleter> ptr_;
    std::size_t vocab_ = 0;
};

/// Sampler settings, defaults from llmc_sampler_default_params() (greedy).
struct SamplerParams {
    llmc_sampler_params c = llmc_sampler_default_params();
    /// Added to the logits before every other step (-INFINITY bans a token).
    std::vector<llmc_logit_bias> logit_bias;
};

/// The chain llmc_generate samples with (logit bias, penalties, top-k, top-p, min-p,
/// temperature, a seeded draw), over the caller's logits. One thread at a time.
class Sampler {
  public:
    explicit Sampler(const SamplerParams &params = {}) {
        llmc_sampler_params p = params.c;
        p.logit_bias = params.logit_bias.data();
        p.n_logit_bias = params.logit_bias.size();
        llmc_sampler *s = nullptr;
        detail::check(llmc_sampler_new(&p, &s));
        ptr_.reset(s);
    }

    llmc_sampler *get() const noexcept { return ptr_.get(); }

    /// The next token for one row of logits, given the tokens so far (which the penalties
    /// see); the logits are not changed.
    Token sample(const std::vector<float> &logits, const std::vector<Token> &history = {}) {
        Token t = 0;
        detail::check(llmc_sampler_sample(get(), logits.data(), logits.size(), history.data(),
                                          history.size(), &t));
        return t;
    }

    /// What sample() would draw from: tokens and probabilities, most likely first.
    std::vector<llmc_token_prob> distribution(const std::vector<float> &logits,
                                              const std::vector<Token> &history = {}) {
        return detail::read_list<llmc_token_prob>(
            [&](llmc_token_prob *b, std::size_t c, std::size_t *o) {
                return llmc_sampler_distribution(get(), logits.data(), logits.size(),
                                                 history.data(), history.size(), b, c, o);
            });
    }

  private:
    std::unique_ptr<llmc_sampler, detail::SamplerDeleter> ptr_;
};

/// A safetensors file (read-only; shareable between threads).
class Tensors {
  public:
    static Tensors open(const std::string &path) {
        llmc_tensors *t = nullptr;
        detail::check(llmc_tensors_open(path.c_str(), &t));
        return Tensors(t);
    }

    std::vector<std::string> names() const {
        std::size_t n = 0;
        detail::check(llmc_tensors_count(ptr_.get(), &n));
        std::vector<std::string> out;
        for (std::size_t i = 0; i < n; i++)
            out.push_back(detail::read_text([&](char *b, std::size_t c, std::size_t *o) {
                return llmc_tensors_name(ptr_.get(), i, b, c, o);
            }));
        return out;
    }

    /// A value of the file's `__metadata__` map.
    std::string metadata(const std::string &key) const {
        return detail::read_text([&](char *b, std::size_t c, std::size_t *o) {
            return llmc_tensors_meta_value(ptr_.get(), key.c_str(), b, c, o);
        });
    }

    llmc_tensor_info info(const std::string &name) const {
        llmc_tensor_info i{};
        i.struct_size = sizeof i;
        detail::check(llmc_tensors_info(ptr_.get(), name.c_str(), &i));
        return i;
    }

    /// The tensor's bytes (little-endian, row-major).
    std::vector<uint8_t> read(const std::string &name) const {
        std::vector<uint8_t> out(info(name).n_bytes);
        detail::check(llmc_tensors_read(ptr_.get(), name.c_str(), out.data(), out.size()));
        return out;
    }

  private:
    explicit Tensors(llmc_tensors *t) : ptr_(t) {}
    std::unique_ptr<llmc_tensors, detail::TensorsDeleter> ptr_;
};

/// Speculative decoding settings, defaults from llmc_spec_default_params() (OPT-Tree, automatic
/// budget up to 32, the n-gram draft): `generate` replaces `c.generate`, and a non-null
/// `draft_model` replaces `c.draft_model` (set `c.draft_kind = LLMC_DRAFT_MODEL` to use it).
struct SpecParams {
    llmc_spec_params c = llmc_spec_default_params();
    GenerateParams generate;
    const Model *draft_model = nullptr;
};

/// What a speculative generation produced: the Generation llmc_generate would report (its
/// decode steps are the verification steps) and what speculation did.
struct Speculation {
    Generation generation;
    std::size_t steps = 0, drafted = 0, accepted = 0;
    double mean_accepted_length = 0, draft_seconds = 0, verify_seconds = 0;
};

/// Generates after `prompt` in `target` speculatively (see llmc_speculate: greedy output is
/// Session::generate's text for the same settings), passing each text piece to `on_text`
/// (return false to stop; an exception stops generation and is rethrown). Bad settings throw
/// Error before any work, leaving the session as it was.
inline Speculation speculate(Session &target, const std::vector<Token> &prompt,
                             const SpecParams &params = {},
                             std::function<bool(std::string_view)> on_text = {}) {
    detail::TextSink sink{&on_text, {}, nullptr};
    std::vector<const char *> stops;
    llmc_generate_params g = detail::c_generate_params(params.generate, stops);
    llmc_spec_params p = params.c;
    p.generate = &g;
    if (params.draft_model) p.draft_model = params.draft_model->get();
    llmc_spec_result r{};
    r.struct_size = sizeof r;
    llmc_status st = llmc_speculate(target.get(), prompt.data(), prompt.size(), &p,
                                    detail::text_callback, &sink, &r);
    if (sink.error) std::rethrow_exception(sink.error);
    detail::check(st);
    Speculation out;
    out.generation = detail::generation(std::move(sink.text), r);
    out.steps = r.steps;
    out.drafted = r.drafted;
    out.accepted = r.accepted;
    out.mean_accepted_length = r.mean_accepted_length;
    out.draft_seconds = r.draft_seconds;
    out.verify_seconds = r.verify_seconds;
    return out;
}

/// Pruning settings, defaults from llmc_prune_default_params() (Wanda, 50% unstructured);
/// a non-empty `calib` ("file:PATH", "random" or "selfgen:PATH") replaces `c.calib`.
struct PruneParams {
    llmc_prune_params c = llmc_prune_default_params();
    std::string calib;
};

/// Where a pruning run is: at `layer`, doing `stage` (LLMC_PRUNE_STAGE_*), `done` of `total`.
struct PruneProgress {
    std::size_t layer;
    llmc_prune_stage stage;
    std::size_t done, total;
};

/// Prunes the GGUF model at `model_path` into a new GGUF file at `out_path` (see llmc_prune:
/// the library opens its own copy of the model; bad settings throw Error before any work; a
/// failed or cancelled run leaves no file). `progress` returning false (or throwing) cancels.
inline llmc_prune_result prune(const std::string &model_path, const std::string &out_path,
                               const PruneParams &params = {},
                               std::function<bool(const PruneProgress &)> progress = {}) {
    using Fn = std::function<bool(const PruneProgress &)>;
    detail::Trampoline<Fn> t{&progress, nullptr};
    auto cb = [](std::size_t layer, llmc_prune_stage stage, std::size_t done, std::size_t total,
                 void *ud) -> bool {
        auto *t = static_cast<detail::Trampoline<Fn> *>(ud);
        try {
            return (*t->fn)(PruneProgress{layer, stage, done, total});
        } catch (...) {
            t->error = std::current_exception();
            return false;
        }
    };
    llmc_prune_params p = params.c;
    if (!params.calib.empty()) p.calib = params.calib.c_str();
    llmc_prune_result r{};
    r.struct_size = sizeof r;
    llmc_status st = llmc_prune(model_path.c_str(), out_path.c_str(), &p,
                                progress ? +cb : nullptr, &t, &r);
    if (t.error) std::rethrow_exception(t.error);
    detail::check(st);
    return r;
}

/// Evaluation settings, defaults from llmc_eval_default_params() (every document, each task's
/// own few-shot count, 1000 bootstrap resamples); `tasks_dir` empty = "tasks"; `model_name`
/// (evaluate on a Model) empty = the model's general.name.
struct EvalParams {
    llmc_eval_params c = llmc_eval_default_params();
    std::string tasks_dir;
    std::string model_name;
};

/// Where an evaluation is: task `task_index` (0-based) of `n_tasks`, `done` of its `total`
/// requests answered.
struct EvalProgress {
    std::size_t task_index, n_tasks, done, total;
};

/// A log-likelihood request (views valid during the engine's call) and its answer.
struct EvalRequest {
    std::string_view context, continuation;
};
struct LogLikelihood {
    double logprob;
    bool is_greedy;
};

/// A language model that is not ours (llmc_eval_engine): set the callbacks the tasks need, an
/// empty one is a NULL callback (a task needing it throws Error before any work). Each answers
/// its requests in order (the log-likelihood ones a whole task's batch at once) and may throw:
/// the exception stops the run and comes back out of evaluate().
struct EvalEngine {
    std::string name;
    /// log p(continuation | context) in nats, and whether the continuation is the greedy one.
    std::function<std::vector<LogLikelihood>(const std::vector<EvalRequest> &)> loglikelihood;
    /// Each whole text's log-likelihood from an empty context.
    std::function<std::vector<double>(const std::vector<std::string_view> &)>
        loglikelihood_rolling;
    /// Greedy text after `context`, at most `max_tokens` tokens, stopping at the first of
    /// `until` (text past it is cut by the library).
    std::function<std::string(std::string_view context, const std::vector<std::string_view> &until,
                              std::size_t max_tokens)>
        generate_until;
};

namespace detail {

struct EvalResultsDeleter {
    void operator()(llmc_eval_results *r) const noexcept { llmc_eval_results_free(r); }
};

using EvalProgressFn = std::function<bool(const EvalProgress &)>;

/// What the C callbacks of one evaluation reach through their user data.
struct EvalRun {
    const EvalEngine *engine;
    EvalProgressFn *progress;
    std::string answer; // generate_until's last text, valid until its next call
    std::exception_ptr error;
};

/// Runs `body` for a C callback, keeping any exception in `run`; false when it threw.
template <typename F> bool eval_guard(void *ud, F body) {
    auto *run = static_cast<EvalRun *>(ud);
    try {
        body(*run);
        return true;
    } catch (...) {
        run->error = std::current_exception();
        return false;
    }
}

inline void eval_count(const char *callback, std::size_t got, std::size_t n) {
    if (got != n)
        throw Error(LLMC_ERR_INVALID_ARGUMENT, std::string("llmcore::evaluate: the engine's ") +
                                                   callback + " answered " + std::to_string(got) +
                                                   " of " + std::to_string(n) + " requests");
}

inline bool eval_loglikelihood(void *ud, const llmc_eval_pair *requests, std::size_t n,
                               double *logprob_out, bool *is_greedy_out) {
    return eval_guard(ud, [&](EvalRun &run) {
        std::vector<EvalRequest> r;
        r.reserve(n);
        for (std::size_t i = 0; i < n; i++)
            r.push_back({{requests[i].context, requests[i].context_len},
                         {requests[i].continuation, requests[i].continuation_len}});
        std::vector<LogLikelihood> out = run.engine->loglikelihood(r);
        eval_count("loglikelihood", out.size(), n);
        for (std::size_t i = 0; i < n; i++) {
            logprob_out[i] = out[i].logprob;
            is_greedy_out[i] = out[i].is_greedy;
        }
    });
}

inline std::vector<std::string_view> eval_texts(const llmc_eval_text *texts, std::size_t n) {
    std::vector<std::string_view> out;
    out.reserve(n);
    for (std::size_t i = 0; i < n; i++) out.emplace_back(texts[i].text, texts[i].len);
    return out;
}

inline bool eval_rolling(void *ud, const llmc_eval_text *texts, std::size_t n,
                         double *logprob_out) {
    return eval_guard(ud, [&](EvalRun &run) {
        std::vector<double> out = run.engine->loglikelihood_rolling(eval_texts(texts, n));
        eval_count("loglikelihood_rolling", out.size(), n);
        std::copy(out.begin(), out.end(), logprob_out);
    });
}

inline const char *eval_generate(void *ud, const char *context, std::size_t context_len,
                                 const llmc_eval_text *until, std::size_t n_until,
                                 std::size_t max_tokens, std::size_t *text_len_out) {
    EvalRun *run = static_cast<EvalRun *>(ud);
    bool ok = eval_guard(ud, [&](EvalRun &r) {
        r.answer = r.engine->generate_until(std::string_view(context, context_len),
                                            eval_texts(until, n_until), max_tokens);
        *text_len_out = r.answer.size();
    });
    return ok ? run->answer.c_str() : nullptr;
}

inline bool eval_progress(std::size_t task_index, std::size_t n_tasks, std::size_t done,
                          std::size_t total, void *ud) {
    bool go_on = false;
    bool ok = eval_guard(ud, [&](EvalRun &run) {
        go_on = (*run.progress)(EvalProgress{task_index, n_tasks, done, total});
    });
    return ok && go_on;
}

} // namespace detail

/// The results of an evaluation (llmc_eval_results). Move-only; shareable between threads.
class EvalResults {
  public:
    const llmc_eval_results *get() const noexcept { return ptr_.get(); }

    /// The results as JSON text: "model", "settings", "tasks" (each with its file hash and
    /// metrics, and "samples" when asked for), "categories", timing.
    std::string json() const {
        return detail::read_text([&](char *b, std::size_t c, std::size_t *o) {
            return llmc_eval_results_json(get(), b, c, o);
        });
    }

    /// The value of `metric` over task `task` and its bootstrap standard error; throws Error
    /// (LLMC_ERR_INVALID_ARGUMENT) naming a task or metric the results do not have.
    std::pair<double, double> metric(const std::string &task, const std::string &metric) const {
        double value = 0, stderr_ = 0;
        detail::check(
            llmc_eval_results_metric(get(), task.c_str(), metric.c_str(), &value, &stderr_));
        return {value, stderr_};
    }

  private:
    explicit EvalResults(llmc_eval_results *r) : ptr_(r) {}
    std::unique_ptr<llmc_eval_results, detail::EvalResultsDeleter> ptr_;
    friend EvalResults evaluate(const EvalEngine &, const std::string &, const EvalParams &,
                                detail::EvalProgressFn);
    friend EvalResults evaluate(const Model &, const std::string &, const EvalParams &,
                                detail::EvalProgressFn);
};

/// Runs the tasks `tasks` names (task files, suite files or directories, or suite names in
/// `params.tasks_dir`; see llmc_eval_run) on `engine`. `progress` returning false (or throwing)
/// cancels. Throws Error for bad settings, a missing callback, a cancel; an engine's or the
/// progress callback's own exception is rethrown as it is.
inline EvalResults evaluate(const EvalEngine &engine, const std::string &tasks,
                            const EvalParams &params = {}, detail::EvalProgressFn progress = {}) {
    detail::EvalRun run{&engine, &progress, {}, nullptr};
    llmc_eval_engine e{};
    e.struct_size = sizeof e;
    e.user_data = &run;
    e.loglikelihood = engine.loglikelihood ? detail::eval_loglikelihood : nullptr;
    e.loglikelihood_rolling = engine.loglikelihood_rolling ? detail::eval_rolling : nullptr;
    e.generate_until = engine.generate_until ? detail::eval_generate : nullptr;
    llmc_eval_results *r = nullptr;
    llmc_status st = llmc_eval_run(
        &e, engine.name.c_str(), tasks.c_str(),
        params.tasks_dir.empty() ? nullptr : params.tasks_dir.c_str(), &params.c,
        progress ? detail::eval_progress : nullptr, &run, &r);
    EvalResults out(r);
    if (run.error) std::rethrow_exception(run.error);
    detail::check(st);
    return out;
}

/// Runs the tasks on `model` with this library's runtime (llmc_eval_run_model): the results'
/// model object holds the model file's SHA-256.
inline EvalResults evaluate(const Model &model, const std::string &tasks,
                            const EvalParams &params = {}, detail::EvalProgressFn progress = {}) {
    detail::EvalRun run{nullptr, &progress, {}, nullptr};
    llmc_eval_results *r = nullptr;
    llmc_status st = llmc_eval_run_model(
        model.get(), params.model_name.empty() ? nullptr : params.model_name.c_str(),
        tasks.c_str(), params.tasks_dir.empty() ? nullptr : params.tasks_dir.c_str(), &params.c,
        progress ? detail::eval_progress : nullptr, &run, &r);
    EvalResults out(r);
    if (run.error) std::rethrow_exception(run.error);
    detail::check(st);
    return out;
}

/// Which optimizer an Optimizer runs (llmc_optimizer_kind).
enum class OptimizerKind : llmc_optimizer_kind {
    AdamW = LLMC_OPTIMIZER_ADAMW,
    Adafactor = LLMC_OPTIMIZER_ADAFACTOR,
    Came = LLMC_OPTIMIZER_CAME,
    Adapprox = LLMC_OPTIMIZER_ADAPPROX,
};

/// Optimizer settings, defaults from llmc_optimizer_default_params(kind); each kind reads only
/// its own fields of `c` (see llmc_optimizer_params).
struct OptimizerParams {
    llmc_optimizer_params c;
    explicit OptimizerParams(OptimizerKind kind = OptimizerKind::AdamW)
        : c(llmc_optimizer_default_params(static_cast<llmc_optimizer_kind>(kind))) {}
};

/// One parameter: a vector (`dims = {len}`) or a row-major matrix (`dims = {rows, cols}`).
struct ParamShape {
    std::string name;
    std::vector<std::size_t> dims;
};

/// The bytes of state an optimizer holds (llmc_optimizer_state_bytes).
struct StateBytes {
    std::size_t total = 0, step_scratch = 0;
};

/// An optimizer over the caller's own f32 buffers (llmc_optimizer). Move-only; use from one
/// thread at a time. The buffers are read and written during step() only.
class Optimizer {
  public:
    /// An optimizer for `shapes`, in the order step() takes them; throws Error for bad
    /// settings or shapes (the message names the field or the parameter).
    Optimizer(const OptimizerParams &params, const std::vector<ParamShape> &shapes)
        : n_(shapes.size()) {
        std::vector<llmc_param_shape> c(shapes.size());
        for (std::size_t i = 0; i < shapes.size(); i++) {
            const ParamShape &s = shapes[i];
            c[i].name = s.name.c_str();
            c[i].ndim = s.dims.size(); // anything but 1 or 2 is refused by the library
            c[i].dims[0] = s.dims.size() > 0 ? s.dims[0] : 0;
            c[i].dims[1] = s.dims.size() > 1 ? s.dims[1] : 0;
        }
        llmc_optimizer *o = nullptr;
        detail::check(llmc_optimizer_new(&params.c, c.data(), c.size(), &o));
        ptr_.reset(o);
    }

    llmc_optimizer *get() const noexcept { return ptr_.get(); }

    /// Parameters declared.
    std::size_t size() const noexcept { return n_; }

    /// One update of every parameter in place: `params[i]` and `grads[i]` point to the i-th
    /// declared parameter's values and gradient. All or nothing: on an Error (a NaN gradient,
    /// a NULL or shared buffer, a wrong count) nothing changed.
    void step(const std::vector<float *> &params, const std::vector<const float *> &grads) {
        if (params.size() != grads.size())
            throw Error(LLMC_ERR_INVALID_ARGUMENT,
                        "llmcore::Optimizer::step: " + std::to_string(params.size()) +
                            " parameters and " + std::to_string(grads.size()) + " gradients");
        detail::check(llmc_optimizer_step(get(), params.data(), grads.data(), params.size()));
    }

    /// The learning rate of the following steps (finite and > 0).
    void set_lr(double lr) { detail::check(llmc_optimizer_set_lr(get(), lr)); }

    double lr() const {
        double lr = 0;
        detail::check(llmc_optimizer_lr(get(), &lr));
        return lr;
    }

    /// Steps taken (refused ones do not count).
    uint64_t steps() const {
        uint64_t n = 0;
        detail::check(llmc_optimizer_steps(get(), &n));
        return n;
    }

    StateBytes state_bytes() const {
        StateBytes b;
        detail::check(llmc_optimizer_state_bytes(get(), &b.total, &b.step_scratch));
        return b;
    }

    /// Parameter `index`'s bytes of state and, for an Adapprox matrix, its factors' rank and
    /// relative error.
    llmc_param_state param_state(std::size_t index) const {
        llmc_param_state s{};
        s.struct_size = sizeof s;
        detail::check(llmc_optimizer_param_state(get(), index, &s));
        return s;
    }

  private:
    std::unique_ptr<llmc_optimizer, detail::OptimizerDeleter> ptr_;
    std::size_t n_ = 0;
};

/// A log-mel recipe (llmc_audio_params): the preset's ("fastspeech2" or "whisper"; an unknown
/// name throws Error naming the known ones). Change the fields of `c` you need; every call
/// checks them.
struct AudioParams {
    llmc_audio_params c;
    explicit AudioParams(const std::string &preset = "fastspeech2") : c() {
        detail::check(llmc_audio_default_params(preset.c_str(), &c));
    }
};

/// A decoded WAV file: `samples` (interleaved unless decoded as mono), the file's rate and
/// channel count.
struct Wav {
    std::vector<float> samples;
    uint32_t sample_rate = 0;
    uint16_t channels = 0;
};

/// Decodes a RIFF/WAVE file held in memory (see llmc_wav_decode); throws Error
/// (LLMC_ERR_FORMAT with the byte offset at fault for a truncated or compressed file).
inline Wav decode_wav(const void *bytes, std::size_t len, bool mono = true) {
    Wav w;
    const auto *b = static_cast<const uint8_t *>(bytes);
    std::size_t n = 0;
    detail::check(llmc_wav_decode(b, len, mono, nullptr, 0, &w.sample_rate, &w.channels, &n));
    w.samples.resize(n);
    detail::check(llmc_wav_decode(b, len, mono, w.samples.data(), n, nullptr, nullptr, &n));
    return w;
}

inline Wav decode_wav(const std::vector<uint8_t> &bytes, bool mono = true) {
    return decode_wav(bytes.data(), bytes.size(), mono);
}

/// Feature frames `audio_features` gives for `n_samples` samples at `sample_rate` Hz.
inline std::size_t audio_n_frames(std::size_t n_samples, uint32_t sample_rate,
                                  const AudioParams &params = AudioParams()) {
    std::size_t n = 0;
    detail::check(llmc_audio_n_frames(&params.c, n_samples, sample_rate, &n));
    return n;
}

/// Log-mel features (`n_frames` rows of `n_mels`, row-major) and frame energy.
struct Features {
    std::size_t n_frames = 0, n_mels = 0;
    std::vector<float> log_mel, energy;
    float at(std::size_t frame, std::size_t mel) const { return log_mel[frame * n_mels + mel]; }
};

/// Log-mel and energy of mono `pcm` at `sample_rate` Hz, resampled to the recipe's rate first
/// when it differs (llmc_audio_features).
inline Features audio_features(const std::vector<float> &pcm, uint32_t sample_rate,
                               const AudioParams &params = AudioParams()) {
    Features f;
    f.n_mels = params.c.n_mels;
    f.n_frames = audio_n_frames(pcm.size(), sample_rate, params);
    f.log_mel.resize(f.n_frames * f.n_mels);
    f.energy.resize(f.n_frames);
    detail::check(llmc_audio_features(&params.c, pcm.data(), pcm.size(), sample_rate,
                                      f.log_mel.data(), f.log_mel.size(), f.energy.data(),
                                      f.energy.size(), &f.n_frames));
    return f;
}

enum class F0Method : llmc_f0_method { Yin = LLMC_F0_YIN, Pyin = LLMC_F0_PYIN };

/// F0 per feature frame: Hz (NaN where pYIN finds the frame unvoiced), voicing (1 or 0), and
/// F0 interpolated over the unvoiced frames.
struct F0Track {
    std::vector<float> f0;
    std::vector<uint8_t> voiced;
    std::vector<float> f0_interpolated;
};

/// F0 of mono `pcm` at `sample_rate` Hz on the recipe's feature frames (llmc_audio_f0).
inline F0Track audio_f0(const std::vector<float> &pcm, uint32_t sample_rate,
                        F0Method method = F0Method::Pyin,
                        const AudioParams &params = AudioParams()) {
    std::size_t n = audio_n_frames(pcm.size(), sample_rate, params);
    F0Track t{std::vector<float>(n), std::vector<uint8_t>(n), std::vector<float>(n)};
    detail::check(llmc_audio_f0(&params.c, static_cast<llmc_f0_method>(method), pcm.data(),
                                pcm.size(), sample_rate, t.f0.data(), t.voiced.data(),
                                t.f0_interpolated.data(), n, &n));
    return t;
}

/// `pcm` (one channel) converted from `from_rate` to `to_rate` Hz (llmc_audio_resample).
inline std::vector<float> resample(const std::vector<float> &pcm, uint32_t from_rate,
                                   uint32_t to_rate) {
    return detail::read_list<float>([&](float *b, std::size_t c, std::size_t *o) {
        return llmc_audio_resample(pcm.data(), pcm.size(), from_rate, to_rate, b, c, o);
    });
}

namespace detail {
struct G2PDictDeleter {
    void operator()(llmc_g2p_dict *d) const noexcept { llmc_g2p_dict_free(d); }
};
} // namespace detail

/// A Mandarin pronunciation dictionary (llmc_g2p_dict). Move-only; immutable, so shareable
/// between threads.
class G2PDict {
  public:
    /// Reads pinyin_dict.json and phrases_dict.json from `dir` (e.g. assets/pypinyin).
    static G2PDict load(const std::string &dir) {
        llmc_g2p_dict *d = nullptr;
        detail::check(llmc_g2p_dict_load(dir.c_str(), &d));
        return G2PDict(d);
    }

    /// Makes it from the two files' texts held in memory.
    static G2PDict parse(std::string_view pinyin_dict, std::string_view phrases_dict) {
        llmc_g2p_dict *d = nullptr;
        detail::check(llmc_g2p_dict_parse(pinyin_dict.data(), pinyin_dict.size(),
                                          phrases_dict.data(), phrases_dict.size(), &d));
        return G2PDict(d);
    }

    const llmc_g2p_dict *get() const noexcept { return ptr_.get(); }

    /// TONE3 syllables separated by spaces, "," and "." for the pauses (llmc_g2p_pinyin).
    std::string pinyin(std::string_view text, bool tone_sandhi = true) const {
        return detail::read_text([&](char *b, std::size_t c, std::size_t *o) {
            return llmc_g2p_pinyin(get(), text.data(), text.size(), tone_sandhi, b, c, o);
        });
    }

    /// Phoneme ids as spoken (llmc_g2p_phonemes); phoneme_symbol names each.
    std::vector<uint32_t> phonemes(std::string_view text) const {
        return detail::read_list<uint32_t>([&](uint32_t *b, std::size_t c, std::size_t *o) {
            return llmc_g2p_phonemes(get(), text.data(), text.size(), b, c, o);
        });
    }

  private:
    explicit G2PDict(llmc_g2p_dict *d) : ptr_(d) {}
    std::unique_ptr<llmc_g2p_dict, detail::G2PDictDeleter> ptr_;
};

/// Phonemes in the inventory (ids 0 .. phoneme_count() - 1).
inline std::size_t phoneme_count() { return llmc_phoneme_count(); }

/// The symbol of phoneme `id` ("sil", "zh", "ong1").
inline std::string phoneme_symbol(uint32_t id) {
    return detail::read_text([&](char *b, std::size_t c, std::size_t *o) {
        return llmc_phoneme_symbol(id, b, c, o);
    });
}

/// The id of the phoneme written `symbol`.
inline uint32_t phoneme_id(const std::string &symbol) {
    uint32_t id = 0;
    detail::check(llmc_phoneme_id(symbol.c_str(), &id));
    return id;
}

/// Corpus settings (llmc_audio_corpus_params): `features` replaces `c.features`.
struct CorpusParams {
    llmc_audio_corpus_params c = llmc_audio_corpus_default_params();
    AudioParams features;
};

/// Where a corpus build is: `done` of `total` utterances, `utterance` ("SCENE/SPEAKER/ID")
/// the next one, empty on the last call (after the manifest is written).
struct CorpusProgress {
    std::size_t done, total;
    std::string_view utterance;
};

/// Turns the corpus under `root` into feature files and manifest.json under `out_dir` (see
/// llmc_audio_corpus). `progress` returning false (or throwing) cancels: Error
/// LLMC_ERR_CANCELLED (or the exception), no manifest.
inline llmc_audio_corpus_result
audio_corpus(const std::string &root, const std::string &out_dir, const G2PDict &dict,
             const CorpusParams &params = CorpusParams(),
             std::function<bool(const CorpusProgress &)> progress = {}) {
    using Fn = std::function<bool(const CorpusProgress &)>;
    detail::Trampoline<Fn> t{&progress, nullptr};
    auto cb = [](std::size_t done, std::size_t total, const char *utterance, void *ud) -> bool {
        auto *t = static_cast<detail::Trampoline<Fn> *>(ud);
        try {
            return (*t->fn)(CorpusProgress{done, total, utterance ? utterance : ""});
        } catch (...) {
            t->error = std::current_exception();
            return false;
        }
    };
    llmc_audio_corpus_params p = params.c;
    p.features = &params.features.c;
    llmc_audio_corpus_result r{};
    r.struct_size = sizeof r;
    llmc_status st = llmc_audio_corpus(root.c_str(), out_dir.c_str(), dict.get(), &p,
                                       progress ? +cb : nullptr, &t, &r);
    if (t.error) std::rethrow_exception(t.error);
    detail::check(st);
    return r;
}

} // namespace llmcore

#endif
