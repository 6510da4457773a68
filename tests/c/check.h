/* Tiny check helpers shared by the C tests of the llmcore ABI. Each failed check prints where
 * and why; a test ends with check_summary(), which prints "N passed, N failed". */
#ifndef LLMCORE_TEST_CHECK_H
#define LLMCORE_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

#include "llmcore.h"

static int checks_passed = 0;
static int checks_failed = 0;

static void check_true(int ok, const char *what, int line) {
    if (ok) {
        checks_passed++;
    } else {
        checks_failed++;
        fprintf(stderr, "FAIL line %d: %s\n", line, what);
    }
}

#define CHECK(cond) check_true((cond) != 0, #cond, __LINE__)

/* `call` must return `want`; for an error, the thread's last message must start with the
 * called function's name and contain `needle`. */
static void check_status(const char *call, llmc_status got, llmc_status want, const char *needle,
                         int line) {
    char msg[2048];
    llmc_last_error_message(msg, sizeof msg);
    if (got != want) {
        checks_failed++;
        fprintf(stderr, "FAIL line %d: %s returned %d, expected %d (%s); last error: %s\n", line,
                call, (int)got, (int)want, llmc_status_string(want), msg);
        return;
    }
    if (want != LLMC_OK) {
        size_t fn_len = strcspn(call, "(");
        if (strncmp(msg, call, fn_len) != 0 || msg[fn_len] != ':' ||
            (needle && !strstr(msg, needle))) {
            checks_failed++;
            fprintf(stderr, "FAIL line %d: %s: message \"%s\" should name %.*s and contain \"%s\"\n",
                    line, call, msg, (int)fn_len, call, needle ? needle : "");
            return;
        }
    }
    checks_passed++;
}

#define EXPECT(call, want, needle) check_status(#call, (call), (want), (needle), __LINE__)
#define EXPECT_OK(call) check_status(#call, (call), LLMC_OK, NULL, __LINE__)

static int check_summary(const char *name) {
    printf("%s: %d passed, %d failed\n", name, checks_passed, checks_failed);
    return checks_failed == 0 ? 0 : 1;
}

#endif
