import FleetSupport
import Foundation
import Testing

/// export / import between two stores of two users (different HOME, store and docker config),
/// against a machine on a real host: the new store drives it with docker and ssh, a changed or
/// cut archive and a wrong passphrase change nothing, names never clash, and certificates the
/// new store re-issues keep the old store's clients working.
@Suite(.enabled(if: Fleet.enabled, "\(Fleet.skipComment)"), .fleetSlot)
struct InventoryTests {
    static func scratch(_ tag: String) throws -> String {
        let dir = NSTemporaryDirectory() + "swock-inv-\(tag)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test func exportThenImportIntoAnotherHomeDrivesTheMachine() async throws {
        let host = try await Fleet.fresh("inv-a", variant: "docker")
        let a = CLI(), b = CLI()
        let work = try Self.scratch("work"), homeB = try Self.scratch("home")
        defer {
            a.cleanup(); b.cleanup(); try? FileManager.default.removeItem(atPath: work); try? FileManager.default.removeItem(atPath: homeB)
        }
        let created = try await a.create("m1", on: host)
        try #require(created.status == 0, "\(created.all)")

        // Export, encrypted, with the CA key.
        let sealed = work + "/m1.swock"
        let secretEnv = ["SWOCK_TEST_PASS": "a passphrase with spaces"]
        let exp = try await a.run(["export", "--with-ca-key", "--passphrase-env", "SWOCK_TEST_PASS", "-o", sealed, "m1"], env: secretEnv)
        #expect(exp.status == 0, "\(exp.all)")
        let attrs = try FileManager.default.attributesOfItem(atPath: sealed)
        #expect(attrs[.posixPermissions] as? Int == 0o600)
        let sealedBytes = try Data(contentsOf: URL(fileURLWithPath: sealed))
        let clientKey = try String(contentsOfFile: a.store + "/machines/m1/key.pem", encoding: .utf8)
        #expect(sealedBytes.range(of: Data(clientKey.utf8)) == nil, "the client key shows through the encryption")
        #expect(sealedBytes.range(of: Data("BEGIN".utf8)) == nil)

        // Refusals leave the new store exactly as it was.
        let envB = ["HOME": homeB]
        let before = b.snapshot()
        let noPass = try await b.run(["import", sealed], env: envB)
        Faults.expectOneError(noPass, ["is encrypted", "--passphrase-env"])
        let wrong = try await b.run(["import", "--passphrase-stdin", sealed], stdin: Data("not it\n".utf8), env: envB)
        Faults.expectOneError(wrong, ["passphrase is wrong", "nothing was imported"])
        let cut = work + "/cut.swock"
        try sealedBytes.prefix(sealedBytes.count - 40).write(to: URL(fileURLWithPath: cut))
        let cutRun = try await b.run(["import", "--passphrase-env", "SWOCK_TEST_PASS", cut], env: envB.merging(secretEnv) { $1 })
        Faults.expectOneError(cutRun, ["cut short", "nothing was imported"])
        var flipped = sealedBytes
        flipped[flipped.count / 2] ^= 0x04
        let flippedPath = work + "/flipped.swock"
        try flipped.write(to: URL(fileURLWithPath: flippedPath))
        let flippedRun = try await b.run(
            ["import", "--passphrase-env", "SWOCK_TEST_PASS", flippedPath], env: envB.merging(secretEnv) { $1 })
        Faults.expectOneError(flippedRun, ["changed", "nothing was imported"])
        #expect(b.snapshot() == before, "a refused import changed the store")

        // The plain archive: one changed byte inside a file is caught by the manifest.
        let plain = work + "/m1.tar"
        let expPlain = try await a.run(["export", "-o", plain, "m1"])
        #expect(expPlain.status == 0, "\(expPlain.all)")
        var tampered = try Data(contentsOf: URL(fileURLWithPath: plain))
        let at = try #require(tampered.range(of: Data("BEGIN CERTIFICATE".utf8)))
        tampered[at.lowerBound + 2] = UInt8(ascii: "X")
        let tamperedPath = work + "/tampered.tar"
        try tampered.write(to: URL(fileURLWithPath: tamperedPath))
        let tamperedRun = try await b.run(["import", tamperedPath], env: envB)
        Faults.expectOneError(tamperedRun, ["damaged", "does not match its checksum"])
        let notOne = try await b.run(["import", "/etc/hostname"], env: envB)
        Faults.expectOneError(notOne, ["not a swock-machine export"])
        #expect(b.snapshot() == before, "a refused import changed the store")

        // The real import: docker via env, ssh, the docker context, all from store B.
        let imp = try await b.run(["import", "--passphrase-stdin", sealed], stdin: Data("a passphrase with spaces\n".utf8), env: envB)
        #expect(imp.status == 0, "\(imp.all)")
        let env = try await b.run(["env", "m1"], env: envB)
        #expect(env.stdoutText.contains("DOCKER_CERT_PATH=\"\(b.store)/machines/m1\""), "\(env.all)")
        let v = try await b.docker(["version", "--format", "{{.Server.Version}}"], machine: "m1", host: host)
        #expect(v.status == 0 && !v.stdoutText.isEmpty, "\(v.all)")
        let ssh = try await b.run(["ssh", "m1", "--", "hostname"], env: envB)
        #expect(ssh.status == 0 && ssh.stdoutText == "inv-a\n", "\(ssh.all)")
        var ctxEnv = ProcessInfo.processInfo.environment
        ctxEnv["DOCKER_CONFIG"] = b.dockerConfig
        ctxEnv.removeValue(forKey: "DOCKER_HOST")
        let viaContext = try await Subprocess.run(
            ["docker", "--context", "m1", "version", "--format", "{{.Server.Version}}"], environment: ctxEnv)
        #expect(viaContext.status == 0, "\(viaContext.all)")
        let mode = try FileManager.default.attributesOfItem(atPath: b.store + "/machines/m1/key.pem")[.posixPermissions] as? Int
        #expect(mode == 0o600)

        // Never overwritten; --rename imports a second record of the same machine.
        let afterImport = b.snapshot()
        let clash = try await b.run(["import", plain], env: envB)
        Faults.expectOneError(clash, ["\"m1\" already exists", "--rename m1=NEW"])
        #expect(b.snapshot() == afterImport)
        let renamed = try await b.run(["import", "--rename", "m1=m1-copy", plain], env: envB)
        #expect(renamed.status == 0, "\(renamed.all)")
        let ls = try await b.run(["ls", "--format", "{{.Name}} {{.State}}"], env: envB)
        #expect(ls.stdoutText == "m1 Running\nm1-copy Running\n", "\(ls.all)")

        // Store B re-issues the server certificate with the CA that came along: store A's
        // client still trusts the daemon and is still trusted by it.
        let regen = try await b.run(["regenerate-certs", "-f", "m1"], env: envB)
        #expect(regen.status == 0, "\(regen.all)")
        let fromA = try await a.docker(["version", "--format", "{{.Server.Version}}"], machine: "m1", host: host)
        #expect(fromA.status == 0, "store A lost the machine after store B's regenerate-certs: \(fromA.all)")
        try await Faults.expectStoreValid(a.store)
    }

