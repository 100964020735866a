import Foundation
import Landscape
import Linalg

/// Every statistic of one model configuration: what `fortganguli simulate` reports.
public struct ModelMeasurement: Sendable {
    public var configuration: ModelConfiguration
    /// The engine that produced it (`auto` resolved).
    public var mode: EngineMode
    /// Whether `eigenvalues` is the whole nonzero spectrum or its top r (`SpectrumMode.top`).
    public var spectrum: SpectrumMode = .full
    public var probabilities: ProbabilityStatistics
    public var clustering: LogitGradientClustering
    /// The Hessian's spectrum, descending: all D eigenvalues (dense), the nonzero ones (Gram), or
    /// the top r (`spectrum == .top`).
    public var eigenvalues: [Double]
    /// Eigenvalues of the D×D Hessian not listed in `eigenvalues` because they are exactly zero.
    public var zeroEigenvalues: Int
    /// cos²∠(g, u_i) for each eigenvector u_i, in the order of `eigenvalues`.
    public var gradientCosineSquared: [Double]
    public var outliers: OutlierCount
    /// Fraction of ‖g‖² in the top k eigenvectors (k = C unless set).
    public var gradientPowerTopK: Double
    public var traceOverNorm: TraceOverNorm
    /// Trace/‖·‖ of the Hessian restricted to R random d-dimensional hyperplanes, QᵀHQ (each draw, mean, standard error).
    public var hyperplane: HyperplaneEstimate
    /// The mean of `hyperplane` (the single draw when R = 1).
    public var hyperplaneTraceOverNorm: Double { hyperplane.mean }
    /// Gram of the sampled mean-part generators (c, then d, then s, as present): hand it to
    /// `ModelTheory(_:signalGram:)` to predict the outliers of this very sample without redrawing it.
    public var signalGram: Matrix
    /// The statistics of the model's own (K, p, y) — Papyan's class decomposition of its G-term,
    /// the q's, the moments — by the code that measures networks; computed for eq. 10 always (its
    /// Hessian is that G-term, and its outliers are counted by that decomposition's rule) and for
    /// eq. 16 when asked for.
    public var gram: GramStatistics?
    public var seconds: Double
}

public enum ModelSimulation {
    /// Throws a one-line error if a run of `config` would not fit: the dense engine's size limit, or
    /// the memory estimate (`MemoryEstimate.simulation`: every buffer sized from N, C, D and R·d,
    /// the class structure's with `gramStatistics`, the theory's with `theory`) against the memory
    /// available. Call after `config.validate()`; nothing is allocated.
    public static func checkResources(_ config: ModelConfiguration, gramStatistics: Bool = false, theory: Bool = false) throws {
        try MemoryEstimate.simulation(config, gramStatistics: gramStatistics, theory: theory).check()
        if config.resolvedMode == .dense { try DenseModel.checkDimension(config) }
    }

    /// Samples the model at `config` and measures it with the engine `config.mode` selects.
    /// With `logits`, the model keeps those probabilities and labels (the semi-empirical model).
    /// With `gramStatistics`, the statistics of the model's own Gram are computed for eq. 16 too.
    ///
    /// The bulk edge and outliers: for eq. 10 the Hessian is the G-term of the model's Gram, so they
    /// come from the class structure of that Gram (`ClassStructure`: edge = λ₁ of the G-term of the
    /// within-class Jacobian residuals), the rule every
    /// source — network, imported Gram — is counted by. For eq. 16 the bulk is its noise term
    /// (1/N)Σ e^μᵀP^μe^μ, which is the within-class part by construction (eq. 16 drops the cross
    /// terms), with the same margin rule (`OutlierCount`).
    ///
    /// `reuse` carries what rows of one grid share under common random numbers (`DrawReuse`); the
    /// numbers are the same with or without it.
    public static func run(_ config: ModelConfiguration, logits: LogitSample? = nil, gramStatistics: Bool = false,
                           reuse: DrawReuse? = nil) throws -> ModelMeasurement {
        let start = DispatchTime.now().uptimeNanoseconds
        try config.validate()
        var result: ModelMeasurement
        switch config.resolvedMode {
        case .gram:
            let model = try GramModel(config, logits: logits, reuse: reuse)
            result = model.factor != nil ? try TopSpectrum.measure(model) : try measure(model, gramStatistics: gramStatistics)
        default: result = try measure(DenseModel(config, logits: logits), gramStatistics: gramStatistics)
        }
        result.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return result
    }

