import Foundation
import SSHKit
import SwockRemote
import SwockSupport

/// `--engine-install bundle:PATH`: Docker Engine from local files, for hosts that reach no
/// package repository: a folder of .deb files, or Docker's static binaries tarball
/// (`docker-VERSION.tgz`, a `docker/` folder with dockerd, containerd, runc, ...).
///
/// The bundle is checked against the host before anything changes: for .debs the Debian family
/// and every package's architecture (on the host apt installs only those files, every source
/// switched off, after a dry run that must succeed); for the tarball dockerd's ELF machine, an
/// init system that can run it (systemd, or none) and iptables on the host.
public struct EngineBundle: Sendable, Equatable {
    public struct Package: Sendable, Equatable {
        public var file: String
        public var architecture: String
    }

    /// Docker's static binaries tarball.
    public struct StaticBinaries: Sendable, Equatable {
        /// The files of its `docker/` folder.
        public var binaries: [String]
        /// `uname -m` of the machine dockerd is built for (from its ELF header).
        public var machine: String
    }

    public var path: String
    /// The .deb files (empty for a static tarball).
    public var packages: [Package]
    public var staticBinaries: StaticBinaries?

    public init(path: String, packages: [Package] = [], staticBinaries: StaticBinaries? = nil) {
        self.path = path
        self.packages = packages
        self.staticBinaries = staticBinaries
    }

    /// What create's summary says it installed from.
    public var summary: String {
        if let s = staticBinaries { return "the static binaries \(path) (\(s.binaries.count) binaries, no repository)" }
        return "the bundle \(path) (\(packages.count) packages, no repository)"
    }

    /// What a static tarball must hold to run an engine.
    static let requiredBinaries = ["dockerd", "docker", "containerd", "containerd-shim-runc-v2", "runc"]

    public struct Unusable: Error, CustomStringConvertible, Equatable {
        public var description: String
    }

    /// Reads the folder: its .deb files and each one's Architecture, with one `dpkg-deb` run
    /// per package inside a single shell, on a thread of its own (never the cooperative pool).
    public static func inspect(_ path: String) async throws -> EngineBundle {
        try await OffPool.run("bundle \(path)") { try inspectBlocking(path) }
    }

