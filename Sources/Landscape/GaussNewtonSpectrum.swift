import Linalg

/// The Gauss–Newton (G-term) Hessian G = (1/N)Σ_μ J^μᵀ P^μ J^μ written in the coordinates of the
/// per-example "as-if-label" gradients, from the logit-gradient Gram alone (never from D-vectors).
///
/// With F^μ = diag(√p^μ) − p^μ·√p^μᵀ (so F^μ·F^μᵀ = P^μ, and column c′ of F^μ is √p^μ_{c′}·(e_{c′} − p^μ)),
/// G = B·Bᵀ with B = J·blockdiag(F^μ)/√N: column (μ, c′) of B is √(p^μ_{c′}/N)·g_{μ,c′}, where
/// g_{μ,c′} = J^μᵀ(e_{c′} − p^μ) is the loss gradient at μ "as if the label were c′" (Papyan 2019).
/// So the nonzero eigenvalues of G are those of Ĝ = BᵀB = Fᵀ·K·F/N ((N·C)×(N·C), index μ·C + c′),
/// an eigenvector u_i of G is B·w_i/√λ_i for the eigenvector w_i of Ĝ, and the gradient
/// g = J·ρ (ρ = (p − y)/N) has gᵀu_i = (Fᵀ·K·ρ/√N)·w_i/√λ_i and ‖g‖² = ρᵀ·K·ρ.
struct GaussNewtonCoordinates {
    /// Ĝ, (N·C)×(N·C), index μ·C + c′.
    let matrix: Matrix
    /// t = Fᵀ·K·ρ/√N (nil without labels): gᵀu_i = t·w_i/√λ_i.
    let gradientProbe: [Double]?
    /// ‖g‖² = ρᵀKρ (0 without labels).
    let gradientNormSquared: Double

    /// - Parameters: gram: (N·C)×(N·C), index μ·C + k; probabilities: N×C row-major.
    init(gram k: Matrix, probabilities p: [Double], labels: [Int]?, classes c: Int) {
        let n = p.count / c
        precondition(k.rows == n * c && k.cols == n * c, "Gram must be (N·C)×(N·C)")
        // K·F: block column μ of K times F^μ; then Fᵀ·(K·F)/N block row by block row.
        let factors = (0..<n).map { softmaxHessianFactor(p[($0 * c)..<(($0 + 1) * c)]) }
        var kf = Matrix(rows: n * c, cols: n * c)
        for mu in 0..<n {
            BLAS.accumulateBlock(k, rows: 0..<(n * c), cols: (mu * c)..<((mu + 1) * c), factors[mu], rows: 0..<c, cols: 0..<c,
                                 into: &kf, at: 0, mu * c)
        }
        var kk = Matrix(rows: n * c, cols: n * c)
        for mu in 0..<n {
            BLAS.accumulateBlock(factors[mu], rows: 0..<c, cols: 0..<c, transposeA: true, kf, rows: (mu * c)..<((mu + 1) * c),
                                 cols: 0..<(n * c), alpha: 1 / Double(n), into: &kk, at: mu * c, 0)
        }
        matrix = kk
        guard let y = labels else {
            gradientProbe = nil
            gradientNormSquared = 0
            return
        }
        var rho = [Double](repeating: 0, count: n * c)
        for mu in 0..<n { for j in 0..<c { rho[mu * c + j] = (p[mu * c + j] - (y[mu] == j ? 1 : 0)) / Double(n) } }
        let kRho = BLAS.multiply(k, rho)
        var t = [Double](repeating: 0, count: n * c)
        for mu in 0..<n { for a in 0..<c {
            var s = 0.0
            for j in 0..<c { s += factors[mu][j, a] * kRho[mu * c + j] }
            t[mu * c + a] = s / Double(n).squareRoot()
        } }
        gradientProbe = t
        gradientNormSquared = BLAS.dot(rho, kRho)
    }

    /// cos²(g, u_i) from the eigen-decomposition's projections of t (`column` of `projections`).
    /// Eigenvalues at round-off level (≤ n·ε·λ₁) are numerically zero and get no overlap.
    static func cosineSquared(values: [Double], projections: Matrix, column: Int, gradientNormSquared: Double) -> [Double] {
        let floor = Double(values.count) * Double.ulpOfOne * (values.first ?? 0)
        let along = values.indices.map { i in values[i] > floor ? projections[i, column] / values[i].squareRoot() : 0 }
        return gradientCosineSquared(projections: along, gradientNormSquared: gradientNormSquared)
    }
}

/// The G-term spectrum and the gradient's overlap with each of its eigenvectors, from the Gram.
public struct GaussNewtonSpectrum: Sendable {
    /// Eigenvalues of Ĝ, descending: the G-term's nonzero spectrum followed by zeros (at least N,
    /// since P^μ·1 = 0).
    public var eigenvalues: [Double]
    /// cos²(g, u_i) for each eigenvector, when labels were given.
    public var gradientCosineSquared: [Double]

    public init(eigenvalues: [Double], gradientCosineSquared: [Double]) {
        self.eigenvalues = eigenvalues
        self.gradientCosineSquared = gradientCosineSquared
    }

    /// - Parameters: gram: the logit-gradient Gram; logits: classes × N; labels: for gradient overlaps.
    public init(gram k: Matrix, logits z: Matrix, labels: [Int]? = nil) throws {
        let coordinates = GaussNewtonCoordinates(gram: k, probabilities: softmaxRows(z.storage, classes: z.rows),
                                                 labels: labels, classes: z.rows)
        guard let t = coordinates.gradientProbe else {
            self.init(eigenvalues: try Eigen.symmetric(coordinates.matrix, vectors: false).values, gradientCosineSquared: [])
            return
        }
        let spectrum = try Eigen.projections(coordinates.matrix, onto: Matrix(rows: t.count, cols: 1, storage: t))
        self.init(eigenvalues: spectrum.values,
                  gradientCosineSquared: GaussNewtonCoordinates.cosineSquared(
                      values: spectrum.values, projections: spectrum.projections, column: 0,
                      gradientNormSquared: coordinates.gradientNormSquared))
    }
}

/// The exact factor F = diag(√p) − p·√pᵀ of the softmax Hessian: F·Fᵀ = diag(p) − p·pᵀ (as Σp = 1).
public func softmaxHessianFactor(_ p: ArraySlice<Double>) -> Matrix {
    let q = Array(p)
    let root = q.map { $0.squareRoot() }
    return Matrix(rows: q.count, cols: q.count) { i, j in (i == j ? root[i] : 0) - q[i] * root[j] }
}
