import Foundation
import SwockSupport
import Testing

struct TarTests {
    let entries: [Tar.Entry] = [
        .file("manifest.json", Data("{}".utf8), mode: 0o644),
        .directory("machines"),
        .file("machines/web1/key.pem", Data((0..<1500).map { UInt8($0 % 251) })),
        .file("empty", Data()),
    ]

    @Test func roundTripKeepsNamesModesAndBytes() throws {
        let data = try Tar.write(entries)
        #expect(data.count % 512 == 0)
        #expect(try Tar.read(data) == entries)
        #expect(Tar.startsLikeAnArchive(data))
    }

    /// GNU tar, the reference reader, lists and extracts what we write byte for byte.
    @Test func gnuTarReadsIt() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tar-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("a.tar")
        try Tar.write(entries).write(to: file)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/tar")
        p.arguments = ["-xf", file.path, "-C", dir.path]
        try p.run(); p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        #expect(FileManager.default.contents(atPath: dir.path + "/machines/web1/key.pem") == entries[2].data)
        let mode = try FileManager.default.attributesOfItem(atPath: dir.path + "/machines/web1/key.pem")[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    @Test func longPathsUseThePrefixField() throws {
        let long = String(repeating: "d", count: 120) + "/" + String(repeating: "f", count: 90)
        let data = try Tar.write([.file(long, Data("x".utf8))])
        #expect(try Tar.read(data).first?.path == long)
        #expect(throws: Tar.Malformed.self) { try Tar.write([.file(String(repeating: "x", count: 300), Data())]) }
    }

    @Test func cutOrChangedArchivesAreRefused() throws {
        let data = try Tar.write(entries)
        #expect(throws: Tar.Malformed.self) { try Tar.read(data.prefix(700)) }  // inside a file
        #expect(throws: Tar.Malformed.self) { try Tar.read(data.prefix(512 * 2 + 100)) }
        var flipped = data
        flipped[10] ^= 0x01  // a header byte
        #expect(throws: Tar.Malformed.self) { try Tar.read(flipped) }
        #expect(!Tar.startsLikeAnArchive(Data("SWOCK-SEALED 1\n".utf8) + Data(count: 600)))
    }
}
