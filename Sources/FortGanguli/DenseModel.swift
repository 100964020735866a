import Dispatch
import Foundation
import Landscape
import Linalg

/// The model's random logit gradients and the D×D Hessians built from them, evaluated densely.
/// This is the reference path: every matrix of the paper's equations is formed explicitly.
public struct DenseModel: Sendable {
    public let configuration: ModelConfiguration
    public let logits: LogitSample
    /// D×(N·C) logit gradients J^μ_k = c_k + E^μ_k, column μ·C + k.
    public let jacobian: Matrix
    /// D×C class means c_k.
    public let classMeans: Matrix
    /// D×(N·C) residuals E^μ_k, column μ·C + k.
    public let residualGradients: Matrix

    /// Sub-stream ids: each random ingredient has its own stream, so the model's parts can be
    /// resampled independently and one part's draws never shift another's.
    public enum Stream: UInt64 { case logits = 1, labels = 2, gradients = 3, hyperplane = 4, wishart = 5 }

    /// Logits and labels of `config`, from their own streams (shared by both engines).
    public static func sampleLogits(_ config: ModelConfiguration) -> LogitSample {
        LogitSample(examples: config.examples, classes: config.classes, sigmaZ: config.sigmaZ,
                    accuracy: config.accuracy,
                    logitStream: RandomStream(seed: config.seed, stream: Stream.logits.rawValue),
                    labelStream: RandomStream(seed: config.seed, stream: Stream.labels.rawValue))
    }

    /// The D×d Gaussian whose QR gives the random hyperplane.
    public func hyperplaneGaussian() -> Matrix {
        RandomStream(seed: configuration.seed, stream: Stream.hyperplane.rawValue)
            .gaussianMatrix(rows: configuration.dimension, cols: configuration.hyperplaneDimension)
    }

    /// Bytes the dense path needs: five D×D matrices (H, noise term, eigenvectors, LAPACK copies)
    /// plus three D×(N·C+C) ones (generators, Jacobian, factored Hessian).
    public static func bytesNeeded(_ c: ModelConfiguration) -> Double {
        let d = Double(c.dimension), m = Double(c.examples * c.classes + c.classes)
        return 8 * (5 * d * d + 3 * d * m)
    }

    /// Throws if the dense matrices of `config` would not fit in 80% of physical memory.
    public static func checkMemory(_ config: ModelConfiguration) throws {
        let need = bytesNeeded(config)
        let have = Double(ProcessInfo.processInfo.physicalMemory)
        if need > 0.8 * have || config.dimension > 46_000 {
            throw ModelError.tooLarge(String(
                format: "dense mode at D = %d needs %.1f GiB but this machine has %.1f GiB; use --mode gram (any D) or a smaller --dimension",
                config.dimension, need / 1_073_741_824, have / 1_073_741_824))
        }
    }

    /// Samples the model. Throws if the configuration is invalid or would not fit in memory.
    /// With `logits`, the probabilities and labels are given (e.g. a network's) and only the
    /// gradients are random: the semi-empirical model.
    public init(_ config: ModelConfiguration, logits given: LogitSample? = nil) throws {
        try config.validate()
        try DenseModel.checkMemory(config)
        let seed = config.seed
        let logits = given ?? DenseModel.sampleLogits(config)
        // Generator columns: first the C class means, then E^μ for μ = 0…N−1 (C columns each).
        let d = config.dimension, c = config.classes, n = config.examples
        let scaleC = config.classLengthScales.map { config.sigmaC * $0 / Double(d).squareRoot() }
        let scaleE = config.sigmaE / Double(d).squareRoot()
        var means = DenseModel.gaussianColumns(rows: d, cols: c, seed: seed, part: 0)
        for k in 0..<c { for i in 0..<d { means[i, k] *= scaleC[k] } }
        var e = DenseModel.gaussianColumns(rows: d, cols: n * c, seed: seed, part: 1)
        var j = Matrix(rows: d, cols: n * c)
        e.storage.withUnsafeMutableBufferPointer { pe in
            j.storage.withUnsafeMutableBufferPointer { pj in
                means.storage.withUnsafeBufferPointer { pc in
                    for mu in 0..<n { for k in 0..<c {
                        let base = (mu * c + k) * d
                        for i in 0..<d {
                            pe[base + i] *= scaleE
                            pj[base + i] = pc[k * d + i] + pe[base + i]
                        }
                    } }
                }
            }
        }
        self.configuration = config
        self.logits = logits
        self.classMeans = means
        self.jacobian = j
        self.residualGradients = e
    }

    /// Columns of i.i.d. N(0,1) draws, D×m: the vectors x_i that generate c (part 0) and E (part 1). Filled in
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
        let c = logits.classes, n = logits.examples
        let p = logits.probabilities
        var m = Matrix(rows: c, cols: c)
        for mu in 0..<n { for j in 0..<c { for i in 0..<c {
            m[i, j] += ((i == j ? p[mu * c + i] : 0) - p[mu * c + i] * p[mu * c + j]) / Double(n)
        } } }
        return m
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

    /// The noise term alone, (1/N) Σ_μ E^μᵀ P^μ E^μ (D×D): the bulk of both Hessians.
    public func noiseHessian() -> Matrix {
        BLAS.gram(factoredSum(of: residualGradients), transpose: false)
    }

    /// The model Hessian: eq. 16 (`.paper`) or eq. 10 (`.full`), D×D.
    public func hessian() throws -> Matrix {
        try hessian(noise: configuration.hessian == .paper ? noiseHessian() : nil)
    }

    /// Builds the Hessian, reusing an already computed noise term for eq. 16.
    func hessian(noise: Matrix?) throws -> Matrix {
        switch configuration.hessian {
        case .paper:
            var h = noise ?? noiseHessian()
            let signal = BLAS.multiply(classMeans, try Eigen.psdSquareRoot(meanSoftmaxHessian))
            BLAS.accumulateGram(signal, transpose: false, into: &h)
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
