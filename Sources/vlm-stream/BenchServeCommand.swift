import ArgumentParser
import Foundation
import VLMCore
import VLMIndex

#if canImport(Glibc)
    import Glibc
#endif

/// `vlm-stream bench serve`: search requests per second and latency of `vlm-stream serve`, measured from this
/// process against a server running in a second process on loopback.
struct BenchServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Requests/s and p99 latency of GET /api/search against `vlm-stream serve` in a second process.",
        discussion: """
            Writes a synthetic index of --frames random unit vectors in the model's embedding space, starts \
            `vlm-stream serve` on a free loopback port, and sends --requests text searches over --concurrency \
            keep-alive connections (--texts distinct queries, round robin, so the server's text-embedding cache is \
            warm after the first pass: the numbers are HTTP + exact search + JSON). Build with `-c release`.
            """
    )

    @Option(help: "Frames in the synthetic index.")
    var frames = 100_000

    @Option(help: "Timed requests.")
    var requests = 2000

    @Option(help: "Concurrent keep-alive connections.")
    var concurrency = 4

    @Option(help: "Distinct query texts.")
    var texts = 32

    @Option(help: "Moments per request.")
    var top = 20

    @OptionGroup var model: ModelOptions

    func validate() throws {
        guard frames > 0, requests > 0, concurrency > 0, texts > 0, top > 0 else {
            throw ValidationError("--frames, --requests, --concurrency, --texts and --top must be positive")
        }
        // A million frames of ViT-B/32 is a 1 GB index written to the temporary directory.
        guard frames <= 10_000_000, requests <= 10_000_000, concurrency <= 1024, texts <= 100_000, top <= 1000 else {
            throw ValidationError(
                "--frames and --requests must be at most 10000000, --concurrency 1024, --texts 100000, --top 1000")
        }
    }

    func run() async throws {
        try await reportingErrors {
            let encoder = try model.load()
            let directory = try FileManager.default.url(
                for: .itemReplacementDirectory, in: .userDomainMask,
                appropriateFor: FileManager.default.temporaryDirectory,
                create: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            // Interrupted, the run takes its server and its index (1 GB a million frames) with it.
            let serverPID = Locked<pid_t?>(nil)
            let interrupts = [SIGINT, SIGTERM].map { (signo: Int32) -> any DispatchSourceSignal in
                signal(signo, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: signo, queue: .global())
                source.setEventHandler {
                    if let pid = serverPID.current { kill(pid, SIGTERM) }
                    try? FileManager.default.removeItem(at: directory)
                    FileHandle.standardError.write(Data("interrupted: the temporary index is removed\n".utf8))
                    Foundation.exit(130)
                }
                source.resume()
                return source
            }
            defer { for source in interrupts { source.cancel() } }
            let db = directory.appendingPathComponent("bench-serve.sqlite").path
            let index = try VideoIndex(path: db, create: true)
            try SyntheticIndex.populate(
                index, frames: frames, dimension: encoder.embeddingSize, model: encoder.modelIdentity)
            let server = try ServerProcess(db: db, model: model.model)
            serverPID.withLock { $0 = server.process.processIdentifier }
            defer { server.stop() }
            let queries = (0..<texts).map { "/api/search?text=a+photo+of+thing+\($0)&top=\(top)" }
            // Warm-up: every text once (text embeddings cached), matrix loaded, connections opened.
            let warm = try LoopbackHTTPClient(port: server.port)
            for q in queries { _ = try warm.get(q) }
            let perClient = (requests + concurrency - 1) / concurrency
            let latencies = Locked<[Double]>([])
            let failures = Locked(0)
            let port = server.port
            let started = ContinuousClock.now
            DispatchQueue.concurrentPerform(iterations: concurrency) { c in
                guard let client = try? LoopbackHTTPClient(port: port) else {
                    failures.withLock { $0 += perClient }
                    return
                }
                var mine: [Double] = []
                for i in 0..<perClient {
                    let t0 = ContinuousClock.now
                    let status = (try? client.get(queries[(c * 7 + i) % queries.count])) ?? 0
                    let dt = ContinuousClock.now - t0
                    if status != 200 { failures.withLock { $0 += 1 } }
                    mine.append(Double(dt.components.attoseconds) * 1e-18 + Double(dt.components.seconds))
                }
                latencies.withLock { $0 += mine }
            }
            let wall = ContinuousClock.now - started
            let seconds = Double(wall.components.attoseconds) * 1e-18 + Double(wall.components.seconds)
            let sorted = latencies.current.sorted()
            func percentile(_ p: Double) -> Double { sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }
            print(
                "bench serve: \(frames) frames, dimension \(encoder.embeddingSize), top \(top), \(sorted.count) "
                    + "requests over \(concurrency) keep-alive connections, \(failures.current) failed")
            print(
                String(
                    format: "%.0f requests/s, latency ms: median %.2f, p90 %.2f, p99 %.2f, max %.2f",
                    Double(sorted.count) / seconds, percentile(0.5) * 1e3, percentile(0.9) * 1e3,
                    percentile(0.99) * 1e3, (sorted.last ?? 0) * 1e3))
            if failures.current > 0 { throw ExitCode.failure }
        }
    }
}

