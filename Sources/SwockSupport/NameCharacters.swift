/// Checks that a name (a host, a user, an address) is made only of ASCII letters, digits and a
/// few punctuation characters: what `^[A-Za-z0-9.:_-]+$` said as a regular expression, without
/// loading ICU's regex engine (about 2 ms of a short command's start) and without its `$`, which
/// also matched before a trailing newline.
public struct NameCharacters: Sendable {
    private let punctuation: Set<UInt8>

    /// Letters, digits and each character of `punctuation` (ASCII).
    public init(lettersDigitsAnd punctuation: String) {
        self.punctuation = Set(punctuation.utf8)
    }

    public func allows(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || punctuation.contains(byte)
    }

    /// Whether `text` is not empty and every character is allowed.
    public func accepts<S: StringProtocol>(_ text: S) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy(allows)
    }

    /// A host name or IP address as we accept it on a command line or in a record.
    public static let host = NameCharacters(lettersDigitsAnd: ".:_-")
}