    /// Statistics of a dense model: D×D Hessian and noise term, full eigen-decomposition.
    public static func measure(_ model: DenseModel, gramStatistics: Bool = false) throws -> ModelMeasurement {
        let config = model.configuration
        let c = config.classes
        let paper = config.hessian == .paper
        let noise = paper ? model.noiseHessian() : Matrix(rows: 0, cols: 0)
        let h = try model.hessian(noise: paper ? noise : nil)
        let g = model.gradient()
        // All eigenvalues and every eigenvector's overlap with g from one reduction (no eigenvector
        // matrix); the noise term's top eigenvalues at the same time on the other core.
        let count = max(c, 2)
        let (spectrum, noiseTop) = try concurrently(
            { try Eigen.projections(h, onto: Matrix(rows: h.rows, cols: 1, storage: g)) },
            { paper ? try Eigen.symmetric(noise, vectors: false, largest: count).values : [] })
        let gaussian = model.hyperplaneGaussian(), d = config.hyperplaneDimension
        let projected = try (0..<config.hyperplanes).map { r -> Matrix in
            var block = Matrix(rows: gaussian.rows, cols: d)
            block.storage.replaceSubrange(0..<(gaussian.rows * d), with: gaussian.storage[(r * d * gaussian.rows)..<((r + 1) * d * gaussian.rows)])
            let q = try Orthonormal.columns(block)
            return BLAS.multiply(q, transposeA: true, BLAS.multiply(h, q))
        }
        return try assemble(config, mode: .dense, logits: model.logits,
                            clustering: LogitGradientPairSums(jacobianColumns: model.jacobian, labels: model.logits.labels, classes: c),
                            eigenvalues: spectrum.values, projections: spectrum.projections.storage, gradientNormSquared: BLAS.dot(g, g),
                            noiseTop: noiseTop, trace: h.trace, hyperplanes: projected, signalGram: model.signalGram,
                            logitGradientGram: gramStatistics || !paper ? model.logitGradientGram() : nil)
    }

    /// Statistics of a model in Gram space: K = Fᵀ·W·F (m'×m'), one tridiagonal reduction.
    /// Gradient overlaps with every eigenvector come from the eigenvectors' products with
    /// t = Fᵀ·W·v (g = Y·v), never from the eigenvectors themselves. The noise term's top
    /// eigenvalues: for eq. 16 it is the trailing principal block of K behind the L signal columns,
    /// so they follow from K's spectrum and the leading L components of its eigenvectors by
    /// bisection, when that is cheaper than reducing the noise operator itself (`noiseTopByBisection`);
    /// otherwise a range-selected solver on the noise operator finds them. Eq. 10 needs neither: its
    /// bulk is the within-class term of its Gram's class decomposition (see `run`).
    public static func measure(_ model: GramModel, gramStatistics: Bool = false) throws -> ModelMeasurement {
        let config = model.configuration
        let (c, d, planes) = (config.classes, config.hyperplaneDimension, config.hyperplanes)
        let m = model.generators
        let w = model.gram
        let (f, signalColumns, signalRank) = try model.mixing()
        let count = max(c, 2)
        // T = W·F over all m + d rows; Tᵀ = Fᵀ·W has the blocks K, t and the hyperplane products.
        let tt = f.leftMultiplied(by: w).transposed
        let k = f.leftMultiplied(by: tt)
        let v = model.gradientCoefficients
        let t = BLAS.multiply(tt, v + [Double](repeating: 0, count: d * planes))
        let bisection = noiseTopByBisection(order: f.cols, leading: signalColumns, noiseOrder: f.cols - signalColumns,
                                            count: count, groupWidth: f.colBlockSize)
        // Probe vectors: t, then (bisection) the unit vectors of K's leading signal columns.
        let leadingWidth = bisection ? signalColumns : 0
        var probes = Matrix(rows: f.cols, cols: 1 + leadingWidth)
        probes.storage.replaceSubrange(0..<f.cols, with: t)
        for j in 0..<leadingWidth { probes[j, 1 + j] = 1 }
        let spectrum = try Eigen.projections(k, onto: probes)
        let noiseTop: [Double]
        if bisection {
            var leading = Matrix(rows: f.cols, cols: leadingWidth)
            for j in 0..<leadingWidth { for i in 0..<f.cols { leading[i, j] = spectrum.projections[i, 1 + j] } }
            noiseTop = try Eigen.trailingBlockLargest(values: spectrum.values, leading: leading, count: count)
        } else if config.hessian == .full {
            noiseTop = []   // eq. 10 counts outliers by the class decomposition of its Gram
        } else {
            let fe = try model.noiseMixing()
            let ke = fe.leftMultiplied(by: fe.leftMultiplied(by: w).transposed)
            noiseTop = try Eigen.symmetric(ke, vectors: false, largest: count).values
        }
        // Rank ≤ D: when D < m' the trailing eigenvalues of K are zeros of H's complement.
        // gᵀu_i = (t·w_i)/√λ_i loses accuracy as λ_i → 0; eigenvalues at round-off level
        // (≤ m'·ε·λ₁) are numerically zero and get no overlap. Overlaps in the deep bulk are
        // accurate to about 1e-6 absolute, the top ones to round-off.
        let rank = model.rankBound(f, signalColumns: signalColumns, signalRank: signalRank)
        let floor = Double(f.cols) * Double.ulpOfOne * (spectrum.values.first ?? 0)
        let projections = (0..<rank).map { i -> Double in
            let lambda = spectrum.values[i]
            return lambda > floor ? spectrum.projections[i, 0] / lambda.squareRoot() : 0
        }
        let wv = BLAS.multiply(w, v + [Double](repeating: 0, count: d * planes))
        // Hyperplane r: Q = G_r·R⁻¹ with G_rᵀG_r = RᵀR, so QᵀHQ = R⁻ᵀ(Fᵀ·W_{Y G_r})ᵀ(Fᵀ·W_{Y G_r})R⁻¹.
        let projected = try (0..<planes).map { r -> Matrix in
            let first = m + r * d
            var z = Matrix(rows: f.cols, cols: d)
            for j in 0..<d { for i in 0..<f.cols { z[i, j] = tt[i, first + j] } }
            var wgg = Matrix(rows: d, cols: d)
            for j in 0..<d { for i in 0..<d { wgg[i, j] = w[first + i, first + j] } }
            return BLAS.gram(Triangular.solveRight(z, upper: try Triangular.cholesky(wgg)))
        }
        return try assemble(config, mode: .gram, logits: model.logits,
                            clustering: LogitGradientPairSums(gram: model.jacobianGram, labels: model.logits.labels, classes: c),
                            eigenvalues: Array(spectrum.values.prefix(rank)), projections: projections,
                            gradientNormSquared: BLAS.dot(v, Array(wv.prefix(m))), noiseTop: noiseTop, trace: k.trace,
                            hyperplanes: projected, signalGram: model.signalGram,
                            logitGradientGram: gramStatistics || config.hessian == .full ? model.logitGradientGram() : nil)
    }

