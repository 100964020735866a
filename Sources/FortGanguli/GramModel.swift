import Foundation
import Landscape
import Linalg

/// Which engine evaluates the model.
public enum EngineMode: String, Codable, Sendable, CaseIterable {
    /// D×D Hessian, full LAPACK eigen-decomposition: the reference path, cost O(D³).
    case dense
    /// m×m Gram space (m = C + N·C, plus C² + C with class-conditional means): exact at any D,
    /// cost O(m³), memory independent of D.
    case gram
    /// Gram unless D is small enough that dense is cheaper.
    case auto
}

/// The model evaluated in Gram space. With Y the generator vectors as columns (D-dimensional, in
/// `GeneratorLayout` order: c, e^1 … e^N, then d and s when present) the Hessian is H = Y·F·Fᵀ·Yᵀ
/// for a block-sparse mixing matrix F, so its nonzero eigenvalues are those of K = Fᵀ·W·F with
/// W = YᵀY, and every statistic follows from W: gradient g = Y·v, ‖g‖² = vᵀWv,
/// gᵀu_i = (Fᵀ·W·v)·w_i/√λ_i, Trace H = tr K. For D ≥ m + d, W is sampled directly (Bartlett),
/// never touching a D-vector.
public struct GramModel {
    public let configuration: ModelConfiguration
    public let logits: LogitSample
    /// W itself, only its Bartlett factor (`--spectrum top`), or W = S·Ŵ·S held as the unscaled Ŵ
    /// of its seed (the bordered phase engine, `BorderedSpectrum`: one Ŵ serves every σ of a seed).
    enum Storage { case formed(Matrix), factored(GramFactor), unscaled(Matrix) }
    let storage: Storage
    /// How W was obtained.
    public let sampledByBartlett: Bool

    /// Gram of the scaled generators followed by the R·d unscaled hyperplane Gaussians (R blocks of d),
    /// (m+R·d)×(m+R·d). Formed only on the full path; a model held as its factor has `factor` instead.
    public var gram: Matrix {
        guard case let .formed(w) = storage else { preconditionFailure("W is not held formed (--spectrum top holds its Bartlett factor or the seed's unscaled Ŵ)") }
        return w
    }

    /// W's Bartlett factor, when the model was sampled for `--spectrum top`.
    var factor: GramFactor? {
        guard case let .factored(f) = storage else { return nil }
        return f
    }

    /// Number of generator vectors m = C + N·C (+ C² offsets d, + C own-class extras s, when present).
    public var generators: Int { configuration.generators }

    var layout: GeneratorLayout { GeneratorLayout(configuration) }

    /// Throws if Gram mode would not fit in the memory available (`MemoryEstimate`).
    public static func checkMemory(_ config: ModelConfiguration) throws {
        var gram = config
        gram.mode = .gram
        try MemoryEstimate.simulation(gram, gramStatistics: false).check()
    }

    /// Samples the model: W by Bartlett when D ≥ m + d, else from explicit generators drawn
    /// exactly as the dense path draws them (so both paths see the same X).
    /// With `reuse`, a `--spectrum top` model takes its seed's Bartlett factor from there (`DrawReuse`).
    public init(_ config: ModelConfiguration, logits given: LogitSample? = nil, reuse: DrawReuse? = nil) throws {
        try config.validate()
        try GramModel.checkMemory(config)
        let m = config.generators, d = config.hyperplaneColumns
        if GramModel.usesBartlett(config) && config.spectrum == .top {
            let u = reuse?.bartlettFactor(config, order: m + d)
                ?? Wishart.bartlettFactor(order: m + d, degreesOfFreedom: Double(config.dimension), stream: GramModel.wishartStream(config))
            try config.requireFinite(GramModel.generatorScales(config))
            self.init(configuration: config, logits: given ?? DenseModel.sampleLogits(config),
                      storage: .factored(GramFactor(upper: u, scales: GramModel.generatorScales(config))), sampledByBartlett: true)
        } else if GramModel.usesBartlett(config) {
            var w = try Wishart.bartlett(order: m + d, degreesOfFreedom: Double(config.dimension), stream: GramModel.wishartStream(config))
            let scale = GramModel.generatorScales(config)
            w.storage.withUnsafeMutableBufferPointer { p in
                for j in 0..<(m + d) { for i in 0..<(m + d) { p[i + j * (m + d)] *= scale[i] * scale[j] } }
            }
            try config.requireFinite(w.storage)
            self.init(configuration: config, logits: given ?? DenseModel.sampleLogits(config), storage: .formed(w), sampledByBartlett: true)
        } else {
            self.init(dense: try DenseModel(config, logits: given))
        }
    }

    /// Whether Gram mode samples W by Bartlett (D ≥ m + d) rather than from explicit vectors.
    static func usesBartlett(_ config: ModelConfiguration) -> Bool {
        Double(config.dimension) >= Double(config.generators + config.hyperplaneColumns)
    }

