/* The speech front end through the llmcore C ABI, as an edge TTS app would use it: the preset
 * recipes; a WAV fixture decoded from memory (mono and interleaved); log-mel, energy and F0
 * (pYIN, YIN) with buffers sized by the size queries, compared with `llmcore audio features
 * --json` on the same files (frames, log-mel min / mean / max, mean energy, voiced frames,
 * median F0: the same numbers, bit for bit) and through the resampler against an explicit
 * llmc_audio_resample; Mandarin text to pinyin and phoneme ids with the pypinyin dictionary;
 * the test corpus to feature files with progress, then a cancelled build; a misuse sweep
 * (NULLs, a bad preset and enum values, small buffers left untouched, sample rate 0, empty
 * text, a character without a reading, a truncated WAV, a bad corpus layout). Run by
 * scripts/test-bindings.sh under valgrind memcheck.
 *
 * usage: audio DATA_DIR DICT_DIR SCRATCH_DIR [CLI_NUMBERS]
 *   DATA_DIR     tests/data/audio
 *   DICT_DIR     the pypinyin dictionary (assets/pypinyin, from scripts/fetch-assets.sh)
 *   CLI_NUMBERS  lines "FILE PRESET METHOD FRAMES LOG_MEL_MIN LOG_MEL_MEAN LOG_MEL_MAX
 *                ENERGY_MEAN VOICED_FRAMES F0_MEDIAN_HZ" from `llmcore audio features
 *                --preset PRESET --f0 METHOD DATA_DIR/FILE --json` (the script writes them) */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "check.h"

static const char *data_dir, *dict_dir, *scratch_dir;

static char *path_in(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* The whole file, malloc'd (NULL when it cannot be read). */
static uint8_t *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
    *len = fread(buf, 1, (size_t)n, f);
    fclose(f);
    return buf;
}

/* A decoded fixture. */
typedef struct {
    float *pcm;
    size_t n;
    uint32_t rate;
    uint16_t channels;
} signal;

/* Decodes DATA_DIR/name with the size query first. */
static signal decode(const char *name, bool mono) {
    signal s = {0};
    char *path = path_in(data_dir, name);
    size_t len = 0;
    uint8_t *bytes = read_file(path, &len);
    CHECK(bytes != NULL);
    free(path);
    if (!bytes) return s;
    size_t n = 0;
    EXPECT_OK(llmc_wav_decode(bytes, len, mono, NULL, 0, &s.rate, &s.channels, &n));
    s.pcm = malloc(n * sizeof *s.pcm);
    EXPECT_OK(llmc_wav_decode(bytes, len, mono, s.pcm, n, NULL, NULL, &s.n));
    CHECK(s.n == n);
    free(bytes);
    return s;
}

static llmc_audio_params preset(const char *name) {
    llmc_audio_params p;
    memset(&p, 0, sizeof p);
    EXPECT_OK(llmc_audio_default_params(name, &p));
    return p;
}

static void test_presets(void) {
    llmc_audio_params p = preset("fastspeech2");
    CHECK(p.struct_size == sizeof p && p.sample_rate == 22050 && p.n_fft == 1024 && p.hop == 256);
    CHECK(p.win_length == 1024 && p.n_mels == 80 && p.fmin == 0 && p.fmax == 8000);
    CHECK(p.window == LLMC_AUDIO_WINDOW_HANN && p.mel_scale == LLMC_MEL_SCALE_SLANEY &&
          p.mel_norm == LLMC_MEL_NORM_SLANEY);
    CHECK(p.center && p.pad_mode == LLMC_AUDIO_PAD_REFLECT && !p.drop_last_frame);
    CHECK(p.spectrum == LLMC_AUDIO_SPECTRUM_MAGNITUDE && p.log_recipe == LLMC_AUDIO_LOG_LN &&
          p.log_floor == 1e-5f);
    p = preset("whisper");
    CHECK(p.sample_rate == 16000 && p.n_fft == 400 && p.hop == 160 && p.n_mels == 80);
    CHECK(p.spectrum == LLMC_AUDIO_SPECTRUM_POWER && p.log_recipe == LLMC_AUDIO_LOG_WHISPER);
    CHECK(p.log_floor == 1e-10f && p.log_dynamic_range == 8 && p.drop_last_frame);
}

