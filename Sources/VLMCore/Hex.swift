extension Sequence where Element == UInt8 {
    /// Lower-case hexadecimal, two digits per byte (how SHA-256 digests are written in caches and hub ETags).
    public var hexString: String {
        var out = ""
        for byte in self {
            out += String(byte >> 4, radix: 16)
            out += String(byte & 0x0f, radix: 16)
        }
        return out
    }
}
