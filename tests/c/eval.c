/* The evaluation harness through the llmcore C ABI: the default parameters; an engine written
 * here in C (log p = -(bytes of the continuation), a generate_until that answers " yes" and
 * runs past the stop string) on a multiple-choice and a generation task written to the scratch
 * directory as a suite, whose acc and exact_match must be the hand-computed 2/3 and 1/2, with
 * the progress reports, the results JSON and the metric lookups; misuse (NULL arguments, wrong
 * struct sizes, bad settings, a missing callback, a failing callback, a cancel), each refused
 * with its status and a message naming the function and what is wrong, no handle written; then
 * llmc_eval_run_model on SmolLM2 (acc in [0, 1], the model's SHA-256 in the JSON) against an
 * engine in C over llmc_tokenize + llmc_loglikelihood on the same model, which must give the
 * same metrics. Run by scripts/test-bindings.sh.
 *
 * usage: eval MODEL.gguf SCRATCH_DIR [--engine-only]
 * (--engine-only: everything but the model, quick enough for valgrind) */
#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "check.h"

#define SMOLLM2_SHA256 "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"

static char suite_dir[4200];

static void write_file(const char *name, const char *text) {
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", suite_dir, name);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

/* The suite "mini" under SCRATCH_DIR/evaltasks: mc (3 questions; the shortest choice is the
 * gold one in the first and third) and gen (2 questions, answers "yes" and "no"). */
static void write_tasks(const char *scratch) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/evaltasks", scratch);
    snprintf(suite_dir, sizeof suite_dir, "%s/mini", dir);
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", suite_dir);
    CHECK(system(cmd) == 0);
    write_file("mc.json",
               "{\"name\": \"mc\", \"category\": \"toy\", \"docs\": \"mc.jsonl\",\n"
               " \"output_type\": \"multiple_choice\", \"doc_to_text\": \"Q: {{q}}\\nA:\",\n"
               " \"doc_to_choice\": \"{{choices}}\", \"doc_to_target\": \"{{answer}}\",\n"
               " \"metrics\": [\"acc\"]}\n");
    write_file("mc.jsonl", "{\"q\": \"a\", \"choices\": [\"xx\", \"y\"], \"answer\": 1}\n"
                           "{\"q\": \"b\", \"choices\": [\"z\", \"ww\"], \"answer\": 1}\n"
                           "{\"q\": \"c\", \"choices\": [\"vvv\", \"u\", \"tt\"], \"answer\": 1}\n");
    write_file("gen.json",
               "{\"name\": \"gen\", \"category\": \"toy\", \"docs\": \"gen.jsonl\",\n"
               " \"output_type\": \"generate_until\", \"doc_to_text\": \"Q: {{q}}\\nA:\",\n"
               " \"doc_to_target\": \"{{a}}\", \"until\": [\"\\n\"], \"max_tokens\": 8,\n"
               " \"metrics\": [\"exact_match\"]}\n");
    write_file("gen.jsonl", "{\"q\": \"1\", \"a\": \"yes\"}\n{\"q\": \"2\", \"a\": \"no\"}\n");
    write_file("suite.json", "{\"suite\": \"mini\", \"tasks\": [\"mc.json\", \"gen.json\"]}\n");
}

/* The toy engine's state. */
typedef struct {
    int calls;
    int fail;          /* callbacks fail (false / NULL) */
    int bad_text;      /* generate_until answers invalid UTF-8 */
    char answer[64];   /* generate_until's last answer, valid until its next call */
} toy_state;

/* log p(continuation | context) = -(bytes of the continuation); greedy for one byte after
 * the space. */
static bool toy_loglikelihood(void *user_data, const llmc_eval_pair *requests, size_t n,
                              double *logprob_out, bool *is_greedy_out) {
    toy_state *s = user_data;
    s->calls++;
    if (s->fail) return false;
    for (size_t i = 0; i < n; i++) {
        const llmc_eval_pair *r = &requests[i];
        /* Texts come NUL-terminated too. */
        if (r->context[r->context_len] != '\0' || r->continuation[r->continuation_len] != '\0')
            return false;
        logprob_out[i] = -(double)r->continuation_len;
        is_greedy_out[i] = r->continuation_len == 2;
    }
    return true;
}