/* What `llmcore audio features --json` prints about a file, as the script wrote it. */
typedef struct {
    char file[256], preset[32], method[16];
    size_t frames, voiced;
    double lo, mean, hi, energy_mean, f0_median;
} cli_numbers;

static cli_numbers cli[8];
static int n_cli = 0;

static void read_cli(const char *path) {
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    if (!f) return;
    while (n_cli < 8) {
        cli_numbers *c = &cli[n_cli];
        if (fscanf(f, "%255s %31s %15s %zu %lf %lf %lf %lf %zu %lf", c->file, c->preset,
                   c->method, &c->frames, &c->lo, &c->mean, &c->hi, &c->energy_mean, &c->voiced,
                   &c->f0_median) != 10)
            break;
        n_cli++;
    }
    fclose(f);
    CHECK(n_cli > 0);
}

/* Minimum, mean and maximum of the finite values, summed in order in double (as the CLI). */
static void summary(const float *v, size_t n, double *lo, double *mean, double *hi) {
    double l = INFINITY, h = -INFINITY, sum = 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(v[i])) continue;
        double x = v[i];
        l = x < l ? x : l;
        h = x > h ? x : h;
        sum += x;
        k++;
    }
    *lo = l;
    *hi = h;
    *mean = sum / (double)(k ? k : 1);
}

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Log-mel, energy and F0 of DATA_DIR/file with a preset and method ("pyin" or "yin"), compared
 * with the CLI's numbers when the script gave them; returns the frame count. */
static size_t test_analysis(const char *file, const char *preset_name, const char *method,
                            size_t want_frames) {
    signal s = decode(file, true);
    if (!s.pcm) return 0;
    llmc_audio_params p = preset(preset_name);
    size_t frames = 0, queried = 0;
    EXPECT_OK(llmc_audio_n_frames(&p, s.n, s.rate, &frames));
    EXPECT_OK(llmc_audio_features(&p, s.pcm, s.n, s.rate, NULL, 0, NULL, 0, &queried));
    CHECK(frames == want_frames && queried == frames);
    float *log_mel = malloc(frames * p.n_mels * sizeof *log_mel);
    float *energy = malloc(frames * sizeof *energy);
    size_t n = 0;
    EXPECT_OK(llmc_audio_features(&p, s.pcm, s.n, s.rate, log_mel, frames * p.n_mels, energy,
                                  frames, &n));
    CHECK(n == frames);

    llmc_f0_method m = strcmp(method, "pyin") == 0 ? LLMC_F0_PYIN : LLMC_F0_YIN;
    float *f0 = malloc(frames * sizeof *f0), *interp = malloc(frames * sizeof *interp);
    uint8_t *voiced = malloc(frames);
    EXPECT_OK(llmc_audio_f0(&p, m, s.pcm, s.n, s.rate, NULL, NULL, NULL, 0, &n));
    CHECK(n == frames);
    EXPECT_OK(llmc_audio_f0(&p, m, s.pcm, s.n, s.rate, f0, voiced, interp, frames, &n));
    CHECK(n == frames);

    double lo, mean, hi, e_lo, e_mean, e_hi;
    summary(log_mel, frames * p.n_mels, &lo, &mean, &hi);
    summary(energy, frames, &e_lo, &e_mean, &e_hi);
    float *hz = malloc(frames * sizeof *hz);
    size_t n_voiced = 0, n_hz = 0, unvoiced_nan = 1, interp_finite = 1;
    for (size_t t = 0; t < frames; t++) {
        n_voiced += voiced[t] == 1;
        if (voiced[t] == 1 && isfinite(f0[t])) hz[n_hz++] = f0[t];
        if (m == LLMC_F0_PYIN && voiced[t] == 0 && !isnan(f0[t])) unvoiced_nan = 0;
        if (!isfinite(interp[t])) interp_finite = 0;
    }
    CHECK(unvoiced_nan && interp_finite && n_voiced > 0);
    qsort(hz, n_hz, sizeof *hz, cmp_float);
    double median = n_hz ? hz[n_hz / 2] : NAN;
    printf("%s %s %s: %zu frames x %zu mels, log-mel %.4f .. %.4f mean %.6f, energy mean %.4f, "
           "%zu voiced, median F0 %.3f Hz\n",
           file, preset_name, method, frames, p.n_mels, lo, hi, mean, e_mean, n_voiced, median);
    for (int i = 0; i < n_cli; i++) {
        const cli_numbers *c = &cli[i];
        if (strcmp(c->file, file) || strcmp(c->preset, preset_name) || strcmp(c->method, method))
            continue;
        int same = c->frames == frames && c->lo == lo && c->mean == mean && c->hi == hi &&
                   c->energy_mean == e_mean && c->voiced == n_voiced && c->f0_median == median;
        CHECK(same);
        if (!same)
            fprintf(stderr, "  CLI: %zu frames, %.17g %.17g %.17g, energy %.17g, %zu voiced, %.17g\n"
                            "  ABI: %zu frames, %.17g %.17g %.17g, energy %.17g, %zu voiced, %.17g\n",
                    c->frames, c->lo, c->mean, c->hi, c->energy_mean, c->voiced, c->f0_median, frames,
                    lo, mean, hi, e_mean, n_voiced, median);
        else
            printf("  = llmcore audio features --json (%s, %s)\n", preset_name, method);
    }
    free(hz);
    free(log_mel);
    free(energy);
    free(f0);
    free(interp);
    free(voiced);
    free(s.pcm);
    return frames;
}

