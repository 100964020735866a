import Foundation
import Linalg

/// Papyan's exact decomposition of the G-term (Papyan 2019, "Measurements of three-level
/// hierarchical structure in the outliers in the spectrum of deepnet Hessians"; 2020, "Traces of
/// class/cross-class structure pervade deep learning spectra") for any source of logit gradients,
/// from (K, p, y) alone.
///
/// With g_{μ,c′} = J^μᵀ(e_{c′} − p^μ), the gradient at μ "as if the label were c′", the identity
/// P^μ = Σ_{c′} p^μ_{c′}(e_{c′} − p^μ)(e_{c′} − p^μ)ᵀ gives G = (1/N) Σ_{μ,c′} p^μ_{c′}·g_{μ,c′}g_{μ,c′}ᵀ.
/// Grouping the examples by class a (their label):
/// - δ_{a,c′} = Σ_{μ∈a} p^μ_{c′}g_{μ,c′} / Σ_{μ∈a} p^μ_{c′}, weight w_{a,c′} = Σ_{μ∈a} p^μ_{c′}/N:
///   G = Σ_{a,c′} w_{a,c′}δ_{a,c′}δ_{a,c′}ᵀ (between) + (1/N)Σ p^μ_{c′}(g_{μ,c′} − δ_{y_μ,c′})(…)ᵀ (within).
/// - The between term splits around the class centres δ_a = Σ_{c′≠a} w_{a,c′}δ_{a,c′} / W_a,
///   W_a = Σ_{c′≠a} w_{a,c′} (the weighted mean, which makes the split exact; for equal weights it is
///   Papyan's plain mean). Since Σ_{c′} p^μ_{c′}g_{μ,c′} = J^μᵀ(p^μ − p^μ) = 0, w_{a,a}δ_{a,a} = −W_aδ_a: the
///   c′ = a terms lie along the class centres, so they belong to the class level:
///   * class level   Σ_a W_a(1 + W_a/w_{a,a})·δ_aδ_aᵀ = Σ_a W_aδ_aδ_aᵀ + Σ_a w_{a,a}δ_{a,a}δ_{a,a}ᵀ, rank ≤ C:
///     Papyan's C outliers;
///   * cross-class   Σ_{a, c′≠a} w_{a,c′}(δ_{a,c′} − δ_a)(δ_{a,c′} − δ_a)ᵀ, rank ≤ C(C − 2): the mini-outliers.
/// G = class + cross + within, exactly.
///
/// The bulk. Papyan's within term is not pure bulk: with M_a the class-conditional mean Jacobian of
/// class a and e^μ = J^μ − M_{y_μ} the within-class Jacobian residual, g_{μ,c′} − δ_{a,c′} =
/// e^μᵀ(e_{c′} − p^μ) + M_aᵀ(p̄_{a,c′} − p^μ) (p̄ the mass-weighted mean of p over the class): the second
/// part is the class means seen through the spread of the probabilities within a class — low rank,
/// signal, not noise. At initialisation (p ≈ uniform) it vanishes; after training, or in the random
/// model at large σ_z, it lifts λ₁(G_within) over real outliers (measured on the trained
/// 784-256-256-10 MLP: λ₁(G_within) = 3.86 against 2.40). So the bulk edge is λ₁ of the G-term of the
/// within-class Jacobian residuals alone, (1/N)Σ_μ e^μᵀP^μe^μ (`bulkSpectrum`), the exact analogue of
/// the random model's noise term (1/N)Σ E^μᵀP^μE^μ, and the outliers are counted above it by
/// `OutlierCount`'s rule.
///
/// In the coordinates of `GaussNewtonCoordinates` (Ĝ = BᵀB, columns (μ, c′)), the three terms are
/// Ĝ compressed by three orthogonal projectors that sum to the identity: the between space is spanned
/// by the orthonormal columns β_{a,c′} = Σ_{μ∈a} √(p^μ_{c′}/Σ_{ν∈a}p^ν_{c′})·e_{(μ,c′)} (disjoint
/// supports); the class level by one weighted combination of each class's c′ ≠ a columns together
/// with its c′ = a column; the cross level by the rest of each class's c′ ≠ a columns; the within level
/// by the orthogonal complement. Hence for each eigenvector u_i of G (from w_i of Ĝ),
/// u_iᵀ·G_level·u_i = λ_i·‖Π_level·w_i‖²: the three level shares of every eigenvalue are
/// non-negative and sum to 1. Every term's spectrum is that of a small matrix (2C×2C, C²×C²) except the
/// within term's ((N·C)×(N·C)). Exact at any D.
public struct ClassStructure: Sendable {
    /// The share of an eigenvalue (or of the trace) that each level of the decomposition makes.
    public struct Levels: Equatable, Sendable {
        public var classLevel: Double
        public var cross: Double
        public var within: Double

