import Linalg

/// Where the model's generator vectors sit, in blocks of C: the column order of the dense draws
/// Y and the row order of Gram mode's W = YᵀY.
///
///     block 0            c_0 … c_{C−1}                    class means (always)
///     blocks 1 … N       e^μ_0 … e^μ_{C−1}, μ = 0 … N−1   residuals (always)
///     next C blocks      d_{0,a} … d_{C−1,a}, a = 0 … C−1  class offsets (only if σ_d > 0)
///     next block         s_0 … s_{C−1}                    own-class extras (only if σ_s > 0)
///
/// (the random hyperplane's d columns follow in Gram mode). Absent families take no rows, so at
/// σ_d = σ_s = 0 the layout, and every stream and matrix built on it, is the paper model's. With
/// `examples: 0` the same code lays out the mean part alone (c, d, s): the signal Gram's order.
struct GeneratorLayout {
    let classes: Int
    let examples: Int
    let hasOffsets: Bool
    let hasOwnClass: Bool

    init(_ config: ModelConfiguration, examples: Int? = nil) {
        classes = config.classes
        self.examples = examples ?? config.examples
        hasOffsets = config.sigmaD > 0
        hasOwnClass = config.sigmaS > 0
    }

    var meanBlock: Int { 0 }
    func residualBlock(_ mu: Int) -> Int { 1 + mu }
    /// The block of d_{·,a} (logit k at row k), nil when σ_d = 0.
    func offsetBlock(_ a: Int) -> Int? { hasOffsets ? 1 + examples + a : nil }
    /// The block of s (logit k at row k), nil when σ_s = 0.
    var ownClassBlock: Int? { hasOwnClass ? 1 + examples + (hasOffsets ? classes : 0) : nil }
    var blocks: Int { 1 + examples + (hasOffsets ? classes : 0) + (hasOwnClass ? 1 : 0) }
    /// m, the number of generators.
    var rows: Int { blocks * classes }

    /// The generators whose sum is J^μ_k for an example of class a, in a fixed order: c_k, e^μ_k,
    /// d_{k,a}, and s_k if a = k (those present). Every scale, S_k and σ, is in the generators.
    func logitGradientTerms(example mu: Int, logit k: Int, label a: Int) -> [Int] {
        var t = [meanBlock * classes + k, residualBlock(mu) * classes + k]
        if let b = offsetBlock(a) { t.append(b * classes + k) }
        if let b = ownClassBlock, a == k { t.append(b * classes + k) }
        return t
    }

    /// The rows of the mean part (c, d, s) within this layout, in the signal Gram's order.
    var signalRows: [Int] {
        Array(0..<classes) + Array(((1 + examples) * classes)..<rows)
    }

    /// The scale of each generator in units of a standard Gaussian vector: S_k·σ/√D for c_k, d_{k,a}
    /// and s_k, σ_E/√D for the residuals. The expressions for c and e are the paper model's.
    static func scales(_ config: ModelConfiguration, layout: GeneratorLayout) -> [Double] {
        let root = Double(config.dimension).squareRoot()
        let lengths = config.classLengthScales
        var s = lengths.map { config.sigmaC * $0 / root }
            + [Double](repeating: config.sigmaE / root, count: layout.examples * config.classes)
        if layout.hasOffsets {
            for _ in 0..<config.classes { s += lengths.map { config.sigmaD * $0 / root } }
        }
        if layout.hasOwnClass { s += lengths.map { config.sigmaS * $0 / root } }
        return s
    }
}

/// The eq. 16 signal term groups examples by their mean logit gradients M^μ (rows
/// S_k(c_k + d_{k,y_μ} + s_k[y_μ = k])): examples with one M share the term M·(Σ_{μ∈group} P^μ/N)·Mᵀ.
/// Without class-conditional parts every example has M = c: one group, weight P̄, the paper's
/// cᵀP̄c. With them, one group a class (classes without examples are left out).
struct SignalGroup {
    /// The class whose mean the group shares; nil when all examples share c.
    let label: Int?
    /// (1/N)·Σ_{μ∈group} P^μ, C×C.
    let weight: Matrix

