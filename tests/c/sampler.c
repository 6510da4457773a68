/* The sampler over caller logits (llmc_sampler_*) and the sampler settings appended to
 * llmc_generate_params, from C on a real model:
 *  - a decode loop of llmc_session_eval + llmc_sampler_sample with the same settings and seed
 *    as llmc_generate produces the same text (greedy, and sampled with every step on: logit
 *    bias, repetition / frequency / presence penalties, top-k, top-p, min-p, temperature);
 *  - greedy is the argmax; the distribution is sorted, sums to 1 and is what sample draws from;
 *  - a struct from the header before min_p was appended is still accepted by llmc_generate;
 *  - every misuse gets its status and a message naming the function and the field, with the
 *    outputs untouched.
 *
 *   sampler MODEL.gguf [--misuse-only]   (the CI runs --misuse-only under valgrind, then all) */
#include <math.h>
#include <stdlib.h>

#include "check.h"

#define MAX_NEW 24

struct text {
    char buf[4096];
    size_t len;
};

static bool collect(const char *piece, size_t len, void *user_data) {
    struct text *t = user_data;
    if (t->len + len < sizeof t->buf) {
        memcpy(t->buf + t->len, piece, len);
        t->len += len;
        t->buf[t->len] = 0;
    }
    return true;
}

static size_t tokenize(llmc_model *m, const char *text, llmc_token *out, size_t cap) {
    size_t n = 0;
    EXPECT_OK(llmc_tokenize(m, text, strlen(text), true, out, cap, &n));
    return n;
}

/* Generates MAX_NEW tokens after `prompt` with llmc_generate into `want`, then with a loop of
 * llmc_session_eval + llmc_sampler_sample (history = prompt + generated) into `got`. */
static void generate_both(llmc_model *m, const llmc_token *prompt, size_t n_prompt,
                          const struct llmc_generate_params *gp,
                          const struct llmc_sampler_params *sp, struct text *want,
                          struct text *got) {
    struct llmc_model_info info = {.struct_size = sizeof info};
    EXPECT_OK(llmc_model_get_info(m, &info));
    llmc_session *s = NULL;
    EXPECT_OK(llmc_session_new(m, NULL, &s));
    want->len = 0;
    want->buf[0] = 0;
    EXPECT_OK(llmc_generate(s, prompt, n_prompt, gp, collect, want, NULL));
    llmc_session_free(s);

    EXPECT_OK(llmc_session_new(m, NULL, &s));
    llmc_sampler *smp = NULL;
    EXPECT_OK(llmc_sampler_new(sp, &smp));
    float *logits = malloc(sizeof(float) * info.vocab_size);
    llmc_token history[512];
    memcpy(history, prompt, n_prompt * sizeof *prompt);
    size_t n_history = n_prompt;
    EXPECT_OK(llmc_session_eval(s, prompt, n_prompt, logits, info.vocab_size));
    llmc_token generated[MAX_NEW];
    size_t n_gen = 0;
    while (n_gen < MAX_NEW) {
        llmc_token next = 0;
        EXPECT_OK(llmc_sampler_sample(smp, logits, info.vocab_size, history, n_history, &next));
        if ((int64_t)next == info.eos_token) break;
        generated[n_gen++] = next;
        history[n_history++] = next;
        if (n_gen == MAX_NEW) break;
        EXPECT_OK(llmc_session_eval(s, &next, 1, logits, info.vocab_size));
    }
    size_t n_text = 0;
    EXPECT_OK(llmc_detokenize(m, generated, n_gen, got->buf, sizeof got->buf, &n_text));
    got->len = n_text;
    free(logits);
    llmc_sampler_free(smp);
    llmc_session_free(s);
}

/* The sampler settings of `gp` (the fields both structs have). */
static struct llmc_sampler_params sampler_of(const struct llmc_generate_params *gp) {
    struct llmc_sampler_params sp = llmc_sampler_default_params();
    sp.temperature = gp->temperature;
    sp.top_k = gp->top_k;
    sp.top_p = gp->top_p;
    sp.min_p = gp->min_p;
    sp.repeat_penalty = gp->repeat_penalty;
    sp.repeat_last_n = gp->repeat_last_n;
    sp.frequency_penalty = gp->frequency_penalty;
    sp.presence_penalty = gp->presence_penalty;
    sp.seed = gp->seed;
    sp.logit_bias = gp->logit_bias;
    sp.n_logit_bias = gp->n_logit_bias;
    return sp;
}