    static func inspectBlocking(_ path: String) throws -> EngineBundle {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw Unusable(
                description:
                    "bundle \(path) does not exist; give a folder of .deb files or Docker's static binaries tarball (docker-VERSION.tgz)")
        }
        if !isDir.boolValue { return try inspectTarball(path) }
        let debs = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { $0.hasSuffix(".deb") }.sorted()
        guard !debs.isEmpty else { throw Unusable(description: "bundle \(path) holds no .deb files") }
        guard let dpkgDeb = ["/usr/bin/dpkg-deb", "/bin/dpkg-deb"].first(where: FileManager.default.isExecutableFile) else {
            throw Unusable(description: "reading bundle \(path) needs dpkg-deb on this computer (Debian's dpkg package)")
        }
        // One line per package, in order: its architecture, or "?" when it is not a readable .deb.
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments =
            [
                "-c", "d=$1; shift; for f; do a=$(\"$d\" -f \"$f\" Architecture 2>/dev/null) && [ -n \"$a\" ] || a='?'; echo \"$a\"; done",
                "sh", dpkgDeb,
            ] + debs.map { path + "/" + $0 }
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = try out.fileHandleForReading.readToEnd() ?? Data()
        p.waitUntilExit()
        let archs = String(decoding: data, as: UTF8.self).textLines().map(String.init)
        guard p.terminationStatus == 0, archs.count == debs.count else {
            throw Unusable(description: "bundle \(path): dpkg-deb could not read the packages")
        }
        if let i = archs.firstIndex(of: "?") { throw Unusable(description: "bundle \(path): \(debs[i]) is not a readable .deb") }
        return EngineBundle(path: path, packages: zip(debs, archs).map { Package(file: $0, architecture: $1) })
    }

    /// Lists the tarball and reads the ELF header of its dockerd, in one shell run by tar.
    static func inspectTarball(_ path: String) throws -> EngineBundle {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = [
            "-c", "tar -tzf \"$1\" || exit 3; echo ==elf; tar -xzOf \"$1\" docker/dockerd 2>/dev/null | head -c 20 | od -An -tu1 -v", "sh",
            path,
        ]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let text = String(decoding: try out.fileHandleForReading.readToEnd() ?? Data(), as: UTF8.self)
        p.waitUntilExit()
        guard p.terminationStatus == 0, let split = text.range(of: "==elf\n") else {
            throw Unusable(
                description:
                    "bundle \(path) is neither a folder of .deb files nor a readable .tgz; give Docker's static binaries tarball (docker-VERSION.tgz) or a folder of .deb files"
            )
        }
        let names = text[..<split.lowerBound].textLines().map { String($0) }
        let binaries = names.filter { $0.hasPrefix("docker/") && !$0.hasSuffix("/") }.map { String($0.dropFirst("docker/".count)) }.sorted()
        if let missing = requiredBinaries.first(where: { !binaries.contains($0) }) {
            throw Unusable(
                description:
                    "bundle \(path) has no docker/\(missing); give Docker's static binaries tarball (docker-VERSION.tgz from download.docker.com/linux/static)"
            )
        }
        let header = text[split.upperBound...].split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { UInt8($0) }
        guard let machine = elfMachine(header) else {
            throw Unusable(description: "bundle \(path): docker/dockerd is not a Linux executable (no ELF header)")
        }
        return EngineBundle(path: path, staticBinaries: StaticBinaries(binaries: binaries, machine: machine))
    }

    /// `uname -m` for an ELF header's e_machine (little-endian headers, as Docker ships them).
    static func elfMachine(_ header: [UInt8]) -> String? {
        guard header.count >= 20, header[0] == 0x7f, header[1] == 0x45, header[2] == 0x4c, header[3] == 0x46 else { return nil }
        let machine = Int(header[18]) | Int(header[19]) << 8
        switch machine {
        case 62: return "x86_64"
        case 183: return "aarch64"
        case 40: return "armv7l"
        case 3: return "i686"
        case 21: return "ppc64le"
        case 22: return "s390x"
        default: return "machine \(machine)"
        }
    }

    /// Debian's name for `uname -m`.
    static func debianArchitecture(_ machine: String?) -> String? {
        switch machine {
        case "x86_64": return "amd64"
        case "aarch64", "arm64": return "arm64"
        case "armv7l": return "armhf"
        case "i686", "i386": return "i386"
        case "ppc64le": return "ppc64el"
        case "s390x": return "s390x"
        default: return machine
        }
    }

    /// Refuses a bundle that cannot fit the host, naming the first package that does not.
    public func check(family: OSFamily?, machine: String?, initSystem: InitSystem = .systemd) throws {
        if let s = staticBinaries {
            let host = machine == "arm64" ? "aarch64" : machine
            guard s.machine == host else {
                throw Unusable(
                    description:
                        "bundle \(path): its dockerd is built for \(s.machine), the host is \(machine ?? "of an unknown architecture"); give the static binaries for \(machine ?? "it")"
                )
            }
            guard initSystem.runsStaticDockerd else {
                throw Unusable(
                    description:
                        "bundle \(path): Docker's static binaries bring no \(initSystem.rawValue) service for dockerd; on this host give a bundle of the distribution's packages (a folder of .deb files)"
                )
            }
            return
        }
        guard family == .debian else {
            throw Unusable(
                description:
                    "bundle \(path) holds .deb packages, but the host is not of the Debian family (\(family?.rawValue ?? "unknown")); give a bundle for its distribution"
            )
        }
        let arch = Self.debianArchitecture(machine)
        if let bad = packages.first(where: { $0.architecture != "all" && $0.architecture != arch }) {
            throw Unusable(
                description:
                    "bundle \(path): \(bad.file) is for \(bad.architecture), the host is \(arch ?? "of an unknown architecture"); give a bundle built for \(arch ?? "it")"
            )
        }
    }

    /// Uploads the packages (SFTP, into a private temporary folder of the login user), runs
    /// apt's dry run, then the install; the folder is removed either way. Returns apt's tail on
    /// a failed dry run as the error, with nothing installed.
    public func install(ssh: any RemoteHost, initSystem: InitSystem = .systemd, log: @escaping @Sendable (String) -> Void) async throws {
        if staticBinaries != nil { return try await installStatic(ssh: ssh, initSystem: initSystem) }
        try await Self.withHostTempDir(ssh) { dir in
            for p in packages {
                try await ssh.upload(file: path + "/" + p.file, to: dir + "/" + p.file, mode: 0o644)
            }
            // Scripts/engine-bundle.sh: apt with no source at all, only the given files (and what is installed) count.
            let files = packages.map { dir + "/" + $0.file }
            let dry = try await ssh.execAsRoot(Scripts.engineBundle.command(["apt-simulate"] + files), timeout: .seconds(300))
            guard dry.succeeded else {
                throw Unusable(
                    description: "bundle \(path) does not install on this host (apt's dry run: \(Self.tail(dry))); nothing was installed")
            }
            let r = try await ssh.execAsRoot(
                Scripts.engineBundle.command(["apt-install"] + files),
                timeout: .seconds(1800), collect: true,
                onStdout: { log(String(decoding: $0, as: UTF8.self)) }, onStderr: { log(String(decoding: $0, as: UTF8.self)) })
            guard r.succeeded else { throw Unusable(description: "installing bundle \(path) failed: \(Self.tail(r))") }
        }
    }

    /// The tarball: iptables checked first (nothing changes without it), then the binaries go to
    /// /usr/local/bin and the init system gets a service for dockerd (Scripts/engine-bundle.sh:
    /// the docker group; on systemd a docker.service unit unless the host has one).
    func installStatic(ssh: any RemoteHost, initSystem: InitSystem) async throws {
        let pre = try await ssh.execAsRoot(Scripts.engineBundle.command("static-check"), timeout: .seconds(60))
        guard pre.succeeded else {
            throw Unusable(
                description:
                    "bundle \(path): Docker's static binaries need iptables on the host, and it has none; install iptables there (or give a folder of .deb files with it), nothing was installed"
            )
        }
        try await Self.withHostTempDir(ssh) { dir in
            try await ssh.upload(file: path, to: dir + "/docker.tgz", mode: 0o644)
            let r = try await ssh.execAsRoot(
                Scripts.engineBundle.command("static-install", dir, initSystem.rawValue), timeout: .seconds(600))
            guard r.succeeded else { throw Unusable(description: "installing the static binaries \(path) failed: \(Self.tail(r))") }
        }
    }

    /// A private temporary folder of the login user on the host, for `body`; removed either way.
    static func withHostTempDir(_ ssh: any RemoteHost, _ body: (String) async throws -> Void) async throws {
        let dir = try await ssh.run("mktemp -d \"${TMPDIR:-/tmp}/swock-bundle.XXXXXXXX\"").trimmingCharacters(in: .whitespacesAndNewlines)
        guard dir.hasPrefix("/") else { throw Unusable(description: "cannot make a temporary folder on the host (mktemp said \(dir))") }
        do {
            try await body(dir)
        } catch {
            _ = try? await ssh.exec("rm -rf \(ShellQuote.quote(dir))", timeout: .seconds(60))
            throw error
        }
        _ = try? await ssh.exec("rm -rf \(ShellQuote.quote(dir))", timeout: .seconds(60))
    }

    /// The last three lines a failed command printed, for its error.
    static func tail(_ r: ExecResult) -> String {
        (r.stdoutText + r.stderrText).textLines().suffix(3).joined(separator: " | ")
    }
}
