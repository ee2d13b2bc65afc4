import FleetSupport
import Foundation
import SwockPKI
import SwockSupport
import Testing

@testable import SwockStore

/// The store under damage, offline: truncated and scrambled records, leftovers of a crash, a
/// record from a newer swock-machine, a broken CA, a full disk. Every failure is one clear line
/// and nothing that was good is lost or rewritten.
@Suite struct StoreFaultTests {
    /// A user-facing store error: one line, naming the machine and what to do.
    static func expectClear(_ e: StoreError, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let d = e.description
        #expect(!d.contains("\n") && !d.contains("\r"), "more than one line: \(d)", sourceLocation: sourceLocation)
        #expect(d.contains("machine \"\(name)\""), "the machine is not named: \(d)", sourceLocation: sourceLocation)
        // The next step (`rm -f NAME`) is SwockCommands' advice for the code; the store only says what is wrong.
        #expect(e.code == "store.corrupt" || d.contains("upgrade swock-machine"), "no next step: \(d)", sourceLocation: sourceLocation)
        #expect(
            !d.contains("CodingKeys(") && !d.contains("Context("), "a Swift dump instead of a reason: \(d)", sourceLocation: sourceLocation)
        #expect(
            !d.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7f }, "control characters in: \(d.debugDescription)",
            sourceLocation: sourceLocation)
    }

    static func leftovers(_ root: String) -> [String] {
        (FileManager.default.enumerator(atPath: root)?.allObjects.compactMap { $0 as? String } ?? [])
            .filter { ($0 as NSString).lastPathComponent.contains(".tmp-") }
    }

    @Test func truncatedAtEveryByteIsOneClearErrorAndTheOthersStillLoad() throws {
        let dir = try TempDir("trunc")
        defer { dir.remove() }
        let store = Store(root: dir.path)
        try store.reserve(sampleConfig("good"))
        try store.reserve(sampleConfig("cut"))
        let full = try Store.encode(sampleConfig("cut"))
        // Every proper prefix of the JSON text (the last byte is the final newline).
        for n in 0..<(full.count - 1) {
            try full.prefix(n).write(to: URL(fileURLWithPath: store.configPath("cut")))
            do {
                _ = try store.load("cut")
                Issue.record("a record cut at byte \(n) of \(full.count) loaded")
            } catch let e as StoreError {
                guard case .corrupt = e else { Issue.record("cut at \(n): \(e)"); continue }
                Self.expectClear(e, "cut")
            }
        }
        let list = store.list()
        #expect(list.map(\.name) == ["cut", "good"])
        #expect((try? list[1].result.get())?.name == "good")
    }

    @Test func scrambledRecordsNeverCrashAndFailClearly() throws {
        let dir = try TempDir("scramble")
        defer { dir.remove() }
        let store = Store(root: dir.path)
        try store.reserve(sampleConfig("s"))
        let good = try Store.encode(sampleConfig("s"))
        var rng = SplitMix(seed: 0x5eed)
        var failures = 0
        for round in 0..<600 {
            var bytes = [UInt8](good)
            for _ in 0..<(1 + round % 4) {
                let i = Int(rng.next() % UInt64(bytes.count))
                bytes[i] = UInt8(truncatingIfNeeded: rng.next())
            }
            try Data(bytes).write(to: URL(fileURLWithPath: store.configPath("s")))
            do {
                _ = try store.load("s")
            } catch let e as StoreError {
                failures += 1
                Self.expectClear(e, "s")
            }
        }
        #expect(failures > 100, "the fuzzing hardly broke anything (\(failures))")
    }

    /// Values that parse as JSON but not as a record.
    @Test(arguments: [
        ("createdAt", "\"yesterday\""),
        ("createdAt", "12"),
        ("provisioning", "{\"phase\": \"exploded\", \"stepsDone\": []}"),
        ("ssh", "{\"user\": \"u\", \"port\": 22, \"authMode\": \"telepathy\", \"knownHostsPath\": \"k\"}"),
        ("engine", "[]"),
        ("labels", "{\"k\": 1}"),
        ("configVersion", "\"1\""),
        ("configVersion", "1.5"),
    ])
    func wrongValuesAreNamed(field: String, json: String) throws {
        let dir = try TempDir("values")
        defer { dir.remove() }
        let store = Store(root: dir.path)
        try store.reserve(sampleConfig("v"))
        var text = String(decoding: try Store.encode(sampleConfig("v")), as: UTF8.self)
        // Replace the field's value at the top level (the encoder sorts keys and indents by 2).
        var object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
        object[field] = try JSONSerialization.jsonObject(with: Data(json.utf8), options: [.fragmentsAllowed])
        text = String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
        try text.write(toFile: store.configPath("v"), atomically: true, encoding: .utf8)
        let e = #expect(throws: StoreError.self) { _ = try store.load("v") }
        guard let e else { return }
        Self.expectClear(e, "v")
        // The reason names the field that is wrong.
        #expect(e.description.contains(field), "\(e)")
    }

    @Test func crashLeftoversAreIgnoredAndHarmless() throws {
        let dir = try TempDir("leftover")
        defer { dir.remove() }
        let store = Store(root: dir.path)
        try store.reserve(sampleConfig("a"))
        try store.reserve(sampleConfig("b"))
        let full = try Store.encode(sampleConfig("a"))
        // What a kill -9 in the middle of AtomicFile.write or Store.remove leaves behind.
        try full.prefix(40).write(to: URL(fileURLWithPath: store.machineDir("a") + "/.config.json.tmp-999-1"))
        try FileManager.default.createDirectory(atPath: store.machinesDir + "/.removing-c-999", withIntermediateDirectories: true)
        try full.prefix(10).write(to: URL(fileURLWithPath: store.machinesDir + "/.removing-c-999/config.json"))
        try Data("junk".utf8).write(to: URL(fileURLWithPath: store.certsDir + "/.ca.pem.tmp-999-2"))
        #expect(store.names() == ["a", "b"])
        #expect(try store.load("a").labels == sampleConfig("a").labels)
        // A later write of the same file still works and does not trip over the leftover.
        try store.update("a") { $0.labels["after"] = "crash" }
        #expect(try store.load("a").labels["after"] == "crash")
        _ = try store.ensureCA()
    }

    @Test func aRecordFromANewerVersionIsNeverRewritten() throws {
        let dir = try TempDir("future")
        defer { dir.remove() }
        let store = Store(root: dir.path)
        try store.reserve(sampleConfig("f"))
        var object = try JSONSerialization.jsonObject(with: Store.encode(sampleConfig("f"))) as! [String: Any]
        object["configVersion"] = 2
        object["somethingNew"] = ["nested": true]
        let future = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        try future.write(to: URL(fileURLWithPath: store.configPath("f")))
        for attempt in [
            { _ = try store.load("f") },
            { try store.update("f") { $0.provisioning.phase = .failed } },
        ] as [() throws -> Void] {
            #expect(throws: StoreError.unsupportedVersion(name: "f", found: 2, supported: 1)) { try attempt() }
        }
        Self.expectClear(.unsupportedVersion(name: "f", found: 2, supported: 1), "f")
        #expect(
            try Data(contentsOf: URL(fileURLWithPath: store.configPath("f"))) == future, "an older swock-machine rewrote a newer record")
    }

    @Test func aBrokenCAIsNeverReplacedSilently() throws {
        let dir = try TempDir("badca")
        defer { dir.remove() }
        let store = Store(root: dir.path)
        _ = try store.ensureCA()
        let certs = try FileManager.default.contentsOfDirectory(atPath: store.certsDir).sorted()
        // A CA key that is garbage: every issue would fail; regenerating would orphan every machine.
        try Data("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n".utf8)
            .write(to: URL(fileURLWithPath: store.certsDir + "/ca-key.pem"))
        let snapshot = try certs.map { try Data(contentsOf: URL(fileURLWithPath: store.certsDir + "/" + $0)) }
        do {
            _ = try store.ensureCA()
            Issue.record("a broken CA key was accepted")
        } catch let e as StoreError {
            #expect(e.description.contains("cannot be loaded") && e.description.contains("backup"), "\(e)")
            #expect(!e.description.contains("\n"))
        }
        #expect(try certs.map { try Data(contentsOf: URL(fileURLWithPath: store.certsDir + "/" + $0)) } == snapshot, "the CA files changed")
    }

    @Test func aStoreRootThatIsAFileIsOneClearError() throws {
        let dir = try TempDir("rootfile")
        defer { dir.remove() }
        let root = dir.sub("store")
        try Data("not a dir".utf8).write(to: URL(fileURLWithPath: root))
        let store = Store(root: root)
        do {
            try store.reserve(sampleConfig("x"))
            Issue.record("reserve in a store that is a file succeeded")
        } catch let e as StoreError {
            #expect(e.description.hasPrefix("store: \(root)"), "\(e)")
            #expect(!e.description.contains("\n"))
        }
        #expect(store.list().isEmpty)
        #expect(throws: StoreError.notFound("x")) { try store.load("x") }
    }

    // MARK: A full local disk (needs root to mount a small tmpfs)

    /// A tmpfs of `kilobytes` at a fresh directory; unmounted by the returned closure.
    static func smallDisk(_ dir: TempDir, kilobytes: Int) throws -> (path: String, unmount: () -> Void) {
        let mnt = dir.sub("disk")
        try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
        let r = try Subprocess.runBlocking(["/bin/mount", "-t", "tmpfs", "-o", "size=\(kilobytes)k,mode=0700", "ft-store-full", mnt])
        guard r.status == 0 else { throw Fleet.Failure(description: "mount tmpfs: \(r.stderrText)") }
        return (mnt, { _ = try? Subprocess.runBlocking(["/bin/umount", "-l", mnt]) })
    }

    /// Fills the filesystem at `path` until `pagesLeft` 4 KiB pages are free.
    static func fill(_ path: String, leaving pagesLeft: Int) throws {
        var st = statvfs()
        guard statvfs(path, &st) == 0 else { return }
        let free = Int(st.f_bavail) * Int(st.f_frsize)
        let size = max(0, free - pagesLeft * 4096)
        let fd = open(path + "/filler", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        defer { close(fd) }
        let chunk = [UInt8](repeating: 0x5a, count: 4096)
        var written = 0
        while written < size {
            let n = chunk.withUnsafeBytes { write(fd, $0.baseAddress!, min(4096, size - written)) }
            if n <= 0 { break }
            written += n
        }
    }

    @Test(.enabled(if: geteuid() == 0, "mounting a small tmpfs needs root"))
    func fullDiskKeepsTheOldRecordAndLeavesNoTempFile() throws {
        let dir = try TempDir("full")
        defer { dir.remove() }
        let disk = try Self.smallDisk(dir, kilobytes: 256)
        defer { disk.unmount() }
        let store = Store(root: disk.path + "/store")
        try store.reserve(sampleConfig("keep"))
        _ = try store.ensureCA()
        let before = try Data(contentsOf: URL(fileURLWithPath: store.configPath("keep")))
        try Self.fill(disk.path, leaving: 0)

        do {
            try store.update("keep") { $0.labels["big"] = String(repeating: "x", count: 64 * 1024) }
            Issue.record("an update on a full disk succeeded")
        } catch let e as StoreError {
            #expect(e.description.contains("No space left on device"), "\(e)")
            #expect(e.description.contains("config.json"), "the file is not named: \(e)")
            #expect(!e.description.contains("\n"))
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: store.configPath("keep"))) == before, "the old record was damaged")
        #expect(throws: StoreError.self) { try store.reserve(sampleConfig("new")) }
        #expect(!store.exists("new"), "a reserve that failed left its directory")
        #expect(Self.leftovers(disk.path).isEmpty, "temp files left: \(Self.leftovers(disk.path))")
        #expect(try store.load("keep") == Store.decode(before, name: "keep", path: "x"))
    }

    /// The very first create on a nearly full disk: the CA key fits, the CA certificate does not.
    /// The store must work once there is room again — not demand a backup that cannot exist.
    @Test(.enabled(if: geteuid() == 0, "mounting a small tmpfs needs root"))
    func aFirstCACutShortByAFullDiskDoesNotWedgeTheStore() throws {
        let dir = try TempDir("fullca")
        defer { dir.remove() }
        let disk = try Self.smallDisk(dir, kilobytes: 256)
        defer { disk.unmount() }
        let store = Store(root: disk.path + "/store")
        try store.ensureLayout()
        try Self.fill(disk.path, leaving: 1)
        #expect(throws: StoreError.self) { _ = try store.ensureCA() }
        #expect(Self.leftovers(disk.path).isEmpty, "temp files left: \(Self.leftovers(disk.path))")
        let certs = try FileManager.default.contentsOfDirectory(atPath: store.certsDir).sorted()
        try FileManager.default.removeItem(atPath: disk.path + "/filler")

        // Room again. The key and the certificate are written as a group: either both or neither.
        let result = Result { try store.ensureCA() }
        #expect(certs.isEmpty, "a CA that did not fit left \(certs)")
        #expect(throws: Never.self, "\(result)") { _ = try result.get() }
    }
}

/// A small deterministic generator for the fuzzing.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
