import VLMCore

/// Why an index could not be opened, written or searched; each case reads as one actionable line.
public enum IndexError: UserFacingError, Equatable {
    /// No index file at `path` (search needs one).
    case missing(path: String)
    /// `--db` names a directory.
    case directory(path: String)
    /// The file exists but is not an SQLite database, or is damaged.
    case notAnIndex(path: String, reason: String)
    /// A valid SQLite database that some other program made.
    case foreignDatabase(path: String)
    /// Written by a newer vlm-stream.
    case newerSchema(path: String, version: Int)
    /// The index holds embeddings of another model.
    case modelMismatch(path: String, indexed: String, requested: String)
    /// The query or frame embedding has the wrong length.
    case dimensionMismatch(path: String, indexed: Int, given: Int)
    /// The index holds no searchable frames yet.
    case empty(path: String)
    /// A video file could not be read for its checksum.
    case unreadableVideo(path: String, reason: String)
    /// A `--db` URL that cannot be used.
    case badURL(url: String, reason: String)
    /// The PostgreSQL server could not be reached (down, restarting, no route).
    case unreachable(path: String, reason: String)
    /// The PostgreSQL server answered and refused the login: a wrong user, password or database, or no TLS.
    case refused(path: String, reason: String)
    /// SQLite failed in a way the cases above do not cover.
    case database(path: String, reason: String)
    /// A moment (`INDEX:VIDEO@SECONDS`) that is malformed or names no stored frame.
    case badMoment(moment: String, reason: String)

    public var description: String {
        switch self {
        case .missing(let path):
            "no index at \(path): create one with `vlm-stream index VIDEO... --db \(path)`"
        case .directory(let path):
            "--db \(path) is a directory: give an index file in it (\(path)/videos.sqlite) or a postgres:// URL"
        case .notAnIndex(let path, let reason):
            "\(path) is not a readable vlm-stream index (\(reason)): pass another --db, or delete it and index again"
        case .foreignDatabase(let path):
            "\(path) is a database of another program, not a vlm-stream index: pass another --db"
        case .newerSchema(let path, let version):
            "index \(path) has schema version \(version), newer than this vlm-stream understands: upgrade vlm-stream"
        case .modelMismatch(let path, let indexed, let requested):
            "index \(path) was built with model '\(indexed)', not '\(requested)': use that --model, "
                + "or index into another --db"
        case .dimensionMismatch(let path, let indexed, let given):
            "index \(path) holds \(indexed)-dimensional embeddings, the query has \(given): use the index's --model"
        case .empty(let path):
            "index \(path) has no completely indexed video yet: run `vlm-stream index VIDEO... --db \(path)` first"
        case .unreadableVideo(let path, let reason):
            "cannot read video \(path) (\(reason)): check the path and permissions"
        case .badURL(let url, let reason):
            "--db \(url) is not a usable PostgreSQL URL (\(reason)): "
                + "use postgres://user:password@host:port/database?sslmode=disable|prefer|require"
        case .unreachable(let path, let reason):
            "cannot reach the index database \(path) (\(reason)): check that PostgreSQL runs there and the URL's "
                + "user, password and database"
        case .refused(let path, let reason):
            "the index database \(path) refused the connection (\(reason)): check the URL's user, password, database "
                + "and sslmode"
        case .database(let path, let reason):
            "index \(path) failed: \(reason)"
        case .badMoment(let moment, let reason):
            "query moment \(moment): \(reason)"
        }
    }
}
