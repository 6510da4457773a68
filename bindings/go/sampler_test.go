package llmcore

import (
	"errors"
	"math"
	"testing"
)

// A decode loop of Eval + Sampler.Sample with Generate's settings and seed gives Generate's
// text, with every sampling step on (a ban among them); bad settings and logits are refused.
func TestSamplerLoopGivesGeneratesText(t *testing.T) {
	m := load(t)
	defer m.Close()
	info, err := m.Info()
	if err != nil {
		t.Fatal(err)
	}
	prompt, err := m.Tokenize("The capital of France is", true)
	if err != nil {
		t.Fatal(err)
	}
	gp := DefaultGenerateParams()
	gp.MaxTokens = 12
	gp.Temperature, gp.TopK, gp.TopP, gp.MinP = 0.8, 50, 0.9, 0.02
	gp.RepeatPenalty, gp.RepeatLastN = 1.1, 32
	gp.FrequencyPenalty, gp.PresencePenalty = 0.2, 0.1
	gp.Seed = 1234
	gp.LogitBias = []LogitBias{{Token: 7042, Bias: float32(math.Inf(-1))}, {Token: 13, Bias: 0.5}}
	s, err := m.NewSession(0, Fast)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	want, err := s.Generate(prompt, gp, nil)
	if err != nil {
		t.Fatal(err)
	}

	smp, err := NewSampler(SamplerParams{Temperature: gp.Temperature, TopP: gp.TopP, MinP: gp.MinP,
		TopK: gp.TopK, RepeatLastN: gp.RepeatLastN, RepeatPenalty: gp.RepeatPenalty,
		FrequencyPenalty: gp.FrequencyPenalty, PresencePenalty: gp.PresencePenalty, Seed: gp.Seed,
		LogitBias: gp.LogitBias})
	if err != nil {
		t.Fatal(err)
	}
	defer smp.Close()
	loop, _ := m.NewSession(0, Fast)
	defer loop.Close()
	history := append([]Token{}, prompt...)
	logits, err := loop.Eval(prompt)
	if err != nil {
		t.Fatal(err)
	}
	var generated []Token
	for len(generated) < gp.MaxTokens {
		next, err := smp.Sample(logits, history)
		if err != nil {
			t.Fatal(err)
		}
		if next == 7042 {
			t.Fatalf("the banned token was sampled")
		}
		if int64(next) == info.EOS {
			break
		}
		generated = append(generated, next)
		history = append(history, next)
		if len(generated) < gp.MaxTokens {
			if logits, err = loop.Eval([]Token{next}); err != nil {
				t.Fatal(err)
			}
		}
	}
	got, err := m.Detokenize(generated)
	if err != nil || got != want.Text || got == "" {
		t.Fatalf("sampler loop %q, Generate %q (%v)", got, want.Text, err)
	}

	dist, err := smp.Distribution(logits, history)
	sum := 0.0
	for _, d := range dist {
		sum += d.Prob
	}
	if err != nil || len(dist) == 0 || math.Abs(sum-1) > 1e-9 {
		t.Fatalf("distribution of %d tokens sums to %v (%v)", len(dist), sum, err)
	}

	var e *Error
	if _, err := NewSampler(SamplerParams{MinP: 2, TopP: 1, RepeatPenalty: 1}); !errors.As(err, &e) ||
		e.Status != StatusInvalidArgument {
		t.Fatalf("min_p 2 accepted: %v", err)
	}
	bad := append([]float32{}, logits...)
	bad[3] = float32(math.NaN())
	if _, err := smp.Sample(bad, history); !errors.As(err, &e) || e.Status != StatusInvalidArgument {
		t.Fatalf("a NaN logit accepted: %v", err)
	}
	gp.LogitBias = []LogitBias{{Token: info.VocabSize, Bias: 1}}
	if _, err := s.Generate(prompt, gp, nil); !errors.As(err, &e) || e.Status != StatusInvalidArgument {
		t.Fatalf("a bias past the vocabulary accepted: %v", err)
	}
}
