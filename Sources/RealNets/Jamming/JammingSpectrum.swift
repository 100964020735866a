import Foundation
import Linalg

/// The Hessian of the hinge loss at a network and its split H = H₀ + H_p (Geiger et al., eq. 3):
/// H₀ = (1/P) Σ_{Δ>0} ∇f(x_μ)∇f(x_μ)ᵀ (PSD, rank ≤ N_Δ) and H_p = (1/P) Σ_{Δ>0} Δ_μ(−y_μ)∇²f(x_μ).
/// Satisfied patterns (Δ ≤ 0) contribute nothing to either term, so everything is computed on the
/// N_Δ unsatisfied patterns only and weighted by 1/P.
///
/// - H₀ exactly from the N_Δ×N_Δ Gram K of the unsatisfied patterns' gradients: its nonzero
///   eigenvalues are those of K/P, and the other D − N_Δ are exact zeros (for N_Δ > D, the D×D
///   matrix JJᵀ/P is decomposed instead).
/// - H densely from exact products with the D unit vectors, a block at a time (`CurvatureProducts.matrix`); H_p = H − H₀ with H₀
///   formed densely from the explicit gradient rows (so H_p holds no H₀ round-off beyond ε·‖H₀‖).
///   This needs D² doubles a matrix: networks here have D ≤ a few thousand.
///
/// Zero modes: an eigenvalue of H₀ counts as zero when it is at most `zeroThreshold` = 10⁻¹⁰·λ_max(H₀),
/// a hundred times above the round-off n·ε·λ_max of the eigen-solver for n ≤ 4500 and far below the
/// continuum, which near jamming is separated from zero by a gap. In the D-dimensional parameter
/// space H₀ has `zeroModes` = D − rank zero modes; a ReLU network's gradients are orthogonal to its
/// D − N rescaling directions, so in Geiger et al.'s N-dimensional space the count is
/// `zeroModesEffective` = N − rank, which is N − N_Δ when the N_Δ gradients are independent.
public struct JammingSpectrum: Sendable {
    public let fit: JammingFit
    /// P, N (D − rescalable neurons) and D.
    public let examples: Int
    public let parameters: Int
    public let parametersTotal: Int
    /// All D eigenvalues of H₀, H_p and H, descending.
    public let h0: [Double]
    public let hp: [Double]
    public let h: [Double]
    /// The rank of H₀ (eigenvalues above `zeroThreshold`).
    public let h0Rank: Int
    public let zeroThreshold: Double

    public var h0ZeroModes: Int { parametersTotal - h0Rank }
    public var h0ZeroModesEffective: Int { parameters - h0Rank }

    /// The spectra of a one-output network on the training set, with the hinge of margin ε.
    public init(network: Network, data: Dataset, margin: Double) throws {
        precondition(network.architecture.classes == 1, "the hinge acts on one output")
        let d = network.parameters.count
        fit = JammingFit(network: network, data: data, margin: margin)
        examples = data.count
        parametersTotal = d
        parameters = network.architecture.jammingParameters
        let (x, labels) = data.batch(fit.unsatisfiedIndices)
        let h0 = try JammingSpectrum.h0Eigenvalues(network: network, unsatisfied: x, examples: data.count)
        let threshold = JammingSpectrum.zeroThreshold(h0)
        (self.h0, zeroThreshold, h0Rank) = (h0, threshold, h0.filter { $0 > threshold }.count)
        var hessian = JammingSpectrum.denseHessian(network: network, unsatisfied: x, labels: labels, examples: data.count, margin: margin)
        h = try Eigen.symmetric(hessian, vectors: false).values
        let dense0 = JammingSpectrum.denseH0(network: network, unsatisfied: x, examples: data.count)
        for k in hessian.storage.indices { hessian.storage[k] -= dense0.storage[k] }
        hp = try Eigen.symmetric(hessian, vectors: false).values
    }

    /// The threshold below which an eigenvalue of H₀ counts as zero: 10⁻¹⁰·λ_max (see the type).
    public static func zeroThreshold(_ eigenvalues: [Double]) -> Double { 1e-10 * (eigenvalues.max() ?? 0) }

    /// All D eigenvalues of H₀ (descending) from the Gram of the unsatisfied patterns' gradients
    /// (`unsatisfied`: their inputs, inputs × N_Δ): eig(K)/P padded with D − N_Δ exact zeros.
    public static func h0Eigenvalues(network: Network, unsatisfied x: Matrix, examples p: Int) throws -> [Double] {
        let d = network.parameters.count, n = x.cols
        if n == 0 { return [Double](repeating: 0, count: d) }
        let gradients = LogitGradients(network: network, inputs: x)
        var values: [Double]
        if n <= d {
            values = try Eigen.symmetric(gradients.gram, vectors: false).values
            values += [Double](repeating: 0, count: d - n)
        } else {
            let rows = gradients.explicitJacobian(parameterCount: d)
            values = try Eigen.symmetric(BLAS.gram(rows, transpose: false), vectors: false).values
        }
        return values.map { $0 / Double(p) }
    }

    /// The dense H₀ = (1/P)·J Jᵀ from the explicit gradient rows J (D × N_Δ): the reference the
    /// Gram spectrum is tested against, and the term subtracted from H to give H_p.
    public static func denseH0(network: Network, unsatisfied x: Matrix, examples p: Int) -> Matrix {
        let d = network.parameters.count
        if x.cols == 0 { return Matrix(rows: d, cols: d) }
        let rows = LogitGradients(network: network, inputs: x).explicitJacobian(parameterCount: d)
        return BLAS.gram(rows, transpose: false, alpha: 1 / Double(p))
    }

