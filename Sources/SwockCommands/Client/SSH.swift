import ArgumentParser
import Foundation
import SSHKit
import SwockRemote
import SwockSupport

struct SSH: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ssh",
        abstract: "Log into a machine, or run a command there: swock-machine ssh NAME [--] CMD ...",
        discussion: Help.discussion(
            """
            With a command, stdin passes through and the exit status is the remote command's. Everything \
            after the machine name is the command, as in Docker Machine (`ssh web1 df -h`); our own \
            options go before the name; a `--` right after the name is dropped.
            """,
            examples: [
                "swock-machine ssh web1",
                "swock-machine ssh web1 df -h /",
                "tar c app | swock-machine ssh web1 -- 'tar x -C /srv'",
            ]))

    @OptionGroup var global: GlobalOptions
    @OptionGroup var keeper: KeeperOptions

    @Argument(help: "Machine name.", completion: .machineNames)
    var name: String

    @Argument(parsing: .captureForPassthrough, help: "Command to run instead of a shell (everything after the name).")
    var command: [String] = []

    /// The remote command: everything after the name, less one leading `--`.
    var remote: [String] { command.first == "--" ? Array(command.dropFirst()) : command }

    func run() async throws {
        var status: Int32 = 0
        try await reportingErrors {
            let (store, config) = try global.loadMachine(name)
            let machineSSH = MachineSSH(store: store, logger: global.logger("swock.ssh"))
            let command = remote
            if command.isEmpty {
                let ssh = try await machineSSH.connect(config)
                status = try await ssh.interactiveShell()
                await ssh.close()
            } else {
                // A command goes through the connection keeper when it runs (started on demand).
                let ssh = try await machineSSH.commandHost(config, keeper: try keeper.client(store, global))
                // One argument is taken as a shell command line (like ssh); several are quoted word by word.
                let line = command.count == 1 ? command[0] : ShellQuote.join(command)
                let r = try await ssh.exec(
                    line, stdin: isatty(0) == 0 ? .fileDescriptor(0) : .none, collect: false,
                    onStdout: { StandardStreams.out($0) },
                    onStderr: { StandardStreams.err($0) })
                status = r.exitStatus ?? (128 + SSHSession.signalNumber(r.signal ?? "KILL"))
                await ssh.close()
            }
        }
        if status != 0 { throw ExitCode(status) }
    }
}
