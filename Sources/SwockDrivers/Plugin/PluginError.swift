import GoRPC
import SwockSupport

/// What a Docker Machine driver plugin can fail with. Causes are values.
public enum PluginError: Error, Equatable, Sendable {
    /// No `docker-machine-driver-NAME` executable in any directory of PATH.
    case notFound(name: String, binary: String, searched: [String])
    /// The binary could not be started.
    case startFailed(binary: String, detail: String)
    /// The plugin did not print its address as its first line in time (or exited first);
    /// `stderr`: the last thing it said.
    case noAddress(binary: String, seconds: Double, exited: Bool, stderr: String)
    /// The first line is not a 127.0.0.1:PORT address.
    case badAddress(binary: String, line: String)
    /// The plugin speaks another version of the protocol than libmachine's 1.
    case incompatibleVersion(binary: String, version: Int64)
    /// A call failed: the plugin's own error, a timeout, or its exit (`stderr`: its last words).
    case call(plugin: String, method: String, failure: GoRPCError, stderr: String)
    /// A reply of another type than the method returns.
    case badReply(plugin: String, method: String, detail: String)
    /// A flag the plugin does not declare (`known`: those it does).
    case unknownFlag(plugin: String, flag: String, known: [String])
    /// The record's plugin configuration (libmachine's raw driver JSON) is missing or unreadable.
    case badConfig(plugin: String, detail: String)
}

extension PluginError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .notFound(let name, let binary, let searched):
            return
                "no driver \"\(name)\": \(binary) is not in PATH (searched \(searched.isEmpty ? "nothing: PATH is empty" : searched.joined(separator: ":"))); install the plugin there or pick a built-in driver"
        case .startFailed(let binary, let detail):
            return "cannot start the driver plugin \(binary): \(detail)"
        case .noAddress(let binary, let seconds, let exited, let stderr):
            let why = exited ? "exited without printing its address" : "printed no address within \(Int(seconds)) s"
            return
                "the driver plugin \(binary) \(why)\(stderr.isEmpty ? "" : " (it said: \(stderr))"); is it a docker-machine driver plugin?"
        case .badAddress(let binary, let line):
            return
                "the driver plugin \(binary) printed \"\(line.prefix(120))\" where its 127.0.0.1:PORT address should be; is it a docker-machine driver plugin?"
        case .incompatibleVersion(let binary, let version):
            return
                "the driver plugin \(binary) speaks plugin API version \(version); swock-machine speaks version 1 (libmachine's): use a plugin built for Docker Machine 0.5.1 or later"
        case .call(let plugin, let method, let failure, let stderr):
            let said = stderr.isEmpty ? "" : " (it said: \(stderr))"
            switch failure {
            case .server(_, let message):
                return
                    "the \(plugin) driver failed in \(method): \(message.split(whereSeparator: \.isNewline).first.map(String.init) ?? "")"
            case .timeout(_, let seconds):
                return "the \(plugin) driver did not finish \(method) within \(Int(seconds)) s; the plugin was killed\(said)"
            case .closed:
                return "the \(plugin) driver plugin exited during \(method)\(said)"
            case .connect(let host, let port, let errno):
                return "cannot reach the \(plugin) driver plugin at \(host):\(port) (errno \(errno))\(said)"
            case .handshake(let line):
                return "the \(plugin) driver plugin does not answer as Go's net/rpc: \(line.prefix(120))"
            case .protocolError(let e):
                return "the \(plugin) driver plugin's answer to \(method) is not readable gob: \(e)"
            }
        case .badReply(let plugin, let method, let detail):
            return "the \(plugin) driver's answer to \(method) is not what libmachine defines: \(detail)"
        case .unknownFlag(let plugin, let flag, let known):
            return
                "\(flag) is not a flag of the \(plugin) driver; its flags are: \(known.isEmpty ? "(none)" : known.joined(separator: " "))"
        case .badConfig(let plugin, let detail):
            return "the record's \(plugin) driver configuration is unusable: \(detail)"
        }
    }
}

extension PluginError: CodedError {
    public var code: ErrorCode {
        switch self {
        case .notFound: "plugin.not-found"
        case .startFailed: "plugin.start-failed"
        case .noAddress: "plugin.no-address"
        case .badAddress: "plugin.bad-address"
        case .incompatibleVersion: "plugin.incompatible-version"
        case .call: "plugin.call-failed"
        case .badReply: "plugin.bad-reply"
        case .unknownFlag: "plugin.unknown-flag"
        case .badConfig: "plugin.bad-config"
        }
    }
}
