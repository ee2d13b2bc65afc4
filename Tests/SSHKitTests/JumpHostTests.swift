import FleetSupport
import Foundation
import SSHKit
import Testing

/// Sessions through jump hosts (`ssh -J`), in-process: a direct-tcpip channel on each bastion
/// carries the next hop's session. The targets sit on private fleet networks that the client has
/// no route to (bastion A: outer + lan3; bastion B: lan3 + lan4; targets on lan3 and lan4 only).
@Suite(.enabled(if: Fleet.enabled, "\(Fleet.skipComment)"), .fleetSlot)
struct JumpHostTests {
    struct Layout {
        var bastionA: FleetHost
        var bastionAInner: String
        var bastionBInner: String
        var near: FleetHost
        var far: FleetHost
    }

    /// Booted once for the suite's tests that only read (shared, torn down with the fleet).
    static let shared = Task { () throws -> Layout in
        async let a = Fleet.freshShared(["jh-a"], nets: "outer,lan3")
        async let b = Fleet.freshShared(["jh-b"], nets: "lan3,lan4")
        async let n = Fleet.freshShared(["jh-near"], nets: "lan3")
        async let f = Fleet.freshShared(["jh-far"], nets: "lan4")
        let (ha, hb, hn, hf) = try await (a[0], b[0], n[0], f[0])
        return Layout(
            bastionA: ha, bastionAInner: try await Fleet.ip(ha.name, on: "lan3"),
            bastionBInner: hb.ip, near: hn, far: hf)
    }

    func layout() async throws -> Layout { try await Self.shared.value }

    func opts(_ host: FleetHost, _ dir: TempDir, jumps: [SSHTarget], policy: HostKeyPolicy = .acceptNew) -> SSHOptions {
        var o = options(for: host, knownHosts: dir.file("known_hosts"), policy: policy, connectTimeout: .seconds(5))
        o.proxyJump = jumps
        return o
    }

    @Test func oneAndTwoHopsCarryCommandsStdinAndFiles() async throws {
        let l = try await layout()
        let dir = TempDir()
        // The targets really are out of the client's reach.
        await #expect(throws: SSHError.self) {
            try await SSHSession.connect(
                to: SSHTarget(host: l.near.ip, user: "tester"),
                options: options(for: l.near, knownHosts: dir.file("direct"), connectTimeout: .seconds(2)))
        }
        let hopA = SSHTarget(host: l.bastionA.ip, user: "tester")
        let near = try await SSHSession.connect(to: SSHTarget(host: l.near.ip, user: "tester"), options: opts(l.near, dir, jumps: [hopA]))
        #expect(try await near.run("hostname") == "jh-near\n")
        #expect(near.jumpHostFingerprints.map(\.hop.host) == [l.bastionA.ip])
        // The connection to the target comes from the bastion's inner address.
        #expect(try await near.run("echo $SSH_CONNECTION").hasPrefix(l.bastionAInner + " "))

