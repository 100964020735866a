import FortGanguli
import Landscape
import Linalg
import XCTest

/// The Gram engine against the dense reference, and Bartlett sampling against explicit vectors.
final class GramModelTests: XCTestCase {
    func config(_ hessian: HessianVariant, dimension: Int, seed: UInt64 = 0) -> ModelConfiguration {
        var c = ModelConfiguration()
        (c.examples, c.classes, c.dimension, c.sigmaZ, c.hessian, c.seed) = (6, 4, dimension, 2.0, hessian, seed)
        c.hyperplaneDimension = 3
        c.lengthSpread = 0.4
        return c
    }

    /// Fed the same X, dense and Gram agree to round-off, for both Hessians, with D above and below m.
    func testGramMatchesDenseOnTheSameVectors() throws {
        for variant in HessianVariant.allCases {
            for d in [60, 12] {
                let dense = try DenseModel(config(variant, dimension: d))
                let a = try ModelSimulation.measure(dense)
                let b = try ModelSimulation.measure(GramModel(dense: dense))
                let label = "\(variant) D=\(d)"
                let scale = a.eigenvalues[0]
                XCTAssertEqual(b.eigenvalues.count + b.zeroEigenvalues, d, label)
                for i in 0..<b.eigenvalues.count {
                    XCTAssertEqual(b.eigenvalues[i], a.eigenvalues[i], accuracy: 1e-10 * scale, "\(label) λ\(i)")
                    XCTAssertEqual(b.gradientCosineSquared[i], a.gradientCosineSquared[i], accuracy: 1e-9, "\(label) cos² \(i)")
                }
                for i in b.eigenvalues.count..<d { XCTAssertEqual(a.eigenvalues[i], 0, accuracy: 1e-12 * scale) }
                func close(_ x: Double, _ y: Double, _ what: String) {
                    XCTAssertEqual(x, y, accuracy: 1e-10 * max(abs(x), abs(y), 1e-300), "\(label) \(what)")
                }
                close(b.outliers.bulkEdge, a.outliers.bulkEdge, "bulk edge")
                close(b.outliers.margin, a.outliers.margin, "margin")
                XCTAssertEqual(b.outliers.outliers, a.outliers.outliers, label)
                close(b.traceOverNorm.trace, a.traceOverNorm.trace, "trace")
                close(b.hyperplaneTraceOverNorm, a.hyperplaneTraceOverNorm, "hyperplane")
                close(b.gradientPowerTopK, a.gradientPowerTopK, "gradient power")
                close(b.clustering.qSL, a.clustering.qSL, "q^SL")
                close(b.clustering.qSLSC, a.clustering.qSLSC, "q^SLSC")
                XCTAssertEqual(b.clustering.qDL, a.clustering.qDL, accuracy: 1e-12, label)
            }
        }
    }

    /// Bartlett-sampled W and explicit vectors agree in distribution: means over 40 seeds of the top
    /// eigenvalue, the 10th eigenvalue and the gradient power differ by less than 3 standard errors.
    func testBartlettMatchesExplicitVectorsInDistribution() throws {
        var c = ModelConfiguration()
        (c.examples, c.classes, c.dimension, c.sigmaZ) = (30, 5, 400, 3.0)
        let seeds = 40
        var explicit: [[Double]] = [], bartlett: [[Double]] = []
        for s in 0..<seeds {
            c.seed = UInt64(s)
            let a = try ModelSimulation.measure(GramModel(dense: DenseModel(c)))
            let model = try GramModel(c)
            XCTAssertTrue(model.sampledByBartlett)
            let b = try ModelSimulation.measure(model)
            explicit.append([a.eigenvalues[0], a.eigenvalues[9], a.gradientPowerTopK])
            bartlett.append([b.eigenvalues[0], b.eigenvalues[9], b.gradientPowerTopK])
        }
        for j in 0..<3 {
            func meanAndSE(_ xs: [[Double]]) -> (Double, Double) {
                let v = xs.map { $0[j] }
                let m = v.reduce(0, +) / Double(v.count)
                let variance = v.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(v.count - 1)
                return (m, (variance / Double(v.count)).squareRoot())
            }
            let (ma, sa) = meanAndSE(explicit), (mb, sb) = meanAndSE(bartlett)
            XCTAssertLessThan(abs(ma - mb), 3 * (sa * sa + sb * sb).squareRoot(), "statistic \(j): \(ma) vs \(mb)")
        }
    }

    func testGramIsReproducibleAndIndependentOfD() throws {
        var c = ModelConfiguration()
        (c.examples, c.classes, c.dimension, c.mode) = (20, 4, 1_000_000_000_000, .gram)
        let a = try ModelSimulation.run(c), b = try ModelSimulation.run(c)
        XCTAssertEqual(a.eigenvalues, b.eigenvalues)
        XCTAssertEqual(a.gradientCosineSquared, b.gradientCosineSquared)
        XCTAssertEqual(a.zeroEigenvalues, c.dimension - a.eigenvalues.count)
        // g lies in the range of H; overlaps with near-null directions carry ~1e-6 absolute error.
        XCTAssertEqual(a.gradientCosineSquared.reduce(0, +), 1, accuracy: 1e-5)
        XCTAssertTrue(a.eigenvalues.allSatisfy { $0.isFinite && $0 > -1e-14 * a.eigenvalues[0] })
    }

    func testAutoModePicksGramForLargeD() {
        var c = ModelConfiguration()
        c.dimension = 1000
        XCTAssertEqual(c.resolvedMode, .dense)
        c.dimension = 100_000
        XCTAssertEqual(c.resolvedMode, .gram)
        c.mode = .dense
        XCTAssertEqual(c.resolvedMode, .dense)
    }
}
