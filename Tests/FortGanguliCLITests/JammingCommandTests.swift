import Foundation
import XCTest

/// `jamming` and `jamming-spectrum` end to end on tiny networks: the table and its run folders,
/// resumption, bit-for-bit reproducibility, the summary, the spectra of a run (random data and the
/// Fashion-MNIST fixture, rebuilt from the checkpoint alone), and bad input refused in one line
/// with no output left.
final class JammingCommandTests: ToolTestCase {
    /// d = 6, h = 8, L = 2: D = 137, N = 121; P = 36, 200, 363.
    let grid = ["jamming", "--input-dimension", "6", "--width", "8", "--depth", "2", "--r-min", "0.3", "--r-max", "3", "--points", "3",
                "--seeds", "2", "--steps", "300", "--learning-rate", "0.03"]
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures/fashion-mnist-small").path

    func rows(_ url: URL) throws -> [[String]] {
        try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
    }

    func json(_ url: URL) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    }

    /// The float64 values of a 1-D .npy file written by the tool (header padded to 64 bytes).
    func npy(_ url: URL) throws -> [Double] {
        let bytes = [UInt8](try Data(contentsOf: url))
        let header = Int(bytes[8]) | Int(bytes[9]) << 8
        let start = 10 + header
        return stride(from: start, to: bytes.count, by: 8).map { o in
            Double(bitPattern: bytes[o..<(o + 8)].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * $1.offset) })
        }
    }

    func testJammingGridResumesReproducesAndSummarises() throws {
        let dir = try temporaryFolder().appendingPathComponent("j")
        var r = try run(grid + ["--output", dir.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("6 runs"), r.stdout)
        let table = try rows(dir.appendingPathComponent("jamming.csv"))
        XCTAssertEqual(table[0], ["point", "seed", "r", "examples", "parameters", "parameters_total", "n_delta", "n_delta_over_n", "loss",
                                  "misclassified", "steps", "fitted", "diverged", "seconds"])
        XCTAssertEqual(table.count, 7)
        XCTAssertEqual(table.dropFirst().map { $0[3] }, ["36", "36", "200", "200", "363", "363"])
        for row in table.dropFirst() {
            XCTAssertEqual(row[4], "121")
            XCTAssertEqual(row[5], "137")
            let (p, nDelta, loss, steps) = (Int(row[3])!, Int(row[6])!, Double(row[8])!, Int(row[10])!)
            XCTAssertEqual(Double(row[2])!, Double(p) / 121, accuracy: 1e-12)
            XCTAssertEqual(Double(row[7])!, Double(nDelta) / 121, accuracy: 1e-12)
            XCTAssertEqual(row[11] == "1", nDelta == 0, "fitted ⟺ N_Δ = 0")
            XCTAssertEqual(nDelta == 0, loss == 0)
            XCTAssertTrue(row[11] == "1" ? steps <= 300 : steps == 300, row.joined(separator: ","))
            let runFolder = dir.appendingPathComponent("runs/point-00\(row[0])-seed-\(row[1])")
            let deltas = try npy(runFolder.appendingPathComponent("delta.npy"))
            XCTAssertEqual(deltas.count, p)
            XCTAssertEqual(deltas.filter { $0 > 0 }.count, nDelta)
            XCTAssertEqual(deltas.reduce(0) { $0 + 0.5 * max(0, $1) * max(0, $1) } / Double(p), loss, accuracy: 1e-12 * max(loss, 1e-300))
            let history = try rows(runFolder.appendingPathComponent("history.csv"))
            XCTAssertEqual(history[0], ["step", "n_delta", "loss"])
            XCTAssertEqual(history.last?[0], String(steps))
            XCTAssertTrue(FileManager.default.fileExists(atPath: runFolder.appendingPathComponent("model.safetensors").path))
        }
        XCTAssertEqual(table[1][11], "1", "36 patterns for 121 parameters are fitted")
        XCTAssertEqual(table[6][11], "0", "363 are not")
        let summary = try json(dir.appendingPathComponent("summary.json"))
        XCTAssertEqual(summary["parameters"] as? Int, 121)
        XCTAssertEqual(summary["runs"] as? Int, 6)
        XCTAssertEqual(summary["steps"] as? Int, 300)
        for key in ["r_c", "r_c_resolution", "r_all_fitted", "r_none_fitted", "n_delta_over_n_jump", "theta", "gamma", "spectrum_checkpoint",
                    "fitted_fraction", "transition_runs"] {
            XCTAssertNotNil(summary[key], key)
        }
        XCTAssertEqual(try XCTUnwrap(summary["r_all_fitted"] as? Double), 36.0 / 121, accuracy: 1e-15)
        XCTAssertEqual(try XCTUnwrap(summary["r_none_fitted"] as? Double), 200.0 / 121, accuracy: 1e-15)

        // A rerun resumes with nothing left to do; a run cut short recomputes its missing rows bit for bit.
        let text = try String(contentsOf: dir.appendingPathComponent("jamming.csv"), encoding: .utf8)
        r = try run(grid + ["--output", dir.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try String(contentsOf: dir.appendingPathComponent("jamming.csv"), encoding: .utf8), text)
        let lines = text.split(separator: "\n")
        let model = dir.appendingPathComponent("runs/point-002-seed-1/model.safetensors")
        let before = try Data(contentsOf: model)
        try (lines.dropLast(2).joined(separator: "\n") + "\n").write(to: dir.appendingPathComponent("jamming.csv"), atomically: true, encoding: .utf8)
        r = try run(grid + ["--output", dir.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("resuming, 4 of 6"), r.stderr)
        func withoutSeconds(_ t: [[String]]) -> [[String]] { t.map { Array($0.dropLast()) } }
        XCTAssertEqual(withoutSeconds(try rows(dir.appendingPathComponent("jamming.csv"))), withoutSeconds(table))
        XCTAssertEqual(try Data(contentsOf: model), before, "the recomputed run is the same bit for bit")
        // Another seed list is another table.
        r = try run(grid.map { $0 == "300" ? "301" : $0 } + ["--output", dir.path])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("--steps"), r.stderr)
    }

    func testSpectrumOfARunRebuildsItsDataFromTheCheckpoint() throws {
        let dir = try temporaryFolder()
        let j = dir.appendingPathComponent("j")
        var r = try run(grid + ["--output", j.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let checkpoint = j.appendingPathComponent("runs/point-002-seed-0/model.safetensors").path
        let s = dir.appendingPathComponent("s")
        r = try run(["jamming-spectrum", "--checkpoint", checkpoint, "--output", s.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let summary = try json(s.appendingPathComponent("summary.json"))
        let row = try rows(j.appendingPathComponent("jamming.csv"))[5]
        XCTAssertEqual(summary["examples"] as? Int, 363)
        XCTAssertEqual(summary["parameters"] as? Int, 121)
        XCTAssertEqual(summary["parameters_total"] as? Int, 137)
        XCTAssertEqual(summary["n_delta"] as? Int, Int(row[6]), "the training set is rebuilt exactly")
        // (Foundation's JSON parser may round the last digit differently from Double("…").)
        XCTAssertEqual(try XCTUnwrap(summary["loss"] as? Double), Double(row[8])!, accuracy: 1e-15 * Double(row[8])!)
        let rank = try XCTUnwrap(summary["h0_rank"] as? Int)
        XCTAssertEqual(summary["h0_zero_modes"] as? Int, 137 - rank)
        XCTAssertEqual(summary["h0_zero_modes_effective"] as? Int, 121 - rank)
        XCTAssertLessThanOrEqual(try XCTUnwrap(summary["parameters_effective"] as? Int), 121)
        for name in ["h0.npy", "hp.npy", "h.npy"] {
            let values = try npy(s.appendingPathComponent(name))
            XCTAssertEqual(values.count, 137, name)
            XCTAssertEqual(values, values.sorted(by: >), "\(name) descending")
        }
        let h0 = try npy(s.appendingPathComponent("h0.npy"))
        XCTAssertEqual(h0.filter { $0 > (summary["h0_zero_threshold"] as! Double) }.count, rank)
        XCTAssertEqual(try npy(s.appendingPathComponent("delta.npy")), try npy(j.appendingPathComponent("runs/point-002-seed-0/delta.npy")))
        XCTAssertEqual(try npy(s.appendingPathComponent("patterns.npy")).count, 363 * 6)
        let labels = try npy(s.appendingPathComponent("labels.npy"))
        XCTAssertEqual(labels.count, 363)
        XCTAssertTrue(labels.allSatisfy { $0 == 1 || $0 == -1 })
        XCTAssertEqual(labels.filter { $0 == 1 }.count, 363 - 363 / 2, "balanced labels")
        // The checkpoint's data kind is enforced.
        r = try run(["jamming-spectrum", "--checkpoint", checkpoint, "--data", "fashion-mnist-pca", "--output", dir.appendingPathComponent("x").path])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("--data"), r.stderr)
    }

    func testFashionMNISTPCAFromTheFixture() throws {
        let dir = try temporaryFolder()
        let j = dir.appendingPathComponent("j")
        var r = try run(["jamming", "--data", "fashion-mnist-pca:" + JammingCommandTests.fixture, "--input-dimension", "5", "--width", "6",
                         "--r-min", "0.5", "--r-max", "2", "--points", "2", "--seeds", "1", "--steps", "200", "--output", j.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try rows(j.appendingPathComponent("jamming.csv")).count, 3)
        let checkpoint = j.appendingPathComponent("runs/point-001-seed-0/model.safetensors").path
        // --data fashion-mnist-pca alone: the image folder comes from the checkpoint.
        for (name, extra) in [("a", []), ("b", ["--data", "fashion-mnist-pca"])] {
            r = try run(["jamming-spectrum", "--checkpoint", checkpoint, "--output", dir.appendingPathComponent(name).path] + extra)
            XCTAssertEqual(r.status, 0, r.stderr)
            let summary = try json(dir.appendingPathComponent(name).appendingPathComponent("summary.json"))
            XCTAssertEqual(summary["data"] as? String, "fashion-mnist-pca")
            XCTAssertEqual(summary["data_source"] as? String, JammingCommandTests.fixture)
        }
    }

    func testBadInputFailsInOneLineAndLeavesNoOutput() throws {
        let dir = try temporaryFolder()
        let crossEntropy = dir.appendingPathComponent("ce").path
        var r = try run(["train", "--data", "sphere", "--widths", "784,4,10", "--steps", "1", "--checkpoints", "2", "--batch-size", "8",
                         "--eval-examples", "10", "--output", crossEntropy])
        XCTAssertEqual(r.status, 0, r.stderr)
        let hinge = dir.appendingPathComponent("hinge").path
        r = try run(["train", "--data", "sphere", "--class-subset", "0,1", "--loss", "hinge", "--widths", "784,4,1", "--steps", "1",
                     "--checkpoints", "2", "--batch-size", "8", "--eval-examples", "10", "--output", hinge])
        XCTAssertEqual(r.status, 0, r.stderr)
        let j = dir.appendingPathComponent("j").path
        r = try run(grid.map { $0 == "300" ? "5" : $0 } + ["--output", j])
        XCTAssertEqual(r.status, 0, r.stderr)
        let good = j + "/runs/point-000-seed-0/model.safetensors"
        let jamming = ["jamming", "--input-dimension", "4", "--width", "5", "--points", "2", "--seeds", "1", "--steps", "5"]
        let spectrum = ["jamming-spectrum", "--checkpoint"]
        let fashion = "fashion-mnist-pca:" + JammingCommandTests.fixture
        let cases: [([String], String)] = [
            (jamming + ["--margin", "0"], "--margin"),
            (jamming + ["--margin", "-0.5"], "--margin"),
            (jamming + ["--margin", "nan"], "--margin"),
            (jamming + ["--input-dimension", "0"], "--input-dimension"),
            (jamming + ["--width", "0"], "--width"),
            (jamming + ["--depth", "0"], "--depth"),
            (jamming + ["--r-min", "0.001", "--r-max", "1"], "--r-min"),        // P = round(0.001·N) = 0 < 1
            (jamming + ["--r-min", "0"], "--r-min"),
            (jamming + ["--r-min", "3", "--r-max", "1"], "empty"),
            (jamming + ["--r-max", "inf"], "--r-max"),
            (jamming + ["--steps", "0"], "--steps"),
            (jamming + ["--steps", "-1"], "--steps"),
            (jamming + ["--points", "0"], "--points"),
            (jamming + ["--seeds", "0"], "--seeds"),
            (jamming + ["--learning-rate", "0"], "--learning-rate"),
            (jamming + ["--decays", "-1"], "--decays"),
            (jamming + ["--data", "mnist"], "--data"),
            (jamming + ["--data", "fashion-mnist-pca:" + dir.appendingPathComponent("nowhere").path], "not found"),
            (jamming + ["--data", fashion, "--input-dimension", "785"], "--input-dimension"),
            (jamming + ["--data", fashion, "--r-max", "100"], "--r-max"),     // more patterns than the 300 images
            (jamming + ["--width", "100000", "--depth", "100"], "--r-max, --width or --depth"),   // memory
            (spectrum + [crossEntropy + "/step-000001.safetensors"], "one-output hinge"),         // a multi-class checkpoint
            (spectrum + [hinge + "/step-000001.safetensors"], "no jamming training set"),
            (spectrum + [dir.appendingPathComponent("missing.safetensors").path], "does not exist"),
            (spectrum + [good, "--data", "fashion-mnist-pca"], "--data"),
            (spectrum + [good, "--data", "cifar10"], "--data"),
            (spectrum + [good, "--directions", "-1"], "--directions"),
        ]
        for (index, (arguments, expected)) in cases.enumerated() {
            let out = dir.appendingPathComponent("out-\(index)")
            let r = try run(arguments + ["--output", out.path])
            let label = arguments.suffix(4).joined(separator: " ")
            XCTAssertNotEqual(r.status, 0, label)
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "\(label): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(expected), "\(label): \(r.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: out.path), "\(label) left \(out.path)")
        }
    }
}
