import Linalg

/// Inner products of logit-gradient directions summed over groups, the sufficient statistics of
/// q^SLSC, q^SL and q^DL (eqs. 11–13). With u^μ_k the unit logit gradient of logit k at example μ:
/// `blockSums[(k,a),(l,b)] = Σ_{μ∈a, ν∈b} u^μ_k·u^ν_l` (classes a, b, self-pairs included), and
/// `sameExampleCross = Σ_μ Σ_{k≠l} u^μ_k·u^μ_l`. All pair sums follow as ‖Σu‖² − Σ‖u‖², so no
/// O(N²) loop is needed when the vectors are at hand, and a Gram gives them by block sums.
public struct LogitGradientPairSums: Sendable {
    public let classes: Int
    /// N_a, examples per class.
    public let classCounts: [Int]
    /// C²×C² matrix indexed by k·C + a.
    public let blockSums: Matrix
    public let sameExampleCross: Double
    /// Σ_{μ∈a} ‖u^μ_k‖² at index k·C + a (1 per example, 0 for a zero gradient).
    public let selfSums: [Double]

    /// From logit gradients as columns of a D×(N·C) matrix, column μ·C + k holding ∂z^μ_k/∂W.
    /// Cost O(N·C·D) plus the C²×C² Gram of the group sums.
    public init(jacobianColumns j: Matrix, labels: [Int], classes c: Int) {
        precondition(j.cols == labels.count * c, "expected \(labels.count * c) logit-gradient columns, got \(j.cols)")
        self.init(labels: labels, classes: c, examplesPerChunk: max(labels.count, 1)) { _ in j }
    }

    /// From logit gradients delivered a chunk of examples at a time, so that they never have to be
    /// held at once: `chunk(r)` returns the D×(|r|·C) columns of examples r (column (μ − r.lowerBound)·C + k),
    /// in any coordinates where inner products are those of the gradients (e.g. Lᵀ·S·A for a Gram W = S·L·Lᵀ·S).
    public init(labels: [Int], classes c: Int, examplesPerChunk: Int, chunk: (Range<Int>) throws -> Matrix) rethrows {
        let n = labels.count
        var groupSums: Matrix? = nil
        var selfSums = [Double](repeating: 0, count: c * c)
        var cross = 0.0
        var first = 0
        while first < n {
            let range = first..<min(n, first + examplesPerChunk)
            let u = try chunk(range)
            precondition(u.cols == range.count * c, "expected \(range.count * c) logit-gradient columns, got \(u.cols)")
            let d = u.rows
            if groupSums == nil { groupSums = Matrix(rows: d, cols: c * c) }
            // Unit vectors; column k·C + a of the group sums adds u^μ_k over μ in class a. Self-pairs split
            // into same-logit (‖u^μ_k‖², 1 or 0 for a zero gradient) and same-example cross terms
            // Σ_{k≠l} u^μ_k·u^μ_l = ‖Σ_k u^μ_k‖² − Σ_k ‖u^μ_k‖².
            u.storage.withUnsafeBufferPointer { p in
                groupSums!.storage.withUnsafeMutableBufferPointer { g in
                    var t = [Double](repeating: 0, count: d)
                    for (offset, mu) in range.enumerated() {
                        for i in 0..<d { t[i] = 0 }
                        var squares = 0.0
                        for k in 0..<c {
                            let base = (offset * c + k) * d
                            var s = 0.0
                            for i in 0..<d { s += p[base + i] * p[base + i] }
                            let inv = s > 0 ? 1 / s.squareRoot() : 0
                            let target = (k * c + labels[mu]) * d
                            var sq = 0.0
                            for i in 0..<d { let x = p[base + i] * inv; t[i] += x; g[target + i] += x; sq += x * x }
                            selfSums[k * c + labels[mu]] += sq
                            squares += sq
                        }
                        var total = 0.0
                        for i in 0..<d { total += t[i] * t[i] }
                        cross += total - squares
                    }
                }
            }
            first = range.upperBound
        }
        blockSums = BLAS.gram(groupSums ?? Matrix(rows: 0, cols: c * c))
        self.selfSums = selfSums
        sameExampleCross = cross
        classes = c
        classCounts = (0..<c).map { a in labels.reduce(0) { $0 + ($1 == a ? 1 : 0) } }
    }

