import Dispatch
import Foundation
import Landscape
import Linalg

/// The model's random logit gradients and the D×D Hessians built from them, evaluated densely.
/// This is the reference path: every matrix of the paper's equations is formed explicitly.
public struct DenseModel: Sendable {
    public let configuration: ModelConfiguration
    public let logits: LogitSample
    /// D×(N·C) logit gradients J^μ_k = S_k(c_k + d_{k,y_μ} + s_k[y_μ = k]) + e^μ_k, column μ·C + k.
    public let jacobian: Matrix
    /// D×C class means, column k = S_k·c_k (per-coordinate variance S_k²σ_c²/D).
    public let classMeans: Matrix
    /// D×C² class offsets, column a·C + k = S_k·d_{k,a}; nil when σ_d = 0 (not drawn).
    public let classOffsets: Matrix?
    /// D×C own-class extras, column k = S_k·s_k; nil when σ_s = 0 (not drawn).
    public let ownClassOffsets: Matrix?
    /// D×C² class-conditional means, column a·C + k = M_{k,a} = S_k(c_k + d_{k,a} + s_k[a = k]);
    /// nil when σ_d = σ_s = 0, where every class has M_{k,a} = S_k·c_k (`classMeans`).
    public let classConditionalMeans: Matrix?
    /// D×(N·C) residuals e^μ_k, column μ·C + k.
    public let residualGradients: Matrix

    /// Sub-stream ids: each random ingredient has its own stream, so the model's parts can be
    /// resampled independently and one part's draws never shift another's.
    public enum Stream: UInt64 { case logits = 1, labels = 2, gradients = 3, hyperplane = 4, wishart = 5 }

    /// Parts of the `gradients` stream: each generator family draws from its own part, so adding
    /// the class-conditional families (parts 2 and 3) leaves c and e as they were.
    enum Part: UInt64 { case classMeans = 0, residuals = 1, classOffsets = 2, ownClass = 3 }

    /// Logits and labels of `config`, from their own streams (shared by both engines).
    public static func sampleLogits(_ config: ModelConfiguration) -> LogitSample {
        LogitSample(examples: config.examples, classes: config.classes, sigmaZ: config.sigmaZ,
                    accuracy: config.accuracy,
                    logitStream: RandomStream(seed: config.seed, stream: Stream.logits.rawValue),
                    labelStream: RandomStream(seed: config.seed, stream: Stream.labels.rawValue))
    }

    /// The D×(R·d) Gaussian whose blocks of d columns give the R random hyperplanes (by QR).
    public func hyperplaneGaussian() -> Matrix {
        RandomStream(seed: configuration.seed, stream: Stream.hyperplane.rawValue)
            .gaussianMatrix(rows: configuration.dimension, cols: configuration.hyperplaneColumns)
    }

    /// Throws if the dense matrices of `config` would not fit in the memory available (`MemoryEstimate`)
    /// or exceed the dense engine's size limit.
    public static func checkMemory(_ config: ModelConfiguration) throws {
        var dense = config
        dense.mode = .dense
        try MemoryEstimate.simulation(dense, gramStatistics: false).check()
        try checkDimension(config)
    }

    /// The dense engine forms D×D matrices, whose element count must fit LAPACK's 32-bit indices.
    static func checkDimension(_ config: ModelConfiguration) throws {
        if config.dimension > 46_000 {
            throw ModelError.tooLarge("dense mode at D = \(config.dimension) exceeds its limit of D = 46000 (D² LAPACK indices); use --mode gram (any D) or a smaller --dimension")
        }
    }

