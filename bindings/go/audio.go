package llmcore

/*
#include <stdlib.h>
#include <llmcore.h>

extern bool goCorpusProgressCallback(size_t done, size_t total, char *utterance, void *user_data);
*/
import "C"

import (
	"runtime"
	"runtime/cgo"
	"unsafe"
)

// AudioWindow is the STFT's analysis window.
type AudioWindow uint32

const (
	WindowHann          AudioWindow = AudioWindow(C.LLMC_AUDIO_WINDOW_HANN)
	WindowHannSymmetric AudioWindow = AudioWindow(C.LLMC_AUDIO_WINDOW_HANN_SYMMETRIC)
)

// AudioPad is how a centred STFT pads the signal's ends.
type AudioPad uint32

const (
	PadConstant AudioPad = AudioPad(C.LLMC_AUDIO_PAD_CONSTANT)
	PadReflect  AudioPad = AudioPad(C.LLMC_AUDIO_PAD_REFLECT)
)

// AudioSpectrum is what each STFT bin holds before the mel filters.
type AudioSpectrum uint32

const (
	SpectrumMagnitude AudioSpectrum = AudioSpectrum(C.LLMC_AUDIO_SPECTRUM_MAGNITUDE)
	SpectrumPower     AudioSpectrum = AudioSpectrum(C.LLMC_AUDIO_SPECTRUM_POWER)
)

// AudioLog is how mel energies become features.
type AudioLog uint32

const (
	// LogLn: ln(max(x, LogFloor)) (FastSpeech2).
	LogLn AudioLog = AudioLog(C.LLMC_AUDIO_LOG_LN)
	// LogWhisper: log10(max(x, LogFloor)) clamped to LogDynamicRange below the maximum, then
	// (y + 4) / 4.
	LogWhisper AudioLog = AudioLog(C.LLMC_AUDIO_LOG_WHISPER)
)

// MelScale is the mel scale of the filter bank.
type MelScale uint32

const (
	MelScaleSlaney MelScale = MelScale(C.LLMC_MEL_SCALE_SLANEY)
	MelScaleHTK    MelScale = MelScale(C.LLMC_MEL_SCALE_HTK)
)

// MelNorm is the normalization of each mel filter.
type MelNorm uint32

const (
	MelNormNone   MelNorm = MelNorm(C.LLMC_MEL_NORM_NONE)
	MelNormSlaney MelNorm = MelNorm(C.LLMC_MEL_NORM_SLANEY)
)

// F0Method is an F0 tracker.
type F0Method uint32

const (
	// F0Yin: an F0 for every frame, every frame voiced.
	F0Yin F0Method = F0Method(C.LLMC_F0_YIN)
	// F0Pyin: F0 with voicing from its HMM; unvoiced frames have F0 NaN.
	F0Pyin F0Method = F0Method(C.LLMC_F0_PYIN)
)

// AudioParams is a log-mel recipe, the fields of llmc_audio_params (see llmcore.h); start from
// DefaultAudioParams.
type AudioParams struct {
	SampleRate           uint32
	NFFT, Hop, WinLength int
	Window               AudioWindow
	NMels                int
	FMin, FMax           float32
	MelScale             MelScale
	MelNorm              MelNorm
	Center               bool
	PadMode              AudioPad
	Spectrum             AudioSpectrum
	LogRecipe            AudioLog
	LogFloor             float32
	LogDynamicRange      float32
	DropLastFrame        bool
}

