// XCTest of the Swift wrapper on the real SmolLM2 model (LLMCORE_ASSETS or ../../assets).
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
}
