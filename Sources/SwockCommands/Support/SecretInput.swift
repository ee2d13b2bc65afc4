import Foundation

/// A secret named by an environment variable or read from the first line of stdin, never
/// taken as an argument (where `ps` and shell history would show it). The archive passphrase
/// and the sudo password both come this way.
enum SecretInput {
    /// nil when neither way was asked for.
    static func read(envOption: String, variable: String?, stdinOption: String, fromStdin: Bool) throws -> String? {
        if variable != nil && fromStdin { throw UsageError("give either \(envOption) or \(stdinOption), not both") }
        if let variable {
            guard let v = ProcessInfo.processInfo.environment[variable], !v.isEmpty else {
                throw UsageError("\(envOption) \(variable): that environment variable is not set or is empty; export it first")
            }
            return v
        }
        if fromStdin {
            guard let line = readLine(strippingNewline: true), !line.isEmpty else {
                throw UsageError("\(stdinOption): stdin gave nothing; pipe the secret in, e.g. `pass show NAME | swock-machine ...`")
            }
            return line
        }
        return nil
    }
}
