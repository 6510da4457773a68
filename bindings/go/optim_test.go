package llmcore

import (
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
)

const optRows, optCols = 10, 8

var optShapes = []ParamShape{{"w", []int{optRows, optCols}}, {"b", []int{optCols}}}

// leastSquares is 0.5 ||W - A||^2 + 0.5 ||b - c||^2: its parameters (from zero), target and
// gradients.
type leastSquares struct {
	p, g, target [2][]float32
}

func newLeastSquares() *leastSquares {
	l := &leastSquares{}
	for k, n := range []int{optRows * optCols, optCols} {
		l.p[k], l.g[k], l.target[k] = make([]float32, n), make([]float32, n), make([]float32, n)
	}
	for i := 0; i < optRows; i++ {
		for j := 0; j < optCols; j++ {
			l.target[0][i*optCols+j] = float32(0.5 * math.Sin(0.3*float64(i)+0.1) * math.Cos(0.2*float64(j)))
		}
	}
	for j := range l.target[1] {
		l.target[1][j] = 0.1 * float32(j-4)
	}
	return l
}

// grad writes the gradients and returns the loss.
func (l *leastSquares) grad() float64 {
	loss := 0.0
	for k := range l.p {
		for i := range l.p[k] {
			l.g[k][i] = l.p[k][i] - l.target[k][i]
			loss += 0.5 * float64(l.g[k][i]) * float64(l.g[k][i])
		}
	}
	return loss
}

func TestOptimizerTrainsEveryKind(t *testing.T) {
	for _, kind := range []OptimizerKind{AdamW, Adafactor, Came, Adapprox} {
		p := DefaultOptimizerParams(kind)
		if p.Kind != kind {
			t.Fatalf("defaults of %d have kind %d", kind, p.Kind)
		}
		p.LR, p.WeightDecay = 0.05, 0
		o, err := NewOptimizer(p, optShapes)
		if err != nil {
			t.Fatal(err)
		}
		l := newLeastSquares()
		first, last := l.grad(), 0.0
		for step := 0; step < 150; step++ {
			if err := o.Step(l.p[:], l.g[:]); err != nil {
				t.Fatal(err)
			}
			last = l.grad()
		}
		if last > first/10 {
			t.Fatalf("kind %d: loss %g -> %g", kind, first, last)
		}
		steps, _ := o.Steps()
		total, _, err := o.StateBytes()
		if err != nil || steps != 150 {
			t.Fatalf("kind %d: %d steps, %v", kind, steps, err)
		}
		sum := 0
		for i := range optShapes {
			s, err := o.ParamState(i)
			if err != nil {
				t.Fatal(err)
			}
			sum += s.Bytes
			if kind == Adapprox && i == 0 && (s.Rank < 1 || s.Rank > optCols || s.Error < 0) {
				t.Fatalf("adapprox factors %+v", s)
			}
		}
		if sum != total || (kind == AdamW && total != 8*(optRows*optCols+optCols)) {
			t.Fatalf("kind %d: state %d bytes, per parameter %d", kind, total, sum)
		}
		t.Logf("kind %d: loss %.4g -> %.4g, state %d bytes", kind, first, last, total)
		o.Close()
		o.Close()
	}
}

func TestOptimizerStagedIsStep(t *testing.T) {
	p := DefaultOptimizerParams(Adapprox)
	p.LR, p.Guidance = 0.02, true
	a, err := NewOptimizer(p, optShapes)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, _ := NewOptimizer(p, optShapes)
	defer b.Close()
	la, lb := newLeastSquares(), newLeastSquares()
	for step := 0; step < 20; step++ {
		la.grad()
		if err := a.Step(la.p[:], la.g[:]); err != nil {
			t.Fatal(err)
		}
		// b keeps its parameters in the staging buffers: no copies.
		for k := range optShapes {
			param, grad := b.Staged(k)
			for i := range param {
				grad[i] = param[i] - lb.target[k][i]
			}
		}
		if err := b.StepStaged(); err != nil {
			t.Fatal(err)
		}
	}
	for k := range optShapes {
		param, _ := b.Staged(k)
		for i := range param {
			if math.Float32bits(param[i]) != math.Float32bits(la.p[k][i]) {
				t.Fatalf("param %d[%d]: staged %v, step %v", k, i, param[i], la.p[k][i])
			}
		}
	}
}

