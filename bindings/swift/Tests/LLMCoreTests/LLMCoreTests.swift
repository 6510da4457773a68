// XCTest of the Swift wrapper on the real SmolLM2 model and the pypinyin dictionary
// (LLMCORE_ASSETS or ../../assets), and on the WAV fixtures of tests/data/audio.
// UNTESTED: written without a Swift toolchain (see README.md).
import XCTest

@testable import LLMCore

final class LLMCoreTests: XCTestCase {
    var modelPath: String {
        let env = ProcessInfo.processInfo.environment["LLMCORE_ASSETS"]
        let dir = env ?? URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().appendingPathComponent("../../../../assets").path
        return dir + "/models/SmolLM2-135M-Instruct.Q4_1.gguf"
    }

    func testVersionAndErrors() throws {
        XCTAssertEqual(version().split(separator: ".").count, 3)
        XCTAssertThrowsError(try Model(path: "/nonexistent.gguf")) { error in
            XCTAssertEqual((error as? LLMCoreError)?.kind, .io)
        }
        let model = try Model(path: modelPath)
        let info = try model.info()
        XCTAssertEqual(info.arch, "llama")
        XCTAssertEqual(info.vocabSize, 49152)
        XCTAssertThrowsError(try model.detokenize([info.vocabSize])) { error in
            XCTAssertEqual((error as? LLMCoreError)?.kind, .tokenOutOfRange)
        }
        let session = try Session(model: model, nCtx: 4)
        XCTAssertThrowsError(try session.eval([Token](repeating: 1, count: 5))) { error in
            XCTAssertEqual((error as? LLMCoreError)?.kind, .contextOverflow)
        }
    }

