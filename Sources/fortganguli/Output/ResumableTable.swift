import Foundation
import Reports

/// A CSV file that grows one finished row at a time and survives interruption: each row is
/// written whole and flushed, a rerun reads the keys already done, and a torn last line (from a
/// kill mid-write) is cut off. A manifest beside it records the arguments, so a rerun with other
/// arguments is refused instead of mixing two experiments in one file.
final class ResumableTable {
    let url: URL
    let header: [String]
    private let handle: FileHandle
    /// Keys (first `keyColumns` fields) of rows already present.
    private(set) var done: Set<String> = []
    let keyColumns: Int

    /// Opens or creates `folder/name` with `header`; `manifest` is compared with `folder/<stem>.json`.
    init(folder: String, name: String, header: [String], keyColumns: Int, manifest: JSON) throws {
        let dir = URL(fileURLWithPath: folder).standardizedFileURL
        let fm = FileManager.default
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: dir.path, isDirectory: &isDir), !isDir.boolValue {
            throw ToolError("output path \(folder) is a file, not a folder; choose another --output")
        }
        try OutputFolder.makeDirectories(dir, shownAs: folder)
        guard fm.isWritableFile(atPath: dir.path) else {
            throw ToolError("cannot write to output folder \(folder) (permission denied); choose a writable --output")
        }
        url = dir.appendingPathComponent(name)
        self.header = header
        self.keyColumns = keyColumns
        let manifestURL = dir.appendingPathComponent((name as NSString).deletingPathExtension + ".json")
        let manifestText = manifest.render() + "\n"
        if let old = try? String(contentsOf: manifestURL, encoding: .utf8), fm.fileExists(atPath: url.path) {
            guard old == manifestText else {
                throw ToolError("\(url.path) holds a run with other arguments (see \(manifestURL.lastPathComponent)); use a new --output or delete it")
            }
        } else {
            do { try manifestText.write(to: manifestURL, atomically: true, encoding: .utf8) } catch {
                throw ToolError("cannot write \(manifestURL.path) (\(OutputFolder.reason(error))); choose a writable --output")
            }
        }
        let headerLine = header.joined(separator: ",")
        if fm.fileExists(atPath: url.path) {
            let data = try Data(contentsOf: url)
            var text = String(decoding: data, as: UTF8.self)
            if !text.isEmpty && !text.hasSuffix("\n") {
                // Torn last row: drop it, it will be recomputed.
                text = String(text[..<(text.lastIndex(of: "\n").map { text.index(after: $0) } ?? text.startIndex)])
                try text.data(using: .utf8)!.write(to: url)
            }
            var lines = text.split(separator: "\n", omittingEmptySubsequences: true)
            if lines.isEmpty { try (headerLine + "\n").write(to: url, atomically: true, encoding: .utf8) }
            else {
                guard lines.removeFirst() == headerLine else {
                    throw ToolError("\(url.path) has another header than this version writes; use a new --output")
                }
                for line in lines { done.insert(line.split(separator: ",").prefix(keyColumns).joined(separator: ",")) }
            }
        } else {
            try (headerLine + "\n").write(to: url, atomically: true, encoding: .utf8)
        }
        handle = try FileHandle(forWritingTo: url)
        try handle.seekToEnd()
    }

    func isDone(_ key: [String]) -> Bool { done.contains(key.joined(separator: ",")) }

    /// Computes and appends, in order, the row of every item whose key is not in the table yet, with a
    /// progress line (`label`, the item's `detail`); items already done are skipped, so a rerun
    /// resumes. `key` gives an item's key columns; `row` its whole row and a short detail.
    func fill<Item>(_ items: [Item], label: String, key: (Item) -> [String],
                    row: (Item) throws -> (fields: [String], detail: String)) throws {
        let pending = items.filter { !isDone(key($0)) }
        let progress = Progress(total: items.count, alreadyDone: items.count - pending.count, label: label)
        for item in pending {
            let (fields, detail) = try row(item)
            try append(fields)
            progress.step(detail)
        }
        progress.finish()
    }

    /// Appends one row and flushes it to disk.
    func append(_ fields: [String]) throws {
        precondition(fields.count == header.count, "row has \(fields.count) fields, header \(header.count)")
        try handle.write(contentsOf: (fields.joined(separator: ",") + "\n").data(using: .utf8)!)
        try handle.synchronize()
        done.insert(fields.prefix(keyColumns).joined(separator: ","))
    }

    deinit { try? handle.close() }
}

/// A progress line on the terminal (standard error, only when it is a terminal): done/total, rate, time left.
final class Progress {
    private let total: Int
    private var finished = 0
    private let label: String
    private let start = Date()
    private let isTerminal = isatty(STDERR_FILENO) != 0

    init(total: Int, alreadyDone: Int, label: String) {
        self.total = total
        self.finished = alreadyDone
        self.label = label
        if alreadyDone > 0 {
            FileHandle.standardError.write("\(label): resuming, \(alreadyDone) of \(total) already done\n".data(using: .utf8)!)
        }
    }

    func step(_ detail: String) {
        finished += 1
        guard isTerminal else { return }
        let elapsed = Date().timeIntervalSince(start)
        let line = String(format: "\r%@ %d/%d  %@  %.1fs", label, finished, total, detail, elapsed)
        FileHandle.standardError.write(line.padding(toLength: max(line.count, 80), withPad: " ", startingAt: 0).data(using: .utf8)!)
    }

    func finish() {
        if isTerminal { FileHandle.standardError.write("\n".data(using: .utf8)!) }
    }
}
