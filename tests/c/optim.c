/* Optimizers through the llmcore C ABI, as a C trainer would use them on its own buffers: the
 * default parameters of each kind; each kind minimizing a least-squares problem on a matrix
 * and a vector (the loss must fall at least tenfold in 200 steps), with its state bytes and,
 * for Adapprox, the factors' rank and error; then misuse: NULL arguments, a wrong struct_size,
 * an unknown kind, a bad ndim, an empty rank range, a NaN gradient (refused naming the tensor,
 * the parameters and the step count untouched), the same buffer twice, a wrong n_params, an
 * out-of-range state index, free(NULL). Needs no model. Run by scripts/test-bindings.sh under
 * valgrind memcheck.
 *
 * usage: optim */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "check.h"

#define ROWS 16
#define COLS 12
#define STEPS 200

/* The problem: minimize 0.5 * ||W - A||^2 + 0.5 * ||b - c||^2 over W (ROWS x COLS) and
 * b (COLS), from W = 0, b = 0; the gradient is (W - A, b - c). A is a rank-2 matrix. */
typedef struct {
    float w[ROWS * COLS], b[COLS];
    float gw[ROWS * COLS], gb[COLS];
    float a[ROWS * COLS], c[COLS];
} problem;

static void problem_init(problem *p) {
    memset(p, 0, sizeof *p);
    for (int i = 0; i < ROWS; i++)
        for (int j = 0; j < COLS; j++)
            p->a[i * COLS + j] = 0.5f * sinf(0.3f * i + 0.1f) * cosf(0.2f * j) +
                                 0.25f * cosf(0.7f * i) * sinf(0.5f * j + 0.4f);
    for (int j = 0; j < COLS; j++) p->c[j] = 0.1f * (j - COLS / 2);
}

/* The loss, after writing the gradients. */
static double problem_grad(problem *p) {
    double loss = 0;
    for (int i = 0; i < ROWS * COLS; i++) {
        p->gw[i] = p->w[i] - p->a[i];
        loss += 0.5 * p->gw[i] * p->gw[i];
    }
    for (int j = 0; j < COLS; j++) {
        p->gb[j] = p->b[j] - p->c[j];
        loss += 0.5 * p->gb[j] * p->gb[j];
    }
    return loss;
}

static const llmc_param_shape SHAPES[2] = {
    {.name = "w", .ndim = 2, .dims = {ROWS, COLS}},
    {.name = "b", .ndim = 1, .dims = {COLS, 0}},
};

static void test_defaults(void) {
    llmc_optimizer_params p = llmc_optimizer_default_params(LLMC_OPTIMIZER_ADAMW);
    CHECK(p.struct_size == sizeof p && p.kind == LLMC_OPTIMIZER_ADAMW);
    CHECK(p.lr == 1e-3 && p.beta1 == 0.9 && p.beta2 == 0.999 && p.eps == 1e-8);
    CHECK(p.weight_decay == 0.01);
    p = llmc_optimizer_default_params(LLMC_OPTIMIZER_ADAFACTOR);
    CHECK(p.eps == 1e-30 && p.eps2 == 1e-3 && p.clip == 1.0 && p.decay_rate == -0.8);
    CHECK(!p.first_moment && !p.scale_parameter && !p.relative_step && !p.warmup_init);
    p = llmc_optimizer_default_params(LLMC_OPTIMIZER_CAME);
    CHECK(p.lr == 2e-4 && p.eps2 == 1e-16 && p.beta3 == 0.9999);
    p = llmc_optimizer_default_params(LLMC_OPTIMIZER_ADAPPROX);
    CHECK(p.first_moment && p.beta1 == 0.9 && p.rank_min == 1 && p.rank_max == 64);
    CHECK(p.oversample == 5 && p.power_iters == 1 && p.error_target == 0.05 && !p.guidance);
}

