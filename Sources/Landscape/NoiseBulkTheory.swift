import Foundation

/// Random-matrix theory of the model's noise term N = Σ_i τ_i x_i x_iᵀ, x_i ~ N(0, I_D), and of the
/// outliers a PSD spike adds to it (Silverstein's equation; Benaych-Georges & Nadakuditi 2011).
///
/// The Stieltjes transform s(z) = (1/D) tr(N − z)⁻¹ solves s = 1/(−z + Σ τ_i/(1 + D τ_i s)), i.e.
/// z(s) = −1/s + Σ τ_i/(1 + D τ_i s). On (−1/(D τ_max), 0) this is real and convex, so the right bulk
/// edge is λ₊ = z(s*) at its unique critical point z'(s*) = 0; beyond it G(λ) = −s(λ) =
/// (1/D) tr(λ − N)⁻¹. A spike θ gives an outlier iff θ > 1/G(λ₊) (the BBP threshold), at λ = z(−1/θ).
///
/// The density is exact up to rounding and certified point by point (Silverstein & Choi 1995): for
/// real λ > 0 the equation z(s) = λ has at most one root with Im s > 0, which gives ρ(λ) = Im s/π,
/// and λ is outside the support iff it has a real root with z'(s) > 0. Whichever is found decides.
///
///     let t = NoiseBulkTheory(weights: taus, dimension: 1e6)
///     t.edge; t.outlier(spike: 0.02); t.density(on: grid)
public struct NoiseBulkTheory: Sendable {
    /// D, the ambient dimension (a Double so that D = 1e12 is fine).
    public let dimension: Double
    /// The positive weights τ_i in the order given (zeros dropped).
    public let weights: [Double]
    /// λ₊, the right edge of the bulk.
    public let edge: Double
    /// s* = s(λ₊) < 0, the critical point of z(s) that sets the edge.
    public let edgeStieltjes: Double

    /// Distinct positive weights and their multiplicities: every sum runs over these.
    private let values: [Double]
    private let counts: [Double]
    /// M₊/D.
    private let aspect: Double

    /// 1/G(λ₊) = −1/s*: spikes above it produce outliers.
    public var bbpThreshold: Double { -1 / edgeStieltjes }
    /// Fraction of N's D eigenvalues that are exactly zero, max(0, 1 − M₊/D).
    public var massAtZero: Double { max(0, 1 - Double(weights.count) / dimension) }

    /// The theory for weights τ (zeros ignored, at least one positive) in dimension D.
    public init(weights all: [Double], dimension: Double) {
        let w = all.filter { $0 > 0 }
        precondition(!w.isEmpty, "the noise term needs at least one positive weight")
        precondition(dimension > 0 && dimension.isFinite, "dimension must be positive and finite")
        precondition(w.allSatisfy(\.isFinite), "weights must be finite")
        weights = w
        self.dimension = dimension
        var v: [Double] = [], c: [Double] = []
        for t in w.sorted() {
            if let last = v.last, last == t { c[c.count - 1] += 1 } else { v.append(t); c.append(1) }
        }
        values = v
        counts = c
        aspect = Double(w.count) / dimension
        // z'(s) increases (z'' > 0) from −∞ at s → −1/(Dτ_max)⁺ to +∞ at s → 0⁻: bisect for its root.
        var lo = -1 / (dimension * v.last!), hi = 0.0
        while true {
            let mid = 0.5 * (lo + hi)
            if mid <= lo || mid >= hi { break }
            if Self.stieltjesTerms(mid, v, c, dimension).derivative > 0 { hi = mid } else { lo = mid }
        }
        let star = 0.5 * (lo + hi)
        edgeStieltjes = star
        edge = Self.stieltjesTerms(star, v, c, dimension).z
    }

    /// G(λ) = −s(λ) = (1/D) tr(λ − N)⁻¹ for λ > λ₊; nil at or inside the bulk edge.
    public func greensFunction(at lambda: Double) -> Double? {
        guard lambda > edge, lambda.isFinite else { return nil }
        var lo = edgeStieltjes, hi = 0.0  // z increases on (s*, 0) from λ₊ to +∞
        while true {
            let mid = 0.5 * (lo + hi)
            if mid <= lo || mid >= hi { break }
            if Self.stieltjesTerms(mid, values, counts, dimension).z < lambda { lo = mid } else { hi = mid }
        }
        return -0.5 * (lo + hi)
    }

