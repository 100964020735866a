import CNumerics
import Foundation

/// Failures of the matrix-free eigensolver.
public enum LanczosError: Error, CustomStringConvertible, Equatable {
    /// k ≥ n asked of an operator that is not a dense `Matrix`, so there is no dense path to take.
    case countExceedsDimension(count: Int, dimension: Int)
    /// The application budget ran out before the top Ritz pairs reached the tolerance. Carries the
    /// best Ritz values and their residuals ‖Av − θv‖ / |λ_max| at that point.
    case notConverged(applications: Int, values: [Double], relativeResiduals: [Double])
    /// An argument outside its range (a count, a tolerance, a budget), named with the range it takes.
    case invalidArgument(String)

    public var description: String {
        switch self {
        case let .countExceedsDimension(count, dimension):
            return "Lanczos: \(count) eigenpairs asked of a \(dimension)-dimensional operator; at most \(max(dimension - 1, 0)) can be computed"
        case let .invalidArgument(message):
            return "Lanczos: \(message)"
        case let .notConverged(applications, values, residuals):
            let worst = residuals.max() ?? .nan
            return "Lanczos: not converged after \(applications) operator applications "
                + "(\(values.count) Ritz values, worst relative residual \(worst))"
        }
    }
}

/// Matrix-free spectral estimators for a `SymmetricOperator`, written for operators whose
/// application dominates everything else (a network's Hessian-vector product): every estimator
/// counts applications, keeps its Krylov basis as a `Matrix` and does all O(n·k) work in BLAS.
public enum Lanczos {
    /// The top `k` eigenpairs (largest algebraic) by thick-restart Lanczos (Wu & Simon 2000) with full
    /// reorthogonalisation.
    ///
    /// - Every new Krylov vector is orthogonalised against the whole basis by classical Gram–Schmidt
    ///   as transposed/plain `dgemv` pairs, repeated while a pass removes more than 1 − 1/√2 of its norm
    ///   (Daniel–Gragg–Kaufman–Stewart), so no spurious copies ("ghosts") appear however clustered the
    ///   spectrum. The projected matrix VᵀAV is the full set of Gram–Schmidt coefficients, and its
    ///   eigenpairs (LAPACK `dsyevr` through `Eigen.symmetric`) give Ritz pairs after every application.
    /// - Convergence: each of the top k Ritz pairs has ‖Ax − θx‖ ≤ `tolerance`·|λ_max|, with |λ_max| the
    ///   largest |Ritz value| seen, and the residual read off the Lanczos relation as β·|y_last| (no
    ///   extra applications).
    /// - When the basis reaches its size it is restarted on its leading Ritz vectors (rotated in place
    ///   by `dgemm` on row panels) plus the residual direction. If β ≈ 0 (an invariant subspace) the
    ///   next vector is a fresh random one orthogonal to the basis.
    /// - Multiplicity: one Krylov sequence holds only one vector of each eigenspace, so a repeated
    ///   eigenvalue would be returned once. After the top k converge they are locked, and a check runs
    ///   Lanczos again from a fresh random vector orthogonal to them and to the main round's next
    ///   max(k, 10) Ritz vectors (a missed copy is orthogonal to the whole main Krylov space, and
    ///   deflating those vectors lowers the top of what is left, which makes the check ~3× cheaper on
    ///   gap-poor spectra). A check ends with nothing found when its Krylov space is invariant, or its
    ///   leading Ritz pair converges below the k-th value, or earlier when the Kuczyński–Woźniakowski
    ///   bound (failure probability 10⁻⁴ for a random start) rules out any eigenvalue above the k-th
    ///   (about ten applications for outliers above a bulk). A Ritz value above the k-th is converged
    ///   from that Ritz vector in the complement of the locked vectors alone, locked, and the check repeated.
    ///
    /// Cost: on GᵀG, n = 200, top 10 to 1e-8, about 75 applications for the main round and 17 for the
    /// check. Memory: (basisSize + max(k, 10) + k)·n doubles.
    ///
    /// `maxIterations` bounds the total operator applications. If it runs out before the top k converge,
    /// or while an eigenvalue found by the check is converging, this throws `LanczosError.notConverged`;
    /// if it runs out during a check that has found nothing, the converged pairs are returned. For k ≥ n a
    /// dense `Matrix` is solved by `Eigen.symmetric` (min(k, n) pairs, 0 applications); any other operator
    /// throws `LanczosError.countExceedsDimension`. `basisSize` (default max(2k + 10, 20), capped at n)
    /// is the restart length. `tolerance` much below 1e-13 cannot be met in double precision.
    /// Values descending; vectors orthonormal columns of an n×k `Matrix`, signs arbitrary; for a
    /// repeated eigenvalue, any orthonormal basis of (the top part of) its eigenspace.
    ///
    /// `checkMultiplicity: false` skips the check: a repeated eigenvalue may then be listed once (the
    /// values found are still eigenvalues to the tolerance, and the largest is still λ_max). Worth it
    /// where only the extreme value matters and the spectrum is crowded there, e.g. λ_min of a
    /// network's Hessian for its spectral norm, where the check cannot rule anything out cheaply.
    public static func largest(_ op: any SymmetricOperator, count k: Int, tolerance: Double = 1e-8,
                               maxIterations: Int = 300, seed: UInt64 = 0, basisSize: Int? = nil,
                               checkMultiplicity: Bool = true) throws
        -> (values: [Double], vectors: Matrix, applications: Int)
    {
        let n = op.dimension
        try check(arguments: [("count", k >= 0, "\(k); it must be at least 0"),
                               ("tolerance", tolerance.isFinite && tolerance > 0, "\(tolerance); it must be a positive number"),
                               ("maxIterations", maxIterations >= 1, "\(maxIterations); it must be at least 1"),
                               ("basisSize", basisSize.map { $0 >= 1 } ?? true, "\(basisSize ?? 0); it must be at least 1"),
                               ("dimension", n >= 0, "\(n); an operator cannot have a negative dimension")])
        if k == 0 { return ([], Matrix(rows: n, cols: 0), 0) }
        if k >= n {
            guard let a = op as? Matrix else { throw LanczosError.countExceedsDimension(count: k, dimension: n) }
            let e = try Eigen.symmetric(a, vectors: true)
            return (e.values, e.vectors!, 0)
        }
        let m = min(n, max(k + 1, basisSize ?? max(2 * k + 10, 20)))
        let solver = TopEigenSolver(op, count: k, tolerance: tolerance, budget: maxIterations, basisSize: m, seed: seed,
                                    checkMultiplicity: checkMultiplicity)
        return try solver.solve()
    }

