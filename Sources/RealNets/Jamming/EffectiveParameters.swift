import Foundation
import Linalg

extension Architecture {
    /// Hidden neurons whose activation is positively homogeneous (ReLU: Λ·ρ(z/Λ) = ρ(z)). Each one
    /// carries a rescaling symmetry — incoming weights and bias × Λ, outgoing weights ÷ Λ — that
    /// leaves the network's function unchanged.
    public var rescalableNeurons: Int {
        guard activation == .relu else { return 0 }
        var count = 0
        for (index, layer) in layers.enumerated() {
            if case let .dense(_, _, outputs) = layer, index + 1 < layers.count, case .activation = layers[index + 1] {
                count += outputs
            }
        }
        return count
    }

    /// Geiger et al.'s N: the number of parameters D minus one per rescalable hidden neuron (the
    /// directions along which the output cannot change), the count r = P/N is measured in.
    public var jammingParameters: Int { parameterCount - rescalableNeurons }
}

/// The effective number of degrees of freedom of a network on a set of patterns (Geiger et al.,
/// Appendix A): the dimension of the span of ∇_W f(x_μ) and ∇_W(∇_x f(x_μ)·u) for input directions
/// u at every pattern — the gradients of f at x_μ and at points nearby, to first order. It is the
/// numerical rank (SVD) of the D × P(1 + k) matrix of those vectors.
///
/// A ReLU network's vectors are all orthogonal to its rescaling directions, so the rank is at
/// most N = D − (hidden neurons); the paper finds it equal to N (no dead neurons, the signal
/// propagates), which is what `rank == architecture.jammingParameters` checks.
public struct EffectiveParameters: Sendable {
    /// The numerical rank N_eff.
    public let rank: Int
    /// Singular values of the gradient matrix, descending.
    public let singularValues: [Double]
    /// The rank tolerance (σ_max·max(D, columns)·ε, see `SingularValues.rank`).
    public let threshold: Double
    /// Input directions per pattern (k) and the number of gradient vectors P(1 + k).
    public let directionsPerPattern: Int
    public let vectors: Int

    /// Input directions per pattern so that P(1 + k) ≥ 1.5·D where the input dimension allows it
    /// (k ≤ d; at least 1): enough vectors for the rank to reach N with room to spare.
    public static func directions(parameters d: Int, examples p: Int, inputs: Int) -> Int {
        let needed = Int((1.5 * Double(d) / Double(max(p, 1))).rounded(.up)) - 1
        return min(max(needed, 1), max(inputs, 1))
    }

    /// The rank on the patterns `x` (inputs × P) with k = `directionsPerPattern` unit input
    /// directions per pattern, drawn at random (seeded).
    public init(network: Network, inputs x: Matrix, directionsPerPattern k: Int, seed: UInt64) throws {
        precondition(network.architecture.classes == 1, "the effective dimension is defined for one output")
        let d = network.parameters.count, p = x.cols
        let m = try EffectiveParameters.gradientMatrix(network: network, inputs: x, directionsPerPattern: k, seed: seed)
        let s = try SingularValues.of(m)
        singularValues = s
        threshold = SingularValues.threshold(s, rows: d, cols: m.cols)
        rank = SingularValues.rank(s, rows: d, cols: m.cols)
        directionsPerPattern = k
        vectors = p * (1 + k)
    }

    /// The D × P(1 + k) matrix: column μ is ∇_W f(x_μ) (explicit logit-gradient rows); column
    /// P + μ·k + j is ∇_W(∇_x f(x_μ)·u_{μj}), exact by forward-over-reverse differentiation with
    /// the input direction u_{μj} (a unit Gaussian direction) and no parameter direction.
    public static func gradientMatrix(network: Network, inputs x: Matrix, directionsPerPattern k: Int, seed: UInt64) throws -> Matrix {
        let d = network.parameters.count, p = x.cols, n = x.rows
        var m = Matrix(rows: d, cols: p * (1 + k))
        let first = LogitGradients(network: network, inputs: x).explicitJacobian(parameterCount: d)
        m.storage.replaceSubrange(0..<(d * p), with: first.storage)
        let rng = RandomStream(seed: seed, stream: 401)
        var u = [Double](repeating: 0, count: n)
        let one = Matrix(rows: 1, cols: 1, storage: [1]), zero = Matrix(rows: 1, cols: 1)
        for mu in 0..<p {
            let xm = Matrix(rows: n, cols: 1, storage: x.column(mu))
            for j in 0..<k {
                var norm = 0.0
                while norm == 0 {
                    rng.fillGaussian(&u)
                    norm = u.reduce(0) { $0 + $1 * $1 }.squareRoot()
                }
                let direction = Matrix(rows: n, cols: 1, storage: u.map { $0 / norm })
                let t = network.forward(xm, inputDirection: direction)
                let mixed = network.backward(t, outputGradient: one, rOutputGradient: zero).rGradient!
                let column = p + mu * k + j
                m.storage.replaceSubrange((column * d)..<((column + 1) * d), with: mixed)
            }
        }
        return m
    }

    /// Bytes the gradient matrix and its SVD take.
    public static func memoryParts(parameters d: Int, examples p: Int, directionsPerPattern k: Int) -> [(String, Double)] {
        let columns = Double(p) * Double(1 + k)
        return [("gradient matrix for N_eff and its SVD copy", 8 * 2 * Double(d) * columns),
                ("SVD workspace", 8 * (3 * min(Double(d), columns) * min(Double(d), columns) + 4 * max(Double(d), columns)))]
    }
}
