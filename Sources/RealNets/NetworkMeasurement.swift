import Foundation
import Landscape
import Linalg

/// What `measure` reports for one network on one fixed data subset (or for an imported (K, p, y)
/// source): every Gram statistic through `GramStatistics` — the same code that measures the random
/// model — and, with a network, the full Hessian through exact curvature products on blocks of
/// directions: both ends of the spectrum by block Lanczos, the exact trace, the hyperplane Trace/‖·‖
/// over R random planes, the H-term and optionally the density by stochastic Lanczos quadrature.
public struct NetworkMeasurement: Sendable {
    /// D, when known (always for a network; from meta.json for an imported source).
    public var parameters: Int?
    /// Mean cross-entropy of the examples.
    public var loss: Double
    /// ‖θ‖ (nil without a network).
    public var weightNorm: Double?
    public var gram: GramStatistics
    /// nil when the Hessian was skipped or there is no network.
    public var hessian: HessianStatistics?
    /// Time spent forming the Gram (factorised, or from explicit Jacobian rows).
    public var gramSeconds: Double
    public var seconds: Double

    public var examples: Int { gram.source.examples }
    public var classes: Int { gram.source.classes }
    public var accuracy: Double { gram.accuracy }

    public init(parameters: Int?, loss: Double, weightNorm: Double?, gram: GramStatistics, hessian: HessianStatistics?,
                gramSeconds: Double, seconds: Double) {
        (self.parameters, self.loss, self.weightNorm, self.gram, self.hessian) = (parameters, loss, weightNorm, gram, hessian)
        (self.gramSeconds, self.seconds) = (gramSeconds, seconds)
    }

    /// The Gram statistics of an imported source; Hessian rows need a network.
    public init(source: LogitGradientGram) throws {
        let start = Date()
        parameters = source.parameters
        loss = source.crossEntropy
        weightNorm = nil
        gram = try GramStatistics(source)
        hessian = nil
        gramSeconds = 0
        seconds = Date().timeIntervalSince(start)
    }
}

/// Settings of a measurement.
public struct MeasurementSettings: Sendable {
    /// Top Hessian eigenpairs by block Lanczos, and k of the gradient power.
    public var topK: Int = 10
    /// Bottom (most negative) Hessian eigenvalues by block Lanczos (for k = 1 in blocks of one, so a
    /// repeated λ_min is listed once); ‖H‖ = max(λ_max, −λ_min) needs at least one.
    public var bottomK: Int = 1
    /// Top eigenvalues of the H-term H − G by block Lanczos (0: skip; each application is one pass,
    /// `CurvatureProducts.Term.hTerm`, as costly as a Hessian-vector product).
    public var hTermTopK: Int = 3
    /// Rademacher probes for the one trace that is not exact (H − G of a conv net with a smooth activation).
    public var traceProbes: Int = 20
    public var hyperplaneDimension: Int = 10
    /// Independent random hyperplanes R for the restricted Trace/‖·‖.
    public var hyperplanes: Int = 8
    public var densityProbes: Int = 4
    public var densitySteps: Int = 40
    public var seed: UInt64 = 0
    /// Skip the Hessian (Lanczos, trace, hyperplanes, density): only the Gram statistics.
    public var hessian = true
    /// Form the Gram from explicit D×(N·C) Jacobian rows instead of the per-layer factorisation
    /// (the reference path; memory D·N·C).
    public var explicitJacobian = false
    public init() {}

