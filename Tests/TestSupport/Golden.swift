import Foundation

/// The reference activations `scripts/golden/make_tiny_clip.py` dumped from transformers into
/// `Tests/Fixtures/tiny-clip-golden/` (raw little-endian float32 files plus `manifest.json` with their shapes).
public enum Golden {
    /// The directory holding the goldens.
    public static let directory = Fixtures.url("tiny-clip-golden")

    /// `manifest.json` as a dictionary: tensor names map to `{"file", "shape"}`, other entries are plain JSON.
    public static func manifest(in directory: URL = Golden.directory) throws -> [String: Any] {
        let data = try Data(contentsOf: directory.appendingPathComponent("manifest.json"))
        return try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
    }

    /// The tensor `name` (e.g. `tiny-clip.vision.layer0`): its shape and row-major values.
    /// `directory` is another golden set (e.g. `Fixtures.url("tiny-siglip-golden")`).
    public static func tensor(_ name: String, in directory: URL = Golden.directory) throws -> (
        shape: [Int], values: [Float]
    ) {
        guard let entry = try manifest(in: directory)[name] as? [String: Any], let file = entry["file"] as? String,
            let shape = entry["shape"] as? [Int]
        else { throw CocoaError(.fileReadCorruptFile, userInfo: [NSFilePathErrorKey: name]) }
        let data = try Data(contentsOf: directory.appendingPathComponent(file))
        let values = data.withUnsafeBytes { raw in
            (0..<(data.count / 4)).map {
                Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)))
            }
        }
        return (shape, values)
    }

    /// Largest |a − b| over two equally long arrays (∞ when the lengths differ).
    public static func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
        guard a.count == b.count else { return .infinity }
        return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }

    /// Largest |x| of an array (the scale tolerances are stated relative to).
    public static func maxAbs(_ a: [Float]) -> Float { a.reduce(0) { max($0, abs($1)) } }
}
