import Linalg

/// The Gauss–Newton (G-term) Hessian (1/N)Σ_μ J^μᵀ P^μ J^μ from the Gram of the logit gradients
/// alone (an empirical NTK, (N·C)×(N·C), index μ·C + k), never from D-vectors: with B = J·F/√N and
/// F = blockdiag(F^μ), F^μ·F^μᵀ = P^μ, its nonzero eigenvalues are those of Fᵀ·K·F/N, and the
/// gradient g = J·ρ (ρ = (p − y)/N) has gᵀu_i = (Fᵀ·K·ρ)·w_i/√(N·λ_i) and ‖g‖² = ρᵀ·K·ρ.
public struct GaussNewtonSpectrum: Sendable {
    /// Nonzero-space eigenvalues, descending.
    public var eigenvalues: [Double]
    /// cos²(g, u_i) for each eigenvector, when labels were given.
    public var gradientCosineSquared: [Double]

    /// - Parameters: gram: the logit-gradient Gram; logits: classes × N; labels: for gradient overlaps.
    public init(gram k: Matrix, logits z: Matrix, labels: [Int]? = nil) throws {
        let (c, n) = (z.rows, z.cols)
        precondition(k.rows == n * c && k.cols == n * c, "Gram must be (N·C)×(N·C)")
        let p = softmaxRows(z.storage, classes: c)
        // K·F: block column μ of K times F^μ.
        var kf = Matrix(rows: n * c, cols: n * c)
        var factors: [Matrix] = []
        for mu in 0..<n {
            let f = softmaxHessianFactor(p[(mu * c)..<((mu + 1) * c)])
            factors.append(f)
            BLAS.accumulateBlock(k, rows: 0..<(n * c), cols: (mu * c)..<((mu + 1) * c), f, rows: 0..<c, cols: 0..<c,
                                 into: &kf, at: 0, mu * c)
        }
        var kk = Matrix(rows: n * c, cols: n * c)
        for mu in 0..<n {
            BLAS.accumulateBlock(factors[mu], rows: 0..<c, cols: 0..<c, transposeA: true, kf, rows: (mu * c)..<((mu + 1) * c),
                                 cols: 0..<(n * c), alpha: 1 / Double(n), into: &kk, at: mu * c, 0)
        }
        guard let y = labels else {
            eigenvalues = try Eigen.symmetric(kk, vectors: false).values
            gradientCosineSquared = []
            return
        }
        var rho = [Double](repeating: 0, count: n * c)
        for mu in 0..<n { for j in 0..<c { rho[mu * c + j] = (p[mu * c + j] - (y[mu] == j ? 1 : 0)) / Double(n) } }
        let kRho = BLAS.multiply(k, rho)
        // t = Fᵀ·K·ρ/√N.
        var t = [Double](repeating: 0, count: n * c)
        for mu in 0..<n { for a in 0..<c {
            var s = 0.0
            for j in 0..<c { s += factors[mu][j, a] * kRho[mu * c + j] }
            t[mu * c + a] = s / Double(n).squareRoot()
        } }
        let spectrum = try Eigen.projections(kk, onto: Matrix(rows: n * c, cols: 1, storage: t))
        let floor = Double(n * c) * Double.ulpOfOne * (spectrum.values.first ?? 0)
        let projections = spectrum.values.indices.map { i in
            spectrum.values[i] > floor ? spectrum.projections[i, 0] / spectrum.values[i].squareRoot() : 0
        }
        eigenvalues = spectrum.values
        gradientCosineSquared = Landscape.gradientCosineSquared(projections: projections, gradientNormSquared: BLAS.dot(rho, kRho))
    }
}

/// The exact factor F = diag(√p) − p·√pᵀ of the softmax Hessian: F·Fᵀ = diag(p) − p·pᵀ (as Σp = 1).
public func softmaxHessianFactor(_ p: ArraySlice<Double>) -> Matrix {
    let q = Array(p)
    let root = q.map { $0.squareRoot() }
    return Matrix(rows: q.count, cols: q.count) { i, j in (i == j ? root[i] : 0) - q[i] * root[j] }
}