static void same_text_as_generate(llmc_model *m) {
    llmc_token prompt[64];
    size_t n = tokenize(m, "The capital of France is", prompt, 64);
    struct text want, got;

    struct llmc_generate_params gp = llmc_generate_default_params();
    gp.max_tokens = MAX_NEW;
    struct llmc_sampler_params sp = sampler_of(&gp);
    generate_both(m, prompt, n, &gp, &sp, &want, &got);
    CHECK(want.len > 0);
    CHECK(got.len == want.len && memcmp(got.buf, want.buf, want.len) == 0);
    printf("greedy: \"%s\"\n", want.buf);

    /* Ban the greedy text's first token: the text must change, and still agree. */
    llmc_token first[128];
    size_t n_first = tokenize(m, want.buf, first, 128);
    CHECK(n_first > 0);
    struct llmc_logit_bias bias[2] = {{first[0], -INFINITY}, {13, 0.5f}};
    gp.temperature = 0.8f;
    gp.top_k = 50;
    gp.top_p = 0.9f;
    gp.min_p = 0.02f;
    gp.repeat_penalty = 1.1f;
    gp.repeat_last_n = 32;
    gp.frequency_penalty = 0.2f;
    gp.presence_penalty = 0.1f;
    gp.seed = 1234;
    gp.logit_bias = bias;
    gp.n_logit_bias = 2;
    sp = sampler_of(&gp);
    struct text greedy = want;
    generate_both(m, prompt, n, &gp, &sp, &want, &got);
    CHECK(want.len > 0);
    CHECK(got.len == want.len && memcmp(got.buf, want.buf, want.len) == 0);
    CHECK(greedy.len != want.len || memcmp(greedy.buf, want.buf, want.len) != 0);
    printf("sampled, every step on: \"%s\"\n", want.buf);

    /* Another seed, another text. */
    gp.seed = 99;
    sp = sampler_of(&gp);
    struct text other, other_loop;
    generate_both(m, prompt, n, &gp, &sp, &other, &other_loop);
    CHECK(other_loop.len == other.len && memcmp(other_loop.buf, other.buf, other.len) == 0);
    CHECK(other.len != want.len || memcmp(other.buf, want.buf, want.len) != 0);

    /* The header before min_p: its struct_size ends at n_stop; the appended fields default. */
    struct llmc_generate_params old = llmc_generate_default_params();
    old.max_tokens = 8;
    old.min_p = 0.9f; /* beyond the old struct: must be ignored */
    old.struct_size = offsetof(struct llmc_generate_params, min_p);
    struct llmc_generate_params now = llmc_generate_default_params();
    now.max_tokens = 8;
    struct text a = {.len = 0}, b = {.len = 0};
    llmc_session *s = NULL;
    EXPECT_OK(llmc_session_new(m, NULL, &s));
    EXPECT_OK(llmc_generate(s, prompt, n, &old, collect, &a, NULL));
    llmc_session_free(s);
    EXPECT_OK(llmc_session_new(m, NULL, &s));
    EXPECT_OK(llmc_generate(s, prompt, n, &now, collect, &b, NULL));
    llmc_session_free(s);
    CHECK(a.len > 0 && a.len == b.len && memcmp(a.buf, b.buf, a.len) == 0);
}

