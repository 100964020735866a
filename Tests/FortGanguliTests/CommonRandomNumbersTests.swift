import FortGanguli
import Linalg
import XCTest

/// Common random numbers in sweeps and phase grids: one draw a seed, reused at every point, so each
/// row is still an exact sample of the model (the same law as independent draws) while differences
/// between points lose most of their variance.
final class CommonRandomNumbersTests: XCTestCase {
    func base() -> ModelConfiguration {
        var c = ModelConfiguration()
        (c.examples, c.classes, c.dimension) = (40, 4, 1000)
        return c
    }

    /// Seed k's logits are σ_z·ξ with the same ξ, and its labels the same, at every point.
    func testOneDrawPerSeedIsReusedAtEveryPoint() throws {
        let sweep = SigmaZSweep(base: base(), sigmaZMin: 0.5, sigmaZMax: 20, points: 3, seeds: 2, growth: .fixed)
        let a = sweep.configuration(point: 0, seed: 1), b = sweep.configuration(point: 2, seed: 1)
        XCTAssertEqual(a.seed, b.seed)
        let (la, lb) = (DenseModel.sampleLogits(a), DenseModel.sampleLogits(b))
        for i in la.logits.indices { XCTAssertEqual(la.logits[i] / a.sigmaZ, lb.logits[i] / b.sigmaZ, accuracy: 1e-15 * abs(la.logits[i] / a.sigmaZ)) }
        XCTAssertEqual(la.labels, lb.labels)
        let independent = SigmaZSweep(base: base(), sigmaZMin: 0.5, sigmaZMax: 20, points: 3, seeds: 2, growth: .fixed, independentDraws: true)
        let seeds = (0..<3).flatMap { p in (0..<2).map { independent.configuration(point: p, seed: $0).seed } }
        XCTAssertEqual(Set(seeds).count, 6, "independent draws: one seed per row")
        let phase = PhaseGrid(base: base(), sigmaZMin: 1, sigmaZMax: 10, sigmaZPoints: 2, snrMin: 0.1, snrMax: 1, snrPoints: 3, seeds: 2,
                              independentDraws: true)
        let cells = (0..<2).flatMap { i in (0..<3).flatMap { j in (0..<2).map { phase.configuration(sigmaZPoint: i, snrPoint: j, seed: $0).seed } } }
        XCTAssertEqual(Set(cells).count, 12)
    }

    /// λ₁ at one point over 100 seeds: common random numbers and independent draws agree within
    /// 3 standard errors of their difference (the same law); the difference of λ₁ between two nearby
    /// points has a smaller spread under common random numbers. (100 seeds rather than 40: ten
    /// blocks of 40 seeds at σ_z = 2.5 have means spread as their SE says, and the first two sit 3.2 SE
    /// apart, a 1-in-700 pair; 100 seeds keep the test's power without that chance.)
    func testSameLawAndSmallerVarianceOfDifferences() throws {
        let seeds = 100
        func topEigenvalues(_ s: SigmaZSweep, point: Int) throws -> [Double] {
            try (0..<seeds).map { try ModelSimulation.run(s.configuration(point: point, seed: $0)).eigenvalues[0] }
        }
        let common = SigmaZSweep(base: base(), sigmaZMin: 2, sigmaZMax: 2.5, points: 2, seeds: seeds, growth: .fixed)
        var independent = common
        independent.independentDraws = true
        let (c0, c1) = (try topEigenvalues(common, point: 0), try topEigenvalues(common, point: 1))
        let (i0, i1) = (try topEigenvalues(independent, point: 0), try topEigenvalues(independent, point: 1))
        func meanAndVariance(_ x: [Double]) -> (Double, Double) {
            let m = x.reduce(0, +) / Double(x.count)
            return (m, x.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(x.count - 1))
        }
        for (crn, ind) in [(c0, i0), (c1, i1)] {
            let (mc, vc) = meanAndVariance(crn), (mi, vi) = meanAndVariance(ind)
            let se = ((vc + vi) / Double(seeds)).squareRoot()
            XCTAssertLessThan(abs(mc - mi), 3 * se, "λ₁: common \(mc), independent \(mi), SE \(se)")
        }
        let (_, crnDifference) = meanAndVariance(zip(c1, c0).map { $0 - $1 })
        let (_, independentDifference) = meanAndVariance(zip(i1, i0).map { $0 - $1 })
        XCTAssertLessThan(crnDifference, 0.25 * independentDifference, "variance of λ₁(σ_z = 2.5) − λ₁(2)")
    }
}
