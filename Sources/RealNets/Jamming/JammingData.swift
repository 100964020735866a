import Foundation
import Linalg

/// The two kinds of training set of Geiger et al.'s jamming study.
public enum JammingDataKind: String, Sendable, CaseIterable {
    /// x ~ N(0, I_d), centred and projected to the sphere of radius √d, balanced random ±1 labels.
    case random
    /// Fashion-MNIST on its first d principal components, whitened, projected to the same sphere,
    /// labelled by the parity of the class (the paper does this with MNIST).
    case fashionMNISTPCA = "fashion-mnist-pca"
}

/// The recipe of one jamming training set — kind, input dimension d, number of patterns P, seed
/// and (for the PCA data) the image folder — which rebuilds it exactly. It travels in the metadata
/// of every checkpoint `jamming` writes, so `jamming-spectrum` needs nothing but the checkpoint.
public struct JammingDataSpec: Sendable, Equatable {
    public var kind: JammingDataKind
    public var dimension: Int
    public var examples: Int
    public var seed: UInt64
    /// Folder of the Fashion-MNIST IDX files whose train split the PCA is computed on (PCA data only).
    public var source: String?

    public init(kind: JammingDataKind, dimension: Int, examples: Int, seed: UInt64, source: String? = nil) {
        self.kind = kind
        self.dimension = dimension
        self.examples = examples
        self.seed = seed
        self.source = source
    }

    /// Checkpoint metadata entries (all strings).
    public var metadata: [String: String] {
        var m = ["jamming_data": kind.rawValue, "jamming_dimension": String(dimension), "jamming_examples": String(examples),
                 "jamming_seed": String(seed)]
        if let source { m["jamming_source"] = source }
        if kind == .fashionMNISTPCA {
            m["jamming_pca"] = "train split, covariance eigenvectors (LAPACK dsyevr), top \(dimension) components, whitened, rescaled to norm √d; labels class mod 2"
        }
        return m
    }

    /// Reads the recipe back from checkpoint metadata; nil if the checkpoint has none (it was not
    /// written by `jamming`); throws if the entries are there but unreadable.
    public init?(metadata m: [String: String], path: String) throws {
        guard let kindName = m["jamming_data"] else { return nil }
        guard let kind = JammingDataKind(rawValue: kindName), let d = m["jamming_dimension"].flatMap(Int.init), d >= 1,
              let p = m["jamming_examples"].flatMap(Int.init), p >= 1, let seed = m["jamming_seed"].flatMap(UInt64.init) else {
            throw NetworkError.invalid("checkpoint \(path) has jamming data metadata that cannot be read (jamming_data, jamming_dimension, jamming_examples, jamming_seed); the file is corrupt")
        }
        self.init(kind: kind, dimension: d, examples: p, seed: seed, source: m["jamming_source"])
    }
}

/// Builds jamming training sets. Labels are classes 0/1, read by the binary losses as y = −1/+1
/// (`Loss.sign(ofLabel:)`).
public enum JammingData {
    /// P points x ~ N(0, I_d), centred on their sample mean (when P ≥ 2) and each rescaled to norm
    /// √d; labels balanced (⌊P/2⌋ of class 0, the rest class 1) in a seeded random order that is
    /// independent of the points, so the task can only be solved by memorisation.
    public static func random(examples p: Int, dimension d: Int, seed: UInt64) throws -> Dataset {
        guard p >= 1, d >= 1 else {
            throw DataError.invalidArgument("random jamming data needs P ≥ 1 patterns in d ≥ 1 dimensions (got P = \(p), d = \(d))")
        }
        var x = RandomStream(seed: seed, stream: 301).gaussianMatrix(rows: d, cols: p)
        if p >= 2 { centre(&x) }
        try projectToSphere(&x)
        var labels = (0..<p).map { $0 < p / 2 ? 0 : 1 }
        let order = RandomStream(seed: seed, stream: 302)
        for i in stride(from: p - 1, to: 0, by: -1) { labels.swapAt(i, order.uniformInt(i + 1)) }
        return Dataset(inputs: x, labels: labels, classes: 2)
    }

    /// Subtracts the mean column from every column.
    static func centre(_ x: inout Matrix) {
        let (d, p) = (x.rows, x.cols)
        var mean = [Double](repeating: 0, count: d)
        for j in 0..<p { for i in 0..<d { mean[i] += x.storage[i + j * d] } }
        for i in 0..<d { mean[i] /= Double(p) }
        for j in 0..<p { for i in 0..<d { x.storage[i + j * d] -= mean[i] } }
    }

    /// Rescales every column to norm √d (the rows); a zero column cannot be, and is refused.
    static func projectToSphere(_ x: inout Matrix) throws {
        let (d, p) = (x.rows, x.cols)
        let radius = Double(d).squareRoot()
        for j in 0..<p {
            var norm = 0.0
            for i in 0..<d { norm += x.storage[i + j * d] * x.storage[i + j * d] }
            norm = norm.squareRoot()
            guard norm > 0 else {
                throw DataError.invalidArgument("pattern \(j) is the zero vector and cannot be put on the sphere; choose another seed or dimension")
            }
            for i in 0..<d { x.storage[i + j * d] *= radius / norm }
        }
    }

