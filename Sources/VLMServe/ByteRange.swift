import Foundation

/// One `Range: bytes=...` request (RFC 9110 §14.1.2) resolved against a file size.
enum ByteRange: Equatable {
    /// No usable range: send the whole file (200). Multi-range requests are answered this way too.
    case whole
    /// Bytes `lower...upper` (206).
    case partial(ClosedRange<Int>)
    /// Nothing of the file is in range (416).
    case unsatisfiable

    /// Parses `header` for a file of `size` bytes.
    static func parse(_ header: String?, size: Int) -> ByteRange {
        guard let header else { return .whole }
        let trimmed = header.trimmingCharacters(in: .whitespaces)
        guard trimmed.lowercased().hasPrefix("bytes=") else { return .whole }
        let spec = trimmed.dropFirst(6)
        guard !spec.contains(",") else { return .whole }
        let sides = spec.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard sides.count == 2 else { return .whole }
        let first = sides[0].trimmingCharacters(in: .whitespaces)
        let last = sides[1].trimmingCharacters(in: .whitespaces)
        if first.isEmpty {
            // Suffix: the last N bytes.
            guard let n = Int(last), n >= 0 else { return .whole }
            guard n > 0, size > 0 else { return .unsatisfiable }
            return .partial(max(0, size - n)...(size - 1))
        }
        guard let lower = Int(first), lower >= 0 else { return .whole }
        guard lower < size else { return .unsatisfiable }
        if last.isEmpty { return .partial(lower...(size - 1)) }
        guard let upper = Int(last), upper >= lower else { return .whole }
        return .partial(lower...min(upper, size - 1))
    }
}
