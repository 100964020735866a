import FortGanguli
import Landscape
import Linalg
import XCTest

/// The dense model against its definitions, computed term by term.
final class DenseModelTests: XCTestCase {
    func tiny(_ hessian: HessianVariant, seed: UInt64 = 0, sigmaD: Double = 0, sigmaS: Double = 0) throws -> DenseModel {
        var c = ModelConfiguration()
        (c.examples, c.classes, c.dimension, c.sigmaZ, c.hessian, c.seed) = (3, 3, 5, 1.0, hessian, seed)
        c.hyperplaneDimension = 2
        c.lengthSpread = 0.3
        (c.sigmaD, c.sigmaS) = (sigmaD, sigmaS)
        return try DenseModel(c)
    }

    /// The (σ_d, σ_s) pairs the term-by-term tests run: the paper model, both extras, each alone.
    static let extras: [(Double, Double)] = [(0, 0), (0.8, 0.6), (0.9, 0), (0, 0.7)]

    /// The mean logit gradient M^μ_k at coordinate a, S_k(c_k + d_{k,y_μ} + s_k[y_μ = k]), from the
    /// generators (each already carries S_k).
    func mean(_ m: DenseModel, _ mu: Int, _ k: Int, _ a: Int) -> Double {
        let c = m.configuration.classes, y = m.logits.labels[mu]
        return m.classMeans[a, k] + (m.classOffsets?[a, y * c + k] ?? 0) + (y == k ? m.ownClassOffsets?[a, k] ?? 0 : 0)
    }

    /// H_αβ summed over μ, k, l exactly as eq. 10 and eq. 16 generalised are written: eq. 10 is
    /// (1/N)Σ_μ J^μᵀP^μJ^μ; eq. 16 drops the cross terms of J = M + e: (1/N)Σ_μ (M^μᵀP^μM^μ + e^μᵀP^μe^μ),
    /// at σ_d = σ_s = 0 cᵀP̄c + (1/N)Σ_μ e^μᵀP^μe^μ.
    func definition(_ m: DenseModel) -> Matrix {
        let cfg = m.configuration
        let (n, c, d) = (cfg.examples, cfg.classes, cfg.dimension)
        let p = m.logits.probabilities
        func P(_ mu: Int, _ k: Int, _ l: Int) -> Double { p[mu * c + k] * ((k == l ? 1 : 0) - p[mu * c + l]) }
        func J(_ mu: Int, _ k: Int, _ a: Int) -> Double { m.jacobian[a, mu * c + k] }
        func E(_ mu: Int, _ k: Int, _ a: Int) -> Double { m.residualGradients[a, mu * c + k] }
        return Matrix(rows: d, cols: d) { a, b in
            var h = 0.0
            for k in 0..<c { for l in 0..<c {
                for mu in 0..<n {
                    switch cfg.hessian {
                    case .full: h += J(mu, k, a) * P(mu, k, l) * J(mu, l, b) / Double(n)
                    case .paper:
                        h += E(mu, k, a) * P(mu, k, l) * E(mu, l, b) / Double(n)
                        h += mean(m, mu, k, a) * P(mu, k, l) * mean(m, mu, l, b) / Double(n)
                    }
                }
            } }
            return h
        }
    }

    func testPaperHessianMatchesEq16TermByTerm() throws {
        for (sd, ss) in Self.extras {
            let m = try tiny(.paper, sigmaD: sd, sigmaS: ss)
            let h = try m.hessian()
            XCTAssertLessThan(h.maxAbsDifference(definition(m)), 1e-14 * max(1, h.maxAbs), "σ_d \(sd) σ_s \(ss)")
            XCTAssertGreaterThan(h.maxAbs, 0)
            XCTAssertLessThan(try m.signalHessian().maxAbsDifference(h + (-1) * m.noiseHessian()), 1e-14 * max(1, h.maxAbs))
        }
    }

