/// One sampled video frame on its way through the graph.
///
/// `views[0]` is always the whole frame, scaled and centre-cropped to the encoder's input size; further views are
/// tiles (`--tiles`), each already scaled to the same size, with the box they cover.
public struct Frame: Sendable {
    /// One encoder-ready image and the part of the frame it shows.
    public struct View: Sendable {
        public var box: Box
        public var image: RGBImage

        public init(box: Box, image: RGBImage) {
            self.box = box
            self.image = image
        }
    }

    /// Stream name (from the pipeline file, or derived from the input).
    public var stream: String
    /// Decode-order number of this frame in its stream (for logs and ordering only, never for time).
    public var sequence: Int
    public var time: MediaTime
    public var views: [View]
    /// A small grey thumbnail (e.g. 32×32 luma) for the scene-change gate; empty when no gate runs.
    public var luma: [UInt8]
    /// The whole frame at a caption model's own preprocessing (its preprocessor_config.json's resize and crop),
    /// made in the same decode as `views` when a caption model is configured; never encoded by the graph.
    public var captionImage: RGBImage?

    public init(
        stream: String, sequence: Int, time: MediaTime, views: [View], luma: [UInt8] = [], captionImage: RGBImage? = nil
    ) {
        self.stream = stream
        self.sequence = sequence
        self.time = time
        self.views = views
        self.luma = luma
        self.captionImage = captionImage
    }
}