    /// Refuses settings outside their ranges for a source of `examples` N, `classes` C and (when
    /// known) `parameters` D, each with a one-line message naming the flag and its range: the top k
    /// is of the G-term's N·C eigenvalues and (with the Hessian) of the Hessian's, which Lanczos
    /// computes for k ≤ D − 1; the bottom k likewise; a hyperplane has at most D dimensions.
    public func validate(parameters d: Int?, examples n: Int, classes c: Int) throws {
        func check(_ ok: Bool, _ m: String) throws { if !ok { throw NetworkError.invalid(m) } }
        let (m, overflow) = n.multipliedReportingOverflow(by: c)
        try check(!overflow && m < Int(Int32.max), "N·C = \(n)·\(c) examples × classes is too large; lower --per-class")
        for (flag, value, least) in [("--top-k", topK, 1), ("--bottom-k", bottomK, 1), ("--trace-probes", traceProbes, 1),
                                     ("--hyperplanes", hyperplanes, 1), ("--hyperplane-dimension", hyperplaneDimension, 1),
                                     ("--density-probes", densityProbes, 0)] {
            try check(value >= least, "\(flag) is \(value); give at least \(least)")
        }
        try check(hTermTopK >= 0 && densitySteps >= 1, "the H-term top k and the density steps must be at least 0 and 1")
        if let d, hessian {
            let most = min(m, d - 1)
            try check(topK <= most, "--top-k is \(topK); give 1 to \(most) (at most N·C = \(m) G-term eigenvalues and D − 1 = \(d - 1) Hessian eigenpairs)")
            try check(bottomK <= d - 1, "--bottom-k is \(bottomK); give 1 to \(d - 1) (at most D − 1 Hessian eigenpairs)")
        } else {
            try check(topK <= m, "--top-k is \(topK); give 1 to \(m) (the G-term has N·C = \(m) eigenvalues)")
        }
        if let d { try check(hyperplaneDimension <= d, "--hyperplane-dimension is \(hyperplaneDimension); give 1 to D = \(d)") }
    }

    /// The memory a measurement of `architecture` (nil: an imported Gram) on N examples needs, by part (bytes).
    public func memoryParts(architecture a: Architecture?, examples n: Int, classes c: Int) -> [(String, Double)] {
        let m = Double(n) * Double(c)
        var parts: [(String, Double)] = [("the N·C Gram and its eigen-analysis", 8 * 6 * m * m)]
        guard let a else { return parts }
        let d = Double(a.parameterCount), act = a.activationDoublesPerExample
        parts.append(("per-layer logit gradients", 8 * m * act))
        if explicitJacobian { parts.append(("explicit Jacobian rows D·N·C", 8 * d * m)) }
        if hessian {
            func lanczos(_ k: Int) -> Double { k > 0 ? Double(CurvatureProducts.lanczosVectors(count: k, parameters: a.parameterCount)) : 0 }
            let vectors = max(lanczos(topK), lanczos(bottomK), lanczos(hTermTopK), densityProbes > 0 ? Double(densitySteps) : 0,
                              3 * Double(hyperplaneDimension)) + Double(topK) + 8
            parts.append(("Hessian Lanczos bases", 8 * d * vectors))
            let widest = max(topK, bottomK, hTermTopK, hyperplaneDimension, 1)
            parts.append(("Hessian-vector products", CurvatureProducts.memory(architecture: a, examples: n, block: widest)))
        }
        return parts
    }

    /// Refuses, in one line naming the flags to lower, a measurement that would not fit in memory.
    public func checkMemory(architecture a: Architecture?, examples n: Int, classes c: Int) throws {
        try Memory.require(memoryParts(architecture: a, examples: n, classes: c), for: "the measurement",
                           remedy: explicitJacobian ? "drop --explicit-jacobian or lower --per-class, --top-k, --bottom-k, --hyperplane-dimension"
                                                    : "lower --per-class, --top-k, --bottom-k or --hyperplane-dimension")
    }
}