    static func wishartStream(_ config: ModelConfiguration) -> RandomStream {
        RandomStream(seed: config.seed, stream: DenseModel.Stream.wishart.rawValue)
    }

    /// The Gram of a dense model's own generators and hyperplane draw: the same X in both engines.
    public init(dense: DenseModel) {
        let y = Matrix(sideBySide: [dense.generatorColumns, dense.hyperplaneGaussian()])
        self.init(configuration: dense.configuration, logits: dense.logits, storage: .formed(BLAS.gram(y)), sampledByBartlett: false)
    }

    init(configuration: ModelConfiguration, logits: LogitSample, storage: Storage, sampledByBartlett: Bool) {
        self.configuration = configuration
        self.logits = logits
        self.storage = storage
        self.sampledByBartlett = sampledByBartlett
    }

    /// The scale of each generator (`GeneratorLayout.scales`), then 1 for the hyperplane columns.
    static func generatorScales(_ c: ModelConfiguration) -> [Double] {
        GeneratorLayout.scales(c, layout: GeneratorLayout(c)) + [Double](repeating: 1, count: c.hyperplaneColumns)
    }

    /// F for the configured Hessian, rows in `GeneratorLayout` blocks; how many of its leading
    /// columns belong to the signal term (eq. 16; 0 for eq. 10) and the structural rank of those
    /// (`SignalGroup.structuralRank`, for `rankBound`). Each block is a C×(C−1) factor G
    /// with G·Gᵀ = P (see `reducedFactor`), so K has (C−1) rows a block instead of C: the same
    /// nonzero spectrum, a quarter less LAPACK work.
    ///
    /// - eq. 16: one column block per signal group (`SignalGroup`, one at σ_d = σ_s = 0), then
    ///   example μ's block with P^μ's factor/√N on e^μ's rows.
    /// - eq. 10: example μ's column block carries F^μ/√N on every generator of J^μ: the c rows, e^μ's
    ///   rows, the rows of d_{·,y_μ} and row y_μ of the s block.
    func mixing() throws -> (factor: BlockFactor, signalColumns: Int, signalRank: Int) {
        let (c, n) = (configuration.classes, configuration.examples)
        let s = 1 / Double(n).squareRoot()
        let layout = self.layout
        switch configuration.hessian {
        case .paper:
            var (f, rank) = try signalMixing()
            let signalBlocks = f.colBlocks
            f = BlockFactor(rowBlockSize: c, colBlockSize: c - 1, rowBlocks: layout.blocks, colBlocks: signalBlocks + n, entries: f.entries)
            for mu in 0..<n {
                f.entries.append(.init(row: layout.residualBlock(mu), col: signalBlocks + mu, block: s * (try factor(mu))))
            }
            return (f, signalBlocks * (c - 1), rank)
        case .full:
            var f = BlockFactor(rowBlockSize: c, colBlockSize: c - 1, rowBlocks: layout.blocks, colBlocks: n)
            for mu in 0..<n {
                let b = s * (try factor(mu))
                let a = logits.labels[mu]
                f.entries.append(.init(row: layout.meanBlock, col: mu, block: b))
                f.entries.append(.init(row: layout.residualBlock(mu), col: mu, block: b))
                if let r = layout.offsetBlock(a) { f.entries.append(.init(row: r, col: mu, block: b)) }
                if let r = layout.ownClassBlock { f.entries.append(.init(row: r, col: mu, block: GeneratorLayout.onlyRow(a, of: b))) }
            }
            return (f, 0, 0)
        }
    }

    /// The signal columns of eq. 16's F alone (one column block per `SignalGroup`) and the structural
    /// rank of their span (`SignalGroup.structuralRank`).
    func signalMixing() throws -> (factor: BlockFactor, rank: Int) {
        let c = configuration.classes
        let groups = SignalGroup.groups(configuration, logits: logits)
        var f = BlockFactor(rowBlockSize: c, colBlockSize: c - 1, rowBlocks: layout.blocks, colBlocks: groups.count)
        for (j, group) in groups.enumerated() { f.entries += try group.entries(layout: layout, column: j) }
        return (f, try SignalGroup.structuralRank(groups, layout: GeneratorLayout(configuration, examples: 0)))
    }

    /// An upper bound on rank H, beyond which K's trailing eigenvalues are round-off: D, and the
    /// column count of F with the signal columns counted by their structural rank (at
    /// σ_d = 0 < σ_s the C(C−1) signal columns span only 2C − 1 directions; `SignalGroup.structuralRank`).
    func rankBound(_ f: BlockFactor, signalColumns: Int, signalRank: Int) -> Int {
        min(configuration.dimension, f.cols - signalColumns + signalRank)
    }

    /// F of the noise term alone, (1/N)Σ_μ e^μ P^μ e^μᵀ, the same for both Hessians.
    func noiseMixing() throws -> BlockFactor {
        let (c, n) = (configuration.classes, configuration.examples)
        let s = 1 / Double(n).squareRoot()
        let layout = self.layout
        var f = BlockFactor(rowBlockSize: c, colBlockSize: c - 1, rowBlocks: layout.blocks, colBlocks: n)
        for mu in 0..<n { f.entries.append(.init(row: layout.residualBlock(mu), col: mu, block: s * (try factor(mu)))) }
        return f
    }

