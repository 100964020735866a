import Foundation
import Landscape
import Linalg

/// `--spectrum top`: eq. 16's outlier statistics from W's Bartlett factor, without forming W
/// (an O(m³) `dlauum`) or K (and its O(m³) reduction).
///
/// - K = Fᵀ·W·F is applied to blocks of vectors as F·X (block-sparse), W·Y in one pass over U
///   (`Triangular.gramTimes`), Fᵀ·Y; block Lanczos gives its top r = max(2C, signal rank + 1, k)
///   eigenpairs (k of --top-k). No eigenvalue past the signal rank L can be an outlier:
///   H = H_signal + H_noise with H_signal of rank L, so λ_{L+1}(H) ≤ λ₁(H_noise), the bulk edge
///   (Weyl). So the outlier count from the top r is exact.
/// - The noise term's top max(C, 2) eigenvalues (edge and margin) by the same method on its own F,
///   in lockstep with the first run so that each step streams U once for both (`largestTogether`).
/// - Trace(H) = tr K exactly, as Σ over F's column blocks of tr(B_eᵀ·W[R_e, R_e′]·B_e′): only W's
///   blocks where F has entries, the diagonal ones in one pass over U's columns, the others from
///   two row panels of U.
/// - The gradient's overlaps with the Ritz vectors as on the full path, gᵀu_i = (t·w_i)/√λ_i with
///   t = Fᵀ·W·v, and ‖g‖² = vᵀWv: one product each.
/// - The hyperplanes from the factor's trailing columns (W[generators, G] and W[G, G] for each
///   d-block G of hyperplane Gaussians), then exactly as on the full path.
/// - q^SLSC, q^SL, q^DL from the logit gradients' coordinates Uᵀ·S·A, read column by column of U.
///
/// Top equals full to the Lanczos tolerance on every statistic they share (`TopSpectrumTests`).
enum TopSpectrum {
    /// Ritz residual tolerance relative to λ₁. An eigenvalue's error is at most the residual and at
    /// most residual²/gap; measured at the paper's configuration, every shared statistic agrees with
    /// the full path to ≤ 5e-12 relative.
    static let tolerance = 1e-9
    /// Vectors a block, for both runs (the noise run's block is wider than its count). Each step
    /// streams U once for both runs' blocks (`largestTogether`, `Triangular.gramTimes`), so a
    /// narrow block is bound by that pass and a wide one by the arithmetic of its extra vectors.
    /// Measured with both runs in lockstep (top 20 and noise top 10, vectors applied and time):
    /// at m = 10010, b = 8 took 336 + 352 vectors in 4.3 s of Lanczos, b = 16 432 + 448 in 4.2 s,
    /// b = 24 504 + 552 in 3.8 s, b = 32 in 4.1 s; at m = 3010, b = 8 and b = 24 both about 0.28 s.
    static let blockSize = 24
    /// Basis capacity in blocks (thick restart when full): 12 blocks needed fewer steps than 8 and
    /// no more than 20 at m = 10010.
    static let basisBlocks = 12