/* Runs `kind` with learning rate `lr` on the problem; the loss must fall tenfold. */
static void test_train(llmc_optimizer_kind kind, double lr, const char *what) {
    llmc_optimizer_params p = llmc_optimizer_default_params(kind);
    p.lr = lr;
    p.weight_decay = 0;
    llmc_optimizer *opt = NULL;
    EXPECT_OK(llmc_optimizer_new(&p, SHAPES, 2, &opt));
    if (!opt) return;
    problem *pr = malloc(sizeof *pr);
    problem_init(pr);
    float *params[2] = {pr->w, pr->b};
    const float *grads[2] = {pr->gw, pr->gb};
    double first = problem_grad(pr), last = first;
    int ok = 1;
    for (int t = 0; t < STEPS && ok; t++) {
        ok = llmc_optimizer_step(opt, params, grads, 2) == LLMC_OK;
        last = problem_grad(pr);
    }
    CHECK(ok);
    CHECK(last < first / 10);
    uint64_t steps = 0;
    EXPECT_OK(llmc_optimizer_steps(opt, &steps));
    CHECK(steps == STEPS);
    size_t total = 0, scratch = 0;
    EXPECT_OK(llmc_optimizer_state_bytes(opt, &total, &scratch));
    llmc_param_state s = {.struct_size = sizeof s};
    size_t sum = 0;
    for (size_t i = 0; i < 2; i++) {
        EXPECT_OK(llmc_optimizer_param_state(opt, i, &s));
        sum += s.bytes;
        if (kind != LLMC_OPTIMIZER_ADAPPROX || i == 1) CHECK(s.rank == 0 && s.error == 0);
    }
    CHECK(sum == total && total > 0);
    EXPECT_OK(llmc_optimizer_param_state(opt, 0, &s));
    if (kind == LLMC_OPTIMIZER_ADAMW) CHECK(total == 8 * (ROWS * COLS + COLS));
    if (kind == LLMC_OPTIMIZER_ADAPPROX) {
        /* Factors of rank r plus the first moment (W and b), and b's full second moment. */
        CHECK(s.rank >= 1 && s.rank <= COLS && s.error >= 0 && s.error < 1);
        CHECK(total == 4 * ((ROWS + COLS) * s.rank + ROWS * COLS + 2 * COLS));
    }
    printf("%-10s loss %.4g -> %.4g in %d steps; state %zu bytes (AdamW: %d), step scratch "
           "%zu bytes",
           what, first, last, STEPS, total, 8 * (ROWS * COLS + COLS), scratch);
    if (kind == LLMC_OPTIMIZER_ADAPPROX) printf("; rank %u, error %.3g", s.rank, s.error);
    printf("\n");
    free(pr);
    llmc_optimizer_free(opt);
}

