import ArgumentParser
import Foundation
import Logging
import VLMCore
import VLMIndex
import VLMServe

/// `vlm-stream serve`: the archive's web pages and JSON API.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve an index made by `vlm-stream index` as web pages and a JSON API (search, videos, thumbnails).",
        discussion: """
            Open http://127.0.0.1:8080/ for the Search and Videos pages; the API is described at /api/openapi.json. \
            Binds to loopback unless --listen says otherwise; anything else should have --token or --token-file \
            (then requests need `Authorization: Bearer TOKEN`, or open /login?token=TOKEN once in the browser).
            """
    )

    @Option(help: "The index database.")
    var db: String

    @Option(help: ArgumentHelp("Address and port to listen on.", valueName: "host:port"))
    var listen = "127.0.0.1:8080"

    @Option(help: "Require this token (bearer header or login cookie).")
    var token: String?

    @Option(help: "Read the token from this file (first line).")
    var tokenFile: String?

    @Option(help: "Largest image upload in MiB.")
    var uploadLimit = 10

    @Option(help: "Seconds a request may take before it is answered 503.")
    var requestTimeout = 20.0

    @OptionGroup var model: ModelOptions

    func validate() throws {
        guard token == nil || tokenFile == nil else { throw ValidationError("Give --token or --token-file, not both.") }
        guard (try? Self.address(listen)) != nil else {
            throw ValidationError("--listen must be host:port, e.g. 127.0.0.1:8080 (got '\(listen)').")
        }
        guard uploadLimit >= 1, requestTimeout > 0 else {
            throw ValidationError("--upload-limit and --request-timeout must be positive.")
        }
    }

    func run() async throws {
        try await reportingErrors {
            var options = ServeOptions()
            (options.host, options.port) = try Self.address(listen)
            options.token = try HTTPAccess.token(token, file: tokenFile)
            options.uploadLimit = uploadLimit << 20
            options.requestTimeout = .milliseconds(Int(requestTimeout * 1000))
            HTTPAccess.warnIfOpen(options, exposes: "search the index and download its videos")
            let index = try VideoIndex(path: db, create: false)
            let archive = try Archive(index: index, encoder: try model.load())
            _ = try index.matrix()  // load once before the first request
            var logger = Logger(label: "vlm.serve")
            logger.logLevel = .warning
            let host = options.host
            let db = index.path  // without a PostgreSQL password
            do {
                try await ArchiveServer.run(archive: archive, options: options, logger: logger) { port in
                    FileHandle.standardOutput.write(Data("serving \(db) on http://\(host):\(port)/\n".utf8))
                }
            } catch let error as UserFacingError {
                throw error
            } catch {
                throw LiveServerError(address: listen, error: error)
            }
        }
    }

    /// `host:port` (IPv6 as `[::1]:8080`).
    static func address(_ text: String) throws -> (String, Int) {
        try HTTPAccess.address(text)
    }
}