    static func measure(_ model: GramModel) throws -> ModelMeasurement {
        let config = model.configuration
        guard let w = model.factor else { preconditionFailure("the top path needs the Bartlett factor") }
        let (c, d, planes) = (config.classes, config.hyperplaneDimension, config.hyperplanes)
        let m = model.generators
        let n = w.order
        let (f, signalColumns, signalRank) = try model.mixing()
        let rank = model.rankBound(f, signalColumns: signalColumns, signalRank: signalRank)
        // The gradient power needs the top k = --top-k pairs too.
        let r = min(f.cols, rank, max(2 * c, signalRank + 1, config.gradientPowerK))
        let fe = try model.noiseMixing()
        let runs = try largestTogether([(f, r, config.seed), (fe, min(max(c, 2), fe.cols), config.seed &+ 1)], w)
        let (top, noise) = (runs[0], runs[1].values)

        var v = Matrix(rows: n, cols: 1)
        let coefficients = model.gradientCoefficients
        v.storage.replaceSubrange(0..<m, with: coefficients)
        let wv = w.times(v)
        let t = f.transposeTimes(wv)
        let tw = BLAS.multiply(top.vectors, transposeA: true, t)
        let floor = Double(f.cols) * Double.ulpOfOne * (top.values.first ?? 0)
        let projections = (0..<r).map { i in top.values[i] > floor ? tw.storage[i] / top.values[i].squareRoot() : 0 }

        let projected = try (0..<planes).map { p -> Matrix in
            let g = (m + p * d)..<(m + (p + 1) * d)
            let z = f.transposeTimes(w.entries(rows: 0..<m, cols: g))
            return BLAS.gram(Triangular.solveRight(z, upper: try Triangular.cholesky(w.entries(rows: g, cols: g))))
        }
        var result = try ModelSimulation.assemble(
            config, mode: .gram, logits: model.logits, clustering: pairSums(model, w),
            eigenvalues: top.values, projections: projections,
            gradientNormSquared: BLAS.dot(coefficients, Array(wv.storage.prefix(m))), noiseTop: noise,
            trace: trace(f, w), hyperplanes: projected, signalGram: model.signalGram, logitGradientGram: nil)
        result.spectrum = .top
        result.zeroEigenvalues = config.dimension - rank
        return result
    }

    /// Top eigenpairs of several Fᵀ·W·F with one W, by block Lanczos runs in lockstep: each step
    /// applies W to every unfinished run's F·X side by side, so U is streamed once for all. A run's
    /// numbers depend on the blocks beside it only through the BLAS's blocking of the wider product
    /// (the same for the same configuration, so seeded runs repeat bit for bit).
    static func largestTogether(_ problems: [(f: BlockFactor, count: Int, seed: UInt64)], _ w: GramFactor) throws -> [BlockLanczos.Result] {
        let runs = try problems.map { p in
            let b = blockSize
            return try BlockLanczos.Iteration(dimension: p.f.cols, count: p.count, blockSize: b, basisSize: max(2 * p.count + 2 * b, basisBlocks * b),
                                              tolerance: tolerance, maxApplications: max(100 * p.count, 5000), seed: p.seed)
        }
        return try BlockLanczos.largestTogether(runs) { blocks in
            let mixed = zip(problems, blocks).compactMap { p, x in x.map { p.f.times($0, height: w.order) } }
            let product = w.times(Matrix(sideBySide: mixed))
            var offset = 0
            return zip(problems, blocks).map { p, x in
                x.map { x in
                    defer { offset += x.cols }
                    return p.f.transposeTimes(product.columns(offset..<(offset + x.cols)))
                }
            }
        }
    }

    /// tr(Fᵀ·W·F) from W's blocks on F's support: Σ over column blocks of tr(B_eᵀ·W[R_e, R_e′]·B_e′).
    static func trace(_ f: BlockFactor, _ w: GramFactor) -> Double {
        let rb = f.rowBlockSize
        var byColumn = [Int: [BlockFactor.Entry]]()
        for e in f.entries { byColumn[e.col, default: []].append(e) }
        // Every diagonal block in one pass over U's columns; the few others from row panels.
        let diagonal = Set(f.entries.map(\.row)).sorted()
        var cache = [Int: Matrix]()
        for (a, w) in w.diagonalBlocks(diagonal, size: rb) { cache[a * f.rowBlocks + a] = w }
        func block(_ a: Int, _ b: Int) -> Matrix {
            let key = a * f.rowBlocks + b
            if let hit = cache[key] { return hit }
            let value = w.entries(rows: (a * rb)..<((a + 1) * rb), cols: (b * rb)..<((b + 1) * rb))
            cache[key] = value
            return value
        }
        var total = 0.0
        for column in byColumn.keys.sorted() {
            let entries = byColumn[column]!
            for e in entries {
                for e2 in entries {
                    let product = BLAS.multiply(e.block, transposeA: true, BLAS.multiply(block(e.row, e2.row), e2.block))
                    total += product.trace
                }
            }
        }
        return total
    }

