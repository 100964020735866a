import Foundation
import XCTest

/// Runs the built `fortganguli` binary as a user would and checks its files, errors and resumption.
final class CommandLineTests: ToolTestCase {
    let small = ["--examples", "40", "--dimension", "120", "--classes", "5"]

    /// The tool never runs OpenBLAS's generic Prescott kernels on a CPU with AVX2 and FMA, unless
    /// told to: it sets OPENBLAS_CORETYPE and runs itself again when OpenBLAS's detection falls back.
    func testToolChoosesKernelsForItsCPUUnlessTold() throws {
        func environment(_ r: [String: String] = [:]) -> [String: String] {
            ProcessInfo.processInfo.environment.filter { $0.key != "OPENBLAS_CORETYPE" && $0.key != "FORTGANGULI_CORETYPE_SET" }
                .merging(r) { $1 }
        }
        func runClean(_ arguments: [String], _ extra: [String: String] = [:]) throws -> String {
            let p = Process()
            (p.executableURL, p.arguments, p.environment) = (binary, arguments, environment(extra))
            let out = Pipe()
            p.standardOutput = out
            try p.run()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            XCTAssertEqual(p.terminationStatus, 0)
            return String(decoding: data, as: UTF8.self)
        }
        let flags = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?.split(separator: "\n")
            .first { $0.hasPrefix("flags") }?.split(separator: " ").map(String.init) ?? []
        let report = try runClean(["environment"])
        XCTAssertTrue(report.contains("BLAS: ") && report.contains("openblas"), report)
        let kernels = report.split(separator: "\n").first { $0.hasPrefix("kernels: ") } ?? ""
        if flags.contains("avx2") && flags.contains("fma") {
            XCTAssertFalse(kernels.hasPrefix("kernels: Prescott"), String(kernels))
        }
        let exports = try runClean(["environment", "--exports"])
        XCTAssertEqual(exports.isEmpty, !kernels.contains("set by fortganguli"), exports)
        // A choice in the environment stands, and nothing is exported for it.
        let told = try runClean(["environment"], ["OPENBLAS_CORETYPE": "Prescott"])
        XCTAssertTrue(told.contains("kernels: Prescott (OPENBLAS_CORETYPE=Prescott, from the environment)"), told)
        XCTAssertEqual(try runClean(["environment", "--exports"], ["OPENBLAS_CORETYPE": "Prescott"]), "")
    }

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
            ["simulate", "--sigma-d", "-1"], ["simulate", "--sigma-s", "nan"], ["simulate", "--hessian", "full", "--theory"],
            ["simulate", "--hyperplanes", "0"], ["sweep", "--sigma-d", "-0.5"],
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
        XCTAssertTrue(other.stderr.contains("was made with --"), other.stderr)   // names the first argument that differs
    }

    /// The class-conditional model through the command line: σ_d > 0 makes a cross-class cloud over
    /// C outliers, its Gram in the --gram format, and the issue's self-consistency check — the model's
    /// own Gram fed to `compare --gram` gives back its σ's and every verdict of the class-conditional
    /// and semi-empirical models says "agree".
    func testClassConditionalModelThroughCompare() throws {
        let dir = try temporaryFolder()
        let out = dir.appendingPathComponent("cc").path
        let truth = ["--examples", "100", "--classes", "5", "--dimension", "1e6", "--sigma-z", "3", "--accuracy", "0.8",
                     "--sigma-c", "1", "--sigma-d", "0.7", "--sigma-s", "0.8", "--sigma-e", "1.2", "--hessian", "full", "--seed", "100"]
        let r = try run(["simulate"] + truth + ["--write-gram", "--output", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        let s = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/summary.json"))) as! [String: Any]
        for key in ["ggn_bulk_edge", "ggn_outliers", "ggn_within_top", "ggn_class_top", "ggn_cross_top", "outlier_levels",
                    "largest_gap_index", "sigma_d", "sigma_s"] {
            XCTAssertNotNil(s[key], key)
        }
        XCTAssertEqual(s["outliers"] as? Int, s["ggn_outliers"] as? Int, "eq. 10 counts its outliers by its Gram's class structure")
        XCTAssertGreaterThan(s["ggn_outliers"] as! Int, 5, "σ_d > 0 adds a cross-class cloud to the C outliers")
        for file in ["gram.npy", "logits.npy", "labels.npy", "meta.json", "ggn_cross_spectrum.npy", "overlap_ggn.csv"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/" + file), file)
        }
        let compared = dir.appendingPathComponent("compare").path
        let c = try run(["compare", "--gram", out, "--top-k", "5", "--model-seeds", "5", "--hyperplanes", "1", "--output", compared])
        XCTAssertEqual(c.status, 0, c.stderr)
        let cj = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: compared + "/compare.json"))) as! [String: Any]
        let calibrations = cj["calibrations"] as! [[String: Any]]
        let conditional = calibrations.first { $0["model"] as? String == "class-conditional" }!
        // At D = 10⁶ the moment estimates scatter by ~0.1% between draws (SelfConsistencyTests); 2% is far outside that.
        // σ_z from N·(C − 1) = 400 degrees of freedom has relative standard error 1/√800 = 3.5%: 3 of them.
        for (key, value) in [("sigma_c", 1.0), ("sigma_d", 0.7), ("sigma_s", 0.8), ("sigma_e", 1.2), ("sigma_z", 3.0)] {
            XCTAssertEqual(conditional[key] as! Double, value, accuracy: (key == "sigma_z" ? 3 / 800.0.squareRoot() : 0.02) * value, key)
        }
        for row in cj["statistics"] as! [[String: Any]] where row["note"] == nil {
            for model in ["class-conditional", "semi-empirical"] {
                XCTAssertEqual((row[model] as! [String: Any])["verdict"] as? String, "agree", "\(model): \(row["statistic"]!)")
            }
        }
    }
}

