// swift-tools-version:6.0
//
// vlm-stream: FFmpeg → Dispatch stage graph → CLIP ViT (Swift over its own AVX2 kernels) → queries, events, captions → MQTT.
//
// Each C library sits behind its own system-library target (module map + shim.h), and exactly one Swift module
// imports each: COpenBLAS → VLMTensor, CFFmpeg → VLMVideo, CMosquitto → VLMPublish; libsentencepiece (C++) is
// reached through CSentencePieceShim's extern "C" functions, imported only by SentencePiece. FFmpeg is not linked:
// CFFmpegLoader loads it when VLMVideo first needs it.
import PackageDescription

let package = Package(
    name: "vlm-stream",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "vlm-stream", targets: ["vlm-stream"]),
        .library(name: "CLIP", targets: ["CLIP"]),
        .library(name: "GIT", targets: ["GIT"]),
        .library(name: "VLMGraph", targets: ["VLMGraph"]),
        .library(name: "VLMPipeline", targets: ["VLMPipeline"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.0"),
    ],
    targets: [
        // MARK: - C libraries (Debian: libavformat-dev libavcodec-dev libswscale-dev libavdevice-dev,
        // libopenblas-dev, libmosquitto-dev, libsentencepiece-dev)
        // FFmpeg's headers only: its libraries are loaded on first use by CFFmpegLoader, not linked.
        .systemLibrary(
            name: "CFFmpeg",
            providers: [.apt(["libavformat-dev", "libavcodec-dev", "libswscale-dev", "libavdevice-dev"])]
        ),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CMosquitto", pkgConfig: "libmosquitto", providers: [.apt(["libmosquitto-dev"])]),
        .systemLibrary(
            name: "CSentencePiece", pkgConfig: "sentencepiece", providers: [.apt(["libsentencepiece-dev"])]),
        // extern "C" wrappers over libsentencepiece's C++ SentencePieceProcessor (a system library holds no sources).
        .target(name: "CSentencePieceShim", dependencies: ["CSentencePiece"]),
        // FFmpeg's functions under their own names, each calling the library's, which is loaded with dlopen the first
        // time VLMVideo needs it: processes that decode nothing do not map FFmpeg's ~110 dependencies.
        .target(name: "CFFmpegLoader", dependencies: ["CFFmpeg"]),

        // MARK: - Libraries
        .target(name: "VLMCore"),
        // vlm-stream's own matrix kernel (C with AVX2+FMA intrinsics, chosen at run time; portable C elsewhere).
        .target(name: "CVLMKernels"),
        .target(name: "VLMTensor", dependencies: ["COpenBLAS", "CVLMKernels", "VLMCore"]),
        // SentencePieceProcessor: the one Swift owner of a libsentencepiece processor.
        .target(name: "SentencePiece", dependencies: ["CSentencePieceShim", "VLMCore"]),
        .target(
            name: "CLIP",
            dependencies: [
                "VLMCore", "VLMTensor", "SentencePiece", .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // GIT (GitForCausalLM): CLIP's image tower, a BERT-style decoder, greedy and beam search, WordPiece.
        .target(
            name: "GIT",
            dependencies: ["VLMCore", "VLMTensor", "CLIP", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "VLMVideo",
            dependencies: ["CFFmpeg", "CFFmpegLoader", "VLMCore", .product(name: "Logging", package: "swift-log")]
        ),
        .target(name: "VLMMatch", dependencies: ["VLMCore", "VLMTensor", "Yams"]),
        .target(
            name: "VLMCaption",
            dependencies: ["VLMCore", "Yams", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "VLMPublish",
            dependencies: [
                "CMosquitto", "VLMCore", .product(name: "Logging", package: "swift-log"),
                .product(name: "DequeModule", package: "swift-collections"),
            ]
        ),
        .target(
            name: "VLMIndex",
            dependencies: [
                "VLMCore", "VLMTensor", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"), .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The stage graph: queues, flow limiter, batcher, stages. Knows frames and results, not models or video.
        .target(
            name: "VLMGraph",
            dependencies: [
                "VLMCore", .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "DequeModule", package: "swift-collections"),
            ]
        ),
        // The composition: a running system (sources, encoders, analyzers, sinks, MQTT, metrics, the index) from a
        // spec, run as services under swift-service-lifecycle.
        .target(
            name: "VLMPipeline",
            dependencies: [
                "VLMCore", "VLMGraph", "VLMTensor", "VLMVideo", "VLMMatch", "VLMCaption", "VLMPublish", "VLMIndex",
                "CLIP", "GIT", "Yams", "VLMServe", .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "DequeModule", package: "swift-collections"),
            ]
        ),
        // The web server: the archive (search, thumbnails, videos) and a running pipeline's live view and metrics
        // over HTTP, pages rendered with Mustache.
        .target(
            name: "VLMServe",
            dependencies: [
                "VLMCore", "VLMIndex", "VLMVideo", "CLIP", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Mustache", package: "swift-mustache"), .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"), "VLMPublish",
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "vlm-stream",
            dependencies: [
                "VLMCore", "CLIP", "GIT", "VLMVideo", "VLMGraph", "VLMPipeline", "VLMMatch", "VLMCaption", "VLMPublish",
                "VLMIndex", "VLMServe",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // MARK: - Tests (fixtures live in Tests/Fixtures; TestSupport finds them and runs helpers)
        .target(
            name: "TestSupport",
            dependencies: [
                "VLMCore", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Tests/TestSupport"
        ),
        .testTarget(name: "VLMTensorTests", dependencies: ["VLMTensor", "VLMCore", "TestSupport"]),
        .testTarget(
            name: "CLIPTests",
            dependencies: ["CLIP", "VLMVideo", "TestSupport", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .testTarget(name: "GITTests", dependencies: ["GIT", "CLIP", "VLMTensor", "TestSupport"]),
        .testTarget(name: "SigLIPTests", dependencies: ["CLIP", "SentencePiece", "TestSupport"]),
        .testTarget(name: "VLMVideoTests", dependencies: ["VLMVideo", "TestSupport"]),
        .testTarget(name: "VLMMatchTests", dependencies: ["VLMMatch", "CLIP", "TestSupport"]),
        .testTarget(name: "VLMCaptionTests", dependencies: ["VLMCaption", "CLIP", "TestSupport"]),
        .testTarget(name: "VLMPublishTests", dependencies: ["VLMPublish", "TestSupport"]),
        .testTarget(name: "VLMIndexTests", dependencies: ["VLMIndex", "TestSupport"]),
        .testTarget(name: "VLMCoreTests", dependencies: ["VLMCore"]),
        .testTarget(name: "VLMGraphTests", dependencies: ["VLMGraph", "TestSupport"]),
        .testTarget(
            name: "VLMPipelineTests",
            dependencies: [
                "VLMPipeline", "VLMGraph", "VLMIndex", "VLMVideo", "VLMCaption", "VLMPublish", "CLIP", "TestSupport",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "VLMServeTests",
            dependencies: [
                "VLMServe", "VLMIndex", "VLMCore", "CLIP", "TestSupport",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "CLITests", dependencies: ["VLMCore", "VLMIndex", "VLMPipeline", "VLMPublish", "TestSupport"]),
    ],
    cxxLanguageStandard: .cxx17
)

// MARK: - Fuzz targets (scripts/fuzz sets VLM_FUZZ=1; a normal build never compiles them)
// One libFuzzer executable, vlm-fuzz, holds every target in Fuzz/Targets (VLM_FUZZ_TARGET picks one). The
// project's own modules (Swift and C) are built with coverage and AddressSanitizer; the dependencies are not
// instrumented, so a fuzz build after a normal one recompiles only this package. lld links it (gold fails on the
// sanitizer runtime's debug info).
if Context.environment["VLM_FUZZ"] == "1" {
    let sanitize = ["-sanitize=fuzzer,address"]
    let cTargets: Set = ["CVLMKernels", "CSentencePieceShim"]
    // CFFmpegLoader only forwards calls to FFmpeg, which is not instrumented either.
    for target in package.targets
    where target.type == .regular && target.name != "TestSupport" && target.name != "CFFmpegLoader" {
        if cTargets.contains(target.name) {
            let flags = ["-fsanitize=fuzzer-no-link,address"]
            target.cSettings = (target.cSettings ?? []) + [.unsafeFlags(flags)]
            target.cxxSettings = (target.cxxSettings ?? []) + [.unsafeFlags(flags)]
        } else {
            target.swiftSettings = (target.swiftSettings ?? []) + [.unsafeFlags(sanitize)]
        }
    }
    package.targets.append(
        .executableTarget(
            name: "vlm-fuzz",
            dependencies: [
                "VLMCore", "CLIP", "GIT", "SentencePiece", "VLMVideo", "VLMCaption", "VLMPublish", "VLMIndex",
                "VLMPipeline", "VLMServe", .product(name: "HummingbirdCore", package: "hummingbird"),
            ],
            path: "Fuzz/Targets",
            swiftSettings: [.unsafeFlags(sanitize + ["-parse-as-library"])],
            linkerSettings: [.unsafeFlags(sanitize + ["-use-ld=lld"])]
        )
    )
}