        public init(classLevel: Double, cross: Double, within: Double) {
            (self.classLevel, self.cross, self.within) = (classLevel, cross, within)
        }

        /// The level with the largest share.
        public var dominant: Level {
            let pairs: [(Level, Double)] = [(.classLevel, classLevel), (.cross, cross), (.within, within)]
            return pairs.max { $0.1 < $1.1 }!.0
        }

        public func share(_ level: Level) -> Double {
            switch level {
            case .classLevel: return classLevel
            case .cross: return cross
            case .within: return within
            }
        }
    }

    public enum Level: String, CaseIterable, Sendable {
        case classLevel = "class", cross, within
    }

    public let classes: Int
    public let examples: Int
    /// G-term eigenvalues (descending; N·C values, at least N of them zero) and gradient overlaps.
    public let gaussNewton: GaussNewtonSpectrum
    /// Level shares of each eigenvector of G, in the order of `gaussNewton.eigenvalues`.
    public let levels: [Levels]
    /// Eigenvalues of each term, descending: class 2C (at most C nonzero), cross-class C² (at most
    /// C(C − 2) nonzero), within N·C (its trailing ones are the null directions).
    public let classSpectrum: [Double]
    public let crossSpectrum: [Double]
    public let withinSpectrum: [Double]
    /// Eigenvalues of the bulk, the G-term of the within-class Jacobian residuals (1/N)Σ_μ e^μᵀP^μe^μ,
    /// descending; its λ₁ is the bulk edge.
    public let bulkSpectrum: [Double]
    /// Trace of each term; they sum to Tr(G).
    public let traces: Levels
    /// Bulk edge = λ₁ of the residual G-term (`bulkSpectrum`) and the outlier count by
    /// `OutlierCount`'s rule with that term as the bulk: the one rule for every source.
    public let outliers: OutlierCount
    /// Index (1-based) i of the largest ratio λ_i/λ_{i+1} among the top 3C eigenvalues of G: a
    /// model-free cross-check of the outlier count (the number of eigenvalues above the widest gap).
    public let largestGapIndex: Int

    /// Tr(G) = (1/N)Σ_μ tr(P^μ K^{μμ}).
    public var trace: Double { traces.classLevel + traces.cross + traces.within }

    /// How many outliers each level dominates (outliers are the top `outliers.outliers` eigenvalues).
    public var outliersByLevel: [Level: Int] {
        var counts = Dictionary(uniqueKeysWithValues: Level.allCases.map { ($0, 0) })
        for i in 0..<min(outliers.outliers, levels.count) { counts[levels[i].dominant, default: 0] += 1 }
        return counts
    }

