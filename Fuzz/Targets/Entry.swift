import Foundation

// SwiftPM links an executable's `main` to `<module>_main` (here `vlm_fuzz_main`), so libFuzzer's own `main` is not
// used: this entry point hands the command line to libFuzzer's driver with the selected target as the callback.

/// `LLVMFuzzerRunDriver` of libFuzzer (linked by `-sanitize=fuzzer`): parses libFuzzer's flags and runs `callback`.
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

@_cdecl("vlm_fuzz_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    _ = FuzzTargets.selected
    // Fixtures load before libFuzzer starts its clock (their loading is not an input's work).
    if FuzzTargets.selectedName.hasSuffix("-tokenizer") { loadTokenizerFixtures() }
    if ["image-file", "video-container"].contains(FuzzTargets.selectedName) { loadMediaFixtures() }
    var argc = argc
    var argv = argv
    return runFuzzerDriver(&argc, &argv, fuzzOneInput)
}

/// libFuzzer's callback under its usual name too (its own `main` refers to it).
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzTargets.selected(size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
