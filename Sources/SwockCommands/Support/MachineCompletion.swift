import ArgumentParser
import SwockStore

extension CompletionKind {
    /// The names of the machines in the store the command line points at: its --storage-path
    /// (or -s), else $SWOCK_MACHINE_STORAGE_PATH, else ~/.swock/machine.
    static var machineNames: CompletionKind {
        .custom { words, _, prefix in MachineCompletion.names(words: words, prefix: prefix) }
    }
}

enum MachineCompletion {
    static func names(words: [String], prefix: String) -> [String] {
        var flag: String?
        for (i, w) in words.enumerated() {
            if w == "-s" || w == "--storage-path", i + 1 < words.count {
                flag = unquoted(words[i + 1])
            } else if w.hasPrefix("--storage-path=") {
                flag = unquoted(String(w.dropFirst("--storage-path=".count)))
            }
        }
        return Store(root: Store.resolveRoot(flag: flag)).names().filter { $0.hasPrefix(unquoted(prefix)) }
    }

    /// A shell word as the shell will pass it: the shells hand completion the words verbatim,
    /// so `'/my store'`, `"/my store"` and `/my\ store` all mean /my store.
    static func unquoted(_ word: String) -> String {
        var out = ""
        var quote: Character?
        var escaped = false
        for c in word {
            if escaped { out.append(c); escaped = false; continue }
            switch (quote, c) {
            case (nil, "\\"), ("\"", "\\"): escaped = true
            case (nil, "'"), (nil, "\""): quote = c
            case ("'", "'"), ("\"", "\""): quote = nil
            default: out.append(c)
            }
        }
        return out
    }
}