    /// At σ_d = σ_s = 0 the signal term is cᵀP̄c with the plain mean softmax Hessian.
    func testPaperSignalIsClassMeansAtZeroExtras() throws {
        let m = try tiny(.paper)
        let cp = BLAS.multiply(m.classMeans, m.meanSoftmaxHessian)
        let expected = BLAS.multiply(cp, m.classMeans, transposeB: true)
        let signal = try m.signalHessian()
        XCTAssertLessThan(signal.maxAbsDifference(expected), 1e-14 * max(1, signal.maxAbs))
        XCTAssertNil(m.classOffsets)
        XCTAssertNil(m.ownClassOffsets)
        XCTAssertNil(m.classConditionalMeans)
    }

    func testFullHessianMatchesEq10TermByTerm() throws {
        for (sd, ss) in Self.extras {
            let m = try tiny(.full, sigmaD: sd, sigmaS: ss)
            let h = try m.hessian()
            XCTAssertLessThan(h.maxAbsDifference(definition(m)), 1e-14 * max(1, h.maxAbs), "σ_d \(sd) σ_s \(ss)")
        }
    }

    func testLogitGradientsDecomposeIntoMeansAndResiduals() throws {
        for (sd, ss) in Self.extras {
            let m = try tiny(.paper, sigmaD: sd, sigmaS: ss)
            for col in 0..<9 { for a in 0..<5 {
                XCTAssertEqual(m.jacobian[a, col], mean(m, col / 3, col % 3, a) + m.residualGradients[a, col], accuracy: 1e-15)
                if let cm = m.classConditionalMeans {
                    XCTAssertEqual(cm[a, m.logits.labels[col / 3] * 3 + col % 3], mean(m, col / 3, col % 3, a), accuracy: 1e-15)
                }
            } }
            XCTAssertEqual(m.classOffsets != nil, sd > 0)
            XCTAssertEqual(m.ownClassOffsets != nil, ss > 0)
        }
    }

    /// The offsets d and extras s come from their own stream parts: turning them on leaves c, e and
    /// the logits exactly as they were, and they carry the scales S_k·σ/√D.
    func testClassConditionalPartsLeaveTheOthersUntouched() throws {
        var c = ModelConfiguration()
        (c.examples, c.classes, c.dimension, c.lengthSpread) = (20, 4, 3000, 0.5)
        let plain = try DenseModel(c)
        (c.sigmaD, c.sigmaS) = (0.8, 0.6)
        let extended = try DenseModel(c)
        XCTAssertEqual(plain.classMeans, extended.classMeans)
        XCTAssertEqual(plain.residualGradients, extended.residualGradients)
        XCTAssertEqual(plain.logits.probabilities, extended.logits.probabilities)
        // ‖S_k·d_{k,a}‖² ~ S_k²σ_d²·χ²_D/D: relative sd √(2/D) per vector; 4 sd of the mean of C vectors.
        let d = extended.classOffsets!, s = extended.ownClassOffsets!
        let lengths = c.classLengthScales
        let tolerance = 4 * (2 / Double(c.dimension)).squareRoot()
        for k in 0..<4 {
            var norm = 0.0
            for a in 0..<4 { norm += d.column(a * 4 + k).reduce(0) { $0 + $1 * $1 } / 4 }
            XCTAssertEqual(norm / (lengths[k] * lengths[k] * 0.64), 1, accuracy: tolerance / 2, "d, logit \(k)")
            let own = s.column(k).reduce(0) { $0 + $1 * $1 }
            XCTAssertEqual(own / (lengths[k] * lengths[k] * 0.36), 1, accuracy: tolerance, "s, logit \(k)")
        }
    }

    func testGradientMatchesEq8() throws {
        let m = try tiny(.paper)
        let g = m.gradient()
        let p = m.logits.probabilities, y = m.logits.labels
        for a in 0..<5 {
            var s = 0.0
            for mu in 0..<3 { for k in 0..<3 { s += ((y[mu] == k ? 1 : 0) - p[mu * 3 + k]) * m.jacobian[a, mu * 3 + k] / 3 } }
            XCTAssertEqual(g[a], s, accuracy: 1e-15)
        }
    }

