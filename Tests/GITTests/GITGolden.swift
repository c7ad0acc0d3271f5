import Foundation
import GIT
import TestSupport

/// The goldens `scripts/golden/make_tiny_git.py` wrote into `Tests/Fixtures/tiny-git-golden/`.
enum GITGolden {
    static let directory = Fixtures.url("tiny-git-golden")
    static let models = ["tiny-git", "tiny-git-vqa", "tiny-git-video"]

    /// `manifest.json`: tensor names map to `{"file", "shape"}`, other entries are plain JSON.
    static var manifest: [String: Any] {
        guard let data = try? Data(contentsOf: directory.appendingPathComponent("manifest.json")),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return [:] }
        return object
    }

    /// The tensor `name`: its shape and row-major values.
    static func tensor(_ name: String) throws -> (shape: [Int], values: [Float]) {
        guard let entry = manifest[name] as? [String: Any], let file = entry["file"] as? String,
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

    /// The pixel values of `model`'s goldens, (B, F, 3, S, S): the (B, F, 3, 7, 7) grid with each value repeated
    /// over a block, `pixel[c, y, x] = grid[c, min(y / block, 6), min(x / block, 6)]`.
    static func pixels(_ model: String, size: Int) throws -> (values: [Float], batch: Int) {
        let grid = try tensor("\(model).pixel_grid")
        let block = manifest["\(model).pixel_block"] as? Int ?? 1
        let planes = grid.shape[0] * grid.shape[1] * grid.shape[2]
        var out = [Float](repeating: 0, count: planes * size * size)
        for plane in 0..<planes {
            for y in 0..<size {
                for x in 0..<size {
                    out[(plane * size + y) * size + x] =
                        grid.values[plane * 49 + min(y / block, 6) * 7 + min(x / block, 6)]
                }
            }
        }
        return (out, grid.shape[0])
    }

    static func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
        guard a.count == b.count else { return .infinity }
        return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }

    static func maxAbs(_ a: [Float]) -> Float { a.reduce(0) { max($0, abs($1)) } }

    /// 1e-4 × max(1, max |reference|).
    static func tolerance(_ reference: [Float]) -> Float { 1e-4 * max(1, maxAbs(reference)) }

    static var report: Bool { ProcessInfo.processInfo.environment["GOLDEN_REPORT"] != nil }
}
