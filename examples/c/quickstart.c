/* Quickstart: load a GGUF model, generate greedily after a prompt, stream the text to stdout
 * and report tokens/s on stderr.
 *
 *   cc quickstart.c $(pkg-config --cflags --libs llmcore) -o quickstart
 *   ./quickstart model.gguf "The capital of France is" 32 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llmcore.h>

/* Prints the status and the thread's last error message, then exits. */
static void die(const char *what, llmc_status status) {
    char msg[1024];
    llmc_last_error_message(msg, sizeof msg);
    fprintf(stderr, "%s failed (%s): %s\n", what, llmc_status_string(status), msg);
    exit(1);
}

static bool print_piece(const char *text, size_t len, void *user_data) {
    (void)user_data;
    fwrite(text, 1, len, stdout);
    fflush(stdout);
    return true;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL.gguf PROMPT [MAX_TOKENS]\n", argv[0]);
        return 2;
    }
    const char *prompt = argv[2];
    size_t max_tokens = argc > 3 ? strtoul(argv[3], NULL, 10) : 32;
    if (llmc_abi_version() != LLMC_ABI_VERSION) {
        fprintf(stderr, "libllmcore ABI %u, header ABI %u\n", llmc_abi_version(), LLMC_ABI_VERSION);
        return 1;
    }

    llmc_model *model = NULL;
    llmc_status st = llmc_model_load(argv[1], &model);
    if (st != LLMC_OK) die("llmc_model_load", st);

    /* Ask for the token count first, then tokenize into a buffer of that size. */
    size_t n_prompt = 0;
    st = llmc_tokenize(model, prompt, strlen(prompt), true, NULL, 0, &n_prompt);
    if (st != LLMC_OK) die("llmc_tokenize", st);
    llmc_token *tokens = malloc(sizeof(llmc_token) * (n_prompt ? n_prompt : 1));
    st = llmc_tokenize(model, prompt, strlen(prompt), true, tokens, n_prompt, &n_prompt);
    if (st != LLMC_OK) die("llmc_tokenize", st);

    struct llmc_session_params sp = llmc_session_default_params();
    sp.n_ctx = n_prompt + max_tokens;
    llmc_session *session = NULL;
    st = llmc_session_new(model, &sp, &session);
    if (st != LLMC_OK) die("llmc_session_new", st);

    struct llmc_generate_params gp = llmc_generate_default_params(); /* greedy */
    gp.max_tokens = max_tokens;
    struct llmc_generation result = {.struct_size = sizeof result};
    st = llmc_generate(session, tokens, n_prompt, &gp, print_piece, NULL, &result);
    if (st != LLMC_OK) die("llmc_generate", st);

    fprintf(stderr, "\n[%zu prompt tokens, %zu generated, %.1f tokens/s decode]\n",
            result.prompt_tokens, result.n_tokens,
            result.decode_steps / (result.decode_seconds > 0 ? result.decode_seconds : 1e-9));
    free(tokens);
    llmc_session_free(session);
    llmc_model_free(model);
    return 0;
}
