import Crypto
import FleetSupport
import Foundation
import SSHKit
import Testing

@Suite(.enabled(if: Fleet.enabled, "\(Fleet.skipComment)"), .fleetSlot)
struct SFTPTests {
    @Test func tenMegabytesUpAndDown() async throws {
        let host = try await Fleet.up("sk1")
        let dir = TempDir()
        let s = try await connect(host, dir: dir)
        var rng = SystemRandomNumberGenerator()
        var bytes = [UInt8](repeating: 0, count: 10 * 1024 * 1024 + 123)
        for i in stride(from: 0, to: bytes.count, by: 8) {
            let v = rng.next()
            withUnsafeBytes(of: v) { raw in
                for j in 0..<min(8, bytes.count - i) { bytes[i + j] = raw[j] }
            }
        }
        let data = Data(bytes)
        let local = dir.file("big.bin")
        try data.write(to: URL(fileURLWithPath: local))
        let digest = SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
        let remote = "/tmp/sftp-test-\(UUID().uuidString).bin"
        try await s.upload(file: local, to: remote, mode: 0o640)
        let remoteSum = try await s.run("sha256sum \(remote) | cut -d' ' -f1; stat -c %a \(remote)")
        #expect(remoteSum == "\(digest)\n640\n")
        // Download both ways: into memory and streamed to a file.
        let back = try await s.download(remote)
        #expect(SHA256.hash(data: back).map { String(format: "%02x", $0) }.joined() == digest)
        let localBack = dir.file("back.bin")
        try await s.download(remote, toFile: localBack)
        #expect(try Data(contentsOf: URL(fileURLWithPath: localBack)) == data)
        // Replacing an existing file works (atomic temp + move) and leaves no temp file behind.
        try await s.upload(Data("small\n".utf8), to: remote, mode: 0o644)
        #expect(try await s.run("cat \(remote); ls -a /tmp | grep -c swock- || true") == "small\n0\n")
        try await s.run("rm -f \(remote)")
    }

    @Test func secretLandsRootOwned0600WithoutACommandLine() async throws {
        let host = try await Fleet.up("sk1")
        let dir = TempDir()
        let s = try await connect(host, dir: dir)   // as tester, through sudo
        #expect(try await s.rootAccess() == .sudo)
        let secret = Data("-----BEGIN PRIVATE KEY-----\nnot-really-\(UUID().uuidString)\n-----END PRIVATE KEY-----\n".utf8)
        // Watch the remote process table while installing: the secret must never appear there.
        let watcher = Task {
            try await Fleet.run("sk1", "for i in $(seq 1 60); do ps -eo args; sleep 0.05; done")
        }
        let path = "/etc/swock-test/\(UUID().uuidString)/server-key.pem"
        try await s.installAsRoot(secret, at: path, mode: 0o600)
        let seen = try await watcher.value
        #expect(!seen.stdoutText.contains("not-really-"))
        #expect(try await s.runAsRoot("stat -c '%a %U %G' \(path)") == "600 root root\n")
        #expect(try await s.runAsRoot("cat \(path)") == String(decoding: secret, as: UTF8.self))
        #expect(try await s.exec("cat \(path)").exitStatus != 0)  // tester cannot read it
        #expect(try await s.run("ls -d /tmp/swock.* 2>/dev/null | wc -l") == "0\n")
    }

    @Test func missingRemoteFileIsAClearError() async throws {
        let host = try await Fleet.up("sk1")
        let dir = TempDir()
        let s = try await connect(host, dir: dir)
        do {
            _ = try await s.download("/nonexistent/file")
            Issue.record("expected an error")
        } catch let e as SSHError {
            #expect(e.description.contains("/nonexistent/file"))
            #expect(e.description.contains("no such file"))
        }
    }
}