static void distribution_and_greedy(llmc_model *m) {
    struct llmc_model_info info = {.struct_size = sizeof info};
    EXPECT_OK(llmc_model_get_info(m, &info));
    llmc_token prompt[64];
    size_t n = tokenize(m, "My favourite word is", prompt, 64);
    llmc_session *s = NULL;
    EXPECT_OK(llmc_session_new(m, NULL, &s));
    float *logits = malloc(sizeof(float) * info.vocab_size);
    EXPECT_OK(llmc_session_eval(s, prompt, n, logits, info.vocab_size));
    size_t best = 0;
    for (size_t i = 1; i < info.vocab_size; i++)
        if (logits[i] > logits[best]) best = i;

    llmc_sampler *greedy = NULL;
    EXPECT_OK(llmc_sampler_new(NULL, &greedy));
    llmc_token t = 0;
    EXPECT_OK(llmc_sampler_sample(greedy, logits, info.vocab_size, NULL, 0, &t));
    CHECK(t == best);
    struct llmc_token_prob one[1];
    size_t n_one = 0;
    EXPECT_OK(llmc_sampler_distribution(greedy, logits, info.vocab_size, NULL, 0, one, 1, &n_one));
    CHECK(n_one == 1 && one[0].token == best && one[0].prob == 1.0);

    struct llmc_sampler_params sp = llmc_sampler_default_params();
    sp.temperature = 1.0f;
    sp.top_k = 0;
    sp.top_p = 0.99f;
    sp.min_p = 0.001f;
    llmc_sampler *smp = NULL;
    EXPECT_OK(llmc_sampler_new(&sp, &smp));
    size_t count = 0;
    EXPECT_OK(llmc_sampler_distribution(smp, logits, info.vocab_size, prompt, n, NULL, 0, &count));
    CHECK(count > 1 && count < info.vocab_size);
    printf("distribution after \"My favourite word is\": %zu tokens\n", count);
    struct llmc_token_prob *dist = malloc(sizeof *dist * count);
    /* Too small: BUFFER_TOO_SMALL, nothing written. */
    dist[0].token = 7;
    size_t untouched = 12345;
    EXPECT(llmc_sampler_distribution(smp, logits, info.vocab_size, prompt, n, dist, count - 1,
                                     &untouched),
           LLMC_ERR_BUFFER_TOO_SMALL, "out");
    CHECK(untouched == 12345 && dist[0].token == 7);
    size_t got = 0;
    EXPECT_OK(llmc_sampler_distribution(smp, logits, info.vocab_size, prompt, n, dist, count, &got));
    CHECK(got == count);
    double sum = 0;
    int sorted = 1;
    for (size_t i = 0; i < got; i++) {
        sum += dist[i].prob;
        if (i > 0 && dist[i].prob > dist[i - 1].prob) sorted = 0;
    }
    CHECK(fabs(sum - 1.0) < 1e-9);
    CHECK(sorted);
    CHECK(dist[0].token == best);
    /* Every draw lands in the distribution's support; the caller's logits stay unchanged. */
    float first_logit = logits[best];
    int in_support = 1;
    for (int k = 0; k < 200; k++) {
        EXPECT_OK(llmc_sampler_sample(smp, logits, info.vocab_size, prompt, n, &t));
        int found = 0;
        for (size_t i = 0; i < got; i++) found |= dist[i].token == t;
        in_support &= found;
    }
    CHECK(in_support);
    CHECK(logits[best] == first_logit);
    free(dist);
    llmc_sampler_free(smp);
    llmc_sampler_free(greedy);
    free(logits);
    llmc_session_free(s);
}

