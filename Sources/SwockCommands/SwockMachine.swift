import ArgumentParser

/// The root command. Subcommands live in folders by concern (Machine, Lifecycle, Client, Fleet,
/// Swarm, Inventory),
/// and the root help lists them in the same groups.
public struct SwockMachine: AsyncParsableCommand {
    public static let version = "0.1.0"

    public static let configuration = CommandConfiguration(
        commandName: "swock-machine",
        abstract: "Turn Linux servers into TLS-secured Docker hosts and drive them.",
        discussion: Help.discussion(
            """
            Machines live in a local store ($SWOCK_MACHINE_STORAGE_PATH, default ~/.swock/machine). \
            Start with `create`, then point the docker CLI at the machine with `env`.

            Exit status: 0 on success; 1 on an error, told in one line on stderr; 2 when a command \
            over several machines (exec, docker, create -f; provision, rm, stop, start, restart, kill, \
            upgrade, regenerate-certs, swarm join/leave of several) failed on some of them but not all \
            (1: on all of them); 64 for a usage error (a command line that cannot work: an unknown \
            flag, a missing value such as --generic-ip-address, flags that exclude each other); 130 \
            when interrupted by SIGINT (Ctrl-C: the process ends by the signal, which a shell shows \
            as 130). `ssh` passes on the remote command's status. When the reader of stdout \
            goes away (`swock-machine ls | head -1`), any command ends at once and quietly, as if \
            killed by SIGPIPE: a shell shows status 141. A closed stderr only drops the messages.
            """,
            examples: [
                "swock-machine create --driver generic --generic-ip-address 203.0.113.10 web1",
                "eval \"$(swock-machine env web1)\"",
                "swock-machine exec --all -- uptime",
            ]),
        version: version,
        groupedSubcommands: [
            CommandGroup(
                name: "Machines",
                subcommands: [
                    Create.self, Provision.self, Remove.self, Inspect.self,
                ]),
            CommandGroup(
                name: "Engine lifecycle",
                subcommands: [
                    Stop.self, Start.self, Restart.self, Kill.self, Upgrade.self, RegenerateCerts.self,
                ]),
            CommandGroup(
                name: "Client",
                subcommands: [
                    List.self, Env.self, Config.self, IP.self, URLCommand.self, Status.self, Active.self, Use.self,
                    SSH.self, Scp.self, Mount.self, Tunnel.self, Version.self, Completion.self, SFTPRelay.self, Keeper.self,
                ]),
            CommandGroup(
                name: "Fleet",
                subcommands: [
                    Exec.self, DockerFanout.self,
                ]),
            CommandGroup(
                name: "Swarm mode",
                subcommands: [
                    Swarm.self
                ]),
            CommandGroup(
                name: "Inventory",
                subcommands: [
                    Export.self, Import.self,
                ]),
        ]
    )

    public init() {}
}
