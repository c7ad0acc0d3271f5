import Testing

@testable import VLMVideo

@Suite("FrameSampler and layouts")
struct FrameSamplerTests {
    private func sampled(_ policy: SamplingPolicy, times: [Double], keys: Set<Int> = []) -> [Int] {
        var sampler = FrameSampler(policy: policy)
        return times.indices.filter { sampler.shouldSample(seconds: times[$0], isKeyframe: keys.contains($0)) }
    }

    @Test("fps: constant 30 fps at 2 fps gives frames 0, 15, 30 ...")
    func constantRate() {
        let times = (0..<90).map { Double($0) / 30 }
        #expect(sampled(.fps(2), times: times) == [0, 15, 30, 45, 60, 75])
    }

    @Test("fps: variable frame rate samples by time, not by count")
    func variableRate() {
        // A burst of 10 frames in 0.1 s, then a frame every 0.4 s.
        let times = (0..<10).map { Double($0) / 100 } + [0.4, 0.8, 1.2, 1.6, 2.0]
        #expect(sampled(.fps(2), times: times) == [0, 11, 12, 13, 14])
        #expect(sampled(.fps(1), times: times) == [0, 12, 14])
    }

    @Test("fps: a sampling rate above the frame rate takes every frame")
    func oversampling() {
        #expect(sampled(.fps(30), times: [0, 0.1, 0.2, 0.3]) == [0, 1, 2, 3])
    }

    @Test("fps: a backwards jump in time (restarted stream) starts over")
    func restart() {
        #expect(sampled(.fps(1), times: [10, 10.5, 11, 11.5, 0, 0.5, 1]) == [0, 2, 4, 6])
    }

    @Test("every N and keyframes")
    func everyAndKeyframes() {
        let times = (0..<10).map(Double.init)
        #expect(sampled(.every(3), times: times) == [0, 3, 6, 9])
        #expect(sampled(.every(1), times: times) == Array(0..<10))
        #expect(sampled(.keyframes, times: times, keys: [0, 4, 8]) == [0, 4, 8])
    }

    @Test("centre square and tile squares cover the frame without distortion")
    func layouts() {
        // Reference: 768x576 -> 298x224 (int(224 * 768 / 576) = 298), window x = (298 - 224) // 2 = 37.
        let plaza = ViewLayout.clipResize(width: 768, height: 576, size: 224)
        #expect(plaza.resizedWidth == 298 && plaza.resizedHeight == 224)
        #expect(plaza.window == PixelRegion(x: 37, y: 0, width: 224, height: 224))
        let portrait = ViewLayout.clipResize(width: 240, height: 320, size: 224)
        #expect(portrait.resizedWidth == 224 && portrait.resizedHeight == 298 && portrait.window.y == 37)
        let square = ViewLayout.clipResize(width: 400, height: 400, size: 224)
        #expect(square.resizedWidth == 224 && square.window == PixelRegion(x: 0, y: 0, width: 224, height: 224))
        let tiles = ViewLayout.tiles(TileGrid(columns: 3, rows: 1), width: 900, height: 300)
        #expect(tiles.map(\.x) == [0, 300, 600])
        #expect(tiles.allSatisfy { $0.width == 300 && $0.height == 300 && $0.y == 0 })
        let grid = ViewLayout.tiles(TileGrid(columns: 2, rows: 2), width: 640, height: 480)
        #expect(grid.map(\.width) == [320, 320, 320, 320])
        #expect(grid.map(\.y) == [0, 0, 160, 160])
        // Every pixel is in some tile.
        for y in stride(from: 0, to: 480, by: 7) {
            for x in stride(from: 0, to: 640, by: 7) {
                #expect(grid.contains { x >= $0.x && x < $0.x + $0.width && y >= $0.y && y < $0.y + $0.height })
            }
        }
        #expect(TileGrid(parsing: "3x2") == TileGrid(columns: 3, rows: 2))
        #expect(TileGrid(parsing: "0x2") == nil && TileGrid(parsing: "2") == nil)
        #expect(ViewLayout.previewSize(width: 320, frameWidth: 720, frameHeight: 528) == (320, 234))
    }

    @Test("inputs parse from command-line text")
    func inputs() {
        #expect(VideoInput(parsing: "-") == .pipe(0))
        #expect(VideoInput(parsing: "/dev/video0") == .camera("/dev/video0"))
        #expect(VideoInput(parsing: "rtsp://u:pw@cam.local/stream1") == .network("rtsp://u:pw@cam.local/stream1"))
        #expect(VideoInput(parsing: "rtsp://u:pw@cam.local/stream1").description == "rtsp://u:***@cam.local/stream1")
        #expect(VideoInput(parsing: "rtsp://cam.local:554/live/ch1").defaultStreamName == "cam.local/ch1")
        #expect(VideoInput(parsing: "clips/a b.mp4") == .file("clips/a b.mp4"))
        #expect(VideoInput(parsing: "clips/a.mp4").defaultStreamName == "a")
        #expect(VideoInput(parsing: "file:///tmp/x.mkv") == .file("/tmp/x.mkv"))
        #expect(ReconnectPolicy().delay(forAttempt: 1) == 0.5)
        #expect(ReconnectPolicy().delay(forAttempt: 3) == 2)
        #expect(ReconnectPolicy().delay(forAttempt: 20) == 30)
    }
}

@Suite("FrameSampler at hostile rates")
struct FrameSamplerHostileTests {
    @Test("fps inf, 1e308 and huge times sample every frame instead of trapping")
    func hugeRates() {
        for fps in [Double.infinity, 1e308, 9.3e18] {
            var sampler = FrameSampler(policy: .fps(fps))
            let taken = [0, 0.5, 1e300, 1].filter { sampler.shouldSample(seconds: $0, isKeyframe: false) }
            #expect(taken.count == 4, "\(fps)")
        }
        var sampler = FrameSampler(policy: .fps(2))
        let taken = sampler.shouldSample(seconds: 1e300, isKeyframe: false)
        #expect(taken)
    }
}
