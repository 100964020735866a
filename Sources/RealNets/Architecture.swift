import Foundation

/// The nonlinearity between layers.
public enum Activation: String, Codable, Sendable, CaseIterable {
    case relu, tanh

    @inlinable func value(_ x: Double) -> Double { self == .relu ? max(x, 0) : Foundation.tanh(x) }
    @inlinable func slope(_ x: Double) -> Double {
        switch self {
        case .relu: return x > 0 ? 1 : 0
        case .tanh: let t = Foundation.tanh(x); return 1 - t * t
        }
    }
    @inlinable func curvature(_ x: Double) -> Double {
        switch self {
        case .relu: return 0
        case .tanh: let t = Foundation.tanh(x); return -2 * t * (1 - t * t)
        }
    }
}

/// One layer of a network, in order. Shapes follow PyTorch: a dense layer's weight is [out, in],
/// a convolution's [out, in, 3, 3] (stride 1, padding 1), images are channel-major (C, H, W).
public enum Layer: Equatable, Sendable {
    case dense(name: String, inputs: Int, outputs: Int)
    case conv(name: String, inChannels: Int, outChannels: Int, height: Int, width: Int)
    case activation(Activation)
    /// 2×2 max pooling, stride 2, on (channels, height, width); odd sizes drop the last row/column.
    case maxPool(channels: Int, height: Int, width: Int)

    /// (name, shape) of each parameter tensor, weight before bias.
    var parameterShapes: [(String, [Int])] {
        switch self {
        case let .dense(name, i, o): return [("\(name).weight", [o, i]), ("\(name).bias", [o])]
        case let .conv(name, ci, co, _, _): return [("\(name).weight", [co, ci, 3, 3]), ("\(name).bias", [co])]
        default: return []
        }
    }

    var parameterCount: Int { parameterShapes.reduce(0) { $0 + $1.1.reduce(1, *) } }

    var outputSize: Int? {
        switch self {
        case let .dense(_, _, o): return o
        case let .conv(_, _, co, h, w): return co * h * w
        case let .maxPool(c, h, w): return c * (h / 2) * (w / 2)
        case .activation: return nil
        }
    }
}

/// A network's architecture: a fully connected net of any widths, or a small CNN for square images.
public struct Architecture: Equatable, Sendable {
    public enum Kind: String, Codable, Sendable { case mlp, cnn }
    public let kind: Kind
    public let activation: Activation
    public let layers: [Layer]
    /// Input size and (for the CNN) its image shape.
    public let inputs: Int
    public let classes: Int
    /// The description that rebuilds it (stored in checkpoints).
    public let spec: [String: String]

    /// widths = [input, hidden…, classes], e.g. [784, 256, 256, 10].
    public static func mlp(widths: [Int], activation: Activation) throws -> Architecture {
        guard widths.count >= 2, widths.allSatisfy({ $0 >= 1 }) else {
            throw NetworkError.invalid("--widths must list at least an input and an output size, all positive")
        }
        var layers: [Layer] = []
        for l in 0..<(widths.count - 1) {
            layers.append(.dense(name: "fc\(l + 1)", inputs: widths[l], outputs: widths[l + 1]))
            if l < widths.count - 2 { layers.append(.activation(activation)) }
        }
        try checkSizes(layers, what: "widths \(widths.map(String.init).joined(separator: ","))", lower: "--widths")
        return Architecture(kind: .mlp, activation: activation, layers: layers, inputs: widths[0], classes: widths.last!,
                            spec: ["arch": "mlp", "widths": widths.map(String.init).joined(separator: ","),
                                   "activation": activation.rawValue])
    }

