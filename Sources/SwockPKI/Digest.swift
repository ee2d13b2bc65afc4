import Crypto
import Foundation

/// Hashes for callers that do not link swift-crypto themselves (SwockClient names docker contexts'
/// folders by the SHA-256 of the context name).
public enum Digests {
    /// SHA-256 of `bytes` as 64 lowercase hex digits.
    public static func sha256Hex<D: DataProtocol>(_ bytes: D) -> String {
        let table: [UInt8] = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(64)
        for b in SHA256.hash(data: bytes) {
            out.append(table[Int(b >> 4)])
            out.append(table[Int(b & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// SHA-256 of the UTF-8 bytes of `text` as 64 lowercase hex digits.
    public static func sha256Hex(_ text: String) -> String {
        sha256Hex(Data(text.utf8))
    }

    /// HMAC-SHA1 of `message` under `key`: how OpenSSH hashes host names in known_hosts
    /// (`|1|salt|hash`, HashKnownHosts).
    public static func hmacSHA1(key: Data, message: Data) -> Data {
        Data(HMAC<Insecure.SHA1>.authenticationCode(for: message, using: SymmetricKey(data: key)))
    }
}