    func testSoftmaxHessianFactorIsExact() {
        let p: [Double] = [0.7, 0.2, 0.1]
        let f = DenseModel.softmaxHessianFactor(p[...])
        let P = Matrix(rows: 3, cols: 3) { i, j in (i == j ? p[i] : 0) - p[i] * p[j] }
        XCTAssertLessThan(BLAS.multiply(f, f, transposeB: true).maxAbsDifference(P), 1e-16)
    }

    func testEigenvaluesSumToTrace() throws {
        for variant in HessianVariant.allCases {
            var c = ModelConfiguration()
            (c.examples, c.dimension, c.hessian) = (50, 200, variant)
            let m = try ModelSimulation.run(c)
            XCTAssertEqual(m.eigenvalues.reduce(0, +), m.traceOverNorm.trace, accuracy: 1e-12 * m.traceOverNorm.trace)
            XCTAssertEqual(m.gradientCosineSquared.reduce(0, +), 1, accuracy: 1e-10, "cos² over a full eigenbasis sums to 1")
        }
    }

    func testLabelsHitTargetAccuracy() {
        // Fraction labelled with the argmax class ~ Binomial(N, a): 4 standard errors.
        let n = 20_000, a = 0.95
        let s = LogitSample(examples: n, classes: 10, sigmaZ: 2, accuracy: a,
                            logitStream: RandomStream(seed: 1, stream: 1), labelStream: RandomStream(seed: 1, stream: 2))
        var hits = 0
        for mu in 0..<n {
            let row = s.probabilities[(mu * 10)..<(mu * 10 + 10)]
            if row.firstIndex(of: row.max()!)! - mu * 10 == s.labels[mu] { hits += 1 }
        }
        XCTAssertEqual(Double(hits) / Double(n), a, accuracy: 4 * (a * (1 - a) / Double(n)).squareRoot())
    }

    func testSameSeedSameNumbers() throws {
        var c = ModelConfiguration()
        (c.examples, c.dimension, c.seed) = (60, 150, 9)
        let a = try ModelSimulation.run(c), b = try ModelSimulation.run(c)
        XCTAssertEqual(a.eigenvalues, b.eigenvalues)
        XCTAssertEqual(a.gradientCosineSquared, b.gradientCosineSquared)
        XCTAssertEqual(a.hyperplaneTraceOverNorm, b.hyperplaneTraceOverNorm)
        c.seed = 10
        XCTAssertNotEqual(try ModelSimulation.run(c).eigenvalues, a.eigenvalues)
    }

    func testExtremeSigmaZGivesFiniteResults() throws {
        for z in [1e-6, 1e4] {
            var c = ModelConfiguration()
            (c.examples, c.dimension, c.sigmaZ) = (40, 100, z)
            let m = try ModelSimulation.run(c)
            XCTAssertTrue(m.eigenvalues.allSatisfy(\.isFinite), "σ_z = \(z)")
            XCTAssertTrue(m.probabilities.meanEntropyBits.isFinite && m.probabilities.meanMaxProbability.isFinite)
            if z < 1 { XCTAssertEqual(m.probabilities.meanEntropyBits, log2(10), accuracy: 1e-9) }
            else { XCTAssertGreaterThan(m.probabilities.meanMaxProbability, 0.99) }
        }
    }

    func testInvalidConfigurationsAreRejected() {
        func rejects(_ change: (inout ModelConfiguration) -> Void) {
            var c = ModelConfiguration()
            change(&c)
            XCTAssertThrowsError(try c.validate())
        }
        rejects { $0.sigmaZ = -1 }
        rejects { $0.sigmaC = -0.1 }
        rejects { $0.sigmaE = .nan }
        rejects { $0.classes = 1 }
        rejects { $0.examples = 1 }
        rejects { $0.accuracy = 1.5 }
        rejects { $0.lengthSpread = 1 }
        for (flag, change) in [("--sigma-d", { (c: inout ModelConfiguration) in c.sigmaD = -0.1 }),
                               ("--sigma-d", { (c: inout ModelConfiguration) in c.sigmaD = .infinity }),
                               ("--sigma-s", { (c: inout ModelConfiguration) in c.sigmaS = .nan }),
                               ("--sigma-s", { (c: inout ModelConfiguration) in c.sigmaS = -1 })] {
            var c = ModelConfiguration()
            change(&c)
            XCTAssertThrowsError(try c.validate()) { error in
                XCTAssertTrue("\(error)".hasPrefix(flag) && !"\(error)".contains("\n"), "\(error)")
            }
        }
        var huge = ModelConfiguration()
        huge.dimension = 200_000
        XCTAssertThrowsError(try DenseModel.checkMemory(huge)) { error in
            XCTAssertTrue("\(error)".contains("GiB"), "\(error)")
        }
    }
}

