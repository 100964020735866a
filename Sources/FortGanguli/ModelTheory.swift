import Dispatch
import Foundation
import Landscape
import Linalg

/// The random-matrix prediction for one configuration of the eq. 16 model, without sampling the
/// residual gradients: the bulk from the noise weights τ = σ_E²·λ_j(P^μ)/(D·N) over all examples and
/// softmax-Hessian eigenvalues, the spikes θ = nonzero eigenvalues of the signal term
/// (1/N)Σ_μ M^μᵀP^μM^μ (M^μ the mean logit gradients, c at σ_d = σ_s = 0, where θ are those of
/// (cᵀc)^{1/2}·P̄·(cᵀc)^{1/2}), and the BBP outliers. Conditional on the probabilities p and labels,
/// which are sampled from the configuration's logit and label streams.
///
/// The spikes come from the sampled mean vectors, the very ones `ModelSimulation.run` draws for
/// the same configuration and seed (`sampledSignalGram`), not from their expectation σ²S²: at
/// finite D, c·cᵀ ≠ σ_c²S² moves the outliers by O(1/√D). The noise bulk is self-averaging and
/// needs no sample. The theory is derived for eq. 16 only; eq. 10's cross terms between the mean
/// part and the residuals are not in it.
public struct ModelTheory: Sendable {
    public let configuration: ModelConfiguration
    public let bulk: NoiseBulkTheory
    /// Spike eigenvalues θ, descending.
    public let spikes: [Double]
    /// Predicted outlier positions, descending (one per θ above the BBP threshold).
    public let outlierPositions: [Double]

    /// The predicted number of outliers: spikes above the BBP threshold (the N, D → ∞ count).
    public var outliers: Int { outlierPositions.count }

    /// The predicted outliers counted by the rule a simulation is counted by (`OutlierCount`):
    /// positions above the edge by more than `margin`, the finite-size margin of the sampled noise
    /// term (λ₁ − λ_C). A spike predicted just above λ₊ sits inside the edge's fluctuation at
    /// finite D and is not counted by either.
    public func outliers(margin: Double) -> Int { outlierPositions.filter { $0 > bulk.edge + margin }.count }

    /// The theory at `config` (eq. 16 only: throws for `.full`).
    /// - Parameters:
    ///   - limitExamples: represent the τ distribution by that many sampled examples at the same N/D
    ///     ratio (the N, D → ∞ limit at fixed ratios). The mean vectors' Gram then takes its limit,
    ///     its expectation diag(σ²S_k²), unless `signalGram` is given.
    ///   - signalGram: the Gram of the scaled mean-part generators (c, then d, then s, as present;
    ///     `DenseModel.signalGram`, `GramModel.signalGram`), for a caller that already has the
    ///     sample. Default: `sampledSignalGram(config)`.
    public init(_ config: ModelConfiguration, limitExamples: Int? = nil, signalGram given: Matrix? = nil) throws {
        try config.validate()
        guard config.hessian == .paper else {
            throw ModelError.invalid("the theory is derived for eq. 16 only; use --hessian paper (eq. 10's cross terms are not in it)")
        }
        guard config.sigmaE > 0 else {
            throw ModelError.invalid("--sigma-e is 0: the noise term, whose bulk the theory describes, is empty; give --sigma-e > 0")
        }
        try MemoryEstimate.theory(config, limitExamples: limitExamples, densityPoints: 0).check()
        var sampled = config
        var dimension = Double(config.dimension)
        var limit = false
        if let big = limitExamples, big > config.examples {
            dimension *= Double(big) / Double(config.examples)
            sampled.examples = big
            limit = true
        }
        let logits = DenseModel.sampleLogits(sampled)
        let (c, n) = (config.classes, sampled.examples)
        let sigmaE2 = config.sigmaE * config.sigmaE / dimension
        var weights: [Double] = []
        weights.reserveCapacity(n * c)
        for mu in 0..<n {
            let p = Array(logits.probabilities[(mu * c)..<((mu + 1) * c)])
            let pm = Matrix(rows: c, cols: c) { i, j in (i == j ? p[i] : 0) - p[i] * p[j] }
            // The softmax Hessian's null vector (all ones) and eigenvalues below its rounding level
            // are zeros: dropped, so the weights (and the mass at zero) do not depend on rounding.
            for lambda in flushingRoundOff(try Eigen.symmetric(pm, vectors: false).values, order: c) where lambda > 0 {
                weights.append(sigmaE2 * lambda / Double(n))
            }
        }
        guard weights.contains(where: { $0 > 0 }) else {
            throw ModelError.invalid("at σ_z = \(config.sigmaZ) every probability is frozen to one-hot, so the bulk is empty and the theory undefined; use a smaller --sigma-z")
        }
        let r = config.signalGenerators
        let gram: Matrix
        if let g = given {
            guard g.rows == r && g.cols == r else {
                throw ModelError.invalid("the signal Gram is \(g.rows)×\(g.cols); this configuration has \(r) mean-part generators")
            }
            gram = g
        } else if limit {
            gram = ModelTheory.expectedSignalGram(config)
        } else {
            gram = try ModelTheory.sampledSignalGram(config)
        }
        let theta = try ModelTheory.signalSpikes(config, logits: logits, signalGram: gram)
        let noise = NoiseBulkTheory(weights: weights, dimension: dimension)
        configuration = config
        bulk = noise
        spikes = theta
        outlierPositions = theta.compactMap { noise.outlier(spike: $0) }
    }

