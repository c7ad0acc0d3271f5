/// Pixel-exact views of an image: a rectangle of it, its mirror image (example-image crops for queries).
extension RGBImage {
    /// The `width` × `height` rectangle whose top-left pixel is (`x`, `y`), clamped to the image (at least 1 × 1).
    public func cropped(x: Int, y: Int, width: Int, height: Int) -> RGBImage {
        let x0 = min(max(0, x), self.width - 1)
        let y0 = min(max(0, y), self.height - 1)
        let w = min(max(1, width), self.width - x0)
        let h = min(max(1, height), self.height - y0)
        var out = [UInt8](repeating: 0, count: w * h * 3)
        for row in 0..<h {
            let src = ((y0 + row) * self.width + x0) * 3
            out[(row * w * 3)..<((row + 1) * w * 3)] = pixels[src..<(src + w * 3)]
        }
        return RGBImage(width: w, height: h, pixels: out)
    }

    /// The image flipped left to right.
    public func mirrored() -> RGBImage {
        var out = [UInt8](repeating: 0, count: pixels.count)
        for row in 0..<height {
            for col in 0..<width {
                let src = (row * width + col) * 3
                let dst = (row * width + (width - 1 - col)) * 3
                out[dst] = pixels[src]
                out[dst + 1] = pixels[src + 1]
                out[dst + 2] = pixels[src + 2]
            }
        }
        return RGBImage(width: width, height: height, pixels: out)
    }
}
