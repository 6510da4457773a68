module llmcore-examples

go 1.19

require llmcore v0.0.0

replace llmcore => ../../bindings/go
