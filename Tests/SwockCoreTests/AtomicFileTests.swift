import Foundation
import Testing

@testable import SwockStore

@Suite struct AtomicFileTests {
    @Test func writesExactModeAndLeavesNoTempFiles() throws {
        let dir = try TempDir("atomic")
        defer { dir.remove() }
        let path = dir.sub("file name.json")
        for i in 0..<20 { try AtomicFile.write("v\(i)", to: path) }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "v19")
        #expect(posixMode(path) == 0o600)
        // The mode is exact even where the umask would narrow it.
        try AtomicFile.write(Data([1, 2, 3]), to: path, mode: 0o666)
        #expect(posixMode(path) == 0o666)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data([1, 2, 3]))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["file name.json"])
    }

    @Test func replacesByRename() throws {
        let dir = try TempDir("atomic")
        defer { dir.remove() }
        let path = dir.sub("f")
        try AtomicFile.write("old", to: path)
        let fd = open(path, O_RDONLY)
        defer { close(fd) }
        var before = stat(), after = stat()
        fstat(fd, &before)
        try AtomicFile.write("new", to: path)
        stat(path, &after)
        #expect(before.st_ino != after.st_ino, "a new inode replaced the old one")
        var buf = [UInt8](repeating: 0, count: 16)
        let n = read(fd, &buf, 16)
        #expect(String(decoding: buf.prefix(max(n, 0)), as: UTF8.self) == "old", "an open reader keeps the old content")
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "new")
    }

    @Test func readersNeverSeeAHalfWrittenFile() throws {
        let dir = try TempDir("atomic")
        defer { dir.remove() }
        let path = dir.sub("big")
        let a = Data(repeating: 0x61, count: 256 * 1024), b = Data(repeating: 0x62, count: 300 * 1024)
        try AtomicFile.write(a, to: path)
        let done = DispatchSemaphore(value: 0)
        let writer = Thread {
            for i in 0..<60 { try? AtomicFile.write(i % 2 == 0 ? b : a, to: path) }
            done.signal()
        }
        writer.start()
        var reads = 0, bad = 0
        while done.wait(timeout: .now()) == .timedOut {
            if let d = FileManager.default.contents(atPath: path) { reads += 1; if d != a && d != b { bad += 1 } }
        }
        #expect(bad == 0, "\(bad) of \(reads) reads saw a partial file")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["big"])
    }

    @Test func failureLeavesNothing() throws {
        let dir = try TempDir("atomic")
        defer { dir.remove() }
        #expect(throws: StoreError.self) { try AtomicFile.write("x", to: dir.sub("missing dir/f")) }
        // A target that is a directory: rename fails, the temp file is cleaned up.
        try FileManager.default.createDirectory(atPath: dir.sub("d"), withIntermediateDirectories: true)
        try "keep".write(toFile: dir.sub("d/inside"), atomically: false, encoding: .utf8)
        #expect(throws: StoreError.self) { try AtomicFile.write("x", to: dir.sub("d")) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["d"])
    }
}