static const char *toy_generate(void *user_data, const char *context, size_t context_len,
                                const llmc_eval_text *until, size_t n_until, size_t max_tokens,
                                size_t *text_len_out) {
    toy_state *s = user_data;
    s->calls++;
    if (s->fail) return NULL;
    if (context_len < 3 || strncmp(context, "Q: ", 3) != 0 || context[context_len] != '\0')
        return NULL;
    if (n_until != 1 || until[0].len != 1 || strcmp(until[0].text, "\n") != 0 || max_tokens != 8)
        return NULL;
    /* Past the stop string: the library cuts the answer to " yes". */
    strcpy(s->answer, s->bad_text ? " \xff" : " yes\nQ: and more");
    *text_len_out = strlen(s->answer);
    return s->answer;
}

static llmc_eval_engine toy_engine(toy_state *s) {
    llmc_eval_engine e = {.struct_size = sizeof e,
                          .user_data = s,
                          .loglikelihood = toy_loglikelihood,
                          .loglikelihood_rolling = NULL,
                          .generate_until = toy_generate};
    return e;
}

typedef struct {
    size_t calls[16][4];
    int n;
    int stop_at_task; /* return false in this task (-1: never) */
} progress_seen;

static bool on_progress(size_t task_index, size_t n_tasks, size_t done, size_t total,
                        void *user_data) {
    progress_seen *p = user_data;
    if (p->n < 16) {
        size_t *c = p->calls[p->n++];
        c[0] = task_index, c[1] = n_tasks, c[2] = done, c[3] = total;
    }
    return (int)task_index != p->stop_at_task;
}

/* The results JSON, malloc'd (NULL on failure). */
static char *results_json(const llmc_eval_results *r) {
    size_t n = 0;
    EXPECT_OK(llmc_eval_results_json(r, NULL, 0, &n));
    char *buf = malloc(n + 1);
    size_t m = 0;
    if (!buf) return NULL;
    EXPECT_OK(llmc_eval_results_json(r, buf, n + 1, &m));
    CHECK(m == n && strlen(buf) == n);
    return buf;
}

static void test_defaults(void) {
    llmc_eval_params p = llmc_eval_default_params();
    CHECK(p.struct_size == sizeof p && p.limit == -1 && p.num_fewshot == -1);
    CHECK(p.bootstrap_iters == 1000 && p.bootstrap_seed == 1234);
    CHECK(!p.samples && p.max_length == 0 && !p.exact);
}