static void misuse(llmc_model *m) {
    struct llmc_model_info info = {.struct_size = sizeof info};
    EXPECT_OK(llmc_model_get_info(m, &info));
    float logits[8] = {0.5f, 1.0f, -2.0f, 3.0f, 0.0f, 0.25f, -INFINITY, 1.5f};
    llmc_token hist[2] = {1, 3};
    llmc_sampler *smp = (llmc_sampler *)0x1; /* must stay untouched on failure */
    struct llmc_sampler_params sp = llmc_sampler_default_params();
    sp.min_p = 2.0f;
    EXPECT(llmc_sampler_new(&sp, &smp), LLMC_ERR_INVALID_ARGUMENT, "params->min_p");
    sp = llmc_sampler_default_params();
    sp.temperature = -1.0f;
    EXPECT(llmc_sampler_new(&sp, &smp), LLMC_ERR_INVALID_ARGUMENT, "params->temperature");
    sp = llmc_sampler_default_params();
    sp.frequency_penalty = NAN;
    EXPECT(llmc_sampler_new(&sp, &smp), LLMC_ERR_INVALID_ARGUMENT, "params->frequency_penalty");
    sp = llmc_sampler_default_params();
    sp.presence_penalty = INFINITY;
    EXPECT(llmc_sampler_new(&sp, &smp), LLMC_ERR_INVALID_ARGUMENT, "params->presence_penalty");
    sp = llmc_sampler_default_params();
    struct llmc_logit_bias nan_bias = {0, NAN};
    sp.logit_bias = &nan_bias;
    sp.n_logit_bias = 1;
    EXPECT(llmc_sampler_new(&sp, &smp), LLMC_ERR_INVALID_ARGUMENT, "params->logit_bias[0]");
    sp.logit_bias = NULL;
    EXPECT(llmc_sampler_new(&sp, &smp), LLMC_ERR_NULL_ARGUMENT, "params->logit_bias");
    sp = llmc_sampler_default_params();
    sp.struct_size = 8;
    EXPECT(llmc_sampler_new(&sp, &smp), LLMC_ERR_INVALID_ARGUMENT, "struct_size");
    EXPECT(llmc_sampler_new(NULL, NULL), LLMC_ERR_NULL_ARGUMENT, "out");
    CHECK(smp == (llmc_sampler *)0x1);

    /* A bias on token 9 is fine at creation and refused against 8 logits. */
    sp = llmc_sampler_default_params();
    struct llmc_logit_bias far = {9, 1.0f};
    sp.logit_bias = &far;
    sp.n_logit_bias = 1;
    smp = NULL;
    EXPECT_OK(llmc_sampler_new(&sp, &smp));
    llmc_token t = 77;
    EXPECT(llmc_sampler_sample(smp, logits, 8, hist, 2, &t), LLMC_ERR_INVALID_ARGUMENT,
           "logit_bias[0]");
    llmc_sampler_free(smp);

    EXPECT_OK(llmc_sampler_new(NULL, &smp));
    EXPECT(llmc_sampler_sample(NULL, logits, 8, hist, 2, &t), LLMC_ERR_NULL_ARGUMENT, "sampler");
    EXPECT(llmc_sampler_sample(smp, NULL, 8, hist, 2, &t), LLMC_ERR_NULL_ARGUMENT, "logits");
    EXPECT(llmc_sampler_sample(smp, logits, 0, hist, 2, &t), LLMC_ERR_INVALID_ARGUMENT, "n_vocab");
    EXPECT(llmc_sampler_sample(smp, logits, 8, NULL, 2, &t), LLMC_ERR_NULL_ARGUMENT, "history");
    EXPECT(llmc_sampler_sample(smp, logits, 8, hist, 2, NULL), LLMC_ERR_NULL_ARGUMENT, "token");
    float bad[8];
    memcpy(bad, logits, sizeof bad);
    bad[5] = NAN;
    EXPECT(llmc_sampler_sample(smp, bad, 8, hist, 2, &t), LLMC_ERR_INVALID_ARGUMENT, "logits[5]");
    bad[5] = INFINITY;
    EXPECT(llmc_sampler_sample(smp, bad, 8, hist, 2, &t), LLMC_ERR_INVALID_ARGUMENT, "logits[5]");
    llmc_token far_hist[2] = {1, 8};
    EXPECT(llmc_sampler_sample(smp, logits, 8, far_hist, 2, &t), LLMC_ERR_INVALID_ARGUMENT,
           "history[1]");
    CHECK(t == 77);
    size_t cnt = 5;
    EXPECT(llmc_sampler_distribution(smp, logits, 8, hist, 2, NULL, 3, &cnt),
           LLMC_ERR_NULL_ARGUMENT, "out");
    EXPECT(llmc_sampler_distribution(smp, logits, 8, hist, 2, NULL, 0, NULL),
           LLMC_ERR_NULL_ARGUMENT, "n_out");
    CHECK(cnt == 5);
    EXPECT_OK(llmc_sampler_sample(smp, logits, 8, hist, 2, &t));
    CHECK(t == 3);
    llmc_sampler_free(smp);
    llmc_sampler_free(NULL);

    /* llmc_generate checks the appended fields, naming them, before any work. */
    llmc_token prompt[16];
    size_t n = tokenize(m, "Hello", prompt, 16);
    llmc_session *s = NULL;
    EXPECT_OK(llmc_session_new(m, NULL, &s));
    struct llmc_generate_params gp = llmc_generate_default_params();
    struct llmc_logit_bias past = {info.vocab_size, 1.0f};
    gp.logit_bias = &past;
    gp.n_logit_bias = 1;
    EXPECT(llmc_generate(s, prompt, n, &gp, NULL, NULL, NULL), LLMC_ERR_INVALID_ARGUMENT,
           "params->logit_bias[0]");
    gp = llmc_generate_default_params();
    gp.min_p = -0.5f;
    EXPECT(llmc_generate(s, prompt, n, &gp, NULL, NULL, NULL), LLMC_ERR_INVALID_ARGUMENT,
           "params->min_p");
    gp = llmc_generate_default_params();
    gp.struct_size = offsetof(struct llmc_generate_params, min_p) + 4;
    EXPECT(llmc_generate(s, prompt, n, &gp, NULL, NULL, NULL), LLMC_ERR_INVALID_ARGUMENT,
           "struct_size");
    size_t len = 99;
    EXPECT_OK(llmc_session_len(s, &len));
    CHECK(len == 0);
    llmc_session_free(s);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODEL.gguf\n", argv[0]);
        return 2;
    }
    llmc_model *m = NULL;
    EXPECT_OK(llmc_model_load(argv[1], &m));
    if (!m) return check_summary("sampler");
    misuse(m);
    distribution_and_greedy(m);
    if (!(argc > 2 && strcmp(argv[2], "--misuse-only") == 0)) same_text_as_generate(m);
    llmc_model_free(m);
    return check_summary("sampler");
}
