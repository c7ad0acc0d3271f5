import Foundation
import TestSupport
import Testing
import VLMCore
import VLMGraph
import VLMPipeline
import VLMPublish

@Suite struct FrameThumbnailCacheTests {
    static func frame(_ stream: String, pts: Double, size: Int = 224) -> Frame {
        var pixels = [UInt8](repeating: 0, count: size * size * 3)
        for y in 0..<size {
            for x in 0..<size {
                let i = (y * size + x) * 3
                pixels[i] = UInt8(x * 255 / size)
                pixels[i + 1] = UInt8(y * 255 / size)
                pixels[i + 2] = UInt8(truncatingIfNeeded: Int(pts * 40))
            }
        }
        let image = RGBImage(width: size, height: size, pixels: pixels)
        return Frame(
            stream: stream, sequence: Int(pts * 10), time: MediaTime(seconds: pts),
            views: [Frame.View(box: .full, image: image)])
    }

    @Test func encodesTheNearestHeldFrameWithinTheSizeCap() throws {
        let cache = FrameThumbnailCache(capacity: 4)
        for i in 0..<10 { cache.remember(Self.frame("cam", pts: Double(i) * 0.5)) }
        let thumbnail = try #require(cache.thumbnail(stream: "cam", pts: 4.1, maxBytes: 8000))
        #expect(thumbnail.pts == 4.0)
        #expect(thumbnail.jpeg.count <= 8000)
        #expect(Array(thumbnail.jpeg.prefix(2)) == [0xFF, 0xD8] && Array(thumbnail.jpeg.suffix(2)) == [0xFF, 0xD9])
        #expect(thumbnail.width == 224 && thumbnail.height == 224)
        // Only the last 4 frames are held: an old peak gets the oldest one still there, and says so.
        #expect(cache.thumbnail(stream: "cam", pts: 0, maxBytes: 8000)?.pts == 3.0)
        #expect(cache.thumbnail(stream: "other", pts: 0, maxBytes: 8000) == nil)
        // A tiny cap makes the encoder shrink the picture; the reported size follows.
        let small = try #require(cache.thumbnail(stream: "cam", pts: 4, maxBytes: 900))
        #expect(small.jpeg.count <= 900 && small.width < 224 && small.width == small.height)
    }

    @Test func eventsOverMQTTCarryAValidThumbnail() throws {
        let broker = try Mosquitto()
        defer { withExtendedLifetime(broker) {} }  // the broker lives until the test ends
        let cache = FrameThumbnailCache()
        cache.remember(Self.frame("cam", pts: 2))
        var settings = try MQTTSettings(url: broker.url)
        settings.clientID = "thumb-\(UUID().uuidString.prefix(6))"
        settings.outboxDirectory = try Fixtures.temporaryDirectory("outbox").path
        settings.thumbnails = true
        settings.thumbnailMaxBytes = 12_000
        let publisher = try MQTTPublisher(settings: settings, streams: ["cam"], thumbnails: cache)
        let received = ReceivedMessages()
        var handlers = MQTTClient.Handlers()
        handlers.message = { received.append($0) }
        let client = try MQTTClient(
            .init(clientID: "thumb-sub", cleanSession: true, broker: settings.broker), handlers: handlers)
        try client.start()
        #expect(poll { (try? client.subscribe("vlm/cam/events", qos: 1)) != nil })
        Thread.sleep(forTimeInterval: 0.3)
        publisher.consume(
            .event(
                QueryEvent(
                    type: .start, stream: "cam", query: "person", startPTS: 2, endPTS: nil,
                    peakScore: 0.9, peakPTS: 2)))
        #expect(poll { received.count >= 1 })
        let message = try #require(received.all.first)
        let document = try JSONValue.parse(message.payload)
        #expect(try JSONSchema.load("event").failures(document).isEmpty)
        let data = try #require(document["thumbnail"]?["data"]?.string.flatMap { Data(base64Encoded: $0) })
        #expect(data.count <= 12_000 && Array(data.prefix(2)) == [0xFF, 0xD8])
        publisher.finish()
        client.stop()
    }
}

/// Messages collected on the network thread.
final class ReceivedMessages: Sendable {
    private let messages = Locked<[MQTTMessage]>([])
    func append(_ m: MQTTMessage) { messages.withLock { $0.append(m) } }
    var all: [MQTTMessage] { messages.current }
    var count: Int { messages.withLock { $0.count } }
}

func poll(_ timeout: Double = 10, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if condition() { return true }
        Thread.sleep(forTimeInterval: 0.01)
    }
    return false
}
