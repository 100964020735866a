import Foundation
import Linalg

/// The class-conditional means of the logit gradients and the moment estimates of the
/// class-conditional random model, J^μ_k = S_k·(c_k + d_{k,y_μ} + s_k·[y_μ = k]) + e^μ_k, from (K, p, y).
///
/// m_{k,a} = mean of J^μ_k over the n_a examples of class a; e^μ_k = J^μ_k − m_{k,y_μ} is the
/// within-class residual. In the model (σ's in units of 1/√D, per-coordinate variance σ²/D), for
/// distinct classes a ≠ b: E[m_{k,a}·m_{k,b}] = S_k²σ_c², E‖m_{k,a}‖² = S_k²(σ_c² + σ_d²) + σ_e²/n_a
/// (a ≠ k), E‖m_{k,k}‖² = S_k²(σ_c² + σ_d² + σ_s²) + σ_e²/n_k, and E Σ_{μ∈a}‖e^μ_k‖² = (n_a − 1)σ_e².
/// Matching these (pooled over k with weights n_a, so that the model carries the source's mean
/// ‖J^μ_k‖² exactly when every class is present and the lengths average to one):
/// - σ_e² = Σ_{k,μ}‖e^μ_k‖² / (C·Σ_a(n_a − 1));
/// - σ_c² = Σ_k Σ_{a≠b} n_a n_b m_{k,a}·m_{k,b} / (C·Σ_{a≠b} n_a n_b) (C ≥ 2 classes present);
/// - σ_c² + σ_d² = Σ_k Σ_{a≠k} n_a(‖m_{k,a}‖² − σ_e²/n_a) / Σ_k Σ_{a≠k} n_a;
/// - σ_c² + σ_d² + σ_s² = Σ_k n_k(‖m_{k,k}‖² − σ_e²/n_k) / Σ_k n_k, and S_k² = (‖m_{k,k}‖² − σ_e²/n_k)/(σ_c² + σ_d² + σ_s²),
///   so the class-mean lengths ‖m_{k,k}‖ are reproduced.
/// The paper's own calibration (σ_d = σ_s = 0) instead takes c_k = the mean of J^μ_k over all N examples
/// and σ_E² from the residuals J^μ_k − c_k (× N/(N − 1)), σ_c² = mean_k‖c_k‖² − σ_E²/N: again the
/// energy σ_c² + σ_E² equals the source's mean ‖J^μ_k‖².
/// Raw estimates may come out negative (a variance below its sampling noise); the `sigma…`
/// properties clip them at zero and `raw…` keep them.
public struct ClassConditionalMoments: Sendable {
    public let classes: Int
    /// n_a.
    public let counts: [Int]
    /// m_{k,a}·m_{l,b}, C²×C², index k·C + a.
    public let meanGram: Matrix
    /// Σ_{μ∈a}‖e^μ_k‖², index k·C + a.
    public let withinEnergy: [Double]
    /// mean over (μ, k) of ‖J^μ_k‖².
    public let meanSquaredNorm: Double

    /// Raw moment estimates (σ² in units of 1/D).
    public let rawSigmaE2: Double
    public let rawSigmaC2: Double
    /// σ_c² + σ_d², from the off-diagonal class means m_{k,a}, a ≠ k.
    public let rawOffDiagonal: Double
    /// σ_c² + σ_d² + σ_s², from the diagonal class means m_{k,k}.
    public let rawDiagonal: Double
    /// S_k, the relative lengths of the class-conditional mean parts.
    public let lengths: [Double]

    /// The paper's calibration: σ_c² and σ_E² around the all-example means c_k, and S_k.
    public let paperSigmaC2: Double
    public let paperSigmaE2: Double
    public let paperLengths: [Double]

    public var sigmaE: Double { max(rawSigmaE2, 0).squareRoot() }
    public var sigmaC: Double { max(rawSigmaC2, 0).squareRoot() }
    public var sigmaD: Double { max(rawOffDiagonal - max(rawSigmaC2, 0), 0).squareRoot() }
    public var sigmaS: Double { max(rawDiagonal - max(rawOffDiagonal, max(rawSigmaC2, 0)), 0).squareRoot() }
    public var paperSigmaC: Double { max(paperSigmaC2, 0).squareRoot() }
    public var paperSigmaE: Double { max(paperSigmaE2, 0).squareRoot() }

