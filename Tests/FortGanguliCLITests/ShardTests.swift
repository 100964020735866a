import Foundation
import XCTest

/// `--shard i/n` and `merge`: the shards of a grid together are the unsharded run, byte for byte;
/// merge refuses shards that disagree, and missing or duplicated rows, in one line without output.
final class ShardTests: ToolTestCase {
    let phase = ["phase", "--examples", "40", "--classes", "4", "--dimension", "1000", "--sigma-z-points", "3", "--snr-points", "2", "--seeds", "2"]
    let sweep = ["sweep", "--examples", "40", "--classes", "4", "--dimension", "1000", "--points", "5", "--seeds", "1"]

    func read(_ url: URL) -> Data { (try? Data(contentsOf: url)) ?? Data() }

    func testShardedPhaseAndSweepMergeToTheUnshardedBytes() throws {
        let dir = try temporaryFolder()
        for (grid, table) in [(phase, "phase"), (sweep, "sweep")] {
            let whole = dir.appendingPathComponent("\(table)-whole"), sharded = dir.appendingPathComponent("\(table)-sharded")
            XCTAssertEqual(try run(grid + ["--output", whole.path]).status, 0)
            // 3 shards of 12 or 5 rows: uneven shares, one shard with fewer rows.
            for i in 1...3 { XCTAssertEqual(try run(grid + ["--output", sharded.path, "--shard", "\(i)/3"]).status, 0) }
            let plan = read(sharded.appendingPathComponent("shards/1-of-3/\(table).plan"))
            XCTAssertEqual(String(decoding: plan, as: UTF8.self).split(separator: "\n").count, table == "phase" ? 12 : 5)
            let merged = try run(["merge", sharded.path])
            XCTAssertEqual(merged.status, 0, merged.stderr)
            XCTAssertEqual(read(sharded.appendingPathComponent("\(table).csv")), read(whole.appendingPathComponent("\(table).csv")), table)
            XCTAssertEqual(read(sharded.appendingPathComponent("\(table).json")), read(whole.appendingPathComponent("\(table).json")), table)
            // The merged folder is the grid's own: an unsharded rerun finds every row done.
            let rerun = try run(grid + ["--output", sharded.path])
            XCTAssertEqual(rerun.status, 0, rerun.stderr)
            XCTAssertEqual(read(sharded.appendingPathComponent("\(table).csv")), read(whole.appendingPathComponent("\(table).csv")))
        }
    }

    /// jamming's shards share OUTPUT/runs/; after merge the unsharded rerun writes summary.json from
    /// every run. Its table equals the unsharded one except the wall-clock `seconds` column.
    func testShardedJammingMergesAndSummarises() throws {
        let dir = try temporaryFolder()
        let grid = ["jamming", "--data", "random", "--input-dimension", "4", "--width", "4", "--depth", "2", "--r-min", "1",
                    "--r-max", "3", "--points", "3", "--seeds", "1", "--steps", "200"]
        let whole = dir.appendingPathComponent("whole"), sharded = dir.appendingPathComponent("sharded")
        XCTAssertEqual(try run(grid + ["--output", whole.path]).status, 0)
        for i in 1...2 { XCTAssertEqual(try run(grid + ["--output", sharded.path, "--shard", "\(i)/2"]).status, 0) }
        XCTAssertFalse(FileManager.default.fileExists(atPath: sharded.appendingPathComponent("summary.json").path), "a shard writes no summary")
        XCTAssertEqual(try run(["merge", sharded.path]).status, 0)
        let rerun = try run(grid + ["--output", sharded.path])
        XCTAssertEqual(rerun.status, 0, rerun.stderr)
        func withoutSeconds(_ url: URL) -> [String] {
            String(decoding: read(url), as: UTF8.self).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).dropLast().joined(separator: ",") }
        }
        XCTAssertEqual(withoutSeconds(sharded.appendingPathComponent("jamming.csv")), withoutSeconds(whole.appendingPathComponent("jamming.csv")))
        for point in 0..<3 {
            let model = "runs/point-00\(point)-seed-0/model.safetensors"
            XCTAssertEqual(read(sharded.appendingPathComponent(model)), read(whole.appendingPathComponent(model)), model)
        }
        XCTAssertEqual(read(sharded.appendingPathComponent("summary.json")), read(whole.appendingPathComponent("summary.json")))
    }

    func testMergeRefusesMissingDuplicatedAndDisagreeingShards() throws {
        let dir = try temporaryFolder().appendingPathComponent("grid")
        for i in [1, 2] { XCTAssertEqual(try run(phase + ["--output", dir.path, "--shard", "\(i)/3"]).status, 0) }
        // Shard 3 never ran: its 4 rows are missing.
        var r = try run(["merge", dir.path])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("4 of 12 rows of phase.csv are missing (shard 3/3: 4"), r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("phase.csv").path), "no partial output")
        // Shard 3 with another argument: refused, naming the flag.
        r = try run(phase.map { $0 == "2" ? "3" : $0 } + ["--output", dir.path, "--shard", "3/3"])
        XCTAssertEqual(r.status, 0)
        r = try run(["merge", dir.path])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("different arguments"), r.stderr)
        XCTAssertTrue(r.stderr.contains("--seeds 2 vs 3"), r.stderr)
        try FileManager.default.removeItem(at: dir.appendingPathComponent("shards/3-of-3"))
        XCTAssertEqual(try run(phase + ["--output", dir.path, "--shard", "3/3"]).status, 0)
        // A row copied into another shard's table: duplicated.
        let one = dir.appendingPathComponent("shards/1-of-3/phase.csv"), two = dir.appendingPathComponent("shards/2-of-3/phase.csv")
        let stolen = String(decoding: read(two), as: UTF8.self).split(separator: "\n")[1]
        try (String(decoding: read(one), as: UTF8.self) + stolen + "\n").write(to: one, atomically: true, encoding: .utf8)
        r = try run(["merge", dir.path])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("1 rows are duplicated"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("phase.csv").path))
        // Shards of two splits.
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("shards/1-of-2"), withIntermediateDirectories: true)
        r = try run(["merge", dir.path])
        XCTAssertTrue(r.stderr.contains("holds shards of 2 and of 3"), r.stderr)
    }

    func testBadShardIsOneLineBeforeAnyOutput() throws {
        let dir = try temporaryFolder().appendingPathComponent("out")
        for (bad, says) in [("0/4", "numbered 1 to 4"), ("5/4", "numbered 1 to 4"), ("1/0", "give 1 to"), ("x", "give i/n"), ("1/2/3", "give i/n")] {
            let r = try run(phase + ["--output", dir.path, "--shard", bad])
            XCTAssertEqual(r.status, 1, bad)
            XCTAssertTrue(r.stderr.contains("--shard") && r.stderr.contains(says), "\(bad): \(r.stderr)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1)
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir.path), "\(bad) left output")
        }
        let r = try run(["merge", dir.path])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("has no shards"), r.stderr)
    }
}
