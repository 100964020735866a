import Foundation
import Linalg

/// A network and its parameters, with exact first and second derivatives: reverse mode for
/// gradients and per-example logit gradients, forward mode (R-operator) for Jacobian-vector
/// products, and forward-over-reverse (Pearlmutter 1994) for Hessian-vector products.
/// Activations are matrices with one column per example.
public struct Network: Sendable {
    public let architecture: Architecture
    /// All weights and biases, flat, tensors in `architecture.parameterLayout` order, each row-major in PyTorch's shape.
    public var parameters: [Double]

    public init(architecture: Architecture, parameters: [Double]) {
        precondition(parameters.count == architecture.parameterCount, "parameter vector has the wrong length")
        self.architecture = architecture
        self.parameters = parameters
    }

    /// PyTorch's default initialisation (uniform ±1/√fan_in for weights and biases), scaled by α.
    public init(architecture: Architecture, seed: UInt64, scale alpha: Double = 1) {
        let rng = RandomStream(seed: seed, stream: 11)
        var theta = [Double](repeating: 0, count: architecture.parameterCount)
        var offset = 0
        for layer in architecture.layers {
            let fanIn: Int
            switch layer {
            case let .dense(_, i, _): fanIn = i
            case let .conv(_, ci, _, _, _): fanIn = 9 * ci
            default: continue
            }
            let bound = alpha / Double(fanIn).squareRoot()
            for _ in 0..<layer.parameterCount {
                theta[offset] = bound * (2 * rng.uniform() - 1)
                offset += 1
            }
        }
        self.init(architecture: architecture, parameters: theta)
    }

    /// Values entering each layer (and their directional derivatives in R-mode), kept for the backward pass.
    public struct Trace {
        var inputs: [Matrix] = []
        var rInputs: [Matrix] = []
        var argmax: [Int: [Int32]] = [:]
        public var output = Matrix(rows: 0, cols: 0)
        public var rOutput = Matrix(rows: 0, cols: 0)
    }

    /// Offsets of each layer's weight and bias in the parameter vector.
    var offsets: [Int] {
        var out: [Int] = []
        var o = 0
        for l in architecture.layers { out.append(o); o += l.parameterCount }
        return out
    }

