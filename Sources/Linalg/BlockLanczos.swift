import CNumerics

/// Extreme eigenpairs of a symmetric operator applied a block of vectors at a time.
///
/// Written for operators whose cost per vector falls when vectors come in blocks: a Gram-space
/// matrix applied through its triangular factor (two `dtrmm` a block stream the factor once for all
/// b vectors instead of b times) and a network's Hessian applied layer by layer as matrix-matrix
/// products. The single-vector `Lanczos.largest` stays the tool where one vector at a time is what
/// the operator offers.
public enum BlockLanczos {
    /// Ritz pairs and what they cost.
    public struct Result: Sendable {
        /// Ritz values, descending for `largest`, ascending for `smallest`.
        public var values: [Double]
        /// Orthonormal Ritz vectors as the columns of an n×k matrix, in the order of `values`.
        public var vectors: Matrix
        /// ‖A·x − θ·x‖ of each pair, computed explicitly from the stored products (not from a recurrence).
        public var residuals: [Double]
        /// Vectors the operator was applied to.
        public var applications: Int
        /// Calls of `applyBlock`.
        public var blockApplications: Int
    }

    /// The top `count` eigenpairs (largest algebraic) by thick-restart block Lanczos with full
    /// reorthogonalisation.
    ///
    /// - The basis V grows a block at a time: Q_{j+1} is A·Q_j orthogonalised against all of V by
    ///   two passes of block classical Gram–Schmidt (`dgemm`), then Householder QR. The products A·V
    ///   are kept, so the projected matrix VᵀAV and every Ritz residual ‖AVy − θVy‖ are computed
    ///   exactly, not read off a recurrence that rounding can make drift.
    /// - Convergence: each of the top k pairs has ‖Ax − θx‖ ≤ `tolerance`·max|θ|. The eigenvalue is
    ///   then within that residual of an eigenvalue of A, and within residual²/gap where it is
    ///   separated by a gap, so 1e-8 gives values to about 1e-16·λ²/gap.
    /// - When the basis is full it is restarted on its leading Ritz vectors (thick restart, Wu & Simon
    ///   2000), and the block already orthogonalised against the old basis continues the Krylov space.
    /// - A direction in which A·Q lies inside the basis (an invariant subspace) is replaced by a fresh
    ///   random vector orthogonal to the basis, so a rank-deficient or low-rank operator still returns
    ///   k pairs (zeros included).
    /// - Multiplicity: a block of b vectors finds an eigenvalue of multiplicity up to b with all its copies.
    ///
    /// `blockSize` defaults to max(k, 2), `basisSize` to max(2k + 2b, 4b), both capped at n. `start`
    /// (n rows, up to b columns) seeds the first block, e.g. the Ritz vectors of a nearby operator; the
    /// rest of the block is random from `seed`. When the basis would span all of Rⁿ (n ≤ `basisSize`)
    /// the operator is applied to the identity in blocks and solved densely (`Eigen.symmetric`), which
    /// is exact and cheaper; a dense `Matrix` is always solved densely.
    ///
    /// `maxApplications` bounds the vectors applied; when it runs out first this throws
    /// `LanczosError.notConverged` with the Ritz values and relative residuals reached.
    public static func largest(_ op: any SymmetricOperator, count k: Int, blockSize: Int? = nil, basisSize: Int? = nil,
                               tolerance: Double = 1e-8, maxApplications: Int, seed: UInt64, start: Matrix? = nil) throws -> Result {
        let n = op.dimension
        for (name, ok, range) in [("count", k >= 1, "at least 1"), ("tolerance", tolerance > 0 && tolerance.isFinite, "positive"),
                                  ("maxApplications", maxApplications >= 1, "at least 1")] where !ok {
            throw LanczosError.invalidArgument("\(name) must be \(range)")
        }
        if let s = blockSize, s < 1 { throw LanczosError.invalidArgument("blockSize must be at least 1") }
        if let start, start.rows != n { throw LanczosError.invalidArgument("start has \(start.rows) rows; the operator has dimension \(n)") }
        guard k <= n else { throw LanczosError.countExceedsDimension(count: k, dimension: n) }
        let b = min(blockSize ?? max(k, 2), n)
        let capacity = min(max(basisSize ?? max(2 * k + 2 * b, 4 * b), k + b), n)
        if let dense = op as? Matrix { return try denseLargest(dense, count: k, applications: 0) }
        if n <= capacity { return try denseLargest(assembled(op, block: b), count: k, applications: n, blockApplications: (n + b - 1) / b) }

        let random = RandomStream(seed: seed, stream: 0x426c_6f63_6b4c_616e)  // "BlockLan"
        var first = random.gaussianMatrix(rows: n, cols: b)
        if let start {
            let c = min(start.cols, b)
            first.storage.replaceSubrange(0..<(n * c), with: start.storage[0..<(n * c)])
        }
        var q = try orthonormalBlock(first, against: Matrix(rows: n, cols: 0), random: random)
        var v = Matrix(rows: n, cols: 0), av = Matrix(rows: n, cols: 0)
        var h = Matrix(rows: 0, cols: 0)
        var applications = 0, blocks = 0
        while true {
            let aq = op.applyBlock(q)
            precondition(aq.rows == n && aq.cols == q.cols, "applyBlock returned \(aq.rows)×\(aq.cols), not \(n)×\(q.cols)")
            applications += q.cols
            blocks += 1
            try requireFinite(aq.storage, "block Lanczos (operator product)")
            v = appending(v, q)
            av = appending(av, aq)
            h = extended(h, coupling: BLAS.multiply(v, transposeA: true, aq))
            let eigen = try Eigen.symmetric(h, vectors: true)
            let y = eigen.vectors!
            // Ritz pairs once the basis holds k vectors (a block narrower than k needs several first).
            let shown = min(k, v.cols)
            let top = leadingColumns(y, shown)
            let theta = Array(eigen.values.prefix(shown))
            let x = BLAS.multiply(v, top)
            var r = BLAS.multiply(av, top)
            for j in 0..<shown { for i in 0..<n { r.storage[i + j * n] -= theta[j] * x.storage[i + j * n] } }
            let residuals = (0..<shown).map { j in BLAS.dot(r.column(j), r.column(j)).squareRoot() }
            let scale = eigen.values.map(abs).max() ?? 0
            if shown == k && (residuals.allSatisfy({ $0 <= tolerance * scale }) || v.cols == n) {
                return Result(values: theta, vectors: x, residuals: residuals, applications: applications, blockApplications: blocks)
            }
            let width = min(b, n - v.cols)
            guard applications + width <= maxApplications else {
                throw LanczosError.notConverged(applications: applications, values: theta,
                                                relativeResiduals: residuals.map { scale > 0 ? $0 / scale : .infinity })
            }
            // The next block, orthogonal to the whole basis (before a restart shrinks it, so also to the kept part).
            let next = try orthonormalBlock(width < aq.cols ? leadingColumns(aq, width) : aq, against: v, random: random)
            if v.cols + next.cols > capacity {
                let keep = min(capacity - next.cols, k + (capacity - k) / 2)
                let yk = leadingColumns(y, keep)
                v = BLAS.multiply(v, yk)
                av = BLAS.multiply(av, yk)
                h = BLAS.multiply(yk, transposeA: true, BLAS.multiply(h, yk))
            }
            q = next
        }
    }

