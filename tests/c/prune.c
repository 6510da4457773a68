/* Pruning through the llmcore C ABI: the default parameters; a sweep of bad input, each
 * refused before any work with its status and a message naming the problem, and no output
 * file; a real Wanda prune of SmolLM2 with a tiny calibration set whose output loads back
 * with llmc_model_load and carries the llmcore.prune.* keys; cancellations from the progress
 * callback while pruning and while saving, each leaving no file (nor a temporary one).
 * Run by scripts/test-bindings.sh.
 *
 * usage: prune MODEL.gguf CALIB.txt SCRATCH_DIR [--bad-input-only]
 * (--bad-input-only: the defaults and the sweep, quick enough for valgrind) */
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "check.h"

static char out_path[4096];
static char calib_spec[4096];

static int file_exists(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f) fclose(f);
    return f != NULL;
}

/* Entries of `dir` whose name contains "pruned" (the output and any temporary of it). */
static int leftovers(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    if (!d) return -1;
    for (struct dirent *e; (e = readdir(d));)
        if (strstr(e->d_name, "pruned")) n++;
    closedir(d);
    return n;
}

static void test_defaults(void) {
    llmc_prune_params p = llmc_prune_default_params();
    CHECK(p.struct_size == sizeof p);
    CHECK(p.method == LLMC_PRUNE_WANDA && p.sparsity == 0.5 && p.nm_n == 0 && p.nm_m == 0);
    CHECK(p.mode == LLMC_PRUNE_MODE_DEFAULT && p.owl_m == 0.0 && fabs(p.owl_lambda - 0.08) < 1e-12);
    CHECK(p.calib == NULL && p.nsamples == 128 && p.seqlen == 0 && p.seed == 0);
    CHECK(p.format == LLMC_PRUNE_FORMAT_F16 && !p.overwrite);
    CHECK(p.sparsegpt_block == 128 && fabs(p.sparsegpt_damp - 0.01) < 1e-12);
    CHECK(p.fista_iters == 20 && p.fista_rounds == 8 && fabs(p.fista_tolerance - 0.005) < 1e-12);
    CHECK(p.fista_warm == LLMC_FISTA_WARM_WANDA && p.fista_refit);
}

/* Small, fast settings on the real calibration text. */
static llmc_prune_params tiny(void) {
    llmc_prune_params p = llmc_prune_default_params();
    p.calib = calib_spec;
    p.nsamples = 2;
    p.seqlen = 32;
    return p;
}