/// The model's statistical laws, with tolerances derived from N, C and D.
final class ModelStatisticsTests: XCTestCase {
    /// q^SL = SNR/(SNR+1). Its spread comes mostly from the C lengths ‖c_k‖², each with relative
    /// sd √(2/D): sd(q^SL) ≈ q(1−q)√(2/(D·C)) per seed; bias is O(1/D) (Jensen on the norms) and
    /// O(1/(N·SNR)) from the shared residual mean; we allow 4 sd of the seed mean plus 2/D + 1/N.
    /// q^DL has mean 0 and sd ≈ q/√(D·C(C−1)/2) from the C(C−1)/2 overlaps c_k·c_l.
    func testClusteringMatchesSignalToNoise() throws {
        var c = ModelConfiguration()
        (c.examples, c.dimension) = (100, 2000)
        let seeds = 4
        var sl = 0.0, dl = 0.0, slsc = 0.0
        for s in 0..<seeds {
            c.seed = UInt64(s)
            let m = try DenseModel(c)
            let q = LogitGradientClustering(LogitGradientPairSums(jacobianColumns: m.jacobian, labels: m.logits.labels, classes: c.classes))
            sl += q.qSL / Double(seeds); dl += q.qDL / Double(seeds); slsc += q.qSLSC / Double(seeds)
        }
        let q = c.expectedQSL
        let (d, cc, n) = (Double(c.dimension), Double(c.classes), Double(c.examples))
        let sdSL = q * (1 - q) * (2 / (d * cc)).squareRoot() / Double(seeds).squareRoot()
        XCTAssertEqual(sl, q, accuracy: 4 * sdSL + 2 / d + 1 / n)
        XCTAssertEqual(slsc, q, accuracy: 4 * sdSL * 3 + 2 / d + 1 / n)  // fewer pairs per class
        let sdDL = q / (d * cc * (cc - 1) / 2).squareRoot() / Double(seeds).squareRoot()
        XCTAssertEqual(dl, 0, accuracy: 4 * sdDL + 1 / d)
    }

    func testPaperDefaultsGiveCMinusOneOutliers() throws {
        for s in 0..<3 {
            var c = ModelConfiguration()
            c.seed = UInt64(s)
            let m = try ModelSimulation.run(c)
            XCTAssertEqual(m.outliers.outliers, c.classes - 1, "seed \(s)")
            XCTAssertGreaterThan(m.gradientPowerTopK, 0.4)
        }
    }

    /// Unequal class-mean lengths split the outliers apart, but the count stays C − 1: P^μ·1 = 0
    /// for every μ, so cᵀP̄c has rank ≤ C − 1 and by Weyl's interlacing λ_C(H) ≤ λ₁(noise) = edge.
    func testUnequalLengthsCannotExceedCMinusOneOutliers() throws {
        var c = ModelConfiguration()
        c.lengthSpread = 0.6
        let m = try ModelSimulation.run(c)
        XCTAssertEqual(m.outliers.outliers, c.classes - 1)
        XCTAssertLessThanOrEqual(m.eigenvalues[c.classes - 1], m.outliers.bulkEdge * (1 + 1e-12))
    }

    /// At SNR = 0.005 the spike is far below the BBP threshold: the count must be 0.
    func testTinySignalGivesNoOutliers() throws {
        for s in 0..<4 {
            var c = ModelConfiguration()
            (c.sigmaC, c.seed) = (0.05, UInt64(s))
            let m = try ModelSimulation.run(c)
            XCTAssertEqual(m.outliers.outliers, 0, "seed \(s): top \(m.eigenvalues.prefix(3)), edge \(m.outliers.bulkEdge)")
        }
    }
}
