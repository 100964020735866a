import Foundation
import Linalg

/// Why a data file or data request was rejected; the message says what is wrong and what to do.
public enum DataError: Error, Equatable, CustomStringConvertible, LocalizedError {
    /// A file or folder does not exist.
    case notFound(String)
    /// A file exists but its contents are not what the format requires.
    case malformed(String)
    /// A request (subset, balance, synthetic size) cannot be satisfied.
    case invalidArgument(String)

    public var description: String {
        switch self {
        case let .notFound(m), let .malformed(m), let .invalidArgument(m): return m
        }
    }

    public var errorDescription: String? { description }
}

/// Which half of a dataset with a fixed train/test split to read.
public enum DataSplit: String, Sendable, CaseIterable {
    case train, test
}

/// The (channels, height, width) layout of each input column when the inputs are images,
/// so convolutional networks know how to reshape a column.
public struct ImageShape: Sendable, Hashable, CustomStringConvertible {
    public let channels: Int
    public let height: Int
    public let width: Int

    public init(channels: Int, height: Int, width: Int) {
        self.channels = channels
        self.height = height
        self.width = width
    }

    /// Number of values in one image, channels × height × width.
    public var size: Int { channels * height * width }

    public var description: String { "\(channels)×\(height)×\(width)" }
}

/// A labelled classification set held in memory: one column of `inputs` per example,
/// the layout the networks in this module consume. A regression set (e.g. `CurveFit`) also carries
/// real-valued `targets`; its labels are then all 0 of one class, kept so every API that takes
/// labels still works, and losses that fit targets (`Loss.meanSquared`) read `targets` instead.
public struct Dataset: Sendable, Equatable {
    /// features × N, column j is example j.
    public let inputs: Matrix
    /// Label of each example, in 0..<classes.
    public let labels: [Int]
    /// Number of classes C (labels lie in 0..<C; a class may be absent).
    public let classes: Int
    /// Image layout of a column, or nil for non-image data.
    public let imageShape: ImageShape?
    /// Real-valued targets (outputs × N, column j for example j) of a regression set; nil for a classification set.
    public let targets: Matrix?

    /// A dataset over existing inputs; the counts and label range must agree (a programming error otherwise).
    public init(inputs: Matrix, labels: [Int], classes: Int, imageShape: ImageShape? = nil, targets: Matrix? = nil) {
        precondition(inputs.cols == labels.count, "\(inputs.cols) input columns but \(labels.count) labels")
        precondition(classes >= 1 && labels.allSatisfy { (0..<classes).contains($0) }, "labels must lie in 0..<\(classes)")
        precondition(imageShape.map { $0.size == inputs.rows } ?? true, "image shape does not match the feature count")
        precondition(targets.map { $0.cols == labels.count && $0.rows >= 1 } ?? true, "one target column per example")
        self.inputs = inputs
        self.labels = labels
        self.classes = classes
        self.imageShape = imageShape
        self.targets = targets
    }

    /// Whether the set is a regression set (it carries real-valued targets).
    public var isRegression: Bool { targets != nil }

    /// Number of examples N.
    public var count: Int { labels.count }

    /// Number of features per example (rows of `inputs`).
    public var features: Int { inputs.rows }

    /// How many examples each class has, indexed by class.
    public var classCounts: [Int] {
        var counts = [Int](repeating: 0, count: classes)
        for y in labels { counts[y] += 1 }
        return counts
    }

    /// The examples of the given classes (in original order), relabelled 0…k−1 in the order the
    /// classes are listed, e.g. `subset(classes: [3, 5])` makes a binary task with 3 → 0 and 5 → 1.
    public func subset(classes wanted: [Int]) throws -> Dataset {
        guard !wanted.isEmpty else { throw DataError.invalidArgument("a class subset must list at least one class") }
        var newLabel = [Int](repeating: -1, count: classes)
        for (k, c) in wanted.enumerated() {
            guard (0..<classes).contains(c) else {
                throw DataError.invalidArgument("class \(c) is outside 0…\(classes - 1); choose classes of this \(classes)-class dataset")
            }
            guard newLabel[c] < 0 else { throw DataError.invalidArgument("class \(c) is listed twice; list each class once") }
            newLabel[c] = k
        }
        let kept = labels.indices.filter { newLabel[labels[$0]] >= 0 }
        let (x, y) = batch(kept)
        return Dataset(inputs: x, labels: y.map { newLabel[$0] }, classes: wanted.count, imageShape: imageShape,
                       targets: targetBatch(kept))
    }

    /// The first `n` examples of every class (in file order), kept in their original order, so
    /// every class is equally represented and the choice is reproducible without a seed.
    public func balanced(perClass n: Int) throws -> Dataset {
        guard n >= 1 else { throw DataError.invalidArgument("examples per class must be at least 1, not \(n)") }
        let counts = classCounts
        if let short = counts.indices.first(where: { counts[$0] < n }) {
            throw DataError.invalidArgument(
                "class \(short) has only \(counts[short]) examples, fewer than the \(n) per class asked for; ask for at most \(counts.min()!) per class or take a class subset first")
        }
        let kept = Dataset.firstIndices(of: labels, classes: classes, perClass: n)
        let (x, y) = batch(kept)
        return Dataset(inputs: x, labels: y, classes: classes, imageShape: imageShape, targets: targetBatch(kept))
    }

    /// The indices of the first n examples of each class in `labels`, in order (all of a class with fewer).
    public static func firstIndices(of labels: [Int], classes: Int, perClass n: Int) -> [Int] {
        var taken = [Int](repeating: 0, count: classes)
        var kept: [Int] = []
        kept.reserveCapacity(n * classes)
        for (j, y) in labels.enumerated() where taken[y] < n {
            taken[y] += 1
            kept.append(j)
        }
        return kept
    }

    /// The targets (outputs × indices.count) of the listed examples, in the order listed; nil for a classification set.
    public func targetBatch(_ indices: [Int]) -> Matrix? {
        guard let t = targets else { return nil }
        var out = Matrix(rows: t.rows, cols: indices.count)
        for (k, j) in indices.enumerated() {
            precondition(j >= 0 && j < count, "example index \(j) outside 0..<\(count)")
            for i in 0..<t.rows { out.storage[i + k * t.rows] = t.storage[i + j * t.rows] }
        }
        return out
    }

    /// The inputs (features × indices.count) and labels of the listed examples, in the order listed.
    public func batch(_ indices: [Int]) -> (Matrix, [Int]) {
        let d = inputs.rows
        var x = Matrix(rows: d, cols: indices.count)
        var y = [Int](repeating: 0, count: indices.count)
        inputs.storage.withUnsafeBufferPointer { src in
            x.storage.withUnsafeMutableBufferPointer { dst in
                for (k, j) in indices.enumerated() {
                    precondition(j >= 0 && j < count, "example index \(j) outside 0..<\(count)")
                    for i in 0..<d { dst[i + k * d] = src[i + j * d] }
                    y[k] = labels[j]
                }
            }
        }
        return (x, y)
    }
}