    func testSchedule() throws {
        let base = #"{"model": "gpt-1.3b", "micro_batch": 1, "global_batch": 8"#
        let plan = try schedule(base + #", "tp": 2, "pp": 2, "policy": "heu"}"#)
        XCTAssertTrue(plan.contains(#""policy":"heu""#))
        XCTAssertTrue(plan.contains(#""tp":2,"pp":2"#))
        XCTAssertThrowsError(try schedule(base)) { error in
            XCTAssertEqual((error as? LLMCoreError)?.kind, .format)
        }
        XCTAssertThrowsError(try schedule(base + #", "tp": 3}"#)) { error in
            XCTAssertEqual((error as? LLMCoreError)?.kind, .invalidArgument)
            XCTAssertTrue((error as? LLMCoreError)?.message.contains("attention heads") ?? false)
        }
    }

    func testTokenizeAndGenerate() throws {
        let model = try Model(path: modelPath)
        let text = "The capital of France is"
        let tokens = try model.tokenize(text)
        XCTAssertEqual(try model.detokenize(tokens), text)
        XCTAssertEqual(try model.metadata("general.architecture"), "llama")

        var params = GenerateParams()
        params.c.max_tokens = 12
        var streamed = ""
        let g1 = try Session(model: model, nCtx: 64).generate(tokens, params: params) {
            streamed += $0
            return true
        }
        XCTAssertEqual(g1.tokens, 12)
        XCTAssertEqual(g1.text, streamed)
        let g2 = try Session(model: model, nCtx: 64).generate(tokens, params: params)
        XCTAssertEqual(g1.text, g2.text)

        var pieces = 0
        let g3 = try Session(model: model, nCtx: 64).generate(tokens, params: params) { _ in
            pieces += 1
            return pieces < 2
        }
        XCTAssertEqual(g3.stopReason, .callback)
    }

    func testForkAndSavedStateContinueLikeFreshSessions() throws {
        let model = try Model(path: modelPath)
        let tokens = try model.tokenize("The lighthouse keeper counted the ships")
        let prompt = Array(tokens[0..<3]), more = Array(tokens[3..<5])
        let base = try Session(model: model, nCtx: 64)
        _ = try base.eval(prompt)
        let fork = try base.fork()
        let whole = try Session(model: model, nCtx: 64)
        XCTAssertEqual(try fork.eval(more), try whole.eval(Array(tokens[0..<5])))
        let state = try base.saveState()
        let resumed = try Session(model: model, nCtx: 64)
        try resumed.loadState(state)
        XCTAssertEqual(try resumed.saveState(), state)
        XCTAssertEqual(try resumed.eval(more), try base.eval(more))
        XCTAssertThrowsError(try resumed.loadState(Array(state.dropLast())))
        XCTAssertEqual(try resumed.count(), 5)
    }

    func testSpeculateGreedyIsGenerate() throws {
        let model = try Model(path: modelPath)
        let tokens = try model.tokenize("The capital of France is")
        var gp = GenerateParams()
        gp.c.max_tokens = 24
        let plain = try Session(model: model).generate(tokens, params: gp)
        var selfDraft = SpecParams()
        selfDraft.generate = gp
        selfDraft.draft = .selfDraft
        selfDraft.c.self_draft_layers = 8
        var ngram = SpecParams()
        ngram.generate = gp
        for p in [selfDraft, ngram] {
            var streamed = ""
            let r = try Session(model: model).speculate(tokens, params: p) {
                streamed += $0
                return true
            }
            XCTAssertEqual(r.generation.text, plain.text)
            XCTAssertEqual(streamed, plain.text)
            XCTAssertEqual(r.generation.tokens, plain.tokens)
            XCTAssertGreaterThanOrEqual(r.meanAcceptedLength, 1)
        }
        var bad = selfDraft
        bad.c.self_draft_layers = 30
        XCTAssertThrowsError(try Session(model: model).speculate(tokens, params: bad)) {
            XCTAssertEqual(($0 as? LLMCoreError)?.kind, .invalidArgument)
            XCTAssertTrue(($0 as? LLMCoreError)?.message.contains("self_draft_layers") ?? false)
        }
        bad = ngram
        bad.draft = .model
        XCTAssertThrowsError(try Session(model: model).speculate(tokens, params: bad)) {
            XCTAssertEqual(($0 as? LLMCoreError)?.kind, .nullArgument)
        }
    }

    func testPerplexityProgressAndCancel() throws {
        let model = try Model(path: modelPath)
        let tokens = try model.tokenize("The capital of France is")
        var params = PerplexityParams()
        params.c.ctx = 4
        var calls = 0
        let r = try model.perplexity(tokens, params: params) { _, _ in
            calls += 1
            return true
        }
        XCTAssertEqual(r.windows, 1)
        XCTAssertEqual(calls, 1)
        XCTAssertThrowsError(try model.perplexity(tokens, params: params) { _, _ in false }) {
            XCTAssertEqual(($0 as? LLMCoreError)?.kind, .cancelled)
        }
        let ll = try model.loglikelihood(context: Array(tokens[0..<2]), continuation: [tokens[2]])
        XCTAssertLessThan(ll.logprob, 0)
    }

    var repoRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../../..")
    }

    func testAudioFeaturesAndF0() throws {
        let url = repoRoot.appendingPathComponent("tests/data/audio/zh-150-16k-s16.wav")
        let wav = try decodeWAV([UInt8](try Data(contentsOf: url)))
        XCTAssertEqual(wav.sampleRate, 16000)
        XCTAssertEqual(wav.samples.count, 119512)
        let whisper = try AudioParams(preset: "whisper")
        let f = try audioFeatures(wav.samples, sampleRate: wav.sampleRate, params: whisper)
        XCTAssertEqual(f.frames, 746)
        XCTAssertEqual(f.logMel.count, 746 * 80)
        let t = try audioF0(wav.samples, sampleRate: wav.sampleRate, params: whisper)
        XCTAssertEqual(t.voiced.filter { $0 }.count, 474)
        let up = try resample(wav.samples, fromRate: 16000, toRate: 22050)
        let fs2 = try AudioParams()
        XCTAssertEqual(
            try audioFeatures(up, sampleRate: 22050, params: fs2).logMel,
            try audioFeatures(wav.samples, sampleRate: 16000, params: fs2).logMel)
        XCTAssertThrowsError(try AudioParams(preset: "tacotron")) {
            XCTAssertEqual(($0 as? LLMCoreError)?.kind, .invalidArgument)
        }
        XCTAssertThrowsError(try audioFeatures(wav.samples, sampleRate: 0, params: fs2)) {
            XCTAssertEqual(($0 as? LLMCoreError)?.kind, .invalidArgument)
        }
        XCTAssertThrowsError(try decodeWAV([UInt8](repeating: 0, count: 10))) {
            XCTAssertEqual(($0 as? LLMCoreError)?.kind, .format)
        }
    }

    func testG2P() throws {
        let env = ProcessInfo.processInfo.environment["LLMCORE_ASSETS"]
        let assets = env ?? repoRoot.appendingPathComponent("assets").path
        let dict = try G2PDictionary(directory: assets + "/pypinyin")
        let text = "今天天气很好，我们一起去公园散步吧。"
        XCTAssertEqual(
            try dict.pinyin(text, toneSandhi: false),
            "jin1 tian1 tian1 qi4 hen3 hao3 , wo3 men5 yi4 qi3 qu4 gong1 yuan2 san4 bu4 ba5 .")
        let ids = try dict.phonemes(text)
        XCTAssertEqual(ids.count, 31)
        XCTAssertEqual(try phonemeSymbol(ids[0]), "j")
        XCTAssertEqual(try phonemeID("sil"), ids.last)
        XCTAssertEqual(phonemeCount(), 238)
        XCTAssertThrowsError(try dict.phonemes("我爱Swift")) {
            XCTAssertEqual(($0 as? LLMCoreError)?.kind, .invalidArgument)
        }
    }
}
