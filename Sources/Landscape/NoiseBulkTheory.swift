import Foundation

/// Random-matrix theory of the model's noise term N = Σ_i τ_i x_i x_iᵀ, x_i ~ N(0, I_D), and of the
/// outliers a PSD spike adds to it (Silverstein's equation; Benaych-Georges & Nadakuditi 2011).
///
/// The Stieltjes transform s(z) = (1/D) tr(N − z)⁻¹ solves s = 1/(−z + Σ τ_i/(1 + D τ_i s)).
/// For real s in (−1/(D τ_max), 0) its inverse z(s) = −1/s + Σ τ_i/(1 + D τ_i s) is real and convex
/// (z'' > 0), so the right bulk edge is λ₊ = z(s*) at the unique critical point z'(s*) = 0; beyond
/// it G(λ) = −s(λ) = (1/D) tr(λ − N)⁻¹. A spike of strength θ gives an outlier iff θ > 1/G(λ₊)
/// (the BBP threshold), at λ = z(−1/θ).
///
///     let t = NoiseBulkTheory(weights: taus, dimension: 1e6)
///     t.edge; t.outlier(spike: 0.02)
public struct NoiseBulkTheory: Sendable {
    public let dimension: Double
    /// The positive weights τ_i (zeros dropped).
    public let weights: [Double]
    /// λ₊, the right edge of the bulk.
    public let edge: Double
    /// s* = s(λ₊), negative.
    public let edgeStieltjes: Double

    /// 1/G(λ₊) = −1/s*: spikes above it produce outliers.
    public var bbpThreshold: Double { -1 / edgeStieltjes }
    /// Fraction of N's D eigenvalues that are exactly zero, max(0, 1 − M₊/D).
    public var massAtZero: Double { max(0, 1 - Double(weights.count) / dimension) }

    public init(weights all: [Double], dimension: Double) {
        let w = all.filter { $0 > 0 }
        precondition(!w.isEmpty, "the noise term needs at least one positive weight")
        precondition(dimension > 0, "dimension must be positive")
        weights = w
        self.dimension = dimension
        let tmax = w.max()!
        // z'(s) increases from −∞ (s → −1/(Dτ_max)) to +∞ (s → 0⁻): bisect for its root.
        var lo = -1 / (dimension * tmax), hi = 0.0
        for _ in 0..<200 {
            let mid = 0.5 * (lo + hi)
            if mid == lo || mid == hi { break }
            if NoiseBulkTheory.derivative(mid, w, dimension) > 0 { hi = mid } else { lo = mid }
        }
        let star = 0.5 * (lo + hi)
        edgeStieltjes = star
        edge = NoiseBulkTheory.inverse(star, w, dimension)
    }

    /// z(s) = −1/s + Σ τ_i/(1 + D τ_i s).
    static func inverse(_ s: Double, _ w: [Double], _ d: Double) -> Double {
        var z = -1 / s
        for t in w { z += t / (1 + d * t * s) }
        return z
    }

    /// z'(s) = 1/s² − Σ D τ_i²/(1 + D τ_i s)².
    static func derivative(_ s: Double, _ w: [Double], _ d: Double) -> Double {
        var z = 1 / (s * s)
        for t in w { let q = 1 + d * t * s; z -= d * t * t / (q * q) }
        return z
    }

    /// G(λ) = (1/D) tr(λ − N)⁻¹ for λ > λ₊ (nil inside the bulk): the root of z(s) = λ in (s*, 0).
    public func greensFunction(at lambda: Double) -> Double? {
        guard lambda > edge else { return nil }
        var lo = edgeStieltjes, hi = 0.0  // z increases on (s*, 0) from λ₊ to +∞
        for _ in 0..<200 {
            let mid = 0.5 * (lo + hi)
            if mid == lo || mid == hi { break }
            if NoiseBulkTheory.inverse(mid, weights, dimension) < lambda { lo = mid } else { hi = mid }
        }
        return -0.5 * (lo + hi)
    }

