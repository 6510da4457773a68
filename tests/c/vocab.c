/* Vocabulary facts through the C API on SmolLM2-135M (the values llama.cpp's API gives, see
 * tests/data/reference/vocab_smollm2.json): the appended llmc_model_info fields (an older
 * struct filled only up to its size), token attributes, the end-of-generation list,
 * tokenizing with LLMC_TOKENIZE_* and detokenizing with LLMC_DETOKENIZE_SKIP_CONTROL,
 * llmc_generate stopping at an end-of-generation token other than the EOS, and misuse.
 *
 *   vocab MODEL.gguf */
#include <stdlib.h>

#include "check.h"

static const char CHAT[] = "<|im_start|>user\nName a <tool_call> colour.<|im_end|>\n"
                           "<|im_start|>assistant\nBlue.<|im_end|><|endoftext|>";

static bool collect(const char *piece, size_t len, void *user_data) {
    size_t *n = user_data;
    *n += len;
    (void)piece;
    return true;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODEL.gguf\n", argv[0]);
        return 2;
    }
    llmc_model *m = NULL;
    EXPECT_OK(llmc_model_load(argv[1], &m));
    if (!m) return check_summary("vocab");

    struct llmc_model_info info = {.struct_size = sizeof info};
    EXPECT_OK(llmc_model_get_info(m, &info));
    CHECK(info.bos_token == 1 && info.eos_token == 2 && info.pad_token == 2);
    CHECK(info.eot_token == 2); /* the EOS <|im_end|>; llama.cpp's hash order picks 0 */
    CHECK(info.n_params == 134515008u && info.tensor_bytes == 96576768u);
    CHECK(info.n_eog_tokens == 3 && !info.add_bos);

    /* The header before n_params: filled up to eos_token, nothing after it touched. */
    struct llmc_model_info old;
    memset(&old, 0xAB, sizeof old);
    old.struct_size = offsetof(struct llmc_model_info, n_params);
    EXPECT_OK(llmc_model_get_info(m, &old));
    CHECK(old.struct_size == offsetof(struct llmc_model_info, n_params));
    CHECK(old.eos_token == 2 && old.vocab_size == 49152);
    CHECK(old.n_params == 0xABABABABABABABABu);
    struct llmc_model_info bad = {.struct_size = offsetof(struct llmc_model_info, n_params) + 8};
    EXPECT(llmc_model_get_info(m, &bad), LLMC_ERR_INVALID_ARGUMENT, "struct_size");

    llmc_token eog[8];
    size_t n_eog = 0;
    EXPECT_OK(llmc_vocab_eog(m, NULL, 0, &n_eog));
    CHECK(n_eog == 3);
    EXPECT(llmc_vocab_eog(m, eog, 2, &n_eog), LLMC_ERR_BUFFER_TOO_SMALL, "tokens");
    EXPECT_OK(llmc_vocab_eog(m, eog, 8, &n_eog));
    CHECK(n_eog == 3 && eog[0] == 0 && eog[1] == 2 && eog[2] == 4);

    llmc_token_attr a = 0;
    EXPECT_OK(llmc_token_attributes(m, 0, &a));
    CHECK(a == (LLMC_TOKEN_ATTR_CONTROL | LLMC_TOKEN_ATTR_EOG));
    EXPECT_OK(llmc_token_attributes(m, 1, &a));
    CHECK(a == LLMC_TOKEN_ATTR_CONTROL);
    EXPECT_OK(llmc_token_attributes(m, 2, &a));
    CHECK(a == (LLMC_TOKEN_ATTR_CONTROL | LLMC_TOKEN_ATTR_EOG));
    EXPECT_OK(llmc_token_attributes(m, 1000, &a));
    CHECK(a == LLMC_TOKEN_ATTR_NORMAL);
    a = 77;
    EXPECT(llmc_token_attributes(m, 49152, &a), LLMC_ERR_TOKEN_OUT_OF_RANGE, "49152");
    EXPECT(llmc_token_attributes(m, 0, NULL), LLMC_ERR_NULL_ARGUMENT, "attr");
    EXPECT(llmc_token_attributes(NULL, 0, &a), LLMC_ERR_NULL_ARGUMENT, "model");
    CHECK(a == 77);

    /* Tokenize with options: the ids llama.cpp gives with special parsing; add_bos is false,
     * so ADD_SPECIAL adds nothing; without PARSE_SPECIAL control text is plain text. */
    llmc_token ids[64];
    size_t n = 0, n_plain = 0, n_special = 0;
    EXPECT_OK(llmc_tokenize_opts(m, CHAT, strlen(CHAT), LLMC_TOKENIZE_PARSE_SPECIAL, ids, 64, &n));
    CHECK(n == 22 && ids[0] == 1 && ids[12] == 2 && ids[21] == 0);
    llmc_token again[64];
    EXPECT_OK(llmc_tokenize_opts(m, CHAT, strlen(CHAT),
                                 LLMC_TOKENIZE_PARSE_SPECIAL | LLMC_TOKENIZE_ADD_SPECIAL, again, 64,
                                 &n_special));
    CHECK(n_special == n && memcmp(again, ids, n * sizeof *ids) == 0);
    EXPECT_OK(llmc_tokenize_opts(m, CHAT, strlen(CHAT), 0, NULL, 0, &n_plain));
    CHECK(n_plain > n);
    EXPECT(llmc_tokenize_opts(m, CHAT, strlen(CHAT), 4, ids, 64, &n), LLMC_ERR_INVALID_ARGUMENT,
           "flags 0x4");

    char text[256];
    size_t len = 0;
    EXPECT_OK(llmc_detokenize_opts(m, ids, n, 0, text, sizeof text, &len));
    CHECK(len == strlen(CHAT) && strcmp(text, CHAT) == 0);
    EXPECT_OK(llmc_detokenize_opts(m, ids, n, LLMC_DETOKENIZE_SKIP_CONTROL, text, sizeof text, &len));
    CHECK(strcmp(text, "user\nName a <tool_call> colour.\nassistant\nBlue.") == 0);
    EXPECT(llmc_detokenize_opts(m, ids, n, 2, text, sizeof text, &len), LLMC_ERR_INVALID_ARGUMENT,
           "flags 0x2");
    llmc_token far = 49152;
    EXPECT(llmc_detokenize_opts(m, &far, 1, 0, text, sizeof text, &len),
           LLMC_ERR_TOKEN_OUT_OF_RANGE, "49152");

    /* Forced to emit <|endoftext|> (an end-of-generation token, not the EOS), generation
     * stops there with LLMC_STOP_EOS and no text. */
    llmc_session *s = NULL;
    EXPECT_OK(llmc_session_new(m, NULL, &s));
    struct llmc_generate_params gp = llmc_generate_default_params();
    struct llmc_logit_bias force = {0, 100.0f};
    gp.logit_bias = &force;
    gp.n_logit_bias = 1;
    struct llmc_generation g = {.struct_size = sizeof g};
    size_t streamed = 0;
    EXPECT_OK(llmc_generate(s, ids, 5, &gp, collect, &streamed, &g));
    CHECK(g.stop_reason == LLMC_STOP_EOS && g.n_tokens == 1 && streamed == 0);
    llmc_session_free(s);

    llmc_model_free(m);
    return check_summary("vocab");
}
