import FleetSupport
import Foundation
import Testing

/// TLS session resumption against real dockerd (Go's crypto/tls, TLS 1.3 tickets): commands
/// resume the machine's saved session instead of a full handshake, and a saved session never
/// lets another daemon pass for the machine.
@Suite(.enabled(if: Fleet.enabled, "\(Fleet.skipComment)"), .fleetSlot)
struct TLSResumptionTests {
    /// (full, resumed) handshakes a `--debug` run logged.
    static func handshakes(_ r: Subprocess.Result) -> (full: Int, resumed: Int) {
        let lines = r.stderrText.split(separator: "\n")
        return (
            lines.filter { $0.contains("full TLS handshake with") }.count,
            lines.filter { $0.contains("resumed TLS session with") }.count
        )
    }

    static func mode(_ path: String) -> mode_t {
        var st = stat()
        return lstat(path, &st) == 0 ? st.st_mode & 0o777 : 0
    }

    @Test func commandsResumeAndASessionIsBoundToItsMachine() async throws {
        let hosts = try await Fleet.fresh(["t-a1", "t-b1"], variant: "docker")
        let (a, b) = (hosts[0], hosts[1])
        let cli = CLI()
        defer { cli.cleanup() }
        for (name, host) in [("a", a), ("b", b)] {
            let r = try await cli.create(name, on: host)
            #expect(r.status == 0, "\(r.all)")
        }
        let sessionA = "\(cli.store)/machines/a/tls-session", sessionB = "\(cli.store)/machines/b/tls-session"
        // create's readiness check did the full handshake and kept the session, owner only
        #expect(Self.mode(sessionA) == 0o600 && Self.mode(sessionB) == 0o600)

        // ls, status, version resume: no full handshake (ls without the keeper, which would ask
        // the daemons over its own connections: KeeperTests)
        let ls = ["ls", "--persist", "0"]
        for args in [ls, ls, ["status", "a"], ["version", "b"]] {
            let r = try await cli.run(args + ["--debug"])
            #expect(r.status == 0, "\(r.all)")
            let h = Self.handshakes(r)
            #expect(h.full == 0 && h.resumed == (args == ls ? 2 : 1), "\(args): \(h) \(r.all)")
        }
        // a daemon restarted (new ticket keys) declines the session: one full handshake, then resumed again
        let restart = try await Fleet.run(a.name, "systemctl restart docker")
        #expect(restart.status == 0, "\(restart.all)")
        for expected in [(1, 0), (0, 1)] {
            let r = try await cli.run(["status", "a", "--debug"])
            #expect(r.stdoutText == "Running\n", "\(r.all)")
            let h = Self.handshakes(r)
            #expect(h.full == expected.0 && h.resumed == expected.1, "\(h) \(r.all)")
        }

        // b's address leads to a's daemon (b's port 2376 relayed there), and b's saved session is
        // a's: offered, a's daemon would resume it and pass for b without showing a certificate.
        let relay = """
            systemctl stop docker docker.socket
            cat > /tmp/relay.py <<'PY'
            import os, socket, threading
            os.closerange(3, 65536)  # none of the test's pipes: its run must end when the script does
            def pipe(s, d):
                try:
                    while True:
                        b = s.recv(65536)
                        if not b: break
                        d.sendall(b)
                except OSError: pass
                finally:
                    try: d.shutdown(socket.SHUT_WR)
                    except OSError: pass
            l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            l.bind(("0.0.0.0", 2376)); l.listen(16)
            while True:
                c, _ = l.accept()
                u = socket.create_connection(("\(a.ip)", 2376))
                threading.Thread(target=pipe, args=(c, u), daemon=True).start()
                threading.Thread(target=pipe, args=(u, c), daemon=True).start()
            PY
            setsid -f python3 /tmp/relay.py </dev/null >/dev/null 2>&1
            for i in $(seq 50); do python3 -c 'import socket; socket.create_connection(("127.0.0.1", 2376))' 2>/dev/null && exit 0; sleep 0.1; done
            exit 1
            """
        let r = try await Fleet.run(b.name, relay)
        #expect(r.status == 0, "\(r.all)")
        try FileManager.default.removeItem(atPath: sessionB)
        try FileManager.default.copyItem(atPath: sessionA, toPath: sessionB)
        let st = try await cli.run(["status", "b", "--debug"])
        #expect(st.stdoutText == "Error\n", "a's daemon passed for b: \(st.all)")
        #expect(Self.handshakes(st).resumed == 0, "\(st.all)")
        // Directly and through the keeper (which reads the saved session as it is now).
        for persist in ["0", "60s"] {
            let r = try await cli.run(["ls", "--persist", persist, "--filter", "name=b", "--format", "{{.Name}} {{.State}} {{.Error}}"])
            #expect(r.stdoutText.hasPrefix("b Error TLS: certificate does not cover the address"), "--persist \(persist): \(r.all)")
        }
        _ = try await cli.run(["keeper", "stop"])

        // regenerate-certs --client-certs: a session saved before it is not offered afterwards
        let before = try Data(contentsOf: URL(fileURLWithPath: sessionA))
        let regen = try await cli.run(["regenerate-certs", "-f", "--client-certs", "a"])
        #expect(regen.status == 0, "\(regen.all)")
        #expect(Self.mode(sessionA) == 0o600)
        #expect(try Data(contentsOf: URL(fileURLWithPath: sessionA)) != before)
        try before.write(to: URL(fileURLWithPath: sessionA))
        chmod(sessionA, 0o600)
        let after = try await cli.run(["status", "a", "--debug"])
        #expect(after.stdoutText == "Running\n", "\(after.all)")
        #expect(Self.handshakes(after).full == 1 && Self.handshakes(after).resumed == 0, "\(after.all)")

        // rm takes the session with the machine's directory
        let rm = try await cli.run(["rm", "-f", "a"])
        #expect(rm.status == 0, "\(rm.all)")
        #expect(!FileManager.default.fileExists(atPath: sessionA))
        try await Fleet.down(["t-a1", "t-b1"])
    }
}
