import SwockCommands

@main
struct SwockMachineMain {
    static func main() async {
        await SwockMachine.main()
    }
}