/* Features through the library's own resampling are those of the explicitly resampled signal,
 * bit for bit; the stereo fixture's mono is the mean of its channels. */
static void test_resampling_and_channels(void) {
    signal s = decode("tone-220.wav", true);
    if (!s.pcm) return;
    CHECK(s.rate == 22050 && s.channels == 1 && s.n == 22050);
    llmc_audio_params w = preset("whisper");
    size_t n16 = 0, frames = 0, frames16 = 0;
    EXPECT_OK(llmc_audio_resample(s.pcm, s.n, s.rate, 16000, NULL, 0, &n16));
    CHECK(n16 == 16000);
    float *pcm16 = malloc(n16 * sizeof *pcm16);
    EXPECT_OK(llmc_audio_resample(s.pcm, s.n, s.rate, 16000, pcm16, n16, &n16));
    EXPECT_OK(llmc_audio_n_frames(&w, s.n, s.rate, &frames));
    CHECK(frames == 100);
    size_t values = frames * w.n_mels;
    float *a = malloc(values * sizeof *a), *b = malloc(values * sizeof *b);
    EXPECT_OK(llmc_audio_features(&w, s.pcm, s.n, s.rate, a, values, NULL, 0, &frames));
    EXPECT_OK(llmc_audio_features(&w, pcm16, n16, 16000, b, values, NULL, 0, &frames16));
    CHECK(frames == frames16 && memcmp(a, b, values * sizeof *a) == 0);
    free(a);
    free(b);
    free(pcm16);
    free(s.pcm);

    signal st = decode("en-120-44k-s24-stereo.wav", false), mono = decode("en-120-44k-s24-stereo.wav", true);
    CHECK(st.rate == 44100 && st.channels == 2 && st.n == 2 * 88200 && mono.n == 88200);
    int same = st.pcm && mono.pcm;
    for (size_t i = 0; same && i < mono.n; i++)
        same = mono.pcm[i] == (st.pcm[2 * i] + st.pcm[2 * i + 1]) / 2.0f;
    CHECK(same);
    free(st.pcm);
    free(mono.pcm);
}

static const char SENTENCE[] = "今天天气很好，我们一起去公园散步吧。";

