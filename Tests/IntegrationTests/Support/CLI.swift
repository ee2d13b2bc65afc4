import FleetSupport
import Foundation

/// Runs the built `swock-machine` binary against a scratch store, as a user would.
struct CLI: Sendable {
    /// A store path with a space in it: every path we print must survive that.
    let store: String
    /// The docker CLI's config dir for this test (never the real ~/.docker).
    let dockerConfig: String

    static let binary: String = {
        let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [dir.appendingPathComponent("swock-machine").path, Fleet.repoRoot + "/.build/debug/swock-machine"]
        where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        return Fleet.repoRoot + "/.build/debug/swock-machine"
    }()

    init() {
        let id = UUID().uuidString.prefix(8)
        store = NSTemporaryDirectory() + "swock store " + id
        dockerConfig = NSTemporaryDirectory() + "docker-config-" + id
    }

    func run(_ args: [String], stdin: Data? = nil, env extra: [String: String] = [:]) async throws -> Subprocess.Result {
        var env = ProcessInfo.processInfo.environment
        env["SWOCK_MACHINE_STORAGE_PATH"] = store
        env["DOCKER_CONFIG"] = dockerConfig
        env.removeValue(forKey: "DOCKER_HOST")
        for (k, v) in extra { env[k] = v }
        return try await Subprocess.run([Self.binary] + args, stdin: stdin, environment: env)
    }

    /// `create --driver generic` for a fleet host, with its key.
    func create(_ name: String, on host: FleetHost, user: String? = nil, extra: [String] = []) async throws -> Subprocess.Result {
        try await run(
            [
                "create", "--driver", "generic", "--generic-ip-address", host.ip,
                "--generic-ssh-user", user ?? host.user, "--generic-ssh-key", host.keyPath,
            ] + extra + [name])
    }

    /// The environment that points the docker CLI at a machine (the DOCKER_CERT_PATH layout).
    func dockerEnv(_ name: String, host: FleetHost, port: Int = 2376) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["DOCKER_HOST"] = "tcp://\(host.ip):\(port)"
        env["DOCKER_TLS_VERIFY"] = "1"
        env["DOCKER_CERT_PATH"] = "\(store)/machines/\(name)"
        env["DOCKER_CONFIG"] = dockerConfig
        env.removeValue(forKey: "DOCKER_CONTEXT")
        return env
    }

    func docker(_ args: [String], machine: String, host: FleetHost, stdin: Data? = nil) async throws -> Subprocess.Result {
        try await Subprocess.run(["docker"] + args, stdin: stdin, environment: dockerEnv(machine, host: host))
    }

    /// Every file under the store with its bytes and mode: to prove a failed command changed nothing.
    func snapshot() -> [String: String] {
        var out: [String: String] = [:]
        guard let e = FileManager.default.enumerator(atPath: store) else { return out }
        while let rel = e.nextObject() as? String {
            let path = store + "/" + rel
            let attrs = try? FileManager.default.attributesOfItem(atPath: path)
            let mode = (attrs?[.posixPermissions] as? Int).map { String($0, radix: 8) } ?? "?"
            let data = FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) } ?? "<dir>"
            out[rel] = mode + " " + data
        }
        return out
    }

    func config(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: "\(store)/machines/\(name)/config.json"))
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    func cleanup() {
        try? FileManager.default.removeItem(atPath: store)
        try? FileManager.default.removeItem(atPath: dockerConfig)
    }
}

extension Subprocess.Result {
    var all: String { stdoutText + "\n" + stderrText }
}
