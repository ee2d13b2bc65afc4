import FleetSupport
import Foundation
import SwockPKI
import Testing

@testable import SwockClient
@testable import SwockStore

/// The docker CLI (no daemon needed) checks what DockerContexts writes, under DOCKER_CONFIG=<tmp>.
private let dockerPath = findExecutable("docker")
private let opensslPath = findExecutable("openssl")

@Suite struct DockerContextsTests {
    /// A store holding machine NAME with real CA-issued client material, and an empty docker root.
    struct Fixture {
        let dir: TempDir
        let store: Store
        let contexts: DockerContexts
        let material: Store.ClientMaterial
        var dockerRoot: String { contexts.root }

        init(_ names: [String] = ["web1"], address: String = "10.0.0.5") throws {
            dir = try TempDir("docker contexts")
            store = Store(root: dir.sub("store"))
            contexts = DockerContexts(root: dir.sub("docker config"))
            material = try store.ensureCA()
            for n in names { try addMachine(n, address: address) }
        }

        func addMachine(_ name: String, address: String = "10.0.0.5") throws {
            try store.reserve(sampleConfig(name, address: address))
            try store.writeMachineFile(name, "ca.pem", material.caPEM)
            try store.writeMachineFile(name, "cert.pem", material.clientCertPEM)
            try store.writeMachineFile(name, "key.pem", material.clientKeyPEM)
        }

        func docker(_ args: [String]) throws -> Subprocess.Result {
            try Subprocess.runBlocking(
                [dockerPath!] + args,
                environment: [
                    "DOCKER_CONFIG": dockerRoot, "HOME": dir.path, "PATH": "/usr/bin:/bin",
                ])
        }

        func read(_ path: String) -> String? {
            FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
        }

        func write(_ text: String, to path: String, mode: mode_t = 0o600) throws {
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: path, atomically: false, encoding: .utf8)
            chmod(path, mode)
        }

