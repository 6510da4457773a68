// Quickstart (C++): load a GGUF model, generate greedily after a prompt, stream the text to
// stdout and report tokens/s on stderr.
//
//   c++ -std=c++17 quickstart.cpp $(pkg-config --cflags --libs llmcore) -o quickstart
//   ./quickstart model.gguf "The capital of France is" 32
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include <llmcore.hpp>

int main(int argc, char **argv) {
    if (argc < 3) {
        std::cerr << "usage: " << argv[0] << " MODEL.gguf PROMPT [MAX_TOKENS]\n";
        return 2;
    }
    try {
        llmcore::Model model = llmcore::Model::load(argv[1]);
        std::vector<llmcore::Token> prompt = model.tokenize(argv[2]);
        llmcore::GenerateParams params; // greedy
        params.c.max_tokens = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 32;
        llmcore::Session session(model, prompt.size() + params.c.max_tokens);
        llmcore::Generation g = session.generate(prompt, params, [](std::string_view piece) {
            std::cout.write(piece.data(), piece.size());
            std::cout.flush();
            return true;
        });
        std::fprintf(stderr, "\n[%zu prompt tokens, %zu generated, %.1f tokens/s decode]\n",
                     g.prompt_tokens, g.n_tokens, g.decode_tokens_per_second());
    } catch (const llmcore::Error &e) {
        std::cerr << "error (" << llmc_status_string(e.status()) << "): " << e.what() << "\n";
        return 1;
    }
    return 0;
}