    public init(_ source: LogitGradientGram) {
        let (n, c) = (source.examples, source.classes)
        let k = source.gram, y = source.labels
        let counts = source.classCounts
        // Block sums Σ_{μ∈a, ν∈b} J^μ_k·J^ν_l at (k·C + a, l·C + b), and the diagonal energies.
        var sums = Matrix(rows: c * c, cols: c * c)
        var diagonal = [Double](repeating: 0, count: c * c)   // Σ_{μ∈a} ‖J^μ_k‖²
        let size = n * c
        k.storage.withUnsafeBufferPointer { pk in
            sums.storage.withUnsafeMutableBufferPointer { ps in
                for col in 0..<size {
                    let b = (col % c) * c + y[col / c]
                    for row in 0..<size { ps[((row % c) * c + y[row / c]) + b * c * c] += pk[row + col * size] }
                    diagonal[b] += pk[col + col * size]
                }
            }
        }
        let meanGram = Matrix(rows: c * c, cols: c * c) { i, j in
            let (na, nb) = (counts[i % c], counts[j % c])
            return na > 0 && nb > 0 ? sums[i, j] / Double(na * nb) : 0
        }
        let within = (0..<(c * c)).map { i in diagonal[i] - Double(counts[i % c]) * meanGram[i, i] }
        let energy = diagonal.reduce(0, +)
        let dof = Double(counts.reduce(0) { $0 + max($1 - 1, 0) })
        let sigmaE2 = within.reduce(0, +) / (Double(c) * dof)

        var crossSum = 0.0, crossWeight = 0.0, offSum = 0.0, offWeight = 0.0, diagSum = 0.0, diagWeight = 0.0
        var diagonalMeans = [Double](repeating: 0, count: c)
        for l in 0..<c {
            for a in 0..<c where counts[a] > 0 {
                let na = Double(counts[a])
                let corrected = meanGram[l * c + a, l * c + a] - sigmaE2 / na
                if a == l { diagSum += na * corrected; diagWeight += na; diagonalMeans[l] = corrected }
                else { offSum += na * corrected; offWeight += na }
                for b in 0..<c where b != a && counts[b] > 0 {
                    let w = na * Double(counts[b])
                    crossSum += w * meanGram[l * c + a, l * c + b]
                    crossWeight += w
                }
            }
        }
        let diagonalMoment = diagSum / diagWeight
        lengths = diagonalMeans.map { diagonalMoment > 0 ? max($0 / diagonalMoment, 0).squareRoot() : 1 }

        // The paper's calibration around the all-example means.
        var allMeans = [Double](repeating: 0, count: c)    // ‖c_k‖², c_k = (1/N)Σ_μ J^μ_k
        for l in 0..<c {
            var s = 0.0
            for a in 0..<c { for b in 0..<c { s += sums[l * c + a, l * c + b] } }
            allMeans[l] = s / Double(n * n)
        }
        let residual = (energy - Double(n) * allMeans.reduce(0, +)) / Double(size)
        let paperE2 = residual * Double(n) / Double(n - 1)
        let corrected = allMeans.map { $0 - paperE2 / Double(n) }
        let paperC2 = corrected.reduce(0, +) / Double(c)
        paperLengths = corrected.map { paperC2 > 0 ? max($0 / paperC2, 0).squareRoot() : 1 }

        classes = c
        self.counts = counts
        self.meanGram = meanGram
        withinEnergy = within
        meanSquaredNorm = energy / Double(size)
        rawSigmaE2 = sigmaE2
        rawSigmaC2 = crossWeight > 0 ? crossSum / crossWeight : 0
        rawOffDiagonal = offSum / offWeight
        rawDiagonal = diagonalMoment
        paperSigmaC2 = paperC2
        paperSigmaE2 = paperE2
    }

    /// Gram of the within-class residuals e^μ_k = J^μ_k − m_{k,y_μ}, (N·C)×(N·C), index μ·C + k:
    /// K − R − Rᵀ + M with R[μk, νl] = J^μ_k·m_{l,y_ν} and M[μk, νl] = m_{k,y_μ}·m_{l,y_ν}, all block sums of K.
    public static func withinClassResidualGram(_ source: LogitGradientGram) -> Matrix {
        let (n, c) = (source.examples, source.classes)
        let k = source.gram, y = source.labels, counts = source.classCounts
        let size = n * c
        // r[μk, (l, b)] = J^μ_k·m_{l,b}.
        var r = Matrix(rows: size, cols: c * c)
        for col in 0..<size {
            let target = (col % c) * c + y[col / c]
            let inverse = 1 / Double(counts[y[col / c]])
            for row in 0..<size { r[row, target] += k[row, col] * inverse }
        }
        let means = ClassConditionalMoments(source).meanGram
        return Matrix(rows: size, cols: size) { i, j in
            let (ki, kj) = ((i % c) * c + y[i / c], (j % c) * c + y[j / c])
            return k[i, j] - r[i, kj] - r[j, ki] + means[ki, kj]
        }
    }
}
