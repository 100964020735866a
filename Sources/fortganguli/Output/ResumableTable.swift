import Foundation
import Reports

/// A CSV file that grows one finished row at a time and survives interruption.
///
/// Opening it takes the folder's lock (a second writer is refused) and checks that the folder
/// holds this command's results. A rerun reads the keys already done and computes only the rest.
/// The whole table is checked before anything is changed: a header of another version or a
/// malformed row is refused with its line number and the file is left as it was; only a torn last
/// line (a kill mid-write) is dropped, through a temporary copy renamed over the table, never in
/// place. A manifest beside the table (`<stem>.json`) records every argument that changes the
/// rows; a rerun with other arguments is refused, naming the first argument that differs.
final class ResumableTable {
    let url: URL
    let header: [String]
    private var handle: FileHandle?
    /// Keys (first `keyColumns` fields) of rows already present.
    private(set) var done: Set<String> = []
    let keyColumns: Int
    private let folder: URL
    private let manifestURL: URL
    private let createdFolder: Bool
    private var createdTable = false
    private var appended = 0
    private var token: UUID?

    /// Opens or creates `folder/name` with `header`; `manifest` is compared with `folder/<stem>.json`.
    init(folder path: String, name: String, header: [String], keyColumns: Int, manifest: JSON) throws {
        folder = URL(fileURLWithPath: path).standardizedFileURL
        url = folder.appendingPathComponent(name)
        manifestURL = folder.appendingPathComponent((name as NSString).deletingPathExtension + ".json")
        self.header = header
        self.keyColumns = keyColumns
        createdFolder = try OutputFolder.prepare(folder, shownAs: path)
        do { try open(manifest: manifest, shownAs: path) } catch {
            if createdFolder { OutputFolder.removeIfEmpty(folder) }
            throw error
        }
        let (url, manifestURL, folder, created) = (url, manifestURL, folder, createdFolder)
        token = Interruption.register { [weak self] in
            guard let self, self.createdTable, self.appended == 0 else { return }
            ResumableTable.discard(url: url, manifest: manifestURL, folder: folder, createdFolder: created)
        }
    }

    private func open(manifest: JSON, shownAs path: String) throws {
        let fm = FileManager.default
        let headerLine = header.joined(separator: ",")
        var isDir: ObjCBool = false
        let exists = fm.fileExists(atPath: url.path, isDirectory: &isDir)
        if exists && isDir.boolValue {
            throw ToolError("\(url.path) is a folder, not a table; remove it or choose another --output")
        }
        let manifestText = manifest.render() + "\n"
        if exists {
            try ResumableTable.compare(manifest: manifestText, with: manifestURL, table: url)
            let text = try readText(url)
            var complete = text
            if !text.isEmpty && !text.hasSuffix("\n") {
                complete = String(text[..<(text.lastIndex(of: "\n").map { text.index(after: $0) } ?? text.startIndex)])
            }
            let lines = complete.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
            if let first = lines.first, first != headerLine {
                throw ToolError("\(url.path) has another header than this version writes; choose a new --output")
            }
            for (i, line) in lines.enumerated().dropFirst() {
                let fields = line.split(separator: ",", omittingEmptySubsequences: false)
                guard fields.count == header.count else {
                    throw ToolError("\(url.path) line \(i + 1) has \(fields.count) fields instead of \(header.count); the table is damaged: delete that line, or the table, and rerun")
                }
                done.insert(fields.prefix(keyColumns).joined(separator: ","))
            }
            if lines.isEmpty { complete = headerLine + "\n" }
            if complete != text {
                // A torn last row, or an empty file: replace the table by its complete rows.
                try AtomicFile.write(complete.data(using: .utf8)!, to: url)
            }
        } else {
            try AtomicFile.write(manifestText.data(using: .utf8)!, to: manifestURL)
            CrashPoint.reached("table: manifest written, no table")
            try AtomicFile.write((headerLine + "\n").data(using: .utf8)!, to: url)
            createdTable = true
        }
        do {
            let h = try FileHandle(forWritingTo: url)
            try h.seekToEnd()
            handle = h
        } catch {
            throw FileFailure(path: url.path, code: OutputFolder.posixCode(error))
        }
    }

    private func readText(_ url: URL) throws -> String {
        do { return String(decoding: try Data(contentsOf: url), as: UTF8.self) } catch {
            throw ToolError("cannot read \(url.path) (\(String(cString: strerror(OutputFolder.posixCode(error))))); check its permissions")
        }
    }

