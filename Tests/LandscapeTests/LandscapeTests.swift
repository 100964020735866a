import Foundation
import Landscape
import Linalg
import XCTest

final class LandscapeTests: XCTestCase {
    func testSoftmaxIsFiniteAtExtremeScales() {
        let rng = RandomStream(seed: 1)
        for scale in [1e-6, 1, 1e4, 1e300] {
            let z = (0..<50).map { _ in scale * rng.gaussian() }
            let p = softmaxRows(z, classes: 10)
            XCTAssertTrue(p.allSatisfy { $0.isFinite && $0 >= 0 && $0 <= 1 }, "σ_z = \(scale)")
            for row in 0..<5 { XCTAssertEqual(p[(10 * row)..<(10 * row + 10)].reduce(0, +), 1, accuracy: 1e-12) }
        }
        let s = ProbabilityStatistics(probabilities: softmaxRows([Double](repeating: 0, count: 30), classes: 10), classes: 10)
        XCTAssertEqual(s.meanEntropyBits, log2(10), accuracy: 1e-12)
        XCTAssertEqual(s.meanMaxProbability, 0.1, accuracy: 1e-15)
        let frozen = ProbabilityStatistics(probabilities: [1, 0, 0, 0, 1, 0], classes: 3)
        XCTAssertEqual(frozen.meanEntropyBits, 0)
        XCTAssertEqual(frozen.meanMaxProbability, 1)
    }

    /// q statistics from ‖Σu‖² − Σ‖u‖² and from a Gram agree with the O(N²) pair loop of eqs. 11–13.
    func testClusteringMatchesPairLoop() {
        let (n, c, d) = (7, 3, 5)
        let rng = RandomStream(seed: 3)
        var j = rng.gaussianMatrix(rows: d, cols: n * c)
        for col in 0..<(n * c) { j[0, col] += 2 * Double(col % c) }  // some shared structure per logit
        let labels = [0, 1, 2, 0, 0, 1, 2]
        func cosine(_ a: Int, _ b: Int) -> Double {
            let x = j.column(a), y = j.column(b)
            return BLAS.dot(x, y) / (BLAS.dot(x, x) * BLAS.dot(y, y)).squareRoot()
        }
        var slsc = 0.0, sl = 0.0, dl = 0.0
        for k in 0..<c {
            let members = (0..<n).filter { labels[$0] == k }
            var s = 0.0
            for mu in members { for nu in members where nu != mu { s += cosine(mu * c + k, nu * c + k) } }
            slsc += s / Double(members.count * (members.count - 1))
            var t = 0.0
            for mu in 0..<n { for nu in 0..<n where nu != mu { t += cosine(mu * c + k, nu * c + k) } }
            sl += t / Double(n * (n - 1))
            for l in 0..<c where l != k {
                var u = 0.0
                for mu in 0..<n { for nu in 0..<n where nu != mu { u += cosine(mu * c + k, nu * c + l) } }
                dl += u / Double(n * (n - 1))
            }
        }
        let fromVectors = LogitGradientClustering(LogitGradientPairSums(jacobianColumns: j, labels: labels, classes: c))
        let fromGram = LogitGradientClustering(LogitGradientPairSums(gram: BLAS.gram(j), labels: labels, classes: c))
        for q in [fromVectors, fromGram] {
            XCTAssertEqual(q.qSLSC, slsc / Double(c), accuracy: 1e-13)
            XCTAssertEqual(q.qSL, sl / Double(c), accuracy: 1e-13)
            XCTAssertEqual(q.qDL, dl / Double(c * (c - 1)), accuracy: 1e-13)
        }
    }

    func testOutlierRuleNeedsMarginAboveEdge() {
        let noise = [1.0, 0.95, 0.9, 0.85]
        // Edge 1, margin 1 − 0.85 = 0.15 for a rank-4 spike.
        let o = OutlierCount(eigenvalues: [3, 1.2, 1.1, 1.02, 0.9], noiseTopEigenvalues: noise, spikeRank: 4)
        XCTAssertEqual(o.bulkEdge, 1)
        XCTAssertEqual(o.margin, 0.15, accuracy: 1e-15)
        XCTAssertEqual(o.outliers, 2)
    }

    func testGradientPowerAndTraceOverNorm() {
        let cos2 = gradientCosineSquared(projections: [3, 4, 0], gradientNormSquared: 25)
        XCTAssertEqual(cos2, [9.0 / 25, 16.0 / 25, 0])
        XCTAssertEqual(gradientPower(cosineSquared: cos2, top: 1), 0.36, accuracy: 1e-15)
        let t = TraceOverNorm(eigenvalues: [4, 1, 1, -0.5])
        XCTAssertEqual(t.trace, 5.5)
        XCTAssertEqual(t.spectralNorm, 4)
        XCTAssertEqual(t.ratio, 1.375)
    }
}
