/* Two threads, each with its own session over one shared model handle, must produce exactly
 * what one thread produces alone: the same greedy text and bit-identical logits.
 *
 * usage: threads MODEL.gguf */
#include <pthread.h>
#include <stdlib.h>

#include "check.h"

#define MAX_NEW 24
#define TEXT_CAP 4096

/* One job: a prompt in, the generated text and the final logits out. */
typedef struct {
    const llmc_model *model;
    const char *prompt;
    size_t vocab;
    char text[TEXT_CAP];
    size_t text_len;
    float *logits;
    llmc_status status;
} job;

static bool append_text(const char *piece, size_t len, void *user_data) {
    job *j = user_data;
    if (j->text_len + len >= TEXT_CAP) return false;
    memcpy(j->text + j->text_len, piece, len);
    j->text_len += len;
    j->text[j->text_len] = 0;
    return true;
}

/* Greedy generation, then one more forward pass over the prompt whose logits are kept. */
static void *run_job(void *arg) {
    job *j = arg;
    llmc_token toks[256];
    size_t n = 0;
    llmc_session *s = NULL;
    struct llmc_session_params sp = llmc_session_default_params();
    sp.n_ctx = 256;
    struct llmc_generate_params gp = llmc_generate_default_params();
    gp.max_tokens = MAX_NEW;
    j->status = llmc_tokenize(j->model, j->prompt, strlen(j->prompt), true, toks, 256, &n);
    if (j->status == LLMC_OK) j->status = llmc_session_new(j->model, &sp, &s);
    if (j->status == LLMC_OK)
        j->status = llmc_generate(s, toks, n, &gp, append_text, j, NULL);
    if (j->status == LLMC_OK) j->status = llmc_session_clear(s);
    if (j->status == LLMC_OK) j->status = llmc_session_eval(s, toks, n, j->logits, j->vocab);
    llmc_session_free(s);
    return NULL;
}

static job *new_job(const llmc_model *m, const char *prompt, size_t vocab) {
    job *j = calloc(1, sizeof *j);
    j->model = m;
    j->prompt = prompt;
    j->vocab = vocab;
    j->logits = malloc(sizeof(float) * vocab);
    return j;
}

static void free_job(job *j) {
    free(j->logits);
    free(j);
}

static void same(const job *a, const job *b) {
    CHECK(a->status == LLMC_OK && b->status == LLMC_OK);
    CHECK(a->text_len > 0 && a->text_len == b->text_len && strcmp(a->text, b->text) == 0);
    CHECK(memcmp(a->logits, b->logits, sizeof(float) * a->vocab) == 0);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s MODEL.gguf\n", argv[0]);
        return 2;
    }
    llmc_model *m = NULL;
    EXPECT_OK(llmc_model_load(argv[1], &m));
    if (!m) return check_summary("threads");
    struct llmc_model_info info = {.struct_size = sizeof info};
    EXPECT_OK(llmc_model_get_info(m, &info));
    const char *prompts[2] = {"The capital of France is", "def fibonacci(n):"};

    /* One thread, one job after the other. */
    job *ref[2];
    for (int i = 0; i < 2; i++) {
        ref[i] = new_job(m, prompts[i], info.vocab_size);
        run_job(ref[i]);
    }
    CHECK(strcmp(ref[0]->text, ref[1]->text) != 0);

    /* Two threads at once over the same model, each its own session; twice, also with both
     * threads on the same prompt. */
    for (int round = 0; round < 2; round++) {
        job *par[2];
        pthread_t th[2];
        for (int i = 0; i < 2; i++) {
            par[i] = new_job(m, prompts[round == 0 ? i : 0], info.vocab_size);
            CHECK(pthread_create(&th[i], NULL, run_job, par[i]) == 0);
        }
        for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
        for (int i = 0; i < 2; i++) same(par[i], ref[round == 0 ? i : 0]);
        for (int i = 0; i < 2; i++) free_job(par[i]);
    }
    printf("thread 0: %s\nthread 1: %s\n", ref[0]->text, ref[1]->text);
    for (int i = 0; i < 2; i++) free_job(ref[i]);
    llmc_model_free(m);
    return check_summary("threads");
}
