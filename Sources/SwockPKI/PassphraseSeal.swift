import Crypto
import Foundation
import _CryptoExtras

/// Data sealed under a passphrase: scrypt (memory-hard; N = 2^15, r = 8, p = 1, 32 MiB) turns
/// the passphrase and a random salt into a 256-bit key, and ChaCha20-Poly1305 encrypts and
/// authenticates the data with the header as associated data, so changing any byte (header
/// included) or the passphrase makes `open` fail. Both come from swift-crypto (BoringSSL).
///
///     SWOCK-SEALED 1\n
///     {"kdf":"scrypt","n":32768,"r":8,"p":1,"salt":"<base64>","cipher":"chacha20-poly1305"}\n
///     <nonce 12 bytes><ciphertext><tag 16 bytes>
public enum PassphraseSeal {
    public static let magic = Data("SWOCK-SEALED 1\n".utf8)

    public enum Failure: Error, Equatable, CustomStringConvertible, Sendable {
        case emptyPassphrase
        case notSealed
        case malformedHeader(String)
        case wrongPassphraseOrChanged

        public var description: String {
            switch self {
            case .emptyPassphrase: return "the passphrase is empty: give a non-empty one"
            case .notSealed: return "not sealed with a passphrase"
            case .malformedHeader(let why): return "its encryption header is damaged (\(why))"
            case .wrongPassphraseOrChanged: return "cannot decrypt it: the passphrase is wrong, or the file was changed or cut short"
            }
        }
    }

    struct Header: Codable, Equatable {
        var kdf: String
        var n: Int
        var r: Int
        var p: Int
        var salt: String
        var cipher: String
    }

    public static func isSealed(_ data: Data) -> Bool { data.starts(with: magic) }

    /// `cost` is log2(N); tests may lower it, archives use the default.
    public static func seal(_ plaintext: Data, passphrase: String, cost: Int = 15) throws -> Data {
        guard !passphrase.isEmpty else { throw Failure.emptyPassphrase }
        var salt = Data(count: 16)
        salt.withUnsafeMutableBytes { buf in
            var g = SystemRandomNumberGenerator()
            for i in buf.indices { buf[i] = UInt8.random(in: 0...255, using: &g) }
        }
        let header = Header(kdf: "scrypt", n: 1 << cost, r: 8, p: 1, salt: salt.base64EncodedString(), cipher: "chacha20-poly1305")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let head = magic + (try encoder.encode(header)) + Data("\n".utf8)
        let key = try deriveKey(passphrase, header)
        let box = try ChaChaPoly.seal(plaintext, using: key, authenticating: head)
        return head + box.combined
    }

    public static func open(_ sealed: Data, passphrase: String) throws -> Data {
        guard isSealed(sealed) else { throw Failure.notSealed }
        let rest = sealed.dropFirst(magic.count)
        guard let nl = rest.firstIndex(of: UInt8(ascii: "\n")) else { throw Failure.malformedHeader("no end of header") }
        let header: Header
        do { header = try JSONDecoder().decode(Header.self, from: Data(rest[rest.startIndex..<nl])) } catch {
            throw Failure.malformedHeader("not JSON")
        }
        guard header.kdf == "scrypt", header.cipher == "chacha20-poly1305" else {
            throw Failure.malformedHeader("unknown kdf \(header.kdf) or cipher \(header.cipher)")
        }
        // Bounds that keep a forged header from asking for gigabytes or hours.
        guard header.n >= 1024, header.n <= 1 << 17, header.n & (header.n - 1) == 0, header.r == 8, (1...4).contains(header.p) else {
            throw Failure.malformedHeader("scrypt parameters out of range")
        }
        let head = Data(sealed[sealed.startIndex...nl])
        let key = try deriveKey(passphrase, header)
        do {
            let box = try ChaChaPoly.SealedBox(combined: Data(sealed[(nl + 1)...]))
            return try ChaChaPoly.open(box, using: key, authenticating: head)
        } catch {
            throw Failure.wrongPassphraseOrChanged
        }
    }

    static func deriveKey(_ passphrase: String, _ h: Header) throws -> SymmetricKey {
        guard let salt = Data(base64Encoded: h.salt), salt.count >= 16 else { throw Failure.malformedHeader("bad salt") }
        return try KDF.Scrypt.deriveKey(
            from: Data(passphrase.utf8), salt: salt, outputByteCount: 32,
            rounds: h.n, blockSize: h.r, parallelism: h.p)
    }
}