    /// The outlier a spike θ produces, λ = z(−1/θ) = θ + Σ τ_i/(1 − Dτ_i/θ); nil at or below threshold.
    public func outlier(spike theta: Double) -> Double? {
        guard theta > bbpThreshold, theta.isFinite else { return nil }
        return Self.stieltjesTerms(-1 / theta, values, counts, dimension).z
    }

    /// ρ(λ) = Im s(λ + i0⁺)/π, the continuous part of the density (the atom at 0 excluded).
    public func density(at lambda: Double) -> Double {
        guard lambda > 0, lambda < edge else { return 0 }
        return solve(lambda).density
    }

    /// ρ on a grid, each point continued from the previous one (any order is correct; increasing
    /// and fine is fastest), falling back to the single-point solver where continuation fails.
    public func density(on grid: [Double]) -> [Double] {
        var previous: Root? = nil
        return grid.map { lambda in
            guard lambda > 0, lambda < edge else { previous = nil; return 0 }
            var found: Root? = nil
            switch previous {
            case .inside(let w)?: found = newtonAtAxis(lambda, from: w)
            case .outside(let w)?: found = realRoot(lambda, from: w).map { Root.outside($0) }
            case nil: break
            }
            let result = found.map { (root: $0, density: $0.density) } ?? solve(lambda)
            previous = result.root
            return result.density
        }
    }

    // MARK: - Solver
    //
    // The density solver works in w = 1/s, where z(w) = −w + Σ τ_i w/(w + Dτ_i) and nothing overflows
    // for tiny λ (s² would). Im s > 0 ⇔ Im w < 0, and z'(s) = −w² dz/dw, so
    // "real root with z'(s) > 0" reads "real root with dz/dw < 0".

    /// A certified root of z(w) = λ: in the lower half-plane (λ in the support) or real with dz/dw < 0.
    private enum Root {
        case inside(Complex)
        case outside(Double)
        var density: Double {
            if case .inside(let w) = self { return (Complex(1, 0) / w).imaginary / Double.pi } else { return 0 }
        }
    }

    /// Single point: follow the unique root of z(w) = λ + iη with Im w < 0 from η ≫ λ₊ (where
    /// w ≈ −z) down to η = 1e-14·λ, then settle at η = 0. Each η > 0 has exactly one such root, so
    /// the path cannot switch to a wrong one.
    private func solve(_ lambda: Double) -> (root: Root?, density: Double) {
        var eta = 4 * max(edge, lambda)
        let floor = 1e-14 * lambda
        var w = newton(Complex(lambda, eta), from: Complex(-lambda, -eta), iterations: 200).root
        while eta > floor {
            var target = max(0.1 * eta, floor)
            var next: Complex? = nil
            for _ in 0..<30 {
                let attempt = newton(Complex(lambda, target), from: w, iterations: 60)
                if attempt.converged { next = attempt.root; break }
                target = (eta * target).squareRoot()  // a smaller step in log η
            }
            guard let accepted = next else { break }
            w = accepted
            eta = target
        }
        if let root = newtonAtAxis(lambda, from: w) { return (root, root.density) }
        // Undecided only within rounding of an edge: ρ smoothed over η ≈ 1e-14·λ.
        return (nil, max(0, (Complex(1, 0) / w).imaginary) / Double.pi)
    }

    /// Newton on z(w) = λ (real) from w in the lower half-plane, then certify: a stable root with
    /// Im w < 0 gives the density; if the iterates collapse onto the real axis, the real limit decides
    /// (dz/dw < 0: outside the support). Nil if undecided.
    private func newtonAtAxis(_ lambda: Double, from start: Complex) -> Root? {
        let target = Complex(lambda, 0)
        let result = newton(target, from: start, iterations: 100)
        let w = result.root
        if result.converged && w.imaginary < 0 {
            // A genuine root is a fixed point of the undamped step; near a real root Im w collapses.
            let (f, df, _) = terms(w, target)
            let next = w - f / df
            if next.imaginary < 0.5 * w.imaginary && next.imaginary > 2 * w.imaginary { return .inside(w) }
        }
        if let r = realRoot(lambda, from: w.real) { return .outside(r) }
        return nil
    }

