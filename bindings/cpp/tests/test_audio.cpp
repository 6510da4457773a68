// Tests of the C++ wrapper's speech front end (needs no model); run under valgrind by
// scripts/test-bindings.sh. The wrappers give the raw C calls' bits (features, F0, resampling,
// decoding); G2PDict loads from a folder and from memory alike; a two-utterance corpus builds
// with progress, and a progress callback that throws cancels with its own exception; errors
// throw llmcore::Error with the library's status and message.
//   usage: test_audio DATA_DIR DICT_DIR SCRATCH_DIR
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include "llmcore.hpp"

#include "check.hpp"

namespace fs = std::filesystem;

static std::string slurp(const fs::path &p) {
    std::ifstream f(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
}

static bool same_bits(const std::vector<float> &a, const std::vector<float> &b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: test_audio DATA_DIR DICT_DIR SCRATCH_DIR\n");
        return 2;
    }
    using namespace llmcore;
    const fs::path data = argv[1], dict_dir = argv[2], scratch = argv[3];

    // Presets and decoding.
    AudioParams whisper("whisper"), fs2;
    CHECK(whisper.c.sample_rate == 16000 && fs2.c.sample_rate == 22050 && fs2.c.n_mels == 80);
    EXPECT_ERROR(AudioParams("tacotron"), LLMC_ERR_INVALID_ARGUMENT,
                 "known presets: fastspeech2, whisper");
    std::string bytes = slurp(data / "zh-150-16k-s16.wav");
    Wav w = decode_wav(bytes.data(), bytes.size());
    CHECK(w.sample_rate == 16000 && w.channels == 1 && w.samples.size() == 119512);
    Wav stereo = decode_wav(std::vector<uint8_t>(bytes.begin(), bytes.end()), false);
    CHECK(same_bits(stereo.samples, w.samples)); // one channel: the same either way
    EXPECT_ERROR(decode_wav(bytes.data(), bytes.size() / 2), LLMC_ERR_FORMAT,
                 "llmc_wav_decode: malformed WAV at byte offset");

    // Features and F0 are the raw calls' bits.
    Features f = audio_features(w.samples, w.sample_rate, whisper);
    CHECK(f.n_frames == 746 && f.n_mels == 80 && f.log_mel.size() == 746 * 80);
    std::vector<float> lm(f.log_mel.size()), en(f.n_frames);
    std::size_t n = 0;
    CHECK(llmc_audio_features(&whisper.c, w.samples.data(), w.samples.size(), 16000, lm.data(),
                              lm.size(), en.data(), en.size(), &n) == LLMC_OK);
    CHECK(n == f.n_frames && same_bits(lm, f.log_mel) && same_bits(en, f.energy));
    CHECK(f.at(3, 5) == lm[3 * 80 + 5]);
    F0Track t = audio_f0(w.samples, w.sample_rate, F0Method::Pyin, whisper);
    CHECK(t.f0.size() == f.n_frames && t.voiced.size() == f.n_frames);
    std::size_t voiced = 0;
    bool nan_where_unvoiced = true;
    for (std::size_t i = 0; i < t.f0.size(); i++) {
        voiced += t.voiced[i];
        if (!t.voiced[i] && !std::isnan(t.f0[i])) nan_where_unvoiced = false;
    }
    CHECK(voiced == 474 && nan_where_unvoiced);
    std::printf("zh-150-16k-s16.wav whisper: %zu frames, %zu voiced (pYIN)\n", f.n_frames, voiced);

    // Through the resampler: the library's own resampling is resample()'s.
    Features at22k = audio_features(w.samples, w.sample_rate); // fastspeech2: 16 kHz -> 22,050
    std::vector<float> up = resample(w.samples, 16000, 22050);
    CHECK(up.size() == (119512ull * 22050 + 15999) / 16000);
    CHECK(same_bits(audio_features(up, 22050).log_mel, at22k.log_mel));
    CHECK(at22k.n_frames == audio_n_frames(w.samples.size(), 16000));
    F0Track yin = audio_f0(up, 22050, F0Method::Yin);
    CHECK(yin.f0.size() == at22k.n_frames);
    EXPECT_ERROR(audio_features(w.samples, 0), LLMC_ERR_INVALID_ARGUMENT, "sample_rate is 0");
    EXPECT_ERROR(audio_features({}, 16000), LLMC_ERR_INVALID_ARGUMENT, "n_samples is 0");
    AudioParams bad("whisper");
    bad.c.win_length = 401;
    EXPECT_ERROR(audio_features(w.samples, 16000, bad), LLMC_ERR_INVALID_ARGUMENT,
                 "params: STFT win_length 401 must be in 1..=n_fft (400)");
    bad = AudioParams();
    bad.c.log_recipe = 3;
    EXPECT_ERROR(audio_f0(w.samples, 16000, F0Method::Yin, bad), LLMC_ERR_INVALID_ARGUMENT,
                 "params->log_recipe 3");
    EXPECT_ERROR(audio_f0(w.samples, 16000, static_cast<F0Method>(9)), LLMC_ERR_INVALID_ARGUMENT,
                 "method 9");
    EXPECT_ERROR(resample(w.samples, 16000, 0), LLMC_ERR_INVALID_ARGUMENT,
                 "sample rates must be positive");

    // G2P, from a folder and from memory.
    G2PDict d = G2PDict::load(dict_dir.string());
    const std::string text = "今天天气很好，我们一起去公园散步吧。";
    std::string py = d.pinyin(text, false);
    CHECK(py == "jin1 tian1 tian1 qi4 hen3 hao3 , wo3 men5 yi4 qi3 qu4 gong1 yuan2 san4 bu4 ba5 .");
    std::vector<uint32_t> ids = d.phonemes(text);
    CHECK(ids.size() == 31 && phoneme_symbol(ids.front()) == "j" &&
          phoneme_symbol(ids.back()) == "sil");
    for (uint32_t id : ids) CHECK(phoneme_id(phoneme_symbol(id)) == id);
    CHECK(phoneme_count() == 238 && phoneme_symbol(237) == "ng5");
    G2PDict mem = G2PDict::parse(slurp(dict_dir / "pinyin_dict.json"),
                                 slurp(dict_dir / "phrases_dict.json"));
    CHECK(mem.phonemes(text) == ids && mem.pinyin(text) == d.pinyin(text));
    std::printf("pinyin: %s\n", d.pinyin(text).c_str());
    EXPECT_ERROR(d.phonemes("我爱C++"), LLMC_ERR_INVALID_ARGUMENT, "\"C++\" at character 2");
    EXPECT_ERROR(d.pinyin(""), LLMC_ERR_INVALID_ARGUMENT, "the text is empty");
    EXPECT_ERROR(phoneme_symbol(238), LLMC_ERR_INVALID_ARGUMENT, "outside the inventory");
    EXPECT_ERROR(phoneme_id("q9"), LLMC_ERR_INVALID_ARGUMENT, "no phoneme is written \"q9\"");
    EXPECT_ERROR(G2PDict::load((scratch / "no-such-dict").string()), LLMC_ERR_IO,
                 "pinyin_dict.json");

    // A corpus of two utterances.
    fs::path root = scratch / "cpp-corpus", out = scratch / "cpp-corpus-out";
    fs::remove_all(root);
    fs::remove_all(out);
    fs::create_directories(root / "chat" / "spk_f3");
    for (const char *id : {"chat_spk_f3_01", "chat_spk_f3_02"})
        for (const char *ext : {".wav", ".txt"})
            fs::copy_file(data / "corpus" / "chat" / "spk_f3" / (std::string(id) + ext),
                          root / "chat" / "spk_f3" / (std::string(id) + ext));
    std::vector<std::string> seen;
    llmc_audio_corpus_result r =
        audio_corpus(root.string(), out.string(), d, CorpusParams(), [&](const CorpusProgress &p) {
            seen.push_back(std::to_string(p.done) + "/" + std::to_string(p.total) + " " +
                           std::string(p.utterance));
            return true;
        });
    CHECK(r.n_utterances == 2 && r.n_scenes == 1 && r.n_speakers == 1 && r.n_frames > 0);
    CHECK(seen.size() == 3 && seen[0] == "0/2 chat/spk_f3/chat_spk_f3_01" && seen[2] == "2/2 ");
    CHECK(fs::exists(out / "manifest.json"));
    Tensors feats = Tensors::open((out / "chat" / "spk_f3" / "chat_spk_f3_02.safetensors").string());
    CHECK(feats.info("log_mel").shape[1] == 80 && feats.metadata("speaker") == "spk_f3");
    std::printf("corpus: %zu utterances, %zu frames, %.2f s of audio\n", r.n_utterances,
                r.n_frames, r.audio_seconds);
    CorpusParams whisper_corpus;
    whisper_corpus.features = AudioParams("whisper");
    fs::path out2 = scratch / "cpp-corpus-cancelled";
    fs::remove_all(out2);
    try {
        audio_corpus(root.string(), out2.string(), d, whisper_corpus,
                     [](const CorpusProgress &p) -> bool {
                         if (p.done == 1) throw std::runtime_error("stop here");
                         return true;
                     });
        CHECK(false);
    } catch (const std::runtime_error &e) {
        CHECK(std::string(e.what()) == "stop here");
    }
    CHECK(!fs::exists(out2 / "manifest.json"));
    EXPECT_ERROR(audio_corpus(root.string(), out2.string(), d, CorpusParams(),
                              [](const CorpusProgress &) { return false; }),
                 LLMC_ERR_CANCELLED, "after 0 of 2 utterances");
    CorpusParams loud;
    loud.c.silence_db = 0;
    EXPECT_ERROR(audio_corpus(root.string(), out2.string(), d, loud), LLMC_ERR_INVALID_ARGUMENT,
                 "params->silence_db 0");
    fs::remove_all(root);
    fs::remove_all(out);
    fs::remove_all(out2);

    std::printf("cpp audio: %d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