    /// The bottom `count` eigenpairs (smallest algebraic, most negative first): `largest` on −A, so the
    /// contract is the same. Values ascending.
    public static func smallest(_ op: any SymmetricOperator, count k: Int, blockSize: Int? = nil, basisSize: Int? = nil,
                                tolerance: Double = 1e-8, maxApplications: Int, seed: UInt64, start: Matrix? = nil) throws -> Result {
        let negated = ClosureOperator(dimension: op.dimension, block: { x in
            var y = op.applyBlock(x)
            for i in y.storage.indices { y.storage[i] = -y.storage[i] }
            return y
        })
        do {
            var result = try largest(negated, count: k, blockSize: blockSize, basisSize: basisSize, tolerance: tolerance,
                                     maxApplications: maxApplications, seed: seed, start: start)
            result.values = result.values.map { -$0 }
            return result
        } catch let LanczosError.notConverged(applications, values, residuals) {
            throw LanczosError.notConverged(applications: applications, values: values.map { -$0 }, relativeResiduals: residuals)
        }
    }

    /// Q with orthonormal columns spanning w's columns projected off `basis` (two Gram–Schmidt passes,
    /// then Householder QR). A column that projection leaves at rounding level (an invariant direction)
    /// is replaced by a random one, projected the same way.
    static func orthonormalBlock(_ w: Matrix, against basis: Matrix, random: RandomStream) throws -> Matrix {
        var x = w
        let norms = (0..<x.cols).map { BLAS.dot(x.column($0), x.column($0)).squareRoot() }
        for _ in 0..<2 { x = projectedOff(x, basis) }
        for j in 0..<x.cols {
            let after = BLAS.dot(x.column(j), x.column(j)).squareRoot()
            if !(after > 1e-10 * norms[j]) || norms[j] == 0 {
                var fresh = random.gaussianMatrix(rows: x.rows, cols: 1)
                for _ in 0..<2 { fresh = projectedOff(fresh, basis) }
                x.storage.replaceSubrange((j * x.rows)..<((j + 1) * x.rows), with: fresh.storage)
            }
        }
        var q = try Orthonormal.columns(x)
        // Householder QR keeps orthonormality to the basis only as well as x had it; one more pass.
        q = try Orthonormal.columns(projectedOff(q, basis))
        return q
    }

