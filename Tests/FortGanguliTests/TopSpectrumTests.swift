@testable import FortGanguli
import Foundation
import Landscape
import Linalg
import XCTest

/// `--spectrum top` (block Lanczos on W's Bartlett factor) against the full path (W formed, K
/// reduced whole) on the same draw: every statistic they share agrees to 1e-10 relative.
final class TopSpectrumTests: XCTestCase {
    func configuration(_ edit: (inout ModelConfiguration) -> Void) -> ModelConfiguration {
        var c = ModelConfiguration()
        c.mode = .gram
        edit(&c)
        return c
    }

    func assertTopEqualsFull(_ base: ModelConfiguration, file: StaticString = #filePath, line: UInt = #line) throws {
        var top = base, full = base
        (top.spectrum, full.spectrum) = (.top, .full)
        let t = try ModelSimulation.run(top), f = try ModelSimulation.run(full)
        XCTAssertEqual(t.spectrum, .top, file: file, line: line)
        XCTAssertEqual(f.spectrum, .full, file: file, line: line)
        func close(_ a: Double, _ b: Double, _ name: String) {
            XCTAssertEqual(a, b, accuracy: 1e-10 * max(abs(a), abs(b)), "\(name): top \(a), full \(b)", file: file, line: line)
        }
        XCTAssertGreaterThanOrEqual(t.eigenvalues.count, min(2 * base.classes, f.eigenvalues.count), file: file, line: line)
        for (i, (a, b)) in zip(t.eigenvalues, f.eigenvalues).enumerated() { close(a, b, "λ\(i + 1)") }
        XCTAssertEqual(t.outliers.outliers, f.outliers.outliers, file: file, line: line)
        close(t.outliers.bulkEdge, f.outliers.bulkEdge, "bulk edge")
        close(t.outliers.margin, f.outliers.margin, "margin")
        close(t.gradientPowerTopK, f.gradientPowerTopK, "gradient power top k")
        close(t.traceOverNorm.trace, f.traceOverNorm.trace, "trace")
        close(t.traceOverNorm.spectralNorm, f.traceOverNorm.spectralNorm, "‖H‖")
        XCTAssertEqual(t.hyperplane.draws.count, f.hyperplane.draws.count, file: file, line: line)
        for (a, b) in zip(t.hyperplane.draws, f.hyperplane.draws) { close(a, b, "hyperplane Trace/‖H‖") }
        close(t.clustering.qSLSC, f.clustering.qSLSC, "q_SLSC")
        close(t.clustering.qSL, f.clustering.qSL, "q_SL")
        XCTAssertEqual(t.clustering.qDL, f.clustering.qDL, accuracy: 1e-10 * max(abs(f.clustering.qSL), 1e-300), "q_DL", file: file, line: line)
        XCTAssertEqual(t.zeroEigenvalues, f.zeroEigenvalues, file: file, line: line)
        XCTAssertEqual(t.signalGram.maxAbsDifference(f.signalGram), 0, accuracy: 1e-12 * f.signalGram.maxAbs, file: file, line: line)
    }

    /// The paper's model at D = 10⁹ (N = 300, C = 10: m = 3010).
    func testPaperModelAtBillionParameters() throws {
        try assertTopEqualsFull(configuration { $0.dimension = 1_000_000_000 })
    }

    /// Class-conditional means (σ_d, σ_s > 0: signal rank beyond 2C, r = signal rank + 1), unequal
    /// class lengths, three hyperplanes, a narrow bulk (σ_z = 0.02: near-uniform probabilities, the
    /// slowest case for Lanczos), and a confident one (σ_z = 60).
    func testConditionalMeansHyperplanesAndExtremeTemperatures() throws {
        try assertTopEqualsFull(configuration {
            ($0.examples, $0.classes, $0.dimension) = (80, 5, 1_000_000)
            ($0.sigmaD, $0.sigmaS, $0.lengthSpread, $0.hyperplanes) = (0.6, 0.4, 0.3, 3)
        })
        for z in [0.02, 60.0] {
            try assertTopEqualsFull(configuration { ($0.examples, $0.classes, $0.dimension, $0.sigmaZ) = (120, 6, 100_000, z) })
        }
    }

