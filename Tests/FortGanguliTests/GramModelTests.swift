import FortGanguli
import Landscape
import Linalg
import XCTest

/// The Gram engine against the dense reference, and Bartlett sampling against explicit vectors.
final class GramModelTests: XCTestCase {
    func config(_ hessian: HessianVariant, dimension: Int, seed: UInt64 = 0, sigmaD: Double = 0, sigmaS: Double = 0) -> ModelConfiguration {
        var c = ModelConfiguration()
        (c.examples, c.classes, c.dimension, c.sigmaZ, c.hessian, c.seed) = (6, 4, dimension, 2.0, hessian, seed)
        c.hyperplaneDimension = 3
        c.lengthSpread = 0.4
        (c.sigmaD, c.sigmaS) = (sigmaD, sigmaS)
        return c
    }

    /// Fed the same X, dense and Gram agree to round-off, for both Hessians, with D above and below
    /// m + d (m = 28 at σ_d = σ_s = 0, 48 with both extras), for the paper model, both extras and
    /// each alone (at σ_d = 0 < σ_s the eq. 16 signal has rank ≤ 2C, below its C(C−1) columns).
    /// The logit-gradient Grams K agree too.
    func testGramMatchesDenseOnTheSameVectors() throws {
        for variant in HessianVariant.allCases {
            for (sd, ss) in [(0.0, 0.0), (0.8, 0.6), (0.9, 0.0), (0.0, 0.7)] {
            for d in [60, 12] {
                let dense = try DenseModel(config(variant, dimension: d, sigmaD: sd, sigmaS: ss))
                let gram = GramModel(dense: dense)
                let a = try ModelSimulation.measure(dense)
                let b = try ModelSimulation.measure(gram)
                let label = "\(variant) σ_d=\(sd) σ_s=\(ss) D=\(d)"
                let kd = dense.logitGradientGram(), kg = gram.logitGradientGram()
                XCTAssertLessThan(kd.maxAbsDifference(kg), 1e-13 * kd.maxAbs, label)
                XCTAssertLessThan(dense.signalGram.maxAbsDifference(gram.signalGram), 1e-13 * dense.signalGram.maxAbs, label)
                let scale = a.eigenvalues[0]
                XCTAssertEqual(b.eigenvalues.count + b.zeroEigenvalues, d, label)
                // Gram lists exactly the nonzero eigenvalues: none at round-off level.
                XCTAssertGreaterThan(b.eigenvalues.last!, 1e-10 * scale, label)
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
    }

    /// The eq. 16 noise edge from K's trailing block (bisection on the C(C−1) signal columns, taken
    /// when N ≫ C², here C = 3, N = 200) agrees with the dense noise term's top eigenvalues, and so
    /// does everything else; at N = 6 (above) the range-selected solver on the noise operator is taken.
    func testNoiseEdgeByBisectionMatchesDenseWithClassConditionalMeans() throws {
        var c = ModelConfiguration()
        (c.examples, c.classes, c.dimension, c.sigmaZ, c.sigmaD, c.sigmaS) = (200, 3, 300, 2.0, 0.8, 0.6)
        let dense = try DenseModel(c)
        let a = try ModelSimulation.measure(dense)
        let b = try ModelSimulation.measure(GramModel(dense: dense))
        XCTAssertEqual(b.outliers.bulkEdge, a.outliers.bulkEdge, accuracy: 1e-10 * a.outliers.bulkEdge)
        XCTAssertEqual(b.outliers.margin, a.outliers.margin, accuracy: 1e-9 * a.outliers.bulkEdge)
        XCTAssertEqual(b.outliers.outliers, a.outliers.outliers)
        for i in 0..<20 { XCTAssertEqual(b.eigenvalues[i], a.eigenvalues[i], accuracy: 1e-10 * a.eigenvalues[0]) }
    }

    /// Bartlett-sampled W and explicit vectors agree in distribution: means over 40 seeds of the top
    /// eigenvalue, the 10th eigenvalue and the gradient power differ by less than 3 standard errors.
    func testBartlettMatchesExplicitVectorsInDistribution() throws {
        var c = ModelConfiguration()
        (c.examples, c.classes, c.dimension, c.sigmaZ) = (30, 5, 400, 3.0)
        try compareBartlettWithExplicit(c, seeds: 40, statistics: { m in [m.eigenvalues[0], m.eigenvalues[9], m.gradientPowerTopK] })
    }

    /// The same with class-conditional means (σ_d = 0.8, σ_s = 0.6, m = 185 + d ≤ D = 400), for both
    /// Hessians; besides the spectrum, q^SL (set by the mean vectors' overlaps) must agree.
    func testBartlettMatchesExplicitVectorsWithClassConditionalMeans() throws {
        for variant in HessianVariant.allCases {
            var c = ModelConfiguration()
            (c.examples, c.classes, c.dimension, c.sigmaZ, c.hessian) = (30, 5, 400, 3.0, variant)
            (c.sigmaD, c.sigmaS) = (0.8, 0.6)
            try compareBartlettWithExplicit(c, seeds: 40, statistics: { m in
                [m.eigenvalues[0], m.eigenvalues[9], m.eigenvalues[25], m.gradientPowerTopK, m.clustering.qSL]
            })
        }
    }

    func compareBartlettWithExplicit(_ base: ModelConfiguration, seeds: Int,
                                     statistics: (ModelMeasurement) -> [Double]) throws {
        var c = base
        var explicit: [[Double]] = [], bartlett: [[Double]] = []
        for s in 0..<seeds {
            c.seed = UInt64(s)
            let a = try ModelSimulation.measure(GramModel(dense: DenseModel(c)))
            let model = try GramModel(c)
            XCTAssertTrue(model.sampledByBartlett)
            let b = try ModelSimulation.measure(model)
            explicit.append(statistics(a))
            bartlett.append(statistics(b))
        }
        for j in 0..<explicit[0].count {
            func meanAndSE(_ xs: [[Double]]) -> (Double, Double) {
                let v = xs.map { $0[j] }
                let m = v.reduce(0, +) / Double(v.count)
                let variance = v.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(v.count - 1)
                return (m, (variance / Double(v.count)).squareRoot())
            }
            let (ma, sa) = meanAndSE(explicit), (mb, sb) = meanAndSE(bartlett)
            XCTAssertLessThan(abs(ma - mb), 3 * (sa * sa + sb * sb).squareRoot(), "\(base.hessian) statistic \(j): \(ma) vs \(mb)")
        }
    }

    func testGramIsReproducibleAndIndependentOfD() throws {
        for (sd, ss) in [(0.0, 0.0), (0.8, 0.6)] {
        var c = ModelConfiguration()
        (c.examples, c.classes, c.dimension, c.mode, c.sigmaD, c.sigmaS) = (20, 4, 1_000_000_000_000, .gram, sd, ss)
        let a = try ModelSimulation.run(c), b = try ModelSimulation.run(c)
        XCTAssertEqual(a.eigenvalues, b.eigenvalues)
        XCTAssertEqual(a.gradientCosineSquared, b.gradientCosineSquared)
        XCTAssertEqual(a.zeroEigenvalues, c.dimension - a.eigenvalues.count)
        // g lies in the range of H; overlaps with near-null directions carry ~1e-6 absolute error.
        XCTAssertEqual(a.gradientCosineSquared.reduce(0, +), 1, accuracy: 1e-5)
        XCTAssertTrue(a.eigenvalues.allSatisfy { $0.isFinite && $0 > -1e-14 * a.eigenvalues[0] })
        }
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