    static func projectedOff(_ x: Matrix, _ basis: Matrix) -> Matrix {
        guard basis.cols > 0 else { return x }
        let c = BLAS.multiply(basis, transposeA: true, x)
        var out = x
        let p = BLAS.multiply(basis, c)
        for i in out.storage.indices { out.storage[i] -= p.storage[i] }
        return out
    }

    static func appending(_ a: Matrix, _ b: Matrix) -> Matrix {
        Matrix(rows: b.rows, cols: a.cols + b.cols, storage: a.storage + b.storage)
    }

    static func leadingColumns(_ a: Matrix, _ count: Int) -> Matrix {
        Matrix(rows: a.rows, cols: count, storage: Array(a.storage[0..<(a.rows * count)]))
    }

    /// The projected matrix grown by the new block's coupling C = [V, Q]ᵀ·A·Q (its last rows are QᵀAQ),
    /// symmetrised.
    static func extended(_ h: Matrix, coupling c: Matrix) -> Matrix {
        let old = h.rows, size = c.rows, new = c.cols
        var out = Matrix(rows: size, cols: size)
        for j in 0..<old { for i in 0..<old { out[i, j] = h[i, j] } }
        for j in 0..<new {
            for i in 0..<old { out[i, old + j] = c[i, j]; out[old + j, i] = c[i, j] }
            for i in 0..<new { out[old + i, old + j] = 0.5 * (c[old + i, j] + c[old + j, i]) }
        }
        return out
    }

    /// The dense matrix of an operator, applied to the identity a block at a time, symmetrised.
    static func assembled(_ op: any SymmetricOperator, block: Int) -> Matrix {
        let n = op.dimension
        var a = Matrix(rows: n, cols: n)
        var j = 0
        while j < n {
            let w = min(block, n - j)
            var e = Matrix(rows: n, cols: w)
            for c in 0..<w { e[j + c, c] = 1 }
            let ae = op.applyBlock(e)
            a.storage.replaceSubrange((j * n)..<((j + w) * n), with: ae.storage)
            j += w
        }
        for c in 0..<n { for r in (c + 1)..<max(c + 1, n) { let s = 0.5 * (a[r, c] + a[c, r]); a[r, c] = s; a[c, r] = s } }
        return a
    }

    static func denseLargest(_ a: Matrix, count k: Int, applications: Int, blockApplications: Int = 0) throws -> Result {
        let e = try Eigen.symmetric(a, vectors: true, largest: k)
        let x = e.vectors!
        let ax = BLAS.multiply(a, x)
        let residuals = (0..<e.values.count).map { j -> Double in
            var s = 0.0
            for i in 0..<a.rows { let d = ax[i, j] - e.values[j] * x[i, j]; s += d * d }
            return s.squareRoot()
        }
        return Result(values: e.values, vectors: x, residuals: residuals, applications: applications, blockApplications: blockApplications)
    }
}
