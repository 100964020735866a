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
    /// - The basis V grows a block at a time in preallocated storage: Q_{j+1} is A·Q_j orthogonalised
    ///   against all of V by block classical Gram–Schmidt (`dgemm`; the first pass's coefficients are
    ///   VᵀAQ_j, which the projected matrix needs anyway; a second pass when the first removed more
    ///   than 1 − 1/√2 of the norm), then Householder QR, Q_{j+1}·B_j. The products A·V are kept.
    /// - Convergence is screened each step by the Lanczos relation (residual of a Ritz pair y =
    ///   ‖B_j·y_last‖, O(b²)), and confirmed by the explicit residuals ‖AVy − θVy‖ from the stored
    ///   products, which rounding cannot make drift: each of the top k pairs has ‖Ax − θx‖ ≤
    ///   `tolerance`·max|θ|. The eigenvalue is
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
        if let dense = op as? Matrix {
            _ = try Iteration.shape(dimension: dense.dimension, count: k, blockSize: blockSize, basisSize: basisSize,
                                    tolerance: tolerance, maxApplications: maxApplications, start: start)
            return try denseLargest(dense, count: k, applications: 0)
        }
        var run = try Iteration(dimension: op.dimension, count: k, blockSize: blockSize, basisSize: basisSize, tolerance: tolerance,
                                maxApplications: maxApplications, seed: seed, start: start)
        while run.result == nil { try run.advance(op.applyBlock(run.block)) }
        return run.result!
    }

    /// Several `largest` runs advanced in lockstep, for operators whose products are cheaper taken
    /// together: `apply` gets each unfinished run's next block (nil for finished runs) and returns
    /// the products in the same places, e.g. K·X and E·Y from one pass over a triangular factor
    /// they share (`TopSpectrum`). Given the same products, each run takes exactly the steps it
    /// takes alone (`testRunsTogetherEqualRunsAlone`).
    public static func largestTogether(_ runs: [Iteration], apply: ([Matrix?]) -> [Matrix?]) throws -> [Result] {
        var runs = runs
        while runs.contains(where: { $0.result == nil }) {
            let products = apply(runs.map { $0.result == nil ? $0.block : nil })
            precondition(products.count == runs.count, "apply returned \(products.count) products for \(runs.count) runs")
            for i in runs.indices where runs[i].result == nil {
                guard let product = products[i] else { preconditionFailure("apply returned no product for run \(i)") }
                try runs[i].advance(product)
            }
        }
        return runs.map { $0.result! }
    }

    /// One `largest` run as a state machine: apply the operator to `block`, pass the product to
    /// `advance`, and repeat until `result` is set. `largest` drives one run; `largestTogether`
    /// drives several whose products share a pass.
    public struct Iteration {
        /// The next block to apply the operator to (meaningless once `result` is set).
        public private(set) var block: Matrix
        /// The Ritz pairs, once converged.
        public private(set) var result: Result?

        let n: Int, k: Int, b: Int, capacity: Int, tolerance: Double, maxApplications: Int
        let random: RandomStream
        // V and A·V in place, `used` columns filled (no copies as the basis grows).
        var v = Matrix(rows: 0, cols: 0), av = Matrix(rows: 0, cols: 0)
        var used = 0
        var h = Matrix(rows: 0, cols: 0)
        var applications = 0, blocks = 0
        /// When the basis would span all of Rⁿ: the operator's columns gathered so far (A·e_j, j < `assembledColumns`).
        var assembled: Matrix? = nil
        var assembledColumns = 0

        /// Checks the arguments; the block size and basis capacity `largest` uses.
        static func shape(dimension n: Int, count k: Int, blockSize: Int?, basisSize: Int?, tolerance: Double,
                          maxApplications: Int, start: Matrix?) throws -> (b: Int, capacity: Int) {
            for (name, ok, range) in [("count", k >= 1, "at least 1"), ("tolerance", tolerance > 0 && tolerance.isFinite, "positive"),
                                      ("maxApplications", maxApplications >= 1, "at least 1")] where !ok {
                throw LanczosError.invalidArgument("\(name) must be \(range)")
            }
            if let s = blockSize, s < 1 { throw LanczosError.invalidArgument("blockSize must be at least 1") }
            if let start, start.rows != n { throw LanczosError.invalidArgument("start has \(start.rows) rows; the operator has dimension \(n)") }
            guard k <= n else { throw LanczosError.countExceedsDimension(count: k, dimension: n) }
            let b = min(blockSize ?? max(k, 2), n)
            return (b, min(max(basisSize ?? max(2 * k + 2 * b, 4 * b), k + b), n))
        }

        /// A run with `largest`'s arguments, for an operator of `dimension` n.
        public init(dimension n: Int, count k: Int, blockSize: Int? = nil, basisSize: Int? = nil, tolerance: Double = 1e-8,
                    maxApplications: Int, seed: UInt64, start: Matrix? = nil) throws {
            (b, capacity) = try Iteration.shape(dimension: n, count: k, blockSize: blockSize, basisSize: basisSize,
                                                tolerance: tolerance, maxApplications: maxApplications, start: start)
            (self.n, self.k, self.tolerance, self.maxApplications) = (n, k, tolerance, maxApplications)
            random = RandomStream(seed: seed, stream: 0x426c_6f63_6b4c_616e)  // "BlockLan"
            if n <= capacity {
                assembled = Matrix(rows: n, cols: n)
                block = Iteration.identityColumns(n, from: 0, count: min(b, n))
                return
            }
            var first = random.gaussianMatrix(rows: n, cols: b)
            if let start {
                let c = min(start.cols, b)
                first.storage.replaceSubrange(0..<(n * c), with: start.storage[0..<(n * c)])
            }
            block = try orthonormalBlock(first, against: Matrix(rows: n, cols: 0), used: 0, random: random).q
            v = Matrix(rows: n, cols: capacity)
            av = Matrix(rows: n, cols: capacity)
        }

        static func identityColumns(_ n: Int, from j: Int, count w: Int) -> Matrix {
            var e = Matrix(rows: n, cols: w)
            for c in 0..<w { e[j + c, c] = 1 }
            return e
        }

        /// Takes A·`block`: extends the basis and either sets `result` or the next `block`.
        public mutating func advance(_ aq: Matrix) throws {
            precondition(result == nil, "the run has converged")
            let q = block
            let w = q.cols
            precondition(aq.rows == n && aq.cols == w, "applyBlock returned \(aq.rows)×\(aq.cols), not \(n)×\(w)")
            if var a = assembled {
                // The basis would span Rⁿ: gather A's columns and solve densely, as `assembled(block:symmetrised:)` does.
                a.storage.replaceSubrange((assembledColumns * n)..<((assembledColumns + w) * n), with: aq.storage)
                assembledColumns += w
                blocks += 1
                if assembledColumns < n {
                    assembled = a
                    block = Iteration.identityColumns(n, from: assembledColumns, count: min(b, n - assembledColumns))
                    return
                }
                assembled = nil
                symmetrise(&a)
                result = try denseLargest(a, count: k, applications: n, blockApplications: blocks)
                return
            }
            applications += w
            blocks += 1
            try requireFinite(aq.storage, "block Lanczos (operator product)")
            v.storage.replaceSubrange((used * n)..<((used + w) * n), with: q.storage)
            av.storage.replaceSubrange((used * n)..<((used + w) * n), with: aq.storage)
            used += w
            // C = Vᵀ·A·Q: the projected matrix's new columns, and the first Gram–Schmidt pass's coefficients.
            var coupling = Matrix(rows: used, cols: w)
            BLAS.accumulateBlock(v, rows: 0..<n, cols: 0..<used, transposeA: true, aq, rows: 0..<n, cols: 0..<w, into: &coupling, at: 0, 0)
            h = extended(h, coupling: coupling)
            let eigen = try Eigen.symmetric(h, vectors: true)
            let y = eigen.vectors!
            let scale = eigen.values.map(abs).max() ?? 0
            // Ritz pairs once the basis holds k vectors (a block narrower than k needs several first).
            let shown = min(k, used)
            let theta = Array(eigen.values.prefix(shown))
            // The next block continues from A·Q (near n, fewer columns); when a narrower block came
            // before, random directions bring it back to b.
            let width = min(b, n - used)
            let continued = min(w, width)
            // The next block: A·Q minus its projection on the basis, Q′·B by QR. The Lanczos relation
            // A·V = V·H + Q′·B·E_lastᵀ makes ‖B·y_last‖ each Ritz pair's residual, at O(b²) a pair.
            var estimates = [Double](repeating: .infinity, count: shown)
            var next: (q: Matrix, r: Matrix)? = nil
            if width > 0 {
                var residual = Matrix(rows: n, cols: width)
                residual.storage.replaceSubrange(0..<(n * continued), with: aq.storage[0..<(n * continued)])
                BLAS.accumulateBlock(v, rows: 0..<n, cols: 0..<used, coupling, rows: 0..<used, cols: 0..<continued, alpha: -1,
                                     into: &residual, at: 0, 0)
                // Columns past `continued` are zero: QR treats them as invariant directions and fills them at random.
                next = try orthonormalBlock(residual, against: v, used: used, random: random, scale: frobenius(aq))
                let r = next!.r
                for i in 0..<shown {
                    var s = 0.0
                    for row in 0..<min(continued, r.rows) {
                        var x = 0.0
                        for c in row..<continued { x += r[row, c] * y[used - w + c, i] }
                        s += x * x
                    }
                    estimates[i] = s.squareRoot()
                }
            }
            if shown == k && (estimates.allSatisfy({ $0 <= tolerance * scale }) || used == n) {
                // Confirm with the explicit residuals ‖A·x − θ·x‖ from the stored products.
                let top = y.columns(0..<k)
                var x = Matrix(rows: n, cols: k), r = Matrix(rows: n, cols: k)
                BLAS.accumulateBlock(v, rows: 0..<n, cols: 0..<used, top, rows: 0..<used, cols: 0..<k, into: &x, at: 0, 0)
                BLAS.accumulateBlock(av, rows: 0..<n, cols: 0..<used, top, rows: 0..<used, cols: 0..<k, into: &r, at: 0, 0)
                for j in 0..<k { for i in 0..<n { r.storage[i + j * n] -= theta[j] * x.storage[i + j * n] } }
                let residuals = (0..<k).map { j in BLAS.dot(r.column(j), r.column(j)).squareRoot() }
                if residuals.allSatisfy({ $0 <= tolerance * scale }) || used == n {
                    result = Result(values: theta, vectors: x, residuals: residuals, applications: applications, blockApplications: blocks)
                    return
                }
                estimates = residuals
            }
            guard let next, applications + width <= maxApplications else {
                throw LanczosError.notConverged(applications: applications, values: theta,
                                                relativeResiduals: estimates.map { scale > 0 ? $0 / scale : .infinity })
            }
            if used + next.q.cols > capacity {
                // Thick restart on the leading Ritz vectors; `next` is orthogonal to the whole old basis.
                let keep = min(capacity - next.q.cols, k + (capacity - k) / 2)
                let yk = y.columns(0..<keep)
                let (n, used) = (n, used)
                func rotate(_ m: inout Matrix) {
                    var rotated = Matrix(rows: n, cols: keep)
                    BLAS.accumulateBlock(m, rows: 0..<n, cols: 0..<used, yk, rows: 0..<used, cols: 0..<keep, into: &rotated, at: 0, 0)
                    m.storage.replaceSubrange(0..<(n * keep), with: rotated.storage)
                }
                rotate(&v)
                rotate(&av)
                h = BLAS.multiply(yk, transposeA: true, BLAS.multiply(h, yk))
                self.used = keep
            }
            block = next.q
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

    /// Q·B = x, with x first projected off the basis's first `used` columns once more when the
    /// projection already applied removed most of it (Daniel–Gragg–Kaufman–Stewart: a second pass
    /// when the norm fell below 1/√2 of `scale`, the norm before the first pass). Householder QR
    /// (`dgeqrf`, `dorgqr`) gives Q and B. A column left at rounding level (an invariant direction,
    /// |B_jj| ≤ 1e-10·scale) is replaced by a random one projected the same way, and Q redone; B keeps
    /// the original (tiny) rows, so residual estimates stay those of the Krylov relation.
    static func orthonormalBlock(_ w: Matrix, against basis: Matrix, used: Int, random: RandomStream,
                                 scale: Double? = nil) throws -> (q: Matrix, r: Matrix) {
        var x = w
        let before = scale ?? frobenius(w)
        if used > 0 && frobenius(x) < before / 2.0.squareRoot() { x = projectedOff(x, basis, used: used) }
        var (q, r) = try householder(x)
        let deficient = (0..<x.cols).filter { !(abs(r[$0, $0]) > 1e-10 * before) || before == 0 }
        if !deficient.isEmpty {
            for j in deficient {
                var fresh = random.gaussianMatrix(rows: x.rows, cols: 1)
                for _ in 0..<2 { fresh = projectedOff(fresh, basis, used: used) }
                x.storage.replaceSubrange((j * x.rows)..<((j + 1) * x.rows), with: fresh.storage)
            }
            q = try householder(projectedOff(x, basis, used: used)).q
        }
        return (q, r)
    }

    /// Householder QR of a tall matrix: Q (rows×cols, orthonormal columns) and R (cols×cols, upper).
    static func householder(_ a: Matrix) throws -> (q: Matrix, r: Matrix) {
        let m = try lapackInt(a.rows, "rows"), n = try lapackInt(a.cols, "cols")
        if a.cols == 0 { return (a, Matrix(rows: 0, cols: 0)) }
        try requireFinite(a.storage, "block Lanczos QR (dgeqrf)")
        var q = a
        var tau = [Double](repeating: 0, count: a.cols)
        let info1 = q.storage.withUnsafeMutableBufferPointer { pq in
            tau.withUnsafeMutableBufferPointer { LAPACKE_dgeqrf(LAPACK_COL_MAJOR, m, n, pq.baseAddress, m, $0.baseAddress) }
        }
        guard info1 == 0 else { throw LinalgError.lapack(routine: "dgeqrf", info: info1) }
        var r = Matrix(rows: a.cols, cols: a.cols)
        for j in 0..<a.cols { for i in 0...j { r[i, j] = q[i, j] } }
        let info2 = q.storage.withUnsafeMutableBufferPointer { pq in
            tau.withUnsafeMutableBufferPointer { LAPACKE_dorgqr(LAPACK_COL_MAJOR, m, n, n, pq.baseAddress, m, $0.baseAddress) }
        }
        guard info2 == 0 else { throw LinalgError.lapack(routine: "dorgqr", info: info2) }
        return (q, r)
    }

    /// x minus its projection on the first `used` columns of `basis`.
    static func projectedOff(_ x: Matrix, _ basis: Matrix, used: Int) -> Matrix {
        guard used > 0 else { return x }
        var c = Matrix(rows: used, cols: x.cols)
        BLAS.accumulateBlock(basis, rows: 0..<basis.rows, cols: 0..<used, transposeA: true, x, rows: 0..<x.rows, cols: 0..<x.cols,
                             into: &c, at: 0, 0)
        var out = x
        BLAS.accumulateBlock(basis, rows: 0..<basis.rows, cols: 0..<used, c, rows: 0..<used, cols: 0..<x.cols, alpha: -1,
                             into: &out, at: 0, 0)
        return out
    }

    static func frobenius(_ a: Matrix) -> Double { BLAS.dot(a.storage, a.storage).squareRoot() }

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
