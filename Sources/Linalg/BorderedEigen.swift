import Foundation

/// Eigenvalues and eigenvector projections of a symmetric bordered matrix
///
///     K = [ A   Bᵀ ]      A: L×L (the corner), E: n×n reduced once to E = Q·T·Qᵀ
///         [ B   E  ]      (T tridiagonal, with its eigenvalues Λ), B: n×L given as Z = Qᵀ·B,
///
/// without forming or reducing K: what changes from one K to the next is only the small corner and
/// the coupling, so E is reduced once and every evaluation costs O(n·L) (shifted tridiagonal solves).
///
/// - Counting. For μ not in Λ, Haynsworth's inertia additivity on the Schur complement of E − μ
///   gives #{λ(K) > μ} = #{Λ_i > μ} + n₊(S(μ)), S(μ) = A − μ − Zᵀ·(T − μ)⁻¹·Z: exact, from an L×L
///   eigenvalue problem. Points within n·ε·‖T‖ of a pole Λ_i are moved off it, so the pole count
///   and the solve do not disagree about its side.
/// - Eigenvalues. λ_j(K) lies in its Cauchy interlacing interval [Λ_j, Λ_{j−L}]. Bisection on the
///   count shrinks that interval until no Λ_i lies inside it; there, with p = #{Λ_i above it}, the
///   (j − p)-th largest eigenvalue σ_q of S(μ) is continuous and decreasing (S′(μ) = −I − Zᵀ(T − μ)⁻²Z ≼ 0,
///   Weyl) and vanishes exactly at λ_j; Newton's method on σ_q, with its exact slope
///   (Hellmann–Feynman), finds it in a few steps.
/// - Eigenvectors. For K·[y; x] = λ·[y; x]: S(λ)·y = 0 and Qᵀx = −(T − λ)⁻¹·Z·y, so the unit
///   eigenvector's products with any vector [s; Q·r] are (sᵀy + rᵀ(Qᵀx))/‖[y; Qᵀx]‖ — nothing of size n
///   beyond those coordinates is needed.
///
/// `FortGanguli`'s phase diagram uses it for eq. 16 (A: the signal term, E: the noise term,
/// reduced once per σ_z and reused at every SNR). Exact against a dense eigen-decomposition of
/// K in `BorderedEigenTests`.
public struct BorderedEigen {
    /// A, L×L, symmetric.
    public let corner: Matrix
    /// T, E's tridiagonal form (a diagonal T when E's eigenbasis is the basis).
    public let trailing: SymmetricTridiagonal
    /// Z = Qᵀ·B, n×L: the coupling in T's basis.
    public let coupling: Matrix

    public init(corner: Matrix, trailing: SymmetricTridiagonal, coupling: Matrix) {
        precondition(corner.rows == corner.cols && corner.rows >= 1 && coupling.cols == corner.rows && coupling.rows == trailing.order,
                     "a bordered matrix needs an L×L corner (L ≥ 1), an order-n trailing block and an n×L coupling")
        self.corner = corner
        self.trailing = trailing
        self.coupling = coupling
        values = trailing.eigenvalues
        poleGuard = Double(max(values.count, 8)) * Double.ulpOfOne * max(abs(values.first ?? 0), abs(values.last ?? 0), .leastNormalMagnitude)
    }

    /// Λ, T's eigenvalues, descending.
    let values: [Double]
    /// Points closer than this to a pole are moved off it: n·ε·‖T‖, the accuracy of T's computed
    /// eigenvalues (`dsterf`). Within it the pole count (from those eigenvalues) and the shifted
    /// solve may disagree about the pole's side; a guard of 8ε·‖T‖ let bisection settle on a
    /// weakly coupled pole at n = 2700 and report it as an eigenvalue of K (caught against the full
    /// path; `BorderedSpectrumTests.testWeaklyCoupledPoleIsNoEigenvalue`).
    let poleGuard: Double

    var width: Int { corner.rows }

    /// Relative width at which an eigenvalue's bracket stops: near the root S(μ)'s branch is known
    /// only to about ε·‖S‖, so narrower brackets cost steps without accuracy (a dense reduction of K
    /// is itself accurate to about n·ε·‖K‖).
    static let tolerance = 1e-14
    var order: Int { values.count }

    /// #{Λ_i > μ} (Λ descending), by binary search.
    func poles(above mu: Double) -> Int {
        var (lo, hi) = (0, values.count)
        while lo < hi { let mid = (lo + hi) / 2; if values[mid] > mu { lo = mid + 1 } else { hi = mid } }
        return lo
    }

    /// S(μ) = A − μ·I − Zᵀ·(T − μ)⁻¹·Z, for μ off the poles.
    func schur(_ mu: Double) throws -> Matrix {
        let l = width
        var s = BLAS.multiply(coupling, transposeA: true, try trailing.solveShifted(mu, coupling))
        for j in 0..<l { for i in 0..<l { s[i, j] = corner[i, j] - s[i, j] } }
        for i in 0..<l { s[i, i] -= mu }
        return s
    }

