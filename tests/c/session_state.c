/* Forking and saving sessions through the llmcore C ABI, on SmolLM2: a prompt prefilled once
 * and forked twice, each fork fed its own continuation, gives exactly the logits of a fresh
 * session fed prompt + continuation, and leaves the source's state as it was; a saved state
 * loaded into a fresh session continues bit for bit and saves back to the same bytes, also
 * through a file; misuse (NULL arguments, a small buffer, another model's state, a truncated
 * or corrupt state, more tokens than the context holds) is refused with its status, a message
 * naming the function, and nothing written or changed. Run under valgrind memcheck by
 * scripts/test-bindings.sh.
 *
 * usage: session_state SMOLLM2.gguf OTHER_MODEL.gguf SCRATCH_DIR */
#include <stdint.h>
#include <stdlib.h>

#include "check.h"

static const llmc_token PROMPT[] = {1, 504, 3458, 282, 260};
static const llmc_token CONT[2][3] = {{2219, 30, 1340}, {4093, 284, 905}};
#define N_PROMPT (sizeof PROMPT / sizeof PROMPT[0])

static size_t vocab;

static llmc_session *session(const llmc_model *m, size_t n_ctx) {
    llmc_session_params p = llmc_session_default_params();
    p.n_ctx = n_ctx;
    llmc_session *s = NULL;
    EXPECT_OK(llmc_session_new(m, &p, &s));
    return s;
}

/* The session's saved state, malloc'ed, its size in *n. */
static uint8_t *save(const llmc_session *s, size_t *n) {
    EXPECT_OK(llmc_session_state_size(s, n));
    uint8_t *buf = malloc(*n);
    size_t written = 0;
    EXPECT_OK(llmc_session_state_save(s, buf, *n, &written));
    CHECK(written == *n);
    return buf;
}

static int same_state(const llmc_session *s, const uint8_t *want, size_t n) {
    size_t m = 0;
    uint8_t *got = save(s, &m);
    int same = m == n && memcmp(got, want, n) == 0;
    free(got);
    return same;
}

static void forks_match_fresh_sessions(const llmc_model *m) {
    llmc_session *base = session(m, 32);
    EXPECT_OK(llmc_session_eval(base, PROMPT, N_PROMPT, NULL, 0));
    size_t n_before = 0;
    uint8_t *before = save(base, &n_before);
    float *got = malloc(vocab * sizeof(float)), *want = malloc(vocab * sizeof(float));
    for (int c = 0; c < 2; c++) {
        llmc_session *fork = NULL;
        EXPECT_OK(llmc_session_fork(base, &fork));
        size_t len = 0;
        EXPECT_OK(llmc_session_len(fork, &len));
        CHECK(len == N_PROMPT);
        EXPECT_OK(llmc_session_eval(fork, CONT[c], 3, got, vocab));
        llmc_session *fresh = session(m, 32);
        EXPECT_OK(llmc_session_eval(fresh, PROMPT, N_PROMPT, NULL, 0));
        EXPECT_OK(llmc_session_eval(fresh, CONT[c], 3, want, vocab));
        CHECK(memcmp(got, want, vocab * sizeof(float)) == 0);
        llmc_session_free(fresh);
        llmc_session_free(fork);
    }
    CHECK(same_state(base, before, n_before));
    free(before);
    free(got);
    free(want);
    llmc_session_free(base);
}

static void saved_state_resumes(const llmc_model *m, const char *scratch) {
    llmc_session *orig = session(m, 32);
    EXPECT_OK(llmc_session_eval(orig, PROMPT, N_PROMPT, NULL, 0));
    size_t n = 0;
    uint8_t *state = save(orig, &n);
    llmc_session *resumed = session(m, 32);
    EXPECT_OK(llmc_session_state_load(resumed, state, n));
    CHECK(same_state(resumed, state, n));
    char path[4200];
    snprintf(path, sizeof path, "%s/prompt.state", scratch);
    EXPECT_OK(llmc_session_state_save_file(resumed, path));
    llmc_session *from_file = session(m, 32);
    EXPECT_OK(llmc_session_state_load_file(from_file, path));
    CHECK(same_state(from_file, state, n));
    float *a = malloc(vocab * sizeof(float)), *b = malloc(vocab * sizeof(float));
    float *c = malloc(vocab * sizeof(float));
    EXPECT_OK(llmc_session_eval(orig, CONT[0], 3, a, vocab));
    EXPECT_OK(llmc_session_eval(resumed, CONT[0], 3, b, vocab));
    EXPECT_OK(llmc_session_eval(from_file, CONT[0], 3, c, vocab));
    CHECK(memcmp(a, b, vocab * sizeof(float)) == 0);
    CHECK(memcmp(a, c, vocab * sizeof(float)) == 0);
    free(a);
    free(b);
    free(c);
    free(state);
    llmc_session_free(from_file);
    llmc_session_free(resumed);
    llmc_session_free(orig);
}