    /// Whether the noise term's top `count` eigenvalues are cheaper by bisection on the trailing block
    /// of K (order n, `leading` signal columns in front) than by reducing the noise operator (order
    /// n_e) again. Bisection: about 50 steps a value, each an n×L·L product, plus L more probe
    /// columns through the reduction's back-transformation (≈ 4n²L); a second reduction: (4/3)n_e³.
    /// Measured at N = 300, C = 10 (2 cores, D = 10⁶): L = 9 (σ_d = σ_s = 0) bisection 0.15 s vs
    /// 0.87 s; L = 90 (σ_d > 0) bisection 0.81 s vs 0.92 s, whole runs 2.13 s vs 2.15 s, where the
    /// estimate sits at the crossover. No signal columns (eq. 10): no choice.
    /// A single signal group (L = C − 1, σ_d = σ_s = 0) always takes bisection, whatever the
    /// estimate says: that is the paper model's path, so its numbers stay bit for bit as they were
    /// (the estimate prefers the reduction only at tiny N, where both take milliseconds).
    static func noiseTopByBisection(order n: Int, leading l: Int, noiseOrder ne: Int, count: Int, groupWidth: Int) -> Bool {
        guard l > 0 else { return false }
        if l <= groupWidth { return true }
        let (nd, ld) = (Double(n), Double(l))
        let bisection = Double(count) * 50 * 2 * nd * ld * ld + 4 * nd * nd * ld
        return bisection < 4.0 / 3.0 * pow(Double(ne), 3)
    }

    /// The engine-independent part: every statistic from spectra, projections and the hyperplane block.
    static func assemble(_ config: ModelConfiguration, mode: EngineMode, logits: LogitSample, clustering: LogitGradientPairSums,
                         eigenvalues: [Double], projections: [Double], gradientNormSquared: Double,
                         noiseTop: [Double], trace: Double, hyperplanes: [Matrix], signalGram: Matrix,
                         logitGradientGram: Matrix?) throws -> ModelMeasurement {
        let cos2 = gradientCosineSquared(projections: projections, gradientNormSquared: gradientNormSquared)
        let gram = try logitGradientGram.map {
            try GramStatistics(LogitGradientGram(gram: $0, logits: logits.logits, labels: logits.labels, classes: config.classes,
                                                 parameters: config.dimension, minimumPerClass: 0))
        }
        return ModelMeasurement(
            configuration: config, mode: mode,
            probabilities: ProbabilityStatistics(probabilities: logits.probabilities, classes: config.classes),
            clustering: LogitGradientClustering(clustering),
            eigenvalues: eigenvalues,
            zeroEigenvalues: config.dimension - eigenvalues.count,
            gradientCosineSquared: cos2,
            outliers: config.hessian == .full ? gram!.structure.outliers
                : OutlierCount(eigenvalues: eigenvalues, noiseTopEigenvalues: noiseTop, spikeRank: config.classes),
            gradientPowerTopK: gradientPower(cosineSquared: cos2, top: config.gradientPowerK),
            traceOverNorm: TraceOverNorm(trace: trace, spectralNorm: eigenvalues.map(abs).max() ?? 0),
            hyperplane: HyperplaneEstimate(dimension: config.hyperplaneDimension, draws: try hyperplanes.map {
                TraceOverNorm(eigenvalues: try Eigen.symmetric($0, vectors: false).values).ratio }),
            signalGram: signalGram,
            gram: gram,
            seconds: 0)
    }
}