extension NetworkMeasurement {
    /// Measures `network` on inputs x (features × N) with labels; gradient and Hessian are of the
    /// mean cross-entropy over these examples with respect to all weights and biases.
    public init(network: Network, inputs x: Matrix, labels: [Int], settings s: MeasurementSettings = .init()) throws {
        let start = Date()
        let (n, c, d) = (x.cols, network.architecture.classes, network.parameters.count)
        guard labels.count == n else { throw NetworkError.invalid("\(labels.count) labels for \(n) examples") }
        try s.validate(parameters: d, examples: n, classes: c)
        try s.checkMemory(architecture: network.architecture, examples: n, classes: c)
        let z = network.logits(x)
        guard z.storage.allSatisfy(\.isFinite) else {
            throw NetworkError.invalid("the network's logits on the \(n) measured examples are not finite: its weights are too large to measure (a diverged checkpoint, or too large a weight scale)")
        }
        var rows = [Double](repeating: 0, count: n * c)
        for e in 0..<n { for k in 0..<c { rows[e * c + k] = z[k, e] } }
        let gramStart = Date()
        let factors = LogitGradients(network: network, inputs: x)
        let k = s.explicitJacobian ? BLAS.gram(factors.explicitJacobian(parameterCount: d)) : factors.gram
        let gramSeconds = Date().timeIntervalSince(gramStart)
        let source = try LogitGradientGram(gram: k, logits: rows, labels: labels, classes: c, parameters: d)
        let statistics = try GramStatistics(source)
        let hessian = s.hessian ? try NetworkMeasurement.hessianStatistics(network, x, labels, gram: k, settings: s) : nil
        self.init(parameters: d, loss: source.crossEntropy, weightNorm: BLAS.dot(network.parameters, network.parameters).squareRoot(),
                  gram: statistics, hessian: hessian, gramSeconds: gramSeconds, seconds: Date().timeIntervalSince(start))
    }

    /// The Hessian by exact curvature products on blocks of directions (`CurvatureProducts`): both ends
    /// and the H-term's top by block Lanczos (`CurvatureProducts.eigenpairs`), each hyperplane's QᵀHQ
    /// from one block product H·Q. `hessianVectorProducts` counts the vectors the products were applied to.
    static func hessianStatistics(_ network: Network, _ x: Matrix, _ labels: [Int], gram: Matrix,
                                  settings s: MeasurementSettings) throws -> HessianStatistics {
        let d = network.parameters.count
        let products = CurvatureProducts(network: network, inputs: x, labels: labels)
        let counter = ProductCounter()
        let top = try products.eigenpairs(.hessian, .largest, count: min(s.topK, d - 1), seed: s.seed, counter: counter)
        // The bottom end sets ‖H‖ = max(λ_max, −λ_min).
        let bottom = try products.eigenpairs(.hessian, .smallest, count: min(max(s.bottomK, 1), d - 1), seed: s.seed &+ 4,
                                             counter: counter)
        // The H-term H − G is one pass of its own (the loss gradient's adjoints met by the layers' R-values).
        let hTermTop = s.hTermTopK > 0
            ? try products.eigenpairs(.hTerm, .largest, count: min(s.hTermTopK, d - 1), seed: s.seed &+ 1, counter: counter).values
            : []
        let exact = try network.hessianTrace(x, labels: labels, gram: gram, probes: s.traceProbes, seed: s.seed &+ 2)
        let trace = TraceEstimate(value: exact.value, standardError: exact.standardError, method: exact.method.rawValue)
        // R random d-dimensional hyperplanes: QᵀHQ from one block product H·Q each.
        let hessian = products.symmetricOperator(.hessian, counter: counter)
        let dd = min(s.hyperplaneDimension, d)
        let projected = try (0..<max(s.hyperplanes, 1)).map { r -> Matrix in
            let stream = r == 0 ? 21 : 21 | UInt64(r) << 32
            let q = try Orthonormal.columns(RandomStream(seed: s.seed, stream: stream).gaussianMatrix(rows: d, cols: dd))
            return BLAS.multiply(q, transposeA: true, hessian.applyBlock(q))
        }
        let density = s.densityProbes > 0
            ? try Lanczos.spectralDensity(hessian, steps: min(s.densitySteps, d), probes: s.densityProbes, seed: s.seed &+ 3) : nil
        let gradient = network.lossAndGradient(x, labels: labels).gradient
        let norm2 = BLAS.dot(gradient, gradient)
        var power = 0.0
        for j in 0..<top.values.count { let p = BLAS.dot(top.vectors.column(j), gradient); power += norm2 > 0 ? p * p / norm2 : 0 }
        return HessianStatistics(top: top.values, bottom: bottom.values, trace: trace, hyperplane: try HyperplaneEstimate(projected: projected),
                                 gradientPowerTopK: power, hTermTop: hTermTop, density: density,
                                 hessianVectorProducts: counter.count)
    }
}