static void misuse(const llmc_model *m, const llmc_model *other, const char *scratch) {
    llmc_session *s = session(m, 32);
    EXPECT_OK(llmc_session_eval(s, PROMPT, N_PROMPT, NULL, 0));
    size_t n = 0;
    uint8_t *state = save(s, &n);
    llmc_session *out = (llmc_session *)&n;
    EXPECT(llmc_session_fork(NULL, &out), LLMC_ERR_NULL_ARGUMENT, "'src'");
    CHECK(out == (llmc_session *)&n);
    EXPECT(llmc_session_fork(s, NULL), LLMC_ERR_NULL_ARGUMENT, "'out'");
    EXPECT(llmc_session_state_size(NULL, &n), LLMC_ERR_NULL_ARGUMENT, "'session'");
    EXPECT(llmc_session_state_size(s, NULL), LLMC_ERR_NULL_ARGUMENT, "'n'");
    size_t written = 7;
    EXPECT(llmc_session_state_save(s, NULL, 5, &written), LLMC_ERR_NULL_ARGUMENT, "'buf'");
    EXPECT(llmc_session_state_save(s, state, n, NULL), LLMC_ERR_NULL_ARGUMENT, "'n_out'");
    CHECK(written == 7);
    EXPECT_OK(llmc_session_state_save(s, NULL, 0, &written));
    CHECK(written == n);
    uint8_t small[64];
    memset(small, 0xAB, sizeof small);
    written = 7;
    EXPECT(llmc_session_state_save(s, small, sizeof small, &written), LLMC_ERR_BUFFER_TOO_SMALL,
           "'buf'");
    CHECK(written == 7);
    int untouched = 1;
    for (size_t i = 0; i < sizeof small; i++) untouched &= small[i] == 0xAB;
    CHECK(untouched);
    EXPECT(llmc_session_state_load(NULL, state, n), LLMC_ERR_NULL_ARGUMENT, "'session'");
    EXPECT(llmc_session_state_load(s, NULL, n), LLMC_ERR_NULL_ARGUMENT, "'bytes'");
    EXPECT(llmc_session_state_save_file(s, NULL), LLMC_ERR_NULL_ARGUMENT, "'path'");
    EXPECT(llmc_session_state_load_file(s, NULL), LLMC_ERR_NULL_ARGUMENT, "'path'");

    /* A target holding 2 tokens must keep them through every refused load. */
    llmc_session *target = session(m, 32);
    EXPECT_OK(llmc_session_eval(target, PROMPT, 2, NULL, 0));
    size_t n_kept = 0;
    uint8_t *kept = save(target, &n_kept);
    EXPECT(llmc_session_state_load(target, state, n - 1), LLMC_ERR_FORMAT, "truncated");
    EXPECT(llmc_session_state_load(target, state, 10), LLMC_ERR_FORMAT, "truncated");
    state[60] ^= 0x10;
    EXPECT(llmc_session_state_load(target, state, n), LLMC_ERR_FORMAT, "checksum");
    state[60] ^= 0x10;
    llmc_session *qwen = session(other, 32);
    size_t n_other = 0;
    uint8_t *other_state = save(qwen, &n_other);
    EXPECT(llmc_session_state_load(target, other_state, n_other), LLMC_ERR_INVALID_ARGUMENT,
           "layer count");
    llmc_session *tiny = session(m, 3);
    EXPECT(llmc_session_state_load(tiny, state, n), LLMC_ERR_CONTEXT_OVERFLOW, NULL);
    size_t len = 9;
    EXPECT_OK(llmc_session_len(tiny, &len));
    CHECK(len == 0);
    char path[4200];
    snprintf(path, sizeof path, "%s/no-such-dir/none.state", scratch);
    EXPECT(llmc_session_state_load_file(target, path), LLMC_ERR_IO, "none.state");
    EXPECT(llmc_session_state_save_file(target, path), LLMC_ERR_IO, "none.state");
    CHECK(same_state(target, kept, n_kept));
    free(kept);
    free(other_state);
    free(state);
    llmc_session_free(tiny);
    llmc_session_free(qwen);
    llmc_session_free(target);
    llmc_session_free(s);
    llmc_session_free(NULL);
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s SMOLLM2.gguf OTHER_MODEL.gguf SCRATCH_DIR\n", argv[0]);
        return 2;
    }
    llmc_model *m = NULL, *other = NULL;
    EXPECT_OK(llmc_model_load(argv[1], &m));
    EXPECT_OK(llmc_model_load(argv[2], &other));
    if (!m || !other) return check_summary("session_state");
    llmc_model_info info = {0};
    info.struct_size = sizeof info;
    EXPECT_OK(llmc_model_get_info(m, &info));
    vocab = info.vocab_size;
    forks_match_fresh_sessions(m);
    saved_state_resumes(m, argv[3]);
    misuse(m, other, argv[3]);
    llmc_model_free(other);
    llmc_model_free(m);
    return check_summary("session_state");
}
