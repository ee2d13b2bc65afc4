import FleetSupport
import Foundation
import SwockSupport
import Testing

/// scp, the lifecycle verbs, provision and regenerate-certs through the connection keeper (issue
/// 22): the host's sshd sees no new login while the keeper holds one, and one per command when
/// the keeper is off. Part of KeeperTests (its fixture k-t1..k-t3, serialized).
extension KeeperTests {
    /// sshd's key logins on the host so far, from its journal: a command that connects adds one.
    func logins(_ host: FleetHost) async throws -> Int {
        let r = try await Fleet.run(host.name, "journalctl -o cat --no-pager | grep -c 'Accepted publickey for ' || true")
        return Int(r.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    /// The login count once it is above `count` (a bounded wait for the journal), else as it is.
    func logins(_ host: FleetHost, above count: Int) async throws -> Int {
        var n = try await logins(host)
        for _ in 0..<100 where n <= count {
            try await Task.sleep(for: .milliseconds(100))
            n = try await logins(host)
        }
        return n
    }

    func scratchDirectory() throws -> String {
        let dir = NSTemporaryDirectory() + "kp-scp-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test func scpLifecycleProvisionAndRegenerateCertsGoThroughTheHeldConnection() async throws {
        let (cli, hosts) = try await KeeperFixture.shared.get()
        let host = hosts[1], name = "k-t2"
        _ = try await cli.run(["keeper", "stop"])
        let cold = try await logins(host)
        #expect(try await cli.run(["ssh", name, "--", "true"]).status == 0)
        let pid = try #require(try await keeperPID(cli))
        let before = try await logins(host, above: cold)
        #expect(before == cold + 1, "warming the keeper: \(before - cold) logins")
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let payload = Data((0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) })
        try payload.write(to: URL(fileURLWithPath: dir + "/up.bin"))
        #expect(chmod(dir + "/up.bin", 0o640) == 0)

        // Up and down: the bytes and the mode arrive.
        let up = try await cli.run(["scp", "-q", dir + "/up.bin", "\(name):kp-up.bin"])
        #expect(up.status == 0, "\(up.all)")
        let mode = try await Fleet.run(host.name, "stat -c %a ~\(host.user)/kp-up.bin")
        #expect(mode.stdoutText == "640\n", "\(mode.all)")
        let down = try await cli.run(["scp", "-q", "\(name):kp-up.bin", dir + "/down.bin"])
        #expect(down.status == 0, "\(down.all)")
        #expect(FileManager.default.contents(atPath: dir + "/down.bin") == payload)
        #expect(try FileManager.default.attributesOfItem(atPath: dir + "/down.bin")[.posixPermissions] as? Int == 0o640)
        let missing = try await cli.run(["scp", "-q", "\(name):kp-none.bin", dir + "/none.bin"])
        #expect(missing.status != 0, "\(missing.all)")
        // The engine over SSH, provisioning again, new certificates: all on the held connection.
        for args in [["stop", name], ["start", name], ["provision", name], ["regenerate-certs", "-f", name]] {
            let r = try await cli.run(args)
            #expect(r.status == 0, "\(args): \(r.all)")
        }
        let after = try await logins(host)
        #expect(after == before, "scp, stop, start, provision and regenerate-certs logged in \(after - before) times beside the keeper")
        #expect(try await keeperPID(cli) == pid, "the commands did not stay with one keeper")

        // Turned off: each command logs in on its own; the same failure reads the same.
        var count = after
        for args in [
            ["scp", "-q", dir + "/up.bin", "\(name):kp-up.bin"], ["scp", "-q", "\(name):kp-up.bin", dir + "/down2.bin"],
            ["stop", name], ["start", name],
        ] {
            let r = try await cli.run(args, env: ["SWOCK_PERSIST": "0"])
            #expect(r.status == 0, "\(args): \(r.all)")
            let n = try await logins(host, above: count)
            #expect(n > count, "\(args) with SWOCK_PERSIST=0 did not connect directly")
            count = n
        }
        let missingDirect = try await cli.run(["scp", "-q", "\(name):kp-none.bin", dir + "/none.bin"], env: ["SWOCK_PERSIST": "0"])
        #expect(
            missing.status == missingDirect.status && missing.stderrText == missingDirect.stderrText, "\(missing.all)\n\(missingDirect.all)"
        )
        #expect(FileManager.default.contents(atPath: dir + "/down2.bin") == payload)
        _ = try await Fleet.run(host.name, "rm -f ~\(host.user)/kp-up.bin")
    }

    @Test func killingTheKeeperDuringAnScpLeavesNoHalfWrittenFile() async throws {
        let (cli, hosts) = try await KeeperFixture.shared.get()
        let host = hosts[1], name = "k-t2"
        let big = "~\(host.user)/kp-big.bin"
        let made = try await Fleet.run(host.name, "head -c 48M /dev/urandom > \(big) && chown \(host.user) \(big) && sha256sum < \(big)")
        defer { _ = try? Subprocess.runBlocking([Fleet.script, "run", host.name, "--", "sh", "-c", "rm -f \(big)"]) }
        let sum = try #require(made.stdoutText.split(separator: " ").first.map(String.init), "\(made.all)")
        _ = try await cli.run(["keeper", "stop"])
        #expect(try await cli.run(["ssh", name, "--", "true"]).status == 0)
        let pid = try #require(try await keeperPID(cli))
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let bg = try Background([CLI.binary, "scp", "-q", "\(name):kp-big.bin", dir + "/big.bin"], environment: environment(cli))
        defer { bg.cleanup() }
        // Bounded wait until bytes arrive through the keeper (the hidden partial file grows), then kill it.
        var partial = false
        for _ in 0..<600 where !partial {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
            partial = names.contains {
                $0.hasPrefix(".big.bin.swock-partial-")
                    && ((try? FileManager.default.attributesOfItem(atPath: dir + "/" + $0)[.size] as? Int) ?? 0) > 0
            }
            if !partial { try await Task.sleep(for: .milliseconds(20)) }
        }
        #expect(partial, "no transfer was seen in progress")
        kill(pid, SIGKILL)
        let finished = await bg.wait(upTo: .seconds(120))
        if !finished { bg.kill() }
        #expect(finished, "scp hung after the keeper was killed: \(bg.stderrText)")
        // It finished directly: the whole file, and no temporary one left.
        #expect(bg.status == 0, "\(bg.stderrText)")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir)
        #expect(names == ["big.bin"], "\(names)")
        let local = try await Subprocess.run(["sha256sum", dir + "/big.bin"])
        #expect(local.stdoutText.hasPrefix(sum + " "), "the copy differs from the host's file: \(local.all)")
    }
}
