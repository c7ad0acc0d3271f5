import Foundation

/// libFuzzer entry: every MQTT control payload goes through `ControlRequest.parse`, the function the client calls,
/// for each action. A rejection is the expected outcome; a trap or sanitizer report is a finding.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzControlRequest(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let payload = Array(UnsafeBufferPointer(start: data, count: size))
    for action in ControlRequest.Action.allCases {
        _ = try? ControlRequest.parse(payload, action: action)
    }
    return 0
}
