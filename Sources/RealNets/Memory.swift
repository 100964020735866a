import Foundation
import Linalg

/// The memory a command is about to allocate, checked against what the machine has free before
/// anything is allocated or written: one estimate per part (bytes, as Double so huge sizes do not
/// overflow), one one-line error naming the flags that lower it.
public enum Memory {
    /// Bytes available for new allocations (`SystemMemory`: MemAvailable, else physical memory).
    public static func available() -> Double { SystemMemory.availableBytes }

    /// Throws a one-line error when the parts (what, bytes) together exceed 90% of the available
    /// memory: "<task> needs about X GiB (part a GiB, …) but Y GiB are available; <remedy>".
    public static func require(_ parts: [(String, Double)], for task: String, remedy: String) throws {
        let total = parts.reduce(0) { $0 + $1.1 }
        let have = available()
        guard total.isFinite && total <= SystemMemory.usableFraction * have else {
            let listed = parts.filter { $0.1 >= 0.05 * total }.map { "\($0.0) \(gib($0.1))" }.joined(separator: ", ")
            throw NetworkError.invalid("\(task) needs about \(gib(total)) (\(listed)) but \(gib(have)) are available; \(remedy)")
        }
    }

    public static func gib(_ bytes: Double) -> String {
        guard bytes.isFinite else { return "more than 2^63 bytes" }
        let g = bytes / 1_073_741_824
        return g >= 100 ? String(format: "%.3g GiB", g) : String(format: "%.2g GiB", g)
    }
}

extension Architecture {
    /// Doubles a forward and backward pass keeps per example: the input, every layer's output, the
    /// gradient at each, and a convolution's 3×3 patch matrix (im2col).
    public var activationDoublesPerExample: Double {
        var total = Double(inputs)
        for layer in layers {
            switch layer {
            case let .dense(_, _, o): total += Double(o)
            case let .conv(_, ci, co, h, w): total += Double(co) * Double(h) * Double(w) + 9 * Double(ci) * Double(h) * Double(w)
            case let .maxPool(c, h, w): total += Double(c) * Double(h / 2) * Double(w / 2)
            case .activation: break
            }
        }
        // Each layer's output also feeds an activation; gradients mirror the values.
        return 3 * total
    }
}
