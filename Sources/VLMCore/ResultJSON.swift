import Foundation

/// The one JSON encoding of results (scores, events, captions, labels, status), shared by JSON Lines, the MQTT
/// payloads and the index's moments.
///
/// - Keys are snake_case, spelled out by each type's `CodingKeys` (`start_pts`, `peak_score`, `end_pts`).
/// - Keys are sorted, so a document's bytes are stable for tests and diffs.
/// - Numbers are rounded to 6 decimals; a NaN or infinity (JSON has none) is written as `null`, never as a number
///   a consumer would take for a measurement.
/// - Slashes are not escaped (paths and topics read as written).
public enum ResultJSON {
    /// An encoder with the conventions above.
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Types route numbers through `number`; this only guards a future field that forgets.
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return encoder
    }

    /// The UTF-8 JSON bytes of `value`.
    public static func bytes<T: Encodable>(_ value: T) -> [UInt8] {
        // Encoding these types cannot fail: every number is finite and every key a string.
        Array((try? encoder().encode(value)) ?? Data("{}".utf8))
    }

    /// `value` as one line of JSON text (no newline).
    public static func line<T: Encodable>(_ value: T) -> String {
        String(decoding: bytes(value), as: UTF8.self)
    }

    /// `value` rounded to 6 decimals (as is past 1e9, where that could overflow), or nil (`null`) when it is NaN or
    /// infinite.
    public static func number(_ value: Double) -> Double? {
        guard value.isFinite else { return nil }
        return abs(value) < 1e9 ? (value * 1e6).rounded() / 1e6 : value
    }
}