/* The symbol of phoneme `id` through the size query. */
static char *symbol(uint32_t id) {
    size_t n = 0;
    EXPECT_OK(llmc_phoneme_symbol(id, NULL, 0, &n));
    char *s = malloc(n + 1);
    EXPECT_OK(llmc_phoneme_symbol(id, s, n + 1, &n));
    return s;
}

static void test_g2p(llmc_g2p_dict *d) {
    size_t n = 0;
    EXPECT_OK(llmc_g2p_pinyin(d, SENTENCE, strlen(SENTENCE), false, NULL, 0, &n));
    char *py = malloc(n + 1);
    EXPECT_OK(llmc_g2p_pinyin(d, SENTENCE, strlen(SENTENCE), false, py, n + 1, &n));
    CHECK(strcmp(py, "jin1 tian1 tian1 qi4 hen3 hao3 , wo3 men5 yi4 qi3 qu4 gong1 yuan2 san4 bu4 "
                     "ba5 .") == 0);
    printf("pinyin:   %s\n", py);
    free(py);
    EXPECT_OK(llmc_g2p_pinyin(d, SENTENCE, strlen(SENTENCE), true, NULL, 0, &n));
    py = malloc(n + 1);
    EXPECT_OK(llmc_g2p_pinyin(d, SENTENCE, strlen(SENTENCE), true, py, n + 1, &n));
    printf("sandhi:   %s\n", py);
    free(py);

    EXPECT_OK(llmc_g2p_phonemes(d, SENTENCE, strlen(SENTENCE), NULL, 0, &n));
    uint32_t *ids = malloc(n * sizeof *ids);
    EXPECT_OK(llmc_g2p_phonemes(d, SENTENCE, strlen(SENTENCE), ids, n, &n));
    /* 16 syllables, each a final and, but for 我, 一 and 园 (zero initial: w and y are
     * spelling), an initial; and the two pauses. */
    CHECK(n == 16 + 13 + 2);
    printf("phonemes:");
    for (size_t i = 0; i < n; i++) {
        char *s = symbol(ids[i]);
        printf(" %s", s);
        if (i == 0) CHECK(strcmp(s, "j") == 0);
        if (i == 1) CHECK(strcmp(s, "in1") == 0);
        if (i == n - 1) CHECK(strcmp(s, "sil") == 0);
        uint32_t back = 9999;
        EXPECT_OK(llmc_phoneme_id(s, &back));
        CHECK(back == ids[i]);
        free(s);
    }
    printf(" (%zu ids)\n", n);
    free(ids);
    size_t count = llmc_phoneme_count();
    CHECK(count == 2 + 21 + 5 * 43);
    char *sp = symbol(1), *last = symbol((uint32_t)count - 1);
    CHECK(strcmp(sp, "sp") == 0 && strcmp(last, "ng5") == 0);
    free(sp);
    free(last);
}

typedef struct {
    size_t calls, cancel_at, last_done, last_total;
    int saw_end;
} progress_seen;

static bool on_progress(size_t done, size_t total, const char *utterance, void *user_data) {
    progress_seen *s = user_data;
    s->calls++;
    s->last_done = done;
    s->last_total = total;
    if (!utterance) s->saw_end = done == total;
    else if (done == 0) CHECK(strcmp(utterance, "chat/spk_f3/chat_spk_f3_01") == 0);
    return done < s->cancel_at;
}

static int file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