static void test_bad_input(void) {
    llmc_optimizer_params p = llmc_optimizer_default_params(LLMC_OPTIMIZER_ADAPPROX);
    llmc_optimizer *const sentinel = (llmc_optimizer *)&p;
    llmc_optimizer *opt = sentinel;
    EXPECT(llmc_optimizer_new(&p, SHAPES, 2, NULL), LLMC_ERR_NULL_ARGUMENT, "'out' is NULL");
    EXPECT(llmc_optimizer_new(&p, NULL, 2, &opt), LLMC_ERR_NULL_ARGUMENT, "'shapes' is NULL");
    p.struct_size = 16;
    EXPECT(llmc_optimizer_new(&p, SHAPES, 2, &opt), LLMC_ERR_INVALID_ARGUMENT,
           "'params'->struct_size is 16");
    p.struct_size = sizeof p;
    p.kind = 4;
    EXPECT(llmc_optimizer_new(&p, SHAPES, 2, &opt), LLMC_ERR_INVALID_ARGUMENT,
           "params->kind 4 (LLMC_OPTIMIZER_ADAMW, _ADAFACTOR, _CAME or _ADAPPROX)");
    p.kind = LLMC_OPTIMIZER_ADAPPROX;
    p.rank_min = 8;
    p.rank_max = 4;
    EXPECT(llmc_optimizer_new(&p, SHAPES, 2, &opt), LLMC_ERR_INVALID_ARGUMENT,
           "params (adapprox): rank range [8, 4] is empty");
    p.rank_min = 1;
    llmc_param_shape bad[2] = {SHAPES[0], SHAPES[1]};
    bad[1].ndim = 3;
    EXPECT(llmc_optimizer_new(&p, bad, 2, &opt), LLMC_ERR_INVALID_ARGUMENT,
           "shapes[1] ('b'): ndim is 3");
    bad[1] = SHAPES[1];
    bad[1].name = NULL;
    EXPECT(llmc_optimizer_new(&p, bad, 2, &opt), LLMC_ERR_NULL_ARGUMENT,
           "'shapes[1].name' is NULL");
    CHECK(opt == sentinel);
    opt = NULL;
    EXPECT_OK(llmc_optimizer_new(&p, SHAPES, 2, &opt));
    if (!opt) return;

    problem *pr = malloc(sizeof *pr);
    problem_init(pr);
    float *params[2] = {pr->w, pr->b};
    const float *grads[2] = {pr->gw, pr->gb};
    problem_grad(pr);
    EXPECT_OK(llmc_optimizer_step(opt, params, grads, 2));
    float w_before[ROWS * COLS], b_before[COLS];
    memcpy(w_before, pr->w, sizeof w_before);
    memcpy(b_before, pr->b, sizeof b_before);
    problem_grad(pr);
    pr->gw[17] = NAN;
    EXPECT(llmc_optimizer_step(opt, params, grads, 2), LLMC_ERR_INVALID_ARGUMENT,
           "gradient of 'w' holds NaN at index 17: step refused, parameters unchanged");
    pr->gw[17] = 0;
    EXPECT(llmc_optimizer_step(NULL, params, grads, 2), LLMC_ERR_NULL_ARGUMENT, "'opt' is NULL");
    EXPECT(llmc_optimizer_step(opt, NULL, grads, 2), LLMC_ERR_NULL_ARGUMENT, "'params' is NULL");
    float *one_null[2] = {pr->w, NULL};
    EXPECT(llmc_optimizer_step(opt, one_null, grads, 2), LLMC_ERR_NULL_ARGUMENT,
           "params[1] ('b') is NULL");
    float *twice[2] = {pr->w, pr->w};
    EXPECT(llmc_optimizer_step(opt, twice, grads, 2), LLMC_ERR_INVALID_ARGUMENT,
           "params[1] ('b') is the same pointer as params[0] ('w')");
    EXPECT(llmc_optimizer_step(opt, params, grads, 1), LLMC_ERR_INVALID_ARGUMENT,
           "n_params is 1, the optimizer was created for 2 parameters");
    CHECK(memcmp(w_before, pr->w, sizeof w_before) == 0);
    CHECK(memcmp(b_before, pr->b, sizeof b_before) == 0);
    uint64_t steps = 0;
    EXPECT_OK(llmc_optimizer_steps(opt, &steps));
    CHECK(steps == 1);

    EXPECT(llmc_optimizer_set_lr(opt, -1.0), LLMC_ERR_INVALID_ARGUMENT, "learning rate -1");
    EXPECT_OK(llmc_optimizer_set_lr(opt, 0.5));
    double lr = 0;
    EXPECT_OK(llmc_optimizer_lr(opt, &lr));
    CHECK(lr == 0.5);
    size_t total = 123;
    EXPECT(llmc_optimizer_state_bytes(opt, NULL, &total), LLMC_ERR_NULL_ARGUMENT,
           "'total' is NULL");
    CHECK(total == 123);
    llmc_param_state s = {.struct_size = sizeof s, .bytes = 9};
    EXPECT(llmc_optimizer_param_state(opt, 2, &s), LLMC_ERR_INVALID_ARGUMENT,
           "parameter index 2, the optimizer has 2");
    s.struct_size = 1;
    EXPECT(llmc_optimizer_param_state(opt, 0, &s), LLMC_ERR_INVALID_ARGUMENT,
           "'state'->struct_size is 1");
    CHECK(s.bytes == 9);
    free(pr);
    llmc_optimizer_free(opt);
    llmc_optimizer_free(NULL);
}

int main(int argc, char **argv) {
    (void)argv;
    if (argc != 1) {
        fprintf(stderr, "usage: optim\n");
        return 2;
    }
    test_defaults();
    test_train(LLMC_OPTIMIZER_ADAMW, 0.05, "adamw");
    test_train(LLMC_OPTIMIZER_ADAFACTOR, 0.05, "adafactor");
    test_train(LLMC_OPTIMIZER_CAME, 0.05, "came");
    test_train(LLMC_OPTIMIZER_ADAPPROX, 0.05, "adapprox");
    test_bad_input();
    return check_summary("optim");
}
