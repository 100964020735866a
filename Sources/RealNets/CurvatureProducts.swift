import Foundation
import Linalg

/// The curvature of a network's mean loss on one fixed batch, applied to blocks of parameter directions:
/// H·V, G·V or (H − G)·V for a D × b matrix V, exactly, by forward-over-reverse differentiation.
///
/// The forward pass and the reverse pass of the loss gradient do not depend on the directions, so they
/// run once, here; each `apply` is then one R-forward and one R-backward pass for all b directions, every
/// layer's products a matrix–matrix product (`dgemm`) over the b directions and B examples at once
/// (see `Network.Trace` for the layout), and no work whose result is known to be zero or unused (the
/// input's R-value, the input's gradient). `Network.hessianVectorProduct` is the b = 1 case.
///
/// Cost (784-256-256-10 MLP, B = 300, D = 269 322, one core shared with other work): about 480 MFLOP
/// a direction, 13.3 ms at b = 1 and 12.2 ms a direction at b = 4, where a product of the previous
/// implementation, which redid both shared passes and the zero or unused work every time, took 35 ms.
/// The cost per direction hardly depends on b once the shared passes are out: the layers' products
/// are large already at b = 1. So blocks help an eigensolver by what they do for its convergence, not
/// by much cheaper products.
///
/// The terms follow from the R-backward pass being linear in two inputs (`Network.rBackward`): the
/// output Hessian times J·V propagated back by the network's Jacobian is G·V; the loss gradient's
/// adjoints met by the layers' R-values are the network's own curvature weighted by ∂ℓ/∂z, (H − G)·V
/// (the "H-term"); their sum is H·V. So each term is one pass, H − G included.
public struct CurvatureProducts: Sendable {
    /// Which curvature matrix `apply` multiplies by.
    public enum Term: String, Sendable, CaseIterable {
        /// H, the Hessian of the mean loss.
        case hessian
        /// G = (1/B)Σ_μ J^μᵀ(∂²ℓ/∂z²)J^μ, the Gauss–Newton matrix (G-term); PSD for a convex loss.
        case gaussNewton
        /// H − G = (1/B)Σ_μ Σ_k (∂ℓ/∂z^μ_k)·∇²z^μ_k, the H-term.
        case hTerm
    }

    public let network: Network
    let trace: Network.Trace
    let labels: [Int]
    let loss: Loss
    /// ∂L/∂(output of layer l) of the mean loss, by layer; nil without labels (then only G is available).
    let adjoints: [Matrix]?

    /// D, the number of parameters.
    public var dimension: Int { network.parameters.count }
    /// The memory one R-forward/R-backward pass may use for its directions (see `columnsPerPass`).
    public var passMemory: Int

    /// The network linearised at inputs x (features × B) with labels (or real-valued `targets` for mean
    /// squared error). Without labels or targets only `.gaussNewton` of cross-entropy or mean squared
    /// error can be applied (their output Hessians do not read labels).
    public init(network: Network, inputs x: Matrix, labels: [Int], loss: Loss = .crossEntropy, targets: Matrix? = nil,
                passMemory: Int = 64 << 20) {
        self.network = network
        self.passMemory = passMemory
        self.labels = labels
        self.loss = loss
        trace = network.forward(x)
        if labels.count == x.cols || targets != nil {
            let (_, g, _) = loss.evaluate(trace.output, labels: labels, targets: targets)
            var adjoints: [Matrix] = []
            _ = network.gradientPass(trace, outputGradient: g, parameterGradient: false) { _, gy in adjoints.append(gy) }
            self.adjoints = adjoints.reversed()
        } else {
            adjoints = nil
        }
    }

    /// The term times each column of V (D × b): a D × b matrix. One R-forward and one R-backward pass
    /// for each group of at most `columnsPerPass` columns.
    public func apply(_ term: Term = .hessian, to v: Matrix) -> Matrix {
        precondition(v.rows == dimension, "directions have \(v.rows) rows; the network has D = \(dimension) parameters")
        precondition(term == .gaussNewton || adjoints != nil, "the Hessian and the H-term need the labels")
        guard v.cols > columnsPerPass else { return pass(term, v) }
        var out = Matrix(rows: dimension, cols: v.cols)
        var first = 0
        while first < v.cols {
            let width = min(columnsPerPass, v.cols - first)
            let part = pass(term, Matrix(rows: dimension, cols: width, storage: Array(v.storage[(first * dimension)..<((first + width) * dimension)])))
            out.storage.replaceSubrange((first * dimension)..<((first + width) * dimension), with: part.storage)
            first += width
        }
        return out
    }

    /// The whole D × D matrix of a term (column j = term·e_j), the identity applied a pass of
    /// `columnsPerPass` columns at a time; not symmetrised, so its asymmetry shows the round-off.
    public func matrix(_ term: Term = .hessian) -> Matrix {
        ClosureOperator(dimension: dimension, block: { pass(term, $0) }).assembled(block: columnsPerPass)
    }

    func pass(_ term: Term, _ v: Matrix) -> Matrix {
        guard v.cols > 0 else { return Matrix(rows: dimension, cols: 0) }
        let t = network.rForward(trace, directions: v, inputDirections: nil)
        let rg = term == .hTerm ? nil : loss.outputHessianTimes(t.output, labels: labels, t.rOutput)
        return network.rBackward(t, adjoints: term == .gaussNewton ? nil : adjoints, rOutputGradient: rg,
                                 directions: term == .gaussNewton ? nil : v)
    }