    /// The dense Hessian of the mean hinge loss over P patterns, from exact products with the D unit
    /// vectors (`CurvatureProducts.matrix`) on the unsatisfied ones (a mean over N_Δ, weighted N_Δ/P), symmetrised.
    public static func denseHessian(network: Network, unsatisfied x: Matrix, labels: [Int], examples p: Int, margin: Double) -> Matrix {
        let d = network.parameters.count, n = x.cols
        var hessian = Matrix(rows: d, cols: d)
        if n == 0 { return hessian }
        let weight = Double(n) / Double(p)
        let products = CurvatureProducts(network: network, inputs: x, labels: labels, loss: .quadraticHinge(margin: margin))
        hessian = products.matrix(.hessian)
        for k in hessian.storage.indices { hessian.storage[k] *= weight }
        for j in 0..<d {
            for i in (j + 1)..<d {
                let mean = 0.5 * (hessian.storage[i + j * d] + hessian.storage[j + i * d])
                hessian.storage[i + j * d] = mean
                hessian.storage[j + i * d] = mean
            }
        }
        return hessian
    }

    /// Bytes the spectra take: H, H₀ and the eigen-solver's copy (D² each), the explicit gradient
    /// rows (D·N_Δ ≤ D·P), the Gram (≤ P²), and a Hessian-vector product's activations.
    public static func memoryParts(architecture a: Architecture, examples p: Int) -> [(String, Double)] {
        let d = Double(a.parameterCount), n = Double(p)
        return [("dense H, H₀ and an eigen-solver copy", 8 * 4 * d * d), ("gradient rows", 8 * d * n),
                ("Gram of the unsatisfied patterns", 8 * 2 * min(n, d) * min(n, d)),
                ("Hessian-vector products", CurvatureProducts.memory(architecture: a, examples: p, block: a.parameterCount))]
    }
}

/// Whether a spectrum is symmetric about zero, three ways:
/// - its normalised odd moments: for n eigenvalues with moments m_k = (1/n) Σ λᵏ, s₁ = m₁/√m₂ and
///   s₃ = m₃/m₂^{3/2}, each with the standard error of a mean of n terms (the sample standard
///   deviation of λᵏ over √n, over the same normalisation). A symmetric spectrum has both within a
///   few standard errors of zero; a ReLU network's H_p has s₁ = 0 exactly (its second derivatives
///   have a zero diagonal, so Tr H_p = 0). The standard error of s₃ is large when a few outliers
///   dominate, so s₃ alone cannot tell a skewed spectrum;
/// - the fractions N₋/n and N₊/n of negative and positive eigenvalues, equal within binomial error;
/// - the mirror distance: the two-sample Kolmogorov–Smirnov statistic between the positive
///   eigenvalues and the magnitudes of the negative ones, against its 1% critical value
///   1.63·√((n₊ + n₋)/(n₊n₋)) (the scale of sampling error for samples of those sizes).
public struct SpectrumSymmetry: Sendable, Equatable {
    public let first: Double
    public let firstStandardError: Double
    public let third: Double
    public let thirdStandardError: Double
    /// The fraction of eigenvalues below −`zero` and above +`zero` (N₋/n and N₊/n).
    public let negativeFraction: Double
    public let positiveFraction: Double
    /// The Kolmogorov–Smirnov distance between {λ > zero} and {−λ : λ < −zero}, and its 1% critical value.
    public let mirrorDistance: Double
    public let mirrorCriticalValue: Double

    /// `zero`: eigenvalues within ±zero count as neither positive nor negative.
    public init(_ values: [Double], zero: Double = 0) {
        let n = Double(max(values.count, 1))
        func mean(_ f: (Double) -> Double) -> Double { values.reduce(0) { $0 + f($1) } / n }
        func standardError(_ f: (Double) -> Double, _ m: Double) -> Double {
            guard values.count > 1 else { return .nan }
            return (values.reduce(0) { $0 + (f($1) - m) * (f($1) - m) } / (n - 1)).squareRoot() / n.squareRoot()
        }
        let m2 = mean { $0 * $0 }
        let m1 = mean { $0 }, m3 = mean { $0 * $0 * $0 }
        let s2 = m2.squareRoot()
        first = m2 > 0 ? m1 / s2 : 0
        firstStandardError = m2 > 0 ? standardError({ $0 }, m1) / s2 : .nan
        third = m2 > 0 ? m3 / (m2 * s2) : 0
        thirdStandardError = m2 > 0 ? standardError({ $0 * $0 * $0 }, m3) / (m2 * s2) : .nan
        let positive = values.filter { $0 > zero }.sorted(), negative = values.filter { $0 < -zero }.map { -$0 }.sorted()
        negativeFraction = Double(negative.count) / n
        positiveFraction = Double(positive.count) / n
        var (i, j, distance) = (0, 0, 0.0)
        while i < positive.count && j < negative.count {
            let next = min(positive[i], negative[j])
            while i < positive.count && positive[i] <= next { i += 1 }
            while j < negative.count && negative[j] <= next { j += 1 }
            distance = max(distance, abs(Double(i) / Double(positive.count) - Double(j) / Double(negative.count)))
        }
        let (np, nn) = (Double(positive.count), Double(negative.count))
        mirrorDistance = positive.isEmpty || negative.isEmpty ? 1 : distance
        mirrorCriticalValue = positive.isEmpty || negative.isEmpty ? 0 : 1.63 * ((np + nn) / (np * nn)).squareRoot()
    }
}
