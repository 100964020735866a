import Foundation
import Landscape
import Linalg

/// Where the random d-dimensional subspaces of a restricted Hessian lie (Fort & Scherlis 2018).
public enum SubspaceKind: String, Sendable, CaseIterable {
    /// A uniformly random (Haar) d-plane of R^D through θ.
    case hyperplane
    /// A uniformly random d-plane of the tangent space of the sphere ‖θ‖ = r at θ (the directions
    /// orthogonal to θ). This restricts the Euclidean Hessian of the loss to tangent directions, as
    /// Fort & Scherlis do; the constraint's own curvature term −(θ̂·∇L/r)·I is not added.
    case sphere
}

/// Mean and standard error of the mean (n − 1 in the variance; NaN for fewer than 2 draws).
public func sampleMean(_ x: [Double]) -> (mean: Double, standardError: Double) {
    guard !x.isEmpty else { return (.nan, .nan) }
    let n = Double(x.count)
    let mean = x.reduce(0, +) / n
    guard x.count > 1 else { return (mean, .nan) }
    return (mean, (x.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1) / n).squareRoot())
}

/// The Hessian restricted to R independent random d-dimensional subspaces: QᵀHQ from one exact
/// block product H·Q each (Q orthonormal, D×d), its eigenvalues (LAPACK), Trace/‖·‖ with
/// ‖·‖ = max(λ_max, −λ_min), and the fraction of positive eigenvalues (0.5 is the null of a
/// symmetric spectrum); each as mean ± standard error over the R subspaces.
public struct RestrictedCurvature: Sendable {
    public var kind: SubspaceKind
    public var dimension: Int
    /// Trace/‖·‖ of each subspace's QᵀHQ.
    public var traceOverNorm: [Double]
    /// Fraction of positive eigenvalues of each subspace's QᵀHQ.
    public var positiveFraction: [Double]
    /// Tr(QᵀHQ) of each subspace (its mean estimates (d/D)·Tr H on hyperplanes).
    public var trace: [Double]
    /// ‖QᵀHQ‖ = max(λ_max, −λ_min) of each subspace.
    public var norm: [Double]
    public var subspaces: Int { traceOverNorm.count }

    /// Draw `draw` of subspace `kind` of dimension d at parameters θ: an orthonormal D×d basis
    /// from the QR of a D×d Gaussian matrix (seeded by (seed, draw)). QR without sign correction
    /// gives a basis of a Haar-distributed span; the column signs it leaves do not change QᵀHQ's
    /// eigenvalues (a similarity by diag(±1)). For a sphere the Gaussian columns are first made
    /// orthogonal to θ (projected twice, so round-off leaves no component along θ).
    public static func basis(kind: SubspaceKind, at theta: [Double], dimension d: Int, seed: UInt64, draw: Int) throws -> Matrix {
        let n = theta.count
        guard d >= 1 && d <= (kind == .sphere ? n - 1 : n) else {
            throw NetworkError.invalid("a \(kind.rawValue) subspace of D = \(n) parameters has 1 to \(kind == .sphere ? n - 1 : n) dimensions, not \(d)")
        }
        let stream: UInt64 = (kind == .sphere ? 0x5350_0000_0000 : 0x4850_0000_0000) | UInt64(draw)
        var g = RandomStream(seed: seed, stream: stream).gaussianMatrix(rows: n, cols: d)
        if kind == .sphere {
            let r = BLAS.dot(theta, theta).squareRoot()
            guard r > 0 && r.isFinite else { throw NetworkError.invalid("the sphere through θ needs 0 < ‖θ‖ < ∞; ‖θ‖ is \(r)") }
            let u = Matrix(rows: n, cols: 1, storage: theta.map { $0 / r })
            for _ in 0..<2 {
                let c = BLAS.multiply(u, transposeA: true, g)   // 1×d: uᵀG
                BLAS.accumulateBlock(u, rows: 0..<n, cols: 0..<1, c, rows: 0..<1, cols: 0..<d, alpha: -1, into: &g, at: 0, 0)
            }
        }
        return try Orthonormal.columns(g)
    }

    /// QᵀHQ (symmetrised) from one block product H·Q (`CurvatureProducts.apply` on Q's d columns).
    public static func projected(basis q: Matrix, hessianTimes hv: (Matrix) -> Matrix) -> Matrix {
        let m = BLAS.multiply(q, transposeA: true, hv(q))
        return 0.5 * (m + m.transposed)
    }

    /// The memory one draw needs besides the network: the Gaussian/Q matrix and H·Q (bytes by part).
    public static func memoryParts(parameters n: Int, dimension d: Int) -> [(String, Double)] {
        [("the D×d basis Q and H·Q", 8 * 3 * Double(n) * Double(d))]
    }

    /// Refuses, in one line, a dimension whose D×d matrices would not fit in memory.
    public static func checkMemory(parameters n: Int, dimension d: Int, extra: [(String, Double)] = []) throws {
        try Memory.require(memoryParts(parameters: n, dimension: d) + extra, for: "the restricted Hessian at d = \(d)",
                           remedy: "lower --dimensions or the network's size")
    }