static void test_engine(const char *scratch) {
    char tasks_dir[4096];
    snprintf(tasks_dir, sizeof tasks_dir, "%s/evaltasks", scratch);
    toy_state s = {0};
    llmc_eval_engine e = toy_engine(&s);
    progress_seen seen = {.stop_at_task = -1};
    llmc_eval_results *r = NULL;
    EXPECT_OK(llmc_eval_run(&e, "c engine", "mini", tasks_dir, NULL, on_progress, &seen, &r));
    CHECK(r != NULL);
    if (!r) return;
    /* One batched call for mc's 7 requests, one call per generation. */
    CHECK(s.calls == 3 && seen.n == 3);
    size_t want[3][4] = {{0, 2, 7, 7}, {1, 2, 1, 2}, {1, 2, 2, 2}};
    CHECK(memcmp(seen.calls, want, sizeof want) == 0);

    double acc = -1, err = -1, em = -1;
    EXPECT_OK(llmc_eval_results_metric(r, "mc", "acc", &acc, &err));
    CHECK(fabs(acc - 2.0 / 3.0) < 1e-12 && err > 0 && err < 1);
    EXPECT_OK(llmc_eval_results_metric(r, "gen", "exact_match", &em, NULL));
    CHECK(em == 0.5);
    char *json = results_json(r);
    CHECK(json && strstr(json, "\"model\":{\"name\":\"c engine\",\"engine\":\"external\"}"));
    CHECK(json && strstr(json, "\"requests\":9,"));
    CHECK(json && strstr(json, "\"category\":\"toy\",\"metric\":\"acc\""));
    CHECK(json && !strstr(json, "\"samples\""));
    free(json);

    /* Lookups and outputs. */
    double v = 7;
    EXPECT(llmc_eval_results_metric(r, "nope", "acc", &v, NULL), LLMC_ERR_INVALID_ARGUMENT,
           "no task \"nope\" in the results (tasks: mc, gen)");
    EXPECT(llmc_eval_results_metric(r, "mc", "exact_match", &v, NULL), LLMC_ERR_INVALID_ARGUMENT,
           "task mc has no metric \"exact_match\" (it has acc)");
    EXPECT(llmc_eval_results_metric(r, "mc", "acc", NULL, NULL), LLMC_ERR_NULL_ARGUMENT,
           "'value_out'");
    EXPECT(llmc_eval_results_metric(NULL, "mc", "acc", &v, NULL), LLMC_ERR_NULL_ARGUMENT,
           "'results'");
    CHECK(v == 7);
    char small[8];
    size_t n = 99;
    EXPECT(llmc_eval_results_json(r, small, sizeof small, &n), LLMC_ERR_BUFFER_TOO_SMALL, "'buf'");
    CHECK(n == 99);
    EXPECT(llmc_eval_results_json(r, NULL, 0, NULL), LLMC_ERR_NULL_ARGUMENT, "'n_out'");
    llmc_eval_results_free(r);
    llmc_eval_results_free(NULL);

    /* Samples, a limit and a task file named directly. */
    char mc_path[4400];
    snprintf(mc_path, sizeof mc_path, "%s/mc.json", suite_dir);
    llmc_eval_params p = llmc_eval_default_params();
    p.samples = true;
    p.limit = 1;
    r = NULL;
    EXPECT_OK(llmc_eval_run(&e, "c engine", mc_path, NULL, &p, NULL, NULL, &r));
    json = r ? results_json(r) : NULL;
    CHECK(json && strstr(json, "\"samples\":[{\"line\":1,") && strstr(json, "\"limit\":1"));
    free(json);
    EXPECT_OK(llmc_eval_results_metric(r, "mc", "acc", &acc, &err));
    CHECK(acc == 1 && err == 0);
    llmc_eval_results_free(r);
}

