import Linalg

/// Tr(G) of the Gauss–Newton (G-term) Hessian G = (1/N) Σ_μ J^μᵀ P^μ J^μ, exactly, from the logit-gradient
/// Gram alone: Tr(J^μᵀ P^μ J^μ) = tr(P^μ K^{μμ}) = Σ_k p^μ_k K^{μμ}_{kk} − p^μᵀ K^{μμ} p^μ, where K^{μμ} is the
/// C×C diagonal block of K = J Jᵀ for example μ (P^μ = diag(p^μ) − p^μ p^μᵀ). Only those N blocks are
/// read, so the cost is O(N·C²) once K exists, against one Hessian-vector product per probe for a
/// Hutchinson estimate. For a piecewise-linear network this is Tr(H) itself (see `Network.hessianTrace`).
///
/// - Parameters:
///   - gram: the (N·C)×(N·C) Gram of the per-example logit gradients, index μ·C + k.
///   - probabilities: softmax outputs, one row of C per example (N×C, row-major).
///   - classes: C.
public func gaussNewtonTrace(gram k: Matrix, probabilities p: [Double], classes c: Int) -> Double {
    precondition(c > 0 && p.count % c == 0, "probabilities must be N×C")
    let n = p.count / c
    precondition(k.rows == n * c && k.cols == n * c, "Gram must be (N·C)×(N·C) for N = \(n), C = \(c)")
    return gaussNewtonTrace(examples: n, classes: c, probabilities: p) { mu, i, j in k[mu * c + i, mu * c + j] }
}

/// The same Tr(G) from the diagonal blocks alone, stacked as a C×(N·C) matrix (block μ in columns
/// μ·C..<(μ+1)·C): for callers that never form the full (N·C)² Gram, since only these N·C² entries matter.
public func gaussNewtonTrace(diagonalBlocks b: Matrix, probabilities p: [Double], classes c: Int) -> Double {
    precondition(c > 0 && p.count % c == 0, "probabilities must be N×C")
    let n = p.count / c
    precondition(b.rows == c && b.cols == n * c, "diagonal blocks must be C×(N·C) for N = \(n), C = \(c)")
    return gaussNewtonTrace(examples: n, classes: c, probabilities: p) { mu, i, j in b[i, mu * c + j] }
}

/// (1/N) Σ_μ [Σ_k p_k B^μ_kk − pᵀ B^μ p] for blocks B^μ read through `block(μ, i, j)`.
private func gaussNewtonTrace(examples n: Int, classes c: Int, probabilities p: [Double],
                              block: (Int, Int, Int) -> Double) -> Double {
    guard n > 0 else { return 0 }
    var total = 0.0
    for mu in 0..<n {
        let q = p[(mu * c)..<((mu + 1) * c)]
        var diagonal = 0.0, quadratic = 0.0
        for i in 0..<c {
            let pi = q[q.startIndex + i]
            diagonal += pi * block(mu, i, i)
            var row = 0.0
            for j in 0..<c { row += block(mu, i, j) * q[q.startIndex + j] }
            quadratic += pi * row
        }
        total += diagonal - quadratic
    }
    return total / Double(n)
}