        /// Every entry under the docker root, relative, sorted.
        func tree() -> [String] {
            let e = FileManager.default.enumerator(atPath: dockerRoot)
            var out: [String] = []
            while let p = e?.nextObject() as? String { out.append(p) }
            return out.sorted()
        }
    }

    static func json(_ text: String?) -> [String: Any]? {
        guard let text else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
    }

    // MARK: - Names and hashing

    @Test func sha256HexKnownVectors() {
        #expect(Digests.sha256Hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(Digests.sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(DockerContexts.directoryName("web1") == "659a7fb2af476fae688d711213d91dc1550a37f0395a00a6f7bacb78ece3666b")
    }

    @Test func nameRule() {
        for ok in ["web1", "ab", "1a", "a.b", "a_b", "a+b", "a-b", "A9", "web1.example-com_x+y"] {
            #expect(DockerContexts.isValidName(ok), "\(ok)")
        }
        for bad in ["", "x", "7", "default", "-ab", ".ab", "_ab", "a b", "a/b", "é1", "a\n"] {
            #expect(!DockerContexts.isValidName(bad), "\(bad)")
        }
        #expect(throws: DockerContextError.invalidName("default", reason: "\"default\" is reserved by the docker CLI")) {
            try DockerContexts.validateName("default")
        }
        let msg = "\(DockerContextError.invalidName("default", reason: "\"default\" is reserved by the docker CLI"))"
        #expect(msg.contains("reserved") && !msg.contains("swock-machine") && !msg.contains("\n"))
    }

    @Test func rootFromEnvironment() {
        #expect(DockerContexts.defaultRoot(environment: ["DOCKER_CONFIG": "/x/y", "HOME": "/h"]) == "/x/y")
        #expect(DockerContexts.defaultRoot(environment: ["DOCKER_CONFIG": "", "HOME": "/h"]) == "/h/.docker")
        #expect(DockerContexts(root: "/a/b/").root == "/a/b")
    }

    @Test(.enabled(if: dockerPath != nil, "needs the docker CLI"))
    func hashAndNameRuleMatchTheDockerCLI() throws {
        let f = try Fixture([])
        defer { f.dir.remove() }
        for name in ["web1", "x1", "a.b_c+d-E9", "x", "default", "-ab", "a b"] {
            let r = try f.docker(["context", "create", "--docker", "host=tcp://10.231.9.9:2376", "--", name])
            #expect((r.status == 0) == DockerContexts.isValidName(name), "\(name): \(r.stderrText)")
            if r.status == 0 {
                #expect(isDirectory(f.dockerRoot + "/contexts/meta/" + DockerContexts.directoryName(name)), "\(name)")
                #expect(f.contexts.exists(name: name))
                #expect(!f.contexts.isOurs(name: name), "a context the CLI made is not ours")
            }
        }
    }

    // MARK: - Writing

    @Test func writeLayoutContentAndModes() throws {
        let f = try Fixture()
        defer { f.dir.remove() }
        #expect(!f.contexts.exists(name: "web1") && !f.contexts.isOurs(name: "web1"))
        try f.contexts.write(machine: try f.store.load("web1"), store: f.store)
        let h = DockerContexts.directoryName("web1")
        #expect(
            f.tree() == [
                "contexts", "contexts/meta", "contexts/meta/\(h)", "contexts/meta/\(h)/meta.json",
                "contexts/tls", "contexts/tls/\(h)", "contexts/tls/\(h)/docker",
                "contexts/tls/\(h)/docker/ca.pem", "contexts/tls/\(h)/docker/cert.pem", "contexts/tls/\(h)/docker/key.pem",
            ], "no temp files are left, and config.json is not touched by write")
        for d in [
            "", "/contexts", "/contexts/meta", "/contexts/meta/\(h)", "/contexts/tls", "/contexts/tls/\(h)", "/contexts/tls/\(h)/docker",
        ] {
            #expect(posixMode(f.dockerRoot + d) == 0o700, "\(d)")
        }
        for file in ["meta/\(h)/meta.json", "tls/\(h)/docker/ca.pem", "tls/\(h)/docker/cert.pem", "tls/\(h)/docker/key.pem"] {
            #expect(posixMode(f.dockerRoot + "/contexts/" + file) == 0o600, "\(file)")
        }
        let tls = f.dockerRoot + "/contexts/tls/\(h)/docker/"
        #expect(f.read(tls + "ca.pem") == f.material.caPEM)
        #expect(f.read(tls + "cert.pem") == f.material.clientCertPEM)
        #expect(f.read(tls + "key.pem") == f.material.clientKeyPEM)

        let metaText = try #require(f.read(f.dockerRoot + "/contexts/meta/\(h)/meta.json"))
        #expect(metaText.contains("\"Host\":\"tcp://10.0.0.5:2376\""), "slashes not escaped: \(metaText)")
        let meta = try #require(Self.json(metaText))
        #expect(meta["Name"] as? String == "web1")
        let md = try #require(meta["Metadata"] as? [String: Any])
        #expect(md["Description"] as? String == "swock-machine: web1 (tcp://10.0.0.5:2376)")
        #expect(md["SwockMachine"] as? Bool == true)
        #expect(md["SwockMachineStore"] as? String == f.store.root)
        let ep = try #require((meta["Endpoints"] as? [String: Any])?["docker"] as? [String: Any])
        #expect(ep["Host"] as? String == "tcp://10.0.0.5:2376")
        #expect(ep["SkipTLSVerify"] as? Bool == false)
        #expect(f.contexts.exists(name: "web1") && f.contexts.isOurs(name: "web1"))
    }

    @Test func writeRefreshesOurOwnContext() throws {
        let f = try Fixture()
        defer { f.dir.remove() }
        try f.contexts.write(machine: try f.store.load("web1"), store: f.store)
        // The machine moved and got a new client certificate (regenerate-certs).
        let moved = try f.store.update("web1") {
            $0.address = "fd00::5"; $0.engine.port = 2377
        }
        let newClient = try f.material.ca.issueClientCertificate()
        try f.store.writeMachineFile("web1", "cert.pem", newClient.certificatePEM)
        try f.store.writeMachineFile("web1", "key.pem", newClient.privateKeyPEM)
        try f.contexts.write(machine: moved, store: f.store)
        let h = DockerContexts.directoryName("web1")
        let ep = (Self.json(f.read(f.contexts.metaPath("web1")))?["Endpoints"] as? [String: Any])?["docker"] as? [String: Any]
        #expect(ep?["Host"] as? String == "tcp://[fd00::5]:2377")
        #expect(f.read(f.dockerRoot + "/contexts/tls/\(h)/docker/cert.pem") == newClient.certificatePEM)
        #expect(f.read(f.dockerRoot + "/contexts/tls/\(h)/docker/key.pem") == newClient.privateKeyPEM)
        #expect(f.tree().count == 10)
    }

    @Test func writeNeverOverwritesAForeignContext() throws {
        let f = try Fixture()
        defer { f.dir.remove() }
        let foreign =
            #"{"Name":"web1","Metadata":{"Description":"mine"},"Endpoints":{"docker":{"Host":"unix:///mine.sock","SkipTLSVerify":false}}}"#
        try f.write(foreign, to: f.contexts.metaPath("web1"), mode: 0o644)
        #expect(f.contexts.exists(name: "web1") && !f.contexts.isOurs(name: "web1"))
        #expect(throws: DockerContextError.notOurs("web1")) {
            try f.contexts.write(machine: try f.store.load("web1"), store: f.store)
        }
        #expect(f.read(f.contexts.metaPath("web1")) == foreign)
        #expect(!FileManager.default.fileExists(atPath: f.contexts.tlsDirectory("web1")))
        #expect(posixMode(f.contexts.metaPath("web1")) == 0o644)
        // A marker on a context of another name (copied meta.json) does not make it ours either.
        try f.write(#"{"Name":"other","Metadata":{"SwockMachine":true}}"#, to: f.contexts.metaPath("web1"))
        #expect(!f.contexts.isOurs(name: "web1"))
        try f.write(#"{"Name":"web1","Metadata":{"SwockMachine":"true"}}"#, to: f.contexts.metaPath("web1"))
        #expect(!f.contexts.isOurs(name: "web1"))
        try f.write("not json", to: f.contexts.metaPath("web1"))
        #expect(!f.contexts.isOurs(name: "web1"))
    }

    @Test func writeRefusesNamesTheCLICannotUse() throws {
        let f = try Fixture(["default", "x"])
        defer { f.dir.remove() }
        for n in ["default", "x"] {
            #expect(throws: DockerContextError.self) { try f.contexts.write(machine: try f.store.load(n), store: f.store) }
        }
        #expect(f.tree().isEmpty)
    }

    @Test func writeWithoutClientCertificatesSaysWhatToDo() throws {
        let f = try Fixture([])
        defer { f.dir.remove() }
        try f.store.reserve(sampleConfig("bare"))
        #expect(throws: StoreError.missingFile(name: "bare", path: "machines/bare/ca.pem")) {
            try f.contexts.write(machine: try f.store.load("bare"), store: f.store)
        }
        #expect(!f.contexts.exists(name: "bare"))
    }

    // MARK: - Removing

    @Test func removeOnlyEverRemovesOurs() throws {
        let f = try Fixture(["web1", "web2"])
        defer { f.dir.remove() }
        #expect(try f.contexts.remove(name: "web1") == false, "nothing there yet")
        #expect(try f.contexts.remove(name: "default") == false)
        try f.contexts.write(machine: try f.store.load("web1"), store: f.store)
        // web2 is the user's own context, TLS material and all.
        let foreignMeta = #"{"Name":"web2","Metadata":{},"Endpoints":{"docker":{"Host":"tcp://1.2.3.4:2376","SkipTLSVerify":false}}}"#
        try f.write(foreignMeta, to: f.contexts.metaPath("web2"), mode: 0o644)
        try f.write("user ca", to: f.contexts.tlsDirectory("web2") + "/docker/ca.pem")
        let before = f.tree()
        #expect(throws: DockerContextError.notOurs("web2")) { try f.contexts.remove(name: "web2") }
        #expect(f.tree() == before)
        #expect(f.read(f.contexts.metaPath("web2")) == foreignMeta)
        let msg = "\(DockerContextError.notOurs("web2"))"
        #expect(msg.contains("left alone") && msg.contains("docker context rm web2"))

        #expect(try f.contexts.remove(name: "web1"))
        #expect(!f.contexts.exists(name: "web1"))
        #expect(!FileManager.default.fileExists(atPath: f.contexts.metaDirectory("web1")))
        #expect(!FileManager.default.fileExists(atPath: f.contexts.tlsDirectory("web1")))
        #expect(!f.tree().contains { $0.contains("removing") }, "no trash left: \(f.tree())")
        #expect(try f.contexts.remove(name: "web1") == false)
        #expect(f.contexts.exists(name: "web2"))
    }

    @Test func removeUnsetsItAsCurrentContext() throws {
        let f = try Fixture(["web1", "web2"])
        defer { f.dir.remove() }
        try f.contexts.write(machine: try f.store.load("web1"), store: f.store)
        try f.contexts.write(machine: try f.store.load("web2"), store: f.store)
        try f.contexts.setCurrent(name: "web1")
        try f.contexts.remove(name: "web2")
        #expect(f.contexts.current() == "web1", "another context stays current")
        try f.contexts.remove(name: "web1")
        #expect(f.contexts.current() == nil)
    }

    // MARK: - Current context in config.json

    /// A config.json as users have them: unusual spacing, numbers, unicode, escapes, nesting.
    static let userConfig = """
        {
        \t"auths": {
        \t\t"registry.example:5000": {
        \t\t\t"auth": "dXNlcjpwYXNz"
        \t\t}
        \t},
        \t"credsStore" :  "pass",
        \t"psFormat": "table {{.ID}}\\t{{.Names}}",
        \t"proxies": {"default": {"httpProxy": "http://proxy:3128", "noProxy": "a,b"}},
        \t"aliases": {"builder": "buildx"},
        \t"features": {"containerd-snapshotter": "true"},
        \t"x-unknown": {"b": true, "n": null},
        \t"weird\\u0020key": [1.50, 1e3, -0, 12345678901234567890, "\\"}{]["],
        \t"ünïcode": "✓ \\/ slash"
        }

        """

    @Test func setCurrentKeepsEveryOtherByteModeAndOwner() throws {
        let f = try Fixture()
        defer { f.dir.remove() }
        try f.contexts.write(machine: try f.store.load("web1"), store: f.store)
        try f.write(Self.userConfig, to: f.contexts.configPath, mode: 0o640)
        try f.contexts.setCurrent(name: "web1")
        let after = try #require(f.read(f.contexts.configPath))
        #expect(posixMode(f.contexts.configPath) == 0o640)
        #expect(f.contexts.current() == "web1")
        // Exactly one member added, styled like its neighbours.
        #expect(after == Self.userConfig.replacingOccurrences(of: "slash\"\n}", with: "slash\",\n\t\"currentContext\": \"web1\"\n}"))
        let parsedBefore = try #require(Self.json(Self.userConfig)) as NSDictionary
        var parsedAfter = try #require(Self.json(after))
        parsedAfter.removeValue(forKey: "currentContext")
        #expect(parsedBefore == (parsedAfter as NSDictionary))

        // Another machine replaces the value in place; clearing restores the original bytes.
        try f.addMachine("web2")
        try f.contexts.write(machine: try f.store.load("web2"), store: f.store)
        try f.contexts.setCurrent(name: "web2")
        #expect(f.read(f.contexts.configPath) == after.replacingOccurrences(of: "\"web1\"", with: "\"web2\""))
        try f.contexts.clearCurrent(ifIs: "web1")
        #expect(f.contexts.current() == "web2", "clearCurrent(ifIs:) leaves another context alone")
        try f.contexts.clearCurrent(ifIs: "web2")
        #expect(f.read(f.contexts.configPath) == Self.userConfig)
        #expect(posixMode(f.contexts.configPath) == 0o640)
        #expect(!f.tree().contains { $0.hasPrefix(".") }, "no temp files: \(f.tree())")
    }

    @Test func setCurrentCreatesConfigAndMatchesGoKeyMatching() throws {
        let f = try Fixture()
        defer { f.dir.remove() }
        try f.contexts.write(machine: try f.store.load("web1"), store: f.store)
        #expect(!FileManager.default.fileExists(atPath: f.contexts.configPath))
        try f.contexts.clearCurrent(ifIs: "web1")
        #expect(!FileManager.default.fileExists(atPath: f.contexts.configPath), "nothing to clear, nothing created")
        try f.contexts.setCurrent(name: "web1")
        #expect(posixMode(f.contexts.configPath) == 0o600)
        #expect(f.read(f.contexts.configPath) == "{\n\t\"currentContext\": \"web1\"\n}\n")
        try f.contexts.clearCurrent(ifIs: "web1")
        #expect(f.read(f.contexts.configPath) == "{}\n")

        // Go's encoding/json matches keys case-insensitively: "CurrentContext" is the same field.
        try f.write("{\"CurrentContext\":\"old\",\"auths\":{}}", to: f.contexts.configPath)
        #expect(f.contexts.current() == "old")
        try f.contexts.setCurrent(name: "web1")
        #expect(f.read(f.contexts.configPath) == "{\"CurrentContext\":\"web1\",\"auths\":{}}")
        try f.contexts.clearCurrent(ifIs: nil)
        #expect(f.read(f.contexts.configPath) == "{\"auths\":{}}")

        // Empty file, empty objects.
        for (start, expected) in [
            ("", "{\n\t\"currentContext\": \"web1\"\n}\n"), ("{}", "{\n\t\"currentContext\": \"web1\"\n}"),
            ("  { }\n", "  {\n\t\"currentContext\": \"web1\"\n}\n"),
        ] {
            try f.write(start, to: f.contexts.configPath)
            try f.contexts.setCurrent(name: "web1")
            #expect(f.read(f.contexts.configPath) == expected)
        }
        // "default" means no current context, as with `docker context use default`.
        try f.contexts.setCurrent(name: "default")
        #expect(f.contexts.current() == nil)
    }

    @Test func setCurrentRefusesMissingContextsAndBrokenConfig() throws {
        let f = try Fixture()
        defer { f.dir.remove() }
        #expect(throws: DockerContextError.notFound("web1")) { try f.contexts.setCurrent(name: "web1") }
        #expect(!FileManager.default.fileExists(atPath: f.contexts.configPath))
        try f.contexts.write(machine: try f.store.load("web1"), store: f.store)
        for broken in ["{\"auths\": ", "[1, 2]", "\"str\""] {
            try f.write(broken, to: f.contexts.configPath)
            #expect(
                throws: DockerContextError.unreadableConfig(
                    path: f.contexts.configPath,
                    reason: broken.hasPrefix("{") ? "not valid JSON" : "not a JSON object")
            ) {
                try f.contexts.setCurrent(name: "web1")
            }
            #expect(f.read(f.contexts.configPath) == broken, "left as it was")
        }
    }

    @Test func symlinkedConfigStaysASymlink() throws {
        let f = try Fixture()
        defer { f.dir.remove() }
        try f.contexts.write(machine: try f.store.load("web1"), store: f.store)
        let target = f.dir.sub("dotfiles/docker-config.json")
        try f.write("{\"auths\": {}}", to: target, mode: 0o644)
        try FileManager.default.createSymbolicLink(atPath: f.contexts.configPath, withDestinationPath: target)
        try f.contexts.setCurrent(name: "web1")
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: f.contexts.configPath)) == target)
        #expect(f.read(target) == "{\"auths\": {},\"currentContext\": \"web1\"}")
        #expect(posixMode(target) == 0o644)
    }

    @Test func jsonObjectTextRoundTripsUntouched() throws {
        for text in [Self.userConfig, "{}", " {\"a\":1} ", "{\n}\n", "{\"a\":{\"b\":[{}]},\"c\":\"}\"}"] {
            let o = try JSONObjectText(parsing: Data(text.utf8))
            #expect(o.text == text)
        }
    }

    // MARK: - The real docker CLI reads it

    @Test(.enabled(if: dockerPath != nil, "needs the docker CLI"))
    func dockerCLIListsInspectsAndSelectsOurContext() throws {
        let f = try Fixture(["web1", "db.2"], address: "10.231.9.9")
        defer { f.dir.remove() }
        try f.write(Self.userConfig, to: f.contexts.configPath)
        for n in ["web1", "db.2"] { try f.contexts.write(machine: try f.store.load(n), store: f.store) }

        let ls = try f.docker(["context", "ls", "--format", "{{.Name}} {{.DockerEndpoint}} [{{.Error}}]"])
        #expect(ls.status == 0, "\(ls.stderrText)")
        let lines = Set(ls.stdoutText.split(separator: "\n").map(String.init))
        #expect(lines.contains("web1 tcp://10.231.9.9:2376 []"), "\(ls.stdoutText)")
        #expect(lines.contains("db.2 tcp://10.231.9.9:2376 []"), "\(ls.stdoutText)")

        let tls = try f.docker(["context", "inspect", "web1", "--format", "{{json .TLSMaterial}}"])
        #expect(tls.status == 0, "\(tls.stderrText)")
        #expect(tls.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) == #"{"docker":["ca.pem","cert.pem","key.pem"]}"#)
        let md = try f.docker(["--context", "web1", "context", "inspect", "--format", "{{json .Metadata.Metadata}}"])
        #expect(md.status == 0, "\(md.stderrText)")
        let meta = Self.json(md.stdoutText)
        #expect(meta?["SwockMachine"] as? Bool == true, "the CLI keeps the extra Metadata key: \(md.stdoutText)")
        #expect(meta?["Description"] as? String == "swock-machine: web1 (tcp://10.231.9.9:2376)")
        let storage = try f.docker(["context", "inspect", "web1", "--format", "{{.Storage.TLSPath}}"])
        #expect(storage.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) == f.contexts.tlsDirectory("web1"))

        try f.contexts.setCurrent(name: "web1")
        #expect(try f.docker(["context", "show"]).stdoutText == "web1\n")
        // The CLI still reads the rest of its config (psFormat, aliases...) without complaint.
        let quiet = try f.docker(["context", "ls", "-q"])
        #expect(quiet.stderrText.isEmpty, "\(quiet.stderrText)")

        // The user switches with the CLI; our clearCurrent(ifIs:) respects that.
        #expect(try f.docker(["context", "use", "db.2"]).status == 0)
        try f.contexts.clearCurrent(ifIs: "web1")
        #expect(try f.docker(["context", "show"]).stdoutText == "db.2\n")
        // Removing the current context unsets it, so the CLI keeps working.
        try f.contexts.remove(name: "db.2")
        let show = try f.docker(["context", "show"])
        #expect(show.status == 0 && show.stdoutText == "default\n", "\(show.stderrText)")
        let ls2 = try f.docker(["context", "ls", "--format", "{{.Name}}"])
        #expect(ls2.stdoutText == "default\nweb1\n", "\(ls2.stdoutText) \(ls2.stderrText)")
        // And the CLI can remove ours (then we report nothing to remove).
        #expect(try f.docker(["context", "rm", "web1"]).status == 0)
        #expect(try f.contexts.remove(name: "web1") == false)
    }

    /// `docker --context web1` presents the machine's client certificate and trusts the machine's
    /// CA: a TLS server (openssl s_server) that demands a client certificate from our CA sees it.
    @Test(.enabled(if: dockerPath != nil && opensslPath != nil, "needs the docker CLI and openssl"))
    func dockerCLIDoesMutualTLSWithTheContextMaterial() throws {
        let f = try Fixture(["web1"], address: "127.0.0.1")
        defer { f.dir.remove() }
        let server = try f.material.ca.issueServerCertificate(commonName: "web1", subjectAltNames: ["127.0.0.1"])
        try f.write(server.certificatePEM, to: f.dir.sub("server.pem"))
        try f.write(server.privateKeyPEM, to: f.dir.sub("server-key.pem"))
        try f.write(f.material.caPEM, to: f.dir.sub("ca.pem"))
        let port = try Self.freePort()
        _ = try f.store.update("web1") { $0.engine.port = port }
        try f.contexts.write(machine: try f.store.load("web1"), store: f.store)

        let errPath = f.dir.sub("s_server.err")
        let pid = try Self.spawn(
            [
                opensslPath!, "s_server", "-accept", "127.0.0.1:\(port)", "-cert", f.dir.sub("server.pem"),
                "-key", f.dir.sub("server-key.pem"), "-CAfile", f.dir.sub("ca.pem"),
                "-Verify", "1", "-verify_return_error", "-www",
            ],
            stdout: f.dir.sub("s_server.out"), stderr: errPath)
        defer { kill(pid, SIGKILL); var st: Int32 = 0; waitpid(pid, &st, 0) }
        #expect(Self.waitFor(seconds: 10) { f.read(f.dir.sub("s_server.out"))?.contains("ACCEPT") == true })

        // docker talks to it in the background; the server does not speak the Engine API, so the
        // CLI would wait: it ends when the server is killed.
        final class Box: @unchecked Sendable { var result: Subprocess.Result? }
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        let fx = f
        Thread {
            box.result = try? fx.docker(["--context", "web1", "version", "--format", "{{.Server.Version}}"]); done.signal()
        }.start()
        let sawClient = Self.waitFor(seconds: 20) { f.read(errPath)?.contains("depth=0 CN = swock-machine client") == true }
        kill(pid, SIGKILL)
        _ = done.wait(timeout: .now() + 30)
        let log = f.read(errPath) ?? ""
        #expect(sawClient, "the server never saw our client certificate: \(log) / docker: \(box.result?.stderrText ?? "-")")
        #expect(log.contains("verify return:1") && !log.contains("verify error"), "\(log)")
    }

    static func waitFor(seconds: Double, _ cond: () -> Bool) -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if cond() { return true }
            usleep(50_000)
        }
        return cond()
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard ok else { throw POSIXError(.EADDRINUSE) }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// posix_spawn with a clean signal mask (the test runner's threads block signals), output to files.
    static func spawn(_ argv: [String], stdout: String, stderr: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attr, &empty)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK))
        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, argv[0], &actions, &attr, &cArgs, environ)
        guard rc == 0 else { throw POSIXError(POSIXErrorCode(rawValue: rc) ?? .EINVAL) }
        return pid
    }
}
