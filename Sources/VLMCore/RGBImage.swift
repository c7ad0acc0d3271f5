/// A packed 8-bit RGB image (RGB24, row-major, no row padding): `pixels.count == width * height * 3`.
///
/// This is the hand-off format between the decoder (swscale writes it directly) and the CLIP preprocessor.
public struct RGBImage: Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(pixels.count == width * height * 3, "RGBImage: \(pixels.count) bytes for \(width)x\(height)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// A black image.
    public init(width: Int, height: Int) {
        self.init(width: width, height: height, pixels: [UInt8](repeating: 0, count: width * height * 3))
    }
}

/// An axis-aligned box in normalised frame coordinates (0...1, origin top-left).
public struct Box: Sendable, Hashable, Codable {
    public var x: Double
    public var y: Double
    public var width: Double
    public var height: Double

    public init(x: Double, y: Double, width: Double, height: Double) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    /// The whole frame.
    public static let full = Box(x: 0, y: 0, width: 1, height: 1)
}

extension Box {
    /// `{"x","y","width","height"}`, as every result encoding writes it (`ResultJSON`).
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(ResultJSON.number(x), forKey: .x)
        try c.encode(ResultJSON.number(y), forKey: .y)
        try c.encode(ResultJSON.number(width), forKey: .width)
        try c.encode(ResultJSON.number(height), forKey: .height)
    }
}
