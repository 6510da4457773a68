// Peer timing for benches/quant.rs: ggml's x86 (AVX2) dot-product kernels on the same row
// shapes, so the Rust kernels can be compared with llama.cpp's in the same session.
// Build and run with scripts/ggml_quant_peer.sh (needs a ggml source tree). Prints one line per
// case: "<case> <median ns per call>", the case names matching the criterion ids of the
// `vec_dot/<type>/best/<n>` and `gemv/...` benches.
#include "ggml-common.h"
#include "ggml-cpu/quants.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef void (*vec_dot_t)(int, float *, size_t, const void *, size_t, const void *, size_t, int);
typedef void (*quantize_t)(const float *, void *, int64_t);

static uint64_t rng_state = 7;
static uint8_t next_byte(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint8_t)rng_state;
}

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

// Weight rows of random bytes with the f16 scales at `offs` set to 0x201F (~0.0083), as the
// Rust bench does.
static uint8_t *weights(size_t bytes, size_t block, const int *offs, int noffs) {
    uint8_t *w = malloc(bytes);
    for (size_t i = 0; i < bytes; i++) w[i] = next_byte();
    for (size_t b = 0; b + block <= bytes; b += block)
        for (int k = 0; k < noffs; k++) { w[b + offs[k]] = 0x1F; w[b + offs[k] + 1] = 0x20; }
    return w;
}

static volatile float sink;

static void run(const char *name, vec_dot_t dot, quantize_t quant, size_t wblock, size_t ablock,
                int qk, const int *offs, int noffs, int rows, int n) {
    size_t rb = (size_t)n / qk * wblock;
    uint8_t *w = weights(rb * rows, wblock, offs, noffs);
    float *x = malloc(sizeof(float) * n);
    for (int i = 0; i < n; i++) x[i] = (float)((next_byte() | next_byte() << 8) / 32768.0 - 1.0);
    uint8_t *a = malloc((size_t)n / qk * ablock);
    quant(x, a, n);
    // Batches of calls sized to ~2 ms; median of 50 batches.
    int reps = 1;
    for (;;) {
        double t0 = now_ns();
        for (int r = 0; r < reps; r++)
            for (int i = 0; i < rows; i++) { float s; dot(n, &s, 0, w + i * rb, 0, a, 0, 1); sink = s; }
        if (now_ns() - t0 > 2e6 || reps > (1 << 24)) break;
        reps *= 2;
    }
    double t[50];
    for (int k = 0; k < 50; k++) {
        double t0 = now_ns();
        for (int r = 0; r < reps; r++)
            for (int i = 0; i < rows; i++) { float s; dot(n, &s, 0, w + i * rb, 0, a, 0, 1); sink = s; }
        t[k] = (now_ns() - t0) / reps;
    }
    qsort(t, 50, sizeof(double), cmp);
    printf("%s %.1f\n", name, t[25]);
    free(w); free(x); free(a);
}

int main(void) {
    const int d0[] = {0}, dm[] = {0, 2}, d6[] = {208};
    const int small[] = {576, 1536}, big[] = {1536, 4864};
    char name[64];
    for (int k = 0; k < 2; k++) {
        int n = small[k];
        snprintf(name, sizeof name, "vec_dot/q4_0/best/%d", n);
        run(name, ggml_vec_dot_q4_0_q8_0, quantize_row_q8_0, 18, 34, 32, d0, 1, 1, n);
        snprintf(name, sizeof name, "vec_dot/q4_1/best/%d", n);
        run(name, ggml_vec_dot_q4_1_q8_1, quantize_row_q8_1, 20, 36, 32, dm, 2, 1, n);
        snprintf(name, sizeof name, "vec_dot/q5_0/best/%d", n);
        run(name, ggml_vec_dot_q5_0_q8_0, quantize_row_q8_0, 22, 34, 32, d0, 1, 1, n);
        snprintf(name, sizeof name, "vec_dot/q8_0/best/%d", n);
        run(name, ggml_vec_dot_q8_0_q8_0, quantize_row_q8_0, 34, 34, 32, d0, 1, 1, n);
    }
    for (int k = 0; k < 2; k++) {
        int n = big[k];
        snprintf(name, sizeof name, "vec_dot/q4_K/best/%d", n);
        run(name, ggml_vec_dot_q4_K_q8_K, quantize_row_q8_K, 144, 292, 256, dm, 2, 1, n);
        snprintf(name, sizeof name, "vec_dot/q6_K/best/%d", n);
        run(name, ggml_vec_dot_q6_K_q8_K, quantize_row_q8_K, 210, 292, 256, d6, 1, 1, n);
    }
    run("gemv/q4_1_576x1536/best", ggml_vec_dot_q4_1_q8_1, quantize_row_q8_1, 20, 36, 32, dm, 2, 576, 1536);
    run("gemv/q8_0_49152x576/best", ggml_vec_dot_q8_0_q8_0, quantize_row_q8_0, 34, 34, 32, d0, 1, 49152, 576);
    return 0;
}
