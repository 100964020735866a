import Foundation
import XCTest

/// `critical`, `embed` and `condense` end to end on the 1-D fitting set: a trained critical point, its
/// embeddings and their checks, the condensation trace and its resumption after a kill, and bad input
/// refused in one line with nothing written.
final class EmbedCommandTests: ToolTestCase {
    static let fixture = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fixtures/fashion-mnist-small")

    func summary(_ folder: URL) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("summary.json"))) as? [String: Any])
    }

    /// A width-1 tanh network at the minimum of the 1-D fitting problem.
    func criticalPoint(in tmp: URL) throws -> URL {
        let dir = tmp.appendingPathComponent("critical")
        let r = try run(["critical", "--data", "fit1d", "--widths", "1,1,1", "--output", dir.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let s = try summary(dir)
        XCTAssertLessThan(try XCTUnwrap(s["gradient_norm"] as? Double), 1e-14)
        XCTAssertEqual(try XCTUnwrap(s["loss_final"] as? Double), 0.0016482272706, accuracy: 1e-12, "the width-1 minimum")
        return dir.appendingPathComponent("critical.safetensors")
    }

    func testEmbeddingsOfACriticalPointAndTheirChecks() throws {
        let tmp = try temporaryFolder()
        let narrow = try criticalPoint(in: tmp)
        let wide = tmp.appendingPathComponent("wide.safetensors")
        var r = try run(["embed", "--checkpoint", narrow.path, "--neuron", "1:0", "--neuron", "1:1", "--alpha", "0.3", "--output", wide.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("1,1,1 → 1,3,1 by 2 splits (1:0@0.3, 1:1@0.3)"), r.stdout)
        let check = tmp.appendingPathComponent("check")
        r = try run(["embed", "--check", narrow.path, "--against", wide.path, "--spectrum", "--output", check.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let s = try summary(check)
        XCTAssertLessThan(try XCTUnwrap(s["max_logit_difference"] as? Double), 1e-14)
        XCTAssertEqual(try XCTUnwrap(s["loss_wide"] as? Double), try XCTUnwrap(s["loss_narrow"] as? Double), accuracy: 1e-16)
        XCTAssertEqual(s["narrow_critical"] as? Bool, true)
        XCTAssertEqual(s["wide_critical"] as? Bool, true)
        XCTAssertEqual(s["embedding_steps"] as? String, "1:0@0.3;1:1@0.3")
        XCTAssertEqual(s["data"] as? String, "fit1d", "the training set is read from the narrow checkpoint")
        let counts = ["negative_narrow", "zero_narrow", "positive_narrow", "negative_wide", "zero_wide", "positive_wide"].map { s[$0] as? Int }
        XCTAssertEqual(counts, [0, 0, 4, 2, 2, 6], "each split adds one zero, one negative and one positive eigenvalue")
        XCTAssertEqual(["predicted_negative_wide", "predicted_zero_wide", "predicted_positive_wide"].map { s[$0] as? Int }, [2, 2, 6])
        XCTAssertTrue(FileManager.default.fileExists(atPath: check.appendingPathComponent("wide_spectrum.npy").path))
        // --to-widths reaches the same network as the same splits; the file is ours, so it may be replaced.
        r = try run(["embed", "--checkpoint", narrow.path, "--to-widths", "1,3,1", "--alpha", "0.3", "--output", wide.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("(1:0@0.3, 1:0@0.3)"), r.stdout)
        // Any pair can be compared; a pair that is not an embedding has no recorded steps (and no prediction).
        let other = tmp.appendingPathComponent("other")
        XCTAssertEqual(try run(["critical", "--widths", "1,2,1", "--steps", "300", "--newton-steps", "0", "--output", other.path]).status, 0)
        r = try run(["embed", "--check", narrow.path, "--against", other.appendingPathComponent("critical.safetensors").path, "--spectrum",
                     "--output", check.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(try summary(check)["embedding_steps"] is NSNull)
        XCTAssertTrue(try summary(check)["predicted_zero_wide"] is NSNull)
        XCTAssertGreaterThan(try XCTUnwrap(summary(check)["max_logit_difference"] as? Double), 1e-6)
    }

    func rows(_ url: URL) throws -> [[String]] {
        try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
    }

    func testCondenseTraceStreamsAndResumesAfterAKill() throws {
        let tmp = try temporaryFolder()
        let args = ["condense", "--data", "fit1d", "--width", "12", "--steps", "3000", "--record-every", "500", "--reduced-steps", "50",
                    "--seed", "2", "--learning-rate", "0.2"]
        let whole = tmp.appendingPathComponent("whole")
        var r = try run(args + ["--output", whole.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let table = try rows(whole.appendingPathComponent("trace.csv"))
        XCTAssertEqual(table[0], ["step", "loss", "gradient_norm", "weight_norm", "loss_change", "plateau", "effective_width", "group_sizes",
                                  "negligible_neurons", "smallest_cosine", "reduced_loss", "reduced_output_difference", "within_group_spread",
                                  "negligible_norm", "reembedding_distance", "reduced_trained_loss", "reduced_trained_gradient_norm",
                                  "reduced_trained_output_difference"])
        XCTAssertEqual(table.dropFirst().map { $0[0] }, ["0", "500", "1000", "1500", "2000", "2500", "3000"])
        for row in table.dropFirst() {
            let width = Int(row[6])!, sizes = row[7].split(separator: ";").map { Int($0)! }, negligible = Int(row[8])!
            XCTAssertEqual(sizes.count, width)
            XCTAssertEqual(sizes.reduce(0, +) + negligible, 12, "every neuron is in a group or negligible")
            XCTAssertLessThan(Double(row[1])!, 1)
            // The re-embedded reduction is the wide network up to the spread and the negligible neurons.
            let (spread, dropped, distance) = (Double(row[12])!, Double(row[13])!, Double(row[14])!)
            XCTAssertEqual(distance * distance, spread * spread + dropped * dropped, accuracy: 1e-9 * max(1, distance * distance))
        }
        XCTAssertTrue(Double(table.last![15])!.isFinite, "the last row trains the reduced network")
        for name in ["final.safetensors", "final-reduced.safetensors", "plateaus.csv"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: whole.appendingPathComponent(name).path), name)
        }
        let expected = try Data(contentsOf: whole.appendingPathComponent("trace.csv"))
        // A rerun has nothing left to do.
        r = try run(args + ["--output", whole.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try Data(contentsOf: whole.appendingPathComponent("trace.csv")), expected)
        // Killed at successive crash points, then rerun: the same table, byte for byte.
        let killed = tmp.appendingPathComponent("killed")
        for n in [3, 6, 11] {
            r = try run(args + ["--output", killed.path], environment: ["FORTGANGULI_CRASH_AT": String(n)])
            XCTAssertEqual(r.status, 86, "crash point \(n): \(r.stderr)")
        }
        r = try run(args + ["--output", killed.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try Data(contentsOf: killed.appendingPathComponent("trace.csv")), expected)
        // Other arguments into the same folder are refused, naming the flag.
        r = try run(args.map { $0 == "12" ? "13" : $0 } + ["--output", whole.path])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("--width"), r.stderr)
    }

    func testBadInputFailsInOneLineAndLeavesNoOutput() throws {
        let tmp = try temporaryFolder()
        let narrow = try criticalPoint(in: tmp)
        let cnn = tmp.appendingPathComponent("cnn")
        var r = try run(["train", "--data", EmbedCommandTests.fixture.path, "--arch", "cnn", "--channels", "2", "--hidden", "3", "--steps", "1",
                         "--checkpoints", "2", "--batch-size", "16", "--eval-examples", "10", "--output", cnn.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let foreign = tmp.appendingPathComponent("foreign.safetensors")
        try Data("not a checkpoint".utf8).write(to: foreign)
        let before = try Data(contentsOf: foreign)
        let wide = tmp.appendingPathComponent("wide.safetensors")
        XCTAssertEqual(try run(["embed", "--checkpoint", narrow.path, "--neuron", "1:0", "--output", wide.path]).status, 0)
        let embed = ["embed", "--checkpoint", narrow.path]
        let check = ["embed", "--check", narrow.path, "--against", wide.path]
        let cases: [([String], String)] = [
            (embed + ["--neuron", "1:1"], "out of range"),
            (embed + ["--neuron", "1:-1"], "out of range"),
            (embed + ["--neuron", "2:0"], "output layer"),
            (embed + ["--neuron", "0:0"], "hidden layers are 1 to 1"),
            (embed + ["--neuron", "1:0", "--neuron", "1:2"], "--neuron 1:2"),
            (embed + ["--neuron", "one"], "--neuron"),
            (embed + ["--neuron", "1:0", "--alpha", "nan"], "--alpha"),
            (embed + ["--neuron", "1:0", "--alpha", "inf"], "--alpha"),
            (embed + ["--neuron", "1:0", "--alpha", "1e7"], "--alpha"),
            (embed + ["--to-widths", "1,1,1"], "nothing to add"),
            (embed + ["--to-widths", "1,3"], "--to-widths"),
            (embed + ["--neuron", "1:0", "--to-widths", "1,2,1"], "not both"),
            (embed + ["--neuron", "1:0", "--spectrum"], "--spectrum"),
            (["embed", "--checkpoint", cnn.appendingPathComponent("step-000000.safetensors").path, "--neuron", "1:0"], "cannot be embedded"),
            (["embed", "--neuron", "1:0"], "--checkpoint"),
            (check + ["--checkpoint", narrow.path], "two modes"),
            (check + ["--zero-threshold", "0"], "--zero-threshold"),
            (check + ["--critical-threshold", "-1"], "--critical-threshold"),
            (check + ["--data", "mixture"], "inputs"),
            (["embed", "--check", narrow.path, "--against", cnn.appendingPathComponent("step-000000.safetensors").path], "--against"),
            (["critical", "--widths", "2,1,1"], "--widths"),
            (["critical", "--widths", "1,1"], "--widths"),
            (["critical", "--loss", "cross-entropy"], "--loss"),
            (["critical", "--data", "fit1d:1"], "fit1d"),
            (["critical", "--data", "fit1d", "--per-class", "3"], "--per-class"),
            (["critical", "--init-std", "0"], "--init-std"),
            (["critical", "--learning-rate", "-1"], "--learning-rate"),
            (["critical", "--newton-steps", "-1"], "--newton-steps"),
            (["condense", "--width", "0"], "--width"),
            (["condense", "--cosine", "1.5"], "--cosine"),
            (["condense", "--negligible", "-0.1"], "--negligible"),
            (["condense", "--record-every", "0"], "--record-every"),
            (["condense", "--plateau-tolerance", "nan"], "--plateau-tolerance"),
            (["measure", "--checkpoint", narrow.path, "--data", "fit1d"], "regression set"),
        ]
        for (index, (arguments, expected)) in cases.enumerated() {
            let isEmbedding = arguments.first == "embed" && !arguments.contains("--check")
            let out = tmp.appendingPathComponent(isEmbedding ? "out-\(index).safetensors" : "out-\(index)")
            r = try run(arguments + ["--output", out.path])
            let label = arguments.dropFirst().suffix(4).joined(separator: " ")
            XCTAssertNotEqual(r.status, 0, label)
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "\(label): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(expected), "\(label): \(r.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: out.path), "\(label) left \(out.path)")
        }
        // A file that embed did not write is never replaced.
        r = try run(embed + ["--neuron", "1:0", "--output", foreign.path])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("was not written by fortganguli embed"), r.stderr)
        XCTAssertEqual(try Data(contentsOf: foreign), before)
        r = try run(embed + ["--neuron", "1:0", "--output", narrow.path])
        XCTAssertTrue(r.stderr.contains("the narrow checkpoint itself"), r.stderr)
    }
}