    /// P examples drawn without replacement from `pool` (a partial Fisher–Yates shuffle seeded by
    /// `seed`), in the order drawn.
    public static func sample(_ pool: Dataset, examples p: Int, seed: UInt64) throws -> Dataset {
        guard p >= 1, p <= pool.count else {
            throw DataError.invalidArgument("asked for P = \(p) patterns but the pool holds \(pool.count); give 1 to \(pool.count)")
        }
        var order = Array(0..<pool.count)
        let rng = RandomStream(seed: seed, stream: 303)
        for i in 0..<p { order.swapAt(i, i + rng.uniformInt(pool.count - i)) }
        let (x, y) = pool.batch(Array(order[0..<p]))
        return Dataset(inputs: x, labels: y, classes: pool.classes)
    }
}

/// Principal components of a set of images: the mean, the top d eigenvectors of the covariance
/// (LAPACK `dsyevr` on (1/M)·Σ(x − x̄)(x − x̄)ᵀ) and their variances.
public struct PrincipalComponents: Sendable {
    public let mean: [Double]
    /// features × d, orthonormal columns, each signed so that its largest-magnitude entry is positive
    /// (LAPACK's signs are arbitrary; this makes the projection reproducible).
    public let components: Matrix
    /// The variances along the components (the covariance's top d eigenvalues), descending.
    public let variances: [Double]

    /// The top `dimension` components of the columns of `x` (features × M).
    public init(_ x: Matrix, dimension d: Int) throws {
        let (f, m) = (x.rows, x.cols)
        guard d >= 1, d <= f, m >= 2 else {
            throw DataError.invalidArgument("PCA to d = \(d) components needs 1 ≤ d ≤ \(f) features and at least 2 images (have \(m))")
        }
        var centred = x
        var mean = [Double](repeating: 0, count: f)
        for j in 0..<m { for i in 0..<f { mean[i] += x.storage[i + j * f] } }
        for i in 0..<f { mean[i] /= Double(m) }
        for j in 0..<m { for i in 0..<f { centred.storage[i + j * f] -= mean[i] } }
        let covariance = BLAS.gram(centred, transpose: false, alpha: 1 / Double(m))
        let eigen = try Eigen.symmetric(covariance, vectors: true, largest: d)
        var v = eigen.vectors!
        for j in 0..<d {
            var largest = 0
            for i in 0..<f where abs(v[i, j]) > abs(v[largest, j]) { largest = i }
            if v[largest, j] < 0 { for i in 0..<f { v[i, j] = -v[i, j] } }
        }
        guard eigen.values.count == d, let smallest = eigen.values.last, smallest > 0 else {
            throw DataError.invalidArgument("the images have only \(eigen.values.filter { $0 > 0 }.count) directions of nonzero variance, fewer than d = \(d); lower --input-dimension")
        }
        self.mean = mean
        components = v
        variances = eigen.values
    }

    /// The whitened coordinates (d × M): component k of image j is v_kᵀ(x_j − x̄)/√variance_k.
    public func whiten(_ x: Matrix) -> Matrix {
        var centred = x
        let f = x.rows
        for j in 0..<x.cols { for i in 0..<f { centred.storage[i + j * f] -= mean[i] } }
        var z = BLAS.multiply(components, transposeA: true, centred)
        for j in 0..<z.cols { for k in 0..<z.rows { z[k, j] /= variances[k].squareRoot() } }
        return z
    }
}

/// Where a jamming grid draws its training sets from: random data (nothing to load) or the
/// Fashion-MNIST train split projected once on its principal components, from which each run
/// samples its P patterns by seed.
public final class JammingDataSource: @unchecked Sendable {
    public let kind: JammingDataKind
    public let dimension: Int
    /// The image folder (PCA data only).
    public let source: URL?
    /// Every image of the train split, whitened, on the sphere, with parity labels (PCA data only).
    public let pool: Dataset?

    /// Prepares the source; for the PCA data this reads the images and computes the projection
    /// (a few seconds for the 60 000 images of Fashion-MNIST).
    public init(kind: JammingDataKind, dimension d: Int, folder: URL? = nil) throws {
        guard d >= 1 else { throw DataError.invalidArgument("the input dimension d is \(d); give at least 1") }
        self.kind = kind
        dimension = d
        switch kind {
        case .random:
            source = nil
            pool = nil
        case .fashionMNISTPCA:
            let folder = folder ?? IDX.debianFashionMNIST
            let images = try IDX.load(folder: folder, split: .train)
            guard d <= images.features else {
                throw DataError.invalidArgument("d = \(d) principal components (--input-dimension) is more than the \(images.features) pixels of the images; give at most \(images.features)")
            }
            let pca = try PrincipalComponents(images.inputs, dimension: d)
            var z = pca.whiten(images.inputs)
            try JammingData.projectToSphere(&z)
            source = folder
            pool = Dataset(inputs: z, labels: images.labels.map { $0 % 2 }, classes: 2)
        }
    }

    /// The largest P this source can give (the number of images for the PCA data).
    public var capacity: Int { pool?.count ?? Int.max }

    /// The recipe of the set with P patterns and this seed.
    public func spec(examples p: Int, seed: UInt64) -> JammingDataSpec {
        JammingDataSpec(kind: kind, dimension: dimension, examples: p, seed: seed, source: source?.path)
    }

    /// The training set with P patterns for this seed.
    public func dataset(examples p: Int, seed: UInt64) throws -> Dataset {
        switch kind {
        case .random: return try JammingData.random(examples: p, dimension: dimension, seed: seed)
        case .fashionMNISTPCA: return try JammingData.sample(pool!, examples: p, seed: seed)
        }
    }
}