    /// Samples the model. Throws if the configuration is invalid or would not fit in memory.
    /// With `logits`, the probabilities and labels are given (e.g. a network's) and only the
    /// gradients are random: the semi-empirical model.
    public init(_ config: ModelConfiguration, logits given: LogitSample? = nil) throws {
        try config.validate()
        try DenseModel.checkMemory(config)
        let logits = given ?? DenseModel.sampleLogits(config)
        let labels = logits.labels
        let d = config.dimension, c = config.classes, n = config.examples
        let (means, offsets, own) = DenseModel.signalGenerators(config)
        // M_{k,a} = S_k(c_k + d_{k,a} + s_k[a = k]), only when it depends on the class.
        var conditional: Matrix? = nil
        if config.hasClassConditionalMeans {
            var mm = Matrix(rows: d, cols: c * c)
            for a in 0..<c { for k in 0..<c { for i in 0..<d {
                var x = means[i, k]
                if let o = offsets { x += o[i, a * c + k] }
                if let s = own, a == k { x += s[i, k] }
                mm[i, a * c + k] = x
            } } }
            conditional = mm
        }
        let scaleE = config.sigmaE / Double(d).squareRoot()
        var e = DenseModel.gaussianColumns(rows: d, cols: n * c, seed: config.seed, part: Part.residuals.rawValue)
        var j = Matrix(rows: d, cols: n * c)
        let meanColumns = conditional ?? means
        e.storage.withUnsafeMutableBufferPointer { pe in
            j.storage.withUnsafeMutableBufferPointer { pj in
                meanColumns.storage.withUnsafeBufferPointer { pc in
                    for mu in 0..<n {
                        // The mean columns of example μ: block y_μ of M, or c itself.
                        let block = conditional == nil ? 0 : labels[mu] * c
                        for k in 0..<c {
                            let base = (mu * c + k) * d, source = (block + k) * d
                            for i in 0..<d {
                                pe[base + i] *= scaleE
                                pj[base + i] = pc[source + i] + pe[base + i]
                            }
                        }
                    }
                }
            }
        }
        try config.requireFinite(j.storage)
        self.configuration = config
        self.logits = logits
        self.classMeans = means
        self.classOffsets = offsets
        self.ownClassOffsets = own
        self.classConditionalMeans = conditional
        self.jacobian = j
        self.residualGradients = e
    }

    /// The mean part's generators, scaled: S_k·c_k (part 0), S_k·d_{k,a} (part 2, column a·C + k)
    /// and S_k·s_k (part 3); d and s are not drawn when their σ is 0. Cost O(D·C²).
    static func signalGenerators(_ config: ModelConfiguration) -> (means: Matrix, offsets: Matrix?, own: Matrix?) {
        let d = config.dimension, c = config.classes, seed = config.seed
        let root = Double(d).squareRoot()
        let lengths = config.classLengthScales
        func draw(_ part: Part, cols: Int, sigma: Double) -> Matrix {
            var x = DenseModel.gaussianColumns(rows: d, cols: cols, seed: seed, part: part.rawValue)
            for col in 0..<cols {
                let scale = sigma * lengths[col % c] / root
                for i in 0..<d { x[i, col] *= scale }
            }
            return x
        }
        let means = draw(.classMeans, cols: c, sigma: config.sigmaC)
        let offsets = config.sigmaD > 0 ? draw(.classOffsets, cols: c * c, sigma: config.sigmaD) : nil
        let own = config.sigmaS > 0 ? draw(.ownClass, cols: c, sigma: config.sigmaS) : nil
        return (means, offsets, own)
    }

    /// Gram of the mean part's generators (c, then d, then s, as present; `GeneratorLayout` order),
    /// C + C²·[σ_d > 0] + C·[σ_s > 0] square: the sample `ModelTheory` takes its spikes from.
    public var signalGram: Matrix {
        BLAS.gram(Matrix(sideBySide: [classMeans] + [classOffsets, ownClassOffsets].compactMap { $0 }))
    }

    /// The generators as the columns of one D×m matrix, in `GeneratorLayout` order.
    var generatorColumns: Matrix {
        Matrix(sideBySide: [classMeans, residualGradients] + [classOffsets, ownClassOffsets].compactMap { $0 })
    }

    /// The mean logit gradients M of the examples in a signal group (`SignalGroup`): the D×C block
    /// of class `label`, or c when all examples share it.
    func meanGradients(of label: Int?) -> Matrix {
        guard let a = label, let m = classConditionalMeans else { return classMeans }
        let (d, c) = (configuration.dimension, configuration.classes)
        return Matrix(rows: d, cols: c, storage: Array(m.storage[(a * c * d)..<((a + 1) * c * d)]))
    }

    /// The per-example logit-gradient Gram K = JᵀJ, (N·C)×(N·C), index μ·C + k (the empirical NTK of
    /// the model).
    public func logitGradientGram() -> Matrix { BLAS.gram(jacobian) }

    /// Columns of i.i.d. N(0,1) draws, D×m: the vectors x_i that generate c (part 0), e (part 1), d
    /// (part 2) and s (part 3). Filled in
    /// fixed blocks of columns, each from its own sub-stream, on all cores; the numbers depend
    /// only on the seed and the shape, never on the thread count or scheduling.
    static func gaussianColumns(rows: Int, cols: Int, seed: UInt64, part: UInt64) -> Matrix {
        var x = Matrix(rows: rows, cols: cols)
        let block = 256
        let blocks = (cols + block - 1) / block
        x.storage.withUnsafeMutableBufferPointer { px in
            let base = UnsafeSendablePointer(px.baseAddress!)
            DispatchQueue.concurrentPerform(iterations: blocks) { b in
                let stream = RandomStream(seed: seed, stream: Stream.gradients.rawValue << 40 | part << 32 | UInt64(b))
                let lo = b * block * rows, hi = min(cols, (b + 1) * block) * rows
                stream.fill(base.pointer + lo, count: hi - lo)
            }
        }
        return x
    }

