import Foundation
import Linalg

/// Tr(H) with how it was obtained and its standard error (0 when exact).
public struct TraceEstimate: Equatable, Sendable {
    public var value: Double
    public var standardError: Double
    /// "exact", "exact-diagonal", "gram+hutchinson", …: says which rule produced `value`.
    public var method: String

    public init(value: Double, standardError: Double, method: String) {
        (self.value, self.standardError, self.method) = (value, standardError, method)
    }

    public var isExact: Bool { standardError == 0 }
}

/// Trace/‖·‖ of a Hessian restricted to R independent random d-dimensional hyperplanes (QᵀHQ with
/// Q a Haar-random orthonormal D×d frame, ‖·‖ the spectral norm max|λ|): the mean over the R draws
/// and its standard error s/√R (NaN for R = 1). The same definition serves model and network.
public struct HyperplaneEstimate: Equatable, Sendable {
    public var dimension: Int
    public var draws: [Double]
    public var mean: Double { draws.isEmpty ? .nan : draws.reduce(0, +) / Double(draws.count) }
    public var standardError: Double {
        guard draws.count > 1 else { return .nan }
        let m = mean
        return (draws.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(draws.count - 1) / Double(draws.count)).squareRoot()
    }

    public init(dimension: Int, draws: [Double]) {
        (self.dimension, self.draws) = (dimension, draws)
    }

    /// From the projected d×d matrices QᵀHQ of each draw (symmetrised here).
    public init(projected: [Matrix]) throws {
        dimension = projected.first?.rows ?? 0
        draws = try projected.map { m in
            let symmetric = 0.5 * (m + m.transposed)
            return TraceOverNorm(eigenvalues: try Eigen.symmetric(symmetric, vectors: false).values).ratio
        }
    }
}

/// What a Hessian seen through Hessian-vector products shows: both ends of the spectrum, the
/// spectral norm ‖H‖ = max(λ_max, −λ_min) (a network's Hessian is indefinite), the trace, their
/// ratio, and the hyperplane version.
public struct HessianStatistics: Sendable {
    /// Largest eigenvalues, descending.
    public var top: [Double]
    /// Smallest eigenvalues, ascending.
    public var bottom: [Double]
    public var trace: TraceEstimate
    public var hyperplane: HyperplaneEstimate
    /// Fraction of ‖g‖² in the span of the top eigenvectors.
    public var gradientPowerTopK: Double
    /// Top eigenvalues of the H-term H − G.
    public var hTermTop: [Double]
    /// Smoothed spectral density by stochastic Lanczos quadrature, if asked for.
    public var density: SpectralQuadrature?
    public var hessianVectorProducts: Int

    public init(top: [Double], bottom: [Double], trace: TraceEstimate, hyperplane: HyperplaneEstimate, gradientPowerTopK: Double,
                hTermTop: [Double], density: SpectralQuadrature?, hessianVectorProducts: Int) {
        (self.top, self.bottom, self.trace, self.hyperplane) = (top, bottom, trace, hyperplane)
        (self.gradientPowerTopK, self.hTermTop, self.density, self.hessianVectorProducts) = (gradientPowerTopK, hTermTop, density, hessianVectorProducts)
    }

    /// max(λ_max, −λ_min).
    public var norm: Double { max(top.first ?? 0, -(bottom.first ?? 0), 0) }
    public var traceOverNorm: Double { norm > 0 ? trace.value / norm : .nan }
    /// The trace's standard error carried to the ratio (the norm is exact to the Lanczos tolerance).
    public var traceOverNormStandardError: Double { norm > 0 ? trace.standardError / norm : .nan }
}
