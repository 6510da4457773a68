// Quickstart (Go): load a GGUF model, generate greedily after a prompt, stream the text to
// stdout and report tokens/s on stderr.
//
//	go run ./quickstart model.gguf "The capital of France is" 32
package main

import (
	"fmt"
	"os"
	"strconv"

	"llmcore"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintf(os.Stderr, "usage: %s MODEL.gguf PROMPT [MAX_TOKENS]\n", os.Args[0])
		os.Exit(2)
	}
	maxTokens := 32
	if len(os.Args) > 3 {
		n, err := strconv.Atoi(os.Args[3])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		maxTokens = n
	}
	model, err := llmcore.Load(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer model.Close()
	prompt, err := model.Tokenize(os.Args[2], true)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	session, err := model.NewSession(len(prompt)+maxTokens, llmcore.Fast)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer session.Close()
	params := llmcore.DefaultGenerateParams() // greedy
	params.MaxTokens = maxTokens
	g, err := session.Generate(prompt, params, func(piece string) bool {
		os.Stdout.WriteString(piece)
		return true
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "\n[%d prompt tokens, %d generated, %.1f tokens/s decode]\n",
		g.PromptTokens, g.Tokens, g.DecodeTokensPerSecond())
}
