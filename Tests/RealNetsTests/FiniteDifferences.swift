import Linalg
import RealNets

/// What the finite-difference tests share: a seeded Gaussian direction in parameter space and the
/// network moved along it.
enum FiniteDifferences {
    /// A standard-normal vector of length d from `seed` (stream 7).
    static func direction(_ d: Int, seed: UInt64) -> [Double] {
        var v = [Double](repeating: 0, count: d)
        RandomStream(seed: seed, stream: 7).fillGaussian(&v)
        return v
    }

    /// The network with parameters θ + h·v.
    static func shifted(_ net: Network, _ v: [Double], _ h: Double) -> Network {
        var n = net
        for i in n.parameters.indices { n.parameters[i] += h * v[i] }
        return n
    }
}
