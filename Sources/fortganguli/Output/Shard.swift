import ArgumentParser
import Foundation

/// One of n shards of a grid command's rows (`--shard i/n`), for spreading a grid over a cluster
/// (a Slurm job array: `SLURM_ARRAY_TASK_ID` → i; see scripts/slurm/grid.sbatch).
///
/// Rows are dealt round-robin in the grid's own order (row r goes to shard r mod n + 1), so every
/// shard gets a share of cheap and dear rows. Each row keeps the seed it has in the unsharded run,
/// so the shards together compute exactly the unsharded rows. Shard i writes into its own output
/// folder `DIR/shards/i-of-n/` (its own lock, record and recovery, so shards never wait for or
/// clean up after each other), with the unsharded run's manifest and a plan (`<stem>.plan`: every
/// row's key, in the unsharded order). `fortganguli merge DIR` checks that the shards agree and
/// writes the tables of the unsharded run into DIR, byte for byte.
struct Shard: Equatable, CustomStringConvertible {
    /// 1-based.
    let index: Int
    let count: Int

    /// The most shards a grid may be split into (a job array of this many tasks is already large).
    static let maximumCount = 100_000

    /// Parses "i/n" (1 ≤ i ≤ n), naming `--shard` in the error.
    init(parsing text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]) else {
            throw ToolError("--shard is \(text); give i/n, e.g. --shard 2/4 for the second of 4 shards")
        }
        guard n >= 1 && n <= Shard.maximumCount else {
            throw ToolError("--shard \(text) splits the grid into \(n) shards; give 1 to \(Shard.maximumCount)")
        }
        guard i >= 1 && i <= n else {
            throw ToolError("--shard \(text) names shard \(i) of \(n); shards are numbered 1 to \(n) (with Slurm: --array=1-\(n))")
        }
        index = i
        count = n
    }

    init(index: Int, count: Int) {
        self.index = index
        self.count = count
    }

    var description: String { "\(index)/\(count)" }

    /// The folder of this shard's results inside the grid's output folder.
    func folder(_ output: String) -> String {
        URL(fileURLWithPath: output).appendingPathComponent(Shard.subfolder).appendingPathComponent(name).path
    }

    /// `i-of-n`, the shard's folder name.
    var name: String { "\(index)-of-\(count)" }

    /// Whether row `row` (0-based, in the unsharded order) is this shard's.
    func owns(row: Int) -> Bool { row % count == index - 1 }

    /// How many of a grid's `total` rows are this shard's.
    func share(of total: Int) -> Int { total / count + (total % count >= index ? 1 : 0) }

    /// "12" for the whole grid of 12 rows, "shard 2/4: 3" for one shard of it (a command's last line).
    static func rows(_ shard: Shard?, of total: Int) -> String { shard.map { "shard \($0): \($0.share(of: total))" } ?? String(total) }

    /// Where the shards of `DIR` live: `DIR/shards/`.
    static let subfolder = "shards"

    /// Reads a shard folder's name `i-of-n`.
    init?(folderName: String) {
        let parts = folderName.split(separator: "-")
        guard parts.count == 3, parts[1] == "of", let i = Int(parts[0]), let n = Int(parts[2]), n >= 1, i >= 1, i <= n,
              folderName == "\(i)-of-\(n)" else { return nil }
        (index, count) = (i, n)
    }
}

/// `--shard i/n` on every grid command.
struct ShardOptions: ParsableArguments {
    @Option(help: "Compute only shard i of n of the grid's rows (i = 1…n, rows dealt round-robin, seeds as unsharded) into OUTPUT/shards/i-of-n/; `fortganguli merge OUTPUT` joins the shards.")
    var shard: String?

    /// The shard, or nil for the whole grid.
    func resolve() throws -> Shard? { try shard.map { try Shard(parsing: $0) } }
}

extension ResumableTable {
    /// The plan of a sharded table: the key of every row of the whole grid, in the unsharded order,
    /// one per line (key columns joined by commas). Written once by each shard (atomically), and
    /// compared by `merge`, which uses it to order the merged rows and to name missing ones.
    static func planName(_ tableName: String) -> String { (tableName as NSString).deletingPathExtension + ".plan" }

    /// Writes (or checks) this shard's plan for `keys`.
    func writePlan(_ keys: [[String]]) throws {
        let planURL = url.deletingLastPathComponent().appendingPathComponent(ResumableTable.planName(url.lastPathComponent))
        let text = keys.map { $0.joined(separator: ",") + "\n" }.joined()
        if let old = try? String(contentsOf: planURL, encoding: .utf8), old == text { return }
        try AtomicFile.write(Data(text.utf8), to: planURL)
    }
}
