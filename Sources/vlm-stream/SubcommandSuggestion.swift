import Foundation

/// `vlm-stream serach …` would otherwise run `run` on a file named `serach`; a first argument that is no input
/// (no such file, not a URL, device or `-`) and within two edits of a subcommand's name is reported as a typo.
enum SubcommandSuggestion {
    /// The subcommand `argument` was probably meant to be, or nil when it may well be an input.
    static func suggest(for argument: String, among names: [String]) -> String? {
        guard !argument.hasPrefix("-"), !names.contains(argument), !argument.contains("://"),
            !argument.hasPrefix("/dev/"), !FileManager.default.fileExists(atPath: argument)
        else { return nil }
        let scored = names.map { (name: $0, distance: editDistance(argument.lowercased(), $0)) }
        guard let best = scored.min(by: { $0.distance < $1.distance }), best.distance <= 2 else { return nil }
        return best.name
    }

    /// Levenshtein distance (insertions, deletions, substitutions; a transposition counts as two).
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a)
        let b = Array(b)
        guard !a.isEmpty, !b.isEmpty else { return max(a.count, b.count) }
        // previous[j]: distance between the first i-1 characters of a and the first j of b.
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
            }
            previous = current
        }
        return previous[b.count]
    }
}
