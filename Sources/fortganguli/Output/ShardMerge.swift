import Foundation

/// Joins the shards of a grid folder (`DIR/shards/i-of-n/`, written with `--shard i/n`) into the
/// tables of the unsharded run in DIR, byte for byte: the same header, the rows in the unsharded
/// order (the shards' plan), the same manifest.
///
/// Before anything is written it checks, and refuses in one line, shards that disagree (another n,
/// another command, another manifest, plan or header: they were run with other arguments or another
/// version), rows that are missing (naming the shards to rerun; each resumes) and rows that are
/// duplicated. DIR is written under its lock and owned by the shards' command, so rerunning that
/// command without `--shard` on DIR finds every row done and adds what it derives from the whole
/// table (e.g. goldilocks's intrinsic.csv).
enum ShardMerge {
    struct Result {
        let command: String
        let shards: Int
        /// (table file, rows) merged.
        let tables: [(name: String, rows: Int)]
    }

    static func merge(_ path: String) throws -> Result {
        let dir = URL(fileURLWithPath: path).standardizedFileURL
        let fm = FileManager.default
        let shardsURL = dir.appendingPathComponent(Shard.subfolder)
        let names = ((try? fm.contentsOfDirectory(atPath: shardsURL.path)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
        let shards = names.compactMap { Shard(folderName: $0) }
        guard let n = shards.first?.count else {
            throw ToolError("\(path) has no shards (\(path)/shards/i-of-n/); run a grid command with --shard i/n --output \(path) first")
        }
        if let other = shards.first(where: { $0.count != n }) {
            throw ToolError("\(path)/shards holds shards of \(n) and of \(other.count) (\(other.name)); keep the shards of one split and remove the others")
        }
        if let stray = names.first(where: { Shard(folderName: $0) == nil }) {
            throw ToolError("\(path)/shards/\(stray) is not a shard folder (i-of-n); remove it")
        }
        let present = Dictionary(uniqueKeysWithValues: shards.map { ($0.index, shardsURL.appendingPathComponent($0.name)) })

        // One command owns every shard.
        var command: String?
        for (i, folder) in present.sorted(by: { $0.key < $1.key }) {
            guard let record = FolderRecord.read(folder) else {
                throw ToolError("\(path)/shards/\(i)-of-\(n) has no \(FolderRecord.fileName), so fortganguli did not write it; remove it and rerun shard \(i)/\(n)")
            }
            if let c = command, c != record.command {
                throw ToolError("the shards of \(path) were written by `fortganguli \(c)` and `fortganguli \(record.command)`; a folder holds one grid")
            }
            command = record.command
        }

        // The tables: every plan any shard has.
        var stems = Set<String>()
        for folder in present.values {
            for name in (try? fm.contentsOfDirectory(atPath: folder.path)) ?? [] where name.hasSuffix(".plan") && !name.hasPrefix(".") {
                stems.insert(String(name.dropLast(5)))
            }
        }
        guard !stems.isEmpty else {
            throw ToolError("the shards of \(path) have no rows yet; run them (--shard i/\(n)) first")
        }

        var merged: [(name: String, manifest: Data, table: Data, rows: Int)] = []
        for stem in stems.sorted() {
            merged.append(try mergeTable(stem: stem, shards: present, count: n, shownAs: path))
        }

        // Write into DIR under its lock, owned by the shards' command; a DIR that already holds a
        // table of another run (another manifest) is refused rather than overwritten.
        _ = try OutputFolder.prepare(dir, shownAs: path, command: command!)
        for m in merged {
            let manifestURL = dir.appendingPathComponent(m.name + ".json")
            if let old = try? Data(contentsOf: manifestURL), old != m.manifest {
                throw ToolError("\(path)/\(m.name).csv holds a run with other arguments than its shards (see \(m.name).json); move it away and merge again")
            }
        }
        for m in merged {
            try AtomicFile.write(m.manifest, to: dir.appendingPathComponent(m.name + ".json"))
            try AtomicFile.write(m.table, to: dir.appendingPathComponent(m.name + ".csv"))
        }
        return Result(command: command!, shards: n, tables: merged.map { ($0.name + ".csv", $0.rows) })
    }

    /// The merged manifest and table of `stem` (`stem.csv`, `stem.json`, `stem.plan` in every shard).
    private static func mergeTable(stem: String, shards: [Int: URL], count n: Int, shownAs path: String)
        throws -> (name: String, manifest: Data, table: Data, rows: Int) {
        func read(_ url: URL) -> Data? { try? Data(contentsOf: url) }
        var manifest: (data: Data, shard: Int)?
        var plan: (text: String, shard: Int)?
        var header: (line: Substring, shard: Int)?
        var rows: [String: (line: Substring, shard: Int)] = [:]
        var duplicates: [String] = []
        var allKeys: [String] = []

        for i in 1...n {
            guard let folder = shards[i], let planText = read(folder.appendingPathComponent(stem + ".plan")).map({ String(decoding: $0, as: UTF8.self) }),
                  let m = read(folder.appendingPathComponent(stem + ".json")),
                  let t = read(folder.appendingPathComponent(stem + ".csv")) else { continue }   // its rows show as missing
            if let first = manifest, first.data != m {
                throw ToolError("shards \(first.shard)/\(n) and \(i)/\(n) of \(path) were run with different arguments (\(differingFlag(first.data, m)) in \(stem).json); rerun shard \(i)/\(n) with the arguments of the others")
            }
            manifest = manifest ?? (m, i)
            if let first = plan, first.text != planText {
                throw ToolError("shards \(first.shard)/\(n) and \(i)/\(n) of \(path) plan different rows for \(stem).csv (another version of fortganguli?); rerun shard \(i)/\(n)")
            }
            if plan == nil {
                plan = (planText, i)
                allKeys = planText.split(separator: "\n").map(String.init)
            }
            let text = String(decoding: t, as: UTF8.self)
            var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            if lines.last == "" { lines.removeLast() } else if !lines.isEmpty {
                lines.removeLast()   // a torn last row (a kill mid-write): the shard recomputes it when rerun
            }
            guard let head = lines.first else { continue }
            if let first = header, first.line != head {
                throw ToolError("shards \(first.shard)/\(n) and \(i)/\(n) of \(path) write different headers in \(stem).csv (another version of fortganguli?); rerun shard \(i)/\(n)")
            }
            header = header ?? (head, i)
            let keyColumns = allKeys.first.map { $0.split(separator: ",", omittingEmptySubsequences: false).count } ?? 1
            for line in lines.dropFirst() {
                let key = line.split(separator: ",", omittingEmptySubsequences: false).prefix(keyColumns).joined(separator: ",")
                if rows[key] != nil { duplicates.append(key) } else { rows[key] = (line, i) }
            }
        }
        guard let manifest, let header else {
            throw ToolError("no shard of \(path) has a complete \(stem).csv yet; run the shards (--shard i/\(n)) first")
        }
        let planned = Set(allKeys)
        if let stray = rows.keys.sorted().first(where: { !planned.contains($0) }) {
            throw ToolError("\(path)/shards/\(rows[stray]!.shard)-of-\(n)/\(stem).csv has a row (key \(stray)) that the plan lacks; the shard is damaged: remove its folder and rerun shard \(rows[stray]!.shard)/\(n)")
        }
        var missingByShard: [Int: (count: Int, first: String)] = [:]
        for (r, key) in allKeys.enumerated() where rows[key] == nil {
            let owner = r % n + 1
            if let m = missingByShard[owner] { missingByShard[owner] = (m.count + 1, m.first) } else { missingByShard[owner] = (1, key) }
        }
        if !missingByShard.isEmpty || !duplicates.isEmpty {
            var parts: [String] = []
            if !missingByShard.isEmpty {
                let total = missingByShard.values.reduce(0) { $0 + $1.count }
                let list = missingByShard.sorted { $0.key < $1.key }.prefix(8)
                    .map { "shard \($0.key)/\(n): \($0.value.count), first key \($0.value.first)" }.joined(separator: "; ")
                parts.append("\(total) of \(allKeys.count) rows of \(stem).csv are missing (\(list)\(missingByShard.count > 8 ? "; …" : ""))")
            }
            if !duplicates.isEmpty {
                parts.append("\(duplicates.count) rows are duplicated (first key \(duplicates.sorted()[0]))")
            }
            let action = missingByShard.isEmpty ? "remove the duplicated rows' shard folders and rerun those shards"
                : "rerun the shards named with the same arguments (each resumes), then merge again"
            throw ToolError("\(path): " + parts.joined(separator: " and ") + "; " + action)
        }
        var out = String(header.line) + "\n"
        for key in allKeys { out += rows[key]!.line + "\n" }
        return (stem, manifest.data, Data(out.utf8), allKeys.count)
    }

    /// The first flag whose value differs between two manifests, as `--flag a vs b`.
    private static func differingFlag(_ a: Data, _ b: Data) -> String {
        guard let d = ResumableTable.firstDifference(a, b) else { return "their manifests differ" }
        return "\(d.flag) \(d.old ?? "(none)") vs \(d.new ?? "(none)")"
    }
}