func TestOptimizerRefusesBadInput(t *testing.T) {
	var e *Error
	want := func(err error, status int, needle string) {
		t.Helper()
		if !errors.As(err, &e) || e.Status != status || !strings.Contains(e.Message, needle) {
			t.Fatalf("want status %d with %q, got %v", status, needle, err)
		}
	}
	p := DefaultOptimizerParams(Adapprox)
	p.RankMin, p.RankMax = 5, 3
	_, err := NewOptimizer(p, optShapes)
	want(err, StatusInvalidArgument, "params (adapprox): rank range [5, 3] is empty")
	p = DefaultOptimizerParams(Adapprox)
	p.Kind = 9
	_, err = NewOptimizer(p, optShapes)
	want(err, StatusInvalidArgument, "params->kind 9")
	_, err = NewOptimizer(DefaultOptimizerParams(AdamW), []ParamShape{{"w", []int{2, 3, 4}}})
	want(err, StatusInvalidArgument, "shapes[0] ('w'): ndim is 3")
	_, err = NewOptimizer(DefaultOptimizerParams(AdamW), []ParamShape{{"w", []int{2, -3}}})
	want(err, StatusInvalidArgument, "negative dimension")

	o, err := NewOptimizer(DefaultOptimizerParams(Adapprox), optShapes)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	l := newLeastSquares()
	l.grad()
	if err := o.Step(l.p[:], l.g[:]); err != nil {
		t.Fatal(err)
	}
	before := [2][]float32{append([]float32(nil), l.p[0]...), append([]float32(nil), l.p[1]...)}
	l.grad()
	l.g[1][2] = float32(math.NaN())
	want(o.Step(l.p[:], l.g[:]), StatusInvalidArgument,
		"llmc_optimizer_step: gradient of 'b' holds NaN at index 2: step refused, parameters unchanged")
	l.g[1][2] = 0
	want(o.Step([][]float32{l.p[0], l.p[0]}, l.g[:]), StatusInvalidArgument, "holds 80 values, its shape 8")
	want(o.Step([][]float32{l.p[0], l.p[0][:optCols]}, l.g[:]), StatusInvalidArgument,
		"params[1] ('b') is the same slice as params[0] ('w')")
	want(o.Step(l.p[:1], l.g[:1]), StatusInvalidArgument, "created for 2")
	want(o.SetLR(0), StatusInvalidArgument, "learning rate 0")
	_, err = o.ParamState(2)
	want(err, StatusInvalidArgument, "parameter index 2, the optimizer has 2")
	for k := range before {
		for i := range before[k] {
			if before[k][i] != l.p[k][i] {
				t.Fatalf("a refused step changed parameter %d[%d]", k, i)
			}
		}
	}
	if n, _ := o.Steps(); n != 1 {
		t.Fatalf("%d steps counted", n)
	}
	closed, _ := NewOptimizer(DefaultOptimizerParams(AdamW), optShapes)
	closed.Close()
	want(closed.Step(l.p[:], l.g[:]), StatusNullArgument, "closed")
	_, err = closed.LR()
	want(err, StatusNullArgument, "'opt' is NULL")
}

func TestOptimizerConcurrentCallsAreSerialized(t *testing.T) {
	o, err := NewOptimizer(DefaultOptimizerParams(Adapprox), optShapes)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := newLeastSquares()
			for step := 0; step < 10; step++ {
				l.grad()
				if err := o.Step(l.p[:], l.g[:]); err != nil {
					t.Error(err)
					return
				}
				if _, _, err := o.StateBytes(); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if n, _ := o.Steps(); n != 40 {
		t.Fatalf("%d steps", n)
	}
}