    /// The clustering's sufficient statistics from the logit gradients' coordinates x = Uᵀ·S·a
    /// (inner products those of the D-vectors), two passes over U's columns in chunks on all cores:
    /// the norms, then the sums of unit vectors. Nothing of size N·C·m is held.
    static func pairSums(_ model: GramModel, _ w: GramFactor) -> LogitGradientPairSums {
        let config = model.configuration
        let (c, examples) = (config.classes, config.examples)
        let labels = model.logits.labels
        let (terms, width) = model.termTable()
        let weights = terms.map { $0 >= 0 ? 1.0 : 0 }
        let count = examples * c
        let chunks = w.coordinateChunks
        final class Partial: @unchecked Sendable { var values: [[Double]]; init(_ n: Int) { values = Array(repeating: [], count: n) } }
        let squares = Partial(chunks.count)
        DispatchQueue.concurrentPerform(iterations: chunks.count) { index in
            let x = w.coordinates(terms: terms, width: width, weights: weights, columns: chunks[index])
            var norms = [Double](repeating: 0, count: count)
            norms.withUnsafeMutableBufferPointer { norms in
                x.storage.withUnsafeBufferPointer { x in
                    for j in 0..<(x.count / count) { for i in 0..<count { let v = x[i + j * count]; norms[i] += v * v } }
                }
            }
            squares.values[index] = norms
        }
        var norms = [Double](repeating: 0, count: count)
        for part in squares.values { for i in 0..<count { norms[i] += part[i] } }
        let inverse = norms.map { $0 > 0 ? 1 / $0.squareRoot() : 0 }
        // Per chunk: the group sums' coordinates (C² rows), the self sums and the same-example cross terms.
        let sums = Partial(chunks.count)
        DispatchQueue.concurrentPerform(iterations: chunks.count) { index in
            let x = w.coordinates(terms: terms, width: width, weights: weights, columns: chunks[index])
            var out = [Double](repeating: 0, count: c * c * x.cols + c * c + 1)
            let selfBase = c * c * x.cols
            out.withUnsafeMutableBufferPointer { out in
                x.storage.withUnsafeBufferPointer { x in
                    inverse.withUnsafeBufferPointer { inverse in
                        labels.withUnsafeBufferPointer { labels in
                            let selfSums = out.baseAddress! + selfBase
                            for j in 0..<(x.count / count) {
                                let column = x.baseAddress! + j * count
                                let groups = out.baseAddress! + j * c * c
                                for mu in 0..<examples {
                                    var sum = 0.0, sq = 0.0
                                    let label = labels[mu]
                                    for k in 0..<c {
                                        let u = column[mu * c + k] * inverse[mu * c + k]
                                        groups[k * c + label] += u
                                        selfSums[k * c + label] += u * u
                                        sum += u
                                        sq += u * u
                                    }
                                    selfSums[c * c] += sum * sum - sq
                                }
                            }
                        }
                    }
                }
            }
            sums.values[index] = out
        }
        var groups = Matrix(rows: c * c, cols: w.order)
        var selfSums = [Double](repeating: 0, count: c * c)
        var cross = 0.0
        for (index, range) in chunks.enumerated() {
            let part = sums.values[index]
            let selfBase = c * c * range.count
            groups.storage.replaceSubrange((range.lowerBound * c * c)..<(range.upperBound * c * c), with: part[0..<selfBase])
            for g in 0..<(c * c) { selfSums[g] += part[selfBase + g] }
            cross += part[selfBase + c * c]
        }
        return LogitGradientPairSums(classes: c, classCounts: (0..<c).map { a in labels.reduce(0) { $0 + ($1 == a ? 1 : 0) } },
                                     blockSums: BLAS.gram(groups, transpose: false), sameExampleCross: cross, selfSums: selfSums)
    }
}
