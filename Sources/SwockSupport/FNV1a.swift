/// FNV-1a, 64 bits, over a string's UTF-8 bytes: a short, stable name for a path (not a
/// cryptographic hash: for file and socket names, and to spread ports).
public enum FNV1a {
    public static func hash(_ s: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        return h
    }

    /// The hash as 16 lower-case hex digits.
    public static func hex(_ s: String) -> String {
        let hex = String(hash(s), radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
