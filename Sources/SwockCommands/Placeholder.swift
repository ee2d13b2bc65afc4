import ArgumentParser

public struct SwockMachine: AsyncParsableCommand {
    public init() {}
}
