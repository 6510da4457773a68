package llmcore

import (
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
)

const scheduleBase = `{"model": "gpt-1.3b", "micro_batch": 1, "global_batch": 8`

func TestSchedule(t *testing.T) {
	text, err := Schedule(scheduleBase + `, "tp": 2, "pp": 2, "policy": "selective"}`)
	if err != nil {
		t.Fatal(err)
	}
	var plan struct {
		Policy   string `json:"policy"`
		Training struct {
			TP int `json:"tp"`
			PP int `json:"pp"`
		} `json:"training"`
		IterationS float64           `json:"iteration_s"`
		Stages     []json.RawMessage `json:"stages"`
	}
	if err := json.Unmarshal([]byte(text), &plan); err != nil {
		t.Fatalf("plan is not JSON: %v\n%s", err, text)
	}
	if plan.Policy != "selective" || plan.Training.TP != 2 || plan.Training.PP != 2 ||
		len(plan.Stages) != 2 || plan.IterationS <= 0 {
		t.Fatalf("unexpected plan %+v", plan)
	}
	for _, c := range []struct {
		request string
		status  int
		needle  string
	}{
		{scheduleBase, StatusFormat, "malformed JSON"},
		{scheduleBase + `, "tp": 3}`, StatusInvalidArgument, "does not divide the 16 attention heads"},
		{scheduleBase + `, "policy": "fastest"}`, StatusInvalidArgument, "unknown policy 'fastest'"},
		{scheduleBase + `, "memory_gb": 1, "policy": "opt"}`, StatusInvalidArgument, "the leanest schedule needs"},
	} {
		_, err := Schedule(c.request)
		var e *Error
		if !errors.As(err, &e) || e.Status != c.status ||
			!strings.HasPrefix(e.Message, "llmc_schedule: ") || !strings.Contains(e.Message, c.needle) {
			t.Errorf("%s: want status %d naming %q, got %v", c.request, c.status, c.needle, err)
		}
	}
}

// Plans and failures from many goroutines at once: each gets its own result and its own error
// message (the message is per thread in C).
func TestScheduleConcurrent(t *testing.T) {
	want, err := Schedule(scheduleBase + `}`)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if i%2 == 0 {
				if got, err := Schedule(scheduleBase + `}`); err != nil || got != want {
					t.Errorf("goroutine %d: different plan or %v", i, err)
				}
			} else if _, err := Schedule(scheduleBase + `, "tp": 3}`); err == nil ||
				!strings.Contains(err.Error(), "tp=3") {
				t.Errorf("goroutine %d: want the tp error, got %v", i, err)
			}
		}(i)
	}
	wg.Wait()
}