// DefaultAudioParams is the recipe of the preset called preset: "fastspeech2" or "whisper"
// (an unknown name is an error naming the known ones).
func DefaultAudioParams(preset string) (AudioParams, error) {
	cname := C.CString(preset)
	defer C.free(unsafe.Pointer(cname))
	var c C.llmc_audio_params
	if err := call(func() C.llmc_status { return C.llmc_audio_default_params(cname, &c) }); err != nil {
		return AudioParams{}, err
	}
	return AudioParams{SampleRate: uint32(c.sample_rate), NFFT: int(c.n_fft), Hop: int(c.hop),
		WinLength: int(c.win_length), Window: AudioWindow(c.window), NMels: int(c.n_mels),
		FMin: float32(c.fmin), FMax: float32(c.fmax), MelScale: MelScale(c.mel_scale),
		MelNorm: MelNorm(c.mel_norm), Center: bool(c.center), PadMode: AudioPad(c.pad_mode),
		Spectrum: AudioSpectrum(c.spectrum), LogRecipe: AudioLog(c.log_recipe),
		LogFloor: float32(c.log_floor), LogDynamicRange: float32(c.log_dynamic_range),
		DropLastFrame: bool(c.drop_last_frame)}, nil
}

func (p AudioParams) c() (C.llmc_audio_params, error) {
	if p.NFFT < 0 || p.Hop < 0 || p.WinLength < 0 || p.NMels < 0 {
		return C.llmc_audio_params{}, invalidArg("AudioParams: a length is negative")
	}
	var c C.llmc_audio_params
	c.struct_size = C.size_t(unsafe.Sizeof(c))
	c.sample_rate = C.uint32_t(p.SampleRate)
	c.n_fft, c.hop, c.win_length = C.size_t(p.NFFT), C.size_t(p.Hop), C.size_t(p.WinLength)
	c.window = C.llmc_audio_window(p.Window)
	c.n_mels = C.size_t(p.NMels)
	c.fmin, c.fmax = C.float(p.FMin), C.float(p.FMax)
	c.mel_scale, c.mel_norm = C.llmc_mel_scale(p.MelScale), C.llmc_mel_norm(p.MelNorm)
	c.center, c.pad_mode = C.bool(p.Center), C.llmc_audio_pad(p.PadMode)
	c.spectrum, c.log_recipe = C.llmc_audio_spectrum(p.Spectrum), C.llmc_audio_log(p.LogRecipe)
	c.log_floor, c.log_dynamic_range = C.float(p.LogFloor), C.float(p.LogDynamicRange)
	c.drop_last_frame = C.bool(p.DropLastFrame)
	return c, nil
}

// floats is a C pointer to the first of v's values (nil for an empty slice).
func floats(v []float32) *C.float {
	if len(v) == 0 {
		return nil
	}
	return (*C.float)(unsafe.Pointer(&v[0]))
}

// WAV is a decoded WAV file: Samples (interleaved unless decoded as mono), the file's rate and
// channel count.
type WAV struct {
	Samples    []float32
	SampleRate uint32
	Channels   int
}

// DecodeWAV decodes a RIFF/WAVE file held in memory (llmc_wav_decode): uncompressed PCM or
// float samples; mono averages the channels. A truncated or compressed file is a
// StatusFormat error with the byte offset at fault.
func DecodeWAV(data []byte, mono bool) (WAV, error) {
	var p *C.uint8_t
	if len(data) > 0 {
		p = (*C.uint8_t)(unsafe.Pointer(&data[0]))
	}
	var rate C.uint32_t
	var channels C.uint16_t
	var n C.size_t
	if err := call(func() C.llmc_status {
		return C.llmc_wav_decode(p, C.size_t(len(data)), C.bool(mono), nil, 0, &rate, &channels, &n)
	}); err != nil {
		return WAV{}, err
	}
	w := WAV{Samples: make([]float32, int(n)), SampleRate: uint32(rate), Channels: int(channels)}
	if err := call(func() C.llmc_status {
		return C.llmc_wav_decode(p, C.size_t(len(data)), C.bool(mono), floats(w.Samples), n, nil, nil, &n)
	}); err != nil {
		return WAV{}, err
	}
	runtime.KeepAlive(data)
	return w, nil
}

// AudioFrames is the number of feature frames AudioFeatures and AudioF0 give for nSamples
// samples at sampleRate Hz (llmc_audio_n_frames).
func AudioFrames(p AudioParams, nSamples int, sampleRate uint32) (int, error) {
	c, err := p.c()
	if err != nil {
		return 0, err
	}
	if nSamples < 0 {
		return 0, invalidArg("AudioFrames: nSamples is negative")
	}
	var n C.size_t
	err = call(func() C.llmc_status { return C.llmc_audio_n_frames(&c, C.size_t(nSamples), C.uint32_t(sampleRate), &n) })
	return int(n), err
}

