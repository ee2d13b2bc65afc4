// Fuzz target: export archives as `import` reads them (a file from another computer): the
// passphrase seal's header, the tar, the manifest, every record in it. swift-crypto is linked
// from the debug build (SHA-256, scrypt, ChaCha20-Poly1305); our layer is what is instrumented.
// A forged seal header must not make `open` ask for more than its bounds allow.
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size > 0 else { return 0 }
    let input = Data(bytes: data, count: size)
    guard let archive = try? MachineArchive.read(input, file: "machines.tar", passphrase: "fuzz passphrase") else { return 0 }
    for m in archive.machines {
        check((try? MachineName.validate(m.config.name)) != nil, "machine name \"\(m.config.name)\" was accepted")
        for f in ["ca.pem", "cert.pem", "key.pem", "known_hosts"] { check(m.files[f] != nil, "\(m.config.name): \(f) missing but accepted") }
    }
    // What reads must write out again and read back to the same machines.
    let again: MachineArchive
    do { again = try MachineArchive.read(try archive.tar(now: Date(timeIntervalSince1970: 0)), file: "again.tar", passphrase: nil) } catch {
        fatalError("an archive that reads does not read again once written: \(error)")
    }
    check(again.machines.map(\.config.name) == archive.machines.map(\.config.name), "written and read again, the machines differ")
    check(again.caKeys == archive.caKeys, "written and read again, the CA keys differ")
    return 0
}
