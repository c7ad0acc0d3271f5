import VLMCore

/// How a video's stored pixels are turned for display: a clockwise rotation by a multiple of 90°, then an optional
/// horizontal mirror. Phones store portrait video as landscape pixels plus this flag (the display matrix side
/// data, or the older `rotate` tag); players and the ffmpeg CLI honour it, and so does ``VideoSource``: its views,
/// tiles, boxes, luma thumbnail and preview are all of the displayed picture.
public struct VideoOrientation: Sendable, Hashable, CustomStringConvertible {
    /// Clockwise rotation in degrees: 0, 90, 180 or 270.
    public let rotation: Int
    /// Whether the rotated picture is then mirrored left to right.
    public let mirrored: Bool

    /// An orientation; `rotation` is normalised to 0, 90, 180 or 270 (it must be a multiple of 90).
    public init(rotation: Int, mirrored: Bool = false) {
        precondition(rotation % 90 == 0, "VideoOrientation: rotation \(rotation) is not a multiple of 90")
        self.rotation = ((rotation % 360) + 360) % 360
        self.mirrored = mirrored
    }

    /// The stored pixels are shown as they are.
    public static let identity = VideoOrientation(rotation: 0)

    public var isIdentity: Bool { rotation == 0 && !mirrored }

    /// `rotated 90° clockwise`, `mirrored`, `rotated 270° clockwise and mirrored`, or `none`.
    public var description: String {
        switch (rotation, mirrored) {
        case (0, false): return "none"
        case (0, true): return "mirrored"
        case (let r, false): return "rotated \(r)° clockwise"
        case (let r, true): return "rotated \(r)° clockwise and mirrored"
        }
    }

    // MARK: - Pixel mapping

    /// As a transpose of the stored picture followed by flips of the result (the 8 symmetries of a rectangle).
    var transposes: Bool { rotation % 180 == 90 }
    /// Whether columns of the (transposed) picture are reversed.
    var flipsX: Bool { (rotation == 90 || rotation == 180) != mirrored }
    /// Whether rows of the (transposed) picture are reversed.
    var flipsY: Bool { rotation == 180 || rotation == 270 }

    /// The displayed size of a stored `width`×`height` picture.
    public func displayedSize(width: Int, height: Int) -> (width: Int, height: Int) {
        transposes ? (height, width) : (width, height)
    }

    /// The stored size that shows as `width`×`height`.
    func storedSize(width: Int, height: Int) -> (width: Int, height: Int) {
        transposes ? (height, width) : (width, height)
    }

    /// The stored pixel shown at (`x`, `y`) of a displayed `width`×`height` picture.
    @inline(__always)
    func storedPoint(x: Int, y: Int, width: Int, height: Int) -> (x: Int, y: Int) {
        let u = flipsX ? width - 1 - x : x
        let v = flipsY ? height - 1 - y : y
        return transposes ? (v, u) : (u, v)
    }

    /// The stored region shown as `region` of a displayed `width`×`height` picture.
    func storedRegion(_ region: PixelRegion, width: Int, height: Int) -> PixelRegion {
        let u = flipsX ? width - region.x - region.width : region.x
        let v = flipsY ? height - region.y - region.height : region.y
        return transposes
            ? PixelRegion(x: v, y: u, width: region.height, height: region.width)
            : PixelRegion(x: u, y: v, width: region.width, height: region.height)
    }

    /// `window` (displayed coordinates, may reach outside: black there) of the displayed form of a packed stored
    /// picture `stored` of `storedWidth`×`storedHeight` pixels with `channels` bytes each.
    func window(
        _ window: PixelRegion, of stored: UnsafeBufferPointer<UInt8>, storedWidth: Int, storedHeight: Int,
        channels: Int
    ) -> [UInt8] {
        let (width, height) = displayedSize(width: storedWidth, height: storedHeight)
        let count = window.width * window.height * channels
        return [UInt8](unsafeUninitializedCapacity: count) { out, initialized in
            var o = 0
            for row in 0..<window.height {
                let y = window.y + row
                for column in 0..<window.width {
                    let x = window.x + column
                    if x < 0 || y < 0 || x >= width || y >= height {
                        for c in 0..<channels { out[o + c] = 0 }
                    } else {
                        let p = storedPoint(x: x, y: y, width: width, height: height)
                        let s = (p.y * storedWidth + p.x) * channels
                        for c in 0..<channels { out[o + c] = stored[s + c] }
                    }
                    o += channels
                }
            }
            initialized = count
        }
    }
}
