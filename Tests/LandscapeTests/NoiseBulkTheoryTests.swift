import Foundation
import Landscape
import Linalg
import XCTest

/// The bulk/outlier theory against closed forms (Marchenko–Pastur, additive BBP) and sampling.
final class NoiseBulkTheoryTests: XCTestCase {
    /// Equal weights τ: N = τ·XXᵀ with X a D×M standard Gaussian matrix, whose nonzero eigenvalues
    /// follow Marchenko–Pastur with edges a, b = τ(√M ∓ √D)² and density
    /// √((b − λ)(λ − a))/(2π τ D λ) per unit of D eigenvalues (continuous mass min(1, M/D), the rest
    /// an atom at 0). Edge to 1e-10 relative (the bisection reaches rounding; 1e-10 leaves room for
    /// the closed form's own rounding); density to 1e-6 relative at interior points (Newton converges
    /// to ~1e-12; the slack is for points 1% from an edge where ρ ∝ √distance amplifies rounding of λ).
    func testMarchenkoPastur() {
        for (tau, m, d) in [(2e-3, 300.0, 1000.0), (2e-3, 3000.0, 1000.0), (1e-12, 1e5, 1e12)] {
            let t = NoiseBulkTheory(weights: [Double](repeating: tau, count: Int(m)) + [0, 0], dimension: d)
            let a = tau * pow(m.squareRoot() - d.squareRoot(), 2), b = tau * pow(m.squareRoot() + d.squareRoot(), 2)
            XCTAssertEqual(t.edge, b, accuracy: 1e-10 * b, "M=\(m) D=\(d)")
            XCTAssertEqual(t.massAtZero, max(0, 1 - m / d), accuracy: 1e-15)
            let fractions = [0.01, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99]
            let grid = fractions.map { a + $0 * (b - a) }
            let onGrid = t.density(on: grid)
            for (i, lambda) in grid.enumerated() {
                let exact = ((b - lambda) * (lambda - a)).squareRoot() / (2 * Double.pi * tau * d * lambda)
                XCTAssertEqual(t.density(at: lambda), exact, accuracy: 1e-6 * exact, "M=\(m) D=\(d) at \(fractions[i])")
                XCTAssertEqual(onGrid[i], exact, accuracy: 1e-6 * exact, "grid, M=\(m) D=\(d) at \(fractions[i])")
            }
            // Outside [a, b] the density is exactly zero (certified by a real root with z' > 0).
            XCTAssertEqual(t.density(at: 1.01 * b), 0)
            XCTAssertEqual(t.density(at: a - 0.01 * (b - a)), 0)
            XCTAssertEqual(t.density(on: [0.5 * a, a - 0.001 * (b - a), b + 0.001 * (b - a)]), [0, 0, 0])
        }
    }

    /// Additive spike θ on MP: G(λ₊) = 1/(τ(D + √(MD))), so the threshold is τ(D + √(MD)), and the
    /// outlier is λ = θ + Mτ/(1 − Dτ/θ). Both are closed-form evaluations of the same expressions,
    /// so they agree to rounding (1e-9 relative allows for the bisection of s*).
    func testBBPClosedForm() {
        let (tau, m, d) = (1e-3, 2000.0, 1000.0)
        let t = NoiseBulkTheory(weights: [Double](repeating: tau, count: Int(m)), dimension: d)
        let threshold = tau * (d + (m * d).squareRoot())
        XCTAssertEqual(t.bbpThreshold, threshold, accuracy: 1e-9 * threshold)
        XCTAssertNil(t.outlier(spike: 0.999 * threshold))
        XCTAssertNil(t.outlier(spike: t.bbpThreshold))
        for theta in [1.2 * threshold, 3 * threshold, 100 * threshold] {
            let lambda = t.outlier(spike: theta)!
            XCTAssertEqual(lambda, theta + m * tau / (1 - d * tau / theta), accuracy: 1e-10 * theta)
            XCTAssertGreaterThan(lambda, t.edge)
            XCTAssertEqual(t.greensFunction(at: lambda)!, 1 / theta, accuracy: 1e-9 / theta)
        }
        // The outlier leaves the bulk continuously: at θ just above threshold it sits at λ₊
        // (λ − λ₊ is quadratic in θ − θ_c, so a 1e-6 relative excess moves it ~1e-12).
        XCTAssertEqual(t.outlier(spike: threshold * (1 + 1e-6))!, t.edge, accuracy: 1e-9 * t.edge)
        XCTAssertNil(t.greensFunction(at: 0.999 * t.edge))
    }

    /// The continuous density integrates to 1 − massAtZero for a two-valued τ (trapezoid rule on
    /// 20000 points: the error is dominated by the √ edges, ~1e-5 here; tolerance 1e-3).
    func testDensityIntegratesToContinuousMass() {
        let w = [Double](repeating: 1e-3, count: 400) + [Double](repeating: 5e-3, count: 200)
        let t = NoiseBulkTheory(weights: w, dimension: 1000)
        XCTAssertEqual(t.massAtZero, 0.4, accuracy: 1e-15)
        let grid = (1...20000).map { t.edge * Double($0) / 20000 }
        XCTAssertEqual(trapezoid(grid, t.density(on: grid)), 1 - t.massAtZero, accuracy: 1e-3)
    }