    /// The decomposition of `source`. Cost: three (N·(C − 1))-square tridiagonal reductions (G, the within
    /// term, the bulk), plus O((N·C)²·C²) products.
    public init(_ source: LogitGradientGram) throws {
        let (n, c) = (source.examples, source.classes)
        let p = source.probabilities, y = source.labels
        let size = n * c
        let coordinates = GaussNewtonCoordinates(gram: source.gram, probabilities: p, labels: y, classes: c)
        let g = coordinates.matrix

        // Between-space basis: column a·C + c′ (class a, as-if label c′), unit length where Σ p > 0.
        var mass = [Double](repeating: 0, count: c * c)   // Σ_{μ∈a} p^μ_{c′}, at a·C + c′
        for mu in 0..<n { for cp in 0..<c { mass[y[mu] * c + cp] += p[mu * c + cp] } }
        var basis = Matrix(rows: size, cols: c * c)
        for mu in 0..<n { for cp in 0..<c where mass[y[mu] * c + cp] > 0 {
            basis[mu * c + cp, y[mu] * c + cp] = (p[mu * c + cp] / mass[y[mu] * c + cp]).squareRoot()
        } }
        // Class-level directions in the basis' coordinates: β_a with entries √(w_{a,c′}/W_a) over c′ ≠ a
        // (column a), and the c′ = a column (column C + a).
        var beta = Matrix(rows: c * c, cols: 2 * c)
        for a in 0..<c {
            beta[a * c + a, c + a] = 1
            let total = (0..<c).filter { $0 != a }.reduce(0.0) { $0 + mass[a * c + $1] }
            guard total > 0 else { continue }
            for cp in 0..<c where cp != a { beta[a * c + cp, a] = (mass[a * c + cp] / total).squareRoot() }
        }

        // Ĝ = Q·Ĝ′·Qᵀ (`GaussNewtonCoordinates`: its N null vectors taken out), so the basis enters
        // Ĝ′'s coordinates as Z = Qᵀ·basis, and the between term in its basis is M = Zᵀ·Ĝ′·Z (C²×C²).
        let z = coordinates.reduced(basis)
        let gz = BLAS.multiply(g, z)                                         // Ĝ′·Z, n′ × C²
        let between = BLAS.multiply(z, transposeA: true, gz)                 // C² × C²
        let classMatrix = BLAS.multiply(beta, transposeA: true, BLAS.multiply(between, beta))
        var crossProjector = Matrix(rows: c * c, cols: c * c)                // blockdiag_a(I − β_aβ_aᵀ) on c′ ≠ a
        for a in 0..<c { for i in 0..<c where i != a { for j in 0..<c where j != a {
            crossProjector[a * c + i, a * c + j] = (i == j ? 1 : 0) - beta[a * c + i, a] * beta[a * c + j, a]
        } } }
        let crossMatrix = BLAS.multiply(crossProjector, BLAS.multiply(between, crossProjector))
        // Structural zeros (G_class has rank ≤ C, G_cross ≤ C(C−1)) are reported as exactly 0.
        classSpectrum = flushingRoundOff(try Eigen.symmetric(classMatrix, vectors: false).values, order: classMatrix.rows)
        crossSpectrum = flushingRoundOff(try Eigen.symmetric(crossMatrix, vectors: false).values, order: crossMatrix.rows)

        // Within term (I − Π)Ĝ(I − Π), Π = basis·basisᵀ, = (I − Π)Q·Ĝ′·Qᵀ(I − Π): its nonzero
        // eigenvalues are those of S·Ĝ′·S with S = (Qᵀ(I − Π)Q)^{1/2} = (I − Z·Zᵀ)^{1/2} (n′-square), and
        // the other N are zeros. With ZᵀZ = V·Σ²·Vᵀ, S = I − Z·A·Zᵀ for A = V·diag(1/(1 + √(1 − σ²)))·Vᵀ
        // (squaring it gives I − Z·V·diag(2a − a²σ²)·Vᵀ·Zᵀ and 2a − a²σ² = 1), so
        // S·Ĝ′·S = Ĝ′ − ZA·gzᵀ − gz·(ZA)ᵀ + ZA·M·(ZA)ᵀ: rank-C² corrections, no division by a small σ.
        let zz = try Eigen.symmetric(BLAS.multiply(z, transposeA: true, z), vectors: true)
        var scaled = zz.vectors!
        for (j, sigma2) in zz.values.enumerated() {
            let factor = 1 / (1 + max(1 - sigma2, 0).squareRoot())
            for i in 0..<scaled.rows { scaled[i, j] *= factor }
        }
        let za = BLAS.multiply(z, BLAS.multiply(scaled, zz.vectors!, transposeB: true))   // Z·A, n′ × C²
        var within = g
        let zaM = BLAS.multiply(za, between)
        let reducedSize = g.rows
        BLAS.accumulateBlock(za, rows: 0..<reducedSize, cols: 0..<(c * c), gz.transposed, rows: 0..<(c * c), cols: 0..<reducedSize,
                             alpha: -1, into: &within, at: 0, 0)
        BLAS.accumulateBlock(gz, rows: 0..<reducedSize, cols: 0..<(c * c), za.transposed, rows: 0..<(c * c), cols: 0..<reducedSize,
                             alpha: -1, into: &within, at: 0, 0)
        BLAS.accumulateBlock(zaM, rows: 0..<reducedSize, cols: 0..<(c * c), za.transposed, rows: 0..<(c * c), cols: 0..<reducedSize,
                             into: &within, at: 0, 0)
        let bulk = coordinates.withoutClassMeans(ClassMeanProducts(source), labels: y)

        // Three reductions, most of the cost (about 3.5 s at N·C = 3000 on 2 cores before the null
        // vectors were taken out, 0.73 of it after; run one after the other, since two multi-threaded
        // OpenBLAS reductions at once took twice as long): every eigenvalue of Ĝ′ with each
        // eigenvector's products with the gradient probe t′ and Z; and all eigenvalues of the within
        // term and of the bulk (the reduction dominates, so the whole spectrum costs what its top would).
        var probes = Matrix(rows: reducedSize, cols: 1 + c * c)
        probes.storage.replaceSubrange(0..<reducedSize, with: coordinates.gradientProbe!)
        probes.storage.replaceSubrange(reducedSize..<(reducedSize * (1 + c * c)), with: z.storage)
        // The null vectors e_μ ⊗ √p^μ: no gradient (t·e_μ ⊗ √p^μ = 0), and their products with the basis.
        var nullProducts = Matrix(rows: n, cols: 1 + c * c)
        let basisProducts = GaussNewtonCoordinates.nullProducts(basis, probabilities: p, classes: c)
        nullProducts.storage.replaceSubrange(n..<(n * (1 + c * c)), with: basisProducts.storage)
        let spectrum = GaussNewtonCoordinates.merged(try Eigen.projections(g, onto: probes), zeros: nullProducts)
        withinSpectrum = flushingRoundOff(try coordinates.eigenvalues(of: within), order: size)
        bulkSpectrum = flushingRoundOff(try coordinates.eigenvalues(of: bulk), order: size)
        let cos2 = GaussNewtonCoordinates.cosineSquared(values: spectrum.values, projections: spectrum.projections, column: 0,
                                                        gradientNormSquared: coordinates.gradientNormSquared)
        gaussNewton = GaussNewtonSpectrum(eigenvalues: flushingRoundOff(spectrum.values, order: size), gradientCosineSquared: cos2)
        levels = (0..<size).map { i in
            ClassStructure.shares(of: (0..<(c * c)).map { spectrum.projections[i, 1 + $0] }, beta: beta, classes: c)
        }

        let traceG = g.trace, traceBetween = between.trace
        let traceClass = classMatrix.trace
        traces = Levels(classLevel: traceClass, cross: traceBetween - traceClass, within: traceG - traceBetween)
        outliers = OutlierCount(eigenvalues: spectrum.values, noiseTopEigenvalues: Array(bulkSpectrum.prefix(c)), spikeRank: c)
        largestGapIndex = ClassStructure.largestGap(spectrum.values, within: 3 * c)
        classes = c
        examples = n
    }

