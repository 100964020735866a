import Foundation
import Landscape
import Linalg

/// What `measure` reports for one network on one fixed data subset: the logit-gradient statistics
/// from the exact NTK Gram, the G-term spectrum from the Gram, and the full Hessian through exact
/// Hessian-vector products (Lanczos, Hutchinson, stochastic Lanczos quadrature).
public struct NetworkMeasurement: Sendable {
    public var parameters: Int
    public var examples: Int
    public var classes: Int
    public var loss: Double
    public var accuracy: Double
    /// Softmax probabilities on the subset, N×C row-major, and the labels.
    public var probabilities: [Double]
    public var labels: [Int]
    /// Standard deviation of the logits across classes, averaged over examples (the analogue of σ_z).
    public var logitStd: Double
    /// Mean length of the per-example, per-logit gradients ‖∂z^μ_k/∂θ‖.
    public var meanLogitGradientNorm: Double
    public var weightNorm: Double
    public var clustering: LogitGradientClustering
    /// √(mean_k ‖c_k‖²) and √(mean_{μ,k} ‖E^μ_k‖²) of the eq. 14–15 decomposition (the model's σ_c, σ_E in units of 1/√D).
    public var sigmaCEstimate: Double
    public var sigmaEEstimate: Double
    /// Length of each class mean ‖c_k‖.
    public var classMeanLengths: [Double]
    /// G-term: nonzero spectrum (descending) and gradient overlaps, from the Gram.
    public var gaussNewton: GaussNewtonSpectrum
    /// Bulk edge and outliers of the G-term, by the model's rule: the noise term is the G-term of the
    /// residuals E^μ_k = ∂z^μ_k/∂θ − c_k alone (eq. 14–15), also from the Gram.
    public var gaussNewtonOutliers: OutlierCount
    /// Top Hessian eigenvalues (Lanczos) and the gradient power in their span.
    public var hessianTop: [Double]
    public var gradientPowerTopK: Double
    public var gradientPowerTopKGaussNewton: Double
    /// Top eigenvalues of the H-term, H − G.
    public var hTermTop: [Double]
    public var trace: Double
    public var traceStandardError: Double
    public var traceOverNorm: Double
    public var hyperplaneTraceOverNorm: Double
    /// Smoothed spectral density of H by stochastic Lanczos quadrature (nodes and weights).
    public var density: SpectralQuadrature?
    public var hessianVectorProducts: Int
    /// Time spent forming the NTK Gram (factorised, or from explicit Jacobian rows).
    public var gramSeconds: Double
    public var seconds: Double
}

/// Settings of a measurement.
public struct MeasurementSettings: Sendable {
    public var topK: Int = 10
    public var traceProbes: Int = 20
    public var hyperplaneDimension: Int = 10
    public var densityProbes: Int = 4
    public var densitySteps: Int = 40
    public var seed: UInt64 = 0
    /// Skip the Hessian (Lanczos, trace, hyperplane, density): only the Gram-based statistics.
    public var hessian = true
    /// Form the Gram from explicit D×(N·C) Jacobian rows instead of the per-layer factorisation
    /// (the reference path; memory D·N·C).
    public var explicitJacobian = false
    public init() {}
}