// Features are log-mel features (Frames rows of NMels, row-major) and frame energy.
type Features struct {
	Frames, NMels int
	LogMel        []float32
	Energy        []float32
}

// At is the log-mel value of one frame and band.
func (f Features) At(frame, mel int) float32 { return f.LogMel[frame*f.NMels+mel] }

// AudioFeatures computes log-mel and energy of mono pcm at sampleRate Hz, resampled to the
// recipe's rate first when it differs (llmc_audio_features).
func AudioFeatures(p AudioParams, pcm []float32, sampleRate uint32) (Features, error) {
	frames, err := AudioFrames(p, len(pcm), sampleRate)
	if err != nil {
		return Features{}, err
	}
	c, _ := p.c()
	f := Features{Frames: frames, NMels: p.NMels, LogMel: make([]float32, frames*p.NMels),
		Energy: make([]float32, frames)}
	var n C.size_t
	err = call(func() C.llmc_status {
		return C.llmc_audio_features(&c, floats(pcm), C.size_t(len(pcm)), C.uint32_t(sampleRate),
			floats(f.LogMel), C.size_t(len(f.LogMel)), floats(f.Energy), C.size_t(len(f.Energy)), &n)
	})
	if err != nil {
		return Features{}, err
	}
	return f, nil
}

// F0Track is F0 per feature frame: Hz (NaN where pYIN finds the frame unvoiced), voicing, and
// F0 interpolated over the unvoiced frames.
type F0Track struct {
	F0             []float32
	Voiced         []bool
	F0Interpolated []float32
}

// AudioF0 tracks F0 of mono pcm at sampleRate Hz on the recipe's feature frames
// (llmc_audio_f0).
func AudioF0(p AudioParams, method F0Method, pcm []float32, sampleRate uint32) (F0Track, error) {
	frames, err := AudioFrames(p, len(pcm), sampleRate)
	if err != nil {
		return F0Track{}, err
	}
	c, _ := p.c()
	f0, interp := make([]float32, frames), make([]float32, frames)
	voiced := make([]byte, frames+1) // +1: a valid pointer even for no frames
	var n C.size_t
	err = call(func() C.llmc_status {
		return C.llmc_audio_f0(&c, C.llmc_f0_method(method), floats(pcm), C.size_t(len(pcm)),
			C.uint32_t(sampleRate), floats(f0), (*C.uint8_t)(unsafe.Pointer(&voiced[0])),
			floats(interp), C.size_t(frames), &n)
	})
	if err != nil {
		return F0Track{}, err
	}
	t := F0Track{F0: f0, Voiced: make([]bool, frames), F0Interpolated: interp}
	for i := range t.Voiced {
		t.Voiced[i] = voiced[i] == 1
	}
	return t, nil
}

// Resample converts one channel from fromRate to toRate Hz (llmc_audio_resample).
func Resample(pcm []float32, fromRate, toRate uint32) ([]float32, error) {
	var n C.size_t
	run := func(out []float32) error {
		return call(func() C.llmc_status {
			return C.llmc_audio_resample(floats(pcm), C.size_t(len(pcm)), C.uint32_t(fromRate),
				C.uint32_t(toRate), floats(out), C.size_t(len(out)), &n)
		})
	}
	if err := run(nil); err != nil {
		return nil, err
	}
	out := make([]float32, int(n))
	if err := run(out); err != nil {
		return nil, err
	}
	return out, nil
}

// G2PDict is a Mandarin pronunciation dictionary (llmc_g2p_dict), safe for concurrent use.
type G2PDict struct {
	p *C.llmc_g2p_dict
}

func newG2PDict(p *C.llmc_g2p_dict) *G2PDict {
	d := &G2PDict{p: p}
	runtime.SetFinalizer(d, (*G2PDict).Close)
	return d
}