    /// Two or three 3×3 convolutions (each followed by the activation and 2×2 max pooling), then a
    /// dense hidden layer and the output layer. `channels` gives the convolution widths.
    public static func cnn(inputChannels: Int, side: Int, channels: [Int], hidden: Int, classes: Int,
                           activation: Activation) throws -> Architecture {
        guard (1...3).contains(channels.count), channels.allSatisfy({ $0 >= 1 }), hidden >= 1, classes >= 1,
              side >> channels.count >= 1 else {
            throw NetworkError.invalid("--channels must list 1 to 3 positive widths (e.g. 8,16), with --hidden ≥ 1, for images of side ≥ 2^layers")
        }
        guard inputChannels >= 1, side >= 1, Double(inputChannels) * Double(side) * Double(side) < 1e15 else {
            throw NetworkError.invalid("images of \(inputChannels) channels of side \(side) are not a usable input shape")
        }
        var layers: [Layer] = []
        var (c, h) = (inputChannels, side)
        for (l, out) in channels.enumerated() {
            layers.append(.conv(name: "conv\(l + 1)", inChannels: c, outChannels: out, height: h, width: h))
            layers.append(.activation(activation))
            layers.append(.maxPool(channels: out, height: h, width: h))
            (c, h) = (out, h / 2)
        }
        let (flat, overflow) = c.multipliedReportingOverflow(by: h * h)
        guard !overflow else {
            throw NetworkError.invalid("the channels \(channels.map(String.init).joined(separator: ",")) give a layer too large to index (it overflows a 64-bit integer); lower --channels")
        }
        layers.append(.dense(name: "fc1", inputs: flat, outputs: hidden))
        layers.append(.activation(activation))
        layers.append(.dense(name: "fc2", inputs: hidden, outputs: classes))
        try checkSizes(layers, what: "channels \(channels.map(String.init).joined(separator: ",")) and hidden width \(hidden)",
                       lower: "--channels or --hidden")
        return Architecture(kind: .cnn, activation: activation, layers: layers, inputs: inputChannels * side * side,
                            classes: classes,
                            spec: ["arch": "cnn", "channels": channels.map(String.init).joined(separator: ","),
                                   "hidden": String(hidden), "input_channels": String(inputChannels),
                                   "side": String(side), "classes": String(classes), "activation": activation.rawValue])
    }

    /// Every size the layers imply (parameters of each tensor, their sum D, each layer's output
    /// size) must fit an Int with room to spare, so `parameterCount`, `parameterLayout` and the
    /// byte counts of checkpoints never overflow; the memory they need is checked where they are
    /// allocated (`Memory.require`).
    static func checkSizes(_ layers: [Layer], what: String, lower: String) throws {
        let limit = Int.max / 64   // bytes (8 per Double) of a few copies still fit
        func product(_ xs: [Int]) -> Int? {
            var p = 1
            for x in xs {
                let (r, o) = p.multipliedReportingOverflow(by: x)
                if o || r > limit { return nil }
                p = r
            }
            return p
        }
        func fail(_ why: String) -> NetworkError {
            NetworkError.invalid("the \(what) give \(why) (it overflows a 64-bit integer); lower \(lower)")
        }
        var total = 0
        for layer in layers {
            for (_, shape) in layer.parameterShapes {
                guard let p = product(shape) else { throw fail("a weight tensor too large to index") }
                let (sum, o) = total.addingReportingOverflow(p)
                guard !o, sum <= limit else { throw fail("more parameters than can be counted") }
                total = sum
            }
            switch layer {
            case let .conv(_, _, co, h, w), let .maxPool(co, h, w):
                guard product([co, h, w]) != nil else { throw fail("a layer output too large to index") }
            default: break
            }
        }
    }

    /// Rebuilds an architecture from the `spec` stored in a checkpoint.
    public static func from(spec: [String: String]) throws -> Architecture {
        guard let arch = spec["arch"], let act = spec["activation"].flatMap(Activation.init(rawValue:)) else {
            throw NetworkError.invalid("checkpoint metadata lacks arch/activation; it was not written by fortganguli train")
        }
        func ints(_ key: String) throws -> [Int] {
            guard let v = spec[key], case let xs = v.split(separator: ",").compactMap({ Int($0) }), !xs.isEmpty else {
                throw NetworkError.invalid("checkpoint metadata lacks \(key)")
            }
            return xs
        }
        switch arch {
        case "mlp": return try mlp(widths: ints("widths"), activation: act)
        case "cnn":
            return try cnn(inputChannels: ints("input_channels")[0], side: ints("side")[0], channels: ints("channels"),
                           hidden: ints("hidden")[0], classes: ints("classes")[0], activation: act)
        default: throw NetworkError.invalid("unknown architecture \(arch) in checkpoint metadata")
        }
    }

    /// Parameter tensors in order with their offsets into the flat parameter vector.
    public var parameterLayout: [(name: String, shape: [Int], offset: Int)] {
        var out: [(String, [Int], Int)] = []
        var offset = 0
        for layer in layers {
            for (name, shape) in layer.parameterShapes {
                out.append((name, shape, offset))
                offset += shape.reduce(1, *)
            }
        }
        return out
    }

    /// D, the number of parameters.
    public var parameterCount: Int { layers.reduce(0) { $0 + $1.parameterCount } }
}

/// A network or checkpoint that cannot be used, with a one-line message.
public enum NetworkError: Error, CustomStringConvertible, Equatable {
    case invalid(String)
    public var description: String { if case let .invalid(m) = self { return m } else { return "" } }
}