    /// μ itself unless it lies within `poleGuard` of a pole Λ_i, else the nearest point above
    /// μ that is at least that far from every pole.
    func offPole(_ mu: Double) -> Double {
        var x = mu
        while true {
            let k = poles(above: x)
            // Λ_{k−1} > x ≥ Λ_k: the poles on either side.
            if k < values.count && x - values[k] < poleGuard { x = values[k] + 2 * poleGuard; continue }
            if k > 0 && values[k - 1] - x < poleGuard { x = values[k - 1] + 2 * poleGuard; continue }
            return x
        }
    }

    /// The number of eigenvalues of K above μ (μ on a pole counts as just above it).
    public func count(above mu: Double) throws -> Int {
        let x = offPole(mu)
        return poles(above: x) + (try Eigen.symmetric(try schur(x), vectors: false).values.filter { $0 > 0 }.count)
    }

    /// A point where the count and S(μ)'s eigenpairs (values descending) were evaluated.
    private struct Probe {
        let mu: Double
        let poles: Int
        let schur: [Double]
        let vectors: Matrix
        var count: Int { poles + schur.filter { $0 > 0 }.count }
    }

    private func probe(_ mu: Double) throws -> Probe {
        let s = try Eigen.symmetric(try schur(mu), vectors: true)
        return Probe(mu: mu, poles: poles(above: mu), schur: s.values, vectors: s.vectors!)
    }

    /// dσ_q/dμ at a probe: y_qᵀ·S′(μ)·y_q = −‖y_q‖² − ‖(T − μ)⁻¹·Z·y_q‖² (Hellmann–Feynman).
    private func slope(_ p: Probe, branch q: Int) throws -> Double {
        let y = (0..<width).map { p.vectors[$0, q - 1] }
        let x = try trailing.solveShifted(p.mu, Matrix(rows: order, cols: 1, storage: BLAS.multiply(coupling, y)))
        return -(BLAS.dot(y, y) + BLAS.dot(x.storage, x.storage))
    }

    /// The number of poles Λ_i strictly inside (lo, hi).
    func poles(between lo: Double, and hi: Double) -> Int {
        poles(above: lo) - poles(above: hi) - (values.contains(hi) ? 1 : 0)
    }

    /// Bounds on K's spectrum: max/min of A's and E's extremes, widened by ‖B‖_F ≥ ‖B‖₂ (Weyl on the
    /// off-diagonal part).
    private func spectralBounds() throws -> (lower: Double, upper: Double) {
        let a = try Eigen.symmetric(corner, vectors: false).values
        let b = coupling.storage.reduce(0) { $0 + $1 * $1 }.squareRoot()
        let top = max(a.first ?? -.infinity, values.first ?? -.infinity)
        let bottom = min(a.last ?? .infinity, values.last ?? .infinity)
        return (bottom - b, top + b)
    }

    /// The j-th largest eigenvalue of K (j from 1). `probes` holds every point evaluated so far (for
    /// any j): the tightest of them bracket λ_j before any new evaluation, and new ones are added.
    ///
    /// Bisection over the poles until the bracket holds none; then Newton steps on the branch
    /// σ_q (q = j − poles above the bracket), whose slope is exact, from whichever probed end gives
    /// a step inside the bracket (the convex side's never overshoots), replaced by bisection whenever
    /// two steps have not halved it. Done when the bracket or a Newton step is below the relative
    /// tolerance.
    private func eigenvalue(_ j: Int, bounds: (lower: Double, upper: Double), probes: inout [Probe]) throws -> Double {
        let (n, l) = (order, width)
        // Interlacing: Λ_j ≤ λ_j(K) ≤ Λ_{j−L} (1-based), the spectral bounds beyond E's indices.
        var lo = j <= n ? values[j - 1] : bounds.lower
        var hi = j - l >= 1 ? values[j - l - 1] : bounds.upper
        var low: Probe? = nil, high: Probe? = nil
        for p in probes {
            if p.count >= j { if p.mu >= lo { (lo, low) = (p.mu, p) } } else if p.mu <= hi { (hi, high) = (p.mu, p) }
        }
        var widths = [hi - lo, hi - lo]
        for _ in 0..<400 {
            let scale = max(abs(lo), abs(hi), .leastNormalMagnitude)
            if !(hi - lo > BorderedEigen.tolerance * scale) { break }
            var mu = 0.5 * (lo + hi)
            let inside = poles(between: lo, and: hi)
            if inside > 0 {
                // Bisect over the poles: probe just beside the middle one, which tells on which side
                // of it λ_j lies, so log₂(poles) + 1 probes leave a pole-free bracket.
                let first = poles(above: hi) + (values.contains(hi) ? 1 : 0)
                let pole = values[first + inside / 2]
                mu = pole + 2 * poleGuard < hi ? pole + 2 * poleGuard : pole - 2 * poleGuard
            } else if hi - lo <= 0.5 * widths[0] || widths[0] == widths[1] {
                // Newton from each probed end; a step from the convex side stays inside the bracket,
                // one from the other side may overshoot it. Take the step from the end nearer the root.
                var best: (step: Double, value: Double)? = nil
                for p in [low, high].compactMap({ $0 }) {
                    let q = j - p.poles
                    guard q >= 1 && q <= l else { continue }
                    let d = try slope(p, branch: q)
                    guard d < 0 else { continue }
                    let t = p.mu - p.schur[q - 1] / d
                    // A step below the tolerance: the root is t to within it (the slope is exact).
                    if abs(t - p.mu) <= BorderedEigen.tolerance * scale && t >= lo && t <= hi { return t }
                    if t > lo && t < hi && (best == nil || abs(p.schur[q - 1]) < best!.value) { best = (t, abs(p.schur[q - 1])) }
                }
                if let best { mu = best.step }
            }
            mu = offPole(mu)
            if !(mu > lo && mu < hi) { break }
            widths = [widths[1], hi - lo]
            let p = try probe(mu)
            probes.append(p)
            if p.count >= j { (lo, low) = (mu, p) } else { (hi, high) = (mu, p) }
        }
        return 0.5 * (lo + hi)
    }