    /// The bottom `k` eigenpairs (smallest algebraic, i.e. most negative first) of a symmetric operator:
    /// `largest` run on −A, so the contract is the same — one solver, thick restart, locking and the
    /// multiplicity check included. Needed because a network's Hessian is indefinite, so its spectral
    /// norm is max(λ_max, −λ_min) and λ_min is not −(top of |A|).
    ///
    /// Values ASCENDING (λ_min first); vectors orthonormal columns of an n×k `Matrix`, signs arbitrary.
    /// Convergence: ‖Ax − θx‖ ≤ `tolerance`·max|Ritz value| for each pair, as for `largest` (the scale is
    /// the spectral-norm estimate of A, which −A shares). A dense `Matrix` with k ≥ n goes to
    /// `Eigen.symmetric` (0 applications); any other operator with k ≥ n throws
    /// `LanczosError.countExceedsDimension`. An exhausted budget throws `LanczosError.notConverged` with the
    /// Ritz values of A (ascending) and their relative residuals.
    public static func smallest(_ op: any SymmetricOperator, count k: Int, tolerance: Double = 1e-8,
                                maxIterations: Int = 300, seed: UInt64 = 0, basisSize: Int? = nil,
                                checkMultiplicity: Bool = true) throws
        -> (values: [Double], vectors: Matrix, applications: Int)
    {
        // A dense matrix stays a Matrix (dgemv applications, and the dense path for k ≥ n).
        let negated: any SymmetricOperator
        if let a = op as? Matrix {
            negated = -1 * a
        } else {
            negated = ClosureOperator(dimension: op.dimension) { v in
                var y = op.apply(v)
                scale(&y, by: -1)
                return y
            }
        }
        do {
            let top = try largest(negated, count: k, tolerance: tolerance, maxIterations: maxIterations, seed: seed,
                                  basisSize: basisSize, checkMultiplicity: checkMultiplicity)
            return (top.values.map { -$0 }, top.vectors, top.applications)
        } catch let LanczosError.notConverged(applications, values, residuals) {
            throw LanczosError.notConverged(applications: applications, values: values.map { -$0 }, relativeResiduals: residuals)
        }
    }

