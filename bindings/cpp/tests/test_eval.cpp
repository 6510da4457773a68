// Tests of the C++ evaluation wrapper: an engine of lambdas (log p = -(bytes of the
// continuation), a fixed answer) on a toy suite with hand-computed metrics, misuse, exceptions
// from the engine and the progress callback, and SmolLM2 through evaluate(Model) on one
// question. scripts/test-bindings.sh runs the engine part under valgrind (--engine-only:
// hashing and running the model under memcheck takes a minute) and the whole test natively.
//   usage: test_eval MODEL.gguf SCRATCH_DIR [--engine-only]
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "llmcore.hpp"

#include "check.hpp"

static void write(const std::string &path, const std::string &text) { std::ofstream(path) << text; }

int main(int argc, char **argv) {
    const bool engine_only = argc == 4 && std::strcmp(argv[3], "--engine-only") == 0;
    if (argc != 3 && !engine_only) {
        std::fprintf(stderr, "usage: %s MODEL.gguf SCRATCH_DIR [--engine-only]\n", argv[0]);
        return 2;
    }
    using namespace llmcore;
    const std::string dir = argv[2];
    const std::string mc = dir + "/cpp-eval-mc.json", gen = dir + "/cpp-eval-gen.json";
    write(mc, R"({"name": "mc", "docs": "cpp-eval-mc.jsonl", "output_type": "multiple_choice",
  "doc_to_text": "Q: {{q}}\nA:", "doc_to_choice": "{{choices}}", "doc_to_target": "{{answer}}",
  "metrics": ["acc"]})");
    write(dir + "/cpp-eval-mc.jsonl", R"({"q": "a", "choices": ["xx", "y"], "answer": 1}
{"q": "b", "choices": ["z", "ww"], "answer": 1}
{"q": "c", "choices": ["vvv", "u", "tt"], "answer": 1}
)");
    write(gen, R"({"name": "gen", "docs": "cpp-eval-gen.jsonl", "output_type": "generate_until",
  "doc_to_text": "Q: {{q}}\nA:", "doc_to_target": "{{a}}", "until": ["\n"], "max_tokens": 8,
  "metrics": ["exact_match"]})");
    write(dir + "/cpp-eval-gen.jsonl", "{\"q\": \"1\", \"a\": \"yes\"}\n{\"q\": \"2\", \"a\": \"no\"}\n");
    const std::string both = mc + "," + gen;

    // Defaults.
    EvalParams defaults;
    CHECK(defaults.c.limit == -1 && defaults.c.num_fewshot == -1 &&
          defaults.c.bootstrap_iters == 1000 && !defaults.c.samples);

    // The toy engine: the shortest continuation is the likeliest; the answer is " yes" and
    // runs past the stop string.
    int calls = 0;
    EvalEngine engine;
    engine.name = "cpp engine";
    engine.loglikelihood = [&](const std::vector<EvalRequest> &reqs) {
        calls++;
        std::vector<LogLikelihood> out;
        for (const EvalRequest &r : reqs)
            out.push_back({-static_cast<double>(r.continuation.size()), r.continuation.size() == 2});
        return out;
    };
    engine.generate_until = [&](std::string_view context, const std::vector<std::string_view> &until,
                                std::size_t max_tokens) {
        calls++;
        bool ok = context.substr(0, 3) == "Q: " && until.size() == 1 && until[0] == "\n" &&
                  max_tokens == 8;
        return std::string(ok ? " yes\nQ: more" : "wrong request");
    };
    std::vector<EvalProgress> seen;
    EvalResults r = evaluate(engine, both, {}, [&](const EvalProgress &p) {
        seen.push_back(p);
        return true;
    });
    CHECK(calls == 3 && seen.size() == 3);
    CHECK(seen.size() == 3 && seen[0].task_index == 0 && seen[0].done == 7 &&
          seen[2].task_index == 1 && seen[2].n_tasks == 2 && seen[2].done == 2);
    auto acc = r.metric("mc", "acc");
    CHECK(std::fabs(acc.first - 2.0 / 3.0) < 1e-12 && acc.second > 0);
    CHECK(r.metric("gen", "exact_match").first == 0.5);
    std::string json = r.json();
    CHECK(json.find(R"("model":{"name":"cpp engine","engine":"external"})") != std::string::npos);
    CHECK(json.find(R"("requests":9,)") != std::string::npos);
    EXPECT_ERROR(r.metric("mc", "bleu"), LLMC_ERR_INVALID_ARGUMENT,
                 "task mc has no metric \"bleu\" (it has acc)");
    EXPECT_ERROR(r.metric("other", "acc"), LLMC_ERR_INVALID_ARGUMENT, "no task \"other\"");
    EvalResults moved = std::move(r);
    CHECK(moved.metric("gen", "exact_match").first == 0.5);

    // Settings and a missing callback: errors before any work.
    EvalParams p;
    p.c.limit = 1;
    p.c.samples = true;
    EvalResults one = evaluate(engine, mc, p);
    CHECK(one.metric("mc", "acc").first == 1 && one.json().find(R"("samples":[)") != std::string::npos);
    p.c.bootstrap_iters = 0;
    EXPECT_ERROR(evaluate(engine, mc, p), LLMC_ERR_INVALID_ARGUMENT, "params->bootstrap_iters 0");
    EvalEngine no_gen = engine;
    no_gen.generate_until = nullptr;
    calls = 0;
    EXPECT_ERROR(evaluate(no_gen, both), LLMC_ERR_INVALID_ARGUMENT,
                 "engine has no generate_until callback (task gen needs it)");
    CHECK(calls == 0);
    EXPECT_ERROR(evaluate(engine, dir + "/none.json"), LLMC_ERR_INVALID_ARGUMENT, "none.json");
    EXPECT_ERROR(evaluate(engine, "nosuite", EvalParams{llmc_eval_default_params(), dir, ""}),
                 LLMC_ERR_INVALID_ARGUMENT, "\"nosuite\"");

    // An engine that throws, one that answers too few requests, a progress callback that
    // cancels or throws.
    EvalEngine throws = engine;
    throws.loglikelihood = [](const std::vector<EvalRequest> &) -> std::vector<LogLikelihood> {
        throw std::runtime_error("engine down");
    };
    bool caught = false;
    try {
        evaluate(throws, both);
    } catch (const std::runtime_error &e) {
        caught = std::string(e.what()) == "engine down";
    }
    CHECK(caught);
    EvalEngine short_answer = engine;
    short_answer.loglikelihood = [](const std::vector<EvalRequest> &) {
        return std::vector<LogLikelihood>{{-1.0, false}};
    };
    EXPECT_ERROR(evaluate(short_answer, mc), LLMC_ERR_INVALID_ARGUMENT,
                 "the engine's loglikelihood answered 1 of 7 requests");
    EXPECT_ERROR(evaluate(engine, both, {}, [](const EvalProgress &pr) { return pr.task_index == 0; }),
                 LLMC_ERR_CANCELLED, "cancelled by the progress callback in task gen");
    caught = false;
    try {
        evaluate(engine, both, {}, [](const EvalProgress &) -> bool { throw std::logic_error("no"); });
    } catch (const std::logic_error &) {
        caught = true;
    }
    CHECK(caught);

    if (engine_only) {
        for (const char *f : {"mc.json", "mc.jsonl", "gen.json", "gen.jsonl"})
            std::remove((dir + "/cpp-eval-" + f).c_str());
        std::printf("cpp eval (engine only): %d passed, %d failed\n", passed, failed);
        return failed == 0 ? 0 : 1;
    }

    // Our runtime on one question.
    Model model = Model::load(argv[1]);
    const std::string capitals = dir + "/cpp-eval-capitals.json";
    write(capitals, R"({"name": "capitals", "docs": "cpp-eval-capitals.jsonl",
  "output_type": "multiple_choice",
  "doc_to_text": "Question: What is the capital of {{country}}?\nAnswer:",
  "doc_to_choice": "{{choices}}", "doc_to_target": "{{answer}}", "metrics": ["acc", "acc_norm"]})");
    write(dir + "/cpp-eval-capitals.jsonl",
          "{\"country\": \"France\", \"choices\": [\"Paris\", \"Lyon\", \"Berlin\"], \"answer\": 0}\n");
    EvalParams mp;
    mp.model_name = "smollm2";
    EvalResults native = evaluate(model, capitals, mp);
    double a = native.metric("capitals", "acc").first;
    CHECK(a == 0 || a == 1);
    std::string nj = native.json();
    CHECK(nj.find(R"("name":"smollm2","path":null,"sha256":"b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53")") !=
          std::string::npos);
    mp.c.max_length = 1;
    EXPECT_ERROR(evaluate(model, capitals, mp), LLMC_ERR_INVALID_ARGUMENT, "params->max_length");

    for (const char *f : {"mc.json", "mc.jsonl", "gen.json", "gen.jsonl", "capitals.json",
                          "capitals.jsonl"})
        std::remove((dir + "/cpp-eval-" + f).c_str());
    std::printf("cpp eval: %d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
