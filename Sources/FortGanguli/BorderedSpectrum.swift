import Foundation
import Landscape
import Linalg

/// The outlier statistics of one model configuration — what a phase diagram maps: the outlier
/// count by `OutlierCount`'s rule (bulk edge, margin), the top eigenvalues and the gradient's power
/// in the top k eigenvectors, and the sampled signal Gram for `ModelTheory`.
public struct OutlierMeasurement: Sendable {
    public var configuration: ModelConfiguration
    public var outliers: OutlierCount
    /// The Hessian's k largest eigenvalues, descending (k = the gradient power's k, at most its rank).
    public var topEigenvalues: [Double]
    /// Fraction of ‖g‖² in the top k eigenvectors.
    public var gradientPowerTopK: Double
    /// Gram of the sampled mean-part generators (`ModelMeasurement.signalGram`).
    public var signalGram: Matrix
    /// Whether the bordered engine (`BorderedSpectrum`) or a whole `ModelSimulation.run` produced it.
    public var bordered: Bool

    /// The outlier statistics of a whole measurement.
    public init(_ m: ModelMeasurement) {
        configuration = m.configuration
        outliers = m.outliers
        topEigenvalues = Array(m.eigenvalues.prefix(m.configuration.gradientPowerK))
        gradientPowerTopK = m.gradientPowerTopK
        signalGram = m.signalGram
        bordered = false
    }

    init(configuration: ModelConfiguration, outliers: OutlierCount, topEigenvalues: [Double], gradientPowerTopK: Double, signalGram: Matrix) {
        self.configuration = configuration
        self.outliers = outliers
        self.topEigenvalues = topEigenvalues
        self.gradientPowerTopK = gradientPowerTopK
        self.signalGram = signalGram
        bordered = true
    }
}

extension ModelSimulation {
    /// The outlier statistics of `config`: by the bordered engine where it applies (eq. 16,
    /// `--spectrum top`, W by Bartlett, and its memory fits: `BorderedSpectrum.applies`) and resolves
    /// every eigenpair (`BorderedEigen.Unresolved`), else from a whole `run`. Both give the same numbers to round-off (`BorderedSpectrumTests`).
    public static func outliers(_ config: ModelConfiguration, reuse: DrawReuse? = nil) throws -> OutlierMeasurement {
        try config.validate()
        if BorderedSpectrum.applies(config, reuse: reuse) {
            do { return try BorderedSpectrum.measure(config, reuse: reuse) } catch is BorderedEigen.Unresolved {
                // A nearly decoupled cell (e.g. SNR ≲ 1e-20): the whole run's eigenpairs instead.
            }
        }
        return OutlierMeasurement(try run(config, reuse: reuse))
    }
}

/// Eq. 16's outlier statistics with the noise term reduced once per (seed, σ_z) and every SNR
/// costing O(n·L²) a step: the phase diagram's engine.
///
/// K = Fᵀ·W·F is bordered: its L signal columns come first, and its trailing n×n block is the
/// noise term's Gram E = F_eᵀ·W·F_e, which depends on the seed and σ_z (through P^μ) but not on σ_c.
/// So E = Q·T·Qᵀ is reduced to tridiagonal form once (`Eigen.tridiagonal`: one Householder
/// reduction, Q never formed, T's eigenvalues Λ by `dsterf`), together with the coordinates in Q of
/// everything else K and the gradient need from the noise rows (`NoiseReduction`). For each σ_c the
/// signal scales S_sig only rescale those:
///
/// - A = F_sᵀ·W_sig·F_s (L×L) and the coupling Z = Qᵀ·F_eᵀ·W[e, sig]·F_s = (Qᵀ·Y)·S_sig·F_s;
/// - the gradient t = Fᵀ·W·v: its signal part from W_sig and h = Ŵ[sig, e]·s_e·v_e, its noise
///   part Qᵀt_e = (Qᵀ·Y)·(S_sig·v_sig) + Qᵀ·b, and ‖g‖² = vᵀWv from the same pieces.
///
/// `BorderedEigen` then counts the eigenvalues above the outlier threshold (edge + margin, both
/// from Λ) exactly by inertia, and finds the top k eigenvalues (Newton on the Schur complement's
/// branches, to 1e-14 relative) and their gradient overlaps, each evaluation O(n·L) tridiagonal
/// solves. The numbers are those of the full path to round-off (`BorderedSpectrumTests`).
enum BorderedSpectrum {
    /// Whether the bordered engine serves `config`: eq. 16, `--spectrum top`, Gram mode with W by
    /// Bartlett, and its buffers (`MemoryEstimate.borderedReduction`) fit the memory available;
    /// otherwise the per-point top path (block Lanczos on the Bartlett factor) needs far less memory.
    /// With `reuse`, the memory check is made once per grid shape and remembered, so free memory
    /// that changes during a grid cannot switch engines between its rows.
    static func applies(_ config: ModelConfiguration, reuse: DrawReuse? = nil) -> Bool {
        guard config.hessian == .paper && config.spectrum == .top && config.resolvedMode == .gram && GramModel.usesBartlett(config)
                && config.classes >= 2 else { return false }
        let fits = { (try? MemoryEstimate.borderedReduction(config).check()) != nil }
        return reuse?.decision(DrawReuse.noiseKey(config), decide: fits) ?? fits()
    }

