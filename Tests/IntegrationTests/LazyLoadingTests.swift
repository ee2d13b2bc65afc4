import FleetSupport
import Foundation
import SwockStore
import Testing

/// Verbs that never reach a host do not load libssh or OpenSSL (CLazyLink): the dynamic
/// loader's own account (LD_DEBUG=files) names every library a run loads.
@Suite struct LazyLoadingTests {
    /// The libssh/OpenSSL libraries a run loaded, by the loader's "file=NAME" lines.
    static func sshAndTLSLibraries(_ r: Subprocess.Result) -> Set<String> {
        var found = Set<String>()
        for line in r.stderrText.split(separator: "\n") {
            for lib in ["libssh.so", "libssl.so", "libcrypto.so", "libgssapi_krb5.so"] where line.contains("file=\(lib)") {
                found.insert(lib)
            }
        }
        return found
    }

    @Test func verbsThatNeverReachAHostLoadNeitherLibsshNorOpenSSL() async throws {
        let cli = CLI()
        defer { cli.cleanup() }
        // A ready record with its client files (what `env` checks offline; their contents are not read).
        var record = CompletionTests.record("web1")
        record.provisioning.phase = .ready
        let store = Store(root: cli.store)
        try store.reserve(record)
        for f in ["ca.pem", "cert.pem", "key.pem"] { try store.writeMachineFile("web1", f, "placeholder\n") }
        let use = try await cli.run(["use", "web1"])
        #expect(use.status == 0, "\(use.all)")
        for args in [
            ["--version"], ["env", "web1"], ["active"], ["ip", "web1"], ["url", "web1"], ["config", "web1"], ["ls", "-q"],
            ["inspect", "web1"],
        ] {
            let r = try await cli.run(args, env: ["LD_DEBUG": "files"])
            #expect(r.status == 0, "\(args): \(r.stdoutText)")
            #expect(Self.sshAndTLSLibraries(r).isEmpty, "\(args) loaded \(Self.sshAndTLSLibraries(r).sorted())")
        }
        // A verb that talks to the daemon loads them when it connects (10.231.254.1 answers nothing).
        let status = try await cli.run(["status", "web1", "--timeout", "1"], env: ["LD_DEBUG": "files"])
        #expect(
            Self.sshAndTLSLibraries(status).isSuperset(of: ["libssh.so", "libssl.so", "libcrypto.so"]), "\(status.stderrText.suffix(2000))")
    }
}