extension NetworkMeasurement {
    /// Measures `network` on inputs x (features × N) with labels; gradient and Hessian are of the
    /// mean cross-entropy over these examples with respect to all weights and biases.
    public init(network: Network, inputs x: Matrix, labels: [Int], settings s: MeasurementSettings = .init()) throws {
        let start = Date()
        let (n, c, d) = (x.cols, network.architecture.classes, network.parameters.count)
        let trace = network.forward(x)
        let z = trace.output
        let (loss, g, accuracy) = Network.crossEntropy(z, labels: labels)
        let gradient = network.backward(trace, outputGradient: g).gradient
        let gradNorm2 = BLAS.dot(gradient, gradient)
        // Logit statistics.
        var std = 0.0
        for e in 0..<n {
            let col = (0..<c).map { z[$0, e] }
            let mean = col.reduce(0, +) / Double(c)
            std += (col.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(c)).squareRoot() / Double(n)
        }
        // The exact NTK Gram and everything that follows from it.
        if s.explicitJacobian {
            let bytes = 8 * Double(d) * Double(n * c)
            guard bytes < 0.8 * Double(ProcessInfo.processInfo.physicalMemory) else {
                throw NetworkError.invalid(String(format: "explicit Jacobian rows need %.1f GiB (D·N·C doubles); drop --explicit-jacobian or lower --per-class",
                                                  bytes / 1_073_741_824))
            }
        }
        let gramStart = Date()
        let factors = LogitGradients(network: network, inputs: x)
        let gram = s.explicitJacobian ? BLAS.gram(factors.explicitJacobian(parameterCount: d)) : factors.gram
        let gramSeconds = Date().timeIntervalSince(gramStart)
        var norm = 0.0
        for i in 0..<(n * c) { norm += gram[i, i].squareRoot() / Double(n * c) }
        let (cLengths, sigmaE) = NetworkMeasurement.decomposition(gram: gram, labels: labels, classes: c)
        let ggn = try GaussNewtonSpectrum(gram: gram, logits: z, labels: labels)
        let noise = try GaussNewtonSpectrum(gram: NetworkMeasurement.residualGram(gram, labels: labels, classes: c), logits: z)
        let outliers = OutlierCount(eigenvalues: ggn.eigenvalues, noiseTopEigenvalues: Array(noise.eigenvalues.prefix(max(c, 2))), spikeRank: c)
        // The Hessian by exact Hessian-vector products.
        final class Counter { var count = 0 }
        let applications = Counter()
        let hessian = ClosureOperator(dimension: d) { v in
            applications.count += 1
            return network.hessianVectorProduct(x, labels: labels, v)
        }
        var top: (values: [Double], vectors: Matrix) = ([], Matrix(rows: d, cols: 0))
        var hTopValues: [Double] = []
        var tr: (estimate: Double, standardError: Double) = (.nan, .nan)
        var hyper = Double.nan
        var density: SpectralQuadrature? = nil
        if s.hessian {
            let found = try Lanczos.largest(hessian, count: min(s.topK, d), seed: s.seed)
            top = (found.values, found.vectors)
            let hTerm = ClosureOperator(dimension: d) { v in
                applications.count += 1
                let hv = network.hessianVectorProduct(x, labels: labels, v), gv = network.gaussNewtonVectorProduct(x, v)
                return zip(hv, gv).map { $0 - $1 }
            }
            hTopValues = try Lanczos.largest(hTerm, count: min(3, d), seed: s.seed &+ 1).values
            tr = Lanczos.hutchinsonTrace(hessian, probes: s.traceProbes, seed: s.seed &+ 2)
            // Random d-dimensional hyperplane: QᵀHQ from d Hessian-vector products.
            let dd = min(s.hyperplaneDimension, d)
            let q = try Orthonormal.columns(RandomStream(seed: s.seed, stream: 21).gaussianMatrix(rows: d, cols: dd))
            var hq = Matrix(rows: d, cols: dd)
            for j in 0..<dd { hq.storage.replaceSubrange((j * d)..<((j + 1) * d), with: hessian.apply(q.column(j))) }
            var projected = BLAS.multiply(q, transposeA: true, hq)
            projected = 0.5 * (projected + projected.transposed)
            hyper = TraceOverNorm(eigenvalues: try Eigen.symmetric(projected, vectors: false).values).ratio
            density = s.densityProbes > 0
                ? try Lanczos.spectralDensity(hessian, steps: min(s.densitySteps, d), probes: s.densityProbes, seed: s.seed &+ 3) : nil
        }
        var power = 0.0
        for j in 0..<top.values.count { let p = BLAS.dot(top.vectors.column(j), gradient); power += p * p / gradNorm2 }
        let lambdaMax = top.values.map(abs).max() ?? .nan
        var rows = [Double](repeating: 0, count: n * c)
        for e in 0..<n { for k in 0..<c { rows[e * c + k] = z[k, e] } }
        self.init(parameters: d, examples: n, classes: c, loss: loss, accuracy: accuracy,
                  probabilities: softmaxRows(rows, classes: c), labels: labels, logitStd: std,
                  meanLogitGradientNorm: norm, weightNorm: BLAS.dot(network.parameters, network.parameters).squareRoot(),
                  clustering: LogitGradientClustering(LogitGradientPairSums(gram: gram, labels: labels, classes: c)),
                  sigmaCEstimate: (cLengths.map { $0 * $0 }.reduce(0, +) / Double(c)).squareRoot(), sigmaEEstimate: sigmaE,
                  classMeanLengths: cLengths, gaussNewton: ggn, gaussNewtonOutliers: outliers, hessianTop: top.values, gradientPowerTopK: power,
                  gradientPowerTopKGaussNewton: gradientPower(cosineSquared: ggn.gradientCosineSquared, top: s.topK),
                  hTermTop: hTopValues, trace: tr.estimate, traceStandardError: tr.standardError,
                  traceOverNorm: tr.estimate / lambdaMax, hyperplaneTraceOverNorm: hyper, density: density,
                  hessianVectorProducts: applications.count, gramSeconds: gramSeconds, seconds: Date().timeIntervalSince(start))
    }

