import Foundation
import XCTest

/// The same seed at 1 and 2 BLAS threads (OPENBLAS_NUM_THREADS). The model's draws (logits.npy,
/// labels.npy) are bitwise equal; every count, label and list length is equal; every
/// floating-point figure agrees to 1e-9 of its own list's scale — the README's guarantee. Bitwise
/// equality of the computed figures is promised only at a fixed thread count, because OpenBLAS
/// splits its sums differently over threads.
final class ThreadCountTests: ToolTestCase {
    func run(threads: Int, _ arguments: [String]) throws {
        let r = try run(arguments, environment: ["OPENBLAS_NUM_THREADS": String(threads)])
        XCTAssertEqual(r.status, 0, "\(arguments) at \(threads) threads: \(r.stderr)")
    }

    /// Walks two JSON values in step: equal structure, equal integers and strings, numbers within
    /// `tolerance` of the scale of the array they sit in (or of themselves).
    func assertClose(_ a: Any?, _ b: Any?, path: String, scale: Double? = nil, tolerance: Double = 1e-9, file: StaticString = #filePath, line: UInt = #line) {
        switch (a, b) {
        case let (x as [String: Any], y as [String: Any]):
            XCTAssertEqual(Set(x.keys), Set(y.keys), path)
            for key in x.keys where key != "seconds" { assertClose(x[key], y[key], path: path + "." + key, tolerance: tolerance) }
        case let (x as [Any], y as [Any]):
            XCTAssertEqual(x.count, y.count, "\(path): list lengths differ")
            let s = (x + y).compactMap { ($0 as? NSNumber)?.doubleValue }.map(abs).max()
            for (i, (u, v)) in zip(x, y).enumerated() { assertClose(u, v, path: "\(path)[\(i)]", scale: s, tolerance: tolerance) }
        case let (x as NSNumber, y as NSNumber):
            let (u, v) = (x.doubleValue, y.doubleValue)
            if u == u.rounded() && v == v.rounded() && abs(u) < 1e6 && scale == nil && path.range(of: "(outlier|count|index|examples|classes|seed|spikes|zero)", options: .regularExpression) != nil {
                XCTAssertEqual(u, v, "\(path): a count differs")
            } else {
                XCTAssertLessThanOrEqual(abs(u - v), tolerance * max(scale ?? 0, abs(u), abs(v), 1e-300), "\(path): \(u) vs \(v)")
            }
        case let (x as String, y as String):
            XCTAssertEqual(x, y, path)
        case (is NSNull, is NSNull), (nil, nil):
            break
        default:
            XCTFail("\(path): \(String(describing: a)) vs \(String(describing: b))")
        }
    }

    func json(_ url: URL) throws -> Any { try JSONSerialization.jsonObject(with: Data(contentsOf: url)) }

    func testOneAndTwoThreadsAgree() throws {
        let tmp = try temporaryFolder()
        let model = ["--examples", "100", "--classes", "10", "--dimension", "1e5", "--hessian", "full"]
        for t in [1, 2] {
            try run(threads: t, ["simulate", "--write-gram", "--output", tmp.appendingPathComponent("simulate-\(t)").path] + model)
            try run(threads: t, ["theory", "--output", tmp.appendingPathComponent("theory-\(t)").path, "--examples", "100", "--classes", "10"])
            try run(threads: t, ["measure", "--gram", tmp.appendingPathComponent("simulate-1").path,
                                 "--output", tmp.appendingPathComponent("measure-\(t)").path])
        }
        for name in ["logits.npy", "labels.npy"] {
            XCTAssertEqual(try Data(contentsOf: tmp.appendingPathComponent("simulate-1/" + name)),
                           try Data(contentsOf: tmp.appendingPathComponent("simulate-2/" + name)), "\(name) differs between thread counts")
        }
        for file in ["simulate-%d/summary.json", "theory-%d/theory.json", "measure-%d/summary.json"] {
            let one = tmp.appendingPathComponent(String(format: file, 1)), two = tmp.appendingPathComponent(String(format: file, 2))
            assertClose(try json(one), try json(two), path: String(format: file, 1))
        }
    }
}