    /// Two well-separated weights make two bands with a gap: each band holds its own mass m_k/D
    /// (trapezoid on 40000 points, 1e-3 relative), the gap is exactly zero, and grid continuation
    /// agrees with independent single-point solves (both converge to rounding; 1e-10 relative).
    func testSeparatedBandsAndGap() {
        let w = [Double](repeating: 1e-3, count: 100) + [Double](repeating: 1, count: 100)
        let t = NoiseBulkTheory(weights: w, dimension: 1e4)  // bands near Dτ = 10 and 1e4
        let low = (0...40000).map { 5 + 10 * Double($0) / 40000 }
        let high = (0...40000).map { 7e3 + 6e3 * Double($0) / 40000 }
        let rhoLow = t.density(on: low), rhoHigh = t.density(on: high)
        XCTAssertEqual(trapezoid(low, rhoLow), 0.01, accuracy: 1e-5)
        XCTAssertEqual(trapezoid(high, rhoHigh), 0.01, accuracy: 1e-5)
        XCTAssertEqual(rhoLow.first, 0)
        XCTAssertEqual(rhoLow.last, 0)
        let gap = (0...500).map { 20 + 6000 * Double($0) / 500 }
        XCTAssertEqual(t.density(on: gap), [Double](repeating: 0, count: gap.count))
        let peak = rhoLow.max()!
        for i in stride(from: 0, to: low.count, by: 997) {
            XCTAssertEqual(t.density(at: low[i]), rhoLow[i], accuracy: 1e-10 * peak)
        }
    }

    /// Tiny weights in a huge dimension (τ = 1e-30…1, D = 1e12): every τ_k makes its own narrow
    /// band at Dτ_k of mass 1/D, including the bottom one at 1e-18. Trapezoid on 5000 points over
    /// ±1e-5 relative (the band is ±2e-6 wide), tolerance 1e-3 relative.
    func testNarrowBandsAcrossThirtyDecades() {
        let w = (0..<100).map { pow(10, -30 + 30 * Double($0) / 99) }
        let t = NoiseBulkTheory(weights: w, dimension: 1e12)
        for k in [0, 40, 99] {
            let center = 1e12 * w[k]
            let grid = (0...5000).map { center * (1 - 1e-5 + 2e-5 * Double($0) / 5000) }
            XCTAssertEqual(trapezoid(grid, t.density(on: grid)), 1e-12, accuracy: 1e-15, "band \(k)")
        }
        XCTAssertEqual(t.density(at: 1e-300), 0)
    }

    /// Sampled N (D = 400, M = 1200, τ ∈ {1e-3, 4e-3}): the top eigenvalue, averaged over 3 seeds,
    /// lies within 3% of λ₊ (the Tracy–Widom shift and spread are O(D^{-2/3}) ≈ 2%; measured −2.3%),
    /// and adding θ u uᵀ with θ = 2·threshold puts the top eigenvalue within 3% of the predicted
    /// outlier (its fluctuations are O(D^{-1/2}); measured −1.1%).
    func testAgainstSampledMatrices() throws {
        let (d, m) = (400, 1200)
        let w = (0..<m).map { $0 % 3 == 0 ? 4e-3 : 1e-3 }
        let t = NoiseBulkTheory(weights: w, dimension: Double(d))
        let theta = 2 * t.bbpThreshold
        let predicted = try XCTUnwrap(t.outlier(spike: theta))
        var top = 0.0, spiked = 0.0
        for seed in 0..<3 {
            let rng = RandomStream(seed: UInt64(seed), stream: 9)
            var x = rng.gaussianMatrix(rows: d, cols: m)
            for j in 0..<m { for i in 0..<d { x[i, j] *= w[j].squareRoot() } }
            var n = BLAS.gram(x, transpose: false)  // X·Xᵀ = Σ τ_i x_i x_iᵀ, D×D
            top += try Eigen.symmetric(n, vectors: false).values[0] / 3
            let u = rng.gaussianMatrix(rows: d, cols: 1)
            let norm = BLAS.dot(u.storage, u.storage).squareRoot()
            BLAS.accumulateGram((theta.squareRoot() / norm) * u, transpose: false, into: &n)  // + θ u uᵀ
            spiked += try Eigen.symmetric(n, vectors: false).values[0] / 3
        }
        XCTAssertEqual(top, t.edge, accuracy: 0.03 * t.edge)
        XCTAssertEqual(spiked, predicted, accuracy: 0.03 * predicted)
        XCTAssertGreaterThan(spiked, top)
    }

    private func trapezoid(_ x: [Double], _ y: [Double]) -> Double {
        var sum = 0.0
        for i in 1..<x.count { sum += 0.5 * (y[i] + y[i - 1]) * (x[i] - x[i - 1]) }
        return sum
    }
}