    /// Runs the network on inputs x (inputs × B). With a parameter direction v and/or an input
    /// direction u (inputs × B, one column per example), also carries the directional derivatives
    /// (R-forward): `rOutput` = J_θ·v + J_x·u per example. A missing direction counts as zero, so
    /// `forward(x, inputDirection: u)` gives ∇_x f·u and, through `backward`, ∇_θ(∇_x f·u).
    public func forward(_ x: Matrix, direction v: [Double]? = nil, inputDirection u: Matrix? = nil) -> Trace {
        precondition(u.map { $0.rows == x.rows && $0.cols == x.cols } ?? true, "the input direction must have the inputs' shape")
        var t = Trace()
        var a = x
        var ra: Matrix? = u ?? v.map { _ in Matrix(rows: x.rows, cols: x.cols) }
        let offs = offsets
        for (index, layer) in architecture.layers.enumerated() {
            t.inputs.append(a)
            if let r = ra { t.rInputs.append(r) }
            switch layer {
            case let .dense(_, i, o):
                let w = Matrix(rows: i, cols: o, storage: Array(parameters[offs[index]..<(offs[index] + i * o)]))
                let b = Array(parameters[(offs[index] + i * o)..<(offs[index] + i * o + o)])
                var y = BLAS.multiply(w, transposeA: true, a)
                addBias(&y, b)
                if let r = ra {
                    var ry = BLAS.multiply(w, transposeA: true, r)
                    if let v {
                        let rw = Matrix(rows: i, cols: o, storage: Array(v[offs[index]..<(offs[index] + i * o)]))
                        let rb = Array(v[(offs[index] + i * o)..<(offs[index] + i * o + o)])
                        BLAS.accumulateBlock(rw, rows: 0..<i, cols: 0..<o, transposeA: true, a, rows: 0..<i, cols: 0..<a.cols,
                                             into: &ry, at: 0, 0)
                        addBias(&ry, rb)
                    }
                    ra = ry
                }
                a = y
            case let .conv(_, ci, co, h, w):
                let weights = Matrix(rows: 9 * ci, cols: co, storage: Array(parameters[offs[index]..<(offs[index] + 9 * ci * co)]))
                let b = Array(parameters[(offs[index] + 9 * ci * co)..<(offs[index] + 9 * ci * co + co)])
                var y = Convolution.forward(a, weights: weights, bias: b, channels: ci, height: h, width: w)
                if let r = ra {
                    let zeroBias = [Double](repeating: 0, count: co)
                    let rb = v.map { Array($0[(offs[index] + 9 * ci * co)..<(offs[index] + 9 * ci * co + co)]) } ?? zeroBias
                    var ry = Convolution.forward(r, weights: weights, bias: rb, channels: ci, height: h, width: w)
                    if let v {
                        let rw = Matrix(rows: 9 * ci, cols: co, storage: Array(v[offs[index]..<(offs[index] + 9 * ci * co)]))
                        let extra = Convolution.forward(a, weights: rw, bias: zeroBias, channels: ci, height: h, width: w)
                        for k in ry.storage.indices { ry.storage[k] += extra.storage[k] }
                    }
                    ra = ry
                }
                _ = y.rows
                a = y
                y = Matrix(rows: 0, cols: 0)
            case let .activation(f):
                var y = a
                for k in y.storage.indices { y.storage[k] = f.value(a.storage[k]) }
                if var r = ra {
                    for k in r.storage.indices { r.storage[k] *= f.slope(a.storage[k]) }
                    ra = r
                }
                a = y
            case let .maxPool(c, h, w):
                let (y, idx) = Pooling.forward(a, channels: c, height: h, width: w)
                t.argmax[index] = idx
                if let r = ra { ra = Pooling.gather(r, idx, outputs: y.rows) }
                a = y
            }
        }
        t.output = a
        if let r = ra { t.rOutput = r }
        return t
    }

    func addBias(_ y: inout Matrix, _ b: [Double]) {
        let (n, m) = (y.rows, y.cols)
        y.storage.withUnsafeMutableBufferPointer { p in
            for j in 0..<m { for i in 0..<n { p[i + j * n] += b[i] } }
        }
    }

