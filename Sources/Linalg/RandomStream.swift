import CNumerics

/// A seeded GSL random stream (Mersenne Twister MT19937). Streams with the same `(seed, stream)`
/// produce the same numbers; different `stream` ids give independent sub-streams of one seed,
/// so adding draws to one part of a computation never shifts the numbers of another.
///
///     let rng = RandomStream(seed: 0, stream: 1)
///     let x = rng.gaussian()
public final class RandomStream {
    private let rng: UnsafeMutablePointer<gsl_rng>

    public init(seed: UInt64, stream: UInt64 = 0) {
        cn_gsl_disable_abort()
        guard let r = gsl_rng_alloc(cn_rng_mt19937()) else { fatalError("GSL could not allocate a random stream") }
        rng = r
        // MT19937 takes a 32-bit seed in GSL; mix (seed, stream) with SplitMix64 so nearby
        // seeds and stream ids give unrelated states.
        let mixed = RandomStream.splitMix64(seed &+ RandomStream.splitMix64(stream &+ 0x9E37_79B9_7F4A_7C15))
        gsl_rng_set(rng, UInt(mixed & 0xFFFF_FFFF))
    }

    deinit { gsl_rng_free(rng) }

    /// SplitMix64 finaliser (Steele, Lea & Flood 2014): a bijective 64-bit mixer.
    static func splitMix64(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A standard normal draw (GSL's ziggurat sampler).
    public func gaussian() -> Double { gsl_ran_gaussian_ziggurat(rng, 1.0) }

    /// Fills `buffer` with standard normal draws, in order.
    public func fillGaussian(_ buffer: inout [Double]) {
        buffer.withUnsafeMutableBufferPointer { p in
            for i in p.indices { p[i] = gsl_ran_gaussian_ziggurat(rng, 1.0) }
        }
    }

    /// Writes `count` standard normal draws at `pointer`, in order.
    public func fill(_ pointer: UnsafeMutablePointer<Double>, count: Int) {
        for i in 0..<count { pointer[i] = gsl_ran_gaussian_ziggurat(rng, 1.0) }
    }

    /// A matrix of i.i.d. standard normal draws, filled column by column.
    public func gaussianMatrix(rows: Int, cols: Int) -> Matrix {
        var m = Matrix(rows: rows, cols: cols)
        fillGaussian(&m.storage)
        return m
    }

    /// A uniform draw in [0, 1).
    public func uniform() -> Double { gsl_rng_uniform(rng) }

    /// A uniform integer in 0..<n.
    public func uniformInt(_ n: Int) -> Int {
        precondition(n > 0 && n <= Int(UInt32.max), "uniformInt needs 0 < n ≤ 2³²−1")
        return Int(gsl_rng_uniform_int(rng, UInt(n)))
    }

    /// A χ² draw with `degrees` degrees of freedom (GSL's sampler).
    public func chiSquared(_ degrees: Double) -> Double { gsl_ran_chisq(rng, degrees) }
}

/// A raw pointer handed to concurrent workers that write disjoint ranges of one buffer.
public struct UnsafeSendablePointer: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<Double>
    public init(_ pointer: UnsafeMutablePointer<Double>) { self.pointer = pointer }
}