static void test_corpus(llmc_g2p_dict *d) {
    char *root = path_in(data_dir, "corpus");
    char *out = path_in(scratch_dir, "audio-corpus");
    char *manifest = path_in(out, "manifest.json");
    char *one = path_in(out, "chat/spk_f3/chat_spk_f3_01.safetensors");
    remove(manifest);
    llmc_audio_corpus_params p = llmc_audio_corpus_default_params();
    CHECK(p.struct_size == sizeof p && p.features == NULL && p.silence_db == 40 &&
          p.min_pause_s == 0.05f);
    llmc_audio_corpus_result r = {.struct_size = sizeof r};
    progress_seen seen = {.cancel_at = (size_t)-1};
    EXPECT_OK(llmc_audio_corpus(root, out, d, &p, on_progress, &seen, &r));
    CHECK(r.n_utterances == 16 && r.n_scenes == 4 && r.n_speakers == 2 && r.n_frames > 0);
    CHECK(seen.calls == 17 && seen.saw_end && seen.last_total == 16);
    CHECK(file_exists(manifest) && file_exists(one));
    printf("corpus: %zu utterances, %zu scenes, %zu speakers, %zu frames, %.2f s of audio in "
           "%.2f s\n",
           r.n_utterances, r.n_scenes, r.n_speakers, r.n_frames, r.audio_seconds, r.seconds);
    /* Its tensors load back with the safetensors reader. */
    llmc_tensors *t = NULL;
    EXPECT_OK(llmc_tensors_open(one, &t));
    llmc_tensor_info info = {.struct_size = sizeof info};
    EXPECT_OK(llmc_tensors_info(t, "log_mel", &info));
    CHECK(info.n_dims == 2 && info.shape[1] == 80);
    EXPECT_OK(llmc_tensors_info(t, "phonemes", &info));
    CHECK(info.n_dims == 1 && info.shape[0] > 0);
    llmc_tensors_free(t);

    /* Cancelled before the second utterance: no manifest, the result untouched. */
    char *cancelled = path_in(scratch_dir, "audio-corpus-cancelled");
    char *cancelled_manifest = path_in(cancelled, "manifest.json");
    remove(cancelled_manifest);
    seen = (progress_seen){.cancel_at = 1};
    r.n_utterances = 77;
    EXPECT(llmc_audio_corpus(root, cancelled, d, NULL, on_progress, &seen, &r), LLMC_ERR_CANCELLED,
           "cancelled by the progress callback after 1 of 16 utterances");
    CHECK(seen.calls == 2 && !file_exists(cancelled_manifest) && r.n_utterances == 77);
    free(cancelled);
    free(cancelled_manifest);

    /* Misuse, refused before any work. */
    EXPECT(llmc_audio_corpus(NULL, out, d, NULL, NULL, NULL, NULL), LLMC_ERR_NULL_ARGUMENT,
           "'root' is NULL");
    EXPECT(llmc_audio_corpus(root, out, NULL, NULL, NULL, NULL, NULL), LLMC_ERR_NULL_ARGUMENT,
           "'dict' is NULL");
    p.silence_db = -3;
    EXPECT(llmc_audio_corpus(root, out, d, &p, NULL, NULL, NULL), LLMC_ERR_INVALID_ARGUMENT,
           "params->silence_db -3 must be positive");
    p = llmc_audio_corpus_default_params();
    llmc_audio_params f = preset("whisper");
    f.struct_size = 3;
    p.features = &f;
    EXPECT(llmc_audio_corpus(root, out, d, &p, NULL, NULL, NULL), LLMC_ERR_INVALID_ARGUMENT,
           "'params->features'->struct_size is 3");
    r.struct_size = 1;
    EXPECT(llmc_audio_corpus(root, out, d, NULL, NULL, NULL, &r), LLMC_ERR_INVALID_ARGUMENT,
           "'result'->struct_size is 1");
    EXPECT(llmc_audio_corpus(data_dir, out, d, NULL, NULL, NULL, NULL), LLMC_ERR_INVALID_ARGUMENT,
           "expected only scene directories under the corpus root");
    EXPECT(llmc_audio_corpus("/nonexistent/corpus", out, d, NULL, NULL, NULL, NULL), LLMC_ERR_IO,
           "/nonexistent/corpus");
    free(root);
    free(out);
    free(manifest);
    free(one);
}

