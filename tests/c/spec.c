/* Speculative decoding through the llmcore C ABI: the default parameters; a sweep of misuse
 * (NULL arguments, wrong struct sizes, unknown kinds, a depth of 0 with the automatic budget, a
 * self-draft as deep as the model, a draft model with another vocabulary, an out-of-range
 * prompt id), each refused before any work with its status and a message naming the function
 * and the field, the session and the result untouched; then greedy speculation on SmolLM2 with
 * the self-draft (its first 8 layers) and the n-gram draft, every tree kind, whose streamed
 * text, token count, stop reason and session length must equal llmc_generate's greedy run for
 * the same prompt and max tokens. Run by scripts/test-bindings.sh.
 *
 * usage: spec TARGET.gguf OTHER_VOCAB.gguf [--bad-input-only]
 * (TARGET: SmolLM2-135M; OTHER_VOCAB: a model with another vocabulary, Qwen2.5-0.5B;
 * --bad-input-only: the defaults and the sweep, quick enough for valgrind) */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "check.h"

#define MAX_TOKENS 32

/* Streamed text, with a count of the pieces. */
typedef struct {
    char text[8192];
    size_t len;
    int pieces;
} text_seen;

static bool on_text(const char *text, size_t len, void *user_data) {
    text_seen *t = user_data;
    if (text[len] != '\0' || t->len + len >= sizeof t->text) return false;
    memcpy(t->text + t->len, text, len);
    t->len += len;
    t->text[t->len] = '\0';
    t->pieces++;
    return true;
}

static size_t session_len(llmc_session *s) {
    size_t n = 999;
    llmc_session_len(s, &n);
    return n;
}

static void test_defaults(void) {
    llmc_spec_params p = llmc_spec_default_params();
    CHECK(p.struct_size == sizeof p && p.generate == NULL);
    CHECK(p.tree == LLMC_TREE_OPT && p.budget == 0 && p.budget_max == 32);
    CHECK(p.max_depth == 10 && p.delta == 0.5);
    CHECK(p.draft_kind == LLMC_DRAFT_NGRAM && p.draft_model == NULL);
    CHECK(p.self_draft_layers == 0 && p.ngram_n == 3 && p.ngram_min == 1);
}

