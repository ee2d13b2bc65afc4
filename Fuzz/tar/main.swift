// Fuzz target: Tar.read on an archive from elsewhere (import reads what another computer wrote).
// What reads must write back (when its names fit ustar) and read again to the same entries.
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size > 0 else { return 0 }
    let input = Data(bytes: data, count: size)
    _ = Tar.startsLikeAnArchive(input)
    guard let entries = try? Tar.read(input) else { return 0 }
    for e in entries {
        check(e.mode <= 0o7777, "mode beyond 07777")
        check(e.kind == .file || e.data.isEmpty, "a directory with data")
    }
    guard let again = try? Tar.write(entries, mtime: Date(timeIntervalSince1970: 0)) else { return 0 }
    let reread: [Tar.Entry]
    do { reread = try Tar.read(again) } catch { fatalError("what Tar.write wrote does not read back: \(error)") }
    // A directory's trailing slashes are not part of its name ("a//" reads as "a/", then "a").
    func plain(_ es: [Tar.Entry]) -> [Tar.Entry] {
        es.map { e in
            var e = e
            if e.kind == .directory { while e.path.hasSuffix("/") { e.path.removeLast() } }
            return e
        }
    }
    check(plain(reread) == plain(entries), "read, written and read again, the entries differ")
    return 0
}