    /// Throws `LanczosError.invalidArgument` for the first (name, ok, "value; range") that is not ok,
    /// so a caller's bad argument is a one-line error, never a trap.
    static func check(arguments: [(String, Bool, String)]) throws {
        if let bad = arguments.first(where: { !$0.1 }) { throw LanczosError.invalidArgument("\(bad.0) is \(bad.2)") }
    }

    /// Hutchinson's trace estimate zᵀAz with Rademacher probes z ∈ {±1}ⁿ (one application each): the
    /// mean over `probes` probes and its standard error s/√probes (NaN for one probe). Probe p is drawn
    /// from its own stream of `seed`, so the first p probes are the same for any larger `probes`.
    public static func hutchinsonTrace(_ op: any SymmetricOperator, probes: Int, seed: UInt64) throws
        -> (estimate: Double, standardError: Double)
    {
        try hutchinsonTrace(dimension: op.dimension, probes: probes, seed: seed) { z in BLAS.dot(z, op.apply(z)) }
    }

    /// Hutchinson's estimate when the caller can evaluate the quadratic form zᵀAz more cheaply than A·z
    /// (e.g. the H-term of a network by one second-order forward pass): the same Rademacher probes, streams
    /// and standard error as `hutchinsonTrace(_:probes:seed:)`, which is this with zᵀ(A·z).
    public static func hutchinsonTrace(dimension n: Int, probes: Int, seed: UInt64,
                                       quadraticForm: ([Double]) -> Double) throws -> (estimate: Double, standardError: Double)
    {
        try check(arguments: [("probes", probes >= 1, "\(probes); Hutchinson needs at least 1"),
                               ("dimension", n >= 0, "\(n); an operator cannot have a negative dimension")])
        var samples: [Double] = []
        samples.reserveCapacity(probes)
        var z = [Double](repeating: 0, count: n)
        for p in 0..<probes {
            let rng = RandomStream(seed: seed, stream: Stream.hutchinson | UInt64(p))
            for i in 0..<n { z[i] = rng.uniform() < 0.5 ? -1 : 1 }
            samples.append(quadraticForm(z))
        }
        return meanAndStandardError(samples)
    }

    /// Stochastic Lanczos quadrature (Ubaru, Chen & Saad 2017; Ghorbani, Krishnan & Xiao 2019). For
    /// each of `probes` random unit vectors v (Gaussian, normalised; one stream each), `steps` Lanczos
    /// steps with full reorthogonalisation (one application each) give T = VᵀAV (tridiagonal to rounding), whose
    /// eigenvalues θᵢ and squared first eigenvector components τᵢ are the Gauss quadrature of v's
    /// spectral measure: Σ τᵢ f(θᵢ) ≈ vᵀf(A)v, exact for polynomials of degree < 2·steps. Averaging over
    /// probes estimates the spectral density (1/n)Σδ(t − λⱼ). A probe whose Krylov space turns out
    /// invariant stops early (its quadrature is then exact); steps are capped at n.
    public static func spectralDensity(_ op: any SymmetricOperator, steps: Int, probes: Int, seed: UInt64) throws
        -> SpectralQuadrature
    {
        let n = op.dimension
        try check(arguments: [("steps", steps >= 1, "\(steps); stochastic Lanczos quadrature needs at least 1"),
                               ("probes", probes >= 1, "\(probes); stochastic Lanczos quadrature needs at least 1"),
                               ("dimension", n >= 1, "\(n); stochastic Lanczos quadrature needs a non-empty operator")])
        let s = min(steps, n)
        var basis = KrylovBasis(dimension: n, capacity: s)
        var nodes: [Double] = [], weights: [Double] = [], offsets = [0]
        nodes.reserveCapacity(s * probes)
        weights.reserveCapacity(s * probes)
        for p in 0..<probes {
            let rng = RandomStream(seed: seed, stream: Stream.quadrature | UInt64(p))
            var v = [Double](repeating: 0, count: n)
            rng.fillGaussian(&v)
            scale(&v, by: 1 / norm(v))
            basis.removeAll()
            basis.append(v)
            var h = Matrix(rows: s, cols: s)
            var size = 0
            var scaleEstimate = 0.0
            while true {
                let j = basis.count - 1
                var w = op.apply(basis.column(j))
                scaleEstimate = max(scaleEstimate, norm(w))
                let (c, beta, independent) = orthogonalise(&w, against: [basis])
                for i in 0...j { h[i, j] = c[i]; h[j, i] = c[i] }
                size = j + 1
                if size == s || !independent || beta <= breakdownRatio * scaleEstimate { break }
                scale(&w, by: 1 / beta)
                basis.append(w)
            }
            let e = try Eigen.symmetric(leadingBlock(h, size), vectors: true)
            let y = e.vectors!
            for i in 0..<e.values.count {
                nodes.append(e.values[i])
                weights.append(y[0, i] * y[0, i] / Double(probes))
            }
            offsets.append(nodes.count)
        }
        return SpectralQuadrature(nodes: nodes, weights: weights, offsets: offsets)
    }