    /// The Gram of the residuals E^μ_k = J^μ_k − c_k: K − R_l − R_kᵀ + S with R[(μk), l] = J^μ_k·c_l
    /// and S[k, l] = c_k·c_l, all block sums of K.
    static func residualGram(_ k: Matrix, labels: [Int], classes c: Int) -> Matrix {
        let n = labels.count, size = n * c
        let members = (0..<c).map { cls in (0..<n).filter { labels[$0] == cls } }
        var r = Matrix(rows: size, cols: c)
        for l in 0..<c where !members[l].isEmpty {
            for i in 0..<size {
                var sum = 0.0
                for rho in members[l] { sum += k[i, rho * c + l] }
                r[i, l] = sum / Double(members[l].count)
            }
        }
        var s = Matrix(rows: c, cols: c)
        for a in 0..<c where !members[a].isEmpty { for l in 0..<c {
            s[a, l] = members[a].reduce(0.0) { $0 + r[$1 * c + a, l] } / Double(members[a].count)
        } }
        return Matrix(rows: size, cols: size) { i, j in k[i, j] - r[i, j % c] - r[j, i % c] + s[i % c, j % c] }
    }

    /// Eq. 14–15 from the Gram: c_k = mean of ∂z_k/∂θ over examples of class k, E^μ_k = ∂z^μ_k/∂θ − c_k.
    /// Returns ‖c_k‖ per class and √(mean ‖E^μ_k‖²). Classes without examples get ‖c_k‖ = 0.
    static func decomposition(gram k: Matrix, labels: [Int], classes c: Int) -> ([Double], Double) {
        let n = labels.count
        let members = (0..<c).map { cls in (0..<n).filter { labels[$0] == cls } }
        var cc = [Double](repeating: 0, count: c)           // ‖c_k‖²
        var meanDot = [Double](repeating: 0, count: n * c)  // J^μ_k · c_k
        for cls in 0..<c where !members[cls].isEmpty {
            let m = Double(members[cls].count)
            for mu in 0..<n {
                var s = 0.0
                for nu in members[cls] { s += k[mu * c + cls, nu * c + cls] }
                meanDot[mu * c + cls] = s / m
            }
            cc[cls] = members[cls].reduce(0.0) { $0 + meanDot[$1 * c + cls] } / m
        }
        var e2 = 0.0
        for mu in 0..<n { for cls in 0..<c {
            e2 += k[mu * c + cls, mu * c + cls] - 2 * meanDot[mu * c + cls] + cc[cls]
        } }
        return (cc.map { max($0, 0).squareRoot() }, max(e2 / Double(n * c), 0).squareRoot())
    }
}