// LoadG2PDict reads pinyin_dict.json and phrases_dict.json from dir (e.g. assets/pypinyin).
func LoadG2PDict(dir string) (*G2PDict, error) {
	cdir := C.CString(dir)
	defer C.free(unsafe.Pointer(cdir))
	var p *C.llmc_g2p_dict
	if err := call(func() C.llmc_status { return C.llmc_g2p_dict_load(cdir, &p) }); err != nil {
		return nil, err
	}
	return newG2PDict(p), nil
}

// ParseG2PDict makes the dictionary from the two files' texts held in memory.
func ParseG2PDict(pinyinDict, phrasesDict string) (*G2PDict, error) {
	a, b := C.CString(pinyinDict), C.CString(phrasesDict)
	defer C.free(unsafe.Pointer(a))
	defer C.free(unsafe.Pointer(b))
	var p *C.llmc_g2p_dict
	if err := call(func() C.llmc_status {
		return C.llmc_g2p_dict_parse(a, C.size_t(len(pinyinDict)), b, C.size_t(len(phrasesDict)), &p)
	}); err != nil {
		return nil, err
	}
	return newG2PDict(p), nil
}

// Close releases the dictionary. Safe to call twice.
func (d *G2PDict) Close() {
	if d.p != nil {
		C.llmc_g2p_dict_free(d.p)
		d.p = nil
	}
	runtime.SetFinalizer(d, nil)
}

// Pinyin is text's TONE3 syllables separated by spaces, with "," and "." for the pauses
// (llmc_g2p_pinyin); toneSandhi gives the tones as spoken.
func (d *G2PDict) Pinyin(text string, toneSandhi bool) (string, error) {
	ctext := C.CString(text)
	defer C.free(unsafe.Pointer(ctext))
	var n C.size_t
	run := func(buf []byte) error {
		var p *C.char
		if len(buf) > 0 {
			p = (*C.char)(unsafe.Pointer(&buf[0]))
		}
		return call(func() C.llmc_status {
			return C.llmc_g2p_pinyin(d.p, ctext, C.size_t(len(text)), C.bool(toneSandhi), p, C.size_t(len(buf)), &n)
		})
	}
	if err := run(nil); err != nil {
		return "", err
	}
	buf := make([]byte, int(n)+1)
	if err := run(buf); err != nil {
		return "", err
	}
	runtime.KeepAlive(d)
	return string(buf[:n]), nil
}

// Phonemes is text's phoneme ids as spoken (llmc_g2p_phonemes); PhonemeSymbol names each.
func (d *G2PDict) Phonemes(text string) ([]uint32, error) {
	ctext := C.CString(text)
	defer C.free(unsafe.Pointer(ctext))
	var n C.size_t
	run := func(ids []uint32) error {
		var p *C.uint32_t
		if len(ids) > 0 {
			p = (*C.uint32_t)(unsafe.Pointer(&ids[0]))
		}
		return call(func() C.llmc_status {
			return C.llmc_g2p_phonemes(d.p, ctext, C.size_t(len(text)), p, C.size_t(len(ids)), &n)
		})
	}
	if err := run(nil); err != nil {
		return nil, err
	}
	ids := make([]uint32, int(n))
	if err := run(ids); err != nil {
		return nil, err
	}
	runtime.KeepAlive(d)
	return ids, nil
}

// PhonemeCount is the size of the phoneme inventory (ids 0 .. PhonemeCount()-1).
func PhonemeCount() int { return int(C.llmc_phoneme_count()) }

// PhonemeSymbol is the symbol of phoneme id ("sil", "zh", "ong1").
func PhonemeSymbol(id uint32) (string, error) {
	var buf [32]C.char
	var n C.size_t
	if err := call(func() C.llmc_status { return C.llmc_phoneme_symbol(C.uint32_t(id), &buf[0], C.size_t(len(buf)), &n) }); err != nil {
		return "", err
	}
	return C.GoStringN(&buf[0], C.int(n)), nil
}