    // MARK: internals

    /// Stream tags so the estimators never share random numbers for one seed.
    enum Stream {
        static let restart: UInt64 = 0x4C41_4E43 << 32
        static let hutchinson: UInt64 = 0x4855_5443 << 32
        static let quadrature: UInt64 = 0x534C_5120 << 32
    }

    /// β below this fraction of the operator's scale is an invariant subspace.
    static let breakdownRatio = 1e-12

    static func meanAndStandardError(_ x: [Double]) -> (estimate: Double, standardError: Double) {
        let count = Double(x.count)
        let mean = x.reduce(0, +) / count
        guard x.count > 1 else { return (mean, .nan) }
        let variance = x.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (count - 1)
        return (mean, (variance / count).squareRoot())
    }
}

/// The raw stochastic Lanczos quadrature: node i carries weight τᵢ/probes, so each probe's weights
/// sum to 1/probes and all of them to 1. Probe p owns `nodes[offsets[p]..<offsets[p + 1]]`.
public struct SpectralQuadrature: Sendable {
    public var nodes: [Double]
    public var weights: [Double]
    public var offsets: [Int]

    public init(nodes: [Double], weights: [Double], offsets: [Int]) {
        precondition(nodes.count == weights.count && offsets.first == 0 && offsets.last == nodes.count,
                     "nodes, weights and offsets disagree")
        self.nodes = nodes
        self.weights = weights
        self.offsets = offsets
    }

    public var probes: Int { offsets.count - 1 }

    /// The Gaussian-smoothed density Σᵢ wᵢ·N(t; θᵢ, σ²) at each grid point; integrates to 1 over R.
    public func density(on grid: [Double], bandwidth sigma: Double) -> [Double] {
        precondition(sigma > 0, "bandwidth must be positive")
        let norm = 1 / (sigma * (2 * Double.pi).squareRoot())
        let inverse = 1 / (2 * sigma * sigma)
        return grid.map { t in
            var sum = 0.0
            for i in nodes.indices {
                let d = t - nodes[i]
                sum += weights[i] * exp(-d * d * inverse)
            }
            return sum * norm
        }
    }

    /// The r-th spectral moment tr(Aʳ)/n: its probe average Σ wᵢθᵢʳ and the standard error over
    /// probes (NaN for one probe). Exact per probe (vᵀAʳv) for r < 2·steps.
    public func moment(_ r: Int) -> (mean: Double, standardError: Double) {
        precondition(r >= 0, "moment order must be non-negative")
        let perProbe = (0..<probes).map { p in
            (offsets[p]..<offsets[p + 1]).reduce(0.0) { $0 + weights[$1] * pow(nodes[$1], Double(r)) } * Double(probes)
        }
        let (mean, se) = Lanczos.meanAndStandardError(perProbe)
        return (mean, se)
    }
}

// MARK: - Krylov basis and BLAS kernels

