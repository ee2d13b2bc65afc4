import ArgumentParser
import SwockCore

/// The root command. Subcommands live one per file.
public struct SwockMachine: AsyncParsableCommand {
    public static let version = "0.1.0"

    public static let configuration = CommandConfiguration(
        commandName: "swock-machine",
        abstract: "Turn Linux servers into TLS-secured Docker hosts and drive them.",
        discussion: """
            Machines live in a local store ($SWOCK_MACHINE_STORAGE_PATH, default ~/.swock/machine).
            Start with `swock-machine create --driver generic --generic-ip-address IP NAME`.
            """,
        version: version,
        subcommands: [
            Create.self, Provision.self, Remove.self,
            List.self, Inspect.self, IP.self, URL.self, Status.self,
            Env.self, Config.self, Active.self, Use.self,
            SSH.self, Scp.self,
            Stop.self, Start.self, Restart.self, Kill.self, Upgrade.self,
            RegenerateCerts.self, Version.self,
            Exec.self, DockerFanout.self,
        ]
    )

    public init() {}
}
