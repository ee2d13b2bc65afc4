import ArgumentParser
import Foundation

/// Where an archive's passphrase comes from: an environment variable or the first line of
/// stdin. Never an argument, so it cannot show in `ps` or a shell's history.
struct PassphraseOptions: ParsableArguments {
    @Option(name: .customLong("passphrase-env"), help: ArgumentHelp("Encrypt/decrypt with the passphrase in this environment variable.", valueName: "var"))
    var variable: String?

    @Flag(name: .customLong("passphrase-stdin"), help: "Read the passphrase from the first line of stdin.")
    var fromStdin = false

    var given: Bool { variable != nil || fromStdin }

    /// The passphrase, or nil when neither option was given.
    func read() throws -> String? {
        if variable != nil && fromStdin { throw UserFacingError("give either --passphrase-env or --passphrase-stdin, not both") }
        if let variable {
            guard let v = ProcessInfo.processInfo.environment[variable], !v.isEmpty else {
                throw UserFacingError("--passphrase-env \(variable): that environment variable is not set or is empty; export it first")
            }
            return v
        }
        if fromStdin {
            guard let line = readLine(strippingNewline: true), !line.isEmpty else {
                throw UserFacingError("--passphrase-stdin: stdin gave no passphrase; pipe it in, e.g. `pass show swock | swock-machine ...`")
            }
            return line
        }
        return nil
    }
}
