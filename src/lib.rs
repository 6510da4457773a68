//! Integration tests and benchmarks of libllmcore on the real assets live in tests/ and benches/.
