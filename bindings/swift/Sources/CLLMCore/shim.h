/* The C API of libllmcore, as installed (pkg-config --cflags llmcore gives its directory). */
#include <llmcore.h>
