import Foundation
import SwockDrivers

/// `create -d NAME --help` for a driver other than generic: that driver's flags (a plugin's come
/// from its binary at run time, so ArgumentParser cannot print them), then where the common
/// options are. `create --help` (and `-d generic --help`) is ArgumentParser's own page.
enum CreateDriverHelp {
    /// nil: not such a request. `failed`: the page is an error line (an unknown driver).
    static func page(_ argv: [String], registry: DriverRegistry = .standard) async -> (text: String, failed: Bool)? {
        guard argv.first == "create", argv.contains(where: { $0 == "--help" || $0 == "-h" }) else { return nil }
        var name: String?
        var i = 1
        while i < argv.count {
            let w = argv[i]
            if w == "-d" || w == "--driver", i + 1 < argv.count {
                name = argv[i + 1]
                i += 1
            } else if w.hasPrefix("--driver=") {
                name = String(w.dropFirst("--driver=".count))
            }
            i += 1
        }
        guard let name, name != "generic" else { return nil }
        do {
            let kind = try registry.kind(named: name)
            let flags = try await kind.createFlags()
            let text = """
                OVERVIEW: create -d \(kind.name): \(kind.summary).

                USAGE: swock-machine create -d \(kind.name) [\(kind.name) flags] [common options] <name>

                \(kind.name.uppercased()) DRIVER FLAGS:
                \(flags.isEmpty ? "  (none)" : DriverFlagParser.help(flags))

                The common options (--engine-*, --tls-san, --tls-key-type, --label, --hostname, --ssh-host-key*,
                --swarm-*) are in `swock-machine create --help`; the --generic-* flags are the generic driver's only.

                """
            return (text, false)
        } catch {
            return ("Error: \(error)", true)
        }
    }
}
