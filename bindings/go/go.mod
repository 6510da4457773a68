module llmcore

go 1.19