static void test_bad_input(const char *model, const char *dir) {
    llmc_prune_params p = tiny();
    struct llmc_prune_result r = {.struct_size = sizeof r};
    const char *out = out_path;
    EXPECT(llmc_prune(NULL, out, &p, NULL, NULL, &r), LLMC_ERR_NULL_ARGUMENT, "'model_path'");
    EXPECT(llmc_prune(model, NULL, &p, NULL, NULL, &r), LLMC_ERR_NULL_ARGUMENT, "'out_path'");
    p.struct_size = 8;
    EXPECT(llmc_prune(model, out, &p, NULL, NULL, &r), LLMC_ERR_INVALID_ARGUMENT,
           "'params'->struct_size is 8");
    p = tiny();
    r.struct_size = 0;
    EXPECT(llmc_prune(model, out, &p, NULL, NULL, &r), LLMC_ERR_INVALID_ARGUMENT,
           "'result'->struct_size is 0");
    r.struct_size = sizeof r;
    /* NULL params means the defaults, which need a calibration source. */
    EXPECT(llmc_prune(model, out, NULL, NULL, NULL, &r), LLMC_ERR_INVALID_ARGUMENT,
           "params->calib is NULL: method wanda needs calibration");
    p.method = 9;
    EXPECT(llmc_prune(model, out, &p, NULL, NULL, &r), LLMC_ERR_INVALID_ARGUMENT,
           "params->method 9");
    p = tiny();
    p.mode = 7;
    EXPECT(llmc_prune(model, out, &p, NULL, NULL, &r), LLMC_ERR_INVALID_ARGUMENT,
           "params->mode 7");
    p = tiny();
    p.format = 3;
    EXPECT(llmc_prune(model, out, &p, NULL, NULL, &r), LLMC_ERR_INVALID_ARGUMENT,
           "params->format 3");
    p = tiny();
    p.sparsity = 1.0;
    EXPECT(llmc_prune(model, out, &p, NULL, NULL, &r), LLMC_ERR_INVALID_ARGUMENT,
           "sparsity 1 is outside [0, 1)");
    p.sparsity = -0.1;
    EXPECT(llmc_prune(model, out, &p, NULL, NULL, &r), LLMC_ERR_INVALID_ARGUMENT,
           "sparsity -0.1 is outside [0, 1)");
    p.sparsity = NAN;
    EXPECT(llmc_prune(model, out, &p, NULL, NULL, &r), LLMC_ERR_INVALID_ARGUMENT,
           "is outside [0, 1)");
    p = tiny();
    p.nm_n = 4;
    p.nm_m = 4;
    EXPECT(llmc_prune(model, out, &p, NULL, NULL, &r), LLMC_ERR_INVALID_ARGUMENT,
           "N:M pattern 4:4: need 0 < N < M");
    p.nm_n = 2;
    p.nm_m = 0;
    EXPECT(llmc_prune(model, out, &p, NULL, NULL, &r), LLMC_ERR_INVALID_ARGUMENT,
           "N:M pattern 2:0");
    /* 2:5 is a valid pattern, but 5 does not divide SmolLM2's 576 columns. */
    p.nm_m = 5;
    EXPECT(llmc_prune(model, out, &p, NULL, NULL, &r), LLMC_ERR_INVALID_ARGUMENT,
           "N:M pattern 2:5 does not divide the 576 columns");
    p = tiny();
    p.owl_m = 5;
    p.owl_lambda = 0.3;
    EXPECT(llmc_prune(model, out, &p, NULL, NULL, &r), LLMC_ERR_INVALID_ARGUMENT,
           "use a smaller lambda");
    p.owl_m = -1;
    EXPECT(llmc_prune(model, out, &p, NULL, NULL, &r), LLMC_ERR_INVALID_ARGUMENT,
           "OWL needs M > 0");
    p = tiny();
    p.method = LLMC_PRUNE_MAGNITUDE;
    p.calib = NULL;
    p.owl_m = 5;
    EXPECT(llmc_prune(model, out, &p, NULL, NULL, &r), LLMC_ERR_INVALID_ARGUMENT,
           "OWL needs calibration");
    p = tiny();
    p.method = LLMC_PRUNE_SPARSEGPT;
    p.sparsegpt_damp = 1.5;
    EXPECT(llmc_prune(model, out, &p, NULL, NULL, &r), LLMC_ERR_INVALID_ARGUMENT,
           "SparseGPT needs a block of at least 1 column and damping in [0, 1)");
    p = tiny();
    p.method = LLMC_PRUNE_FISTA;
    p.fista_iters = 0;
    EXPECT(llmc_prune(model, out, &p, NULL, NULL, &r), LLMC_ERR_INVALID_ARGUMENT,
           "FISTA needs at least 1 iteration");
    p.fista_iters = 20;
    p.fista_warm = 4;
    EXPECT(llmc_prune(model, out, &p, NULL, NULL, &r), LLMC_ERR_INVALID_ARGUMENT,
           "params->fista_warm 4");
    p = tiny();
    p.calib = "file";
    EXPECT(llmc_prune(model, out, &p, NULL, NULL, &r), LLMC_ERR_INVALID_ARGUMENT,
           "expected file:PATH, random or selfgen:PATH");
    p.calib = "file:/nonexistent/calib.txt";
    EXPECT(llmc_prune(model, out, &p, NULL, NULL, &r), LLMC_ERR_IO, "/nonexistent/calib.txt");
    /* Calibration text shorter than one window. */
    char short_path[4096];
    snprintf(short_path, sizeof short_path, "%s/short.txt", dir);
    FILE *f = fopen(short_path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs("Sir Walter Elliot, of Kellynch Hall.", f);
        fclose(f);
    }
    char short_spec[4200];
    snprintf(short_spec, sizeof short_spec, "file:%s", short_path);
    p.calib = short_spec;
    EXPECT(llmc_prune(model, out, &p, NULL, NULL, &r), LLMC_ERR_INVALID_ARGUMENT,
           "fewer than one calibration window of 32");
    remove(short_path);
    p = tiny();
    p.nsamples = 0;
    EXPECT(llmc_prune(model, out, &p, NULL, NULL, &r), LLMC_ERR_INVALID_ARGUMENT,
           "at least 1 window");
    p = tiny();
    p.seqlen = 100000;
    EXPECT(llmc_prune(model, out, &p, NULL, NULL, &r), LLMC_ERR_INVALID_ARGUMENT, "tokens");
    p = tiny();
    EXPECT(llmc_prune("/nonexistent/model.gguf", out, &p, NULL, NULL, &r), LLMC_ERR_IO,
           "/nonexistent/model.gguf");
    /* An existing output is refused (and kept) without overwrite. */
    f = fopen(out, "w");
    CHECK(f != NULL);
    if (f) {
        fputs("keep me", f);
        fclose(f);
    }
    EXPECT(llmc_prune(model, out, &p, NULL, NULL, &r), LLMC_ERR_IO,
           "exists; set params->overwrite to replace it");
    CHECK(file_exists(out));
    remove(out);
    CHECK(r.n_matrices == 0 && r.sparsity == 0.0); /* untouched on failure */
    CHECK(leftovers(dir) == 0);
}