    /// The bytes one direction of a pass holds: its R-values and R-gradients at every layer for the B
    /// examples (`Architecture.activationDoublesPerExample` a direction and example), the layer-sized
    /// products (a layer's weights twice) and its column of the result.
    public static func bytesPerDirection(_ architecture: Architecture, examples: Int) -> Double {
        let widest = architecture.layers.map(\.parameterCount).max() ?? 0
        return 8 * (architecture.activationDoublesPerExample * Double(examples) + 2 * Double(widest) + Double(architecture.parameterCount))
    }

    /// How many directions one pass carries: as many as fit in `passMemory` bytes (at least one). Wider
    /// passes make larger matrix products but gain little past a few directions, while their fresh
    /// temporaries cost page faults (on the MLP above, single passes of 10 to 40 directions took 15 to
    /// 17 ms a direction against 11 to 12 ms for 2 to 4, and as little only with the C library told to
    /// keep freed memory), and memory grows with the width, so wide blocks (a hyperplane's d columns, a
    /// dense Hessian's D) are applied a pass at a time.
    public var columnsPerPass: Int {
        max(1, Int(Double(passMemory) / CurvatureProducts.bytesPerDirection(network.architecture, examples: trace.output.cols)))
    }

    /// The term as a symmetric operator whose block application is one `apply` (for `BlockLanczos`),
    /// counting the vectors it is applied to in `counter`.
    public func symmetricOperator(_ term: Term = .hessian, counter: ProductCounter? = nil) -> ClosureOperator {
        ClosureOperator(dimension: dimension, block: { v in
            counter?.add(v.cols)
            return self.apply(term, to: v)
        })
    }
}

/// Counts the vectors a curvature operator was applied to (each column of a block counts once), for
/// reports that give the cost of a measurement in Hessian-vector products.
public final class ProductCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var total = 0
    public init() {}
    public func add(_ n: Int) { lock.lock(); total += n; lock.unlock() }
    public var count: Int { lock.lock(); defer { lock.unlock() }; return total }
}

extension CurvatureProducts {
    /// Which end of a spectrum.
    public enum End: Sendable {
        /// The largest (algebraic) eigenvalues, descending.
        case largest
        /// The smallest (most negative first), ascending.
        case smallest
    }

    /// The `count` extreme eigenpairs of a curvature term by thick-restart block Lanczos
    /// (`BlockLanczos`) to `tolerance`, the term applied a block at a time, each vector counted in
    /// `counter`. `maxApplications` (vectors) defaults to b·max(300, 10·(2k + 10)) for blocks of b: the
    /// single-vector Lanczos's budget, in vectors, times the block size, since a wider block takes up
    /// to about b times as many vectors.
    ///
    /// Block and basis sizes: blocks of min(k, 2) vectors and a basis of max(2k + 10, 30). A block of
    /// two keeps both copies of a repeated eigenvalue among the wanted ones (what the single-vector
    /// Lanczos's multiplicity check was for); wider blocks are not worth it on a network's Hessian,
    /// whose products cost about the same per vector at any width (`columnsPerPass`), while block
    /// Lanczos needs more vectors the wider its blocks: on the trained 784-256-256-10 MLP at 300
    /// examples the top 10 took 38, 52, 116 and 220 vectors with blocks of 1, 2, 4 and 10, λ_min 128
    /// with 1 and 356 with 4 (basis 30 or 40), the H-term's top 3 53 with 1 and 129 with 3; on a tanh
    /// 784-16-10 MLP at weight scale 0.1, whose spectrum is nearly symmetric, the top 2 took 199 vectors
    /// with blocks of 1 and 386 with 2. A single extreme value (k = 1: λ_min for ‖H‖) needs no second
    /// copy and takes blocks of one.
    public func eigenpairs(_ term: Term = .hessian, _ end: End, count k: Int, tolerance: Double = 1e-8, seed: UInt64,
                           maxApplications: Int? = nil, counter: ProductCounter? = nil) throws -> BlockLanczos.Result {
        let op = symmetricOperator(term, counter: counter)
        let (block, basis) = CurvatureProducts.lanczosSizes(count: k)
        let budget = maxApplications ?? block * max(300, 10 * (2 * k + 10))
        switch end {
        case .largest:
            return try BlockLanczos.largest(op, count: k, blockSize: block, basisSize: basis, tolerance: tolerance,
                                            maxApplications: budget, seed: seed)
        case .smallest:
            return try BlockLanczos.smallest(op, count: k, blockSize: block, basisSize: basis, tolerance: tolerance,
                                             maxApplications: budget, seed: seed)
        }
    }

    /// (block, basis) sizes of `eigenpairs` for k eigenpairs: min(k, 2) and max(2k + 10, 30).
    static func lanczosSizes(count k: Int) -> (block: Int, basis: Int) { (min(k, 2), max(2 * k + 10, 30)) }

    /// D-vectors `eigenpairs` holds for k eigenpairs of a D-parameter network: block Lanczos keeps the
    /// basis V and A·V (each doubled while a block is appended), the k Ritz vectors and residuals, and a
    /// few blocks.
    public static func lanczosVectors(count k: Int, parameters d: Int) -> Int {
        let (b, m) = lanczosSizes(count: k)
        return 4 * min(m, d) + 2 * k + 4 * b
    }

    /// Bytes the products take for blocks of up to `block` directions on B examples: the shared
    /// forward pass and adjoints, and one pass of min(block, `columnsPerPass`) directions.
    public static func memory(architecture a: Architecture, examples n: Int, block: Int, passMemory: Int = 64 << 20) -> Double {
        let perDirection = bytesPerDirection(a, examples: n)
        let pass = max(perDirection, min(Double(passMemory), perDirection * Double(max(block, 1))))
        return 8 * Double(n) * a.activationDoublesPerExample + pass
    }
}
