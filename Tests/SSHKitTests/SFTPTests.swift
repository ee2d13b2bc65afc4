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

    /// Several files in one round trip (a tar stream on stdin): modes, owners, atomic replace,
    /// `before`/`then` in order, the secret on no command line; a path that cannot be written
    /// fails the whole call; a host without tar gets the same over SFTP.
    @Test func severalRootFilesInOneRoundTrip() async throws {
        let host = try await Fleet.fresh("sk-root", variant: "base")
        let dir = TempDir()
        let s = try await connect(host, dir: dir)  // as tester, through sudo
        let base = "/etc/swock-batch-\(UUID().uuidString.prefix(8))"
        let secret = "not-really-\(UUID().uuidString)"
        let watcher = Task { try await Fleet.run("sk-root", "for i in $(seq 1 40); do ps -eo args; sleep 0.05; done") }
        let then = try await s.installAsRoot(
            [
                RootFile("\(base)/a/public.pem", Data("public\n".utf8), mode: 0o644),
                RootFile("\(base)/b/secret.pem", Data((secret + "\n").utf8), mode: 0o600),
            ], before: "echo before > \(base).log", then: "echo then >> \(base).log; cat \(base)/b/secret.pem >/dev/null && echo done")
        #expect(then?.succeeded == true && then?.stdoutText == "done\n", "\(String(describing: then))")
        #expect(!(try await watcher.value).stdoutText.contains(secret), "the secret was on a command line")
        #expect(
            try await s.runAsRoot("stat -c '%a %U' \(base)/a/public.pem \(base)/b/secret.pem; cat \(base).log \(base)/b/secret.pem")
                == "644 root\n600 root\nbefore\nthen\n\(secret)\n")
        #expect(try await s.run("ls -d /tmp/swock.* 2>/dev/null | wc -l") == "0\n")

        // A file where a directory must go: nothing further is installed, and it says which paths.
        try await s.runAsRoot("touch \(base)/blocker")
        await #expect(throws: SSHError.self) {
            try await s.installAsRoot([RootFile("\(base)/blocker/x.pem", Data("x".utf8)), RootFile("\(base)/c.pem", Data("c".utf8))])
        }
        #expect(try await s.runAsRoot("test -e \(base)/c.pem && echo there || echo absent") == "absent\n")

        // No tar on the host: the same files over SFTP, one by one.
        try await Fleet.run("sk-root", "mv /usr/bin/tar /usr/bin/tar.away")
        let fallback = try await s.installAsRoot([RootFile("\(base)/d.pem", Data("d\n".utf8), mode: 0o640)], then: "cat \(base)/d.pem")
        try await Fleet.run("sk-root", "mv /usr/bin/tar.away /usr/bin/tar")
        #expect(fallback?.stdoutText == "d\n")
        #expect(try await s.runAsRoot("stat -c %a \(base)/d.pem; rm -rf \(base) \(base).log") == "640\n")
        await s.close()
    }

    @Test func secretLandsRootOwned0600WithoutACommandLine() async throws {
        let host = try await Fleet.up("sk1")
        let dir = TempDir()
        let s = try await connect(host, dir: dir)  // as tester, through sudo
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