static void test_misuse(const char *scratch) {
    char tasks_dir[4096];
    snprintf(tasks_dir, sizeof tasks_dir, "%s/evaltasks", scratch);
    toy_state s = {0};
    llmc_eval_engine e = toy_engine(&s);
    llmc_eval_params p = llmc_eval_default_params();
    llmc_eval_results *r = NULL;
    EXPECT(llmc_eval_run(NULL, "x", "mini", tasks_dir, &p, NULL, NULL, &r), LLMC_ERR_NULL_ARGUMENT,
           "'engine' is NULL");
    EXPECT(llmc_eval_run(&e, NULL, "mini", tasks_dir, &p, NULL, NULL, &r), LLMC_ERR_NULL_ARGUMENT,
           "'engine_name' is NULL");
    EXPECT(llmc_eval_run(&e, "x", NULL, tasks_dir, &p, NULL, NULL, &r), LLMC_ERR_NULL_ARGUMENT,
           "'tasks' is NULL");
    EXPECT(llmc_eval_run(&e, "x", "mini", tasks_dir, &p, NULL, NULL, NULL), LLMC_ERR_NULL_ARGUMENT,
           "'out' is NULL");
    e.struct_size = 16;
    EXPECT(llmc_eval_run(&e, "x", "mini", tasks_dir, &p, NULL, NULL, &r), LLMC_ERR_INVALID_ARGUMENT,
           "'engine'->struct_size is 16");
    e = toy_engine(&s);
    p.struct_size = 8;
    EXPECT(llmc_eval_run(&e, "x", "mini", tasks_dir, &p, NULL, NULL, &r), LLMC_ERR_INVALID_ARGUMENT,
           "'params'->struct_size is 8");
    p = llmc_eval_default_params();
    p.limit = 0;
    EXPECT(llmc_eval_run(&e, "x", "mini", tasks_dir, &p, NULL, NULL, &r), LLMC_ERR_INVALID_ARGUMENT,
           "params->limit 0");
    p = llmc_eval_default_params();
    p.num_fewshot = -2;
    EXPECT(llmc_eval_run(&e, "x", "mini", tasks_dir, &p, NULL, NULL, &r), LLMC_ERR_INVALID_ARGUMENT,
           "params->num_fewshot -2");
    p = llmc_eval_default_params();
    p.bootstrap_iters = 1;
    EXPECT(llmc_eval_run(&e, "x", "mini", tasks_dir, &p, NULL, NULL, &r), LLMC_ERR_INVALID_ARGUMENT,
           "params->bootstrap_iters 1 must be at least 2");
    p = llmc_eval_default_params();
    /* Without tasks_dir the suite is looked up in ./tasks. */
    EXPECT(llmc_eval_run(&e, "x", "mini", NULL, &p, NULL, NULL, &r), LLMC_ERR_INVALID_ARGUMENT,
           "\"mini\" is neither a file");
    /* The pool of 2 other documents cannot give 5 examples. */
    p.num_fewshot = 5;
    EXPECT(llmc_eval_run(&e, "x", "mini", tasks_dir, &p, NULL, NULL, &r), LLMC_ERR_INVALID_ARGUMENT,
           "task mc: 5 few-shot examples asked for, but the pool holds 2 documents");
    CHECK(s.calls == 0);

    /* A missing callback is found before any task runs. */
    e.generate_until = NULL;
    p = llmc_eval_default_params();
    EXPECT(llmc_eval_run(&e, "x", "mini", tasks_dir, &p, NULL, NULL, &r), LLMC_ERR_INVALID_ARGUMENT,
           "engine has no generate_until callback (task gen needs it)");
    CHECK(s.calls == 0);

    /* A failing callback fails the run, naming it and the task. */
    e = toy_engine(&s);
    s.fail = 1;
    EXPECT(llmc_eval_run(&e, "x", "mini", tasks_dir, &p, NULL, NULL, &r), LLMC_ERR_CALLBACK,
           "the engine's loglikelihood callback failed (task mc, 7 requests)");
    e.loglikelihood = NULL;
    char gen_path[4400];
    snprintf(gen_path, sizeof gen_path, "%s/gen.json", suite_dir);
    EXPECT(llmc_eval_run(&e, "x", gen_path, NULL, &p, NULL, NULL, &r), LLMC_ERR_CALLBACK,
           "the engine's generate_until callback failed (task gen, request 0 of 2: NULL)");
    s.fail = 0;
    s.bad_text = 1;
    EXPECT(llmc_eval_run(&e, "x", gen_path, NULL, &p, NULL, NULL, &r), LLMC_ERR_INVALID_ARGUMENT,
           "generate_until callback returned bad text (task gen, request 0 of 2)");
    s.bad_text = 0;

    /* Progress returning false cancels. */
    e = toy_engine(&s);
    progress_seen stop = {.stop_at_task = 1};
    EXPECT(llmc_eval_run(&e, "x", "mini", tasks_dir, &p, on_progress, &stop, &r),
           LLMC_ERR_CANCELLED, "cancelled by the progress callback in task gen (2 of 2) after 1 of 2");
    CHECK(stop.n == 2);
    CHECK(r == NULL);

    EXPECT(llmc_eval_run_model(NULL, NULL, "mini", tasks_dir, &p, NULL, NULL, &r),
           LLMC_ERR_NULL_ARGUMENT, "'model' is NULL");
    CHECK(r == NULL);
}

