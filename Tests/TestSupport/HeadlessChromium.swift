import Foundation
import VLMCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Debian's headless Chromium driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`: JSON
/// messages separated by NUL on descriptors 3 and 4), so a test can wait for a page that never finishes loading
/// (one that follows Server-Sent Events) and read its DOM, evaluate script and take screenshots while it runs.
public final class HeadlessChromium: @unchecked Sendable {
    /// Debian's `chromium`, when installed (scripts/install-deps installs it).
    public static let path = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    private let process: ChildProcess
    private let toBrowser: Int32
    private let fromBrowser: Int32
    private var buffer: [UInt8] = []
    private var nextID = 1
    private var session: String?

    /// Starts Chromium (window `width`×`height`) on `url` and attaches to its page.
    public init(url: String, width: Int = 1280, height: Int = 1000) throws {
        guard let executable = Self.path else { throw Failure(description: "chromium is not installed") }
        var requests: [Int32] = [0, 0]
        var replies: [Int32] = [0, 0]
        guard pipe(&requests) == 0, pipe(&replies) == 0 else { throw Failure(description: "pipe() failed") }
        let profile = try Fixtures.temporaryDirectory("vlm-chromium")
        process = try ChildProcess(
            executable,
            [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--user-data-dir=\(profile.path)", "--window-size=\(width),\(height)", "--remote-debugging-pipe",
                url,
            ], output: profile.appendingPathComponent("out.txt"), descriptors: [3: requests[0], 4: replies[1]])
        close(requests[0])
        close(replies[1])
        toBrowser = requests[1]
        fromBrowser = replies[0]
        var attached: String?
        for _ in 0..<100 where attached == nil {
            let targets = try call("Target.getTargets", timeout: 20)
            let infos = (targets["targetInfos"] as? [[String: Any]]) ?? []
            if let page = infos.first(where: { $0["type"] as? String == "page" })?["targetId"] as? String {
                let result = try call("Target.attachToTarget", ["targetId": page, "flatten": true], timeout: 20)
                attached = result["sessionId"] as? String
            } else {
                Thread.sleep(forTimeInterval: 0.1)
            }
        }
        guard let attached else { throw Failure(description: "chromium opened no page") }
        session = attached
    }

    deinit {
        close(toBrowser)
        close(fromBrowser)
        process.terminate(grace: 2)
    }

    /// The value of `expression` evaluated in the page (awaited when it is a promise).
    public func evaluate(_ expression: String, timeout: Double = 20) throws -> Any? {
        let result = try call(
            "Runtime.evaluate", ["expression": expression, "returnByValue": true, "awaitPromise": true],
            session: session, timeout: timeout)
        if let exception = result["exceptionDetails"] {
            throw Failure(description: "script failed: \(exception)")
        }
        return (result["result"] as? [String: Any])?["value"]
    }

    /// Evaluates `expression` every 0.2 s until it is `true`; returns false at the deadline. A script that throws
    /// counts as not yet: on a loaded machine the page may not have its body when the first check runs.
    public func wait(until expression: String, timeout: Double) throws -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            do {
                if try evaluate(expression) as? Bool == true { return true }
            } catch let failure as Failure where failure.description.hasPrefix("script failed") {}
            Thread.sleep(forTimeInterval: 0.2)
        }
        return false
    }

    /// A PNG of the page as it is now.
    public func screenshot() throws -> Data {
        let result = try call("Page.captureScreenshot", ["format": "png"], session: session, timeout: 30)
        guard let text = result["data"] as? String, let png = Data(base64Encoded: text) else {
            throw Failure(description: "no screenshot data")
        }
        return png
    }

    /// Sends one DevTools command and waits for its answer's `result`.
    public func call(
        _ method: String, _ params: [String: Any] = [:], session: String? = nil, timeout: Double
    ) throws -> [String: Any] {
        let id = nextID
        nextID += 1
        var message: [String: Any] = ["id": id, "method": method, "params": params]
        if let session { message["sessionId"] = session }
        let bytes = Array(try JSONSerialization.data(withJSONObject: message)) + [0]
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { write(toBrowser, $0.baseAddress, $0.count) }
            guard n > 0 else { throw Failure(description: "chromium closed its pipe") }
            offset += n
        }
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            while let end = buffer.firstIndex(of: 0) {
                let chunk = Array(buffer[..<end])
                buffer.removeSubrange(...end)
                guard let reply = try? JSONSerialization.jsonObject(with: Data(chunk)) as? [String: Any],
                    reply["id"] as? Int == id
                else { continue }
                if let error = reply["error"] { throw Failure(description: "\(method): \(error)") }
                return reply["result"] as? [String: Any] ?? [:]
            }
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { throw Failure(description: "\(method): no answer in \(timeout) s") }
            var poller = pollfd(fd: fromBrowser, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, Int32(min(left, 1) * 1000)) >= 0 else { continue }
            guard poller.revents != 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            let n = read(fromBrowser, &chunk, chunk.count)
            guard n > 0 else { throw Failure(description: "chromium exited") }
            buffer += chunk[0..<n]
        }
    }
}
