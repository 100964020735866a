import Foundation
import Linalg

/// The D×d matrix P of a random affine subspace θ = θ₀ + Pφ (Li et al. 2018): columns of i.i.d.
/// N(0, 1) entries normalised to unit length. Column j is drawn from its own stream of the seed, so
/// P never has to exist whole: it is applied in column blocks whose width depends only on D and d,
/// either kept in memory (when 8·D·d bytes fit comfortably) or regenerated block by block on every
/// product. Both ways give the same numbers, bit for bit, whatever the memory.
/// `identity` (d = D, P = I) is the reference: Pφ = φ and Pᵀg = g exactly.
public struct RandomProjection: Sendable {
    public let parameters: Int
    public let dimension: Int
    public let seed: UInt64
    public let isIdentity: Bool
    /// Columns per block.
    public let blockWidth: Int
    /// The blocks, when kept (nil: regenerated on every product, or the identity).
    let cached: [Matrix]?

    /// Doubles per block (32 MiB): the most a product allocates when P is not kept.
    public static let blockDoubles = 1 << 22

    /// Stream of column j: disjoint from the training permutations (streams 1000 + epoch) and the
    /// subspace bases of `RestrictedCurvature`.
    static func stream(column j: Int) -> UInt64 { (1 << 40) | UInt64(j) }

    /// A Gaussian projection; P is kept in memory if its 8·D·d bytes are at most `keepBudget` bytes
    /// (default: a third of the memory available now; the numbers do not depend on this choice).
    /// `blockDoubles` (tests only) sets the block size, hence the summation order of Pφ.
    public init(parameters n: Int, dimension d: Int, seed: UInt64, keepBudget: Double? = nil,
                blockDoubles: Int = RandomProjection.blockDoubles) throws {
        guard n >= 1 else { throw NetworkError.invalid("a projection needs D ≥ 1 parameters") }
        guard d >= 1 && d <= n else { throw NetworkError.invalid("--dimension is \(d); give 1 to D = \(n)") }
        (parameters, dimension, self.seed, isIdentity) = (n, d, seed, false)
        blockWidth = max(1, min(d, blockDoubles / n))
        let budget = keepBudget ?? Memory.available() / 3
        if 8 * Double(n) * Double(d) <= budget {
            var blocks: [Matrix] = []
            for start in stride(from: 0, to: d, by: blockWidth) {
                blocks.append(RandomProjection.block(parameters: n, columns: start..<min(d, start + blockWidth), seed: seed))
            }
            cached = blocks
        } else {
            cached = nil
        }
    }

    private init(identity n: Int) {
        (parameters, dimension, seed, isIdentity, blockWidth, cached) = (n, n, 0, true, n, nil)
    }

    /// P = I (d = D): the reference under which subspace training is ordinary training.
    public static func identity(parameters n: Int) -> RandomProjection { RandomProjection(identity: n) }

    /// Whether P is kept in memory (false for the identity and for a regenerated P).
    public var isKept: Bool { cached != nil }

    /// Columns `columns` of P (D × count), each N(0, I) from its own stream, normalised to unit length.
    static func block(parameters n: Int, columns: Range<Int>, seed: UInt64) -> Matrix {
        var m = Matrix(rows: n, cols: columns.count)
        m.storage.withUnsafeMutableBufferPointer { p in
            for (k, j) in columns.enumerated() {
                let base = p.baseAddress! + k * n
                RandomStream(seed: seed, stream: stream(column: j)).fill(base, count: n)
                var s = 0.0
                for i in 0..<n { s += base[i] * base[i] }
                let inverse = 1 / s.squareRoot()
                for i in 0..<n { base[i] *= inverse }
            }
        }
        return m
    }

    /// Column j of P.
    public func column(_ j: Int) -> [Double] {
        precondition(j >= 0 && j < dimension, "column \(j) outside 0..<\(dimension)")
        if isIdentity { var e = [Double](repeating: 0, count: parameters); e[j] = 1; return e }
        return RandomProjection.block(parameters: parameters, columns: j..<(j + 1), seed: seed).storage
    }

    private func forEachBlock(_ body: (Range<Int>, Matrix) -> Void) {
        var index = 0
        for start in stride(from: 0, to: dimension, by: blockWidth) {
            let columns = start..<min(dimension, start + blockWidth)
            body(columns, cached?[index] ?? RandomProjection.block(parameters: parameters, columns: columns, seed: seed))
            index += 1
        }
    }

    /// Pφ (length D).
    public func apply(_ phi: [Double]) -> [Double] {
        precondition(phi.count == dimension, "φ has \(phi.count) entries, not d = \(dimension)")
        if isIdentity { return phi }
        var y = Matrix(rows: parameters, cols: 1)
        let f = Matrix(rows: dimension, cols: 1, storage: phi)
        forEachBlock { columns, p in
            BLAS.accumulateBlock(p, rows: 0..<parameters, cols: 0..<columns.count, f, rows: columns, cols: 0..<1, into: &y, at: 0, 0)
        }
        return y.storage
    }

