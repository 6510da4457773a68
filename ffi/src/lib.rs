//! C ABI of libllmcore: see include/llmcore.h. Its functions arrive with the C ABI issue.
