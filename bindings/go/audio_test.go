package llmcore

import (
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func audioFixture(t *testing.T, name string) []byte {
	b, err := os.ReadFile(filepath.Join("..", "..", "tests", "data", "audio", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// dictDir is the pypinyin dictionary under $LLMCORE_ASSETS, or the repository's assets/.
func dictDir(t *testing.T) string {
	dir := os.Getenv("LLMCORE_ASSETS")
	if dir == "" {
		dir = filepath.Join("..", "..", "assets")
	}
	p := filepath.Join(dir, "pypinyin")
	if _, err := os.Stat(filepath.Join(p, "pinyin_dict.json")); err != nil {
		t.Fatalf("%s is missing: run scripts/fetch-assets.sh (or set LLMCORE_ASSETS)", p)
	}
	return p
}

func wantStatus(t *testing.T, err error, status int, needle string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || e.Status != status || !strings.Contains(e.Message, needle) {
		t.Fatalf("want status %d with %q, got %v", status, needle, err)
	}
}

// sameBits says whether a and b hold the same values, bit for bit.
func sameBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

func TestAudioFeaturesAndF0(t *testing.T) {
	whisper, err := DefaultAudioParams("whisper")
	if err != nil || whisper.SampleRate != 16000 || whisper.NFFT != 400 || whisper.LogRecipe != LogWhisper || !whisper.DropLastFrame {
		t.Fatalf("whisper %+v, %v", whisper, err)
	}
	fs2, _ := DefaultAudioParams("fastspeech2")
	if fs2.SampleRate != 22050 || fs2.Hop != 256 || fs2.Spectrum != SpectrumMagnitude || fs2.PadMode != PadReflect {
		t.Fatalf("fastspeech2 %+v", fs2)
	}
	_, err = DefaultAudioParams("tacotron")
	wantStatus(t, err, StatusInvalidArgument, "known presets: fastspeech2, whisper")

	w, err := DecodeWAV(audioFixture(t, "zh-150-16k-s16.wav"), true)
	if err != nil || w.SampleRate != 16000 || w.Channels != 1 || len(w.Samples) != 119512 {
		t.Fatalf("decode: %d Hz, %d channels, %d samples, %v", w.SampleRate, w.Channels, len(w.Samples), err)
	}
	f, err := AudioFeatures(whisper, w.Samples, w.SampleRate)
	if err != nil || f.Frames != 746 || f.NMels != 80 || len(f.LogMel) != 746*80 || len(f.Energy) != 746 {
		t.Fatalf("features: %d x %d, %v", f.Frames, f.NMels, err)
	}
	tr, err := AudioF0(whisper, F0Pyin, w.Samples, w.SampleRate)
	if err != nil || len(tr.F0) != f.Frames {
		t.Fatalf("f0: %d frames, %v", len(tr.F0), err)
	}
	voiced := 0
	for i, v := range tr.Voiced {
		if v {
			voiced++
		} else if !math.IsNaN(float64(tr.F0[i])) {
			t.Fatalf("frame %d unvoiced with F0 %v", i, tr.F0[i])
		}
		if math.IsNaN(float64(tr.F0Interpolated[i])) {
			t.Fatalf("interpolated F0 of frame %d is NaN", i)
		}
	}
	if voiced != 474 {
		t.Fatalf("%d voiced frames", voiced)
	}

	// Through the resampler: the library's own resampling is Resample's.
	up, err := Resample(w.Samples, 16000, 22050)
	if err != nil || len(up) != (119512*22050+15999)/16000 {
		t.Fatalf("resample: %d, %v", len(up), err)
	}
	a, _ := AudioFeatures(fs2, w.Samples, 16000)
	b, _ := AudioFeatures(fs2, up, 22050)
	if a.Frames != b.Frames || !sameBits(a.LogMel, b.LogMel) || !sameBits(a.Energy, b.Energy) {
		t.Fatal("features through the library's resampling differ from Resample's")
	}
	tone, _ := DecodeWAV(audioFixture(t, "tone-220.wav"), true)
	yin, err := AudioF0(fs2, F0Yin, tone.Samples, tone.SampleRate)
	if err != nil || len(yin.F0) != 87 || math.Abs(float64(yin.F0[40])-220) > 2.2 {
		t.Fatalf("yin on a 220 Hz tone: %v", err)
	}

	_, err = AudioFeatures(whisper, w.Samples, 0)
	wantStatus(t, err, StatusInvalidArgument, "sample_rate is 0")
	_, err = AudioFeatures(whisper, nil, 16000)
	wantStatus(t, err, StatusInvalidArgument, "n_samples is 0")
	bad := whisper
	bad.WinLength = 500
	_, err = AudioF0(bad, F0Yin, w.Samples, 16000)
	wantStatus(t, err, StatusInvalidArgument, "params: STFT win_length 500 must be in 1..=n_fft (400)")
	bad = whisper
	bad.MelScale = 4
	_, err = AudioFrames(bad, 1000, 16000)
	wantStatus(t, err, StatusInvalidArgument, "params->mel_scale 4")
	_, err = AudioF0(whisper, 3, w.Samples, 16000)
	wantStatus(t, err, StatusInvalidArgument, "method 3")
	_, err = DecodeWAV(audioFixture(t, "tone-440.wav")[:3000], true)
	wantStatus(t, err, StatusFormat, "malformed WAV at byte offset")
	_, err = DecodeWAV(nil, true)
	wantStatus(t, err, StatusFormat, "truncated header: 0 bytes")
	_, err = Resample(w.Samples, 0, 16000)
	wantStatus(t, err, StatusInvalidArgument, "sample rates must be positive")
}

const sentence = "今天天气很好，我们一起去公园散步吧。"

func TestG2P(t *testing.T) {
	d, err := LoadG2PDict(dictDir(t))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	py, err := d.Pinyin(sentence, false)
	if err != nil || py != "jin1 tian1 tian1 qi4 hen3 hao3 , wo3 men5 yi4 qi3 qu4 gong1 yuan2 san4 bu4 ba5 ." {
		t.Fatalf("pinyin %q, %v", py, err)
	}
	ids, err := d.Phonemes(sentence)
	if err != nil || len(ids) != 31 {
		t.Fatalf("phonemes %v, %v", ids, err)
	}
	var symbols []string
	for _, id := range ids {
		s, err := PhonemeSymbol(id)
		if err != nil {
			t.Fatal(err)
		}
		if back, err := PhonemeID(s); err != nil || back != id {
			t.Fatalf("%s: id %d, back %d, %v", s, id, back, err)
		}
		symbols = append(symbols, s)
	}
	if symbols[0] != "j" || symbols[1] != "in1" || symbols[len(symbols)-1] != "sil" {
		t.Fatalf("phonemes %v", symbols)
	}
	if PhonemeCount() != 238 {
		t.Fatalf("%d phonemes", PhonemeCount())
	}
	// Several goroutines share one dictionary.
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if got, err := d.Phonemes(sentence); err != nil || len(got) != len(ids) {
				t.Errorf("concurrent phonemes %v, %v", got, err)
			}
		}()
	}
	wg.Wait()
	read := func(name string) string {
		f, err := os.Open(filepath.Join(dictDir(t), name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		b, _ := io.ReadAll(f)
		return string(b)
	}
	m, err := ParseG2PDict(read("pinyin_dict.json"), read("phrases_dict.json"))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := m.Pinyin(sentence, true); got != mustPinyin(t, d, sentence) {
		t.Fatalf("parsed %q", got)
	}
	m.Close()
	m.Close()

	_, err = d.Phonemes("我爱Go")
	wantStatus(t, err, StatusInvalidArgument, "\"Go\" at character 2 (byte 6)")
	_, err = d.Pinyin("", true)
	wantStatus(t, err, StatusInvalidArgument, "the text is empty")
	_, err = PhonemeSymbol(238)
	wantStatus(t, err, StatusInvalidArgument, "outside the inventory")
	_, err = PhonemeID("r9")
	wantStatus(t, err, StatusInvalidArgument, "no phoneme is written \"r9\"")
	_, err = LoadG2PDict(filepath.Join(t.TempDir(), "none"))
	wantStatus(t, err, StatusIO, "pinyin_dict.json")
	_, err = ParseG2PDict("{\n\"20013\": \"zhōng\"\n", "{\n}\n") // no closing brace
	wantStatus(t, err, StatusFormat, "pinyin_dict.json")
}

func mustPinyin(t *testing.T, d *G2PDict, text string) string {
	s, err := d.Pinyin(text, true)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAudioCorpus(t *testing.T) {
	d, err := LoadG2PDict(dictDir(t))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	// Two utterances of the test corpus.
	root := filepath.Join(t.TempDir(), "corpus")
	dir := filepath.Join(root, "chat", "spk_f3")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"chat_spk_f3_01", "chat_spk_f3_02"} {
		for _, ext := range []string{".wav", ".txt"} {
			b := audioFixture(t, filepath.Join("corpus", "chat", "spk_f3", id+ext))
			if err := os.WriteFile(filepath.Join(dir, id+ext), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	p := DefaultCorpusParams()
	if p.SilenceDB != 40 || p.MinPauseS != 0.05 || p.Features.SampleRate != 22050 {
		t.Fatalf("defaults %+v", p)
	}
	out := filepath.Join(t.TempDir(), "out")
	var seen []CorpusProgress
	r, err := AudioCorpus(root, out, d, p, func(pr CorpusProgress) bool { seen = append(seen, pr); return true })
	if err != nil || r.Utterances != 2 || r.Scenes != 1 || r.Speakers != 1 || r.Frames == 0 {
		t.Fatalf("corpus %+v, %v", r, err)
	}
	if len(seen) != 3 || seen[0].Utterance != "chat/spk_f3/chat_spk_f3_01" || seen[2] != (CorpusProgress{Done: 2, Total: 2}) {
		t.Fatalf("progress %+v", seen)
	}
	if _, err := os.Stat(filepath.Join(out, "manifest.json")); err != nil {
		t.Fatal(err)
	}
	ts, err := OpenTensors(filepath.Join(out, "chat", "spk_f3", "chat_spk_f3_01.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Close()
	if info, err := ts.Info("log_mel"); err != nil || info.Shape[1] != 80 {
		t.Fatalf("log_mel %+v, %v", info, err)
	}

	cancelled := filepath.Join(t.TempDir(), "cancelled")
	_, err = AudioCorpus(root, cancelled, d, p, func(pr CorpusProgress) bool { return pr.Done < 1 })
	wantStatus(t, err, StatusCancelled, "after 1 of 2 utterances")
	if _, err := os.Stat(filepath.Join(cancelled, "manifest.json")); !os.IsNotExist(err) {
		t.Fatal("a cancelled build wrote its manifest")
	}
	bad := p
	bad.MinPauseS = -1
	_, err = AudioCorpus(root, out, d, bad, nil)
	wantStatus(t, err, StatusInvalidArgument, "params->min_pause_s -1")
	_, err = AudioCorpus(filepath.Join(root, "chat"), out, d, p, nil)
	wantStatus(t, err, StatusInvalidArgument, "expected only speaker directories")
	_, err = AudioCorpus(root, out, nil, p, nil)
	wantStatus(t, err, StatusNullArgument, "dict is nil")
}
