import Foundation
import Linalg

/// What rows of one grid may share under common random numbers, kept between rows: each seed's
/// Bartlett factor U or its product Ŵ = U·Uᵀ (the same at every grid point: σ's only rescale
/// W = S·Ŵ·S), and each noise term's reduction for the bordered phase engine (the same at every
/// SNR of a σ_z: σ_c touches only the signal rows). A hit returns exactly the numbers a
/// recomputation would (same draw), so rows do not depend on which rows ran before them: resumed
/// and sharded tables stay byte for byte equal to a single run. (`--spectrum top` computes the
/// noise term's top in lockstep with the Hessian's, one pass over U for both, so it keeps none.)
///
/// Entries are dropped least recently used first once their bytes pass `budgetBytes`
/// (default ¼ of the memory budget, `SystemMemory.budgetBytes`).
public final class DrawReuse: @unchecked Sendable {
    struct FactorKey: Hashable { let seed: UInt64; let order: Int; let dimension: Int; var formed = false }
    private let lock = NSLock()
    private var factors = Recent<FactorKey, Matrix>(bytes: { 8 * Double($0.storage.count) })
    private var reductions = Recent<ModelConfiguration, NoiseReduction>(bytes: { $0.bytes })
    private var decisions: [(key: ModelConfiguration, value: Bool)] = []
    public let budgetBytes: Double
    /// Hits and misses of the caches, for benchmarks and tests.
    public var factorHits: Int { lock.withLock { factors.hits } }
    public var factorMisses: Int { lock.withLock { factors.misses } }
    public var reductionHits: Int { lock.withLock { reductions.hits } }

    public init(budgetBytes: Double = SystemMemory.budgetBytes / 4) { self.budgetBytes = budgetBytes }

    /// U for `config`, drawn on a miss.
    func bartlettFactor(_ config: ModelConfiguration, order: Int) -> Matrix {
        cached(\.factors, FactorKey(seed: config.seed, order: order, dimension: config.dimension)) {
            Wishart.bartlettFactor(order: order, degreesOfFreedom: Double(config.dimension), stream: GramModel.wishartStream(config))
        }
    }

    /// Ŵ = U·Uᵀ for `config` (`Wishart.bartlett`, the full path's unscaled W), formed on a miss.
    func bartlettGram(_ config: ModelConfiguration, order: Int) throws -> Matrix {
        try cached(\.factors, FactorKey(seed: config.seed, order: order, dimension: config.dimension, formed: true)) {
            try Wishart.bartlett(order: order, degreesOfFreedom: Double(config.dimension), stream: GramModel.wishartStream(config))
        }
    }

    /// The noise term's reduction for `config` (`NoiseReduction`), computed by `compute` on a miss,
    /// under the configuration with the signal's scales blanked (`noiseKey`).
    func noiseReduction(_ config: ModelConfiguration, compute: () throws -> NoiseReduction) rethrows -> NoiseReduction {
        try cached(\.reductions, DrawReuse.noiseKey(config), compute: compute)
    }

    /// A decision about `key` made once by `decide` and remembered (e.g. which engine a grid's rows
    /// take), so every row of the grid gets the same answer.
    func decision(_ key: ModelConfiguration, decide: () -> Bool) -> Bool {
        lock.withLock {
            if let hit = decisions.first(where: { $0.key == key }) { return hit.value }
            let value = decide()
            decisions.append((key, value))
            return value
        }
    }

    /// The configuration with the signal's scales (σ_c, class lengths) blanked: they do not enter the noise term.
    static func noiseKey(_ config: ModelConfiguration) -> ModelConfiguration {
        var key = config
        (key.sigmaC, key.lengthSpread, key.classLengths) = (0, 0, nil)
        return key
    }

    /// The value under `key` in one of the stores, or `compute`'s (run outside the lock) on a miss.
    private func cached<Key, Value>(_ store: ReferenceWritableKeyPath<DrawReuse, Recent<Key, Value>>, _ key: Key,
                                    compute: () throws -> Value) rethrows -> Value {
        if let hit = lock.withLock({ self[keyPath: store].hit(key) }) { return hit }
        let value = try compute()
        lock.withLock { self[keyPath: store].insert(key, value, budget: budgetBytes) }
        return value
    }
}

/// Entries kept most recently used last; once their bytes pass the budget the oldest are dropped
/// (the newest is always kept).
private struct Recent<Key: Equatable, Value> {
    var entries: [(key: Key, value: Value)] = []
    let bytes: (Value) -> Double
    var hits = 0, misses = 0

    init(bytes: @escaping (Value) -> Double) { self.bytes = bytes }

    mutating func hit(_ key: Key) -> Value? {
        guard let i = entries.firstIndex(where: { $0.key == key }) else { misses += 1; return nil }
        let entry = entries.remove(at: i)
        entries.append(entry)
        hits += 1
        return entry.value
    }

    mutating func insert(_ key: Key, _ value: Value, budget: Double) {
        entries.append((key, value))
        var total = entries.reduce(0.0) { $0 + bytes($1.value) }
        while entries.count > 1 && total > budget { total -= bytes(entries.removeFirst().value) }
    }
}
