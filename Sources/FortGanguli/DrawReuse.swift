import Foundation
import Linalg

/// What rows of one grid may share under common random numbers, kept between rows: each seed's
/// Bartlett factor U (the same at every grid point: σ's only rescale W = S·U·Uᵀ·S), and each noise
/// term's top eigenvalues under `--spectrum top` (the same at every SNR of a σ_z: σ_c touches only
/// the signal rows). A hit returns exactly the numbers a recomputation would (same draw, same
/// seeded Lanczos), so rows do not depend on which rows ran before them: resumed and sharded
/// tables stay byte for byte equal to a single run.
///
/// Entries are dropped least recently used first once their bytes pass `budgetBytes`
/// (default ¼ of the memory budget, `SystemMemory.budgetBytes`).
public final class DrawReuse: @unchecked Sendable {
    struct FactorKey: Hashable { let seed: UInt64; let order: Int; let dimension: Int }
    private let lock = NSLock()
    private var factors: [(key: FactorKey, upper: Matrix)] = []
    private var noise: [(key: ModelConfiguration, values: [Double])] = []
    public let budgetBytes: Double
    /// Hits and misses of the factor cache, for benchmarks and tests.
    public private(set) var factorHits = 0, factorMisses = 0, noiseHits = 0

    public init(budgetBytes: Double = SystemMemory.budgetBytes / 4) { self.budgetBytes = budgetBytes }

    /// U for `config`, drawn on a miss.
    func bartlettFactor(_ config: ModelConfiguration, order: Int) -> Matrix {
        let key = FactorKey(seed: config.seed, order: order, dimension: config.dimension)
        lock.lock()
        if let i = factors.firstIndex(where: { $0.key == key }) {
            let hit = factors.remove(at: i)
            factors.append(hit)
            factorHits += 1
            lock.unlock()
            return hit.upper
        }
        factorMisses += 1
        lock.unlock()
        let u = Wishart.bartlettFactor(order: order, degreesOfFreedom: Double(config.dimension), stream: GramModel.wishartStream(config))
        lock.lock()
        factors.append((key, u))
        var bytes = factors.reduce(0.0) { $0 + 8 * Double($1.upper.storage.count) }
        while factors.count > 1 && bytes > budgetBytes {
            bytes -= 8 * Double(factors.removeFirst().upper.storage.count)
        }
        lock.unlock()
        return u
    }

    /// The noise term's top eigenvalues for `config`, computed by `compute` on a miss. The key is the
    /// configuration with the signal's scales (σ_c, class lengths) blanked: they do not enter the noise term.
    func noiseTop(_ config: ModelConfiguration, compute: () throws -> [Double]) rethrows -> [Double] {
        var key = config
        (key.sigmaC, key.lengthSpread, key.classLengths) = (0, 0, nil)
        lock.lock()
        if let hit = noise.first(where: { $0.key == key }) { noiseHits += 1; lock.unlock(); return hit.values }
        lock.unlock()
        let values = try compute()
        lock.lock()
        noise.append((key, values))
        if noise.count > 4096 { noise.removeFirst() }
        lock.unlock()
        return values
    }
}
