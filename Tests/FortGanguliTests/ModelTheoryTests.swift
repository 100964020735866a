import FortGanguli
import XCTest

/// Theory against simulation of the eq. 16 model.
final class ModelTheoryTests: XCTestCase {
    /// Relative errors of the predicted bulk edge and top outlier, averaged over seeds.
    func errors(examples: Int, dimension: Int, seeds: Int) throws -> (edge: Double, top: Double) {
        var edge = 0.0, top = 0.0
        for s in 0..<seeds {
            var c = ModelConfiguration()
            (c.examples, c.dimension, c.seed) = (examples, dimension, UInt64(s))
            let m = try ModelSimulation.run(c)
            let t = try ModelTheory(c)
            edge += (t.bulk.edge - m.outliers.bulkEdge) / m.outliers.bulkEdge / Double(seeds)
            top += (t.outlierPositions[0] - m.eigenvalues[0]) / m.eigenvalues[0] / Double(seeds)
        }
        return (abs(edge), abs(top))
    }

    /// At D = 10⁶ and the paper's other defaults the prediction is within 2%; it is worse at small
    /// D and N, where c·cᵀ ≠ σ_c²I and the edge fluctuates, and improves as both grow.
    func testTheoryMatchesSimulationAtLargeD() throws {
        let large = try errors(examples: 300, dimension: 1_000_000, seeds: 3)
        XCTAssertLessThan(large.edge, 0.02)
        XCTAssertLessThan(large.top, 0.02)
        let small = try errors(examples: 100, dimension: 1000, seeds: 3)
        XCTAssertLessThan(large.edge, small.edge)
        XCTAssertLessThan(large.top, small.top)
    }

    func testTheoryCountsOutliersAcrossTheThreshold() throws {
        var c = ModelConfiguration()
        XCTAssertEqual(try ModelTheory(c).outliers, c.classes - 1)
        c.sigmaC = 0.05
        XCTAssertEqual(try ModelTheory(c).outliers, 0)
    }
}
