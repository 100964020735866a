import Foundation
import XCTest

/// Runs the built `fortganguli` binary as a user would and checks its files, errors and resumption.
final class CommandLineTests: ToolTestCase {
    let small = ["--examples", "40", "--dimension", "120", "--classes", "5"]

    func testSameSeedGivesIdenticalFiles() throws {
        let dir = try temporaryFolder()
        let a = dir.appendingPathComponent("a").path, b = dir.appendingPathComponent("b").path
        XCTAssertEqual(try run(["simulate"] + small + ["--seed", "3", "--output", a]).status, 0)
        XCTAssertEqual(try run(["simulate"] + small + ["--seed", "3", "--output", b]).status, 0)
        for name in ["spectrum.npy", "overlap.csv"] {
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: a + "/" + name)),
                           try Data(contentsOf: URL(fileURLWithPath: b + "/" + name)), name)
        }
        func withoutTiming(_ path: String) throws -> String {
            try String(contentsOfFile: path + "/summary.json", encoding: .utf8)
                .split(separator: "\n").filter { !$0.contains("\"seconds\"") }.joined(separator: "\n")
        }
        XCTAssertEqual(try withoutTiming(a), try withoutTiming(b))
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: a + "/summary.json"))) as! [String: Any]
        for key in ["examples", "classes", "dimension", "sigma_z", "sigma_c", "sigma_e", "seed", "hessian", "mean_max_prob",
                    "mean_entropy_bits", "q_slsc", "q_sl", "q_dl", "eigenvalues_top", "bulk_edge", "outliers",
                    "gradient_power_top_k", "trace", "spectral_norm", "trace_over_norm", "trace_over_norm_hyperplane", "seconds"] {
            XCTAssertNotNil(summary[key], key)
        }
        XCTAssertEqual((summary["eigenvalues_top"] as! [Double]).count, 10)
        // spectrum.npy: 128-byte header then D little-endian doubles.
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: a + "/spectrum.npy")).count, 128 + 8 * 120)
    }

    /// Each bad input: non-zero exit, one line on standard error, and no output folder left behind.
    func testBadInputFailsInOneLineWithoutOutput() throws {
        let dir = try temporaryFolder()
        let out = dir.appendingPathComponent("out").path
        let cases: [[String]] = [
            ["simulate", "--sigma-z", "-1"], ["simulate", "--sigma-c", "-0.5"], ["simulate", "--classes", "1"],
            ["simulate", "--examples", "1"], ["simulate", "--accuracy", "1.5"], ["simulate", "--accuracy", "-0.1"],
            ["simulate", "--dimension", "300000", "--mode", "dense"], ["simulate", "--examples", "100000", "--mode", "gram"],
            ["simulate", "--dimension", "0"], ["simulate", "--sigma-e", "nan"],
            ["sweep", "--points", "0"], ["sweep", "--sigma-z-min", "0"], ["sweep", "--sigma-z-min", "10", "--sigma-z-max", "1"],
            ["sweep", "--growth", "quadratic"], ["sweep", "--seeds", "0"], ["sweep", "--sigma-z-max", "nan"],
            ["phase", "--snr-points", "0"], ["phase", "--snr-min", "-1"], ["phase", "--sigma-z-min", "nan"],
            ["phase", "--dimension", "0"], ["theory", "--sigma-c", "nan"], ["theory", "--limit-examples", "10"],
            ["simulate", "--mode", "gram", "--examples", "100000"],
        ]
        for c in cases {
            let r = try run(c + ["--output", out])
            XCTAssertNotEqual(r.status, 0, "\(c)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "\(c): \(r.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: out), "\(c) left \(out)")
        }
        let file = dir.appendingPathComponent("a-file")
        try Data("x".utf8).write(to: file)
        for command in ["simulate", "sweep"] {
            let r = try run([command] + small + ["--output", file.path + "/sub"])
            XCTAssertNotEqual(r.status, 0)
            XCTAssertTrue(r.stderr.contains("is a file"), r.stderr)
        }
    }

    /// Gram mode at D = 10¹² with the theory beside it, and the phase diagram's table.
    func testGramTheoryAndPhase() throws {
        let dir = try temporaryFolder()
        let out = dir.appendingPathComponent("g").path
        let r = try run(["simulate", "--examples", "30", "--classes", "5", "--dimension", "1e12", "--theory", "--output", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        let s = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/summary.json"))) as! [String: Any]
        XCTAssertEqual(s["mode"] as? String, "gram")
        XCTAssertEqual(s["dimension"] as? Int, 1_000_000_000_000)
        XCTAssertEqual((s["zero_eigenvalues"] as! Int) + (s["eigenvalues_top"] as! [Double]).count, 1_000_000_000_000 - 124 + 10)
        for key in ["theory_bulk_edge", "theory_outliers", "theory_eigenvalues_top"] { XCTAssertNotNil(s[key], key) }
        let phase = dir.appendingPathComponent("p").path
        let p = try run(["phase", "--examples", "20", "--classes", "4", "--dimension", "500", "--sigma-z-points", "2",
                         "--snr-points", "3", "--output", phase])
        XCTAssertEqual(p.status, 0, p.stderr)
        let rows = try String(contentsOfFile: phase + "/phase.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(rows.count, 1 + 6)
        XCTAssertTrue(rows[0].hasPrefix("sigma_z_point,snr_point,seed,sigma_z,snr"))
        let theory = dir.appendingPathComponent("t").path
        XCTAssertEqual(try run(["theory", "--output", theory]).status, 0)
        XCTAssertTrue(FileManager.default.fileExists(atPath: theory + "/density.csv"))
    }

    /// An interrupted sweep (torn last row) resumes to exactly the file an uninterrupted run writes;
    /// a rerun with other arguments is refused.
    func testSweepResumes() throws {
        let dir = try temporaryFolder()
        let args = ["sweep"] + small + ["--points", "3", "--seeds", "2", "--sigma-z-min", "0.1", "--sigma-z-max", "10",
                                        "--growth", "power:0.25", "--output"]
        let full = dir.appendingPathComponent("full").path, cut = dir.appendingPathComponent("cut").path
        XCTAssertEqual(try run(args + [full]).status, 0)
        let complete = try String(contentsOfFile: full + "/sweep.csv", encoding: .utf8)
        let lines = complete.split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(lines.count, 1 + 6 + 1)  // header, 3 points × 2 seeds, final newline
        XCTAssertEqual(try run(args + [cut]).status, 0)
        // Simulate a kill mid-write: keep the header, two rows and half of the third.
        let torn = lines[0...2].joined(separator: "\n") + "\n" + lines[3].prefix(10)
        try torn.write(toFile: cut + "/sweep.csv", atomically: true, encoding: .utf8)
        let r = try run(args + [cut])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try String(contentsOfFile: cut + "/sweep.csv", encoding: .utf8), complete)
        let other = try run(["sweep"] + small + ["--points", "4", "--output", cut])
        XCTAssertNotEqual(other.status, 0)
        XCTAssertTrue(other.stderr.contains("other arguments"), other.stderr)
    }
}