    /// From the symmetrised QᵀHQ of each draw.
    public init(kind: SubspaceKind, projected: [Matrix]) throws {
        self.kind = kind
        dimension = projected.first?.rows ?? 0
        (traceOverNorm, positiveFraction, trace, norm) = ([], [], [], [])
        for m in projected {
            let values = try Eigen.symmetric(m, vectors: false).values
            let ratio = TraceOverNorm(eigenvalues: values)
            traceOverNorm.append(ratio.ratio)
            norm.append(ratio.spectralNorm)
            positiveFraction.append(Double(values.filter { $0 > 0 }.count) / Double(values.count))
            trace.append(values.reduce(0, +))
        }
    }

    /// R draws at `network`'s parameters on inputs x (features × N) with labels (the mean cross-entropy).
    public init(network: Network, inputs x: Matrix, labels: [Int], kind: SubspaceKind, dimension d: Int,
                subspaces r: Int, seed: UInt64) throws {
        guard r >= 1 else { throw NetworkError.invalid("--hyperplanes is \(r); give at least 1") }
        guard labels.count == x.cols else { throw NetworkError.invalid("\(labels.count) labels for \(x.cols) examples") }
        try RestrictedCurvature.checkMemory(parameters: network.parameters.count, dimension: d)
        let products = CurvatureProducts(network: network, inputs: x, labels: labels)
        let projected = try (0..<r).map { draw in
            let q = try RestrictedCurvature.basis(kind: kind, at: network.parameters, dimension: d, seed: seed, draw: draw)
            return RestrictedCurvature.projected(basis: q) { products.apply(.hessian, to: $0) }
        }
        try self.init(kind: kind, projected: projected)
    }

    public var traceOverNormMean: (mean: Double, standardError: Double) { sampleMean(traceOverNorm) }
    public var positiveFractionMean: (mean: Double, standardError: Double) { sampleMean(positiveFraction) }
}

/// The full-space values at one point: the exact trace, ‖H‖ = max(λ_max, −λ_min) from both ends by
/// block Lanczos, their ratio, and what sets the model's σ_z: the logit std and the mean max probability.
public struct FullSpaceCurvature: Sendable {
    public var parameters: Int
    public var weightNorm: Double
    public var trace: Double
    public var traceStandardError: Double
    public var largest: Double
    public var smallest: Double
    public var hessianNorm: Double { max(largest, -smallest) }
    public var traceOverNorm: Double { TraceOverNorm(trace: trace, spectralNorm: hessianNorm).ratio }
    /// σ_z as the model defines it (`Landscape.logitScale`).
    public var logitStd: Double
    public var meanMaxProbability: Double

    /// `topK` top eigenpairs are resolved by block Lanczos (more make λ_max more robust), one bottom one.
    public init(network: Network, inputs x: Matrix, labels: [Int], topK: Int = 1, traceProbes: Int = 20, seed: UInt64 = 0) throws {
        let (n, d) = (x.cols, network.parameters.count)
        guard labels.count == n else { throw NetworkError.invalid("\(labels.count) labels for \(n) examples") }
        guard d >= 2 else { throw NetworkError.invalid("the Hessian's ends need D ≥ 2 parameters") }
        let outputs = FullSpaceCurvature.outputs(network, x)
        guard outputs.logitStd.isFinite else {
            throw NetworkError.invalid("the network's logits on the \(n) measured examples are not finite: its weights are too large to measure")
        }
        parameters = d
        weightNorm = BLAS.dot(network.parameters, network.parameters).squareRoot()
        (logitStd, meanMaxProbability) = outputs
        let exact = try network.hessianTrace(x, labels: labels, probes: traceProbes, seed: seed &+ 2)
        (trace, traceStandardError) = (exact.value, exact.standardError)
        let products = CurvatureProducts(network: network, inputs: x, labels: labels)
        let k = min(max(topK, 1), d - 1)
        largest = try products.eigenpairs(.hessian, .largest, count: k, seed: seed).values.first ?? .nan
        smallest = try products.eigenpairs(.hessian, .smallest, count: 1, seed: seed &+ 4).values.first ?? .nan
    }
}

extension FullSpaceCurvature {
    /// The logit std (σ_z as the model defines it, `Landscape.logitScale`) and the mean max
    /// probability of `network` on x (NaN when a logit is not finite).
    public static func outputs(_ network: Network, _ x: Matrix) -> (logitStd: Double, meanMaxProbability: Double) {
        let z = network.logits(x)
        guard z.storage.allSatisfy(\.isFinite) else { return (.nan, .nan) }
        let (n, c) = (z.cols, z.rows)
        var rows = [Double](repeating: 0, count: n * c)
        for e in 0..<n { for k in 0..<c { rows[e * c + k] = z[k, e] } }
        return (logitScale(rows, classes: c), ProbabilityStatistics(probabilities: softmaxRows(rows, classes: c), classes: c).meanMaxProbability)
    }
}

extension Network {
    /// The same network with its whole parameter vector rescaled to norm r (r > 0, finite; θ ≠ 0).
    public func rescaled(toNorm r: Double) throws -> Network {
        guard r.isFinite && r > 0 else { throw NetworkError.invalid("--radius is \(r); give a finite positive norm") }
        let norm = BLAS.dot(parameters, parameters).squareRoot()
        guard norm > 0 && norm.isFinite else { throw NetworkError.invalid("cannot rescale a weight vector of norm \(norm)") }
        let s = r / norm
        return Network(architecture: architecture, parameters: parameters.map { $0 * s })
    }
}