/// Orthonormal vectors as the leading `count` columns of an n×capacity column-major `Matrix`, so that
/// projections onto them are single `dgemv` calls on a sub-block.
fileprivate struct KrylovBasis {
    private(set) var vectors: Matrix
    private(set) var count = 0

    init(dimension: Int, capacity: Int) { vectors = Matrix(rows: dimension, cols: capacity) }

    var dimension: Int { vectors.rows }
    var capacity: Int { vectors.cols }

    mutating func removeAll() { count = 0 }

    func column(_ j: Int) -> [Double] {
        precondition(j < count, "column \(j) of \(count)")
        let n = dimension
        return Array(vectors.storage[(j * n)..<((j + 1) * n)])
    }

    mutating func append(_ v: [Double]) {
        precondition(v.count == dimension, "vector length \(v.count), basis dimension \(dimension)")
        if count == capacity { grow(to: Swift.max(2 * capacity, 4)) }
        let n = dimension, j = count
        vectors.storage.withUnsafeMutableBufferPointer { pv in
            v.withUnsafeBufferPointer { (pv.baseAddress! + j * n).update(from: $0.baseAddress!, count: n) }
        }
        count += 1
    }

    mutating func grow(to capacity: Int) {
        var bigger = Matrix(rows: dimension, cols: capacity)
        bigger.storage.replaceSubrange(0..<(dimension * count), with: vectors.storage[0..<(dimension * count)])
        vectors = bigger
    }

    /// Vᵀw over the columns in use: one transposed `dgemv`.
    func coefficients(of w: [Double]) -> [Double] {
        var c = [Double](repeating: 0, count: count)
        let n = dimension
        guard count > 0, n > 0 else { return c }
        vectors.storage.withUnsafeBufferPointer { pv in
            w.withUnsafeBufferPointer { pw in
                c.withUnsafeMutableBufferPointer { pc in
                    cblas_dgemv(CblasColMajor, CblasTrans, blasInt(n), blasInt(count), 1, pv.baseAddress, blasInt(n),
                                pw.baseAddress, 1, 0, pc.baseAddress, 1)
                }
            }
        }
        return c
    }

    /// w ← w − V·c: one `dgemv`.
    func subtract(_ c: [Double], from w: inout [Double]) {
        let n = dimension
        guard count > 0, n > 0 else { return }
        vectors.storage.withUnsafeBufferPointer { pv in
            c.withUnsafeBufferPointer { pc in
                w.withUnsafeMutableBufferPointer { pw in
                    cblas_dgemv(CblasColMajor, CblasNoTrans, blasInt(n), blasInt(count), -1, pv.baseAddress, blasInt(n),
                                pc.baseAddress, 1, 1, pw.baseAddress, 1)
                }
            }
        }
    }

    /// V·Y[:, 0..<columns] as an n×columns matrix (Y has `count` rows): one `dgemm`.
    func combine(_ y: Matrix, columns: Int) -> Matrix {
        precondition(y.rows == count && columns <= y.cols, "coefficients are \(y.rows)×\(y.cols) for \(count) vectors")
        var x = Matrix(rows: dimension, cols: columns)
        BLAS.accumulateBlock(vectors, rows: 0..<dimension, cols: 0..<count, y, rows: 0..<count, cols: 0..<columns,
                             into: &x, at: 0, 0)
        return x
    }

    /// V[:, 0..<l] ← V·Y[:, 0..<l] in place (a thick restart), by `dgemm` on row panels so the only
    /// extra memory is one panel; `count` becomes l.
    mutating func rotate(by y: Matrix, keeping l: Int) {
        precondition(y.rows == count && l <= y.cols && l <= count, "rotation does not fit the basis")
        let n = dimension, c = count
        guard l > 0, n > 0 else { count = l; return }
        let panel = 512
        var tmp = [Double](repeating: 0, count: Swift.min(panel, n) * l)
        vectors.storage.withUnsafeMutableBufferPointer { pv in
            y.storage.withUnsafeBufferPointer { py in
                tmp.withUnsafeMutableBufferPointer { pt in
                    var r0 = 0
                    while r0 < n {
                        let rb = Swift.min(panel, n - r0)
                        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, blasInt(rb), blasInt(l), blasInt(c), 1,
                                    pv.baseAddress! + r0, blasInt(n), py.baseAddress, blasInt(y.rows),
                                    0, pt.baseAddress, blasInt(rb))
                        for j in 0..<l { (pv.baseAddress! + r0 + j * n).update(from: pt.baseAddress! + j * rb, count: rb) }
                        r0 += rb
                    }
                }
            }
        }
        count = l
    }
}