static void test_bad_input(llmc_model *target, llmc_model *other_vocab) {
    llmc_session *s = NULL;
    EXPECT_OK(llmc_session_new(target, NULL, &s));
    if (!s) return;
    llmc_token prompt[8];
    size_t n = 0;
    EXPECT_OK(llmc_tokenize(target, "The capital of France is", 24, true, prompt, 8, &n));
    llmc_generate_params gp = llmc_generate_default_params();
    gp.max_tokens = 8;
    llmc_spec_params p = llmc_spec_default_params();
    p.generate = &gp;
    llmc_spec_result r = {.struct_size = sizeof r, .n_tokens = 777};
    text_seen t = {.len = 0};

    EXPECT(llmc_speculate(NULL, prompt, n, &p, on_text, &t, &r), LLMC_ERR_NULL_ARGUMENT,
           "'target_session' is NULL");
    EXPECT(llmc_speculate(s, NULL, n, &p, on_text, &t, &r), LLMC_ERR_NULL_ARGUMENT,
           "'prompt' is NULL");
    EXPECT(llmc_speculate(s, prompt, 0, &p, on_text, &t, &r), LLMC_ERR_INVALID_ARGUMENT,
           "the prompt is empty");
    p.struct_size = 8;
    EXPECT(llmc_speculate(s, prompt, n, &p, on_text, &t, &r), LLMC_ERR_INVALID_ARGUMENT,
           "'params'->struct_size is 8");
    p.struct_size = sizeof p;
    r.struct_size = 0;
    EXPECT(llmc_speculate(s, prompt, n, &p, on_text, &t, &r), LLMC_ERR_INVALID_ARGUMENT,
           "'result'->struct_size is 0");
    r.struct_size = sizeof r;
    gp.struct_size = 4;
    EXPECT(llmc_speculate(s, prompt, n, &p, on_text, &t, &r), LLMC_ERR_INVALID_ARGUMENT,
           "'params->generate'->struct_size is 4");
    gp.struct_size = sizeof gp;
    gp.top_p = 2.0f;
    EXPECT(llmc_speculate(s, prompt, n, &p, on_text, &t, &r), LLMC_ERR_INVALID_ARGUMENT,
           "params->generate->top_p");
    gp.top_p = 0.95f;
    gp.n_stop = 1; /* with stop still NULL */
    EXPECT(llmc_speculate(s, prompt, n, &p, on_text, &t, &r), LLMC_ERR_NULL_ARGUMENT,
           "'params->generate->stop' is NULL");
    gp.n_stop = 0;
    /* budget 0 (automatic) with depth 0 */
    p.max_depth = 0;
    EXPECT(llmc_speculate(s, prompt, n, &p, on_text, &t, &r), LLMC_ERR_INVALID_ARGUMENT,
           "params->max_depth: tree budget 32 and depth 0 must both be >= 1");
    p.max_depth = 10;
    p.budget_max = 0;
    EXPECT(llmc_speculate(s, prompt, n, &p, on_text, &t, &r), LLMC_ERR_INVALID_ARGUMENT,
           "params->budget_max");
    p.budget_max = 32;
    p.delta = NAN;
    EXPECT(llmc_speculate(s, prompt, n, &p, on_text, &t, &r), LLMC_ERR_INVALID_ARGUMENT,
           "params->delta");
    p.delta = 0.5;
    p.tree = 4;
    EXPECT(llmc_speculate(s, prompt, n, &p, on_text, &t, &r), LLMC_ERR_INVALID_ARGUMENT,
           "params->tree 4 (LLMC_TREE_*)");
    p.tree = LLMC_TREE_OPT;
    p.draft_kind = 3;
    EXPECT(llmc_speculate(s, prompt, n, &p, on_text, &t, &r), LLMC_ERR_INVALID_ARGUMENT,
           "params->draft_kind 3 (LLMC_DRAFT_*)");
    p.draft_kind = LLMC_DRAFT_SELF;
    p.self_draft_layers = 30;
    EXPECT(llmc_speculate(s, prompt, n, &p, on_text, &t, &r), LLMC_ERR_INVALID_ARGUMENT,
           "params->self_draft_layers: a self-draft of 30 layers from a model of 30: it takes "
           "1..=29 layers");
    p.self_draft_layers = 0;
    EXPECT(llmc_speculate(s, prompt, n, &p, on_text, &t, &r), LLMC_ERR_INVALID_ARGUMENT,
           "params->self_draft_layers: a self-draft of 0 layers");
    p.draft_kind = LLMC_DRAFT_MODEL;
    EXPECT(llmc_speculate(s, prompt, n, &p, on_text, &t, &r), LLMC_ERR_NULL_ARGUMENT,
           "'params->draft_model' is NULL");
    p.draft_model = other_vocab;
    EXPECT(llmc_speculate(s, prompt, n, &p, on_text, &t, &r), LLMC_ERR_INVALID_ARGUMENT,
           "params->draft_model: draft and target vocabularies differ: 151936 tokens in the "
           "draft, 49152 in the target");
    p.draft_kind = LLMC_DRAFT_NGRAM;
    p.ngram_min = 0;
    EXPECT(llmc_speculate(s, prompt, n, &p, on_text, &t, &r), LLMC_ERR_INVALID_ARGUMENT,
           "params->ngram_n, ngram_min");
    p.ngram_min = 1;
    llmc_token bad[2] = {prompt[0], 49152};
    EXPECT(llmc_speculate(s, bad, 2, &p, on_text, &t, &r), LLMC_ERR_TOKEN_OUT_OF_RANGE,
           "token id 49152 is out of range for a vocabulary of 49152");
    llmc_session *tiny = NULL;
    llmc_session_params sp = llmc_session_default_params();
    sp.n_ctx = 4;
    EXPECT_OK(llmc_session_new(target, &sp, &tiny));
    EXPECT(llmc_speculate(tiny, prompt, n, &p, on_text, &t, &r), LLMC_ERR_CONTEXT_OVERFLOW,
           "positions needed, 4 available");
    /* Nothing was written, streamed or evaluated. */
    CHECK(r.n_tokens == 777 && r.steps == 0 && t.len == 0 && t.pieces == 0);
    CHECK(session_len(s) == 0 && session_len(tiny) == 0);
    llmc_session_free(tiny);
    llmc_session_free(s);
}

/* llmc_generate's greedy run of `prompt` into `t`, `g` and the session length after it. */
static size_t plain_greedy(llmc_model *m, const llmc_token *prompt, size_t n, text_seen *t,
                           llmc_generation *g) {
    llmc_session *s = NULL;
    EXPECT_OK(llmc_session_new(m, NULL, &s));
    llmc_generate_params gp = llmc_generate_default_params();
    gp.max_tokens = MAX_TOKENS;
    EXPECT_OK(llmc_generate(s, prompt, n, &gp, on_text, t, g));
    size_t len = session_len(s);
    llmc_session_free(s);
    return len;
}

