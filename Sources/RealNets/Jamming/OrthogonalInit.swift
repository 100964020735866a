import Foundation
import Linalg

/// Random orthogonal matrices, the initialisation of Saxe, McClelland & Ganguli (2013) that Geiger et
/// al. use for the jamming study.
public enum RandomOrthogonal {
    /// A rows×cols matrix with orthonormal columns (rows ≥ cols) or orthonormal rows (rows < cols):
    /// the Q of the QR decomposition of a Gaussian matrix (LAPACK `dgeqrf`/`dorgqr`), each column
    /// multiplied by the sign of R's diagonal entry, which makes Q Haar-distributed (Mezzadri 2007)
    /// rather than biased by the sign convention of the Householder reflections.
    public static func matrix(rows: Int, cols: Int, stream: RandomStream) throws -> Matrix {
        let (tall, short) = (max(rows, cols), min(rows, cols))
        let a = stream.gaussianMatrix(rows: tall, cols: short)
        var q = try Orthonormal.columns(a)
        // R = QᵀA, so R_jj = q_j·a_j: flip q_j where it is negative.
        for j in 0..<short {
            var r = 0.0
            for i in 0..<tall { r += q[i, j] * a[i, j] }
            if r < 0 { for i in 0..<tall { q[i, j] = -q[i, j] } }
        }
        return rows >= cols ? q : q.transposed
    }
}

extension Network {
    /// An MLP with orthogonal weights: every dense layer's [out, in] weight has orthonormal rows
    /// (out ≤ in) or orthonormal columns (out > in), gain 1, so a one-output network's output row
    /// has unit norm, as in Geiger et al.; biases keep PyTorch's default, uniform in ±1/√fan_in
    /// (`torch.nn.init.orthogonal_` touches the weights only). Zero biases would make every
    /// hidden unit's kink a hyperplane through the origin and the network positively homogeneous
    /// in x: the gradients of a few patterns would then span fewer than N directions.
    /// Convolutions are not supported.
    public static func orthogonal(architecture: Architecture, seed: UInt64) throws -> Network {
        let rng = RandomStream(seed: seed, stream: 12)
        var theta = [Double](repeating: 0, count: architecture.parameterCount)
        var offset = 0
        for layer in architecture.layers {
            switch layer {
            case let .dense(_, inputs, outputs):
                // The weight is stored row-major [out, in], i.e. as the column-major in×out matrix Wᵀ.
                let wt = try RandomOrthogonal.matrix(rows: inputs, cols: outputs, stream: rng)
                theta.replaceSubrange(offset..<(offset + inputs * outputs), with: wt.storage)
                let bound = 1 / Double(inputs).squareRoot()
                for k in 0..<outputs { theta[offset + inputs * outputs + k] = bound * (2 * rng.uniform() - 1) }
            case .conv:
                throw NetworkError.invalid("orthogonal initialisation is defined here for fully connected networks only")
            default: break
            }
            offset += layer.parameterCount
        }
        return Network(architecture: architecture, parameters: theta)
    }
}