    /// The closed-form softmax-Hessian factor (see `Landscape.softmaxHessianFactor`).
    public static func softmaxHessianFactor(_ p: ArraySlice<Double>) -> Matrix { Landscape.softmaxHessianFactor(p) }

    /// Per-example softmax Hessian P^μ = diag(p^μ) − p^μp^μᵀ.
    public func softmaxHessian(example mu: Int) -> Matrix {
        let c = configuration.classes
        let p = Array(logits.probabilities[(mu * c)..<((mu + 1) * c)])
        return Matrix(rows: c, cols: c) { i, j in (i == j ? p[i] : 0) - p[i] * p[j] }
    }

    /// P̄ = (1/N) Σ_μ P^μ.
    public var meanSoftmaxHessian: Matrix { DenseModel.meanSoftmaxHessian(logits) }

    static func meanSoftmaxHessian(_ logits: LogitSample) -> Matrix {
        SignalGroup.summedSoftmaxHessians(logits, groups: 1, group: { _ in 0 })[0]
    }

    /// D×(N·C) matrix whose block μ is (1/√N)·A^μ·F^μ, where A^μ is the D×C block μ of `blocks`
    /// (E^μ or J^μ): its Gram with itself is the noise term (1/N)Σ_μ A^μ P^μ A^μᵀ.
    func factoredSum(of blocks: Matrix) -> Matrix {
        let c = configuration.classes, n = configuration.examples, d = configuration.dimension
        var out = Matrix(rows: d, cols: n * c)
        let s = 1 / Double(n).squareRoot()
        for mu in 0..<n {
            let f = DenseModel.softmaxHessianFactor(logits.probabilities[(mu * c)..<((mu + 1) * c)])
            BLAS.multiplyBlock(blocks, columns: (mu * c)..<((mu + 1) * c), by: f, alpha: s, into: &out)
        }
        return out
    }

    /// The noise term alone, (1/N) Σ_μ e^μᵀ P^μ e^μ (D×D): the bulk of both Hessians.
    public func noiseHessian() -> Matrix {
        BLAS.gram(factoredSum(of: residualGradients), transpose: false)
    }

    /// The model Hessian: eq. 16 (`.paper`) or eq. 10 (`.full`), D×D.
    public func hessian() throws -> Matrix {
        try hessian(noise: configuration.hessian == .paper ? noiseHessian() : nil)
    }

    /// The signal term of eq. 16 generalised: Σ over groups of examples sharing a mean M,
    /// M·(Σ_{μ∈group} P^μ/N)·Mᵀ, i.e. (1/N)Σ_μ M^μᵀP^μM^μ (D×D). At σ_d = σ_s = 0 it is cᵀP̄c.
    public func signalHessian() throws -> Matrix {
        var h = Matrix(rows: configuration.dimension, cols: configuration.dimension)
        try addSignal(to: &h)
        return h
    }

    func addSignal(to h: inout Matrix) throws {
        for group in SignalGroup.groups(configuration, logits: logits) {
            let signal = BLAS.multiply(meanGradients(of: group.label), try Eigen.psdSquareRoot(group.weight))
            BLAS.accumulateGram(signal, transpose: false, into: &h)
        }
    }

    /// Builds the Hessian, reusing an already computed noise term for eq. 16, which drops the cross
    /// terms between the mean part and the residuals: H = (1/N)Σ_μ M^μᵀP^μM^μ + (1/N)Σ_μ e^μᵀP^μe^μ.
    func hessian(noise: Matrix?) throws -> Matrix {
        switch configuration.hessian {
        case .paper:
            var h = noise ?? noiseHessian()
            try addSignal(to: &h)
            return h
        case .full:
            return BLAS.gram(factoredSum(of: jacobian), transpose: false)
        }
    }

    /// The gradient of eq. 8, g = (1/N) Σ_μ Σ_k (y^μ_k − p^μ_k) J^μ_k: one product J·r/N.
    public func gradient() -> [Double] {
        BLAS.multiply(jacobian, logits.residuals, alpha: 1 / Double(configuration.examples))
    }
}
