import Foundation
import XCTest

/// `goldilocks` (restricted curvature versus r, --train) and `subspace-train` end to end on tiny
/// networks, resumption, and bad input refused in one line with no output left.
final class GoldilocksCommandTests: ToolTestCase {
    let tiny = ["--data", "sphere", "--widths", "784,8,10", "--per-class", "2"]

    func rows(_ url: URL) throws -> [[String]] {
        try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
    }

    func testGoldilocksTableResumesAndTrains() throws {
        let dir = try temporaryFolder().appendingPathComponent("g")
        let args = ["goldilocks"] + tiny + ["--points", "2", "--dimensions", "2,4", "--hyperplanes", "3", "--output", dir.path]
        var r = try run(args)
        XCTAssertEqual(r.status, 0, r.stderr)
        let table = try rows(dir.appendingPathComponent("goldilocks.csv"))
        XCTAssertEqual(table[0], ["radius_point", "radius", "standard_init_radius", "dimension", "kind", "hyperplanes", "trace_over_norm",
                                  "trace_over_norm_se", "positive_fraction", "positive_fraction_se", "trace", "hessian_norm", "logit_std",
                                  "mean_max_prob"])
        XCTAssertEqual(table.count, 1 + 2 * (1 + 2 * 2))
        XCTAssertEqual(Set(table.dropFirst().map { $0[4] }), ["full", "hyperplane", "sphere"])
        XCTAssertEqual(Set(table.dropFirst().map { $0[1] }), ["1.0", "100.0"])
        for row in table.dropFirst() {
            XCTAssertEqual(row[2], table[1][2], "the standard initialisation's radius is in every row")
            if row[4] == "full" {
                XCTAssertEqual(row[3], "6370")
                XCTAssertEqual(row[5], "0")
            } else {
                XCTAssertEqual(row[5], "3")
                let (ratio, se, positive) = (Double(row[6])!, Double(row[7])!, Double(row[8])!)
                XCTAssertTrue(ratio.isFinite && se >= 0 && positive >= 0 && positive <= 1, row.joined(separator: ","))
            }
        }
        // A rerun resumes with nothing left to do.
        let before = try String(contentsOf: dir.appendingPathComponent("goldilocks.csv"), encoding: .utf8)
        r = try run(args)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try String(contentsOf: dir.appendingPathComponent("goldilocks.csv"), encoding: .utf8), before)
        // Another dimension list is another table.
        r = try run(["goldilocks"] + tiny + ["--points", "2", "--dimensions", "2", "--hyperplanes", "3", "--output", dir.path])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("--dimensions"), r.stderr)

        // --train: the hyperplane-training grid with the full-space baseline, and d_int90.
        let t = try temporaryFolder().appendingPathComponent("t")
        r = try run(["goldilocks"] + tiny + ["--points", "2", "--dimensions", "2", "--hyperplanes", "2", "--train", "--train-dimensions", "5,50",
                                             "--steps", "4", "--batch-size", "16", "--eval-examples", "50", "--output", t.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let trained = try rows(t.appendingPathComponent("goldilocks-train.csv"))
        XCTAssertEqual(trained[0], ["radius_point", "radius", "dimension", "train_accuracy", "test_accuracy", "steps"])
        XCTAssertEqual(trained.dropFirst().map { $0[2] }, ["6370", "5", "50", "6370", "5", "50"])
        XCTAssertTrue(trained.dropFirst().allSatisfy { $0[5] == "4" && Double($0[4])! >= 0 && Double($0[4])! <= 1 })
        let intrinsic = try rows(t.appendingPathComponent("intrinsic.csv"))
        XCTAssertEqual(intrinsic[0], ["radius_point", "radius", "baseline_test_accuracy", "d_int90"])
        XCTAssertEqual(intrinsic.count, 3)
        XCTAssertTrue(intrinsic.dropFirst().allSatisfy { ["5", "50", "nan"].contains($0[3]) })
    }

    func testSubspaceTrain() throws {
        let dir = try temporaryFolder().appendingPathComponent("s")
        let r = try run(["subspace-train", "--data", "sphere", "--widths", "784,8,10", "--dimension", "20", "--radius", "3", "--steps", "5",
                         "--batch-size", "16", "--eval-examples", "50", "--output", dir.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let summary = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("summary.json"))) as? [String: Any])
        XCTAssertEqual(summary["dimension"] as? Int, 20)
        XCTAssertEqual(summary["radius"] as? Double, 3)
        XCTAssertEqual(summary["steps"] as? Int, 5)
        for key in ["train_accuracy", "test_accuracy"] { XCTAssertNotNil(summary[key] as? Double, key) }
    }

    func testBadInputFailsInOneLineAndLeavesNoOutput() throws {
        let dir = try temporaryFolder()
        let goldilocks = ["goldilocks"] + tiny + ["--points", "2", "--dimensions", "2", "--hyperplanes", "2"]
        let subspace = ["subspace-train", "--data", "sphere", "--widths", "784,8,10", "--steps", "2", "--batch-size", "16"]
        let cases: [([String], String)] = [
            (subspace + ["--dimension", "6371"], "--dimension"),
            (subspace + ["--dimension", "0"], "--dimension"),
            (subspace + ["--dimension", "5", "--radius", "0"], "--radius"),
            (subspace + ["--dimension", "5", "--radius", "-2"], "--radius"),
            (subspace + ["--dimension", "5", "--radius", "inf"], "--radius"),
            (subspace + ["--dimension", "5", "--steps", "0"], "--steps"),
            (goldilocks + ["--dimensions", "6370"], "--dimensions"),
            (goldilocks + ["--dimensions", "0"], "--dimensions"),
            (goldilocks + ["--dimensions", "2,ten"], "--dimensions"),
            (goldilocks + ["--dimensions", ""], "--dimensions"),
            (goldilocks + ["--radius-min", "0"], "--radius-min"),
            (goldilocks + ["--radius-min", "-1"], "--radius-min"),
            (goldilocks + ["--radius-max", "nan"], "--radius-max"),
            (goldilocks + ["--radius-min", "10", "--radius-max", "1"], "empty"),
            (goldilocks + ["--points", "0"], "--points"),
            (goldilocks + ["--hyperplanes", "1"], "--hyperplanes"),
            (goldilocks + ["--train", "--train-dimensions", "6370"], "--train-dimensions"),
            (goldilocks + ["--train", "--batch-size", "0"], "--batch-size"),
        ]
        for (index, (arguments, expected)) in cases.enumerated() {
            let out = dir.appendingPathComponent("out-\(index)")
            let r = try run(arguments + ["--output", out.path])
            let label = arguments.suffix(4).joined(separator: " ")
            XCTAssertNotEqual(r.status, 0, label)
            let lines = r.stderr.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, "\(label): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(expected), "\(label): \(r.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: out.path), "\(label) left \(out.path)")
        }
    }
}
