import VLMCore

/// A port of Pillow's `ImagingResample` for 8-bit RGB (libImaging/Resample.c): separable convolution, horizontal
/// pass then vertical pass, filter support scaled by the downscale factor (antialiasing), coefficients normalised
/// to sum 1 and quantised to 22-bit fixed point, each pass rounded and clamped to uint8.
enum PILResampler {
    static let precisionBits = 32 - 8 - 2

    /// Pillow's filters: support radius and kernel (bicubic with a = -0.5).
    static func support(_ filter: ImagePreprocessing.Resample) -> Double {
        switch filter {
        case .nearest: return 0  // handled separately
        case .bilinear: return 1
        case .bicubic: return 2
        }
    }

    @inline(__always)
    static func kernel(_ filter: ImagePreprocessing.Resample, _ x: Double) -> Double {
        let x = abs(x)
        switch filter {
        case .bicubic:
            let a = -0.5
            if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
            if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
            return 0
        case .bilinear:
            return x < 1 ? 1 - x : 0
        case .nearest:
            return 0
        }
    }

    /// Per output pixel of a window: first input index and fixed-point weights (`precompute_coeffs` +
    /// `normalize_coeffs_8bpc`); entry `i` is output pixel `window.lowerBound + i`.
    struct Coefficients {
        var bounds: [(start: Int, count: Int)]
        var weights: [Int32]  // `kernelSize` per output pixel
        var kernelSize: Int
    }

    /// The coefficients of the output pixels in `window` (all `outSize` by default).
    static func coefficients(
        inSize: Int, outSize: Int, filter: ImagePreprocessing.Resample, window: Range<Int>? = nil
    ) -> Coefficients {
        let window = window ?? 0..<outSize
        let scale = Double(inSize) / Double(outSize)
        let filterScale = max(scale, 1)
        let support = support(filter) * filterScale
        let kernelSize = Int(support.rounded(.up)) * 2 + 1
        var bounds: [(Int, Int)] = []
        bounds.reserveCapacity(window.count)
        var weights = [Int32](repeating: 0, count: window.count * kernelSize)
        var k = [Double](repeating: 0, count: kernelSize)
        let inverse = 1 / filterScale
        for (i, xx) in window.enumerated() {
            let center = (Double(xx) + 0.5) * scale
            let xmin = max(Int(center - support + 0.5), 0)  // C (int) truncation; arguments are > -1 here
            let xmax = min(Int(center + support + 0.5), inSize) - xmin
            var total = 0.0
            for x in 0..<xmax {
                let w = kernel(filter, (Double(x + xmin) - center + 0.5) * inverse)
                k[x] = w
                total += w
            }
            for x in 0..<xmax {
                let w = total != 0 ? k[x] / total : k[x]
                let scaled = w * Double(1 << precisionBits)
                weights[i * kernelSize + x] = Int32(w < 0 ? (-0.5 + scaled) : (0.5 + scaled))
            }
            bounds.append((xmin, xmax))
        }
        return Coefficients(bounds: bounds, weights: weights, kernelSize: kernelSize)
    }

    @inline(__always)
    static func clip8(_ value: Int32) -> UInt8 {
        let shifted = value >> Int32(precisionBits)
        return UInt8(clamping: shifted)
    }

    /// Pillow's `Image.resize((width, height), filter)` on an RGB image, computing only the output pixels in
    /// `rows` × `columns` (all of them by default). Each output pixel depends on its own coefficients alone, so a
    /// window is exactly the same pixels as cropping the whole result, at the window's cost: a centre crop of a
    /// 1 × 60000 picture resized to a 224 px shortest edge computes 224 × 224 pixels, not 224 × 13 million.
    static func resize(
        _ image: RGBImage, width: Int, height: Int, filter: ImagePreprocessing.Resample,
        rows: Range<Int>? = nil, columns: Range<Int>? = nil
    ) -> RGBImage {
        let rows = rows ?? 0..<height
        let columns = columns ?? 0..<width
        guard !rows.isEmpty, !columns.isEmpty else { return RGBImage(width: columns.count, height: rows.count) }
        if filter == .nearest { return nearest(image, width: width, height: height, rows: rows, columns: columns) }
        // The vertical pass reads these source rows (Pillow's ybox_first / ybox_last); the horizontal pass makes
        // only them.
        let vertical =
            height == image.height
            ? nil : coefficients(inSize: image.height, outSize: height, filter: filter, window: rows)
        var sourceRows = rows
        if let vertical, let first = vertical.bounds.first, let last = vertical.bounds.last {
            sourceRows = first.start..<(last.start + last.count)
        }
        let horizontal =
            width == image.width
            ? window(image, rows: sourceRows, columns: columns)
            : horizontal(image, width: width, filter: filter, rows: sourceRows, columns: columns)
        guard let vertical else { return horizontal }
        return Self.vertical(horizontal, coefficients: vertical, firstSourceRow: sourceRows.lowerBound)
    }