    @Test func dockerContextExportIsReadByDockerContextImport() async throws {
        let host = try await Fleet.fresh("inv-b", variant: "docker")
        let cli = CLI()
        let work = try Self.scratch("ctx")
        defer { cli.cleanup(); try? FileManager.default.removeItem(atPath: work) }
        let created = try await cli.create("m2", on: host)
        try #require(created.status == 0, "\(created.all)")
        let file = work + "/m2.dockercontext"
        let exp = try await cli.run(["export", "--docker-context", "-o", file, "m2"])
        #expect(exp.status == 0, "\(exp.all)")
        let refused = try await cli.run(["export", "--docker-context", "--with-ca-key", "-o", work + "/x", "m2"])
        Faults.expectOneError(refused, ["--docker-context"])
        #expect(!FileManager.default.fileExists(atPath: work + "/x"))

        var env = ProcessInfo.processInfo.environment
        env["DOCKER_CONFIG"] = work + "/docker"
        env.removeValue(forKey: "DOCKER_HOST")
        let imported = try await Subprocess.run(["docker", "context", "import", "from-swock", file], environment: env)
        #expect(imported.status == 0, "\(imported.all)")
        let tar = try await Fleet.busyboxTarball()
        let load = try await Subprocess.run(["docker", "--context", "from-swock", "import", tar, "busybox:local"], environment: env)
        #expect(load.status == 0, "\(load.all)")
        let run = try await Subprocess.run(
            ["docker", "--context", "from-swock", "run", "--rm", "busybox:local", "sh", "-c", DockerRace.sleepThenEcho, "via-context"],
            environment: env)
        #expect(run.status == 0 && run.stdoutText == "via-context\n", "\(run.all)")
        // The context is the user's: swock-machine's rm leaves it alone.
        let rm = try await cli.run(["rm", "-y", "m2"], env: ["DOCKER_CONFIG": work + "/docker"])
        #expect(rm.status == 0, "\(rm.all)")
        let still = try await Subprocess.run(["docker", "context", "inspect", "from-swock"], environment: env)
        #expect(still.status == 0, "\(still.all)")
    }
}
