import Foundation
import Linalg
@testable import RealNets
import XCTest

/// Library callers with bad arguments get one-line errors, never traps.
final class BadArgumentTests: XCTestCase {
    func testLanczosRefusesBadArgumentsWithOneLine() throws {
        let a = Matrix(rows: 4, cols: 4) { i, j in i == j ? Double(i + 1) : 0 }
        let op = ClosureOperator(dimension: 4) { a.apply($0) }
        for call in [{ _ = try Lanczos.largest(op, count: -1) }, { _ = try Lanczos.largest(op, count: 2, tolerance: .nan) },
                     { _ = try Lanczos.largest(op, count: 2, maxIterations: 0) }, { _ = try Lanczos.smallest(op, count: -3) },
                     { _ = try Lanczos.hutchinsonTrace(op, probes: 0, seed: 0) },
                     { _ = try Lanczos.spectralDensity(op, steps: 0, probes: 1, seed: 0) },
                     { _ = try Lanczos.spectralDensity(op, steps: 3, probes: -1, seed: 0) }] as [() throws -> Void] {
            XCTAssertThrowsError(try call()) { error in
                guard case .invalidArgument(let m)? = error as? LanczosError else { return XCTFail("\(error)") }
                XCTAssertFalse(m.contains("\n"))
            }
        }
        XCTAssertThrowsError(try Lanczos.largest(op, count: 4)) { error in
            XCTAssertFalse("\(error)".contains("dense Matrix"), "\(error)")
        }
    }

    func testArchitectureSizesThatOverflowAreRefused() {
        XCTAssertThrowsError(try Architecture.mlp(widths: [784, 4_611_686_018_427_387_904, 10], activation: .relu))
        XCTAssertThrowsError(try Architecture.mlp(widths: [Int.max, Int.max], activation: .relu))
        XCTAssertThrowsError(try Architecture.from(spec: ["arch": "mlp", "activation": "relu", "widths": "784,4611686018427387904,10"]))
        XCTAssertThrowsError(try Architecture.cnn(inputChannels: 1, side: 28, channels: [4_611_686_018_427_387_904], hidden: 4, classes: 10,
                                                  activation: .relu))
        XCTAssertEqual(try Architecture.mlp(widths: [784, 16, 10], activation: .relu).parameterCount, 784 * 16 + 16 + 16 * 10 + 10)
    }

    func testMemoryRequireRefusesTooMuch() {
        XCTAssertNoThrow(try Memory.require([("a little", 1024)], for: "x", remedy: "y"))
        XCTAssertThrowsError(try Memory.require([("everything", 1e30)], for: "the task", remedy: "lower --flag")) { error in
            XCTAssertTrue("\(error)".contains("lower --flag"), "\(error)")
        }
    }

    func testMeasurementSettingsRanges() throws {
        var s = MeasurementSettings()
        XCTAssertNoThrow(try s.validate(parameters: 100, examples: 4, classes: 3))
        s.topK = 13
        XCTAssertThrowsError(try s.validate(parameters: 100, examples: 4, classes: 3))   // N·C = 12
        s.topK = 10
        s.bottomK = 100
        XCTAssertThrowsError(try s.validate(parameters: 100, examples: 4, classes: 3))   // D − 1 = 99
    }
}
