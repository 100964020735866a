import Foundation
import Landscape
import Linalg
import XCTest

/// The bulk/outlier theory against closed forms (Marchenko–Pastur, additive BBP) and sampling.
final class NoiseBulkTheoryTests: XCTestCase {
    /// N = τ Σ_{i≤M} x_i x_iᵀ is τ·M times a Marchenko–Pastur matrix of ratio y = D/M: edges
    /// τ(√M ± √D)², density √((b−λ)(λ−a))/(2π τ D λ) (continuous mass min(1, M/D)).
    func testMarchenkoPastur() {
        let tau = 2e-3
        for (m, d) in [(300.0, 1000.0), (3000.0, 1000.0)] {
            let t = NoiseBulkTheory(weights: [Double](repeating: tau, count: Int(m)), dimension: d)
            let (a, b) = (tau * pow(m.squareRoot() - d.squareRoot(), 2), tau * pow(m.squareRoot() + d.squareRoot(), 2))
            XCTAssertEqual(t.edge, b, accuracy: 1e-10 * b)
            XCTAssertEqual(t.massAtZero, max(0, 1 - m / d), accuracy: 1e-15)
            for f in [0.1, 0.3, 0.5, 0.7, 0.9] {
                let lambda = a + f * (b - a)
                let exact = ((b - lambda) * (lambda - a)).squareRoot() / (2 * Double.pi * tau * d * lambda)
                XCTAssertEqual(t.density(at: lambda), exact, accuracy: 1e-6 * exact, "M=\(m) f=\(f)")
            }
            XCTAssertEqual(t.density(at: 1.01 * b), 0)
        }
    }

    /// Additive spike θ on MP: threshold τ(D + √(MD)), outlier θ + Mτ/(1 − Dτ/θ).
    func testBBPClosedForm() {
        let (tau, m, d) = (1e-3, 2000.0, 1000.0)
        let t = NoiseBulkTheory(weights: [Double](repeating: tau, count: Int(m)), dimension: d)
        let threshold = tau * (d + (m * d).squareRoot())
        XCTAssertEqual(t.bbpThreshold, threshold, accuracy: 1e-9 * threshold)
        XCTAssertNil(t.outlier(spike: 0.999 * threshold))
        for theta in [1.2 * threshold, 3 * threshold] {
            XCTAssertEqual(t.outlier(spike: theta)!, theta + m * tau / (1 - d * tau / theta), accuracy: 1e-10 * theta)
        }
        XCTAssertEqual(t.greensFunction(at: t.outlier(spike: 2 * threshold)!)!, 1 / (2 * threshold), accuracy: 1e-9 / threshold)
    }

    /// The continuous density integrates to 1 − massAtZero (trapezoid rule on a fine grid).
    func testDensityIntegratesToContinuousMass() {
        let w = [Double](repeating: 1e-3, count: 400) + [Double](repeating: 5e-3, count: 200)
        let t = NoiseBulkTheory(weights: w, dimension: 1000)
        let grid = (1...5000).map { t.edge * Double($0) / 5000 }
        let rho = t.density(on: grid)
        var integral = 0.0
        for i in 1..<grid.count { integral += 0.5 * (rho[i] + rho[i - 1]) * (grid[i] - grid[i - 1]) }
        XCTAssertEqual(integral, 1 - t.massAtZero, accuracy: 2e-3)
    }

    /// Sampled N (D = 400, M = 1200, two weights): the top eigenvalue, averaged over 3 seeds, lies
    /// within 3% of λ₊ (finite-size fluctuations are O(D^{-2/3}) ≈ 2%), and a spike above threshold
    /// puts the top eigenvalue within 3% of the predicted outlier.
    func testAgainstSampledMatrices() throws {
        let (d, m) = (400, 1200)
        let w = (0..<m).map { $0 % 3 == 0 ? 4e-3 : 1e-3 }
        let t = NoiseBulkTheory(weights: w, dimension: Double(d))
        let theta = 2 * t.bbpThreshold
        var top = 0.0, spiked = 0.0
        for seed in 0..<3 {
            let rng = RandomStream(seed: UInt64(seed), stream: 9)
            var x = rng.gaussianMatrix(rows: d, cols: m)
            for j in 0..<m { for i in 0..<d { x[i, j] *= w[j].squareRoot() } }
            var n = BLAS.gram(x, transpose: false)
            top += try Eigen.symmetric(n, vectors: false, largest: 1).values[0] / 3
            let u = rng.gaussianMatrix(rows: d, cols: 1)
            let norm = BLAS.dot(u.storage, u.storage).squareRoot()
            BLAS.accumulateGram((theta.squareRoot() / norm) * u, transpose: false, into: &n)
            spiked += try Eigen.symmetric(n, vectors: false, largest: 1).values[0] / 3
        }
        XCTAssertEqual(top, t.edge, accuracy: 0.03 * t.edge)
        XCTAssertEqual(spiked, t.outlier(spike: theta)!, accuracy: 0.03 * t.outlier(spike: theta)!)
    }
}
