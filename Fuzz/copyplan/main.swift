// Fuzz target: `scp` paths. What a user or a remote listing hands over: a NAME:path argument,
// a name inside a copied directory, a symlink's target. Checks the promises CopyPlan makes: a
// remote path never looks like an option, a plain name appended to a directory stays inside it
// and is its base name, and a link kept as it is never climbs out of the copied tree.
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size > 0 else { return 0 }
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let lines = text.split(separator: "\n", maxSplits: 3, omittingEmptySubsequences: false).map(String.init)
    let arg = lines[0]
    let name = lines.count > 1 ? lines[1] : "x"
    let link = lines.count > 2 ? lines[2] : "x"
    let depth = size % 5

    let loc = CopyLocation.parse(arg)
    if case .remote(_, let path) = loc { check(!path.hasPrefix("-"), "remote path \"\(path)\" looks like an option") }
    _ = loc.parent
    _ = loc.baseName
    // A plain name (what a directory listing holds) appended to a directory ("" names none).
    let scalars = Array(name.unicodeScalars)
    if !loc.path.isEmpty, !scalars.isEmpty, scalars != ["."], scalars != [".", "."], !scalars.contains("/"), !scalars.contains("\0") {
        let inner = loc.appending(name)
        check(CopyPlan.isInside(inner.path, loc.path), "\"\(inner.path)\" is not inside \"\(loc.path)\"")
        check(inner.baseName.unicodeScalars.elementsEqual(scalars), "the base name of \"\(inner.path)\" is not \"\(name)\"")
        if case .remote(_, let path) = inner { check(!path.hasPrefix("-"), "remote path \"\(path)\" looks like an option") }
    }
    // A listed name the copy takes is one path component, whatever its bytes.
    if let kept = try? CopyPlan.checkedEntries([(name, CopyFileInfo(.file))], in: "fuzz"), let (taken, _) = kept.first {
        let bytes = Array(taken.utf8)
        check(!bytes.isEmpty && !bytes.contains(UInt8(ascii: "/")) && !bytes.contains(0) && bytes != [46] && bytes != [46, 46],
              "listed name \"\(taken)\" taken as one component")
    }
    // A link kept as it is: resolved from `depth` directories below the tree's root (all of them
    // directories the copy made, no links), it stays in.
    var tree = CopyPlan.CopiedTree()
    let linkPath = (0...depth).map { "d\($0)" }
    for i in 0..<depth { tree.directories.insert(linkPath[...i].joined(separator: "/")) }
    if CopyPlan.linkStaysInside(link, at: linkPath, tree: tree) {
        check(!link.hasPrefix("/"), "absolute link \"\(link)\" kept")
        // As the kernel resolves it: components are the bytes between slashes.
        var level = depth
        for part in link.utf8.split(separator: UInt8(ascii: "/")) {
            if part.elementsEqual("..".utf8) { level -= 1 } else if !part.elementsEqual(".".utf8) { level += 1 }
            check(level >= 0, "link \"\(link)\" at depth \(depth) climbs out of the tree")
        }
    }
    // Planning a copy to a destination with every kind of thing there.
    let kinds: [CopyFileInfo?] = [nil, CopyFileInfo(.file), CopyFileInfo(.directory), CopyFileInfo(.symlink)]
    let dest = CopyLocation.parse(name)
    let k = size % kinds.count, j = (size / 4) % kinds.count
    if let items = try? CopyPlan.make(sources: [(loc, kinds[k])], destination: dest, destinationInfo: kinds[j],
                                      parentInfo: CopyFileInfo(.directory), recursive: size % 2 == 0) {
        check(items.count == 1, "one source, \(items.count) items")
    }
    return 0
}