/// ‖x‖₂ by `dnrm2`.
fileprivate func norm(_ x: [Double]) -> Double {
    x.withUnsafeBufferPointer { cblas_dnrm2(blasInt(x.count), $0.baseAddress, 1) }
}

/// x ← s·x by `dscal`.
fileprivate func scale(_ x: inout [Double], by s: Double) {
    let n = x.count
    x.withUnsafeMutableBufferPointer { cblas_dscal(blasInt(n), s, $0.baseAddress, 1) }
}

/// Removes from w its components on every basis in `bases` by classical Gram–Schmidt (one
/// transposed and one plain `dgemv` per basis), repeated while a pass shrinks the norm below 1/√2 of its
/// previous value (Daniel–Gragg–Kaufman–Stewart), at most three passes. Returns the accumulated
/// coefficients on the last basis (column j of VᵀAV when w = Av_j and the last basis is V), the final
/// norm, and whether w is independent of the bases (false if it kept shrinking: w lies in their span
/// to rounding).
fileprivate func orthogonalise(_ w: inout [Double], against bases: [KrylovBasis])
    -> (coefficients: [Double], norm: Double, independent: Bool)
{
    var before = norm(w)
    var total = [Double](repeating: 0, count: bases.last?.count ?? 0)
    for _ in 0..<3 {
        for (b, basis) in bases.enumerated() where basis.count > 0 {
            let c = basis.coefficients(of: w)
            basis.subtract(c, from: &w)
            if b == bases.count - 1 { for i in c.indices { total[i] += c[i] } }
        }
        let after = norm(w)
        if after == 0 { return (total, 0, false) }
        if after >= 0.7071067811865476 * before { return (total, after, true) }
        before = after
    }
    return (total, norm(w), false)
}

/// The leading size×size block of a square matrix.
fileprivate func leadingBlock(_ h: Matrix, _ size: Int) -> Matrix {
    Matrix(rows: size, cols: size) { i, j in h[i, j] }
}

// MARK: - Thick-restart Lanczos with locking

