import Foundation

/// Paths to the repository's committed test data, found relative to this source file so tests run from any
/// working directory.
public enum Fixtures {
    /// The repository root.
    public static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // TestSupport
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()

    /// `Tests/Fixtures/<name>`.
    public static func url(_ name: String) -> URL {
        root.appendingPathComponent("Tests/Fixtures").appendingPathComponent(name)
    }

    /// `SampleVideos/<name>`.
    public static func sampleVideo(_ name: String) -> URL {
        root.appendingPathComponent("SampleVideos").appendingPathComponent(name)
    }

    /// A fresh empty directory under the system temporary directory.
    public static func temporaryDirectory(_ label: String = "vlm-test") throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(label)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A copy of the fixture directory `name` (a checkpoint) in a fresh directory, for tests that break one file.
    public static func copy(_ name: String) throws -> URL {
        let directory = try temporaryDirectory(name)
        for file in try FileManager.default.contentsOfDirectory(atPath: url(name).path) {
            try FileManager.default.copyItem(
                at: url(name).appendingPathComponent(file), to: directory.appendingPathComponent(file))
        }
        return directory
    }
}
