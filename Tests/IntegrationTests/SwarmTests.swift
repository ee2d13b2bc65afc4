import FleetSupport
import Foundation
import Testing

/// Swarm mode on three fresh hosts: init, join (one host kept from the manager's port),
/// services spread over every node, leave, and the last manager guarded.
@Suite(.enabled(if: Fleet.enabled, "\(Fleet.skipComment)"), .fleetSlot)
struct SwarmTests {
    /// Polls `docker` (against `machine`) until `done` holds for its output, up to `seconds`.
    static func eventually(
        _ cli: CLI, _ machine: String, _ host: FleetHost, _ args: [String], seconds: Int = 90,
        _ done: (String) -> Bool
    ) async throws -> String {
        let deadline = ContinuousClock.now + .seconds(seconds)
        var last = ""
        while ContinuousClock.now < deadline {
            let r = try await cli.docker(args, machine: machine, host: host)
            last = r.stdoutText + r.stderrText
            if r.status == 0 && done(r.stdoutText) { return r.stdoutText }
            try await Task.sleep(for: .seconds(1))
        }
        return "timed out; last output: " + last
    }

    @Test func threeHostsBecomeAClusterThatRunsServicesEverywhere() async throws {
        let names = ["sw1", "sw2", "sw3"]
        let hosts = try await Fleet.fresh(names, variant: "docker")
        let cli = CLI()
        defer { cli.cleanup() }
        try await withThrowingTaskGroup(of: Void.self) { g in
            for (n, h) in zip(["m1", "m2", "m3"], hosts) {
                g.addTask {
                    let r = try await cli.create(n, on: h)
                    guard r.status == 0 else { throw Fleet.Failure(description: "create \(n): \(r.all)") }
                }
            }
            try await g.waitForAll()
        }
        let (manager, m1) = (hosts[0], "m1")

        let initR = try await cli.run(["swarm", "init", m1])
        #expect(initR.status == 0, "\(initR.all)")
        let again = try await cli.run(["swarm", "init", m1])
        Faults.expectOneError(again, ["m1 is already in a swarm", "swarm leave m1"])

        // m3 cannot reach the manager's port: its join fails alone, naming address and port.
        try await Fleet.run("sw3", "iptables -I OUTPUT -d \(manager.ip) -p tcp --dport 2377 -j REJECT --reject-with tcp-reset")
        let join = try await cli.run(["swarm", "join", "--manager", m1, "m2", "m3"])
        #expect(join.status == 2, "\(join.all)")  // some of the machines failed
        #expect(join.stderrText.contains("(m2) joined m1's swarm as a worker"), "\(join.all)")
        let errors = join.stderrText.split(separator: "\n").filter { $0.hasPrefix("Error:") }
        #expect(errors.count == 1 && errors[0].contains("m3 could not join m1's swarm at \(manager.ip):2377"), "\(join.all)")
        try await Fleet.run("sw3", "iptables -D OUTPUT -d \(manager.ip) -p tcp --dport 2377 -j REJECT --reject-with tcp-reset")
        let retry = try await cli.run(["swarm", "join", "--manager", m1, "--all"])
        #expect(retry.status == 0, "\(retry.all)")
        // The token reached the daemons over TLS only: not on any command line we ran.
        #expect(!retry.all.contains("SWMTKN-"), "a join token was printed")

        let nodes = try await Self.eventually(cli, m1, manager, ["node", "ls", "--format", "{{.Hostname}} {{.Status}}"]) {
            Set($0.split(separator: "\n")) == ["sw1 Ready", "sw2 Ready", "sw3 Ready"]
        }
        #expect(Set(nodes.split(separator: "\n")) == ["sw1 Ready", "sw2 Ready", "sw3 Ready"], "\(nodes)")
        let ls = try await cli.run(["swarm", "ls"])
        #expect(ls.stdoutText.contains("m1     manager") && ls.stdoutText.contains("leader"), "\(ls.all)")
        #expect(ls.stdoutText.split(separator: "\n").filter { $0.contains(" worker ") && $0.contains("ready") }.count == 2, "\(ls.all)")

        // env --swarm on a worker points at the manager.
        let env = try await cli.run(["env", "--swarm", "m2"])
        #expect(env.status == 0 && env.stdoutText.contains("DOCKER_HOST=\"tcp://\(manager.ip):2376\""), "\(env.all)")

        // No registry here: every node gets the image from the busybox tarball.
        let tar = try await Fleet.busyboxTarball()
        for (n, h) in zip(["m1", "m2", "m3"], hosts) {
            let imp = try await cli.docker(["import", tar, "busybox:local"], machine: n, host: h)
            #expect(imp.status == 0, "\(imp.all)")
        }
        let global = try await cli.docker(
            [
                "service", "create", "--detach", "--name", "everywhere", "--mode", "global",
                "busybox:local", "sleep", "3600",
            ], machine: m1, host: manager)
        #expect(global.status == 0, "\(global.all)")
        let running = try await Self.eventually(
            cli, m1, manager,
            [
                "service", "ps", "everywhere", "--filter", "desired-state=running",
                "--format", "{{.Node}} {{.CurrentState}}",
            ]
        ) { out in
            let lines = out.split(separator: "\n").filter { $0.contains("Running") }
            return Set(lines.map { $0.split(separator: " ")[0] }) == ["sw1", "sw2", "sw3"]
        }
        #expect(!running.hasPrefix("timed out"), "\(running)")
        let replicas = try await cli.docker(
            [
                "service", "create", "--detach", "--name", "six", "--replicas", "6",
                "busybox:local", "sleep", "3600",
            ], machine: m1, host: manager)
        #expect(replicas.status == 0, "\(replicas.all)")
        let spread = try await Self.eventually(
            cli, m1, manager,
            [
                "service", "ps", "six", "--filter", "desired-state=running",
                "--format", "{{.Node}} {{.CurrentState}}",
            ]
        ) { out in
            let lines = out.split(separator: "\n").filter { $0.contains("Running") }
            return lines.count == 6 && Set(lines.map { $0.split(separator: " ")[0] }) == ["sw1", "sw2", "sw3"]
        }
        #expect(!spread.hasPrefix("timed out"), "\(spread)")

        // An overlay network carries traffic between tasks on two different nodes (VXLAN).
        let net = try await cli.docker(["network", "create", "-d", "overlay", "ov"], machine: m1, host: manager)
        #expect(net.status == 0, "\(net.all)")
        let pair = try await cli.docker(
            [
                "service", "create", "--detach", "--name", "pair", "--network", "ov", "--replicas", "2",
                "--replicas-max-per-node", "1", "busybox:local", "sleep", "3600",
            ], machine: m1, host: manager)
        #expect(pair.status == 0, "\(pair.all)")
        let placed = try await Self.eventually(
            cli, m1, manager,
            [
                "service", "ps", "pair", "--filter", "desired-state=running",
                "--format", "{{.Node}} {{.CurrentState}}",
            ]
        ) { out in
            Set(out.split(separator: "\n").filter { $0.contains("Running") }.map { $0.split(separator: " ")[0] }).count == 2
        }
        let nodesOfPair = Array(
            Set(placed.split(separator: "\n").filter { $0.contains("Running") }.map { String($0.split(separator: " ")[0]) })
        ).sorted()
        try #require(nodesOfPair.count == 2, "\(placed)")
        func machine(_ node: String) -> (String, FleetHost) { let i = names.firstIndex(of: node)!; return ("m\(i + 1)", hosts[i]) }
        func task(_ node: String) async throws -> String {
            let (m, h) = machine(node)
            return try await cli.docker(["ps", "-q", "--filter", "label=com.docker.swarm.service.name=pair"], machine: m, host: h)
                .stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let (ma, ha) = machine(nodesOfPair[0]), (mb, hb) = machine(nodesOfPair[1])
        let ipA = try await cli.docker(
            ["inspect", "-f", "{{(index .NetworkSettings.Networks \"ov\").IPAddress}}", try await task(nodesOfPair[0])],
            machine: ma, host: ha
        ).stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        // Up to three tries: once, under the full suite on 2 cores, the daemon reset `docker
        // exec`'s hijacked stream after the first reply had come back over the overlay.
        var ping = try await cli.docker(
            ["exec", try await task(nodesOfPair[1]), "/bin/busybox", "ping", "-c", "2", "-W", "3", ipA], machine: mb, host: hb)
        for _ in 0..<2 where !(ping.status == 0 && ping.stdoutText.contains("2 packets received")) {
            print("swarm overlay ping, trying again after: \(ping.all)")
            try await Task.sleep(for: .seconds(1))
            ping = try await cli.docker(
                ["exec", try await task(nodesOfPair[1]), "/bin/busybox", "ping", "-c", "2", "-W", "3", ipA], machine: mb, host: hb)
        }
        #expect(ping.status == 0 && ping.stdoutText.contains("2 packets received"), "overlay \(nodesOfPair) \(ipA): \(ping.all)")

        // A worker leaves: drained, gone from the node list, the global service on two nodes.
        let leave = try await cli.run(["swarm", "leave", "m3"])
        #expect(leave.status == 0, "\(leave.all)")
        let two = try await Self.eventually(cli, m1, manager, ["node", "ls", "--format", "{{.Hostname}}"]) {
            Set($0.split(separator: "\n")) == ["sw1", "sw2"]
        }
        #expect(Set(two.split(separator: "\n")) == ["sw1", "sw2"], "\(two)")
        let six = try await Self.eventually(
            cli, m1, manager,
            [
                "service", "ps", "six", "--filter", "desired-state=running",
                "--format", "{{.Node}} {{.CurrentState}}",
            ]
        ) { out in
            let lines = out.split(separator: "\n").filter { $0.contains("Running") }
            return lines.count == 6 && Set(lines.map { $0.split(separator: " ")[0] }) == ["sw1", "sw2"]
        }
        #expect(!six.hasPrefix("timed out"), "the replicas did not reconverge on the two nodes left: \(six)")

        // rm of a worker takes it out of the swarm first: no dead node is left behind.
        let rm = try await cli.run(["rm", "-y", "m2"])
        #expect(rm.status == 0 && rm.stderrText.contains("(m2) drained and left the swarm"), "\(rm.all)")
        let one = try await Self.eventually(cli, m1, manager, ["node", "ls", "--format", "{{.Hostname}}"]) { $0 == "sw1\n" }
        #expect(one == "sw1\n", "\(one)")

        // The last manager stays unless forced, by swarm leave and by rm alike.
        let last = try await cli.run(["swarm", "leave", m1])
        Faults.expectOneError(last, ["m1 is the last manager", "--force"])
        let lastRm = try await cli.run(["rm", "-y", m1])
        Faults.expectOneError(lastRm, ["m1 is the last manager", "rm: -f"])
        #expect(try await cli.run(["ls", "-q"]).stdoutText == "m1\nm3\n", "rm removed the record although the swarm refused")
        let stillThere = try await cli.docker(["node", "ls", "-q"], machine: m1, host: manager)
        #expect(stillThere.status == 0, "\(stillThere.all)")
        let forced = try await cli.run(["swarm", "leave", "--force", m1])
        #expect(forced.status == 0, "\(forced.all)")
        let after = try await cli.run(["swarm", "ls"])
        #expect(after.stdoutText.split(separator: "\n").dropFirst().allSatisfy { $0.contains("inactive") }, "\(after.all)")
    }

    /// A fleet file that says who starts the swarm and who joins makes the cluster in one go;
    /// `create --swarm-manager` adds a machine to it later.
    @Test func aFleetFileCreatesAWholeCluster() async throws {
        let hosts = try await Fleet.fresh(["swf1", "swf2", "swf3"], variant: "docker")
        let cli = CLI()
        defer { cli.cleanup() }
        let file = cli.dockerConfig + "-fleet.yaml"
        defer { try? FileManager.default.removeItem(atPath: file) }
        try """
        defaults: { user: \(hosts[0].user), key: \(hosts[0].keyPath) }
        machines:
          - { name: f1, address: \(hosts[0].ip), swarm: { init: true } }
          - { name: f2, address: \(hosts[1].ip), swarm: { manager: f1 } }
        """.write(toFile: file, atomically: true, encoding: .utf8)
        let r = try await cli.run(["create", "-f", file])
        #expect(r.status == 0, "\(r.all)")
        #expect(
            r.stderrText.contains("(f1) started a swarm as its manager") && r.stderrText.contains("(f2) joined f1's swarm as a worker"),
            "\(r.all)")
        let again = try await cli.run(["create", "-f", file])
        #expect(
            again.status == 0 && again.stderrText.contains("(f1) already a swarm manager")
                && again.stderrText.contains("(f2) already in the swarm"), "\(again.all)")
        let late = try await cli.create("f3", on: hosts[2], extra: ["--swarm-manager", "f1", "--swarm-role", "manager"])
        #expect(late.status == 0 && late.stderrText.contains("(f3) joined f1's swarm as a manager"), "\(late.all)")
        let nodes = try await Self.eventually(
            cli, "f1", hosts[0], ["node", "ls", "--format", "{{.Hostname}} {{.Status}} {{.ManagerStatus}}"]
        ) {
            Set($0.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }) == [
                "swf1 Ready Leader", "swf2 Ready", "swf3 Ready Reachable",
            ]
        }
        #expect(
            Set(nodes.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }) == [
                "swf1 Ready Leader", "swf2 Ready", "swf3 Ready Reachable",
            ], "\(nodes)")
    }
}