    /// Refuses a rerun whose manifest differs from the table's, naming the first differing argument.
    static func compare(manifest new: String, with manifestURL: URL, table: URL) throws {
        guard let old = try? String(contentsOf: manifestURL, encoding: .utf8) else {
            throw ToolError("\(table.path) has no manifest \(manifestURL.lastPathComponent), so its arguments are unknown; choose a new --output")
        }
        guard old != new else { return }
        if let d = firstDifference(Data(old.utf8), Data(new.utf8)) {
            throw ToolError("\(table.path) was made with \(d.flag) \(d.old ?? "(not recorded)"), this run has \(d.new ?? "(none)"); rerun with the same arguments to resume, or choose a new --output")
        }
        throw ToolError("\(table.path) holds a run with other arguments (see \(manifestURL.lastPathComponent)); rerun with the same arguments to resume, or choose a new --output")
    }

    /// The first argument (in key order) whose value differs between two manifests, as the flag
    /// that sets it (`sigma_z_max` → `--sigma-z-max`) with both values (nil where absent); nil if
    /// none differs or either is not a JSON object.
    static func firstDifference(_ a: Data, _ b: Data) -> (flag: String, old: String?, new: String?)? {
        func pairs(_ d: Data) -> [String: String]? {
            guard let o = try? JSONSerialization.jsonObject(with: d) as? [String: Any] else { return nil }
            return o.mapValues { ($0 as? NSNumber)?.stringValue ?? String(describing: $0) }
        }
        guard let x = pairs(a), let y = pairs(b),
              let key = Set(x.keys).union(y.keys).sorted().first(where: { x[$0] != y[$0] }) else { return nil }
        return ("--" + key.replacingOccurrences(of: "_", with: "-"), x[key], y[key])
    }

    func isDone(_ key: [String]) -> Bool { done.contains(key.joined(separator: ",")) }

    /// Computes and appends, in order, the row of every item whose key is not in the table yet, with a
    /// progress line (`label`, the item's `detail`); items already done are skipped, so a rerun
    /// resumes. `key` gives an item's key columns; `row` its whole row and a short detail. With a
    /// `shard`, `items` is still the whole grid: the plan of every key is written beside the table
    /// and only the shard's items (round-robin, `Shard.owns`) are computed.
    func fill<Item>(_ items: [Item], shard: Shard? = nil, label: String, key: (Item) -> [String],
                    row: (Item) throws -> (fields: [String], detail: String)) throws {
        var mine = items
        if let shard {
            try writePlan(items.map(key))
            mine = items.indices.filter { shard.owns(row: $0) }.map { items[$0] }
        }
        let pending = mine.filter { !isDone(key($0)) }
        let progress = Progress(total: mine.count, alreadyDone: mine.count - pending.count, label: shard.map { "\(label) shard \($0)" } ?? label)
        for item in pending {
            let (fields, detail) = try row(item)
            try append(fields)
            progress.step(detail)
        }
        progress.finish()
    }

    /// Appends one row and flushes it to disk; an interruption waits for it.
    func append(_ fields: [String]) throws {
        precondition(fields.count == header.count, "row has \(fields.count) fields, header \(header.count)")
        let line = Data((fields.joined(separator: ",") + "\n").utf8)
        try Interruption.critical {
            guard let handle else { return }
            CrashPoint.reached("table: before row \(fields.prefix(keyColumns).joined(separator: ","))")
            do {
                if CrashPoint.tornRows {
                    try handle.write(contentsOf: line.prefix(line.count / 2))
                    CrashPoint.reached("table: half a row written")
                    try handle.write(contentsOf: line.suffix(from: line.count / 2))
                } else {
                    try handle.write(contentsOf: line)
                }
                try handle.synchronize()
            } catch {
                throw FileFailure(path: url.path, code: OutputFolder.posixCode(error))
            }
            appended += 1
            done.insert(fields.prefix(keyColumns).joined(separator: ","))
        }
    }

    /// Removes a table this run created and gave no row (a run that failed before its first row).
    private static func discard(url: URL, manifest: URL, folder: URL, createdFolder: Bool) {
        unlink(url.path)
        unlink(manifest.path)
        unlink(url.deletingLastPathComponent().appendingPathComponent(planName(url.lastPathComponent)).path)
        if createdFolder { OutputFolder.removeIfEmpty(folder) }
    }

    deinit {
        try? handle?.close()
        if let token { Interruption.unregister(token) }
        if createdTable && appended == 0 {
            ResumableTable.discard(url: url, manifest: manifestURL, folder: folder, createdFolder: createdFolder)
        }
    }
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
