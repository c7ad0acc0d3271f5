import VLMCore

/// A region of a frame in pixels, and the same region as a normalised ``Box``.
public struct PixelRegion: Sendable, Hashable {
    public var x: Int
    public var y: Int
    public var width: Int
    public var height: Int

    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    /// This region as a fraction of a `frameWidth`×`frameHeight` frame.
    public func box(frameWidth: Int, frameHeight: Int) -> Box {
        Box(
            x: Double(x) / Double(frameWidth), y: Double(y) / Double(frameHeight),
            width: Double(width) / Double(frameWidth), height: Double(height) / Double(frameHeight))
    }
}

/// Where the encoder views come from in a frame: the preprocessing window, and tile squares.
public enum ViewLayout {
    /// CLIP's square preprocessing as geometry (``ImagePreprocessing/clip(side:)``): resize so the shortest side
    /// is S (long side `int(S × long / short)`), then the S×S window at `((new − S) // 2)`.
    public static func clipResize(
        width: Int, height: Int, size: Int
    ) -> (resizedWidth: Int, resizedHeight: Int, window: PixelRegion) {
        let g = ImagePreprocessing.clip(side: size).geometry(width: width, height: height)
        return (
            g.resizedWidth, g.resizedHeight,
            PixelRegion(x: g.cropX, y: g.cropY, width: g.cropWidth, height: g.cropHeight)
        )
    }

    /// The tile squares of `grid`, row by row from the top left: for each cell, the square of side
    /// max(cell width, cell height) (at most the frame's shorter side) centred on the cell, moved inside the frame.
    public static func tiles(_ grid: TileGrid, width: Int, height: Int) -> [PixelRegion] {
        let cellWidth = Double(width) / Double(grid.columns)
        let cellHeight = Double(height) / Double(grid.rows)
        let side = min(Int(max(cellWidth, cellHeight).rounded(.up)), min(width, height))
        var regions: [PixelRegion] = []
        regions.reserveCapacity(grid.columns * grid.rows)
        for row in 0..<grid.rows {
            for column in 0..<grid.columns {
                let centreX = (Double(column) + 0.5) * cellWidth
                let centreY = (Double(row) + 0.5) * cellHeight
                let x = min(max(0, Int((centreX - Double(side) / 2).rounded())), width - side)
                let y = min(max(0, Int((centreY - Double(side) / 2).rounded())), height - side)
                regions.append(PixelRegion(x: x, y: y, width: side, height: side))
            }
        }
        return regions
    }

    /// The size of an aspect-preserving preview `width` pixels wide (never upscaled; even dimensions).
    public static func previewSize(width: Int, frameWidth: Int, frameHeight: Int) -> (width: Int, height: Int) {
        let w = min(width, frameWidth)
        let h = Int((Double(w) * Double(frameHeight) / Double(frameWidth)).rounded())
        return (max(2, w & ~1), max(2, h & ~1))
    }
}