/* Cancels at the first call in `stage`; records the stages seen. */
typedef struct {
    llmc_prune_stage cancel_at; /* 99: never */
    int calls, saw[6];
    size_t last_total;
} progress_seen;

static bool on_progress(size_t layer, llmc_prune_stage stage, size_t done, size_t total,
                        void *user_data) {
    progress_seen *s = user_data;
    s->calls++;
    if (stage < 6) s->saw[stage]++;
    s->last_total = total;
    (void)layer;
    (void)done;
    return stage != s->cancel_at;
}

static void test_prune_and_cancel(const char *model, const char *dir) {
    llmc_prune_params p = tiny();
    struct llmc_prune_result r = {.struct_size = sizeof r};
    progress_seen seen = {.cancel_at = LLMC_PRUNE_STAGE_PRUNE};
    EXPECT(llmc_prune(model, out_path, &p, on_progress, &seen, &r), LLMC_ERR_CANCELLED,
           "cancel");
    CHECK(seen.saw[LLMC_PRUNE_STAGE_PRUNE] == 1 && seen.saw[LLMC_PRUNE_STAGE_SAVE] == 0);
    CHECK(!file_exists(out_path) && leftovers(dir) == 0);

    /* A real prune: Wanda at 50% on two windows of 32 tokens, written as Q8_0. */
    seen = (progress_seen){.cancel_at = 99};
    p.format = LLMC_PRUNE_FORMAT_Q8_0;
    EXPECT_OK(llmc_prune(model, out_path, &p, on_progress, &seen, &r));
    printf("pruned: %zu matrices, sparsity %.4f, %zu calibration tokens, %.1f s + %.1f s save\n",
           r.n_matrices, r.sparsity, r.calibration_tokens, r.prune_seconds, r.save_seconds);
    CHECK(r.n_matrices == 30 * 7 && fabs(r.sparsity - 0.5) < 1e-3);
    CHECK(r.calibration_tokens == 64 && r.prune_seconds > 0 && r.save_seconds > 0);
    CHECK(seen.saw[LLMC_PRUNE_STAGE_STATISTICS] > 0 && seen.saw[LLMC_PRUNE_STAGE_PRUNE] == 210);
    CHECK(seen.saw[LLMC_PRUNE_STAGE_SAVE] > 0 && seen.saw[LLMC_PRUNE_STAGE_OUTLIERS] == 0);
    llmc_model *m = NULL;
    EXPECT_OK(llmc_model_load(out_path, &m));
    if (m) {
        char buf[512];
        size_t n = 0;
        EXPECT_OK(llmc_model_meta_value(m, "llmcore.prune.method", buf, sizeof buf, &n));
        CHECK(strcmp(buf, "wanda") == 0);
        EXPECT_OK(llmc_model_meta_value(m, "llmcore.prune.pattern", buf, sizeof buf, &n));
        CHECK(strcmp(buf, "50% unstructured") == 0);
        EXPECT_OK(llmc_model_meta_value(m, "llmcore.prune.settings", buf, sizeof buf, &n));
        CHECK(strstr(buf, "nsamples=2 seqlen=32 seed=0 model=SmolLM2-135M-Instruct.Q4_1.gguf") !=
              NULL);
        /* The pruned model still runs. */
        llmc_session *s = NULL;
        EXPECT_OK(llmc_session_new(m, NULL, &s));
        llmc_token toks[8];
        EXPECT_OK(llmc_tokenize(m, "The capital of France", 21, true, toks, 8, &n));
        float *logits = malloc(49152 * sizeof(float));
        if (s && logits) {
            EXPECT_OK(llmc_session_eval(s, toks, n, logits, 49152));
            CHECK(isfinite(logits[0]));
        }
        free(logits);
        llmc_session_free(s);
        llmc_model_free(m);
    }

    /* Without overwrite the finished output is kept; a save cancelled with overwrite keeps it
     * too (it is replaced only on success) and leaves no temporary file. */
    EXPECT(llmc_prune(model, out_path, &p, NULL, NULL, &r), LLMC_ERR_IO, "exists");
    seen = (progress_seen){.cancel_at = LLMC_PRUNE_STAGE_SAVE};
    p.overwrite = true;
    p.method = LLMC_PRUNE_MAGNITUDE;
    p.calib = NULL;
    EXPECT(llmc_prune(model, out_path, &p, on_progress, &seen, &r), LLMC_ERR_CANCELLED,
           "cancel");
    CHECK(seen.saw[LLMC_PRUNE_STAGE_SAVE] == 1 && seen.saw[LLMC_PRUNE_STAGE_PRUNE] == 210);
    CHECK(file_exists(out_path) && leftovers(dir) == 1);
    EXPECT_OK(llmc_model_load(out_path, &m)); /* still the Wanda model, whole */
    llmc_model_free(m);
    remove(out_path);
    /* Cancelled while saving with no earlier file: nothing at all remains. */
    seen = (progress_seen){.cancel_at = LLMC_PRUNE_STAGE_SAVE};
    EXPECT(llmc_prune(model, out_path, &p, on_progress, &seen, &r), LLMC_ERR_CANCELLED,
           "cancel");
    CHECK(!file_exists(out_path) && leftovers(dir) == 0);
}

int main(int argc, char **argv) {
    int bad_input_only = argc == 5 && strcmp(argv[4], "--bad-input-only") == 0;
    if (argc != 4 && !bad_input_only) {
        fprintf(stderr, "usage: %s MODEL.gguf CALIB.txt SCRATCH_DIR [--bad-input-only]\n",
                argv[0]);
        return 2;
    }
    snprintf(out_path, sizeof out_path, "%s/pruned.gguf", argv[3]);
    snprintf(calib_spec, sizeof calib_spec, "file:%s", argv[2]);
    remove(out_path);
    test_defaults();
    test_bad_input(argv[1], argv[3]);
    if (!bad_input_only) test_prune_and_cancel(argv[1], argv[3]);
    return check_summary("prune");
}
