import ArgumentParser
import Foundation
import SwockClient

struct Active: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "active",
        abstract: "Print the active machine: the one DOCKER_HOST points at, else the one chosen with `use`.",
        discussion: Help.discussion(examples: [
            "swock-machine active",
            "swock-machine use web1 && swock-machine active",
        ]))

    @OptionGroup var global: GlobalOptions

    var request: ActiveRequest { ActiveRequest(global: global.values) }

    func run() async throws {
        try await reportingErrors { try await request.run() }
    }
}

/// What `active` was asked, parsed (by ArgumentParser, or by `LeanCommandLine`).
struct ActiveRequest: LeanRequest, Equatable {
    var global: GlobalValues

    func run() async throws {
        let store = global.store
        let resolver = MachineResolver(store: store)
        if let host = ProcessInfo.processInfo.environment["DOCKER_HOST"], !host.isEmpty {
            guard let name = resolver.machineMatching(dockerHost: host) else {
                throw UserFacingError("DOCKER_HOST=\(host) is not one of the machines; `swock-machine ls` lists them")
            }
            Output.out(name + "\n")
            return
        }
        guard let name = store.activeMachine(), store.exists(name) else {
            throw UserFacingError("No active host found; pick one with `swock-machine use NAME`")
        }
        Output.out(name + "\n")
    }
}