    /// Level shares of one eigenvector from its products r with the between-space basis.
    static func shares(of r: [Double], beta: Matrix, classes c: Int) -> Levels {
        var centres = 0.0, offDiagonal = 0.0, same = 0.0
        for a in 0..<c {
            var along = 0.0
            for cp in 0..<c {
                let v = r[a * c + cp]
                if cp == a { same += v * v } else { offDiagonal += v * v; along += beta[a * c + cp, a] * v }
            }
            centres += along * along
        }
        let cross = max(offDiagonal - centres, 0)
        return Levels(classLevel: centres + same, cross: cross, within: max(1 - centres - same - cross, 0))
    }

    /// 1-based index of the largest λ_i/λ_{i+1} over i < `within` (positive eigenvalues only; a
    /// positive eigenvalue followed by a zero one is an infinite gap).
    static func largestGap(_ values: [Double], within count: Int) -> Int {
        let floor = Double(values.count) * Double.ulpOfOne * (values.first ?? 0)
        var best = 0, bestRatio = 0.0
        for i in 0..<min(count, values.count - 1) where values[i] > floor {
            let ratio = values[i + 1] > floor ? values[i] / values[i + 1] : .infinity
            if ratio > bestRatio { (best, bestRatio) = (i + 1, ratio) }
            if ratio == .infinity { break }
        }
        return best
    }
}
