// swift-tools-version:5.7
// SwiftPM package over libllmcore's C API: a system-library module (CLLMCore) over the
// installed llmcore.h, found with pkg-config, and a Swift wrapper (LLMCore) mirroring the C++
// one. UNTESTED: no Swift toolchain was available where it was written (see README.md).
import PackageDescription

let package = Package(
    name: "LLMCore",
    products: [
        .library(name: "LLMCore", targets: ["LLMCore"]),
    ],
    targets: [
        .systemLibrary(
            name: "CLLMCore",
            path: "Sources/CLLMCore",
            pkgConfig: "llmcore",
            providers: []
        ),
        .target(name: "LLMCore", dependencies: ["CLLMCore"]),
        .testTarget(name: "LLMCoreTests", dependencies: ["LLMCore"]),
    ]
)
