/// Help text shared by the commands.
enum Help {
    /// A command's discussion, ending with an EXAMPLES block: one real invocation a line.
    static func discussion(_ text: String = "", examples: [String]) -> String {
        let block = "EXAMPLES:\n" + examples.map { "  " + $0 }.joined(separator: "\n")
        return text.isEmpty ? block : text + "\n\n" + block
    }
}
