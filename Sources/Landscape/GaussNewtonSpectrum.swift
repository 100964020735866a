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
///
/// Ĝ has N known null vectors: F^μ·√p^μ = p^μ − p^μ·Σp^μ = 0, so each e_μ ⊗ √p^μ. They are taken out
/// exactly before any eigen-solver sees Ĝ: with Q_μ (C × (C − 1)) the columns of the Householder
/// reflector that maps √p^μ to −e₁, other than the first (orthonormal, orthogonal to √p^μ), and
/// Q = blockdiag(Q_μ), Ĝ = Q·Ĝ′·Qᵀ with Ĝ′ = Qᵀ·Ĝ·Q = F̃ᵀ·K·F̃/N, F̃^μ = F^μ·Q_μ = diag(√p^μ)·Q_μ
/// (as √p^μᵀQ_μ = 0). Ĝ′ is (N·(C − 1))-square, a reduction of 0.9³ ≈ 0.73 of the cost at C = 10, and
/// Ĝ's spectrum is Ĝ′'s together with N zeros; a vector x in Ĝ's coordinates is Qᵀ·x in Ĝ′'s.
struct GaussNewtonCoordinates {
    /// Ĝ′ = Qᵀ·Ĝ·Q, (N·(C − 1))×(N·(C − 1)), index μ·(C − 1) + j.
    let matrix: Matrix
    /// Q_μ for each example (C × (C − 1)).
    let complements: [Matrix]
    /// F̃^μ = diag(√p^μ)·Q_μ for each example (C × (C − 1)).
    let factors: [Matrix]
    /// t′ = Qᵀ·t, t = Fᵀ·K·ρ/√N (nil without labels): gᵀu_i = t′·w′_i/√λ_i.
    let gradientProbe: [Double]?
    /// ‖g‖² = ρᵀKρ (0 without labels).
    let gradientNormSquared: Double
    let examples: Int, classes: Int