    /// The nonzero eigenvalues of the signal term (1/N)Σ_μ M^μᵀP^μM^μ, descending, from the mean-part
    /// generators' Gram: those of K = Fᵀ·W_sig·F with F the eq. 16 signal columns of `GramModel`'s
    /// mixing (one C×(C−1) block a signal group). Eigenvalues at round-off level, r·ε·θ₁, are the
    /// term's structural zeros (e.g. at σ_d = 0 < σ_s its rank is at most 2C) and are dropped.
    static func signalSpikes(_ config: ModelConfiguration, logits: LogitSample, signalGram: Matrix) throws -> [Double] {
        let layout = GeneratorLayout(config, examples: 0)
        let groups = SignalGroup.groups(config, logits: logits)
        var f = BlockFactor(rowBlockSize: config.classes, colBlockSize: config.classes - 1,
                            rowBlocks: layout.blocks, colBlocks: groups.count)
        for (j, group) in groups.enumerated() { f.entries += try group.entries(layout: layout, column: j) }
        let k = f.leftMultiplied(by: f.leftMultiplied(by: signalGram).transposed)
        let values = try Eigen.symmetric(k, vectors: false).values
        let floor = Double(max(k.rows, signalGram.rows)) * Double.ulpOfOne * (values.first ?? 0)
        return values.filter { $0 > floor }
    }

    /// The expectation of the mean-part generators' Gram, diag(σ²·S_k²) (D·scale² per generator): the
    /// limit of the sampled Gram as D → ∞.
    static func expectedSignalGram(_ config: ModelConfiguration) -> Matrix {
        let d = Double(config.dimension)
        let scales = GeneratorLayout.scales(config, layout: GeneratorLayout(config, examples: 0))
        return Matrix.diagonal(scales.map { d * $0 * $0 })
    }

    /// The Gram of the scaled mean-part generators (c, then d, then s, as present) that
    /// `ModelSimulation.run(config)` samples: in dense mode, and in Gram mode below D = m + d, the
    /// same Gaussian columns (`DenseModel.signalGenerators`); in Gram mode with Bartlett sampling,
    /// the same rows of the same Wishart factor, W_RR = U_R·U_Rᵀ, from the Bartlett factor's rows R
    /// alone (`bartlettFactorRows`): O(m²) random draws and O(|R|²·m) work, no O(m³) step.
    public static func sampledSignalGram(_ config: ModelConfiguration) throws -> Matrix {
        try config.validate()
        if config.resolvedMode == .gram && GramModel.usesBartlett(config) {
            let n = config.generators + config.hyperplaneColumns
            let rows = GeneratorLayout(config).signalRows
            let u = try bartlettFactorRows(order: n, degreesOfFreedom: Double(config.dimension),
                                           stream: GramModel.wishartStream(config), rows: rows)
            var w = BLAS.gram(u, transpose: false)
            let scale = GramModel.generatorScales(config)
            for j in 0..<rows.count { for i in 0..<rows.count { w[i, j] *= scale[rows[i]] * scale[rows[j]] } }
            return w
        }
        if config.resolvedMode != .gram { try DenseModel.checkMemory(config) }
        let (means, offsets, own) = DenseModel.signalGenerators(config)
        return BLAS.gram(Matrix(sideBySide: [means] + [offsets, own].compactMap { $0 }))
    }

    /// Rows R of the upper-triangular Bartlett factor U with W = U·Uᵀ that `Wishart.bartlett` draws
    /// for (order, dof, stream), as an |R|×n matrix: column j of U is j standard normals (rows
    /// 0…j−1) and √χ²(dof − (n−1−j)) on the diagonal, in blocks of 128 columns, each block from its
    /// own sub-stream seeded by one draw of `stream`. This reproduces `Wishart.bartlett`'s scheme
    /// exactly (a test holds the two together); every column is drawn, but only rows R are kept.
    static func bartlettFactorRows(order n: Int, degreesOfFreedom dof: Double, stream: RandomStream, rows: [Int]) throws -> Matrix {
        precondition(dof > Double(n - 1), "Bartlett sampling needs dof > n − 1 (dof \(dof), n \(n))")
        let block = 128
        let blocks = (n + block - 1) / block
        let seeds = (0..<blocks).map { _ in UInt64(stream.uniformInt(Int(UInt32.max))) }
        let r = rows.count
        var u = Matrix(rows: r, cols: n)
        u.storage.withUnsafeMutableBufferPointer { p in
            let base = UnsafeSendablePointer(p.baseAddress!)
            DispatchQueue.concurrentPerform(iterations: blocks) { b in
                let s = RandomStream(seed: seeds[b], stream: UInt64(b))
                var column = [Double](repeating: 0, count: max(n, 1))
                column.withUnsafeMutableBufferPointer { col in
                    for j in (b * block)..<min(n, (b + 1) * block) {
                        s.fill(col.baseAddress!, count: j)
                        let diagonal = s.chiSquared(dof - Double(n - 1 - j)).squareRoot()
                        for (i, row) in rows.enumerated() where row <= j {
                            base.pointer[i + j * r] = row == j ? diagonal : col[row]
                        }
                    }
                }
            }
        }
        return u
    }
}
