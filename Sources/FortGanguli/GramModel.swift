import Foundation
import Landscape
import Linalg

/// Which engine evaluates the model.
public enum EngineMode: String, Codable, Sendable, CaseIterable {
    /// D×D Hessian, full LAPACK eigen-decomposition: the reference path, cost O(D³).
    case dense
    /// m×m Gram space (m = C + N·C): exact at any D, cost O(m³), memory independent of D.
    case gram
    /// Gram unless D is small enough that dense is cheaper.
    case auto
}

/// The model evaluated in Gram space. With Y = [c_1 … c_C, E^1_1 … E^N_C] the generator vectors
/// (as columns, D-dimensional) the Hessian is H = Y·F·Fᵀ·Yᵀ for a block-sparse mixing matrix F,
/// so its nonzero eigenvalues are those of K = Fᵀ·W·F with W = YᵀY, and every statistic follows
/// from W: gradient g = Y·v, ‖g‖² = vᵀWv, gᵀu_i = (Fᵀ·W·v)·w_i/√λ_i, Trace H = tr K.
/// For D ≥ m + d, W is sampled directly (Bartlett), never touching a D-vector.
public struct GramModel {
    public let configuration: ModelConfiguration
    public let logits: LogitSample
    /// Gram of the scaled generators followed by d unscaled hyperplane Gaussians, (m+d)×(m+d).
    public let gram: Matrix
    /// How W was obtained.
    public let sampledByBartlett: Bool

    /// Number of generator vectors m = C + N·C.
    public var generators: Int { configuration.classes * (configuration.examples + 1) }

    /// Bytes Gram mode needs: about six m×m matrices (W, W·F, K, eigenvectors, LAPACK copies, noise term).
    public static func bytesNeeded(_ c: ModelConfiguration) -> Double {
        let m = Double(c.classes) * Double(c.examples + 1) + Double(c.hyperplaneDimension)
        let explicit = Double(c.dimension) < m ? 8 * 4 * Double(c.dimension) * m : 0
        return 8 * 6 * m * m + explicit
    }

    /// Throws, naming the largest N·C that fits, if Gram mode would not fit in 80% of memory.
    public static func checkMemory(_ config: ModelConfiguration) throws {
        let have = 0.8 * Double(ProcessInfo.processInfo.physicalMemory)
        let need = bytesNeeded(config)
        if need > have || Double(config.classes) * Double(config.examples + 1) > Double(Int32.max) {
            let largest = Int((have / 48).squareRoot())
            throw ModelError.tooLarge(String(
                format: "Gram mode with m = C + N·C = %.0f needs %.1f GiB but this machine has %.1f GiB; keep N·C below about %d",
                Double(config.classes) * Double(config.examples + 1), need / 1_073_741_824,
                Double(ProcessInfo.processInfo.physicalMemory) / 1_073_741_824, largest))
        }
    }

    /// Samples the model: W by Bartlett when D ≥ m + d, else from explicit generators drawn
    /// exactly as the dense path draws them (so both paths see the same X).
    public init(_ config: ModelConfiguration, logits given: LogitSample? = nil) throws {
        try config.validate()
        try GramModel.checkMemory(config)
        let m = config.classes * (config.examples + 1), d = config.hyperplaneDimension
        if Double(config.dimension) >= Double(m + d) {
            let stream = RandomStream(seed: config.seed, stream: DenseModel.Stream.wishart.rawValue)
            var w = try Wishart.bartlett(order: m + d, degreesOfFreedom: Double(config.dimension), stream: stream)
            let scale = GramModel.generatorScales(config)
            w.storage.withUnsafeMutableBufferPointer { p in
                for j in 0..<(m + d) { for i in 0..<(m + d) { p[i + j * (m + d)] *= scale[i] * scale[j] } }
            }
            self.init(configuration: config, logits: given ?? DenseModel.sampleLogits(config), gram: w, sampledByBartlett: true)
        } else {
            self.init(dense: try DenseModel(config, logits: given))
        }
    }

    /// The Gram of a dense model's own generators and hyperplane draw: the same X in both engines.
    public init(dense: DenseModel) {
        let config = dense.configuration
        let (d, c, n) = (config.dimension, config.classes, config.examples)
        var y = Matrix(rows: d, cols: c * (n + 1) + config.hyperplaneDimension)
        y.storage.replaceSubrange(0..<(c * d), with: dense.classMeans.storage)
        y.storage.replaceSubrange((c * d)..<(c * (n + 1) * d), with: dense.residualGradients.storage)
        y.storage.replaceSubrange((c * (n + 1) * d)..., with: dense.hyperplaneGaussian().storage)
        self.init(configuration: config, logits: dense.logits, gram: BLAS.gram(y), sampledByBartlett: false)
    }

