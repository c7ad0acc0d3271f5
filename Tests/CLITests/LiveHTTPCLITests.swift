import Foundation
import TestSupport
import Testing
import VLMCore

/// `vlm-stream run … --http`: the live view's server during a real run on a looping sample video (real model,
/// real graph, real HTTP): the event stream, the state, thumbnails, `/metrics` on the same port, query control
/// through the same path as MQTT, the token, hostile bodies.
@Suite("run --http", .serialized)
struct LiveHTTPCLITests {
    /// Thresholds that open a match on the first frame and update it every second: events for sure.
    static let eager = ["--enter", "0", "--exit", "0", "--min-duration", "0", "--update-interval", "1", "--fps", "4"]

    @Test("Server-Sent Events deliver events, scores, captions and status as they happen; SIGINT ends the stream")
    func eventStream() async throws {
        let live = try LiveRun(["--query", "a person", "--captions"] + Self.eager)
        let sse = try EventStreamClient(port: live.port, target: "/api/live/events")
        #expect(sse.status == 200)
        #expect(sse.headers["content-type"]?.hasPrefix("text/event-stream") == true)
        var seen = Set<String>()
        let (events, stopped) = try sse.collect(timeout: 90) { event in
            switch event.name {
            case "event" where event.json["type"] as? String == "start" && event.json["query"] as? String == "a person":
                seen.insert("start")
            case "event" where event.json["type"] as? String == "update": seen.insert("update")
            case "scores" where (event.json["scores"] as? [String: Any])?["a person"] is Double: seen.insert("scores")
            case "caption" where !(event.json["text"] as? String ?? "").isEmpty: seen.insert("caption")
            default: break
            }
            return seen.count == 4
        }
        #expect(stopped, "saw \(seen.sorted()) in \(events.map(\.name)); stderr: \(live.stderr.text.suffix(800))")
        let ids = events.compactMap(\.id)
        #expect(ids.count == events.count && ids == ids.sorted() && Set(ids).count == ids.count)
        #expect(events.allSatisfy { ($0.json["stream"] as? String) == "stdin" })

        // The state a page draws first: the stream, its chart, the query, what was kept.
        let state = try await live.http.request("GET", "/api/live/state").json()
        let stream = try #require((state["streams"] as? [[String: Any]])?.first)
        #expect(stream["name"] as? String == "stdin")
        let chart = (stream["scores"] as? [String: Any])?["a person"] as? [[Double]]
        #expect((chart?.count ?? 0) >= 2 && chart?.allSatisfy { $0.count == 2 && (0...1).contains($0[1]) } == true)
        #expect(state["queries"] as? [String] == ["a person"])
        let recent = try #require(state["recent"] as? [[String: Any]])
        #expect(
            recent.contains { $0["kind"] as? String == "event" }
                && recent.contains { $0["kind"] as? String == "caption" })
        let last = try #require(state["last_event_id"] as? Int)

        // A reconnecting client gets only what is newer than its Last-Event-ID.
        let again = try EventStreamClient(
            port: live.port, target: "/api/live/events", headers: ["Last-Event-ID": "\(last)"])
        let first = try #require(try again.next(timeout: 30))
        #expect((first.id ?? 0) > last)

        // The latest frame, by stream name from the run's own list only.
        let jpeg = try await live.http.request("GET", "/api/live/thumbnail?stream=stdin")
        #expect(jpeg.status == 200 && jpeg.headers["content-type"] == "image/jpeg")
        #expect(jpeg.body.starts(with: [0xFF, 0xD8]) && jpeg.body.count <= 64 << 10)
        for target in ["/api/live/thumbnail?stream=..%2F..%2Fetc%2Fpasswd", "/api/live/thumbnail", "/api/live/nothing"]
        {
            #expect(try await live.http.request("GET", target).status == 404, "\(target)")
        }

        // Prometheus on the same port, and the page itself.
        let metrics = try await live.http.request("GET", "/metrics")
        #expect(metrics.status == 200 && metrics.headers["content-type"]?.hasPrefix("text/plain") == true)
        #expect(metrics.text.contains("vlm_stage_frames_in_total{stage=\"encode\"}"))
        let page = try await live.http.request("GET", "/live")
        #expect(page.status == 200 && page.text.contains("data-stream=\"stdin\"") && page.text.contains("a person"))
        #expect(page.headers["content-security-policy"]?.contains("script-src 'self'") == true)

