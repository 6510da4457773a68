/* Bad input through the llmcore C ABI: NULL for every pointer argument, a missing file, a
 * truncated and a corrupted GGUF, out-of-range token ids, too-small output buffers, context
 * overflow, invalid parameters, use after a failed load, bad schedule requests. Every call
 * must return the right status and leave a message naming the function and the problem;
 * outputs stay untouched on failure; nothing crashes. Run under valgrind memcheck by
 * scripts/test-bindings.sh.
 *
 * usage: bad_input MODEL.gguf SCRATCH_DIR */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "check.h"

#define STR2(x) #x
#define STR(x) STR2(x)

static char scratch_path[4096];

/* Writes `n` bytes of `data` to SCRATCH_DIR/name and returns the path (static buffer). */
static const char *write_file(const char *dir, const char *name, const void *data, size_t n) {
    snprintf(scratch_path, sizeof scratch_path, "%s/%s", dir, name);
    FILE *f = fopen(scratch_path, "wb");
    if (!f || fwrite(data, 1, n, f) != n) {
        fprintf(stderr, "cannot write %s\n", scratch_path);
        exit(2);
    }
    fclose(f);
    return scratch_path;
}

/* The first `n` bytes of a file (malloc'd). */
static unsigned char *read_prefix(const char *path, size_t n) {
    FILE *f = fopen(path, "rb");
    unsigned char *buf = malloc(n);
    if (!f || !buf || fread(buf, 1, n, f) != n) {
        fprintf(stderr, "cannot read %zu bytes of %s\n", n, path);
        exit(2);
    }
    fclose(f);
    return buf;
}

/* What the log callback saw: how many messages, and the last one with its level. */
typedef struct {
    int count;
    llmc_log_level level;
    char last[512];
    char last_error[512]; /* llmc_last_error_message() as the callback saw it */
} log_seen;

static void on_log(llmc_log_level level, const char *message, void *user_data) {
    log_seen *seen = user_data;
    seen->count++;
    seen->level = level;
    snprintf(seen->last, sizeof seen->last, "%s", message);
    llmc_last_error_message(seen->last_error, sizeof seen->last_error);
}

static void test_version_and_status(void) {
    CHECK(strcmp(llmc_version(), STR(LLMC_VERSION_MAJOR) "." STR(LLMC_VERSION_MINOR) "." STR(
                                     LLMC_VERSION_PATCH)) == 0);
    CHECK(llmc_abi_version() == LLMC_ABI_VERSION);
    CHECK(strncmp(llmc_status_string(LLMC_OK), "LLMC_OK:", 8) == 0);
    CHECK(strncmp(llmc_status_string(LLMC_ERR_FORMAT), "LLMC_ERR_FORMAT:", 16) == 0);
    CHECK(strncmp(llmc_status_string(LLMC_ERR_INTERNAL), "LLMC_ERR_INTERNAL:", 18) == 0);
    CHECK(strcmp(llmc_status_string(-9999), "unknown status") == 0);
    CHECK(strcmp(llmc_status_string(1), "unknown status") == 0);
    /* Frees of NULL do nothing. */
    llmc_model_free(NULL);
    llmc_session_free(NULL);
    llmc_tensors_free(NULL);
    EXPECT(llmc_log_set(NULL, NULL, 7), LLMC_ERR_INVALID_ARGUMENT, "log level 7");
    /* A failing call is logged at WARN with its error message; below the level, nothing. */
    log_seen seen = {0};
    EXPECT_OK(llmc_log_set(on_log, &seen, LLMC_LOG_WARN));
    EXPECT(llmc_session_clear(NULL), LLMC_ERR_NULL_ARGUMENT, "'session' is NULL");
    CHECK(seen.count == 1 && seen.level == LLMC_LOG_WARN);
    CHECK(strcmp(seen.last, "llmc_session_clear: 'session' is NULL") == 0);
    CHECK(strcmp(seen.last_error, seen.last) == 0);
    EXPECT_OK(llmc_log_set(on_log, &seen, LLMC_LOG_ERROR));
    EXPECT(llmc_session_clear(NULL), LLMC_ERR_NULL_ARGUMENT, "'session' is NULL");
    CHECK(seen.count == 1);
    EXPECT_OK(llmc_log_set(NULL, NULL, LLMC_LOG_DEBUG));
    EXPECT(llmc_session_clear(NULL), LLMC_ERR_NULL_ARGUMENT, "'session' is NULL");
    CHECK(seen.count == 1);
}