    /// --top-k beyond 2C: the top path computes k pairs, so the gradient power sums k overlaps.
    func testTopKBeyondTwiceTheClasses() throws {
        try assertTopEqualsFull(configuration { ($0.examples, $0.classes, $0.dimension, $0.topK) = (60, 4, 1_000_000, 25) })
    }

    /// Below D = m + R·d W is not sampled by Bartlett, and top takes the full path.
    func testSmallDimensionTakesTheFullPath() throws {
        let c = configuration { ($0.examples, $0.classes, $0.dimension, $0.spectrum) = (50, 4, 150, .top) }
        let m = try ModelSimulation.run(c)
        XCTAssertEqual(m.spectrum, .full)
    }

    /// A grid's rows share the seed's factor across σ_c, and get the numbers a fresh run gets, bit
    /// for bit.
    func testReuseAcrossGridPointsChangesNoNumber() throws {
        let reuse = DrawReuse()
        for sigmaC in [0.3, 1.0, 3.0] {
            let c = configuration { ($0.examples, $0.classes, $0.dimension, $0.sigmaC, $0.spectrum) = (100, 5, 1_000_000, sigmaC, .top) }
            let shared = try ModelSimulation.run(c, reuse: reuse), fresh = try ModelSimulation.run(c)
            XCTAssertEqual(shared.eigenvalues, fresh.eigenvalues)
            XCTAssertEqual(shared.outliers, fresh.outliers)
            XCTAssertEqual(shared.gradientPowerTopK, fresh.gradientPowerTopK)
            XCTAssertEqual(shared.hyperplane.draws, fresh.hyperplane.draws)
        }
        XCTAssertEqual(reuse.factorMisses, 1)
        XCTAssertEqual(reuse.factorHits, 2)
    }

    /// The trace's diagonal blocks of W, from one pass over U's columns, equal the products of U's
    /// row panels (`entries`) to round-off, for blocks at the start, middle and end of U.
    func testDiagonalBlocksEqualRowPanelProducts() throws {
        let c = configuration { ($0.examples, $0.classes, $0.dimension, $0.spectrum) = (70, 4, 1_000_000, .top) }
        let w = try XCTUnwrap(try GramModel(c).factor)
        let size = c.classes, blocks = [0, 3, 17, w.order / size - 1]
        let diagonal = w.diagonalBlocks(blocks, size: size)
        XCTAssertEqual(diagonal.keys.sorted(), blocks)
        for (a, value) in diagonal {
            let rows = (a * size)..<((a + 1) * size)
            let reference = w.entries(rows: rows, cols: rows)
            XCTAssertLessThan(value.maxAbsDifference(reference), 1e-14 * reference.maxAbs, "block \(a)")
            XCTAssertEqual(value, value.transposed)
        }
    }

    /// Memory: top holds U and the Lanczos bases, so N = 2000, C = 10 at D = 10⁹ (m = 20 010) needs
    /// about one factor (3.2 GB), where the full path needs several m×m matrices; the check refuses
    /// before allocating what cannot fit.
    func testMemoryEstimateOfTopMode() throws {
        var c = configuration { ($0.examples, $0.dimension, $0.spectrum) = (2000, 1_000_000_000, .top) }
        let top = MemoryEstimate.simulation(c, gramStatistics: true)
        let order = Double(c.generators + c.hyperplaneColumns)
        XCTAssertEqual(top.parts.first { $0.name.hasPrefix("Bartlett factor") }?.bytes ?? 0, 8 * order * order)
        XCTAssertLessThan(top.total, 1.3 * 8 * order * order)
        c.spectrum = .full
        XCTAssertGreaterThan(MemoryEstimate.simulation(c, gramStatistics: true).total, 5 * top.total)
        XCTAssertThrowsError(try top.check(budget: 8 * order * order))
    }
}