    static func measure(_ config: ModelConfiguration, reuse: DrawReuse?) throws -> OutlierMeasurement {
        let order = config.generators + config.hyperplaneColumns
        let unscaled = try reuse?.bartlettGram(config, order: order)
            ?? Wishart.bartlett(order: order, degreesOfFreedom: Double(config.dimension), stream: GramModel.wishartStream(config))
        let scales = GramModel.generatorScales(config)
        try config.requireFinite(scales)
        let model = GramModel(configuration: config, logits: DenseModel.sampleLogits(config), storage: .unscaled(unscaled),
                              sampledByBartlett: true)
        let compute = { try NoiseReduction(model, unscaled: unscaled) }
        let noise = try reuse?.noiseReduction(config, compute: compute) ?? compute()
        return try measure(model, unscaled: unscaled, noise: noise)
    }

    /// One σ_c: the bordered matrix from the reduction and the signal scales.
    static func measure(_ model: GramModel, unscaled w: Matrix, noise: NoiseReduction) throws -> OutlierMeasurement {
        let config = model.configuration
        let c = config.classes
        let rows = model.layout.signalRows
        let scales = GramModel.generatorScales(config)
        let s = rows.map { scales[$0] }
        let (fs, signalRank) = try model.signalMixing()
        let l = fs.cols
        // S_sig·F_s, |sig|×L: F_s's rows are signal generators only.
        let dense = fs.times(Matrix.identity(l), height: model.layout.rows)
        let scaledSignal = Matrix(rows: rows.count, cols: l) { i, j in s[i] * dense[rows[i], j] }
        let wSignal = Matrix(rows: rows.count, cols: rows.count) { i, j in w[rows[i], rows[j]] }
        let corner = BLAS.multiply(scaledSignal, transposeA: true, BLAS.multiply(wSignal, scaledSignal))
        let coupling = BLAS.multiply(noise.signalProjections, scaledSignal)

        let v = model.gradientCoefficients
        let sv = zip(rows, s).map { v[$0] * $1 }
        let wsv = BLAS.multiply(wSignal, sv)
        let signalGradient = BLAS.multiply(scaledSignal, transpose: true, zip(wsv, noise.signalCross).map(+))
        var noiseGradient = BLAS.multiply(noise.signalProjections, sv)
        for i in noiseGradient.indices { noiseGradient[i] += noise.gradientProjection[i] }
        let normSquared = BLAS.dot(sv, wsv) + 2 * BLAS.dot(sv, noise.signalCross) + noise.noiseGradientNormSquared

        let bordered = BorderedEigen(corner: corner, trailing: noise.tridiagonal, coupling: coupling)
        let outliers = try OutlierCount(noiseTopEigenvalues: Array(noise.values.prefix(max(c, 2))), spikeRank: c,
                                        countAbove: { try bordered.count(above: $0) })
        // K's rank is at most its column count with the signal columns counted by their structural rank.
        let rank = min(config.dimension, noise.values.count + signalRank)
        let k = min(config.gradientPowerK, rank)
        let top = try bordered.largest(k, leading: Matrix(rows: l, cols: 1, storage: signalGradient),
                                       trailing: Matrix(rows: noise.values.count, cols: 1, storage: noiseGradient))
        let floor = Double(noise.values.count + l) * Double.ulpOfOne * (top.values.first ?? 0)
        let projections = (0..<k).map { i in top.values[i] > floor ? top.projections[i, 0] / top.values[i].squareRoot() : 0 }
        let cos2 = gradientCosineSquared(projections: projections, gradientNormSquared: normSquared)
        return OutlierMeasurement(configuration: config, outliers: outliers, topEigenvalues: top.values,
                                  gradientPowerTopK: gradientPower(cosineSquared: cos2, top: k), signalGram: model.signalGram)
    }
}