static void test_bad_files(const char *model_path, const char *dir) {
    llmc_model *m = NULL;
    EXPECT(llmc_model_load(NULL, &m), LLMC_ERR_NULL_ARGUMENT, "'path' is NULL");
    EXPECT(llmc_model_load(model_path, NULL), LLMC_ERR_NULL_ARGUMENT, "'out' is NULL");
    EXPECT(llmc_model_load("/nonexistent/dir/model.gguf", &m), LLMC_ERR_IO,
           "/nonexistent/dir/model.gguf");
    CHECK(m == NULL);
    /* Paths are bytes: a name that is not UTF-8 is looked up as it is. */
    const char not_utf8[] = {'/', 'n', 'o', 'n', 'e', '/', (char)0xff, 0};
    EXPECT(llmc_model_load(not_utf8, &m), LLMC_ERR_IO, "/none/");
    CHECK(m == NULL);
    /* A directory is named as one (mapping it used to fail with "No such device"). */
    EXPECT(llmc_model_load(dir, &m), LLMC_ERR_IO, "is a directory, not a file");
    CHECK(m == NULL);

    /* Truncated: the header of the real model cut inside its metadata, then inside its data. */
    const size_t head_len = 8 << 20; /* past the metadata, inside the tensor data */
    unsigned char *head = read_prefix(model_path, head_len);
    EXPECT(llmc_model_load(write_file(dir, "truncated-meta.gguf", head, 4096), &m),
           LLMC_ERR_FORMAT, "GGUF");
    CHECK(m == NULL);
    EXPECT(llmc_model_load(write_file(dir, "truncated-data.gguf", head, head_len), &m),
           LLMC_ERR_FORMAT, "GGUF");
    CHECK(m == NULL);
    EXPECT(llmc_model_load(write_file(dir, "empty.gguf", head, 0), &m), LLMC_ERR_FORMAT, "GGUF");
    /* Corrupted: wrong magic; then a tensor count larger than the file could hold. */
    head[0] = 'X';
    EXPECT(llmc_model_load(write_file(dir, "bad-magic.gguf", head, 4096), &m), LLMC_ERR_FORMAT,
           "offset 0");
    head[0] = 'G';
    memset(head + 8, 0xff, 8);
    EXPECT(llmc_model_load(write_file(dir, "bad-count.gguf", head, head_len), &m),
           LLMC_ERR_FORMAT, "GGUF");
    CHECK(m == NULL);
    free(head);

    /* Use after a failed load: the handle stayed NULL and every use says so. */
    llmc_session *s = NULL;
    EXPECT(llmc_session_new(m, NULL, &s), LLMC_ERR_NULL_ARGUMENT, "'model' is NULL");
    CHECK(s == NULL);
    size_t n = 0;
    EXPECT(llmc_tokenize(m, "hi", 2, true, NULL, 0, &n), LLMC_ERR_NULL_ARGUMENT, "'model'");
    struct llmc_model_info info = {.struct_size = sizeof info};
    EXPECT(llmc_model_get_info(m, &info), LLMC_ERR_NULL_ARGUMENT, "'model'");
    llmc_model_free(m);

    /* Safetensors: a valid two-tensor file, then truncated and corrupted copies. */
    const char hdr[] = "{\"__metadata__\":{\"format\":\"pt\"},\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
                       "\"b\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[24,32]}}";
    size_t hlen = sizeof hdr - 1;
    unsigned char file[512];
    uint64_t hl = hlen;
    for (int i = 0; i < 8; i++) file[i] = (unsigned char)(hl >> (8 * i));
    memcpy(file + 8, hdr, hlen);
    float w[6] = {1, 2, 3, 4, 5, 6};
    int64_t b = -7;
    memcpy(file + 8 + hlen, w, sizeof w);
    memcpy(file + 8 + hlen + 24, &b, 8);
    size_t flen = 8 + hlen + 32;
    llmc_tensors *t = NULL;
    EXPECT(llmc_tensors_open(NULL, &t), LLMC_ERR_NULL_ARGUMENT, "'path'");
    EXPECT(llmc_tensors_open("/nonexistent.safetensors", &t), LLMC_ERR_IO, "nonexistent");
    EXPECT(llmc_tensors_open(write_file(dir, "short.safetensors", file, flen - 4), &t),
           LLMC_ERR_FORMAT, "safetensors");
    CHECK(t == NULL);
    file[8] = '[';
    EXPECT(llmc_tensors_open(write_file(dir, "bad.safetensors", file, flen), &t),
           LLMC_ERR_FORMAT, "safetensors");
    file[8] = '{';
    const char *st = write_file(dir, "good.safetensors", file, flen);
    EXPECT(llmc_tensors_open(st, NULL), LLMC_ERR_NULL_ARGUMENT, "'out'");
    EXPECT_OK(llmc_tensors_open(st, &t));
    EXPECT(llmc_tensors_count(NULL, &n), LLMC_ERR_NULL_ARGUMENT, "'tensors'");
    EXPECT(llmc_tensors_count(t, NULL), LLMC_ERR_NULL_ARGUMENT, "'count'");
    EXPECT_OK(llmc_tensors_count(t, &n));
    CHECK(n == 2);
    char name[8] = "zzzzzzz";
    EXPECT(llmc_tensors_name(NULL, 0, name, sizeof name, &n), LLMC_ERR_NULL_ARGUMENT,
           "'tensors'");
    EXPECT(llmc_tensors_name(t, 0, NULL, 4, &n), LLMC_ERR_NULL_ARGUMENT, "'buf'");
    EXPECT(llmc_tensors_name(t, 0, name, sizeof name, NULL), LLMC_ERR_NULL_ARGUMENT, "'n_out'");
    EXPECT(llmc_tensors_name(t, 2, name, sizeof name, &n), LLMC_ERR_INVALID_ARGUMENT,
           "index 2 of 2");
    EXPECT(llmc_tensors_name(t, 0, name, 1, &n), LLMC_ERR_BUFFER_TOO_SMALL, "'buf' holds 1");
    CHECK(strcmp(name, "zzzzzzz") == 0);
    EXPECT_OK(llmc_tensors_name(t, 0, name, sizeof name, &n));
    CHECK(n == 1 && strcmp(name, "w") == 0);
    EXPECT(llmc_tensors_meta_value(NULL, "format", name, sizeof name, &n), LLMC_ERR_NULL_ARGUMENT,
           "'tensors'");
    EXPECT(llmc_tensors_meta_value(t, NULL, name, sizeof name, &n), LLMC_ERR_NULL_ARGUMENT,
           "'key'");
    EXPECT(llmc_tensors_meta_value(t, "nope", name, sizeof name, &n), LLMC_ERR_MISSING_METADATA,
           "nope");
    EXPECT_OK(llmc_tensors_meta_value(t, "format", name, sizeof name, &n));
    CHECK(n == 2 && strcmp(name, "pt") == 0);
    struct llmc_tensor_info ti = {.struct_size = sizeof ti};
    EXPECT(llmc_tensors_info(NULL, "w", &ti), LLMC_ERR_NULL_ARGUMENT, "'tensors'");
    EXPECT(llmc_tensors_info(t, NULL, &ti), LLMC_ERR_NULL_ARGUMENT, "'name'");
    EXPECT(llmc_tensors_info(t, "w", NULL), LLMC_ERR_NULL_ARGUMENT, "'info'");
    EXPECT(llmc_tensors_info(t, "nope", &ti), LLMC_ERR_MISSING_TENSOR, "nope");
    ti.struct_size = 3;
    EXPECT(llmc_tensors_info(t, "w", &ti), LLMC_ERR_INVALID_ARGUMENT, "struct_size is 3");
    ti.struct_size = sizeof ti;
    EXPECT_OK(llmc_tensors_info(t, "w", &ti));
    CHECK(strcmp(ti.dtype, "F32") == 0 && ti.element_size == 4 && ti.n_dims == 2);
    CHECK(ti.shape[0] == 2 && ti.shape[1] == 3 && ti.shape[2] == 0 && ti.n_bytes == 24);
    float got[6] = {0};
    EXPECT(llmc_tensors_read(NULL, "w", got, sizeof got), LLMC_ERR_NULL_ARGUMENT, "'tensors'");
    EXPECT(llmc_tensors_read(t, NULL, got, sizeof got), LLMC_ERR_NULL_ARGUMENT, "'name'");
    EXPECT(llmc_tensors_read(t, "w", NULL, sizeof got), LLMC_ERR_NULL_ARGUMENT, "'buf'");
    EXPECT(llmc_tensors_read(t, "w", got, 23), LLMC_ERR_BUFFER_TOO_SMALL, "holds 23 bytes");
    CHECK(got[0] == 0);
    EXPECT_OK(llmc_tensors_read(t, "w", got, sizeof got));
    CHECK(memcmp(got, w, sizeof w) == 0);
    int64_t gb = 0;
    EXPECT_OK(llmc_tensors_read(t, "b", &gb, sizeof gb));
    CHECK(gb == -7);
    llmc_tensors_free(t);
}

