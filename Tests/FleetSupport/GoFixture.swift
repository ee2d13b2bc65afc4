import Foundation

/// Go programs the tests build from Tests/Fixtures with apt's golang-go, standard library only:
/// no network (GOPROXY=off, GOPATH mode), GOPATH and GOCACHE in a temporary directory kept
/// between runs so the standard library compiles once.
public enum GoFixture {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var built: [String: String] = [:]

    /// Builds Tests/Fixtures/`source` (a main.go directory) as `binaryName` into a directory of its
    /// own (once per test process) and returns that directory, for PATH.
    public static func build(_ source: String, as binaryName: String) throws -> String {
        lock.lock()
        defer { lock.unlock() }
        if let dir = built[source] { return dir }
        guard
            let go = ["/usr/bin/go", "/usr/lib/go/bin/go", "/usr/local/go/bin/go"].first(where: {
                FileManager.default.isExecutableFile(atPath: $0)
            })
        else {
            throw Failure(description: "go is not installed: apt-get install golang-go (scripts/deps does)")
        }
        let tmp = NSTemporaryDirectory() + "swock-go-fixtures"
        let dir = tmp + "/bin-\(getpid())-\(source.replacingOccurrences(of: "/", with: "-"))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: go)
        p.arguments = ["build", "-o", dir + "/" + binaryName, "."]
        p.currentDirectoryURL = URL(fileURLWithPath: Fleet.repoRoot + "/Tests/Fixtures/" + source)
        var env = ProcessInfo.processInfo.environment
        env["GOPATH"] = tmp + "/gopath"
        env["GOCACHE"] = tmp + "/cache"
        env["GO111MODULE"] = "off"
        env["GOFLAGS"] = ""
        env["GOPROXY"] = "off"
        env["CGO_ENABLED"] = "0"
        p.environment = env
        let err = Pipe()
        p.standardError = err
        p.standardOutput = err
        try p.run()
        let out = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw Failure(description: "go build Tests/Fixtures/\(source) failed: \(String(decoding: out, as: UTF8.self))")
        }
        built[source] = dir
        return dir
    }

    /// The fixture driver plugin (Tests/Fixtures/plugin): a directory of the caller's own holding
    /// docker-machine-driver-fixture, so a test can tell its plugin processes (by their
    /// executable's path) from those of tests running beside it. A hard link, not a copy: a copy
    /// is a file this process has open for writing, and a child another test forks meanwhile
    /// inherits that descriptor until its exec, so starting the copy can fail with ETXTBSY (seen
    /// in CI as the plugin that "cannot start").
    public static func pluginDirectory() throws -> String {
        let built = try build("plugin", as: "docker-machine-driver-fixture")
        let dir = NSTemporaryDirectory() + "swock-go-fixtures/plugin-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try FileManager.default.linkItem(atPath: built + "/docker-machine-driver-fixture", toPath: dir + "/docker-machine-driver-fixture")
        return dir
    }
}
