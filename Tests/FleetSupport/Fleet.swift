import Foundation

/// A booted host of the local fleet (machines/fleet).
public struct FleetHost: Sendable, Hashable {
    public var name: String
    public var ip: String
    public var user: String
    public var keyPath: String
}

/// Test access to the local fleet of real booted Debian hosts (systemd-nspawn in network
/// namespaces on 10.231.0.0/16). Tests that need it are enabled with `Fleet.enabled`; outside CI
/// they are skipped, with the reason printed, when the fleet cannot run here (not root). In CI
/// (CI=true) they always run, so a broken fleet fails loudly instead of skipping.
public enum Fleet {
    public static let repoRoot: String = {
        // Tests/FleetSupport/Fleet.swift -> repository root
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    public static var script: String { repoRoot + "/machines/fleet" }

    /// Why the fleet cannot run here, or nil when it can.
    public static let unavailableReason: String? = {
        if geteuid() != 0 { return "the fleet needs root (systemd-nspawn, network namespaces); run the tests as root" }
        if !FileManager.default.isExecutableFile(atPath: script) { return "\(script) is missing" }
        return nil
    }()

    public static var inCI: Bool { ProcessInfo.processInfo.environment["CI"].map { !$0.isEmpty && $0 != "false" } ?? false }

    /// Use as a trait condition: true when fleet tests should run (always in CI).
    public static var enabled: Bool { unavailableReason == nil || inCI }
    public static var skipComment: String { unavailableReason ?? "" }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    /// Boots (or finds running) the named hosts. Results are cached per process.
    /// `nets`: the host's networks, first one first (`outer`, `lan1`...`lan9`; machines/README.md).
    public static func up(_ names: [String], variant: String = "base", nets: String? = nil) async throws -> [FleetHost] {
        if let why = unavailableReason { throw Failure(description: "fleet unavailable: \(why)") }
        let args = [script, "up", "--variant", variant] + (nets.map { ["--nets", $0] } ?? []) + names
        var r = try await Subprocess.run(args)
        let halted = names.filter { r.stderrText.contains("host \($0) stopped while booting") || r.stderrText.contains("host \($0) (") }
        if r.status != 0 && !halted.isEmpty {
            // Seen about once in 60 boots with the whole suite running on 2 cores: a host
            // halted during boot (fleet's error carries the console's end and the kernel's OOM
            // lines). Those hosts start again from a pristine disk; `up` boots what is not running.
            print(
                "fleet: retrying `up \(names.joined(separator: " "))` with \(halted.joined(separator: " ")) pristine, after: \(r.stderrText)"
            )
            try await down(halted)
            r = try await Subprocess.run(args)
        }
        guard r.status == 0 else {
            throw Failure(description: "machines/fleet up \(names.joined(separator: " ")) failed (\(r.status)): \(r.stderrText)")
        }
        let hosts = r.stdoutText.split(separator: "\n").compactMap { line -> FleetHost? in
            let f = line.split(separator: "\t").map(String.init)
            guard f.count >= 4 else { return nil }
            return FleetHost(name: f[0], ip: f[1], user: f[2], keyPath: f[3])
        }
        let byName = Dictionary(hosts.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        return try names.map { n in
            guard let h = byName[n] else { throw Failure(description: "machines/fleet up did not report \(n): \(r.stdoutText)") }
            return h
        }
    }

    /// Like `up`, but each host starts from a pristine disk (any earlier host of that name is
    /// torn down first): for tests that install or change things.
    /// The hosts belong to the running test: `FleetSlot` tears them down when it ends.
    public static func fresh(_ names: [String], variant: String = "base", nets: String? = nil) async throws -> [FleetHost] {
        FleetLease.current?.add(names)
        if unavailableReason == nil { try await down(names) }
        return try await up(names, variant: variant, nets: nets)
    }

    /// `fresh` for a fixture that several tests share: the hosts stay up for the whole run
    /// (scripts/test tears the fleet down at the end).
    public static func freshShared(_ names: [String], variant: String = "base", nets: String? = nil) async throws -> [FleetHost] {
        try await FleetLease.$current.withValue(nil) { try await fresh(names, variant: variant, nets: nets) }
    }

    public static func fresh(_ name: String, variant: String = "base", nets: String? = nil) async throws -> FleetHost {
        try await fresh([name], variant: variant, nets: nets)[0]
    }

    /// The host's address on one of its networks.
    public static func ip(_ name: String, on net: String) async throws -> String {
        let r = try await Subprocess.run([script, "ip", name, net])
        guard r.status == 0 else { throw Failure(description: "fleet ip \(name) \(net): \(r.stderrText)") }
        return r.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    public static func up(_ name: String, variant: String = "base") async throws -> FleetHost {
        try await up([name], variant: variant)[0]
    }

    /// Runs a command as root inside the host, without SSH.
    @discardableResult
    public static func run(_ name: String, _ command: String, stdin: Data? = nil) async throws -> Subprocess.Result {
        try await Subprocess.run([script, "run", name, "--", "sh", "-c", command], stdin: stdin)
    }

    /// What the host itself saw lately (its journal's last lines, sshd's processes): printed by
    /// a test when a connection dropped for no reason the test knows, so the log says why.
    public static func evidence(_ name: String, lines: Int = 60) async -> String {
        let r = try? await run(name, "journalctl --no-pager -q -o short-monotonic -n \(lines); ps -eo pid,etimes,args | grep '[s]shd'")
        return r.map { "\($0.stdoutText)\($0.stderrText)" } ?? "(host \(name) did not answer)"
    }

    public static func down(_ names: [String]) async throws {
        _ = try await Subprocess.run([script, "down"] + names)
    }

    public static func poweroff(_ name: String) async throws {
        let r = try await Subprocess.run([script, "poweroff", name])
        guard r.status == 0 else { throw Failure(description: "fleet poweroff \(name): \(r.stderrText)") }
    }

    public static func net(_ name: String, up: Bool) async throws {
        let r = try await Subprocess.run([script, "net", name, up ? "up" : "down"])
        guard r.status == 0 else { throw Failure(description: "fleet net \(name): \(r.stderrText)") }
    }

    /// An address on the fleet bridge that no host answers.
    public static func freeIP() async throws -> String {
        let r = try await Subprocess.run([script, "free-ip"])
        guard r.status == 0 else { throw Failure(description: "fleet free-ip: \(r.stderrText)") }
        return r.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The fleet image's docker.io packages and their dependencies: a real engine bundle.
    public static func engineDebs() async throws -> String {
        let r = try await Subprocess.run([script, "debs"])
        guard r.status == 0 else { throw Failure(description: "fleet debs: \(r.stderrText)") }
        return r.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    public static func busyboxTarball() async throws -> String {
        let r = try await Subprocess.run([script, "busybox"])
        guard r.status == 0 else { throw Failure(description: "fleet busybox: \(r.stderrText)") }
        return r.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