/* Counts progress calls; cancels after the first when asked to. */
static bool on_progress(size_t done, size_t total, void *user_data) {
    int *calls = user_data;
    (*calls)++;
    (void)done;
    (void)total;
    return *calls < 1000 ? calls[1] == 0 : false;
}

static void test_model_calls(const char *model_path) {
    llmc_model *m = NULL;
    log_seen seen = {0};
    EXPECT_OK(llmc_log_set(on_log, &seen, LLMC_LOG_INFO));
    EXPECT_OK(llmc_model_load(model_path, &m));
    EXPECT_OK(llmc_log_set(NULL, NULL, LLMC_LOG_DEBUG));
    CHECK(seen.count == 1 && seen.level == LLMC_LOG_INFO && strstr(seen.last, "loaded ") &&
          strstr(seen.last, "30 layers"));
    if (!m) return;
    struct llmc_model_info info = {.struct_size = sizeof info};
    EXPECT(llmc_model_get_info(m, NULL), LLMC_ERR_NULL_ARGUMENT, "'info'");
    info.struct_size = 0;
    EXPECT(llmc_model_get_info(m, &info), LLMC_ERR_INVALID_ARGUMENT, "struct_size is 0");
    info.struct_size = sizeof info;
    EXPECT_OK(llmc_model_get_info(m, &info));
    CHECK(strcmp(info.arch, "llama") == 0 && info.n_layer == 30 && info.d_model == 576);
    CHECK(info.n_head == 9 && info.n_kv_head == 3 && info.head_dim == 64);
    CHECK(info.vocab_size == 49152 && info.eos_token >= 0);
    const uint32_t vocab = info.vocab_size;

    /* Metadata. */
    size_t n = 0;
    EXPECT(llmc_model_meta_count(NULL, &n), LLMC_ERR_NULL_ARGUMENT, "'model'");
    EXPECT(llmc_model_meta_count(m, NULL), LLMC_ERR_NULL_ARGUMENT, "'count'");
    EXPECT_OK(llmc_model_meta_count(m, &n));
    CHECK(n > 10);
    char buf[256];
    EXPECT(llmc_model_meta_key(NULL, 0, buf, sizeof buf, &n), LLMC_ERR_NULL_ARGUMENT, "'model'");
    EXPECT(llmc_model_meta_key(m, 100000, buf, sizeof buf, &n), LLMC_ERR_INVALID_ARGUMENT,
           "index 100000");
    EXPECT_OK(llmc_model_meta_key(m, 0, NULL, 0, &n));
    CHECK(n > 0);
    EXPECT(llmc_model_meta_value(m, NULL, buf, sizeof buf, &n), LLMC_ERR_NULL_ARGUMENT, "'key'");
    EXPECT(llmc_model_meta_value(NULL, "general.architecture", buf, sizeof buf, &n),
           LLMC_ERR_NULL_ARGUMENT, "'model'");
    EXPECT(llmc_model_meta_value(m, "general.architecture", NULL, 5, &n), LLMC_ERR_NULL_ARGUMENT,
           "'buf'");
    EXPECT(llmc_model_meta_value(m, "general.architecture", buf, sizeof buf, NULL),
           LLMC_ERR_NULL_ARGUMENT, "'n_out'");
    EXPECT(llmc_model_meta_value(m, "no.such.key", buf, sizeof buf, &n),
           LLMC_ERR_MISSING_METADATA, "no.such.key");
    strcpy(buf, "untouched");
    EXPECT(llmc_model_meta_value(m, "general.architecture", buf, 5, &n),
           LLMC_ERR_BUFFER_TOO_SMALL, "6 needed");
    CHECK(strcmp(buf, "untouched") == 0);
    EXPECT_OK(llmc_model_meta_value(m, "general.architecture", buf, sizeof buf, &n));
    CHECK(n == 5 && strcmp(buf, "llama") == 0);
    EXPECT_OK(llmc_model_meta_value(m, "llama.block_count", buf, sizeof buf, &n));
    CHECK(strcmp(buf, "30") == 0);

    /* Tokenizer. */
    const char *text = "The capital of France is";
    llmc_token toks[64];
    size_t nt = 0;
    EXPECT(llmc_tokenize(NULL, text, strlen(text), true, toks, 64, &nt), LLMC_ERR_NULL_ARGUMENT,
           "'model'");
    EXPECT(llmc_tokenize(m, NULL, 3, true, toks, 64, &nt), LLMC_ERR_NULL_ARGUMENT, "'text'");
    EXPECT(llmc_tokenize(m, text, strlen(text), true, NULL, 64, &nt), LLMC_ERR_NULL_ARGUMENT,
           "'tokens'");
    EXPECT(llmc_tokenize(m, text, strlen(text), true, toks, 64, NULL), LLMC_ERR_NULL_ARGUMENT,
           "'n_tokens'");
    EXPECT(llmc_tokenize(m, "\xc3\x28", 2, true, toks, 64, &nt), LLMC_ERR_INVALID_ARGUMENT,
           "not UTF-8");
    EXPECT_OK(llmc_tokenize(m, NULL, 0, true, toks, 64, &nt));
    CHECK(nt == 0);
    EXPECT_OK(llmc_tokenize(m, text, strlen(text), true, NULL, 0, &nt));
    size_t needed = nt;
    CHECK(needed >= 4);
    toks[0] = 12345;
    nt = 777;
    EXPECT(llmc_tokenize(m, text, strlen(text), true, toks, 2, &nt), LLMC_ERR_BUFFER_TOO_SMALL,
           "holds 2 elements");
    CHECK(toks[0] == 12345 && nt == 777);
    EXPECT_OK(llmc_tokenize(m, text, strlen(text), true, toks, 64, &nt));
    CHECK(nt == needed);
    for (size_t i = nt; i < 64; i++) toks[i] = toks[i % nt]; /* valid ids for longer batches */
    char out[256];
    EXPECT(llmc_detokenize(NULL, toks, nt, out, sizeof out, &n), LLMC_ERR_NULL_ARGUMENT,
           "'model'");
    EXPECT(llmc_detokenize(m, NULL, nt, out, sizeof out, &n), LLMC_ERR_NULL_ARGUMENT, "'tokens'");
    EXPECT(llmc_detokenize(m, toks, nt, NULL, 8, &n), LLMC_ERR_NULL_ARGUMENT, "'buf'");
    EXPECT(llmc_detokenize(m, toks, nt, out, sizeof out, NULL), LLMC_ERR_NULL_ARGUMENT, "'n_out'");
    EXPECT(llmc_detokenize(m, toks, nt, out, 4, &n), LLMC_ERR_BUFFER_TOO_SMALL, "'buf' holds 4");
    EXPECT_OK(llmc_detokenize(m, toks, nt, out, sizeof out, &n));
    CHECK(n == strlen(text) && strcmp(out, text) == 0);
    llmc_token bad_tok[2] = {1, vocab};
    EXPECT(llmc_detokenize(m, bad_tok, 2, out, sizeof out, &n), LLMC_ERR_TOKEN_OUT_OF_RANGE,
           "token id 49152");
    EXPECT(llmc_token_to_piece(m, 0xffffffffu, out, sizeof out, &n), LLMC_ERR_TOKEN_OUT_OF_RANGE,
           "4294967295");
    EXPECT(llmc_token_to_piece(NULL, 1, out, sizeof out, &n), LLMC_ERR_NULL_ARGUMENT, "'model'");
    EXPECT(llmc_token_to_piece(m, 1, out, sizeof out, NULL), LLMC_ERR_NULL_ARGUMENT, "'n_out'");
    EXPECT_OK(llmc_token_to_piece(m, toks[0], out, sizeof out, &n));
    CHECK(n > 0 && strncmp(text, out, n) == 0);
    struct llmc_chat_message msgs[2] = {{"user", "Hi"}, {NULL, "x"}};
    EXPECT(llmc_apply_chat_template(NULL, msgs, 1, true, out, sizeof out, &n),
           LLMC_ERR_NULL_ARGUMENT, "'model'");
    EXPECT(llmc_apply_chat_template(m, NULL, 1, true, out, sizeof out, &n), LLMC_ERR_NULL_ARGUMENT,
           "'messages'");
    EXPECT(llmc_apply_chat_template(m, msgs, 2, true, out, sizeof out, &n),
           LLMC_ERR_NULL_ARGUMENT, "'messages[1].role'");
    EXPECT(llmc_apply_chat_template(m, msgs, 1, true, out, sizeof out, NULL),
           LLMC_ERR_NULL_ARGUMENT, "'n_out'");
    EXPECT_OK(llmc_apply_chat_template(m, msgs, 1, true, out, sizeof out, &n));
    CHECK(strstr(out, "Hi") != NULL);

    /* Sessions. */
    llmc_session *s = NULL;
    struct llmc_session_params sp = llmc_session_default_params();
    EXPECT(llmc_session_new(m, &sp, NULL), LLMC_ERR_NULL_ARGUMENT, "'out'");
    sp.numerics = 9;
    EXPECT(llmc_session_new(m, &sp, &s), LLMC_ERR_INVALID_ARGUMENT, "numerics 9");
    sp.numerics = LLMC_NUMERICS_FAST;
    sp.n_ctx = info.context_length + 1;
    EXPECT(llmc_session_new(m, &sp, &s), LLMC_ERR_INVALID_ARGUMENT, "exceeds");
    sp.n_ctx = 8;
    sp.kv_type = 7;
    EXPECT(llmc_session_new(m, &sp, &s), LLMC_ERR_INVALID_ARGUMENT, "kv_type 7");
    sp.struct_size = sizeof sp + 8;
    EXPECT(llmc_session_new(m, &sp, &s), LLMC_ERR_INVALID_ARGUMENT, "struct_size");
    CHECK(s == NULL);
    /* A struct from the header before kv_type was appended: its size stops there, the rest is
     * never read and the session gets the default KV type. */
    sp.struct_size = offsetof(struct llmc_session_params, kv_type);
    EXPECT_OK(llmc_session_new(m, &sp, &s));
    llmc_session_free(s);
    s = NULL;
    sp = llmc_session_default_params();
    sp.n_ctx = 8;
    EXPECT_OK(llmc_session_new(m, &sp, &s));
    if (!s) {
        llmc_model_free(m);
        return;
    }
    /* The model handle may go while its session lives. */
    llmc_model_free(m);
    m = NULL;
    EXPECT_OK(llmc_model_load(model_path, &m));

    size_t len = 99;
    EXPECT(llmc_session_len(NULL, &len), LLMC_ERR_NULL_ARGUMENT, "'session'");
    EXPECT(llmc_session_len(s, NULL), LLMC_ERR_NULL_ARGUMENT, "'len'");
    EXPECT(llmc_session_capacity(NULL, &len), LLMC_ERR_NULL_ARGUMENT, "'session'");
    EXPECT(llmc_session_capacity(s, NULL), LLMC_ERR_NULL_ARGUMENT, "'capacity'");
    EXPECT_OK(llmc_session_capacity(s, &len));
    CHECK(len == 8);

    float *logits = malloc(sizeof(float) * vocab * 2);
    logits[0] = 42.0f;
    EXPECT(llmc_session_eval(NULL, toks, 1, logits, vocab), LLMC_ERR_NULL_ARGUMENT, "'session'");
    EXPECT(llmc_session_eval(s, NULL, 1, logits, vocab), LLMC_ERR_NULL_ARGUMENT, "'tokens'");
    EXPECT(llmc_session_eval(s, toks, 1, NULL, vocab), LLMC_ERR_NULL_ARGUMENT, "'logits'");
    EXPECT(llmc_session_eval(s, toks, 0, logits, vocab), LLMC_ERR_INVALID_ARGUMENT, "empty batch");
    EXPECT(llmc_session_eval(s, bad_tok, 2, logits, vocab), LLMC_ERR_TOKEN_OUT_OF_RANGE,
           "token id 49152 is out of range");
    EXPECT(llmc_session_eval(s, toks, 2, logits, vocab - 1), LLMC_ERR_BUFFER_TOO_SMALL,
           "49152 needed");
    EXPECT(llmc_session_eval(s, toks, 9, logits, vocab), LLMC_ERR_CONTEXT_OVERFLOW,
           "9 positions needed, 8 available");
    CHECK(logits[0] == 42.0f);
    EXPECT_OK(llmc_session_len(s, &len));
    CHECK(len == 0);
    /* Prefill 5 without logits, then overflow by one. */
    EXPECT_OK(llmc_session_eval(s, toks, 5, NULL, 0));
    EXPECT(llmc_session_eval(s, toks, 4, logits, vocab), LLMC_ERR_CONTEXT_OVERFLOW,
           "9 positions needed");
    EXPECT_OK(llmc_session_len(s, &len));
    CHECK(len == 5 && logits[0] == 42.0f);
    EXPECT(llmc_session_truncate(NULL, 1), LLMC_ERR_NULL_ARGUMENT, "'session'");
    EXPECT(llmc_session_truncate(s, 6), LLMC_ERR_INVALID_ARGUMENT, "holds 5");
    size_t keep[2] = {3, 3};
    EXPECT(llmc_session_compact(NULL, 1, keep, 1), LLMC_ERR_NULL_ARGUMENT, "'session'");
    EXPECT(llmc_session_compact(s, 1, NULL, 1), LLMC_ERR_NULL_ARGUMENT, "'keep'");
    EXPECT(llmc_session_compact(s, 1, keep, 2), LLMC_ERR_INVALID_ARGUMENT, "slot 3");
    EXPECT(llmc_session_compact(s, 6, keep, 0), LLMC_ERR_INVALID_ARGUMENT, "base 6");
    EXPECT_OK(llmc_session_compact(s, 2, keep, 1));
    EXPECT_OK(llmc_session_len(s, &len));
    CHECK(len == 3);
    EXPECT(llmc_session_clear(NULL), LLMC_ERR_NULL_ARGUMENT, "'session'");
    EXPECT_OK(llmc_session_clear(s));

    /* Batches with explicit positions and a mask. */
    struct llmc_batch b = llmc_batch_default_params();
    EXPECT(llmc_session_eval_batch(s, NULL, logits, vocab), LLMC_ERR_NULL_ARGUMENT, "'batch'");
    EXPECT(llmc_session_eval_batch(NULL, &b, logits, vocab), LLMC_ERR_NULL_ARGUMENT, "'session'");
    b.n_tokens = 2;
    EXPECT(llmc_session_eval_batch(s, &b, logits, vocab), LLMC_ERR_NULL_ARGUMENT,
           "'batch->tokens'");
    b.tokens = toks;
    b.logits = 7;
    EXPECT(llmc_session_eval_batch(s, &b, logits, vocab), LLMC_ERR_INVALID_ARGUMENT,
           "batch->logits 7");
    b.logits = LLMC_LOGITS_ROWS;
    b.n_rows = 1;
    EXPECT(llmc_session_eval_batch(s, &b, logits, vocab), LLMC_ERR_NULL_ARGUMENT,
           "'batch->rows'");
    size_t rows[1] = {2};
    b.rows = rows;
    EXPECT(llmc_session_eval_batch(s, &b, logits, vocab), LLMC_ERR_INVALID_ARGUMENT,
           "logit row 2");
    b.logits = LLMC_LOGITS_ALL;
    EXPECT(llmc_session_eval_batch(s, &b, logits, vocab), LLMC_ERR_BUFFER_TOO_SMALL,
           "98304 needed");
    const uint8_t empty_row_mask[4] = {1, 0, 0, 0};
    b.mask = empty_row_mask;
    EXPECT(llmc_session_eval_batch(s, &b, logits, 2 * vocab), LLMC_ERR_INVALID_ARGUMENT,
           "mask row 1");
    b.struct_size = 1;
    EXPECT(llmc_session_eval_batch(s, &b, logits, 2 * vocab), LLMC_ERR_INVALID_ARGUMENT,
           "struct_size is 1");
    CHECK(logits[0] == 42.0f);
    /* A causal mask spelled out gives the same logits as the implicit one. */
    const uint8_t causal[4] = {1, 0, 1, 1};
    b = llmc_batch_default_params();
    b.tokens = toks;
    b.n_tokens = 2;
    b.logits = LLMC_LOGITS_ALL;
    EXPECT_OK(llmc_session_eval_batch(s, &b, logits, 2 * vocab));
    float *again = malloc(sizeof(float) * vocab * 2);
    EXPECT_OK(llmc_session_clear(s));
    b.mask = causal;
    uint32_t pos[2] = {0, 1};
    b.positions = pos;
    EXPECT_OK(llmc_session_eval_batch(s, &b, again, 2 * vocab));
    CHECK(memcmp(logits, again, sizeof(float) * vocab * 2) == 0);
    free(again);
    EXPECT_OK(llmc_session_clear(s));

    /* Generation. */
    struct llmc_generate_params gp = llmc_generate_default_params();
    struct llmc_generation g = {.struct_size = sizeof g};
    gp.max_tokens = 1;
    EXPECT(llmc_generate(NULL, toks, 1, &gp, NULL, NULL, &g), LLMC_ERR_NULL_ARGUMENT,
           "'session'");
    EXPECT(llmc_generate(s, NULL, 1, &gp, NULL, NULL, &g), LLMC_ERR_NULL_ARGUMENT, "'prompt'");
    EXPECT(llmc_generate(s, toks, 0, &gp, NULL, NULL, &g), LLMC_ERR_INVALID_ARGUMENT, "empty");
    EXPECT(llmc_generate(s, bad_tok, 2, &gp, NULL, NULL, &g), LLMC_ERR_TOKEN_OUT_OF_RANGE,
           "49152");
    gp.top_p = 0;
    EXPECT(llmc_generate(s, toks, 1, &gp, NULL, NULL, &g), LLMC_ERR_INVALID_ARGUMENT, "top_p");
    gp.top_p = 0.9f;
    /* Each setting out of range is named alone, as its field, with its value. */
    gp.temperature = -1;
    EXPECT(llmc_generate(s, toks, 1, &gp, NULL, NULL, &g), LLMC_ERR_INVALID_ARGUMENT,
           "params->temperature must be a finite number >= 0 (0 = greedy), got -1");
    gp.temperature = NAN;
    EXPECT(llmc_generate(s, toks, 1, &gp, NULL, NULL, &g), LLMC_ERR_INVALID_ARGUMENT,
           "params->temperature must be a finite number >= 0 (0 = greedy), got NaN");
    gp.temperature = 0;
    gp.repeat_penalty = 0;
    EXPECT(llmc_generate(s, toks, 1, &gp, NULL, NULL, &g), LLMC_ERR_INVALID_ARGUMENT,
           "params->repeat_penalty must be a finite number > 0 (1 = off), got 0");
    gp.repeat_penalty = 1;
    const char *empty_stop[1] = {""};
    gp.stop = empty_stop;
    gp.n_stop = 1;
    EXPECT(llmc_generate(s, toks, 1, &gp, NULL, NULL, &g), LLMC_ERR_INVALID_ARGUMENT,
           "params->stop[0] must be a non-empty string");
    gp.stop = NULL;
    EXPECT(llmc_generate(s, toks, 1, &gp, NULL, NULL, &g), LLMC_ERR_NULL_ARGUMENT,
           "'params->stop'");
    const char *stops[1] = {NULL};
    gp.stop = stops;
    EXPECT(llmc_generate(s, toks, 1, &gp, NULL, NULL, &g), LLMC_ERR_NULL_ARGUMENT,
           "'params->stop[0]'");
    gp.n_stop = 0;
    g.struct_size = 1;
    EXPECT(llmc_generate(s, toks, 1, &gp, NULL, NULL, &g), LLMC_ERR_INVALID_ARGUMENT,
           "'result'->struct_size");
    g.struct_size = sizeof g;
    EXPECT(llmc_generate(s, toks, 9, &gp, NULL, NULL, &g), LLMC_ERR_CONTEXT_OVERFLOW, "9");
    EXPECT_OK(llmc_generate(s, toks, 2, &gp, NULL, NULL, &g));
    CHECK(g.n_tokens == 1 && g.prompt_tokens == 2 && g.stop_reason == LLMC_STOP_MAX_TOKENS);

    /* Perplexity and log-likelihood. */
    struct llmc_perplexity_params pp = llmc_perplexity_default_params();
    struct llmc_perplexity_result pr = {.struct_size = sizeof pr};
    pp.ctx = 4;
    EXPECT(llmc_perplexity(NULL, toks, nt, &pp, NULL, NULL, &pr), LLMC_ERR_NULL_ARGUMENT,
           "'model'");
    EXPECT(llmc_perplexity(m, NULL, nt, &pp, NULL, NULL, &pr), LLMC_ERR_NULL_ARGUMENT, "'tokens'");
    EXPECT(llmc_perplexity(m, toks, nt, &pp, NULL, NULL, NULL), LLMC_ERR_NULL_ARGUMENT,
           "'result'");
    EXPECT(llmc_perplexity(m, toks, 3, &pp, NULL, NULL, &pr), LLMC_ERR_INVALID_ARGUMENT,
           "less than one window");
    pp.score = 5;
    EXPECT(llmc_perplexity(m, toks, nt, &pp, NULL, NULL, &pr), LLMC_ERR_INVALID_ARGUMENT,
           "params->score 5");
    pp.score = LLMC_SCORE_ALL;
    int calls[2] = {0, 1};
    pr.ppl = -1;
    EXPECT(llmc_perplexity(m, toks, nt, &pp, on_progress, calls, &pr), LLMC_ERR_CANCELLED,
           "cancelled");
    CHECK(calls[0] == 1 && pr.ppl == -1);
    calls[0] = calls[1] = 0;
    EXPECT_OK(llmc_perplexity(m, toks, 4, &pp, on_progress, calls, &pr));
    CHECK(calls[0] == 1 && pr.windows == 1 && pr.tokens_scored == 3 && pr.ppl > 1.0);
    double lp = 1.0;
    bool greedy = false;
    EXPECT(llmc_loglikelihood(NULL, toks, 2, toks + 2, 1, 0, &lp, &greedy),
           LLMC_ERR_NULL_ARGUMENT, "'model'");
    EXPECT(llmc_loglikelihood(m, NULL, 2, toks + 2, 1, 0, &lp, &greedy), LLMC_ERR_NULL_ARGUMENT,
           "'context'");
    EXPECT(llmc_loglikelihood(m, toks, 2, NULL, 1, 0, &lp, &greedy), LLMC_ERR_NULL_ARGUMENT,
           "'continuation'");
    EXPECT(llmc_loglikelihood(m, toks, 2, toks + 2, 1, 0, NULL, &greedy), LLMC_ERR_NULL_ARGUMENT,
           "'logprob'");
    EXPECT(llmc_loglikelihood(m, toks, 2, toks + 2, 1, 0, &lp, NULL), LLMC_ERR_NULL_ARGUMENT,
           "'is_greedy'");
    EXPECT(llmc_loglikelihood(m, toks, 2, bad_tok, 2, 0, &lp, &greedy),
           LLMC_ERR_TOKEN_OUT_OF_RANGE, "49152");
    EXPECT(llmc_loglikelihood(m, toks, 2, toks + 2, 1, 3, &lp, &greedy),
           LLMC_ERR_INVALID_ARGUMENT, "numerics 3");
    CHECK(lp == 1.0);
    EXPECT_OK(llmc_loglikelihood(m, toks, 2, toks + 2, 1, LLMC_NUMERICS_FAST, &lp, &greedy));
    CHECK(lp < 0.0);

    /* The last error message: its length, and a cut copy. */
    EXPECT(llmc_session_truncate(s, 100), LLMC_ERR_INVALID_ARGUMENT, "truncate");
    size_t full = llmc_last_error_message(NULL, 0);
    char small[6] = "abcde";
    CHECK(llmc_last_error_message(small, sizeof small) == full && full > 10);
    CHECK(strcmp(small, "llmc_") == 0);

    free(logits);
    llmc_session_free(s);
    llmc_model_free(m);
}