    /// - Parameters: gram: (N·C)×(N·C), index μ·C + k; probabilities: N×C row-major.
    init(gram k: Matrix, probabilities p: [Double], labels: [Int]?, classes c: Int) {
        let n = p.count / c
        precondition(c >= 2, "the G-term needs at least 2 classes")
        precondition(k.rows == n * c && k.cols == n * c, "Gram must be (N·C)×(N·C)")
        (examples, classes) = (n, c)
        let r = c - 1
        let complements = (0..<n).map { GaussNewtonCoordinates.complement(ofRoot: p[($0 * c)..<(($0 + 1) * c)]) }
        self.complements = complements
        // F̃^μ = diag(√p^μ)·Q_μ.
        let factors = (0..<n).map { mu -> Matrix in
            var f = complements[mu]
            for j in 0..<r { for i in 0..<c { f[i, j] *= p[mu * c + i].squareRoot() } }
            return f
        }
        self.factors = factors
        // K·F̃: block column μ of K times F̃^μ; then F̃ᵀ·(K·F̃)/N block row by block row.
        var kf = Matrix(rows: n * c, cols: n * r)
        for mu in 0..<n {
            BLAS.accumulateBlock(k, rows: 0..<(n * c), cols: (mu * c)..<((mu + 1) * c), factors[mu], rows: 0..<c, cols: 0..<r,
                                 into: &kf, at: 0, mu * r)
        }
        var kk = Matrix(rows: n * r, cols: n * r)
        for mu in 0..<n {
            BLAS.accumulateBlock(factors[mu], rows: 0..<c, cols: 0..<r, transposeA: true, kf, rows: (mu * c)..<((mu + 1) * c),
                                 cols: 0..<(n * r), alpha: 1 / Double(n), into: &kk, at: mu * r, 0)
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
        var t = [Double](repeating: 0, count: n * r)
        for mu in 0..<n { for a in 0..<r {
            var s = 0.0
            for j in 0..<c { s += factors[mu][j, a] * kRho[mu * c + j] }
            t[mu * r + a] = s / Double(n).squareRoot()
        } }
        gradientProbe = t
        gradientNormSquared = BLAS.dot(rho, kRho)
    }

    /// The G-term of the within-class Jacobian residuals e^μ = J^μ − m_{y_μ}, (1/N)Σ_μ e^μᵀP^μe^μ, in
    /// Ĝ′'s coordinates: F̃ᵀ·K_e·F̃/N with K_e = K − Ind·Rᵀ − R·Indᵀ + Ind·M·Indᵀ (`ClassMeanProducts`), so
    /// Ĝ′ − (X·Yᵀ + Y·Xᵀ)/N + X·M·Xᵀ/N with X = F̃ᵀ·Ind and Y = F̃ᵀ·R: corrections of rank C² to Ĝ′,
    /// without forming K_e. Its null vectors are Ĝ's, so its spectrum is this matrix's and N zeros.
    func withoutClassMeans(_ products: ClassMeanProducts, labels y: [Int]) -> Matrix {
        let (n, c, r) = (examples, classes, classes - 1)
        let (size, wide) = (n * r, c * c)
        var x = Matrix(rows: size, cols: wide), yy = Matrix(rows: size, cols: wide)
        for mu in 0..<n {
            for k in 0..<c { for j in 0..<r { x[mu * r + j, k * c + y[mu]] = factors[mu][k, j] } }
            BLAS.accumulateBlock(factors[mu], rows: 0..<c, cols: 0..<r, transposeA: true, products.r, rows: (mu * c)..<((mu + 1) * c),
                                 cols: 0..<wide, into: &yy, at: mu * r, 0)
        }
        var out = matrix
        let scale = 1 / Double(n)
        BLAS.accumulateBlock(x, rows: 0..<size, cols: 0..<wide, yy, rows: 0..<size, cols: 0..<wide, transposeB: true,
                             alpha: -scale, into: &out, at: 0, 0)
        BLAS.accumulateBlock(yy, rows: 0..<size, cols: 0..<wide, x, rows: 0..<size, cols: 0..<wide, transposeB: true,
                             alpha: -scale, into: &out, at: 0, 0)
        let xm = BLAS.multiply(x, products.means)
        BLAS.accumulateBlock(xm, rows: 0..<size, cols: 0..<wide, x, rows: 0..<size, cols: 0..<wide, transposeB: true,
                             alpha: scale, into: &out, at: 0, 0)
        return out
    }

    /// Qᵀ·X for X in Ĝ's coordinates ((N·C) × cols): X's coordinates in Ĝ′'s.
    func reduced(_ x: Matrix) -> Matrix {
        let (n, c, r) = (examples, classes, classes - 1)
        precondition(x.rows == n * c, "vectors in Ĝ's coordinates have N·C rows")
        var out = Matrix(rows: n * r, cols: x.cols)
        for mu in 0..<n {
            BLAS.accumulateBlock(complements[mu], rows: 0..<c, cols: 0..<r, transposeA: true, x, rows: (mu * c)..<((mu + 1) * c),
                                 cols: 0..<x.cols, into: &out, at: mu * r, 0)
        }
        return out
    }

    /// The columns of the Householder reflector I − 2vvᵀ/vᵀv, v = u + ‖u‖e₁, that maps u = √p to
    /// −‖u‖e₁, other than the first: C − 1 orthonormal vectors orthogonal to √p (u₁ ≥ 0, so v has no
    /// cancellation).
    static func complement(ofRoot p: ArraySlice<Double>) -> Matrix {
        let u = p.map { $0.squareRoot() }
        let c = u.count
        var v = u
        v[0] += BLAS.dot(u, u).squareRoot()
        let vv = BLAS.dot(v, v)
        return Matrix(rows: c, cols: c - 1) { i, j in (i == j + 1 ? 1 : 0) - 2 * v[i] * v[j + 1] / vv }
    }

    /// cos²(g, u_i) from the eigen-decomposition's projections of t (`column` of `projections`).
    /// Eigenvalues at round-off level (≤ n·ε·λ₁) are numerically zero and get no overlap.
    static func cosineSquared(values: [Double], projections: Matrix, column: Int, gradientNormSquared: Double) -> [Double] {
        let floor = Double(values.count) * Double.ulpOfOne * (values.first ?? 0)
        let along = values.indices.map { i in values[i] > floor ? projections[i, column] / values[i].squareRoot() : 0 }
        return gradientCosineSquared(projections: along, gradientNormSquared: gradientNormSquared)
    }

    /// The products of the N null vectors e_μ ⊗ √p^μ of Ĝ with X (Ĝ's coordinates, (N·C) × cols): row μ.
    static func nullProducts(_ x: Matrix, probabilities p: [Double], classes c: Int) -> Matrix {
        let n = p.count / c
        precondition(x.rows == n * c, "vectors in Ĝ's coordinates have N·C rows")
        var out = Matrix(rows: n, cols: x.cols)
        for mu in 0..<n { for col in 0..<x.cols {
            var s = 0.0
            for j in 0..<c { s += p[mu * c + j].squareRoot() * x[mu * c + j, col] }
            out[mu, col] = s
        } }
        return out
    }

    /// The eigenvalues of a matrix in Ĝ′'s coordinates (by default Ĝ′) and the N zeros of the null
    /// vectors taken out: those of the matrix in Ĝ's coordinates, descending.
    func eigenvalues(of m: Matrix? = nil) throws -> [Double] {
        let values = try Eigen.symmetric(m ?? matrix, vectors: false).values
        return GaussNewtonCoordinates.merged(SpectralProjections(values: values, projections: Matrix(rows: values.count, cols: 0)),
                                             zeros: Matrix(rows: examples, cols: 0)).values
    }

    /// `spectrum`'s rows followed by the rows of `zeros` (eigenvalue 0), in descending order of value.
    static func merged(_ s: SpectralProjections, zeros: Matrix) -> SpectralProjections {
        let split = s.values.firstIndex { $0 < 0 } ?? s.values.count
        let (n, z, cols) = (s.values.count, zeros.rows, s.projections.cols)
        let values = Array(s.values[..<split]) + [Double](repeating: 0, count: z) + Array(s.values[split...])
        var projections = Matrix(rows: n + z, cols: cols)
        for col in 0..<cols {
            for i in 0..<split { projections[i, col] = s.projections[i, col] }
            for i in 0..<z { projections[split + i, col] = zeros[i, col] }
            for i in split..<n { projections[z + i, col] = s.projections[i, col] }
        }
        return SpectralProjections(values: values, projections: projections)
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
            self.init(eigenvalues: try coordinates.eigenvalues(), gradientCosineSquared: [])
            return
        }
        let spectrum = GaussNewtonCoordinates.merged(try Eigen.projections(coordinates.matrix, onto: Matrix(rows: t.count, cols: 1, storage: t)),
                                                     zeros: Matrix(rows: coordinates.examples, cols: 1))
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