    private init(configuration: ModelConfiguration, logits: LogitSample, gram: Matrix, sampledByBartlett: Bool) {
        self.configuration = configuration
        self.logits = logits
        self.gram = gram
        self.sampledByBartlett = sampledByBartlett
    }

    /// The scale of each generator: σ_c·s_k/√D for class means, σ_E/√D for residuals, 1 for hyperplane columns.
    static func generatorScales(_ c: ModelConfiguration) -> [Double] {
        let root = Double(c.dimension).squareRoot()
        return c.classLengthScales.map { c.sigmaC * $0 / root }
            + [Double](repeating: c.sigmaE / root, count: c.examples * c.classes)
            + [Double](repeating: 1, count: c.hyperplaneDimension)
    }

    /// F for the configured Hessian (rows indexed by generator blocks: 0 = class means, 1+μ = E^μ).
    /// Each block is a C×(C−1) factor G with G·Gᵀ = P (see `reducedFactor`), so K has (C−1) rows a
    /// block instead of C: the same nonzero spectrum, a quarter less LAPACK work.
    func mixing() throws -> BlockFactor {
        let (c, n) = (configuration.classes, configuration.examples)
        let s = 1 / Double(n).squareRoot()
        switch configuration.hessian {
        case .paper:
            var f = BlockFactor(rowBlockSize: c, colBlockSize: c - 1, rowBlocks: n + 1, colBlocks: n + 1)
            f.entries.append(.init(row: 0, col: 0, block: try GramModel.reducedFactor(meanSoftmaxHessian)))
            for mu in 0..<n { f.entries.append(.init(row: 1 + mu, col: 1 + mu, block: s * (try factor(mu)))) }
            return f
        case .full:
            var f = BlockFactor(rowBlockSize: c, colBlockSize: c - 1, rowBlocks: n + 1, colBlocks: n)
            for mu in 0..<n {
                let b = s * (try factor(mu))
                f.entries.append(.init(row: 0, col: mu, block: b))
                f.entries.append(.init(row: 1 + mu, col: mu, block: b))
            }
            return f
        }
    }

    /// F of the noise term alone, (1/N)Σ_μ E^μ P^μ E^μᵀ, the same for both Hessians.
    func noiseMixing() throws -> BlockFactor {
        let (c, n) = (configuration.classes, configuration.examples)
        let s = 1 / Double(n).squareRoot()
        var f = BlockFactor(rowBlockSize: c, colBlockSize: c - 1, rowBlocks: n + 1, colBlocks: n)
        for mu in 0..<n { f.entries.append(.init(row: 1 + mu, col: mu, block: s * (try factor(mu)))) }
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

    var meanSoftmaxHessian: Matrix { DenseModel.meanSoftmaxHessian(logits) }

    /// v with g = Y·v: v_c = (1/N)Σ_μ r^μ, v_μ = r^μ/N, r = y − p.
    var gradientCoefficients: [Double] {
        let (c, n) = (configuration.classes, configuration.examples)
        let r = logits.residuals
        var v = [Double](repeating: 0, count: c * (n + 1))
        for mu in 0..<n { for k in 0..<c {
            v[k] += r[mu * c + k] / Double(n)
            v[c + mu * c + k] = r[mu * c + k] / Double(n)
        } }
        return v
    }

    /// Gram of the logit gradients J^μ_k = c_k + E^μ_k, (N·C)×(N·C), index μ·C + k.
    var jacobianGram: Matrix {
        let (c, n) = (configuration.classes, configuration.examples)
        let (nc, ld) = (n * c, gram.rows)
        var out = Matrix(rows: nc, cols: nc)
        gram.storage.withUnsafeBufferPointer { w in
            out.storage.withUnsafeMutableBufferPointer { o in
                for j in 0..<nc {
                    let l = j % c
                    for i in 0..<nc {
                        let k = i % c
                        o[i + j * nc] = w[k + l * ld] + w[k + (c + j) * ld] + w[c + i + l * ld] + w[c + i + (c + j) * ld]
                    }
                }
            }
        }
        return out
    }
}
