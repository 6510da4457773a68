// What the C++ binding's tests share: CHECK counts passes and failures; EXPECT_ERROR requires
// a body to throw llmcore::Error with a status and a message containing a needle.
#pragma once
#include <cstdio>
#include <cstring>

#include "llmcore.hpp"

static int passed = 0, failed = 0;


#define CHECK(cond)                                                                            \
    do {                                                                                       \
        if (cond) {                                                                            \
            passed++;                                                                          \
        } else {                                                                               \
            failed++;                                                                          \
            std::fprintf(stderr, "FAIL line %d: %s\n", __LINE__, #cond);                       \
        }                                                                                      \
    } while (0)

// `body` must throw llmcore::Error with `status` and a message containing `needle`.
template <typename F> static void expect_error(F body, llmc_status status, const char *needle,
                                               int line) {
    try {
        body();
        failed++;
        std::fprintf(stderr, "FAIL line %d: no exception\n", line);
    } catch (const llmcore::Error &e) {
        bool ok = e.status() == status && std::strstr(e.what(), needle) != nullptr;
        ok ? passed++ : failed++;
        if (!ok) std::fprintf(stderr, "FAIL line %d: %d %s\n", line, (int)e.status(), e.what());
    }
}
#define EXPECT_ERROR(body, status, needle) expect_error([&] { body; }, status, needle, __LINE__)
