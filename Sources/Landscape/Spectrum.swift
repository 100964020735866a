import Foundation

/// Bulk edge and outlier count of a Hessian spectrum.
///
/// The rule: the bulk edge is the top eigenvalue of the noise (bulk-generating) term alone,
/// λ₁(noise). A PSD spike can only push eigenvalues up, so eigenvalues just above λ₁(noise) are
/// not evidence of an outlier; an eigenvalue counts as an outlier only if it exceeds the edge by a
/// margin the size of the edge's finite-size fluctuation. We estimate that fluctuation from the
/// noise spectrum itself, as the spread of its top `C` eigenvalues, λ₁(noise) − λ_C(noise): near a
/// soft edge both the spacing of the top eigenvalues and the fluctuation of λ₁ scale alike
/// (Tracy–Widom, ∝ D^{-2/3}), and C subcritical spikes can lift the top eigenvalues by about
/// that much. So a subcritical spike counts as no outlier, and a BBP outlier, which sits a finite
/// distance above the edge, counts.
public struct OutlierCount: Equatable, Sendable, Codable {
    /// λ₁ of the noise term.
    public var bulkEdge: Double
    /// The finite-size margin above the edge.
    public var margin: Double
    /// How many eigenvalues exceed bulkEdge + margin.
    public var outliers: Int

    /// - Parameters:
    ///   - eigenvalues: the Hessian's eigenvalues, any order.
    ///   - noiseTopEigenvalues: the top eigenvalues of the noise term alone, at least `spikeRank` of them.
    ///   - spikeRank: the rank of the spike (C for the model); sets how many noise eigenvalues span the margin.
    public init(eigenvalues: [Double], noiseTopEigenvalues: [Double], spikeRank: Int) {
        self.init(noiseTopEigenvalues: noiseTopEigenvalues, spikeRank: spikeRank,
                  countAbove: { level in eigenvalues.reduce(0) { $0 + ($1 > level ? 1 : 0) } })
    }

    /// The same rule when the spectrum is not listed but the number of eigenvalues above a level can
    /// be counted (by inertia, `BorderedEigen.count(above:)`).
    public init(noiseTopEigenvalues: [Double], spikeRank: Int, countAbove: (Double) throws -> Int) rethrows {
        let noise = noiseTopEigenvalues.sorted(by: >)
        precondition(!noise.isEmpty, "need at least the top noise eigenvalue")
        let edge = noise[0]
        let k = min(max(spikeRank, 2), noise.count)
        let margin = edge - noise[k - 1]
        bulkEdge = edge
        self.margin = margin
        outliers = try countAbove(edge + margin)
    }
}

/// Overlap of the gradient with each eigenvector: cos²∠(g, u_i) = (gᵀu_i)²/‖g‖², in the order given.
/// Takes projections, not vectors, so the same code serves a dense eigenbasis and Gram space.
public func gradientCosineSquared(projections: [Double], gradientNormSquared: Double) -> [Double] {
    guard gradientNormSquared > 0 else { return projections.map { _ in 0 } }
    return projections.map { $0 * $0 / gradientNormSquared }
}

/// Fraction of the gradient's squared norm in the first `k` eigenvectors (eigenvalues descending).
public func gradientPower(cosineSquared: [Double], top k: Int) -> Double {
    cosineSquared.prefix(k).reduce(0, +)
}

/// Trace(H), ‖H‖ (spectral norm, max |λ|) and their ratio, from a full spectrum (zeros may be omitted).
public struct TraceOverNorm: Equatable, Sendable {
    public var trace: Double
    public var spectralNorm: Double
    public var ratio: Double { spectralNorm > 0 ? trace / spectralNorm : .nan }

    public init(eigenvalues: [Double]) {
        trace = eigenvalues.reduce(0, +)
        spectralNorm = eigenvalues.reduce(0) { max($0, abs($1)) }
    }

    public init(trace: Double, spectralNorm: Double) {
        self.trace = trace
        self.spectralNorm = spectralNorm
    }
}

/// Eigenvalues that are zero up to rounding, set to exactly 0.
///
/// A symmetric eigensolver (LAPACK's dsyev family) computes every eigenvalue of an n×n matrix to an
/// absolute accuracy of about n·ε·‖A‖, so an eigenvalue within n·ε·max|λ| of zero cannot be told
/// from zero: its value, even its sign, changes with the order of the sums (e.g. with the number of
/// BLAS threads). Reporting such values as exactly 0 makes lists, signs and every count that
/// compares with zero independent of rounding. Structural zeros (a rank-deficient term: G_class
/// has rank ≤ C, a softmax Hessian has the all-ones null vector) are the usual case.
public func flushingRoundOff(_ values: [Double], order: Int) -> [Double] {
    let scale = values.lazy.map(abs).max() ?? 0
    let floor = Double(max(order, 1)) * Double.ulpOfOne * scale
    return values.map { abs($0) <= floor ? 0 : $0 }
}
