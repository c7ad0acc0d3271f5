#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A whole file mapped read-only into memory (`mmap`, `MAP_PRIVATE`). Pages are read from the page cache on first
/// touch, so mapping a 350 MB checkpoint costs no copy and no time; `Tensor(borrowing:)` views keep it alive.
public final class MappedFile: @unchecked Sendable {
    // @unchecked: every stored property is a `let`, and the mapping is PROT_READ, so no thread can change what
    // `bytes` points at while it is mapped (until deinit, which no other reference can outlive).
    /// Why a file could not be mapped.
    public struct Failure: Error, CustomStringConvertible {
        /// The file's path.
        public var path: String
        /// What went wrong, for humans.
        public var reason: String
        public var description: String { "\(path): \(reason)" }
    }

    /// The path given to `init`.
    public let path: String
    /// Length of the file in bytes.
    public let size: Int
    /// First byte of the mapping (never dereference past `size`).
    public let bytes: UnsafeRawPointer

    /// Maps `path`. Throws `Failure` when it cannot be opened, is empty, or cannot be mapped.
    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw Failure(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw Failure(path: path, reason: String(cString: strerror(errno))) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw Failure(path: path, reason: "not a regular file") }
        size = Int(info.st_size)
        guard size > 0 else { throw Failure(path: path, reason: "file is empty") }
        guard let mapped = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), mapped != MAP_FAILED else {
            throw Failure(path: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        bytes = UnsafeRawPointer(mapped)
    }

    /// Hands the whole pages inside `byteCount` bytes from `start`, part of a read-only private file mapping, back
    /// to the kernel (`madvise(MADV_DONTNEED)`): they leave the resident set, and a later read maps them in again
    /// from the file with the same contents. Only for memory that such a mapping holds (anonymous memory would read
    /// back as zeros).
    public static func releasePages(_ start: UnsafeRawPointer, byteCount: Int) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let first = (Int(bitPattern: start) + page - 1) / page * page
        let end = (Int(bitPattern: start) + byteCount) / page * page
        guard end > first, let pointer = UnsafeMutableRawPointer(bitPattern: first) else { return }
        madvise(pointer, end - first, MADV_DONTNEED)
    }

    deinit {
        munmap(UnsafeMutableRawPointer(mutating: bytes), size)
    }
}