static void test_misuse(llmc_g2p_dict *d) {
    /* Presets. */
    llmc_audio_params p = preset("fastspeech2"), kept = p;
    EXPECT(llmc_audio_default_params("tacotron", &p), LLMC_ERR_INVALID_ARGUMENT,
           "unknown feature preset \"tacotron\"; known presets: fastspeech2, whisper");
    EXPECT(llmc_audio_default_params(NULL, &p), LLMC_ERR_NULL_ARGUMENT, "'preset' is NULL");
    EXPECT(llmc_audio_default_params("whisper", NULL), LLMC_ERR_NULL_ARGUMENT, "'out' is NULL");
    CHECK(memcmp(&p, &kept, sizeof p) == 0);

    /* Features and F0: small buffers and bad arguments leave the outputs as they were. */
    float pcm[4000];
    for (int i = 0; i < 4000; i++) pcm[i] = 0.5f * sinf(0.06f * (float)i);
    size_t frames = 0;
    EXPECT_OK(llmc_audio_n_frames(&p, 4000, 22050, &frames));
    CHECK(frames == 4000 / 256 + 1);
    size_t values = frames * 80, n = 12345;
    float *log_mel = malloc(values * sizeof *log_mel), energy[64], f0[64], interp[64];
    uint8_t voiced[64];
    for (size_t i = 0; i < values; i++) log_mel[i] = -7;
    for (int i = 0; i < 64; i++) energy[i] = f0[i] = interp[i] = -7, voiced[i] = 7;
    EXPECT(llmc_audio_features(&p, pcm, 4000, 22050, log_mel, values - 1, energy, 64, &n),
           LLMC_ERR_BUFFER_TOO_SMALL, "'log_mel' holds");
    EXPECT(llmc_audio_features(&p, pcm, 4000, 22050, log_mel, values, energy, frames - 1, &n),
           LLMC_ERR_BUFFER_TOO_SMALL, "'energy' holds");
    EXPECT(llmc_audio_features(&p, NULL, 4000, 22050, log_mel, values, NULL, 0, &n),
           LLMC_ERR_NULL_ARGUMENT, "'pcm' is NULL");
    EXPECT(llmc_audio_features(&p, pcm, 4000, 22050, NULL, values, NULL, 0, &n),
           LLMC_ERR_NULL_ARGUMENT, "'log_mel' is NULL");
    EXPECT(llmc_audio_features(&p, pcm, 4000, 22050, log_mel, values, NULL, 0, NULL),
           LLMC_ERR_NULL_ARGUMENT, "'n_frames' is NULL");
    EXPECT(llmc_audio_features(&p, pcm, 4000, 0, log_mel, values, NULL, 0, &n),
           LLMC_ERR_INVALID_ARGUMENT, "sample_rate is 0");
    EXPECT(llmc_audio_features(&p, pcm, 0, 22050, log_mel, values, NULL, 0, &n),
           LLMC_ERR_INVALID_ARGUMENT, "n_samples is 0");
    llmc_audio_params bad = p;
    bad.struct_size = 16;
    EXPECT(llmc_audio_features(&bad, pcm, 4000, 22050, log_mel, values, NULL, 0, &n),
           LLMC_ERR_INVALID_ARGUMENT, "'params'->struct_size is 16");
    bad = p;
    bad.mel_scale = 7;
    EXPECT(llmc_audio_features(&bad, pcm, 4000, 22050, log_mel, values, NULL, 0, &n),
           LLMC_ERR_INVALID_ARGUMENT, "params->mel_scale 7 (LLMC_MEL_SCALE_SLANEY or _HTK)");
    bad = p;
    bad.hop = 0;
    EXPECT(llmc_audio_features(&bad, pcm, 4000, 22050, log_mel, values, NULL, 0, &n),
           LLMC_ERR_INVALID_ARGUMENT, "params: STFT hop must be at least 1");
    bad = p;
    bad.fmax = 20000;
    EXPECT(llmc_audio_n_frames(&bad, 4000, 22050, &n), LLMC_ERR_INVALID_ARGUMENT, "params: ");
    EXPECT(llmc_audio_f0(&p, 5, pcm, 4000, 22050, f0, voiced, interp, 64, &n),
           LLMC_ERR_INVALID_ARGUMENT, "method 5");
    EXPECT(llmc_audio_f0(&p, LLMC_F0_PYIN, pcm, 4000, 22050, f0, voiced, interp, frames - 1, &n),
           LLMC_ERR_BUFFER_TOO_SMALL, "'f0' holds");
    EXPECT(llmc_audio_f0(&p, LLMC_F0_YIN, pcm, 4000, 0, f0, voiced, interp, 64, &n),
           LLMC_ERR_INVALID_ARGUMENT, "sample_rate is 0");
    float inf_pcm[4000];
    memcpy(inf_pcm, pcm, sizeof pcm);
    inf_pcm[17] = INFINITY;
    EXPECT(llmc_audio_f0(&p, LLMC_F0_YIN, inf_pcm, 4000, 22050, f0, voiced, interp, 64, &n),
           LLMC_ERR_INVALID_ARGUMENT, "sample 17 is inf");
    EXPECT(llmc_audio_resample(pcm, 4000, 22050, 0, NULL, 0, &n), LLMC_ERR_INVALID_ARGUMENT,
           "sample rates must be positive");
    EXPECT(llmc_audio_resample(pcm, 4000, 22050, 16000, f0, 64, &n), LLMC_ERR_BUFFER_TOO_SMALL,
           "'out' holds 64 elements, 2903 needed");
    int untouched = n == 12345;
    for (size_t i = 0; i < values; i++) untouched &= log_mel[i] == -7;
    for (int i = 0; i < 64; i++)
        untouched &= energy[i] == -7 && f0[i] == -7 && interp[i] == -7 && voiced[i] == 7;
    CHECK(untouched);
    free(log_mel);

    /* WAV: a truncated file, garbage, NULLs. */
    char *path = path_in(data_dir, "tone-440.wav");
    size_t len = 0;
    uint8_t *bytes = read_file(path, &len);
    free(path);
    CHECK(bytes != NULL && len > 1000);
    uint32_t rate = 1;
    uint16_t channels = 1;
    n = 12345;
    if (bytes) {
        EXPECT(llmc_wav_decode(bytes, len - 101, true, NULL, 0, &rate, &channels, &n),
               LLMC_ERR_FORMAT, "malformed WAV at byte offset");
        EXPECT(llmc_wav_decode(bytes, 20, true, NULL, 0, &rate, &channels, &n), LLMC_ERR_FORMAT,
               "malformed WAV");
        float small[16];
        small[0] = -7;
        EXPECT(llmc_wav_decode(bytes, len, true, small, 16, &rate, &channels, &n),
               LLMC_ERR_BUFFER_TOO_SMALL, "'samples' holds 16 elements, 22050 needed");
        CHECK(small[0] == -7);
        EXPECT(llmc_wav_decode(bytes, len, true, NULL, 0, &rate, &channels, NULL),
               LLMC_ERR_NULL_ARGUMENT, "'n_samples' is NULL");
        EXPECT(llmc_wav_decode(bytes, len, true, NULL, 16, &rate, &channels, &n),
               LLMC_ERR_NULL_ARGUMENT, "'samples' is NULL");
    }
    EXPECT(llmc_wav_decode((const uint8_t *)"RIFF\0\0\0\0WAVEjunk", 16, true, NULL, 0, &rate,
                           &channels, &n),
           LLMC_ERR_FORMAT, "malformed WAV");
    EXPECT(llmc_wav_decode(NULL, 100, true, NULL, 0, &rate, &channels, &n), LLMC_ERR_NULL_ARGUMENT,
           "'bytes' is NULL");
    CHECK(rate == 1 && channels == 1 && n == 12345);
    free(bytes);

    /* G2P. */
    llmc_g2p_dict *const sentinel = (llmc_g2p_dict *)&p;
    llmc_g2p_dict *out = sentinel;
    EXPECT(llmc_g2p_dict_load("/nonexistent/pypinyin", &out), LLMC_ERR_IO,
           "/nonexistent/pypinyin/pinyin_dict.json");
    EXPECT(llmc_g2p_dict_load(NULL, &out), LLMC_ERR_NULL_ARGUMENT, "'dir' is NULL");
    EXPECT(llmc_g2p_dict_load(dict_dir, NULL), LLMC_ERR_NULL_ARGUMENT, "'out' is NULL");
    const char junk[] = "{\n\"20013\": \"zhōng\"\n";
    EXPECT(llmc_g2p_dict_parse(junk, strlen(junk), "{\n}\n", 4, &out), LLMC_ERR_FORMAT,
           "pinyin_dict.json");
    CHECK(out == sentinel);
    uint32_t ids[4] = {7, 7, 7, 7};
    char buf[8] = "keep";
    n = 12345;
    EXPECT(llmc_g2p_phonemes(d, SENTENCE, strlen(SENTENCE), ids, 4, &n), LLMC_ERR_BUFFER_TOO_SMALL,
           "'ids' holds 4 elements");
    EXPECT(llmc_g2p_phonemes(d, "", 0, ids, 4, &n), LLMC_ERR_INVALID_ARGUMENT, "the text is empty");
    EXPECT(llmc_g2p_phonemes(d, NULL, 0, ids, 4, &n), LLMC_ERR_INVALID_ARGUMENT,
           "the text is empty");
    EXPECT(llmc_g2p_phonemes(d, "我爱LLM", strlen("我爱LLM"), ids, 4, &n), LLMC_ERR_INVALID_ARGUMENT,
           "\"LLM\" at character 2 (byte 6) of the text has no Mandarin reading");
    EXPECT(llmc_g2p_phonemes(NULL, SENTENCE, strlen(SENTENCE), ids, 4, &n), LLMC_ERR_NULL_ARGUMENT,
           "'dict' is NULL");
    EXPECT(llmc_g2p_phonemes(d, "\xe4\xbb", 2, ids, 4, &n), LLMC_ERR_INVALID_ARGUMENT,
           "'text' is not UTF-8");
    EXPECT(llmc_g2p_pinyin(d, SENTENCE, strlen(SENTENCE), true, buf, sizeof buf, &n),
           LLMC_ERR_BUFFER_TOO_SMALL, "'buf' holds 8 elements");
    EXPECT(llmc_g2p_pinyin(d, " \n", 2, true, buf, sizeof buf, &n), LLMC_ERR_INVALID_ARGUMENT,
           "the text is empty");
    EXPECT(llmc_g2p_pinyin(d, SENTENCE, strlen(SENTENCE), true, buf, sizeof buf, NULL),
           LLMC_ERR_NULL_ARGUMENT, "'n_out' is NULL");
    uint32_t id = 7;
    EXPECT(llmc_phoneme_symbol((uint32_t)llmc_phoneme_count(), buf, sizeof buf, &n),
           LLMC_ERR_INVALID_ARGUMENT, "is outside the inventory");
    EXPECT(llmc_phoneme_id("xx", &id), LLMC_ERR_INVALID_ARGUMENT, "no phoneme is written \"xx\"");
    EXPECT(llmc_phoneme_id(NULL, &id), LLMC_ERR_NULL_ARGUMENT, "'symbol' is NULL");
    CHECK(ids[0] == 7 && ids[3] == 7 && strcmp(buf, "keep") == 0 && n == 12345 && id == 7);
    llmc_g2p_dict_free(NULL);
}

int main(int argc, char **argv) {
    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: %s DATA_DIR DICT_DIR SCRATCH_DIR [CLI_NUMBERS]\n", argv[0]);
        return 2;
    }
    data_dir = argv[1];
    dict_dir = argv[2];
    scratch_dir = argv[3];
    if (argc == 5) read_cli(argv[4]);
    test_presets();
    CHECK(test_analysis("zh-150-16k-s16.wav", "whisper", "pyin", 746) == 746);
    CHECK(test_analysis("tone-220.wav", "fastspeech2", "yin", 87) == 87);
    test_resampling_and_channels();
    llmc_g2p_dict *d = NULL;
    EXPECT_OK(llmc_g2p_dict_load(dict_dir, &d));
    if (d) {
        test_g2p(d);
        test_corpus(d);
        test_misuse(d);
    }
    llmc_g2p_dict_free(d);
    return check_summary("audio");
}