    /// Pᵀg (length d).
    public func transposeApply(_ g: [Double]) -> [Double] {
        precondition(g.count == parameters, "g has \(g.count) entries, not D = \(parameters)")
        if isIdentity { return g }
        var out = [Double](repeating: 0, count: dimension)
        forEachBlock { columns, p in
            let part = BLAS.multiply(p, transpose: true, g)
            out.replaceSubrange(columns, with: part)
        }
        return out
    }

    /// θ₀ + Pφ (exactly θ₀ for φ = 0).
    public func point(origin theta0: [Double], _ phi: [Double]) -> [Double] {
        let p = apply(phi)
        return zip(theta0, p).map { $0 + $1 }
    }

    /// The memory P needs when kept, and a block otherwise (bytes by part).
    public static func memoryParts(parameters n: Int, dimension d: Int) -> [(String, Double)] {
        let width = max(1, min(d, blockDoubles / max(n, 1)))
        return [("a block of the projection P", 8 * Double(n) * Double(width)), ("φ, its gradient and optimiser state", 8 * 4 * Double(d))]
    }
}

/// What training inside a subspace ends with.
public struct SubspaceTrainingResult: Sendable {
    /// The network at the last good parameters θ.
    public var network: Network
    /// φ after the steps.
    public var phi: [Double]
    /// Steps completed (fewer than asked if a step's loss, gradient or update was not finite).
    public var steps: Int
    /// The last batch loss.
    public var loss: Double
}

/// Training θ = θ₀ + Pφ with only φ ∈ R^d free, φ starting at 0 (Li et al. 2018), on mini-batches
/// drawn exactly as `Trainer` draws them, with the same optimisers acting on φ: the gradient with
/// respect to φ is Pᵀ∇θL. θ is carried by increments, θ ← θ + P·Δφ with Δφ the optimiser's update,
/// which equals θ₀ + Pφ up to round-off and makes d = D, P = I ordinary training bit for bit.
public enum SubspaceTrainer {
    /// One step on a batch: the batch loss, or NaN (network, φ and state unchanged) if the loss, the
    /// gradient or the updated parameters are not finite.
    public static func step(_ net: inout Network, phi: inout [Double], state: inout OptimizerState, projection p: RandomProjection,
                            x: Matrix, labels: [Int], settings s: TrainingSettings) -> Double {
        let (loss, g, _) = net.lossAndGradient(x, labels: labels)
        guard loss.isFinite, g.allSatisfy(\.isFinite) else { return .nan }
        let gPhi = p.transposeApply(g)
        guard gPhi.allSatisfy(\.isFinite) else { return .nan }
        var newState = state
        let delta = Trainer.update(gradient: gPhi, state: &newState, settings: s)
        let change = p.apply(delta)
        var theta = net.parameters
        for i in change.indices { theta[i] += change[i] }
        guard theta.allSatisfy(\.isFinite) else { return .nan }
        net.parameters = theta
        state = newState
        for i in delta.indices { phi[i] += delta[i] }
        return loss
    }

    /// Trains from `origin` (θ₀, φ = 0) for `settings.steps` steps; stops early, keeping the last good
    /// parameters, at the first step that is not finite.
    public static func train(origin: Network, projection p: RandomProjection, data: Dataset, settings: TrainingSettings,
                             progress: ((Int, Double) -> Void)? = nil) throws -> SubspaceTrainingResult {
        guard p.parameters == origin.parameters.count else {
            throw NetworkError.invalid("the projection has D = \(p.parameters) rows but the network \(origin.parameters.count) parameters")
        }
        try settings.validate(examples: data.labels.count)
        var net = origin
        var phi = [Double](repeating: 0, count: p.dimension)
        var state = OptimizerState(parameters: p.dimension)
        var epochOrder: (epoch: Int, order: [Int]) = (-1, [])
        var loss = Double.nan
        for step in 0..<settings.steps {
            let (epoch, range) = Trainer.slot(step: step, examples: data.labels.count, settings: settings)
            if epoch != epochOrder.epoch {
                epochOrder = (epoch, Trainer.permutation(epoch: epoch, examples: data.labels.count, settings: settings))
            }
            let (x, y) = data.batch(Array(epochOrder.order[range]))
            let l = SubspaceTrainer.step(&net, phi: &phi, state: &state, projection: p, x: x, labels: y, settings: settings)
            guard l.isFinite else { return SubspaceTrainingResult(network: net, phi: phi, steps: step, loss: loss) }
            loss = l
            progress?(step + 1, l)
        }
        return SubspaceTrainingResult(network: net, phi: phi, steps: settings.steps, loss: loss)
    }
}

/// The intrinsic dimension d_int90 (Li et al. 2018): the smallest d whose accuracy reaches
/// `fraction` of the full-space baseline's; nil when none does (or the baseline is not finite).
public func intrinsicDimension(baseline: Double, accuracies: [(dimension: Int, accuracy: Double)], fraction: Double = 0.9) -> Int? {
    guard baseline.isFinite else { return nil }
    return accuracies.filter { $0.accuracy.isFinite && $0.accuracy >= fraction * baseline }.map(\.dimension).min()
}
