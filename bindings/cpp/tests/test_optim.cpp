// Tests of llmcore::Optimizer (needs no model); run under valgrind by scripts/test-bindings.sh.
// Every kind trains a least-squares problem on the caller's std::vector buffers; Adapprox
// through the wrapper gives the bits of the raw C calls; errors throw llmcore::Error with the
// library's status and message and change nothing.   usage: test_optim
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "llmcore.hpp"

#include "check.hpp"

constexpr std::size_t ROWS = 10, COLS = 8;

// 0.5 ||W - A||^2 + 0.5 ||b - c||^2 from zero: the target, the parameters and gradients.
struct Problem {
    std::vector<float> a, c, w, b, gw, gb;
    Problem() : a(ROWS * COLS), c(COLS), w(ROWS * COLS), b(COLS), gw(ROWS * COLS), gb(COLS) {
        for (std::size_t i = 0; i < ROWS; i++)
            for (std::size_t j = 0; j < COLS; j++)
                a[i * COLS + j] = 0.5f * std::sin(0.3f * i + 0.1f) * std::cos(0.2f * j);
        for (std::size_t j = 0; j < COLS; j++) c[j] = 0.1f * (float(j) - 4.0f);
    }
    double grad() {
        double loss = 0;
        for (std::size_t i = 0; i < w.size(); i++) {
            gw[i] = w[i] - a[i];
            loss += 0.5 * gw[i] * gw[i];
        }
        for (std::size_t j = 0; j < b.size(); j++) {
            gb[j] = b[j] - c[j];
            loss += 0.5 * gb[j] * gb[j];
        }
        return loss;
    }
    std::vector<float *> params() { return {w.data(), b.data()}; }
    std::vector<const float *> grads() const { return {gw.data(), gb.data()}; }
};

static const std::vector<llmcore::ParamShape> SHAPES = {{"w", {ROWS, COLS}}, {"b", {COLS}}};

int main(int argc, char **) {
    if (argc != 1) {
        std::fprintf(stderr, "usage: test_optim\n");
        return 2;
    }
    using namespace llmcore;

    for (OptimizerKind kind : {OptimizerKind::AdamW, OptimizerKind::Adafactor,
                               OptimizerKind::Came, OptimizerKind::Adapprox}) {
        OptimizerParams p(kind);
        CHECK(p.c.kind == static_cast<llmc_optimizer_kind>(kind));
        p.c.lr = 0.05;
        p.c.weight_decay = 0;
        Optimizer opt(p, SHAPES);
        CHECK(opt.size() == 2 && opt.lr() == 0.05);
        Problem pr;
        double first = pr.grad(), last = first;
        for (int t = 0; t < 150; t++) {
            opt.step(pr.params(), pr.grads());
            last = pr.grad();
        }
        CHECK(last < first / 10);
        CHECK(opt.steps() == 150);
        StateBytes sb = opt.state_bytes();
        CHECK(sb.total == opt.param_state(0).bytes + opt.param_state(1).bytes);
        if (kind == OptimizerKind::AdamW) CHECK(sb.total == 8 * (ROWS * COLS + COLS));
        if (kind == OptimizerKind::Adapprox) {
            llmc_param_state s = opt.param_state(0);
            CHECK(s.rank >= 1 && s.rank <= COLS && s.error >= 0);
        }
        std::printf("kind %u: loss %.4g -> %.4g, state %zu bytes\n", p.c.kind, first, last,
                    sb.total);
    }

    // The wrapper's bits are the raw C calls' bits.
    {
        OptimizerParams p(OptimizerKind::Adapprox);
        p.c.first_moment = false;
        p.c.lr = 0.02;
        Optimizer opt(p, SHAPES);
        llmc_param_shape cs[2] = {{"w", 2, {ROWS, COLS}}, {"b", 1, {COLS, 0}}};
        llmc_optimizer *raw = nullptr;
        CHECK(llmc_optimizer_new(&p.c, cs, 2, &raw) == LLMC_OK);
        Problem a, b;
        for (int t = 0; t < 20; t++) {
            a.grad();
            b.grad();
            opt.step(a.params(), a.grads());
            float *bp[2] = {b.w.data(), b.b.data()};
            const float *bg[2] = {b.gw.data(), b.gb.data()};
            CHECK(llmc_optimizer_step(raw, bp, bg, 2) == LLMC_OK);
        }
        CHECK(std::memcmp(a.w.data(), b.w.data(), a.w.size() * sizeof(float)) == 0);
        CHECK(std::memcmp(a.b.data(), b.b.data(), a.b.size() * sizeof(float)) == 0);
        llmc_optimizer_free(raw);
        // Moving keeps the handle working.
        Optimizer moved = std::move(opt);
        CHECK(moved.steps() == 20);
        moved.set_lr(0.125);
        CHECK(moved.lr() == 0.125);
    }

    // Errors throw with the library's status and message; a refused step changes nothing.
    OptimizerParams bad(OptimizerKind::Adapprox);
    bad.c.rank_min = 5;
    bad.c.rank_max = 3;
    EXPECT_ERROR(Optimizer(bad, SHAPES), LLMC_ERR_INVALID_ARGUMENT,
                 "params (adapprox): rank range [5, 3] is empty");
    bad = OptimizerParams(OptimizerKind::Adapprox);
    bad.c.kind = 11;
    EXPECT_ERROR(Optimizer(bad, SHAPES), LLMC_ERR_INVALID_ARGUMENT, "params->kind 11");
    EXPECT_ERROR(Optimizer(OptimizerParams(), {{"w", {2, 3, 4}}}), LLMC_ERR_INVALID_ARGUMENT,
                 "shapes[0] ('w'): ndim is 3");
    Optimizer opt(OptimizerParams(OptimizerKind::Adapprox), SHAPES);
    Problem pr;
    pr.grad();
    opt.step(pr.params(), pr.grads());
    std::vector<float> w = pr.w, b = pr.b;
    pr.grad();
    pr.gb[2] = NAN;
    EXPECT_ERROR(opt.step(pr.params(), pr.grads()), LLMC_ERR_INVALID_ARGUMENT,
                 "llmc_optimizer_step: gradient of 'b' holds NaN at index 2");
    EXPECT_ERROR(opt.step({pr.w.data(), pr.w.data()}, pr.grads()), LLMC_ERR_INVALID_ARGUMENT,
                 "params[1] ('b') is the same pointer as params[0] ('w')");
    EXPECT_ERROR(opt.step({pr.w.data(), nullptr}, pr.grads()), LLMC_ERR_NULL_ARGUMENT,
                 "params[1] ('b') is NULL");
    EXPECT_ERROR(opt.step(pr.params(), {pr.gw.data()}), LLMC_ERR_INVALID_ARGUMENT,
                 "2 parameters and 1 gradients");
    EXPECT_ERROR(opt.set_lr(0), LLMC_ERR_INVALID_ARGUMENT, "learning rate 0");
    EXPECT_ERROR(opt.param_state(2), LLMC_ERR_INVALID_ARGUMENT, "parameter index 2");
    CHECK(pr.w == w && pr.b == b && opt.steps() == 1);

    std::printf("cpp optim: %d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