    /// From sums already formed elsewhere (e.g. by a Gram factor, `TopSpectrum.pairSums` from the factor's coordinates).
    public init(classes: Int, classCounts: [Int], blockSums: Matrix, sameExampleCross: Double, selfSums: [Double]) {
        precondition(blockSums.rows == classes * classes && selfSums.count == classes * classes && classCounts.count == classes,
                     "pair sums of \(classes) classes need C²×C² block sums and C² self sums")
        (self.classes, self.classCounts, self.blockSums, self.sameExampleCross, self.selfSums)
            = (classes, classCounts, blockSums, sameExampleCross, selfSums)
    }

    /// From the (N·C)×(N·C) Gram of logit gradients (index μ·C + k), e.g. an empirical NTK.
    public init(gram g: Matrix, labels: [Int], classes c: Int) {
        let n = labels.count
        precondition(g.rows == n * c && g.cols == n * c, "Gram must be \(n * c)×\(n * c)")
        let norms = (0..<(n * c)).map { i in g[i, i] > 0 ? 1 / g[i, i].squareRoot() : 0 }
        var sums = Matrix(rows: c * c, cols: c * c)
        var selfSums = [Double](repeating: 0, count: c * c)
        var cross = 0.0
        for col in 0..<(n * c) {
            let nu = col / c, l = col % c
            let b = l * c + labels[nu]
            for row in 0..<(n * c) {
                let mu = row / c, k = row % c
                let v = g[row, col] * norms[row] * norms[col]
                sums[k * c + labels[mu], b] += v
                if mu == nu { if k != l { cross += v } else { selfSums[k * c + labels[mu]] += v } }
            }
        }
        blockSums = sums
        sameExampleCross = cross
        self.selfSums = selfSums
        classes = c
        classCounts = (0..<c).map { a in labels.reduce(0) { $0 + ($1 == a ? 1 : 0) } }
    }
}

/// The three logit-gradient clustering measures of Fort & Ganguli (eqs. 11–13).
public struct LogitGradientClustering: Equatable, Sendable {
    /// Same logit, same class: mean cosine over pairs μ≠ν both of class k, for logit k.
    public var qSLSC: Double
    /// Same logit: mean cosine over all pairs μ≠ν, for each logit k.
    public var qSL: Double
    /// Different logits: mean cosine between logit k at μ and logit l≠k at ν≠μ.
    public var qDL: Double

    /// Classes with fewer than two examples have no same-class pairs and are left out of q^SLSC.
    public init(_ s: LogitGradientPairSums) {
        let c = s.classes
        let n = s.classCounts.reduce(0, +)
        func block(_ k: Int, _ a: Int, _ l: Int, _ b: Int) -> Double { s.blockSums[k * c + a, l * c + b] }
        // Logit k over all examples: sum the class blocks.
        var perLogit = [[Double]](repeating: [Double](repeating: 0, count: c), count: c)
        for k in 0..<c { for l in 0..<c {
            var t = 0.0
            for a in 0..<c { for b in 0..<c { t += block(k, a, l, b) } }
            perLogit[k][l] = t
        } }
        var slsc = 0.0, counted = 0
        for k in 0..<c where s.classCounts[k] >= 2 {
            let nk = Double(s.classCounts[k])
            slsc += (block(k, k, k, k) - s.selfSums[k * c + k]) / (nk * (nk - 1))
            counted += 1
        }
        qSLSC = counted > 0 ? slsc / Double(counted) : .nan
        let pairs = Double(n) * Double(n - 1)
        var sl = 0.0
        for k in 0..<c {
            let selfPairs = (0..<c).reduce(0.0) { $0 + s.selfSums[k * c + $1] }
            sl += (perLogit[k][k] - selfPairs) / pairs
        }
        qSL = sl / Double(c)
        var dl = 0.0
        for k in 0..<c { for l in 0..<c where l != k { dl += perLogit[k][l] } }
        qDL = (dl - s.sameExampleCross) / (pairs * Double(c * (c - 1)))
    }
}
