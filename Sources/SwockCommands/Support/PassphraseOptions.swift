import ArgumentParser
import Foundation

/// Where an archive's passphrase comes from: an environment variable or the first line of
/// stdin. Never an argument, so it cannot show in `ps` or a shell's history.
struct PassphraseOptions: ParsableArguments {
    @Option(
        name: .customLong("passphrase-env"),
        help: ArgumentHelp("Encrypt/decrypt with the passphrase in this environment variable.", valueName: "var"))
    var variable: String?

    @Flag(name: .customLong("passphrase-stdin"), help: "Read the passphrase from the first line of stdin.")
    var fromStdin = false

    var given: Bool { variable != nil || fromStdin }

    /// The passphrase, or nil when neither option was given.
    func read() throws -> String? {
        try SecretInput.read(envOption: "--passphrase-env", variable: variable, stdinOption: "--passphrase-stdin", fromStdin: fromStdin)
    }
}