    func factor(_ mu: Int) throws -> Matrix {
        let c = configuration.classes
        let p = Array(logits.probabilities[(mu * c)..<((mu + 1) * c)])
        return try GramModel.reducedFactor(Matrix(rows: c, cols: c) { i, j in (i == j ? p[i] : 0) - p[i] * p[j] })
    }

    /// An orthonormal basis Q (C×(C−1)) of 1⊥, the range of every softmax Hessian (P·1 = 0).
    static func complementOfOnes(_ c: Int) throws -> Matrix {
        let centred = Matrix(rows: c, cols: c - 1) { i, j in (i == j ? 1 : 0) - 1 / Double(c) }
        return try Orthonormal.columns(centred)
    }

    /// G = Q·(QᵀPQ)^{1/2}, a C×(C−1) factor with G·Gᵀ = P for any P whose range lies in 1⊥.
    static func reducedFactor(_ p: Matrix) throws -> Matrix {
        let q = try complementOfOnes(p.rows)
        let inner = BLAS.multiply(q, transposeA: true, BLAS.multiply(p, q))
        return BLAS.multiply(q, try Eigen.psdSquareRoot(inner))
    }

    /// For each logit gradient (index μ·C + k) the generators it sums (`logitGradientTerms`), as a
    /// flat table of `width` slots with −1 for unused ones.
    func termTable() -> (terms: [Int], width: Int) {
        let (c, n) = (configuration.classes, configuration.examples)
        let layout = self.layout
        let width = 4
        var table = [Int](repeating: -1, count: n * c * width)
        for mu in 0..<n { for k in 0..<c {
            for (t, g) in layout.logitGradientTerms(example: mu, logit: k, label: logits.labels[mu]).enumerated() {
                table[(mu * c + k) * width + t] = g
            }
        } }
        return (table, width)
    }

    /// v with g = Y·v: each J^μ_k contributes r^μ_k/N to each of its generators, r = y − p
    /// (v_c = (1/N)Σ_μ r^μ, v_e = r^μ/N, v_d of class a = (1/N)Σ_{μ∈a} r^μ, v_s(k) = (1/N)Σ_{μ∈k} r^μ_k).
    var gradientCoefficients: [Double] {
        let (c, n) = (configuration.classes, configuration.examples)
        let r = logits.residuals
        let (table, width) = termTable()
        var v = [Double](repeating: 0, count: generators)
        for mu in 0..<n { for k in 0..<c {
            for t in 0..<width where table[(mu * c + k) * width + t] >= 0 {
                v[table[(mu * c + k) * width + t]] += r[mu * c + k] / Double(n)
            }
        } }
        return v
    }

    /// The per-example logit-gradient Gram K = AᵀWA, (N·C)×(N·C), index μ·C + k (the model's
    /// empirical NTK), where column μ·C + k of A sums the generators of J^μ_k: exact at any D,
    /// read from W without D-vectors.
    public func logitGradientGram() -> Matrix { jacobianGram }

    /// Gram of the logit gradients, (N·C)×(N·C), index μ·C + k: K_ij = Σ_{r∈J_i} Σ_{r′∈J_j} W_{r r′}.
    var jacobianGram: Matrix {
        let (c, n) = (configuration.classes, configuration.examples)
        let (nc, ld) = (n * c, gram.rows)
        let (table, width) = termTable()
        var out = Matrix(rows: nc, cols: nc)
        gram.storage.withUnsafeBufferPointer { w in
            table.withUnsafeBufferPointer { t in
                out.storage.withUnsafeMutableBufferPointer { o in
                    for j in 0..<nc {
                        for i in 0..<nc {
                            var x = 0.0
                            for a in 0..<width {
                                let r = t[i * width + a]
                                if r < 0 { break }
                                for b in 0..<width {
                                    let q = t[j * width + b]
                                    if q < 0 { break }
                                    x += w[r + q * ld]
                                }
                            }
                            o[i + j * nc] = x
                        }
                    }
                }
            }
        }
        return out
    }

    /// Gram of the mean part's generators (c, then d, then s, as present), read from W: the
    /// sampled signal that `ModelTheory` takes its spikes from.
    public var signalGram: Matrix {
        let rows = layout.signalRows
        switch storage {
        case let .factored(factor): return factor.entries(rows)
        case let .formed(w): return Matrix(rows: rows.count, cols: rows.count) { i, j in w[rows[i], rows[j]] }
        case let .unscaled(w):
            let s = GramModel.generatorScales(configuration)
            return Matrix(rows: rows.count, cols: rows.count) { i, j in w[rows[i], rows[j]] * s[rows[i]] * s[rows[j]] }
        }
    }
}