/* A greedy speculative run with `p` must reproduce the plain run exactly. */
static llmc_spec_result check_same(llmc_model *m, const llmc_token *prompt, size_t n,
                                   llmc_spec_params p, const text_seen *plain,
                                   const llmc_generation *g, size_t plain_len, const char *what) {
    llmc_generate_params gp = llmc_generate_default_params();
    gp.max_tokens = MAX_TOKENS;
    p.generate = &gp;
    llmc_session *s = NULL;
    EXPECT_OK(llmc_session_new(m, NULL, &s));
    text_seen t = {.len = 0};
    llmc_spec_result r = {.struct_size = sizeof r};
    EXPECT_OK(llmc_speculate(s, prompt, n, &p, on_text, &t, &r));
    int same = t.len == plain->len && memcmp(t.text, plain->text, t.len) == 0;
    if (!same) fprintf(stderr, "%s: \"%s\"\n  vs plain \"%s\"\n", what, t.text, plain->text);
    CHECK(same);
    CHECK(r.n_tokens == g->n_tokens && r.prompt_tokens == g->prompt_tokens);
    CHECK(r.stop_reason == g->stop_reason);
    CHECK(session_len(s) == plain_len);
    CHECK(r.steps >= 1 && r.steps == r.decode_steps && r.steps <= r.n_tokens);
    CHECK(r.accepted <= r.drafted);
    CHECK(fabs(r.mean_accepted_length - (double)(r.accepted + r.steps) / r.steps) < 1e-12);
    CHECK(r.draft_seconds >= 0 && r.verify_seconds > 0 && r.prefill_seconds > 0);
    printf("%-28s %zu tokens in %zu steps: %zu of %zu drafted accepted, mean accepted length "
           "%.2f; draft %.3f s, verify %.3f s\n",
           what, r.n_tokens, r.steps, r.accepted, r.drafted, r.mean_accepted_length,
           r.draft_seconds, r.verify_seconds);
    llmc_session_free(s);
    return r;
}

static void test_greedy_equals_plain(llmc_model *m, const char *text, int every_tree) {
    llmc_token prompt[64];
    size_t n = 0;
    EXPECT_OK(llmc_tokenize(m, text, strlen(text), true, prompt, 64, &n));
    text_seen plain = {.len = 0};
    llmc_generation g = {.struct_size = sizeof g};
    size_t plain_len = plain_greedy(m, prompt, n, &plain, &g);
    CHECK(g.n_tokens == MAX_TOKENS && plain.len > 0);
    printf("prompt \"%s\" -> \"%s\"\n", text, plain.text);

    llmc_spec_params p = llmc_spec_default_params(); /* OPT-Tree, automatic budget */
    p.draft_kind = LLMC_DRAFT_SELF;
    p.self_draft_layers = 8;
    check_same(m, prompt, n, p, &plain, &g, plain_len, "self-draft 8, opt, auto");
    p = llmc_spec_default_params(); /* the n-gram draft */
    check_same(m, prompt, n, p, &plain, &g, plain_len, "ngram 3, opt, auto");
    if (!every_tree) return;
    const llmc_tree_kind trees[] = {LLMC_TREE_OPT, LLMC_TREE_CHAIN, LLMC_TREE_EAGLE,
                                    LLMC_TREE_SEQUOIA};
    const char *names[] = {"self-draft 8, opt, 4", "self-draft 8, chain, 4",
                           "self-draft 8, eagle, 4", "self-draft 8, sequoia, 4"};
    /* A fixed budget drafts every step (the automatic one may choose plain decoding). */
    for (int i = 0; i < 4; i++) {
        p = llmc_spec_default_params();
        p.draft_kind = LLMC_DRAFT_SELF;
        p.self_draft_layers = 8;
        p.tree = trees[i];
        p.budget = 4;
        llmc_spec_result r = check_same(m, prompt, n, p, &plain, &g, plain_len, names[i]);
        CHECK(r.drafted >= r.steps);
    }
    /* The answer repeats a sentence, which the n-gram draft then predicts. */
    p = llmc_spec_default_params();
    p.tree = LLMC_TREE_CHAIN;
    p.budget = 4;
    llmc_spec_result r = check_same(m, prompt, n, p, &plain, &g, plain_len, "ngram 3, chain, 4");
    CHECK(r.accepted > 0 && r.mean_accepted_length > 1.0);
}

int main(int argc, char **argv) {
    int bad_input_only = argc == 4 && strcmp(argv[3], "--bad-input-only") == 0;
    if (argc != 3 && !bad_input_only) {
        fprintf(stderr, "usage: %s TARGET.gguf OTHER_VOCAB.gguf [--bad-input-only]\n", argv[0]);
        return 2;
    }
    llmc_model *target = NULL, *other = NULL;
    EXPECT_OK(llmc_model_load(argv[1], &target));
    EXPECT_OK(llmc_model_load(argv[2], &other));
    if (!target || !other) return check_summary("spec");
    test_defaults();
    test_bad_input(target, other);
    llmc_model_free(other);
    if (!bad_input_only) {
        test_greedy_equals_plain(target, "The capital of France is", 1);
        test_greedy_equals_plain(target, "def fibonacci(n):", 0);
    }
    llmc_model_free(target);
    return check_summary("spec");
}
