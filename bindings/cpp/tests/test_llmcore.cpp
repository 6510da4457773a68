// Tests of the C++ wrapper on the real SmolLM2 model; run under valgrind by
// scripts/test-bindings.sh.   usage: test_llmcore MODEL.gguf [SCRATCH_DIR (default /tmp)]
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "llmcore.hpp"

#include "check.hpp"

int main(int argc, char **argv) {
    if (argc < 2 || argc > 3) {
        std::fprintf(stderr, "usage: %s MODEL.gguf [SCRATCH_DIR]\n", argv[0]);
        return 2;
    }
    using namespace llmcore;
    CHECK(version() == std::to_string(LLMC_VERSION_MAJOR) + "." +
                           std::to_string(LLMC_VERSION_MINOR) + "." +
                           std::to_string(LLMC_VERSION_PATCH));
    EXPECT_ERROR(Model::load("/nonexistent.gguf"), LLMC_ERR_IO, "/nonexistent.gguf");

    // The Lynx planner: a plan as JSON text, and errors naming the field or the minimum memory.
    const std::string req = R"({"model": "gpt-1.3b", "micro_batch": 1, "global_batch": 8)";
    std::string plan = schedule(req + R"(, "tp": 2, "pp": 2, "policy": "heu"})");
    CHECK(plan.front() == '{' && plan.back() == '}' && plan.find('\0') == std::string::npos);
    CHECK(plan.find(R"("policy":"heu")") != std::string::npos &&
          plan.find(R"("tp":2,"pp":2)") != std::string::npos);
    EXPECT_ERROR(schedule(req), LLMC_ERR_FORMAT, "malformed JSON");
    EXPECT_ERROR(schedule(req + R"(, "tp": 3})"), LLMC_ERR_INVALID_ARGUMENT,
                 "does not divide the 16 attention heads");
    EXPECT_ERROR(schedule(req + R"(, "memory_gb": 1, "policy": "opt"})"),
                 LLMC_ERR_INVALID_ARGUMENT, "the leanest schedule needs");

    Model model = Model::load(argv[1]);
    ModelInfo info = model.info();
    CHECK(info.arch == "llama" && info.n_layer == 30 && info.vocab_size == 49152);
    CHECK(info.n_params == 134515008u && info.eot_token == 2 && info.pad_token == 2);
    CHECK(model.eog_tokens() == std::vector<Token>({0, 2, 4}) && info.n_eog_tokens == 3);
    CHECK(model.token_attributes(0) == (LLMC_TOKEN_ATTR_CONTROL | LLMC_TOKEN_ATTR_EOG));
    EXPECT_ERROR(model.token_attributes(49152), LLMC_ERR_TOKEN_OUT_OF_RANGE, "49152");
    {
        std::vector<Token> chat = model.tokenize_opts(
            "<|im_start|>user\nHi<|im_end|>",
            LLMC_TOKENIZE_PARSE_SPECIAL | LLMC_TOKENIZE_ADD_SPECIAL);
        CHECK(chat.front() == 1 && chat.back() == 2);
        CHECK(model.detokenize_opts(chat, LLMC_DETOKENIZE_SKIP_CONTROL) == "user\nHi");
        EXPECT_ERROR(model.tokenize_opts("x", 8), LLMC_ERR_INVALID_ARGUMENT, "flags 0x8");
    }
    CHECK(model.metadata("general.architecture") == "llama");
    CHECK(model.metadata_keys().size() > 10);
    EXPECT_ERROR(model.metadata("nope"), LLMC_ERR_MISSING_METADATA, "nope");

    const std::string prompt = "The capital of France is";
    std::vector<Token> toks = model.tokenize(prompt);
    CHECK(toks.size() >= 4);
    CHECK(model.detokenize(toks) == prompt);
    CHECK(model.tokenize("").empty());
    CHECK(!model.token_piece(toks[0]).empty());
    CHECK(model.apply_chat_template({{"user", "Hi"}}).find("Hi") != std::string::npos);
    EXPECT_ERROR(model.detokenize({info.vocab_size}), LLMC_ERR_TOKEN_OUT_OF_RANGE, "49152");

    GenerateParams gp;
    // Few tokens: under memcheck every forward takes seconds.
    const std::size_t n_new = 4;
    gp.c.max_tokens = n_new;
    std::string streamed;
    Generation g1;
    {
        // The session outlives the Model object it came from.
        Model local = Model::load(argv[1]);
        Session s(local, 64);
        local = Model::load(argv[1]);
        g1 = s.generate(toks, gp, [&](std::string_view piece) {
            streamed += piece;
            return true;
        });
    }
    CHECK(g1.n_tokens == n_new && g1.prompt_tokens == toks.size() && !g1.text.empty());
    CHECK(streamed == g1.text && g1.stop_reason == LLMC_STOP_MAX_TOKENS);

    Session s(model, 64);
    Generation g2 = s.generate(toks, gp);
    CHECK(g2.text == g1.text);

    // A callback that stops; one that throws (the exception comes back, the session works on).
    s.clear();
    int pieces = 0;
    Generation g3 = s.generate(toks, gp, [&](std::string_view) { return ++pieces < 2; });
    CHECK(g3.stop_reason == LLMC_STOP_CALLBACK && pieces == 2);
    s.clear();
    bool caught = false;
    try {
        s.generate(toks, gp, [](std::string_view) -> bool { throw std::runtime_error("stop!"); });
    } catch (const std::runtime_error &e) {
        caught = std::string(e.what()) == "stop!";
    }
    CHECK(caught);

    // Speculative decoding: greedy output is generate()'s (the n-gram draft with a fixed chain:
    // model drafts and the automatic budget's timing are slow under memcheck; tests/c/spec.c
    // runs those natively); bad settings throw before any work; a callback's exception comes
    // back out of speculate().
    {
        SpecParams sp;
        sp.generate = gp;
        sp.c.tree = LLMC_TREE_CHAIN;
        sp.c.budget = 4;
        Session target(model, 64);
        std::string pieces_text;
        Speculation sd = speculate(target, toks, sp, [&](std::string_view piece) {
            pieces_text += piece;
            return true;
        });
        CHECK(sd.generation.text == g1.text && pieces_text == g1.text);
        CHECK(sd.generation.n_tokens == n_new && sd.generation.stop_reason == LLMC_STOP_MAX_TOKENS);
        CHECK(sd.steps >= 1 && sd.steps == sd.generation.decode_steps);
        CHECK(sd.accepted <= sd.drafted && sd.mean_accepted_length >= 1.0);
        CHECK(target.size() == toks.size() + n_new - 1);

        Session fresh(model, 64);
        SpecParams bad = sp;
        bad.c.draft_kind = LLMC_DRAFT_SELF;
        bad.c.self_draft_layers = 30;
        EXPECT_ERROR(speculate(fresh, toks, bad), LLMC_ERR_INVALID_ARGUMENT,
                     "params->self_draft_layers: a self-draft of 30 layers from a model of 30");
        bad = sp;
        bad.c.budget = 0;
        bad.c.max_depth = 0;
        EXPECT_ERROR(speculate(fresh, toks, bad), LLMC_ERR_INVALID_ARGUMENT,
                     "params->max_depth");
        bad = sp;
        bad.c.draft_kind = LLMC_DRAFT_MODEL;
        EXPECT_ERROR(speculate(fresh, toks, bad), LLMC_ERR_NULL_ARGUMENT,
                     "'params->draft_model' is NULL");
        bad = sp;
        bad.generate.stop = {""};
        EXPECT_ERROR(speculate(fresh, toks, bad), LLMC_ERR_INVALID_ARGUMENT,
                     "params->generate->stop[0]");
        EXPECT_ERROR(speculate(fresh, {}, sp), LLMC_ERR_INVALID_ARGUMENT, "the prompt is empty");
        CHECK(fresh.size() == 0);
        bool spec_caught = false;
        try {
            speculate(fresh, toks, sp, [](std::string_view) -> bool { throw std::logic_error("x"); });
        } catch (const std::logic_error &) {
            spec_caught = true;
        }
        CHECK(spec_caught);
    }

    // Logits, errors from eval, truncate / compact.
    s.clear();
    std::vector<float> logits = s.eval(toks);
    CHECK(logits.size() == info.vocab_size && s.size() == toks.size());
    EXPECT_ERROR(s.eval({info.vocab_size + 5}), LLMC_ERR_TOKEN_OUT_OF_RANGE, "49157");
    Session small(model, 4);
    EXPECT_ERROR(small.eval(std::vector<Token>(5, toks[0])), LLMC_ERR_CONTEXT_OVERFLOW,
                 "5 positions needed, 4 available");
    CHECK(small.size() == 0 && small.capacity() == 4);
    // The KV cache type: f32 and f16 caches give nearly the same logits; a bad value is refused.
    Session f32_cache(model, 64, Numerics::Fast, KvType::F32);
    std::vector<float> logits_f32 = f32_cache.eval(toks);
    // (mean |difference|; tests/kv_f16.rs measures 0.16 on the fast path over 32 rows)
    double mean_diff = 0.0;
    for (std::size_t i = 0; i < logits.size(); i++)
        mean_diff += std::abs(logits[i] - logits_f32[i]) / logits.size();
    CHECK(logits != logits_f32 && mean_diff < 0.5);
    EXPECT_ERROR(Session(model, 4, Numerics::Fast, static_cast<KvType>(7)),
                 LLMC_ERR_INVALID_ARGUMENT, "kv_type 7");
    // Forks and saved states: each continues exactly like a fresh session fed the whole text;
    // a state that does not fit is refused without change.
    {
        const std::vector<Token> prompt(toks.begin(), toks.begin() + 3);
        const std::vector<Token> more{toks[3], toks[4]};
        Session base(model, 64);
        base.eval(prompt);
        Session fork = base.fork();
        Session whole(model, 64);
        std::vector<Token> all = prompt;
        all.insert(all.end(), more.begin(), more.end());
        CHECK(fork.eval(more) == whole.eval(all));
        CHECK(base.size() == prompt.size() && fork.size() == all.size());
        std::vector<std::uint8_t> state = base.save_state();
        Session resumed(model, 64);
        resumed.load_state(state);
        CHECK(resumed.save_state() == state);
        CHECK(resumed.eval(more) == base.eval(more));
        std::vector<std::uint8_t> cut(state.begin(), state.end() - 1);
        EXPECT_ERROR(small.load_state(cut), LLMC_ERR_FORMAT, "truncated");
        EXPECT_ERROR(f32_cache.load_state(state), LLMC_ERR_INVALID_ARGUMENT, "KV type");
        CHECK(small.size() == 0 && f32_cache.size() == toks.size());
    }
    // The sampler over our own logits: greedy is the argmax, its distribution is one token;
    // a sampled distribution is sorted and sums to 1; a ban is honoured; bad input throws.
    {
        Sampler greedy;
        Token best = static_cast<Token>(
            std::max_element(logits.begin(), logits.end()) - logits.begin());
        CHECK(greedy.sample(logits, toks) == best);
        std::vector<llmc_token_prob> one = greedy.distribution(logits);
        CHECK(one.size() == 1 && one[0].token == best && one[0].prob == 1.0);
        SamplerParams sp;
        sp.c.temperature = 1.0f;
        sp.c.top_k = 0;
        sp.c.top_p = 0.99f;
        sp.c.min_p = 0.001f;
        sp.c.presence_penalty = 0.5f;
        sp.logit_bias.push_back({best, -INFINITY});
        Sampler sampled(sp);
        std::vector<llmc_token_prob> dist = sampled.distribution(logits, toks);
        double sum = 0;
        for (const auto &d : dist) sum += d.prob;
        CHECK(dist.size() > 1 && std::abs(sum - 1.0) < 1e-9 && dist[0].prob >= dist[1].prob);
        CHECK(std::none_of(dist.begin(), dist.end(),
                           [&](const llmc_token_prob &d) { return d.token == best; }));
        CHECK(sampled.sample(logits, toks) != best);
        SamplerParams bad;
        bad.c.min_p = 2.0f;
        EXPECT_ERROR(Sampler{bad}, LLMC_ERR_INVALID_ARGUMENT, "params->min_p");
        EXPECT_ERROR(sampled.sample({}, toks), LLMC_ERR_INVALID_ARGUMENT, "n_vocab");
        GenerateParams banned;
        banned.c.max_tokens = 1;
        banned.logit_bias.push_back({best, -INFINITY});
        Session fresh(model, 64);
        Generation gb = fresh.generate(toks, banned);
        CHECK(gb.n_tokens == 1 && gb.text != model.token_piece(best));
    }
    s.truncate(2);
    CHECK(s.size() == 2);
    EXPECT_ERROR(s.truncate(3), LLMC_ERR_INVALID_ARGUMENT, "holds 2");
    s.eval({toks[2], toks[3]});
    s.compact(2, {3});
    CHECK(s.size() == 3);

    // The same logits through eval_batch with every row.
    s.clear();
    llmc_batch b = llmc_batch_default_params();
    b.tokens = toks.data();
    b.n_tokens = toks.size();
    b.logits = LLMC_LOGITS_ALL;
    std::vector<float> all = s.eval_batch(b, toks.size());
    CHECK(std::memcmp(all.data() + (toks.size() - 1) * info.vocab_size, logits.data(),
                      logits.size() * sizeof(float)) == 0);

    // Perplexity with progress, cancellation, log-likelihood.
    PerplexityParams pp;
    pp.c.ctx = 4;
    std::size_t calls = 0;
    llmc_perplexity_result r = model.perplexity(toks, pp, [&](std::size_t, std::size_t) {
        calls++;
        return true;
    });
    CHECK(r.windows == 1 && calls == 1 && r.ppl > 1.0);
    EXPECT_ERROR(model.perplexity(toks, pp, [](std::size_t, std::size_t) { return false; }),
                 LLMC_ERR_CANCELLED, "cancelled");
    auto ll = model.loglikelihood({toks[0], toks[1]}, {toks[2]});
    CHECK(ll.first < 0.0);

    // Calibration windows from a text file, and a self-made set of two short texts.
    const std::string scratch = argc > 2 ? argv[2] : "/tmp";
    const std::string calib_path = scratch + "/cpp-calib.txt";
    {
        std::ofstream f(calib_path);
        for (int i = 0; i < 20; i++) f << "Sir Walter Elliot, of Kellynch Hall, in Somersetshire. ";
    }
    auto windows = model.calib_windows("file:" + calib_path, 3, 16, 7);
    CHECK(windows.size() == 3 && windows[0].size() == 16 && windows[2].size() == 16);
    CHECK(windows == model.calib_windows("file:" + calib_path, 3, 16, 7));
    EXPECT_ERROR(model.calib_windows("file:" + calib_path, 1, 100000), LLMC_ERR_INVALID_ARGUMENT,
                 "fewer than one calibration window");
    EXPECT_ERROR(model.calib_windows("web", 1, 16), LLMC_ERR_INVALID_ARGUMENT, "file:PATH");
    SelfGenParams sg;
    sg.c.texts = 2;
    sg.c.max_new = 4;
    sg.c.drop = 0;
    const std::string set_path = scratch + "/cpp-selfgen.json";
    std::size_t texts = 0;
    const std::string seeds = "Once upon a time\n\nThe weather today";
    model.calib_selfgen(seeds, set_path, sg,
                        [&](std::size_t, std::size_t) { return ++texts > 0; });
    CHECK(texts == 2);
    CHECK(model.calib_windows("selfgen:" + set_path, 2, 2).size() == 2);
    EXPECT_ERROR(model.calib_selfgen(seeds, scratch + "/cpp-cancel.json", sg,
                                     [](std::size_t, std::size_t) { return false; }),
                 LLMC_ERR_CANCELLED, "cancel");
    std::remove(set_path.c_str());

    // Pruning: bad settings throw before any work; a callback's exception cancels the run and
    // comes back out of prune(); an existing output is refused.
    const std::string pruned = scratch + "/cpp-pruned.gguf";
    std::remove(pruned.c_str());
    PruneParams pp_bad;
    pp_bad.calib = "file:" + calib_path;
    pp_bad.c.sparsity = 1.5;
    EXPECT_ERROR(prune(argv[1], pruned, pp_bad), LLMC_ERR_INVALID_ARGUMENT,
                 "sparsity 1.5 is outside [0, 1)");
    pp_bad.c.sparsity = 0.5;
    pp_bad.c.nm_n = 2;
    pp_bad.c.nm_m = 5;
    EXPECT_ERROR(prune(argv[1], pruned, pp_bad), LLMC_ERR_INVALID_ARGUMENT,
                 "does not divide the 576 columns");
    EXPECT_ERROR(prune(argv[1], pruned, PruneParams{}), LLMC_ERR_INVALID_ARGUMENT,
                 "needs calibration");
    PruneParams mag;
    mag.c.method = LLMC_PRUNE_MAGNITUDE;
    mag.c.nm_n = 2;
    mag.c.nm_m = 4;
    mag.c.format = LLMC_PRUNE_FORMAT_Q4_0;
    bool threw = false;
    try {
        prune(argv[1], pruned, mag, [](const PruneProgress &p) -> bool {
            if (p.stage == LLMC_PRUNE_STAGE_PRUNE) throw std::logic_error("stop at the first");
            return true;
        });
    } catch (const std::logic_error &e) {
        threw = std::string(e.what()) == "stop at the first";
    }
    CHECK(threw && !std::ifstream(pruned).good());
    // (A real prune and its reload are tests/c/prune.c's, run natively: under memcheck here
    // one would take minutes.)
    std::ofstream(pruned) << "keep";
    EXPECT_ERROR(prune(argv[1], pruned, mag), LLMC_ERR_IO, "exists");
    std::remove(pruned.c_str());
    std::remove(calib_path.c_str());

    // A small safetensors file: one F32 tensor and a metadata entry.
    const std::string header = "{\"__metadata__\":{\"format\":\"pt\"},"
                               "\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}";
    const std::string st_path = std::string(argc > 2 ? argv[2] : "/tmp") + "/cpp-test.safetensors";
    {
        const float w[3] = {1.5f, -2.0f, 3.25f};
        uint64_t len = header.size();
        std::ofstream f(st_path, std::ios::binary);
        for (int i = 0; i < 8; i++) f.put(static_cast<char>(len >> (8 * i)));
        f << header;
        f.write(reinterpret_cast<const char *>(w), sizeof w);
    }
    Tensors t = Tensors::open(st_path);
    CHECK(t.names() == std::vector<std::string>{"w"} && t.metadata("format") == "pt");
    llmc_tensor_info ti = t.info("w");
    CHECK(std::string(ti.dtype) == "F32" && ti.n_dims == 1 && ti.shape[0] == 3);
    std::vector<uint8_t> bytes = t.read("w");
    float back[3];
    std::memcpy(back, bytes.data(), sizeof back);
    CHECK(bytes.size() == 12 && back[0] == 1.5f && back[1] == -2.0f && back[2] == 3.25f);
    EXPECT_ERROR(t.info("v"), LLMC_ERR_MISSING_TENSOR, "'v'");
    std::remove(st_path.c_str());

    std::printf("cpp: %d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
