import ArgumentParser
import Foundation

/// `fortganguli merge`: joins the shards of a grid folder into the unsharded tables.
struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Join the shards (DIR/shards/i-of-n/, from --shard i/n) of a grid into DIR's tables, byte for byte the unsharded run's; refuses disagreeing shards, missing or duplicated rows.")

    @Argument(help: "The grid's output folder (the --output of its shards).") var folder: String

    func run() throws {
        let result = try ShardMerge.merge(folder)
        let tables = result.tables.map { "\($0.name) (\($0.rows) rows)" }.joined(separator: ", ")
        print("merge: \(result.shards) shards of `fortganguli \(result.command)` into \(folder): \(tables)")
    }
}