    /// The outlier a spike θ produces, λ = z(−1/θ); nil at or below the BBP threshold.
    public func outlier(spike theta: Double) -> Double? {
        guard theta > bbpThreshold else { return nil }
        return NoiseBulkTheory.inverse(-1 / theta, weights, dimension)
    }

    /// ρ(λ) = Im s(λ + i0⁺)/π, the continuous part of the spectral density (the atom at 0 excluded).
    public func density(at lambda: Double) -> Double {
        density(on: [lambda])[0]
    }

    /// ρ on an increasing grid, continuing each complex root from the previous point.
    public func density(on grid: [Double]) -> [Double] {
        var previous: Complex? = nil
        return grid.map { lambda in
            guard lambda > 0, lambda < edge else { previous = nil; return 0 }
            let start = (previous.map { $0.imaginary > 1e-12 * abs($0.real) } ?? false) ? previous! : seed(lambda)
            let s = newton(lambda, from: start)
            previous = s
            return max(0, s.imaginary) / Double.pi
        }
    }

    /// A starting point in the upper half-plane: the damped fixed-point iteration at λ + iη.
    private func seed(_ lambda: Double) -> Complex {
        let z = Complex(lambda, 1e-3 * edge)
        var s = Complex(0, 1 / edge)
        for _ in 0..<500 {
            var sum = Complex(0, 0)
            for t in weights { sum = sum + Complex(t, 0) / (Complex(1, 0) + Complex(dimension * t, 0) * s) }
            let next = Complex(1, 0) / (sum - z)
            s = Complex(0.5, 0) * s + Complex(0.5, 0) * next
        }
        return s
    }

    /// Newton on z(s) = λ in the upper half-plane, halving steps that would leave it.
    private func newton(_ lambda: Double, from start: Complex) -> Complex {
        var s = start
        for _ in 0..<100 {
            var f = Complex(-1, 0) / s - Complex(lambda, 0)
            var df = Complex(1, 0) / (s * s)
            for t in weights {
                let q = Complex(1, 0) + Complex(dimension * t, 0) * s
                f = f + Complex(t, 0) / q
                df = df - Complex(dimension * t * t, 0) / (q * q)
            }
            var step = f / df
            var next = s - step
            var halvings = 0
            while next.imaginary <= 0 && halvings < 60 { step = Complex(0.5, 0) * step; next = s - step; halvings += 1 }
            if next.imaginary <= 0 { return Complex(s.real, 0) }
            let change = (step.real * step.real + step.imaginary * step.imaginary).squareRoot()
            s = next
            if change <= 1e-14 * (s.real * s.real + s.imaginary * s.imaginary).squareRoot() { break }
        }
        return s
    }
}

/// Minimal complex arithmetic for the density solver.
struct Complex: Sendable {
    var real: Double
    var imaginary: Double
    init(_ real: Double, _ imaginary: Double) { self.real = real; self.imaginary = imaginary }
    static func + (a: Complex, b: Complex) -> Complex { Complex(a.real + b.real, a.imaginary + b.imaginary) }
    static func - (a: Complex, b: Complex) -> Complex { Complex(a.real - b.real, a.imaginary - b.imaginary) }
    static func * (a: Complex, b: Complex) -> Complex {
        Complex(a.real * b.real - a.imaginary * b.imaginary, a.real * b.imaginary + a.imaginary * b.real)
    }
    static func / (a: Complex, b: Complex) -> Complex {
        // Smith's algorithm: no overflow for large or small b.
        if abs(b.real) >= abs(b.imaginary) {
            let r = b.imaginary / b.real, den = b.real + b.imaginary * r
            return Complex((a.real + a.imaginary * r) / den, (a.imaginary - a.real * r) / den)
        } else {
            let r = b.real / b.imaginary, den = b.real * r + b.imaginary
            return Complex((a.real * r + a.imaginary) / den, (a.imaginary * r - a.real) / den)
        }
    }
}