        // SIGINT: the graph drains, the open event streams end, the run exits 0.
        #expect(live.interrupt() == 0, "\(live.stderr.text.suffix(800))")
        #expect(try sse.waitForEnd(timeout: 60), "the event stream stayed open after the run stopped")
    }

    @Test("queries added and removed over HTTP change what is matched; hostile bodies get 4xx; the token is required")
    func queryControl() async throws {
        let token = "s3cret-\(UUID().uuidString.prefix(8))"
        let live = try LiveRun(["--query", "a person", "--token", token] + Self.eager)
        let auth = ["Authorization": "Bearer \(token)"]
        let json = ["Content-Type": "application/json"].merging(auth) { a, _ in a }

        // The token: every route but /login, /metrics included.
        for target in ["/live", "/api/queries", "/metrics", "/api/live/events", "/api/live/state"] {
            let reply = try await live.http.request("GET", target)
            #expect(reply.status == 401 && reply.headers["www-authenticate"]?.hasPrefix("Bearer") == true, "\(target)")
        }
        let login = try await live.http.request("GET", "/login?token=\(token)")
        #expect(login.status == 303 && login.headers["set-cookie"]?.contains("HttpOnly; SameSite=Strict") == true)
        let cookie = try #require(login.headers["set-cookie"]?.split(separator: ";").first.map(String.init))
        #expect(try await live.http.request("GET", "/live", headers: ["Cookie": cookie]).status == 200)
        #expect(try await live.http.request("GET", "/login?token=wrong").status == 401)

        let before = try await live.http.request("GET", "/api/queries", headers: auth).json()
        #expect(before["queries"] as? [String] == ["a person"])

        // Add: the answer is the new set, and the next frames are scored for it.
        let sse = try EventStreamClient(port: live.port, target: "/api/live/events", headers: auth)
        let added = try await live.http.request(
            "POST", "/api/queries/add", headers: json, body: Array(#"{"queries": [" a red car "]}"#.utf8))
        #expect(added.status == 200, "\(added.text)")
        #expect(try added.json()["queries"] as? [String] == ["a person", "a red car"])
        let scored = try sse.collect(timeout: 60) { event -> Bool in
            event.name == "scores" && (event.json["scores"] as? [String: Any])?["a red car"] != nil
        }
        let scoredAdded = scored.stopped
        #expect(scoredAdded, "no frame scored for the added query in \(scored.events.count) events")

        // Remove: its open match ends, and later frames are no longer scored for it.
        let removed = try await live.http.request(
            "POST", "/api/queries/remove", headers: json, body: Array(#"{"queries": ["a person"]}"#.utf8))
        let left = try removed.json()["queries"] as? [String]
        #expect(removed.status == 200 && left == ["a red car"])
        let ended = try sse.collect(timeout: 60) { event in
            event.name == "event" && event.json["type"] as? String == "end"
                && event.json["query"] as? String == "a person"
        }
        let endedRemoved = ended.stopped
        #expect(endedRemoved, "no end event for the removed query in \(ended.events.count) events")
        var after: [[String: Any]] = []
        while after.count < 4, let event = try sse.next(timeout: 30) {
            if event.name == "scores" { after.append(event.json["scores"] as? [String: Any] ?? [:]) }
        }
        #expect(after.count == 4 && after.allSatisfy { $0["a person"] == nil && $0["a red car"] != nil }, "\(after)")

        // Hostile or malformed requests: a clear 4xx, and the set is unchanged.
        let cases: [(String, [String: String], [UInt8], Int, String)] = [
            ("/api/queries/add", json, Array(repeating: UInt8(ascii: " "), count: 9000), 413, "larger than 8192"),
            (
                "/api/queries/add", auth.merging(["Content-Type": "text/plain"]) { a, _ in a },
                Array(#"{"queries": ["x"]}"#.utf8), 415, "application/json"
            ),
            (
                "/api/queries/add", auth.merging(["Content-Type": "application/jsonp"]) { a, _ in a },
                Array(#"{"queries": ["x"]}"#.utf8), 415, "application/json"
            ),
            ("/api/queries/add", json, Array(#"{"queries": [1]}"#.utf8), 400, "queries[0] is not a string"),
            ("/api/queries/add", json, Array(#"{"queries": ["x"], "more": 1}"#.utf8), 400, "unknown field 'more'"),
            ("/api/queries/add", json, Array(#"{"queries": ["a\u0007b"]}"#.utf8), 400, "control characters"),
            ("/api/queries/add", json, Array(#"{"queries": [[[["deep"]]]]}"#.utf8), 400, "nests deeper"),
            (
                "/api/queries/add", json,
                Array(("{\"queries\": [\"" + String(repeating: "é", count: 201) + "\"]}").utf8),
                400, "longer than 200"
            ),
            ("/api/queries/add", json, Array("not json".utf8), 400, "not valid JSON"),
            ("/api/queries/add", json, [0xFF, 0xFE], 400, "UTF-8"),
            ("/api/queries/remove", json, Array(#"{"queries": []}"#.utf8), 400, "send at least one"),
            ("/api/queries/drop", json, Array(#"{"queries": ["x"]}"#.utf8), 404, "no such action"),
            (
                "/api/queries/add", json,
                Array(("{\"queries\": [" + (0..<32).map { "\"q\($0)\"" }.joined(separator: ",") + "]}").utf8), 422,
                "at most 32"
            ),
        ]
        for (target, headers, body, status, message) in cases {
            let reply = try await live.http.request("POST", target, headers: headers, body: body)
            #expect(reply.status == status, "\(target) \(body.prefix(40)): \(reply.status) \(reply.text)")
            #expect((try? reply.json()["error"] as? String)??.contains(message) == true, "\(reply.text)")
        }
        let unchanged = try await live.http.request("GET", "/api/queries", headers: auth).json()
        #expect(unchanged["queries"] as? [String] == ["a red car"])
        #expect(live.interrupt() == 0, "\(live.stderr.text.suffix(800))")
    }

    @Test(
        "the page and MQTT change one query set: a change over HTTP is announced on MQTT, one over MQTT is served",
        .enabled(if: Mosquitto.executable != nil, "needs the mosquitto broker (scripts/install-deps)"))
    func sharedWithMQTT() async throws {
        let broker = try Mosquitto()
        let directory = try Fixtures.temporaryDirectory("live-mqtt")
        let watcher = try MQTTRunCLITests.Watcher(port: broker.port, directory: directory, topic: "vlm/stdin/queries")
        defer { watcher.process.terminate() }
        let live = try LiveRun(["--query", "a person", "--mqtt", broker.url] + Self.eager)
        #expect(watcher.wait(timeout: 30) { $0.contains { $0.payload.contains("a person") } })
        let added = try await live.http.request(
            "POST", "/api/queries/add", headers: ["Content-Type": "application/json"],
            body: Array(#"{"queries": ["a red car"]}"#.utf8))
        #expect(added.status == 200)
        #expect(
            watcher.wait(timeout: 30) {
                $0.contains { $0.payload.contains("a person") && $0.payload.contains("a red car") }
            },
            "\(watcher.messages)")
        let publish = try ChildProcess(
            "/usr/bin/mosquitto_pub",
            [
                "-h", "127.0.0.1", "-p", "\(broker.port)", "-q", "1", "-t", "vlm/stdin/queries/remove",
                "-m", #"{"queries": ["a person"]}"#,
            ])
        publish.wait(timeout: 10)
        var queries: [String] = []
        for _ in 0..<100 where queries != ["a red car"] {
            queries = try await live.http.request("GET", "/api/queries").json()["queries"] as? [String] ?? []
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(queries == ["a red car"])
        #expect(live.interrupt() == 0, "\(live.stderr.text.suffix(800))")
    }

    @Test("--http with --metrics-port, a bad address, a taken port, or --token without --http: one error line")
    func metricsOnlyAndFlags() throws {
        let both = try CLIRunner.run(
            ["Tests/Fixtures/not_a_video.mp4", "--query", "x", "--http", "127.0.0.1:0", "--metrics-port", "0"])
        #expect(both.status != 0 && both.stderr.contains("--http serves /metrics too"))
        let bad = try CLIRunner.run(["Tests/Fixtures/not_a_video.mp4", "--query", "x", "--http", "8080"])
        #expect(bad.status != 0 && bad.stderr.contains("--http must be host:port"))
        // A port already taken: one line naming the address, before any input is read.
        let (taken, port) = try LoopbackSocket.listen()
        defer { close(taken) }
        let busy = try CLIRunner.run(
            [
                "SampleVideos/plaza.mp4", "--query", "x", "--json", "--http", "127.0.0.1:\(port)", "--model",
                "Tests/Fixtures/tiny-clip",
            ])
        #expect(
            busy.status == 1
                && busy.stderr.contains(
                    "error: cannot serve HTTP on 127.0.0.1:\(port): the port is in use; stop the other server or choose "
                        + "another port\n"),
            "\(busy.stderr)")
        #expect(!busy.stdout.contains("\"type\":\"score\""), "the input was processed: \(busy.stdout.prefix(300))")
        let token = try CLIRunner.run(["Tests/Fixtures/not_a_video.mp4", "--query", "x", "--token", "t"])
        #expect(token.status != 0 && token.stderr.contains("add --http"), "\(token.stderr)")
    }
}