    static func groups(_ config: ModelConfiguration, logits: LogitSample) -> [SignalGroup] {
        let keyed = config.hasClassConditionalMeans
        let count = keyed ? logits.classes : 1
        let weights = summedSoftmaxHessians(logits, groups: count, group: { keyed ? logits.labels[$0] : 0 })
        var members = [Int](repeating: 0, count: count)
        for mu in 0..<logits.examples { members[keyed ? logits.labels[mu] : 0] += 1 }
        return (0..<count).filter { members[$0] > 0 }.map { SignalGroup(label: keyed ? $0 : nil, weight: weights[$0]) }
    }

    /// (1/N)·Σ_{μ: group(μ) = g} P^μ for g = 0 ..< groups, summed in example order term by term,
    /// so that one group gives P̄ exactly as the paper model computed it.
    static func summedSoftmaxHessians(_ logits: LogitSample, groups count: Int, group: (Int) -> Int) -> [Matrix] {
        let (c, n) = (logits.classes, logits.examples)
        var weights = [Matrix](repeating: Matrix(rows: c, cols: c), count: count)
        let p = logits.probabilities
        for mu in 0..<n {
            let g = group(mu)
            for j in 0..<c { for i in 0..<c {
                weights[g][i, j] += ((i == j ? p[mu * c + i] : 0) - p[mu * c + i] * p[mu * c + j]) / Double(n)
            } }
        }
        return weights
    }

    /// The mixing blocks of this group's signal columns: a C×(C−1) factor B (B·Bᵀ = weight, unless
    /// another `factor` is given) on the generators of M: the c block, the class's d block and row a
    /// of the s block (as a block whose other rows are zero), for each family present in `layout`.
    func entries(layout: GeneratorLayout, column: Int, factor: Matrix? = nil) throws -> [BlockFactor.Entry] {
        let b = try factor ?? GramModel.reducedFactor(weight)
        var e = [BlockFactor.Entry(row: layout.meanBlock, col: column, block: b)]
        if let a = label {
            if let r = layout.offsetBlock(a) { e.append(.init(row: r, col: column, block: b)) }
            if let r = layout.ownClassBlock { e.append(.init(row: r, col: column, block: GeneratorLayout.onlyRow(a, of: b))) }
        }
        return e
    }
}

extension SignalGroup {
    /// The rank of the signal term's span in generator space, from the structure alone: the signal
    /// columns with each group's factor replaced by Q, an orthonormal basis of 1⊥ (the range of
    /// every weight). With offsets it is the column count G(C−1); at σ_d = 0 < σ_s the columns
    /// span only c and s, minus the direction Σ_k c_k that every P^μ·1 = 0 removes: 2C − 1. Entries
    /// are 0 or Q's, so the singular values are 0 or O(1) and the count is exact.
    static func structuralRank(_ groups: [SignalGroup], layout: GeneratorLayout) throws -> Int {
        let c = layout.classes
        let q = try GramModel.complementOfOnes(c)
        var f = BlockFactor(rowBlockSize: c, colBlockSize: c - 1, rowBlocks: layout.blocks, colBlocks: groups.count)
        for (j, group) in groups.enumerated() { f.entries += try group.entries(layout: layout, column: j, factor: q) }
        let b = f.leftMultiplied(by: Matrix.identity(f.rows))
        let values = try Eigen.symmetric(BLAS.gram(b), vectors: false).values
        return values.filter { $0 > 1e-8 * (values.first ?? 0) }.count
    }
}

extension GeneratorLayout {
    /// e_a·e_aᵀ·B: B with every row but row a set to zero (s_a enters only logit a of class a).
    static func onlyRow(_ a: Int, of b: Matrix) -> Matrix {
        Matrix(rows: b.rows, cols: b.cols) { i, j in i == a ? b[i, j] : 0 }
    }
}