/* An engine over this library's own log-likelihood of token ids: lm-eval's boundary (the joined
 * text tokenized once and split after the context's tokens; these contexts end without
 * whitespace), so its scores are the native path's up to rounding. It keeps what it answered. */
typedef struct {
    const llmc_model *model;
    double logprobs[64];
    size_t n;
} model_engine;

static bool model_loglikelihood(void *user_data, const llmc_eval_pair *requests, size_t n,
                                double *logprob_out, bool *is_greedy_out) {
    model_engine *me = user_data;
    enum { CAP = 512 };
    llmc_token ctx[CAP], whole[CAP];
    char joined[4096];
    for (size_t i = 0; i < n; i++) {
        const llmc_eval_pair *r = &requests[i];
        size_t n_ctx = 0, n_whole = 0;
        if (r->context_len == 0 || r->context_len + r->continuation_len > sizeof joined ||
            isspace((unsigned char)r->context[r->context_len - 1]))
            return false;
        memcpy(joined, r->context, r->context_len);
        memcpy(joined + r->context_len, r->continuation, r->continuation_len);
        if (llmc_tokenize(me->model, r->context, r->context_len, false, ctx, CAP, &n_ctx) !=
                LLMC_OK ||
            llmc_tokenize(me->model, joined, r->context_len + r->continuation_len, false, whole,
                          CAP, &n_whole) != LLMC_OK ||
            n_whole <= n_ctx)
            return false;
        if (llmc_loglikelihood(me->model, ctx, n_ctx, whole + n_ctx, n_whole - n_ctx,
                               LLMC_NUMERICS_FAST, &logprob_out[i], &is_greedy_out[i]) != LLMC_OK)
            return false;
        if (me->n < 64) me->logprobs[me->n++] = logprob_out[i];
    }
    return true;
}

/* The numbers of every "loglikelihoods" array of a results JSON with samples, in order. */
static size_t sample_logprobs(const char *json, double *out, size_t cap) {
    const char *key = "\"loglikelihoods\":[";
    size_t n = 0;
    for (const char *p = strstr(json, key); p; p = strstr(p, key)) {
        p += strlen(key);
        while (*p != ']' && n < cap) {
            char *end;
            out[n++] = strtod(p, &end);
            if (end == p) return 0;
            p = *end == ',' ? end + 1 : end;
        }
    }
    return n;
}