// MARK: - Server process

/// `vlm-stream serve` as a child process on a free loopback port (read from its first line of output).
final class ServerProcess {
    let process = Process()
    let port: Int

    init(db: String, model: String) throws {
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.executableURL =
            FileManager.default.isExecutableFile(atPath: executable.path)
            ? executable : URL(fileURLWithPath: CommandLine.arguments[0])
        process.arguments = ["serve", "--db", db, "--listen", "127.0.0.1:0", "--model", model]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line += chunk
        }
        let text = String(decoding: line, as: UTF8.self)
        guard let colon = text.range(of: "127.0.0.1:", options: .backwards),
            let port = Int(text[colon.upperBound...].prefix { $0.isNumber })
        else {
            process.terminate()
            throw OptionError("vlm-stream serve did not start (it printed: \(text.prefix(200)))")
        }
        self.port = port
    }

    func stop() {
        process.terminate()
        process.waitUntilExit()
    }
}

// MARK: - Client

/// A blocking HTTP/1.1 client over one keep-alive loopback connection (responses must carry Content-Length).
final class LoopbackHTTPClient {
    private let fd: Int32
    private var buffer: [UInt8] = []

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        guard fd >= 0, connected == 0 else { throw OptionError("cannot connect to 127.0.0.1:\(port)") }
    }

    deinit { close(fd) }

    /// Sends `GET path` and reads the whole response; returns the status code.
    func get(_ path: String) throws -> Int {
        let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8)
        var sent = 0
        while sent < request.count {
            let n = request[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw OptionError("connection closed while sending") }
            sent += n
        }
        var headerEnd: Int?
        while headerEnd == nil {
            headerEnd = find([13, 10, 13, 10])
            if headerEnd == nil { try fill() }
        }
        let head = String(decoding: buffer[..<headerEnd!], as: UTF8.self)
        let status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
        var length = 0
        for line in head.split(separator: "\r\n") where line.lowercased().hasPrefix("content-length:") {
            length = Int(line.dropFirst(15).trimmingCharacters(in: .whitespaces)) ?? 0
        }
        let total = headerEnd! + 4 + length
        while buffer.count < total { try fill() }
        buffer.removeFirst(total)
        return status
    }

    private func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = recv(fd, &chunk, chunk.count, 0)
        guard n > 0 else { throw OptionError("connection closed while reading") }
        buffer += chunk[0..<n]
    }

    private func find(_ needle: [UInt8]) -> Int? {
        guard buffer.count >= needle.count else { return nil }
        for i in 0...(buffer.count - needle.count) where buffer[i..<i + needle.count].elementsEqual(needle) {
            return i
        }
        return nil
    }
}