fileprivate final class TopEigenSolver {
    let op: any SymmetricOperator
    let n: Int, k: Int, tolerance: Double, budget: Int, basisSize: Int
    let checkMultiplicity: Bool
    let rng: RandomStream
    var applications = 0
    /// |λ_max| estimate: the largest |Ritz value| seen.
    var normEstimate = 0.0
    /// The smallest Ritz value seen, an upper estimate of λ_min (for the Kuczyński–Woźniakowski shift).
    var lowestRitz = Double.infinity
    /// Converged eigenvectors, with their values: every later Krylov vector is kept orthogonal to them.
    var locked: KrylovBasis
    var lockedValues: [Double] = []
    /// The main round's leading unconverged Ritz vectors, deflated (besides `locked`) while checking
    /// for missed multiplicities; orthonormal and orthogonal to `locked`.
    var deflated: KrylovBasis
    var active: KrylovBasis

    init(_ op: any SymmetricOperator, count k: Int, tolerance: Double, budget: Int, basisSize: Int, seed: UInt64,
         checkMultiplicity: Bool = true) {
        self.checkMultiplicity = checkMultiplicity
        self.op = op
        self.n = op.dimension
        self.k = k
        self.tolerance = tolerance
        self.budget = budget
        self.basisSize = basisSize
        self.rng = RandomStream(seed: seed, stream: Lanczos.Stream.restart)
        locked = KrylovBasis(dimension: n, capacity: k + 4)
        deflated = KrylovBasis(dimension: n, capacity: 0)
        active = KrylovBasis(dimension: n, capacity: basisSize)
    }

    enum Goal {
        /// The top `count` Ritz pairs; on convergence they are locked, and up to `deflate` further
        /// leading Ritz vectors go to `deflated`.
        case top(Int, deflate: Int)
        /// Detect any eigenvalue above `threshold` (the k-th locked value) in the complement of the locked
        /// and deflated vectors: `.detected` with the leading Ritz vector, or `.none` having ruled it out.
        case detect(above: Double)
        /// Converge and lock every eigenvalue above `threshold` in the complement of the locked vectors.
        case converge(above: Double)
    }

    enum Outcome {
        case locked(Int)
        case detected([Double])
        case none
    }

    func solve() throws -> (values: [Double], vectors: Matrix, applications: Int) {
        // Main round. The Krylov space of one start vector holds one vector of each eigenspace, so a
        // missed copy of a repeated eigenvalue is orthogonal to the whole main basis (up to rounding).
        // Deflating its leading unconverged Ritz vectors (approximations of λ_{k+1}, λ_{k+2}, …) besides
        // the converged ones keeps every missed copy an eigenvector of the deflated operator, while
        // lowering that operator's top eigenvalue, so the check needs far fewer applications.
        _ = try round(.top(k, deflate: deflationCount), start: nil)
        // Multiplicity check: fresh Krylov sequences in the complement of everything locked and deflated.
        // A detection is converged without the deflated vectors (rounding errors, amplified by the main
        // round, leave them small parts of the missed copies, enough to spoil a residual at 1e-8), starting
        // from the detected Ritz vector.
        while checkMultiplicity && locked.count < n {
            let threshold = lockedValues.sorted(by: >)[k - 1]
            guard case let .detected(x) = try round(.detect(above: threshold), start: nil),
                  case .locked = try round(.converge(above: threshold), start: x) else { break }
            rebuildDeflated()
        }
        let order = lockedValues.indices.sorted { lockedValues[$0] > lockedValues[$1] }.prefix(k)
        var x = Matrix(rows: n, cols: k)
        for (j, source) in order.enumerated() {
            x.storage.replaceSubrange((j * n)..<((j + 1) * n), with: locked.vectors.storage[(source * n)..<((source + 1) * n)])
        }
        return (order.map { lockedValues[$0] }, x, applications)
    }

    /// How many unconverged Ritz vectors of the main round to deflate during the check: enough to push
    /// the deflated operator's top eigenvalue well below λ_k (a dozen or so cuts a gap-poor check ~3×).
    var deflationCount: Int { max(k, 10) }

    /// Re-orthonormalises the deflated vectors against newly locked ones (Gram–Schmidt by `dgemv`).
    func rebuildDeflated() {
        let old = deflated
        deflated = KrylovBasis(dimension: n, capacity: old.count)
        for j in 0..<old.count {
            var v = old.column(j)
            let (_, length, independent) = orthogonalise(&v, against: [locked, deflated])
            if independent && length > 0 {
                scale(&v, by: 1 / length)
                deflated.append(v)
            }
        }
    }

    /// `v` orthogonalised against the given bases and normalised; nil if it lies in their span.
    func normalisedComplement(_ v: [Double], against bases: [KrylovBasis]) -> [Double]? {
        var g = v
        let (_, length, independent) = orthogonalise(&g, against: bases)
        guard independent && length > 0 else { return nil }
        scale(&g, by: 1 / length)
        return g
    }

    /// A Gaussian vector orthogonal to the given bases, normalised; nil if they span Rⁿ.
    func randomDirection(against bases: [KrylovBasis]) -> [Double]? {
        for _ in 0..<3 {
            var g = [Double](repeating: 0, count: n)
            rng.fillGaussian(&g)
            if let v = normalisedComplement(g, against: bases) { return v }
        }
        return nil
    }

    /// Thick-restart Lanczos in the complement of the locked (and, when detecting, deflated) vectors,
    /// from `start` or else a fresh random vector.
    func round(_ goal: Goal, start: [Double]?) throws -> Outcome {
        var fixed = [locked]
        if case .detect = goal { fixed.append(deflated) }
        let room = n - fixed.reduce(0) { $0 + $1.count }
        let m = min(basisSize, room)
        active.removeAll()
        guard m > 0 else { return .none }
        let first = start.flatMap { normalisedComplement($0, against: fixed) } ?? randomDirection(against: fixed)
        guard let first else { return .none }
        active.append(first)
        var h = Matrix(rows: m, cols: m)
        var steps = 0
        var invariant = false
        while true {
            let j = active.count - 1
            var w = op.apply(active.column(j))
            applications += 1
            steps += 1
            let scaleEstimate = max(normEstimate, norm(w))
            let (c, beta, independent) = orthogonalise(&w, against: fixed + [active])
            for i in 0...j { h[i, j] = c[i]; h[j, i] = c[i] }
            let size = j + 1
            let breakdown = !independent || beta <= Lanczos.breakdownRatio * scaleEstimate
            if breakdown { invariant = true }

            // Rayleigh–Ritz on VᵀAV; residual of Ritz pair i is β·|y_last,i| by the Lanczos relation.
            let e = try Eigen.symmetric(leadingBlock(h, size), vectors: true)
            let y = e.vectors!
            let theta = e.values
            let residuals = (0..<size).map { i in beta * abs(y[size - 1, i]) }
            normEstimate = max(normEstimate, abs(theta[0]), abs(theta[size - 1]), lockedValues.map(abs).max() ?? 0)
            lowestRitz = min(lowestRitz, theta[size - 1])
            let limit = tolerance * normEstimate
            func relative(_ c: Int) -> [Double] { residuals[0..<c].map { $0 / max(normEstimate, .leastNormalMagnitude) } }

            let wanted: Int
            switch goal {
            case let .top(count, deflate):
                if size >= count && residuals[0..<count].allSatisfy({ $0 <= limit }) {
                    let extra = min(deflate, size - count)
                    active.rotate(by: y, keeping: count + extra)
                    for j in 0..<count { locked.append(active.column(j)); lockedValues.append(theta[j]) }
                    deflated = KrylovBasis(dimension: n, capacity: extra)
                    for j in count..<(count + extra) { deflated.append(active.column(j)) }
                    return .locked(count)
                }
                if applications >= budget {
                    let c = min(count, size)
                    throw LanczosError.notConverged(applications: applications, values: Array(theta[0..<c]), relativeResiduals: relative(c))
                }
                wanted = count
            case let .detect(threshold):
                if theta[0] > threshold + limit {
                    return .detected(active.combine(y, columns: 1).storage)
                }
                if invariant || residuals[0] <= limit || applications >= budget
                    || noneAbove(threshold + limit, top: theta[0], steps: min(steps, m), dimension: room) {
                    return .none
                }
                wanted = 1
            case let .converge(threshold):
                let above = theta.prefix { $0 > threshold + limit }.count
                if above > 0 && residuals[0..<above].allSatisfy({ $0 <= limit }) {
                    let x = active.combine(y, columns: above)
                    for j in 0..<above { locked.append(x.column(j)); lockedValues.append(theta[j]) }
                    return .locked(above)
                }
                if above == 0 && (invariant || residuals[0] <= limit || applications >= budget) { return .none }
                if applications >= budget {
                    throw LanczosError.notConverged(applications: applications, values: Array(theta[0..<above]),
                                                    relativeResiduals: relative(above))
                }
                wanted = max(above, 1)
            }

            if size == m {
                // Thick restart: keep the leading Ritz vectors; the residual direction follows.
                let keep = min(m - 1, wanted + (m - wanted) / 2)
                active.rotate(by: y, keeping: keep)
                h = Matrix(rows: m, cols: m)
                for i in 0..<keep { h[i, i] = theta[i] }
            }
            if breakdown {
                guard let fresh = randomDirection(against: fixed + [active]) else {
                    preconditionFailure("Lanczos basis spans the complement yet its Ritz pairs have not converged")
                }
                active.append(fresh)
            } else {
                scale(&w, by: 1 / beta)
                active.append(w)
            }
        }
    }

    /// Kuczyński & Woźniakowski (1992): after j Lanczos steps from a uniformly random start on an
    /// n-dimensional operator, P(μ₁ − ρ₁ > ε(μ₁ − σ)) ≤ 1.648·√n·exp(−√ε·(2j − 1)) for any σ ≤ μ_min.
    /// With failure probability 10⁻⁴ this bounds the top eigenvalue μ₁ ≤ (ρ₁ − εσ)/(1 − ε); true if that
    /// bound is at most `level`. Thick restarts keep the top Ritz vector of the first m steps, so j is
    /// capped at m. σ is the lowest Ritz value seen less a tenth of the spread, since Ritz values lie
    /// above the spectrum's minimum.
    func noneAbove(_ level: Double, top rho: Double, steps j: Int, dimension: Int) -> Bool {
        guard j >= 2 else { return false }
        let root = log(1.648 * Double(dimension).squareRoot() / 1e-4) / Double(2 * j - 1)
        let epsilon = root * root
        guard epsilon < 1 else { return false }
        let highest = max(rho, lockedValues.max() ?? rho)
        let sigma = lowestRitz - 0.1 * (highest - lowestRitz)
        return (rho - epsilon * sigma) / (1 - epsilon) <= level
    }
}
