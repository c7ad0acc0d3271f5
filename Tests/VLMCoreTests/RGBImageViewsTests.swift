import Testing
import VLMCore

/// `cropped` and `mirrored` against pixel-by-pixel expectations on a 5 × 3 image whose pixels encode their place.
@Suite("RGBImage views")
struct RGBImageViewsTests {
    /// Pixel (x, y) holds (x, y, 7).
    static let image: RGBImage = {
        var pixels: [UInt8] = []
        for y in 0..<3 { for x in 0..<5 { pixels += [UInt8(x), UInt8(y), 7] } }
        return RGBImage(width: 5, height: 3, pixels: pixels)
    }()

    @Test func cropTakesTheRectangle() {
        let crop = Self.image.cropped(x: 1, y: 1, width: 3, height: 2)
        #expect(crop.width == 3 && crop.height == 2)
        #expect(crop.pixels == [1, 1, 7, 2, 1, 7, 3, 1, 7, 1, 2, 7, 2, 2, 7, 3, 2, 7])
    }

    @Test func cropIsClampedToTheImage() {
        let crop = Self.image.cropped(x: 4, y: -2, width: 10, height: 10)
        #expect(crop.width == 1 && crop.height == 3)
        #expect(crop.pixels == [4, 0, 7, 4, 1, 7, 4, 2, 7])
        let corner = Self.image.cropped(x: 99, y: 99, width: 0, height: 0)
        #expect(corner.width == 1 && corner.height == 1 && corner.pixels == [4, 2, 7])
    }

    @Test func mirrorFlipsEachRowAndTwiceIsTheIdentity() {
        let mirror = Self.image.mirrored()
        #expect(Array(mirror.pixels[0..<6]) == [4, 0, 7, 3, 0, 7])
        #expect(Array(mirror.pixels[(14 * 3)..<(15 * 3)]) == [0, 2, 7])
        #expect(mirror.mirrored() == Self.image)
    }
}
