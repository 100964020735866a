import Foundation
import Linalg

/// The whole Hessian of a small network's mean loss, and the counts of its negative, zero and
/// positive eigenvalues: the degeneracy that the embedding principle predicts.
///
/// Column i is H·e_i by exact forward-over-reverse products (`CurvatureProducts.matrix`), so the matrix is exact
/// to round-off; it is symmetrised, (H + Hᵀ)/2, and the asymmetry before symmetrising is reported as
/// a round-off check. The eigenvalues are LAPACK's (`Eigen.symmetric`).
public struct DenseHessian: Sendable {
    /// The symmetrised Hessian, D × D.
    public let matrix: Matrix
    /// max|H − Hᵀ| / max|H| before symmetrising (round-off only: ~1e-16).
    public let asymmetry: Double

    /// Builds H from the products with the D unit vectors on the batch (x: inputs × B), a block at a time.
    public init(network: Network, inputs x: Matrix, labels: [Int], loss: Loss, targets: Matrix? = nil) {
        let d = network.parameters.count
        var h = CurvatureProducts(network: network, inputs: x, labels: labels, loss: loss, targets: targets).matrix(.hessian)
        var asym = 0.0
        for j in 0..<d {
            for i in 0..<j {
                let (a, b) = (h[i, j], h[j, i])
                asym = max(asym, abs(a - b))
                h[i, j] = 0.5 * (a + b)
                h[j, i] = h[i, j]
            }
        }
        let scale = h.maxAbs
        matrix = h
        asymmetry = scale > 0 ? asym / scale : 0
    }

    /// All eigenvalues, descending.
    public func eigenvalues() throws -> [Double] { try Eigen.symmetric(matrix, vectors: false).values }

    /// Memory (bytes by part) of the dense Hessian of a D-parameter network on B examples: the
    /// matrix, LAPACK's copy and workspace, and the Hessian-vector products' activations.
    public static func memoryParts(architecture a: Architecture, examples: Int) -> [(String, Double)] {
        let d = Double(a.parameterCount)
        return [("dense Hessian D×D and its eigen-decomposition", 8 * 3 * d * d),
                ("Hessian-vector products", CurvatureProducts.memory(architecture: a, examples: examples, block: a.parameterCount))]
    }
}

/// How many eigenvalues of a symmetric matrix are negative, zero and positive, with "zero" meaning
/// |λ| ≤ τ·max|λ| for a relative threshold τ (default 1e-9).
///
/// Why 1e-9: the Hessian is exact to round-off (relative ~1e-15 of max|λ|), and at a critical point
/// reached to a gradient norm ε the null directions of the embedding carry eigenvalues of order ε
/// (or ε² over a curvature), so with ε ≲ 1e-12 they sit below 1e-12·max|λ|, while the genuine
/// eigenvalues of the small networks studied here lie above 1e-6·max|λ|. The threshold sits in that
/// gap; `largestZero` and `smallestNonzero` report both edges of the gap so each count can be judged
/// (a count is trustworthy when smallestNonzero/largestZero is many decades).
public struct InertiaCounts: Sendable, Equatable, CustomStringConvertible {
    public let negative: Int
    public let zero: Int
    public let positive: Int
    /// The relative threshold τ and the absolute one τ·max|λ|.
    public let relativeThreshold: Double
    public let threshold: Double
    /// The largest |λ| counted as zero (0 if none) and the smallest |λ| counted as nonzero (∞ if none).
    public let largestZero: Double
    public let smallestNonzero: Double

    /// The default relative threshold τ.
    public static let defaultRelativeThreshold = 1e-9

    public init(eigenvalues: [Double], relativeThreshold tau: Double = InertiaCounts.defaultRelativeThreshold, scale: Double? = nil) {
        let top = scale ?? eigenvalues.reduce(0) { max($0, abs($1)) }
        let cut = tau * top
        var (neg, zero, pos) = (0, 0, 0)
        var (largest, smallest) = (0.0, Double.infinity)
        for v in eigenvalues {
            if abs(v) <= cut {
                zero += 1
                largest = max(largest, abs(v))
            } else {
                if v < 0 { neg += 1 } else { pos += 1 }
                smallest = min(smallest, abs(v))
            }
        }
        (negative, self.zero, positive) = (neg, zero, pos)
        (relativeThreshold, threshold, largestZero, smallestNonzero) = (tau, cut, largest, smallest)
    }

    /// The counts of one matrix plus another's: the inertia of a direct sum (Sylvester's law).
    public static func + (a: InertiaCounts, b: InertiaCounts) -> (negative: Int, zero: Int, positive: Int) {
        (a.negative + b.negative, a.zero + b.zero, a.positive + b.positive)
    }

    public var description: String { "\(negative) negative, \(zero) zero, \(positive) positive (|λ| ≤ \(relativeThreshold)·max|λ| is zero)" }
}

extension CriticalEmbedding {
    /// The number of zero Hessian eigenvalues that ReLU's rescaling symmetry forces at a critical
    /// point: one per hidden neuron whose incoming weights (with bias) and outgoing weights are both
    /// nonzero (scaling them by c and 1/c leaves the output unchanged, so the direction (v, −a) is
    /// null where the gradient vanishes). 0 for tanh, which has no such symmetry.
    public static func reluRescalingZeros(_ net: Network) throws -> Int {
        guard net.architecture.activation == .relu else { return 0 }
        let w = try widths(net.architecture)
        var count = 0
        for l in 1..<(w.count - 1) {
            for s in 0..<w[l] {
                let (v, a) = try weights(net, neuron: HiddenNeuron(layer: l, index: s))
                if v.contains(where: { $0 != 0 }) && a.contains(where: { $0 != 0 }) { count += 1 }
            }
        }
        return count
    }
}
