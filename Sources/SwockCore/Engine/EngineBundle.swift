import Foundation
import SSHKit
import SwockSupport

/// `--engine-install bundle:PATH`: Docker Engine from a local folder of .deb files, for hosts
/// that reach no package repository. The bundle is checked against the host (Debian family,
/// architecture of every package) before anything changes; on the host apt installs only those
/// files, with every configured source switched off, after a dry run that must succeed.
public struct EngineBundle: Sendable, Equatable {
    public struct Package: Sendable, Equatable {
        public var file: String
        public var architecture: String
    }

    public var path: String
    public var packages: [Package]

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
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue else {
            throw Unusable(description: "bundle \(path) is not a folder; give a folder of .deb files (docker.io and what it depends on)")
        }
        let debs = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { $0.hasSuffix(".deb") }.sorted()
        guard !debs.isEmpty else { throw Unusable(description: "bundle \(path) holds no .deb files") }
        guard let dpkgDeb = ["/usr/bin/dpkg-deb", "/bin/dpkg-deb"].first(where: FileManager.default.isExecutableFile) else {
            throw Unusable(description: "reading bundle \(path) needs dpkg-deb on this computer (Debian's dpkg package)")
        }
        // One line per package, in order: its architecture, or "?" when it is not a readable .deb.
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "d=$1; shift; for f; do a=$(\"$d\" -f \"$f\" Architecture 2>/dev/null) && [ -n \"$a\" ] || a='?'; echo \"$a\"; done",
                       "sh", dpkgDeb] + debs.map { path + "/" + $0 }
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let archs = String(decoding: data, as: UTF8.self).textLines().map(String.init)
        guard p.terminationStatus == 0, archs.count == debs.count else {
            throw Unusable(description: "bundle \(path): dpkg-deb could not read the packages")
        }
        if let i = archs.firstIndex(of: "?") { throw Unusable(description: "bundle \(path): \(debs[i]) is not a readable .deb") }
        return EngineBundle(path: path, packages: zip(debs, archs).map { Package(file: $0, architecture: $1) })
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
    public func check(family: OSFamily?, machine: String?) throws {
        guard family == .debian else {
            throw Unusable(description: "bundle \(path) holds .deb packages, but the host is not of the Debian family (\(family?.rawValue ?? "unknown")); give a bundle for its distribution")
        }
        let arch = Self.debianArchitecture(machine)
        if let bad = packages.first(where: { $0.architecture != "all" && $0.architecture != arch }) {
            throw Unusable(description: "bundle \(path): \(bad.file) is for \(bad.architecture), the host is \(arch ?? "of an unknown architecture"); give a bundle built for \(arch ?? "it")")
        }
    }

    /// apt with no source at all: only the given files (and what is installed) count.
    static let offlineApt = "apt-get -o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts=/dev/null -o DPkg::Lock::Timeout=300"

    /// Uploads the packages (SFTP, into a private temporary folder of the login user), runs
    /// apt's dry run, then the install; the folder is removed either way. Returns apt's tail on
    /// a failed dry run as the error, with nothing installed.
    public func install(ssh: SSHSession, log: @escaping @Sendable (String) -> Void) async throws {
        let dir = try await ssh.run("mktemp -d \"${TMPDIR:-/tmp}/swock-bundle.XXXXXXXX\"").trimmingCharacters(in: .whitespacesAndNewlines)
        guard dir.hasPrefix("/") else { throw Unusable(description: "cannot make a temporary folder on the host (mktemp said \(dir))") }
        let q = ShellQuote.quote
        do {
            for p in packages {
                try await ssh.upload(file: path + "/" + p.file, to: dir + "/" + p.file, mode: 0o644)
            }
            let files = packages.map { q(dir + "/" + $0.file) }.joined(separator: " ")
            let dry = try await ssh.execAsRoot("export DEBIAN_FRONTEND=noninteractive; \(Self.offlineApt) install --simulate -q \(files)", timeout: .seconds(300))
            guard dry.succeeded else {
                let tail = (dry.stdoutText + dry.stderrText).textLines().suffix(3).joined(separator: " | ")
                throw Unusable(description: "bundle \(path) does not install on this host (apt's dry run: \(tail)); nothing was installed")
            }
            let r = try await ssh.execAsRoot("export DEBIAN_FRONTEND=noninteractive; \(Self.offlineApt) install -y -q --no-install-recommends \(files)",
                                             timeout: .seconds(1800), collect: true,
                                             onStdout: { log(String(decoding: $0, as: UTF8.self)) }, onStderr: { log(String(decoding: $0, as: UTF8.self)) })
            guard r.succeeded else {
                let tail = (r.stdoutText + r.stderrText).textLines().suffix(3).joined(separator: " | ")
                throw Unusable(description: "installing bundle \(path) failed: \(tail)")
            }
            _ = try? await ssh.exec("rm -rf \(q(dir))", timeout: .seconds(60))
        } catch {
            _ = try? await ssh.exec("rm -rf \(q(dir))", timeout: .seconds(60))
            throw error
        }
    }
}