    /// The pixels of `image` in `rows` × `columns`.
    static func window(_ image: RGBImage, rows: Range<Int>, columns: Range<Int>) -> RGBImage {
        if rows == 0..<image.height && columns == 0..<image.width { return image }
        var out = [UInt8]()
        out.reserveCapacity(rows.count * columns.count * 3)
        for y in rows {
            let start = (y * image.width + columns.lowerBound) * 3
            out.append(contentsOf: image.pixels[start..<start + columns.count * 3])
        }
        return RGBImage(width: columns.count, height: rows.count, pixels: out)
    }

    // MARK: - Passes

    /// The horizontal pass to `width` columns, of source `rows` and output `columns` only.
    static func horizontal(
        _ image: RGBImage, width: Int, filter: ImagePreprocessing.Resample, rows: Range<Int>, columns: Range<Int>
    ) -> RGBImage {
        let c = coefficients(inSize: image.width, outSize: width, filter: filter, window: columns)
        let outWidth = columns.count
        var out = [UInt8](repeating: 0, count: outWidth * rows.count * 3)
        let half = Int32(1 << (precisionBits - 1))
        image.pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                c.weights.withUnsafeBufferPointer { w in
                    for (yo, y) in rows.enumerated() {
                        let row = y * image.width * 3
                        for xx in 0..<outWidth {
                            let (start, count) = c.bounds[xx]
                            let kw = xx * c.kernelSize
                            var r = half
                            var g = half
                            var b = half
                            for x in 0..<count {
                                let p = row + (start + x) * 3
                                let k = w[kw + x]
                                r &+= Int32(src[p]) &* k
                                g &+= Int32(src[p + 1]) &* k
                                b &+= Int32(src[p + 2]) &* k
                            }
                            let o = (yo * outWidth + xx) * 3
                            dst[o] = clip8(r)
                            dst[o + 1] = clip8(g)
                            dst[o + 2] = clip8(b)
                        }
                    }
                }
            }
        }
        return RGBImage(width: outWidth, height: rows.count, pixels: out)
    }

    /// The vertical pass with `coefficients` (one entry per output row), over an image whose first row is source
    /// row `firstSourceRow`.
    static func vertical(_ image: RGBImage, coefficients c: Coefficients, firstSourceRow: Int) -> RGBImage {
        let height = c.bounds.count
        let rowBytes = image.width * 3
        var out = [UInt8](repeating: 0, count: rowBytes * height)
        let half = Int32(1 << (precisionBits - 1))
        var accumulator = [Int32](repeating: 0, count: rowBytes)
        image.pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                c.weights.withUnsafeBufferPointer { w in
                    accumulator.withUnsafeMutableBufferPointer { acc in
                        for yy in 0..<height {
                            let (start, count) = c.bounds[yy]
                            for i in 0..<rowBytes { acc[i] = half }
                            // Row-wise accumulation keeps the inner loop contiguous (same sums as Pillow's order).
                            for y in 0..<count {
                                let k = w[yy * c.kernelSize + y]
                                let row = (start - firstSourceRow + y) * rowBytes
                                for i in 0..<rowBytes { acc[i] &+= Int32(src[row + i]) &* k }
                            }
                            let o = yy * rowBytes
                            for i in 0..<rowBytes { dst[o + i] = clip8(acc[i]) }
                        }
                    }
                }
            }
        }
        return RGBImage(width: image.width, height: height, pixels: out)
    }

    /// Pillow's NEAREST: source pixel at floor((x + 0.5) * scale), for output `rows` × `columns`.
    static func nearest(
        _ image: RGBImage, width: Int, height: Int, rows: Range<Int>, columns: Range<Int>
    ) -> RGBImage {
        var out = [UInt8](repeating: 0, count: rows.count * columns.count * 3)
        let sx = Double(image.width) / Double(width)
        let sy = Double(image.height) / Double(height)
        var d = 0
        for y in rows {
            let srcY = min(Int((Double(y) + 0.5) * sy), image.height - 1)
            for x in columns {
                let srcX = min(Int((Double(x) + 0.5) * sx), image.width - 1)
                let s = (srcY * image.width + srcX) * 3
                out[d] = image.pixels[s]
                out[d + 1] = image.pixels[s + 1]
                out[d + 2] = image.pixels[s + 2]
                d += 3
            }
        }
        return RGBImage(width: columns.count, height: rows.count, pixels: out)
    }
}