/// The noise term of one (seed, σ_z) reduced for `BorderedSpectrum`: E = F_eᵀ·W·F_e = Q·T·Qᵀ and the
/// coordinates in Q of the noise rows' couplings to each signal generator and to the gradient —
/// everything of size n = N(C − 1) the bordered engine needs, none of it depending on σ_c.
struct NoiseReduction: Sendable {
    /// T, with E's eigenvalues Λ (the bulk edge and margin are its top ones).
    let tridiagonal: SymmetricTridiagonal
    var values: [Double] { tridiagonal.eigenvalues }
    /// Qᵀ·Y, n×|sig|: Y's column r is s_e·F_eᵀ·Ŵ[e, r] for signal generator r (`GeneratorLayout.signalRows`).
    let signalProjections: Matrix
    /// Qᵀ·b, b = s_e²·F_eᵀ·Ŵ[e, e]·v_e: the gradient's noise-noise part.
    let gradientProjection: [Double]
    /// h_r = s_e·Ŵ[r, e]·v_e for each signal generator r.
    let signalCross: [Double]
    /// s_e²·v_eᵀ·Ŵ[e, e]·v_e.
    let noiseGradientNormSquared: Double

    var bytes: Double { 8 * Double(values.count * (signalProjections.cols + 4) + signalCross.count) }

    /// From the model at any σ_c (only its logits, σ_E and layout are used) and the seed's Ŵ.
    init(_ model: GramModel, unscaled w: Matrix) throws {
        let config = model.configuration
        let rows = model.layout.signalRows
        // Every residual generator has the scale σ_E/√D.
        let se = GramModel.generatorScales(config)[model.layout.residualBlock(0) * config.classes]
        let fe = try model.noiseMixing()
        let wf = fe.leftMultiplied(by: w)   // Ŵ·F_e over all rows
        var e = fe.transposeTimes(wf)
        for k in e.storage.indices { e.storage[k] *= se * se }
        // Probes: Y's columns, then b.
        var u = model.gradientCoefficients + [Double](repeating: 0, count: w.rows - config.generators)
        for r in rows { u[r] = 0 }
        let wu = BLAS.multiply(w, u)
        var probes = Matrix(rows: fe.cols, cols: rows.count + 1)
        for (k, r) in rows.enumerated() { for i in 0..<fe.cols { probes[i, k] = se * wf[r, i] } }
        let b = BLAS.multiply(wf, transpose: true, u)
        for i in 0..<fe.cols { probes[i, rows.count] = se * se * b[i] }
        let reduced = try Eigen.tridiagonal(e, applyingTransposeTo: probes)
        tridiagonal = reduced.tridiagonal
        signalProjections = Matrix(rows: fe.cols, cols: rows.count) { i, k in reduced.transformed[i, k] }
        gradientProjection = (0..<fe.cols).map { reduced.transformed[$0, rows.count] }
        signalCross = rows.map { se * wu[$0] }
        noiseGradientNormSquared = se * se * BLAS.dot(u, wu)
    }
}