    /// Reverse pass from the gradient g at the output (classes × B). Returns ∂/∂θ of Σ_columns gᵀz
    /// (summed over examples) and, in R-mode (trace from a forward with direction v and/or an input
    /// direction, and rGradient = R{g}), its directional derivative R{∂/∂θ} — the Hessian-vector
    /// product's parameter part. v is the same parameter direction as the forward's (nil: zero).
    /// `layerGradients` receives the gradient at each layer's output (per example), if asked.
    public func backward(_ t: Trace, outputGradient g: Matrix, rOutputGradient rg: Matrix? = nil,
                         direction v: [Double]? = nil,
                         layerGradients: ((Int, Matrix) -> Void)? = nil) -> (gradient: [Double], rGradient: [Double]?) {
        var grad = [Double](repeating: 0, count: parameters.count)
        var rgrad: [Double]? = rg.map { _ in [Double](repeating: 0, count: parameters.count) }
        var gy = g
        var rgy = rg
        let offs = offsets
        for index in stride(from: architecture.layers.count - 1, through: 0, by: -1) {
            let layer = architecture.layers[index]
            let x = t.inputs[index]
            layerGradients?(index, gy)
            switch layer {
            case let .dense(_, i, o):
                let w = Matrix(rows: i, cols: o, storage: Array(parameters[offs[index]..<(offs[index] + i * o)]))
                let gw = BLAS.multiply(x, gy, transposeB: true)  // i×o, the [o, i] row-major layout
                add(&grad, offs[index], gw.storage)
                add(&grad, offs[index] + i * o, rowSums(gy))
                let gx = BLAS.multiply(w, gy)
                if let rgyv = rgy, var rg = rgrad {
                    let rx = t.rInputs[index]
                    var rgw = BLAS.multiply(x, rgyv, transposeB: true)
                    BLAS.accumulateBlock(rx, rows: 0..<i, cols: 0..<rx.cols, gy.transposed, rows: 0..<gy.cols, cols: 0..<o,
                                         into: &rgw, at: 0, 0)
                    add(&rg, offs[index], rgw.storage)
                    add(&rg, offs[index] + i * o, rowSums(rgyv))
                    rgrad = rg
                    var rgx = BLAS.multiply(w, rgyv)
                    if let v {
                        let rw = Matrix(rows: i, cols: o, storage: Array(v[offs[index]..<(offs[index] + i * o)]))
                        BLAS.accumulateBlock(rw, rows: 0..<i, cols: 0..<o, gy, rows: 0..<o, cols: 0..<gy.cols, into: &rgx, at: 0, 0)
                    }
                    rgy = rgx
                }
                gy = gx
            case let .conv(_, ci, co, h, w):
                let weights = Matrix(rows: 9 * ci, cols: co, storage: Array(parameters[offs[index]..<(offs[index] + 9 * ci * co)]))
                let (gx, gw, gb) = Convolution.backward(x, outputGradient: gy, weights: weights, channels: ci, height: h, width: w)
                add(&grad, offs[index], gw.storage)
                add(&grad, offs[index] + 9 * ci * co, gb)
                if let rgyv = rgy, var rg = rgrad {
                    let rx = t.rInputs[index]
                    let (rgx1, rgw1, rgb) = Convolution.backward(x, outputGradient: rgyv, weights: weights, channels: ci, height: h, width: w)
                    let (_, rgw2, _) = Convolution.backward(rx, outputGradient: gy, weights: weights, channels: ci, height: h, width: w,
                                                             inputGradient: false)
                    add(&rg, offs[index], rgw1.storage)
                    add(&rg, offs[index], rgw2.storage)
                    add(&rg, offs[index] + 9 * ci * co, rgb)
                    rgrad = rg
                    var rgx = rgx1
                    if let v {
                        let rw = Matrix(rows: 9 * ci, cols: co, storage: Array(v[offs[index]..<(offs[index] + 9 * ci * co)]))
                        let (rgx2, _, _) = Convolution.backward(x, outputGradient: gy, weights: rw, channels: ci, height: h, width: w,
                                                                 weightGradient: false)
                        for k in rgx.storage.indices { rgx.storage[k] += rgx2.storage[k] }
                    }
                    rgy = rgx
                }
                gy = gx
            case let .activation(f):
                var gx = gy
                for k in gx.storage.indices { gx.storage[k] *= f.slope(x.storage[k]) }
                if let r = rgy {
                    let rx = t.rInputs[index]
                    var rgx = r
                    for k in rgx.storage.indices {
                        rgx.storage[k] = f.slope(x.storage[k]) * r.storage[k] + f.curvature(x.storage[k]) * rx.storage[k] * gy.storage[k]
                    }
                    rgy = rgx
                }
                gy = gx
            case .maxPool:
                let idx = t.argmax[index]!
                gy = Pooling.scatter(gy, idx, inputs: x.rows)
                if let r = rgy { rgy = Pooling.scatter(r, idx, inputs: x.rows) }
            }
        }
        return (grad, rgrad)
    }

    func add(_ a: inout [Double], _ offset: Int, _ b: [Double]) {
        a.withUnsafeMutableBufferPointer { p in for k in b.indices { p[offset + k] += b[k] } }
    }

    func rowSums(_ m: Matrix) -> [Double] {
        var s = [Double](repeating: 0, count: m.rows)
        for j in 0..<m.cols { for i in 0..<m.rows { s[i] += m[i, j] } }
        return s
    }
}