        let hopB = SSHTarget(host: l.bastionBInner, user: "tester")
        let far = try await SSHSession.connect(
            to: SSHTarget(host: l.far.ip, user: "tester"), options: opts(l.far, dir, jumps: [hopA, hopB]))
        #expect(try await far.run("hostname") == "jh-far\n")
        // Volume both ways through two hops: 8 MB down with its status, 3 MB up through stdin.
        let down = try await far.exec("head -c 8388608 /dev/urandom | tee /tmp/blob; sha256sum /tmp/blob | cut -c1-64 >&2; exit 4")
        #expect(down.exitStatus == 4)
        #expect(down.stdout.count == 8_388_608)
        #expect(try await sha256(down.stdout) + "\n" == down.stderrText)
        let up = Data((0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let sum = try await far.run("sha256sum | cut -c1-64", stdin: .data(up))
        #expect(sum == (try await sha256(up)) + "\n")
        // SFTP over the same route.
        try await far.upload(up, to: "/tmp/up.bin")
        #expect(try await far.download("/tmp/up.bin") == up)
        // Both sessions at once, on the shared first hop's keys.
        async let x = near.run("sleep 0.3; echo near")
        async let y = far.run("sleep 0.3; echo far")
        #expect(try await [x, y] == ["near\n", "far\n"])
        // Every hop's key is pinned in the one known_hosts file.
        let pinned = try String(contentsOfFile: dir.file("known_hosts"), encoding: .utf8)
        for h in [l.bastionA.ip, l.bastionBInner, l.near.ip, l.far.ip] {
            #expect(pinned.contains(h + " "), "\(h) not pinned: \(pinned)")
        }
        await near.close()
        await far.close()
        // Strict from now on: the pinned keys carry a fresh session through both hops.
        let again = try await SSHSession.connect(
            to: SSHTarget(host: l.far.ip, user: "tester"),
            options: opts(l.far, dir, jumps: [hopA, hopB], policy: .strict))
        #expect(try await again.run("hostname") == "jh-far\n")
    }

    func sha256(_ d: Data) async throws -> String {
        try await Subprocess.run(["sh", "-c", "sha256sum | cut -c1-64"], stdin: d).stdoutText.trimmingCharacters(
            in: .whitespacesAndNewlines)
    }

    @Test func aChangedKeyOnTheBastionIsRefusedNamingIt() async throws {
        // A bastion of its own: its keys are about to change.
        async let a = Fleet.fresh("jh-k", nets: "outer,lan5")
        async let t = Fleet.fresh("jh-kt", nets: "lan5")
        let (bastion, target) = try await (a, t)
        let dir = TempDir()
        let hopA = SSHTarget(host: bastion.ip, user: "tester")
        let first = try await SSHSession.connect(to: SSHTarget(host: target.ip, user: "tester"), options: opts(target, dir, jumps: [hopA]))
        let oldFingerprint = first.jumpHostFingerprints[0].fingerprint
        await first.close()
        // The bastion gets new host keys (a reinstall, or someone in the middle).
        let r = try await Fleet.run(bastion.name, "rm -f /etc/ssh/ssh_host_*; ssh-keygen -A >/dev/null && systemctl reload ssh")
        #expect(r.status == 0, "\(r.stderrText)")
        // sshd re-executes itself on reload: wait until it listens again.
        let listening = try await Fleet.run(
            bastion.name, "for i in $(seq 50); do ss -ltn | grep -q ':22 ' && exit 0; sleep 0.1; done; exit 1")
        #expect(listening.status == 0)
        do {
            _ = try await SSHSession.connect(
                to: SSHTarget(host: target.ip, user: "tester"), options: opts(target, dir, jumps: [hopA], policy: .strict))
            Issue.record("a changed bastion key was accepted")
        } catch let e as SSHError {
            guard case .viaJumpHost(let hop, .hostKeyChanged(let host, let expected, let presented, _)) = e else {
                Issue.record("unexpected error: \(e)"); return
            }
            #expect(hop == hopA.description)
            #expect(host == bastion.ip)
            #expect(expected.contains(oldFingerprint))
            #expect(presented.hasPrefix("SHA256:") && !presented.contains(oldFingerprint))
            #expect("\(e)".contains("jump host \(hopA)"), "\(e)")
        }
    }

    @Test func anUnreachableNextHopIsNamed() async throws {
        let l = try await layout()
        let dir = TempDir()
        let hopA = SSHTarget(host: l.bastionA.ip, user: "tester")
        // lan4 is not reachable from bastion A: the error names the bastion and the address.
        do {
            _ = try await SSHSession.connect(to: SSHTarget(host: l.far.ip, user: "tester"), options: opts(l.far, dir, jumps: [hopA]))
            Issue.record("connected to an address the bastion cannot reach")
        } catch let e as SSHError {
            #expect("\(e)".contains(l.bastionA.ip) && "\(e)".contains(l.far.ip), "\(e)")
        }
    }
}