// PhonemeID is the id of the phoneme written symbol.
func PhonemeID(symbol string) (uint32, error) {
	cs := C.CString(symbol)
	defer C.free(unsafe.Pointer(cs))
	var id C.uint32_t
	err := call(func() C.llmc_status { return C.llmc_phoneme_id(cs, &id) })
	return uint32(id), err
}

// CorpusParams say how AudioCorpus analyses each utterance (llmc_audio_corpus_params); start
// from DefaultCorpusParams.
type CorpusParams struct {
	Features             AudioParams
	SilenceDB, MinPauseS float32
}

// DefaultCorpusParams: the fastspeech2 recipe, silence 40 dB below the loudest frame, pauses
// from 0.05 s.
func DefaultCorpusParams() CorpusParams {
	f, _ := DefaultAudioParams("fastspeech2")
	c := C.llmc_audio_corpus_default_params()
	return CorpusParams{Features: f, SilenceDB: float32(c.silence_db), MinPauseS: float32(c.min_pause_s)}
}

// CorpusProgress is where a corpus build is: Done of Total utterances, Utterance
// ("SCENE/SPEAKER/ID") the next one, "" on the last call (after the manifest is written).
type CorpusProgress struct {
	Done, Total int
	Utterance   string
}

// CorpusResult is what a corpus build wrote.
type CorpusResult struct {
	Utterances, Scenes, Speakers, Frames int
	AudioSeconds, Seconds                float64
}

//export goCorpusProgressCallback
func goCorpusProgressCallback(done, total C.size_t, utterance *C.char, userData unsafe.Pointer) C.bool {
	f := (*cgo.Handle)(userData).Value().(func(CorpusProgress) bool)
	u := ""
	if utterance != nil {
		u = C.GoString(utterance)
	}
	return C.bool(f(CorpusProgress{Done: int(done), Total: int(total), Utterance: u}))
}

// AudioCorpus turns the corpus under root (SCENE/SPEAKER/ID.wav with ID.txt) into feature files
// and manifest.json under outDir (llmc_audio_corpus). progress (may be nil) returning false
// cancels with StatusCancelled (no manifest is written).
func AudioCorpus(root, outDir string, dict *G2PDict, p CorpusParams, progress func(CorpusProgress) bool) (CorpusResult, error) {
	features, err := p.Features.c()
	if err != nil {
		return CorpusResult{}, err
	}
	if dict == nil {
		return CorpusResult{}, &Error{Status: StatusNullArgument, Message: "AudioCorpus: dict is nil"}
	}
	// The recipe the C struct points to lives in C memory: cgo forbids a Go pointer inside
	// memory passed to C.
	cf := (*C.llmc_audio_params)(C.malloc(C.size_t(unsafe.Sizeof(features))))
	defer C.free(unsafe.Pointer(cf))
	*cf = features
	c := C.llmc_audio_corpus_default_params()
	c.features = cf
	c.silence_db, c.min_pause_s = C.float(p.SilenceDB), C.float(p.MinPauseS)
	croot, cout := C.CString(root), C.CString(outDir)
	defer C.free(unsafe.Pointer(croot))
	defer C.free(unsafe.Pointer(cout))
	var cb C.llmc_audio_corpus_progress
	var ud unsafe.Pointer
	if progress != nil {
		h := cgo.NewHandle(progress)
		defer h.Delete()
		cb = C.llmc_audio_corpus_progress(C.goCorpusProgressCallback)
		ud = unsafe.Pointer(&h) // a Go pointer to memory without Go pointers, for the call only
	}
	var r C.llmc_audio_corpus_result
	r.struct_size = C.size_t(unsafe.Sizeof(r))
	if err := call(func() C.llmc_status { return C.llmc_audio_corpus(croot, cout, dict.p, &c, cb, ud, &r) }); err != nil {
		return CorpusResult{}, err
	}
	runtime.KeepAlive(dict)
	return CorpusResult{Utterances: int(r.n_utterances), Scenes: int(r.n_scenes),
		Speakers: int(r.n_speakers), Frames: int(r.n_frames), AudioSeconds: float64(r.audio_seconds),
		Seconds: float64(r.seconds)}, nil
}