static void test_model(const char *model_path, const char *scratch) {
    snprintf(suite_dir, sizeof suite_dir, "%s", scratch);
    write_file("capitals.json",
               "{\"name\": \"capitals\", \"category\": \"knowledge\", \"docs\": \"capitals.jsonl\",\n"
               " \"output_type\": \"multiple_choice\",\n"
               " \"doc_to_text\": \"Question: What is the capital of {{country}}?\\nAnswer:\",\n"
               " \"doc_to_choice\": \"{{choices}}\", \"doc_to_target\": \"{{answer}}\",\n"
               " \"metrics\": [\"acc\", \"acc_norm\"]}\n");
    write_file("capitals.jsonl",
               "{\"country\": \"France\", \"choices\": [\"Paris\", \"Lyon\", \"Berlin\"], \"answer\": 0}\n"
               "{\"country\": \"Germany\", \"choices\": [\"Paris\", \"Berlin\", \"Munich\"], \"answer\": 1}\n"
               "{\"country\": \"Italy\", \"choices\": [\"Rome\", \"Milan\", \"Madrid\"], \"answer\": 0}\n"
               "{\"country\": \"Spain\", \"choices\": [\"Lisbon\", \"Madrid\", \"Seville\"], \"answer\": 1}\n");
    char tasks[4200];
    snprintf(tasks, sizeof tasks, "%s/capitals.json", scratch);

    llmc_model *m = NULL;
    EXPECT_OK(llmc_model_load(model_path, &m));
    if (!m) return;
    llmc_eval_params p = llmc_eval_default_params();
    llmc_eval_results *r = NULL;
    p.max_length = 1u << 20;
    EXPECT(llmc_eval_run_model(m, NULL, tasks, NULL, &p, NULL, NULL, &r), LLMC_ERR_INVALID_ARGUMENT,
           "params->max_length: max_length 1048576 must be in 2..=");
    p = llmc_eval_default_params();
    p.samples = true;
    progress_seen seen = {.stop_at_task = -1};
    EXPECT_OK(llmc_eval_run_model(m, "SmolLM2-135M-Instruct.Q4_1.gguf", tasks, NULL, &p,
                                  on_progress, &seen, &r));
    CHECK(r != NULL);
    if (!r) {
        llmc_model_free(m);
        return;
    }
    /* One report per question (its choices share a context), the last with all 12 done. */
    CHECK(seen.n == 4 && seen.calls[3][2] == 12 && seen.calls[3][3] == 12);
    double acc = -1, acc_err = -1, norm = -1, norm_err = -1;
    EXPECT_OK(llmc_eval_results_metric(r, "capitals", "acc", &acc, &acc_err));
    EXPECT_OK(llmc_eval_results_metric(r, "capitals", "acc_norm", &norm, &norm_err));
    CHECK(acc >= 0 && acc <= 1 && norm >= 0 && norm <= 1);
    printf("SmolLM2 on capitals: acc %.4f +- %.4f, acc_norm %.4f +- %.4f\n", acc, acc_err, norm,
           norm_err);
    char *json = results_json(r);
    CHECK(json && strstr(json, "\"name\":\"SmolLM2-135M-Instruct.Q4_1.gguf\",\"path\":null"));
    CHECK(json && strstr(json, "\"sha256\":\"" SMOLLM2_SHA256 "\""));
    CHECK(json && strstr(json, "\"numerics\":\"fast\"") && strstr(json, "\"max_length\":2048"));
    double native[64];
    size_t n_native = json ? sample_logprobs(json, native, 64) : 0;
    free(json);
    llmc_eval_results_free(r);

    /* The same model as an engine in callbacks: each request scored alone gives the shared-
     * context forward's log-likelihood (to 1e-5 relative: the fast path's rounding) and the
     * same metrics. */
    model_engine me = {.model = m};
    llmc_eval_engine e = {.struct_size = sizeof e,
                          .user_data = &me,
                          .loglikelihood = model_loglikelihood};
    r = NULL;
    EXPECT_OK(llmc_eval_run(&e, "smollm2 via callbacks", tasks, NULL, &p, NULL, NULL, &r));
    double acc2 = -1, acc2_err = -1, norm2 = -1;
    EXPECT_OK(llmc_eval_results_metric(r, "capitals", "acc", &acc2, &acc2_err));
    EXPECT_OK(llmc_eval_results_metric(r, "capitals", "acc_norm", &norm2, NULL));
    CHECK(acc2 == acc && acc2_err == acc_err && norm2 == norm);
    CHECK(n_native == 12 && me.n == 12);
    double worst = 0;
    for (size_t i = 0; i < n_native && i < me.n; i++) {
        double d = fabs(native[i] - me.logprobs[i]) / fmax(1.0, fabs(native[i]));
        worst = fmax(worst, d);
        CHECK(native[i] < 0 && d <= 1e-5);
    }
    printf("native vs callbacks: largest relative log-likelihood difference %.2e\n", worst);
    llmc_eval_results_free(r);
    llmc_model_free(m);
}

int main(int argc, char **argv) {
    if (argc < 3 || argc > 4 || (argc == 4 && strcmp(argv[3], "--engine-only") != 0)) {
        fprintf(stderr, "usage: %s MODEL.gguf SCRATCH_DIR [--engine-only]\n", argv[0]);
        return 2;
    }
    write_tasks(argv[2]);
    test_defaults();
    test_engine(argv[2]);
    test_misuse(argv[2]);
    if (argc == 3) test_model(argv[1], argv[2]);
    return check_summary("eval");
}