    /// Real Newton on z(w) = λ from w; the root if it converges with dz/dw < 0 (λ outside the support).
    private func realRoot(_ lambda: Double, from start: Double) -> Double? {
        var w = start
        for _ in 0..<60 {
            guard w != 0, w.isFinite else { return nil }
            let t = realTerms(w)
            let residual = t.z - lambda
            // Converged when the residual is at rounding level of z's summands or the step is tiny;
            // dz/dw (dimensionless) must then be clearly negative.
            if abs(residual) <= 16 * Double.ulpOfOne * t.scale { return t.derivative < -1e-10 ? w : nil }
            guard t.derivative != 0 else { return nil }
            let step = residual / t.derivative
            w -= step
            if abs(step) <= 1e-13 * abs(w) { return realTerms(w).derivative < -1e-10 ? w : nil }
        }
        return nil
    }

    /// Damped Newton on z(w) = target kept in the lower half-plane: each step is halved until the
    /// iterate stays there and |f| decreases. Converged when the step or |f| reaches rounding level.
    private func newton(_ target: Complex, from start: Complex, iterations: Int) -> (root: Complex, converged: Bool) {
        var w = start
        var (f, df, scale) = terms(w, target)
        for _ in 0..<iterations {
            if f.magnitude <= 8 * Double.ulpOfOne * scale { return (w, true) }
            let step = f / df
            guard step.real.isFinite, step.imaginary.isFinite else { return (w, false) }
            var factor = 1.0
            var accepted = false
            for _ in 0..<50 {
                let next = w - Complex(factor, 0) * step
                if next.imaginary < 0 {
                    let (fn, dfn, sn) = terms(next, target)
                    if fn.magnitude < f.magnitude || factor * step.magnitude <= 1e-14 * w.magnitude {
                        w = next; f = fn; df = dfn; scale = sn
                        accepted = true
                        break
                    }
                }
                factor *= 0.5
            }
            if !accepted { return (w, false) }
            if factor * step.magnitude <= 1e-14 * w.magnitude { return (w, true) }
        }
        return (w, false)
    }

    /// f(w) = z(w) − target, f'(w) and the size of f's summands, with z(w) written as
    /// (M₊/D − 1)·w − (w²/D)·Σ 1/(w + Dτ_i): no cancellation for small λ, even at M₊ = D.
    private func terms(_ w: Complex, _ target: Complex) -> (Complex, Complex, Double) {
        var sum = Complex(0, 0), sumSquares = Complex(0, 0)
        var size = 0.0
        for k in values.indices {
            let r = Complex(1, 0) / Complex(w.real + dimension * values[k], w.imaginary)
            let a = Complex(counts[k], 0) * r
            sum = sum + a
            sumSquares = sumSquares + a * r
            size += a.magnitude
        }
        let (y1, invD) = (Complex(aspect - 1, 0), Complex(1 / dimension, 0))
        let f = y1 * w - invD * w * w * sum - target
        let df = y1 - Complex(2 / dimension, 0) * w * sum + invD * w * w * sumSquares
        return (f, df, w.magnitude * abs(aspect - 1) + w.magnitude * w.magnitude * size / dimension + target.magnitude)
    }

    /// z(w), dz/dw and the size of z's summands, for real w (same form as `terms`).
    private func realTerms(_ w: Double) -> (z: Double, derivative: Double, scale: Double) {
        var sum = 0.0, sumSquares = 0.0, size = 0.0
        for k in values.indices {
            let r = 1 / (w + dimension * values[k])
            sum += counts[k] * r
            sumSquares += counts[k] * r * r
            size += counts[k] * abs(r)
        }
        let z = (aspect - 1) * w - w * w * sum / dimension
        let dz = (aspect - 1) - 2 * w * sum / dimension + w * w * sumSquares / dimension
        return (z, dz, abs(w) * abs(aspect - 1) + w * w * size / dimension)
    }

    /// z(s) and z'(s) = 1/s² − Σ D τ²/(1 + Dτs)² for real s (edge, G and outliers).
    private static func stieltjesTerms(_ s: Double, _ v: [Double], _ c: [Double], _ d: Double) -> (z: Double, derivative: Double) {
        var z = -1 / s
        var dz = 1 / (s * s)
        for k in v.indices {
            let q = 1 / (1 + d * v[k] * s)
            let a = c[k] * v[k] * q
            z += a
            dz -= d * v[k] * a * q
        }
        return (z, dz)
    }
}

/// Minimal complex arithmetic for the density solver.
private struct Complex: Sendable {
    var real: Double
    var imaginary: Double
    init(_ real: Double, _ imaginary: Double) { self.real = real; self.imaginary = imaginary }
    var magnitude: Double { hypot(real, imaginary) }
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
