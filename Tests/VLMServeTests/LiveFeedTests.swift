import Foundation
import Logging
import ServiceLifecycle
import TestSupport
import Testing
import VLMCore
import VLMServe

/// The live view's parts without a pipeline: the feed's replay, ids, charts and shutdown, and the live router's
/// routes against its OpenAPI document. (The whole thing on a real run: CLITests' `run --http` suites.)
@Suite("live feed and router")
struct LiveFeedTests {
    static func event(_ kind: QueryEvent.Kind, _ query: String, at pts: Double) -> StreamResult {
        .event(
            QueryEvent(
                type: kind, stream: "cam", query: query, startPTS: pts, endPTS: kind == .end ? pts + 1 : nil,
                peakScore: 0.8, peakPTS: pts))
    }

    @Test("events, captions, answers and status are replayed by id; scores are charted, not replayed")
    func replay() async throws {
        let feed = LiveFeed(streams: ["cam"], recentLimit: 3, scoreWindow: 10)
        feed.consume(Self.event(.start, "a dog", at: 1))
        feed.consume(.caption(Caption(stream: "cam", startPTS: 0, endPTS: 2, text: "a dog on grass", score: 0.3)))
        feed.consume(.answer(Answer(stream: "cam", pts: 2, question: "what animal?", answer: "a dog")))
        feed.consume(.status(stream: "cam", state: "reconnecting", detail: "attempt 1"))
        for pts in stride(from: 0.0, through: 30, by: 1) {
            feed.record(scores: [QueryScore(stream: "cam", pts: pts, query: "a dog", score: pts / 30, cosine: 0.2)])
        }
        let (replay, _) = feed.subscribe()
        // Only the last three kept (recentLimit), in order; scores are not among them.
        #expect(replay.map(\.kind) == ["caption", "answer", "status"])
        #expect(replay.map(\.id) == [2, 3, 4])
        #expect(replay[1].json == #"{"answer":"a dog","pts":2,"question":"what animal?","stream":"cam"}"#)
        #expect(replay[2].wire.hasPrefix("id: 4\nevent: status\ndata: {") && replay[2].wire.hasSuffix("}\n\n"))
        #expect(feed.subscribe(after: 3).replay.map(\.id) == [4])
        // The chart keeps scoreWindow seconds of stream time.
        let points = feed.chart(stream: "cam", query: "a dog")
        #expect(points.first?.pts == 20 && points.last?.pts == 30 && points.count == 11)
        // A query no longer scored leaves the chart once its last point is out of the window.
        feed.record(scores: [QueryScore(stream: "cam", pts: 41, query: "a cat", score: 0.5, cosine: 0.2)])
        #expect(
            feed.chart(stream: "cam", query: "a dog").isEmpty && feed.chart(stream: "cam", query: "a cat").count == 1)
        // An open event is kept until its end.
        #expect(feed.openEvents(stream: "cam").map(\.query) == ["a dog"])
        feed.consume(Self.event(.end, "a dog", at: 5))
        #expect(feed.openEvents(stream: "cam").isEmpty)
    }

    @Test("a subscriber gets new messages in order; close() ends every subscription")
    func subscribeAndClose() async throws {
        let feed = LiveFeed(streams: ["cam"])
        let (_, live) = feed.subscribe()
        #expect(feed.subscriberCount == 1)
        feed.consume(Self.event(.start, "a", at: 1))
        feed.record(scores: [QueryScore(stream: "cam", pts: 1, query: "a", score: 0.7, cosine: 0.3)])
        feed.close()
        var kinds: [String] = []
        for await message in live { kinds.append(message.kind) }
        #expect(kinds == ["event", "scores"])
        #expect(feed.subscriberCount == 0)
        // After close nothing more is sent and new subscriptions end at once.
        let (replay, late) = feed.subscribe()
        var count = 0
        for await _ in late { count += 1 }
        #expect(count == 0 && replay.isEmpty)
    }

    @Test("a full score series is thinned, keeping the newest point")
    func thinning() {
        let feed = LiveFeed(streams: ["cam"], scoreWindow: 1e6, scorePointLimit: 10)
        for i in 0..<100 {
            feed.record(scores: [QueryScore(stream: "cam", pts: Double(i), query: "q", score: 0.5, cosine: 0)])
        }
        let points = feed.chart(stream: "cam", query: "q")
        #expect(points.count <= 10 && points.last?.pts == 99)
        #expect(points.map(\.pts) == points.map(\.pts).sorted())
    }

    @Test("/api/openapi.json of the live server lists every route of the live router with its method")
    func openAPI() async throws {
        let feed = LiveFeed(streams: ["cam"])
        let sources = LiveSources(feed: feed, queries: nil)
        var options = ServeOptions()
        options.port = 0
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "vlm.live.test")
        logger.logLevel = .warning
        let server = LiveServer(live: sources, metrics: { Array("m 1\n".utf8) }, options: options, logger: logger) {
            continuation.yield($0)
        }
        let group = ServiceGroup(services: [server], logger: logger)
        let running = Task { try await group.run() }
        defer { running.cancel() }
        var iterator = ports.makeAsyncIterator()
        let port = try #require(await iterator.next())
        let http = RawHTTP(port: port)
        let document = try await http.request("GET", "/api/openapi.json").json()
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        let router = buildLiveRouter(live: sources, metrics: { [] }, options: options)
        let routes = router.routes.map { route in
            let path = route.path.description.split(separator: "/").map { part in
                part.hasPrefix(":") ? "{\(part.dropFirst())}" : String(part)
            }
            return ("/" + path.joined(separator: "/"), route.method.rawValue.lowercased())
        }
        #expect(routes.count == 11)
        for (path, method) in routes {
            #expect(paths[path]?[method] != nil, "\(method.uppercased()) \(path) is missing from openapi.json")
        }
        let served = Set(routes.map { "\($0.1) \($0.0)" })
        for (path, operations) in paths {
            for method in operations.keys { #expect(served.contains("\(method) \(path)"), "\(method) \(path)") }
        }
        // Without a matcher, query control says so; /metrics is served; the page renders with its stream.
        #expect(try await http.request("GET", "/api/queries").status == 409)
        #expect(try await http.request("GET", "/metrics").text == "m 1\n")
        let page = try await http.request("GET", "/live")
        #expect(page.status == 200 && page.text.contains("data-stream=\"cam\"") && !page.text.contains("query-form"))
        let script = try await http.request("GET", "/static/live.js")
        #expect(script.status == 200 && script.headers["content-type"]?.hasPrefix("text/javascript") == true)
        // HEAD is GET without the body, and asks for the event stream's head without subscribing to it.
        let head = try await http.request("HEAD", "/api/live/events")
        #expect(head.status == 200 && head.headers["content-type"]?.hasPrefix("text/event-stream") == true)
        #expect(head.body.isEmpty && feed.subscriberCount == 0)
        let stateHead = try await http.request("HEAD", "/api/live/state")
        #expect(stateHead.status == 200 && stateHead.headers["content-type"] == "application/json")
        #expect(stateHead.body.isEmpty)
        // A served path asked with another method is 405 naming the methods it answers; an unknown path is 404.
        let wrong = try await http.request("GET", "/api/queries/add")
        #expect(wrong.status == 405 && wrong.headers["allow"] == "POST")
        let post = try await http.request("POST", "/api/live/state", body: Array("{}".utf8))
        #expect(post.status == 405 && post.headers["allow"] == "GET, HEAD")
        #expect(try post.json()["error"] as? String == "POST is not served at this path; it answers GET, HEAD")
        #expect(try await http.request("DELETE", "/api/nothing").status == 404)

        // Graceful shutdown ends an open event stream, so the server can stop.
        // Blocking socket reads stay off the cooperative pool the in-process server's handlers run on.
        let sse = try await blocking { try EventStreamClient(port: port, target: "/api/live/events") }
        #expect(sse.status == 200)
        await group.triggerGracefulShutdown()
        #expect(try await blocking { try sse.waitForEnd(timeout: 60) }, "the event stream stayed open after shutdown")
        try await running.value
    }

    /// Found by a review: 300 pages connecting and leaving froze a run for good. The feed handed a message to the
    /// pages under its lock, and a leaving page's stream, ended while the runtime held its task's lock, took the
    /// feed's lock in its termination handler.
    @Test("pages that leave while messages are sent never deadlock the feed", .timeLimit(.minutes(10)))
    func leavingWhilePublishing() async throws {
        let feed = LiveFeed(streams: ["cam"])
        let stop = Locked(false)
        let publisher = Thread {
            var i = 0
            while !stop.current {
                feed.record(scores: [QueryScore(stream: "cam", pts: Double(i), query: "q", score: 0.5, cosine: 0)])
                i += 1
            }
        }
        publisher.start()
        defer { stop.withLock { $0 = true } }
        for _ in 0..<3000 {
            let (_, live) = feed.subscribe()
            let received = Locked(false)
            let reader = Task { for await _ in live { received.withLock { $0 = true } } }
            while !received.current { await Task.yield() }  // cancelled while it waits for the next message
            reader.cancel()
            await reader.value
        }
        #expect(feed.subscriberCount == 0)
    }

    /// Found by a review: a client that stopped reading left a write waiting forever, and the run never exited.
    // The clients' sockets are closed only after the server stopped (the `defer`), so without the grace period it
    // never would: any finite time passes. The bounds are loose because in the whole suite, async tests share the
    // cooperative pool's two threads with many blocking ones (alone it stops in about 5 s, the grace period).
    @Test("event streams whose clients stopped reading do not keep the server from stopping", .timeLimit(.minutes(10)))
    func stalledReaders() async throws {
        let feed = LiveFeed(streams: ["cam"])
        var options = ServeOptions()
        options.port = 0
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "vlm.live.test")
        logger.logLevel = .critical
        let server = LiveServer(
            live: LiveSources(feed: feed, queries: nil), metrics: { [] }, options: options, logger: logger
        ) { continuation.yield($0) }
        let group = ServiceGroup(services: [server], logger: logger)
        let running = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        let port = try #require(await iterator.next())
        // Three clients with a 2 KB receive buffer ask for the stream and never read it.
        var sockets: [Int32] = []
        for _ in 0..<3 {
            let fd = try #require(LoopbackSocket.connect(port: port))
            var size: Int32 = 2048
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
            let request = Array("GET /api/live/events HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
            #expect(write(fd, request, request.count) == request.count)
            sockets.append(fd)
        }
        defer { for fd in sockets { close(fd) } }
        // ~20 MB of score messages, more than the kernel's and the server's send buffers hold.
        let queries = (0..<32).map { "query \($0) " + String(repeating: "x", count: 200) }
        for i in 0..<2500 {
            feed.record(
                scores: queries.map { QueryScore(stream: "cam", pts: Double(i), query: $0, score: 0.5, cosine: 0) })
            if i % 100 == 99 { try await Task.sleep(for: .milliseconds(100)) }
        }
        let start = ContinuousClock.now
        await group.triggerGracefulShutdown()
        try await running.value
        let took = ContinuousClock.now - start
        #expect(took < LiveServer.shutdownGrace + .seconds(240), "the server took \(took) to stop")
    }

    @Test("--metrics-port alone: /metrics and / serve the metrics, nothing else is there")
    func metricsOnly() async throws {
        var options = ServeOptions()
        options.port = 0
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "vlm.live.test")
        logger.logLevel = .warning
        let server = LiveServer(live: nil, metrics: { Array("m 2\n".utf8) }, options: options, logger: logger) {
            continuation.yield($0)
        }
        let group = ServiceGroup(services: [server], logger: logger)
        let running = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        let http = RawHTTP(port: try #require(await iterator.next()))
        for target in ["/metrics", "/"] {
            let reply = try await http.request("GET", target)
            #expect(reply.status == 200 && reply.text == "m 2\n")
            #expect(reply.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8")
        }
        #expect(try await http.request("GET", "/live").status == 404)
        #expect(try await http.request("POST", "/api/queries/add").status == 404)
        #expect(try await http.request("POST", "/metrics").status == 405)
        await group.triggerGracefulShutdown()
        try await running.value
    }
}