    /// An eigenpair the secular formulas could not resolve: its residual ‖K·w − λ·w‖ or its overlap
    /// with an earlier eigenvector exceeds `residualTolerance`. It happens where K is nearly
    /// decoupled from E's eigenvectors (a coupling below the pole guard, e.g. SNR ≲ 1e-20 in the
    /// model); a caller falls back to another method.
    public struct Unresolved: Error, CustomStringConvertible {
        public let index: Int
        public let residual: Double
        public var description: String { "bordered eigenpair \(index) unresolved (relative residual or overlap \(residual))" }
    }

    /// Residual and orthogonality tolerance, relative to ‖K‖ (the block Lanczos path's 1e-9·λ₁).
    public static let residualTolerance = 1e-9

    /// The `count` largest eigenvalues of K, descending, and each unit eigenvector's products with
    /// the columns of [leading; Q·trailing] (leading L×r, trailing n×r: the vectors' coordinates in
    /// T's basis), row i for eigenvalue i. Every pair is checked: its residual ‖K·w − λ·w‖ and its
    /// overlaps with the earlier eigenvectors must be below `residualTolerance` (relative to ‖K‖),
    /// else `Unresolved` is thrown rather than an inaccurate number returned.
    public func largest(_ count: Int, leading: Matrix, trailing: Matrix) throws -> (values: [Double], projections: Matrix) {
        let (n, l) = (order, width)
        precondition(count >= 0 && count <= n + l, "K has \(n + l) eigenvalues")
        precondition(leading.rows == l && trailing.rows == n && leading.cols == trailing.cols, "probe shapes")
        let r = leading.cols
        let bounds = try spectralBounds()
        var eigenvalues: [Double] = []
        var projections = Matrix(rows: count, cols: r)
        var probes: [Probe] = []
        var accepted: [[Double]] = []   // unit eigenvectors [y; Qᵀx], for the overlap check
        for j in stride(from: 1, through: count, by: 1) {
            let lambda = offPole(try eigenvalue(j, bounds: bounds, probes: &probes))
            eigenvalues.append(lambda)
            // y: the null vector of S(λ), the eigenvector of its eigenvalue nearest zero.
            let s = try Eigen.symmetric(try schur(lambda), vectors: true)
            var nearest = 0
            for i in 1..<max(l, 1) where abs(s.values[i]) < abs(s.values[nearest]) { nearest = i }
            let vectors = s.vectors!
            let y = (0..<l).map { vectors[$0, nearest] }
            // Qᵀx = −(T − λ)⁻¹·Z·y.
            let zy = BLAS.multiply(coupling, y)
            let x = try self.trailing.solveShifted(lambda, Matrix(rows: n, cols: 1, storage: zy)).storage.map { -$0 }
            let norm = (BLAS.dot(y, y) + BLAS.dot(x, x)).squareRoot()
            // K·w − λ·w for w = [y; x]: (A − λ)·y + Zᵀx on the corner's rows, Z·y + (T − λ)·x on E's.
            var top = BLAS.multiply(corner, y)
            let zx = BLAS.multiply(coupling, transpose: true, x)
            for i in 0..<l { top[i] += zx[i] - lambda * y[i] }
            let bottom = self.trailing.shiftedTimes(lambda, x)
            var residual = BLAS.dot(top, top)
            for i in 0..<n { let t = bottom[i] + zy[i]; residual += t * t }
            let scale = max(abs(eigenvalues[0]), abs(values.first ?? 0), abs(values.last ?? 0), .leastNormalMagnitude)
            let w = (y + x).map { $0 / norm }
            let overlap = accepted.map { abs(BLAS.dot($0, w)) }.max() ?? 0
            let worst = max(residual.squareRoot() / norm / scale, overlap)
            guard worst <= BorderedEigen.residualTolerance else { throw Unresolved(index: j, residual: worst) }
            accepted.append(w)
            let fromLeading = BLAS.multiply(leading, transpose: true, y)
            let fromTrailing = BLAS.multiply(trailing, transpose: true, x)
            for c in 0..<r { projections[j - 1, c] = (fromLeading[c] + fromTrailing[c]) / norm }
        }
        return (eigenvalues, projections)
    }
}