/* The Lynx planner: NULL arguments, text that is not JSON, a bad layout, a budget no schedule
 * meets, a too-small buffer (left untouched), then a plan through a size query. */
static void test_schedule(void) {
#define REQ(extra)                                                                            \
    "{\"model\": \"gpt-1.3b\", \"micro_batch\": 1, \"global_batch\": 8" extra "}"
    const char *ok = REQ(", \"tp\": 2, \"pp\": 2, \"policy\": \"selective\"");
    char small[32] = "untouched";
    size_t n = 12345;
    EXPECT(llmc_schedule(NULL, small, sizeof small, &n), LLMC_ERR_NULL_ARGUMENT,
           "'request_json' is NULL");
    EXPECT(llmc_schedule(ok, NULL, 16, &n), LLMC_ERR_NULL_ARGUMENT, "'buf' is NULL");
    EXPECT(llmc_schedule(ok, small, sizeof small, NULL), LLMC_ERR_NULL_ARGUMENT,
           "'n_out' is NULL");
    EXPECT(llmc_schedule("{\"model\": \"gpt-1.3b\",}", small, sizeof small, &n), LLMC_ERR_FORMAT,
           "malformed JSON at byte offset 21");
    EXPECT(llmc_schedule("\xc3\x28", small, sizeof small, &n), LLMC_ERR_INVALID_ARGUMENT,
           "'request_json' is not UTF-8");
    EXPECT(llmc_schedule(REQ(", \"tp\": 3"), small, sizeof small, &n), LLMC_ERR_INVALID_ARGUMENT,
           "does not divide the 16 attention heads");
    EXPECT(llmc_schedule(REQ(", \"tp\": 0"), small, sizeof small, &n), LLMC_ERR_INVALID_ARGUMENT,
           "field 'tp' must be a whole number");
    EXPECT(llmc_schedule(REQ(", \"pp\": 5"), small, sizeof small, &n), LLMC_ERR_INVALID_ARGUMENT,
           "pp=5 does not divide the 24 layers");
    EXPECT(llmc_schedule(REQ(", \"policy\": \"fastest\""), small, sizeof small, &n),
           LLMC_ERR_INVALID_ARGUMENT, "unknown policy 'fastest'");
    EXPECT(llmc_schedule(REQ(", \"memory_gb\": 1, \"policy\": \"opt\""), small, sizeof small, &n),
           LLMC_ERR_INVALID_ARGUMENT, "the leanest schedule needs");
    EXPECT(llmc_schedule(ok, small, sizeof small, &n), LLMC_ERR_BUFFER_TOO_SMALL, "'buf' holds 32");
    CHECK(strcmp(small, "untouched") == 0 && n == 12345);

    EXPECT_OK(llmc_schedule(ok, NULL, 0, &n));
    size_t needed = n;
    CHECK(needed > 100);
    char *plan = malloc(needed + 1);
    CHECK(plan != NULL);
    if (!plan) return;
    EXPECT(llmc_schedule(ok, plan, needed, &n), LLMC_ERR_BUFFER_TOO_SMALL, "needed");
    EXPECT_OK(llmc_schedule(ok, plan, needed + 1, &n));
    CHECK(n == needed && strlen(plan) == needed);
    CHECK(plan[0] == '{' && strstr(plan, "\"policy\":\"selective\"") &&
          strstr(plan, "\"stages\":[") && strstr(plan, "\"iteration_s\":"));
    free(plan);
#undef REQ
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s MODEL.gguf SCRATCH_DIR\n", argv[0]);
        return 2;
    }
    test_version_and_status();
    test_schedule();
    test_bad_files(argv[1], argv[2]);
    test_model_calls(argv[1]);
    return check_summary("bad_input");
}
