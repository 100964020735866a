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
    ///
    /// R-values carry b directions at once, stacked per example: the R-input of a layer of n values per
    /// example is an (n·b) × B matrix whose column e holds direction 0's n values, then direction 1's, …
    /// Read as an n × (b·B) matrix (column e·b + j) the same storage is the layer's input for all b·B
    /// (direction, example) pairs, so a layer's own weights act on every direction by one product; the
    /// direction's weights (stacked side by side) act on the shared input by one product too.
    public struct Trace: Sendable {
        var inputs: [Matrix] = []
        /// R{input} of each layer ((size·b) × B); nil where it is zero (the input, without an input direction).
        var rInputs: [Matrix?] = []
        var argmax: [Int: [Int32]] = [:]
        /// b, the directions the R-values carry (0 without an R-pass).
        var directions = 0
        public var output = Matrix(rows: 0, cols: 0)
        /// R{output}, (outputs·b) × B: column e holds J^e·v_j for j = 0…b−1 one above the other.
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
        let offs = offsets
        for (index, layer) in architecture.layers.enumerated() {
            t.inputs.append(a)
            switch layer {
            case let .dense(_, i, o):
                let w = Matrix(rows: i, cols: o, storage: Array(parameters[offs[index]..<(offs[index] + i * o)]))
                let b = Array(parameters[(offs[index] + i * o)..<(offs[index] + i * o + o)])
                var y = BLAS.multiply(w, transposeA: true, a)
                addBias(&y, b)
                a = y
            case let .conv(_, ci, co, h, w):
                let weights = Matrix(rows: 9 * ci, cols: co, storage: Array(parameters[offs[index]..<(offs[index] + 9 * ci * co)]))
                let b = Array(parameters[(offs[index] + 9 * ci * co)..<(offs[index] + 9 * ci * co + co)])
                a = Convolution.forward(a, weights: weights, bias: b, channels: ci, height: h, width: w)
            case let .activation(f):
                var y = a
                for k in y.storage.indices { y.storage[k] = f.value(a.storage[k]) }
                a = y
            case let .maxPool(c, h, w):
                let (y, idx) = Pooling.forward(a, channels: c, height: h, width: w)
                t.argmax[index] = idx
                a = y
            }
        }
        t.output = a
        guard v != nil || u != nil else { return t }
        return rForward(t, directions: v.map { Matrix(rows: $0.count, cols: 1, storage: $0) }, inputDirections: u)
    }

    /// The R-forward pass on a forward trace for the b parameter directions that are the columns of V
    /// (D × b) and/or b input directions U ((inputs·b) × B, stacked as in `Trace`): R{·} of every layer's
    /// input and of the output, all b directions together, each layer's products one `dgemm`. Returns
    /// the trace with its R-values set.
    func rForward(_ t: Trace, directions v: Matrix?, inputDirections u: Matrix?) -> Trace {
        let examples = t.output.cols
        let b = v?.cols ?? u.map { $0.rows / architecture.inputs } ?? 1
        precondition(v.map { $0.rows == parameters.count } ?? true, "directions must have D = \(parameters.count) rows")
        precondition(u.map { $0.rows == architecture.inputs * b && $0.cols == examples } ?? true,
                     "input directions must be (inputs·b) × B")
        var out = t
        out.directions = b
        out.rInputs = []
        var r: Matrix? = u
        let offs = offsets
        for (index, layer) in architecture.layers.enumerated() {
            out.rInputs.append(r)
            let a = t.inputs[index]
            switch layer {
            case let .dense(_, i, o):
                // R{y} = Wᵀ·R{x} (all directions as columns) + R{W}ᵀ·x (the directions' weights side by side) + R{b}.
                var ry = r.map { reshaped(BLAS.multiply(weight(index, i, o), transposeA: true, reshaped($0, rows: i)), rows: o * b) }
                if let v {
                    var y = ry ?? Matrix(rows: o * b, cols: examples)
                    BLAS.accumulateBlock(sideBySide(v, offs[index], rows: i, cols: o), rows: 0..<i, cols: 0..<(o * b), transposeA: true,
                                         a, rows: 0..<i, cols: 0..<examples, into: &y, at: 0, 0)
                    addBias(&y, stackedBias(v, offs[index] + i * o, count: o))
                    ry = y
                }
                r = ry
            case let .conv(_, ci, co, h, w):
                let hw = h * w
                let weights = weight(index, 9 * ci, co)
                var ry = r.map {
                    reshaped(Convolution.forward(reshaped($0, rows: ci * hw), weights: weights, bias: nil, channels: ci, height: h, width: w),
                             rows: co * hw * b)
                }
                if let v {
                    var y = ry ?? Matrix(rows: co * hw * b, cols: examples)
                    Convolution.addChannelBias(&y, stackedBias(v, offs[index] + 9 * ci * co, count: co), channelSize: hw)
                    // Stacked weights give the b outputs of each image one above the other: the R layout.
                    let extra = Convolution.forward(a, weights: sideBySide(v, offs[index], rows: 9 * ci, cols: co), bias: nil,
                                                    channels: ci, height: h, width: w)
                    for k in y.storage.indices { y.storage[k] += extra.storage[k] }
                    ry = y
                }
                r = ry
            case let .activation(f):
                guard var ry = r else { break }
                let n = a.rows
                var slope = [Double](repeating: 0, count: n)
                ry.storage.withUnsafeMutableBufferPointer { p in
                    a.storage.withUnsafeBufferPointer { pa in
                        for e in 0..<examples {
                            for k in 0..<n { slope[k] = f.slope(pa[e * n + k]) }
                            for j in 0..<b { let base = (e * b + j) * n; for k in 0..<n { p[base + k] *= slope[k] } }
                        }
                    }
                }
                r = ry
            case let .maxPool(c, h, w):
                r = r.map { Pooling.gather($0, t.argmax[index]!, outputs: c * (h / 2) * (w / 2), directions: b) }
            }
        }
        out.rOutput = r ?? Matrix(rows: t.output.rows * b, cols: examples)
        return out
    }

    /// Adds b[i] to row i of each column; a bias of the b stacked directions (length n·b) to the
    /// stacked R-values ((n·b) × B) likewise.
    func addBias(_ y: inout Matrix, _ b: [Double]) {
        let (n, m) = (y.rows, y.cols)
        precondition(b.count == n, "one bias per row")
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
        var adjoints: [Matrix] = []
        let gradient = gradientPass(t, outputGradient: g, parameterGradient: true) { index, gy in
            if rg != nil { adjoints.append(gy) }
            layerGradients?(index, gy)
        }!
        guard let rg else { return (gradient, nil) }
        let r = rBackward(t, adjoints: adjoints.reversed(), rOutputGradient: rg,
                          directions: v.map { Matrix(rows: $0.count, cols: 1, storage: $0) })
        return (gradient, r.storage)
    }

    /// The ordinary reverse pass: ∂/∂θ of Σ_columns gᵀz if `parameterGradient` (else nil, and only the
    /// layer gradients are formed), calling `layerGradients` with the gradient at each layer's output
    /// from the last layer down. The input's own gradient is never formed.
    func gradientPass(_ t: Trace, outputGradient g: Matrix, parameterGradient: Bool,
                      layerGradients: ((Int, Matrix) -> Void)? = nil) -> [Double]? {
        var grad = parameterGradient ? [Double](repeating: 0, count: parameters.count) : nil
        var gy = g
        let offs = offsets
        for index in stride(from: architecture.layers.count - 1, through: 0, by: -1) {
            let layer = architecture.layers[index]
            let x = t.inputs[index]
            layerGradients?(index, gy)
            switch layer {
            case let .dense(_, i, o):
                if grad != nil {
                    let gw = BLAS.multiply(x, gy, transposeB: true)  // i×o, the [o, i] row-major layout
                    add(&grad!, offs[index], gw.storage)
                    add(&grad!, offs[index] + i * o, rowSums(gy))
                }
                guard index > 0 else { break }
                gy = BLAS.multiply(weight(index, i, o), gy)
            case let .conv(_, ci, co, h, w):
                if grad != nil {
                    let (gw, gb) = Convolution.weightGradient(x, outputGradient: gy, channels: ci, height: h, width: w)
                    add(&grad!, offs[index], gw.storage)
                    add(&grad!, offs[index] + 9 * ci * co, gb)
                }
                guard index > 0 else { break }
                gy = Convolution.inputGradient(gy, weights: weight(index, 9 * ci, co), channels: ci, height: h, width: w)
            case let .activation(f):
                for k in gy.storage.indices { gy.storage[k] *= f.slope(x.storage[k]) }
            case .maxPool:
                gy = Pooling.scatter(gy, t.argmax[index]!, inputs: x.rows)
            }
        }
        return grad
    }

    /// The R-backward pass for the b directions of an R-forward trace: R{∂/∂θ}, as a D × b matrix, of the
    /// reverse pass from the output gradients whose layer gradients are `adjoints` (index by layer, from
    /// `gradientPass`), with R{output gradient} = rg ((outputs·b) × B). Its terms are linear in two
    /// separate inputs, which is what makes every curvature product one pass:
    /// - rg propagated back by the network's Jacobian (no adjoints needed): with rg = (∂²ℓ/∂z²)·J·v this is
    ///   the Gauss–Newton product G·v;
    /// - the adjoints met by the R-values of the layers (R{x}·gᵀ, R{W}·g, φ''·R{x}·g): the curvature of the
    ///   network itself weighted by the loss gradient, (H − G)·v;
    /// - both: H·v. A nil rg or nil adjoints leaves its terms out; `directions` are the forward's
    ///   parameter directions (nil: zero). Every layer's products are one `dgemm` over all b directions
    ///   and B examples (or b of them where the stacking does not line up); the input's own R-gradient is
    ///   never formed.
    func rBackward(_ t: Trace, adjoints: [Matrix]?, rOutputGradient rg: Matrix?, directions v: Matrix?) -> Matrix {
        let b = t.directions > 0 ? t.directions : (v?.cols ?? 1)
        precondition(v.map { $0.cols == b && $0.rows == parameters.count } ?? true, "directions differ from the forward's")
        precondition(adjoints.map { $0.count == architecture.layers.count } ?? true, "one adjoint per layer")
        var out = Matrix(rows: parameters.count, cols: b)
        var rgy = rg
        let offs = offsets
        let d = parameters.count
        for index in stride(from: architecture.layers.count - 1, through: 0, by: -1) {
            let layer = architecture.layers[index]
            let x = t.inputs[index], examples = x.cols
            let rx = index < t.rInputs.count ? t.rInputs[index] : nil
            let gy = adjoints?[index]
            switch layer {
            case let .dense(_, i, o):
                // R{∂W} = x·R{g}ᵀ (one dgemm: the b weight gradients side by side) + R{x}·gᵀ per direction.
                var rgw = rgy.map { BLAS.multiply(x, $0, transposeB: true) }
                if let rx, let gy {
                    var m = rgw ?? Matrix(rows: i, cols: o * b)
                    let gyT = gy.transposed
                    for j in 0..<b {
                        BLAS.accumulateBlock(rx, rows: (j * i)..<((j + 1) * i), cols: 0..<examples, gyT, rows: 0..<examples, cols: 0..<o,
                                             into: &m, at: 0, j * o)
                    }
                    rgw = m
                }
                if let rgw { scatterSideBySide(rgw, into: &out, offs[index], count: i * o) }
                if let rgy {
                    let sums = rowSums(rgy)
                    for j in 0..<b { for k in 0..<o { out.storage[j * d + offs[index] + i * o + k] = sums[j * o + k] } }
                }
                guard index > 0 else { rgy = nil; break }
                // R{∂x} = W·R{g} (all directions as columns) + R{W}·g (the directions' weights stacked).
                var rgx = rgy.map { reshaped(BLAS.multiply(weight(index, i, o), reshaped($0, rows: o)), rows: i * b) }
                if let v, let gy {
                    var m = rgx ?? Matrix(rows: i * b, cols: examples)
                    BLAS.accumulateBlock(stacked(v, offs[index], rows: i, cols: o), rows: 0..<(i * b), cols: 0..<o,
                                         gy, rows: 0..<o, cols: 0..<examples, into: &m, at: 0, 0)
                    rgx = m
                }
                rgy = rgx
            case let .conv(_, ci, co, h, w):
                let hw = h * w
                var rgw: Matrix? = nil
                if let rgy {
                    // The b output gradients of an image side by side: one weight gradient for all directions.
                    let (gw, gb) = Convolution.weightGradient(x, outputGradient: rgy, channels: ci, height: h, width: w)
                    rgw = gw
                    for j in 0..<b { for k in 0..<co { out.storage[j * d + offs[index] + 9 * ci * co + k] = gb[j * co + k] } }
                }
                if let rx, let gy {
                    // R{x} as an image of ci·b channels: row block j of its weight gradient is direction j's.
                    let (g2, _) = Convolution.weightGradient(rx, outputGradient: gy, channels: ci * b, height: h, width: w)
                    var m = rgw ?? Matrix(rows: 9 * ci, cols: co * b)
                    let rows = 9 * ci
                    for j in 0..<b { for k in 0..<co { for r in 0..<rows {
                        m.storage[(j * co + k) * rows + r] += g2.storage[k * rows * b + j * rows + r]
                    } } }
                    rgw = m
                }
                if let rgw { scatterSideBySide(rgw, into: &out, offs[index], count: 9 * ci * co) }
                guard index > 0 else { rgy = nil; break }
                var rgx = rgy.map {
                    reshaped(Convolution.inputGradient(reshaped($0, rows: co * hw), weights: weight(index, 9 * ci, co),
                                                       channels: ci, height: h, width: w), rows: ci * hw * b)
                }
                if let v, let gy {
                    // The directions' weights stacked: the input gradient of an image of ci·b channels.
                    let extra = Convolution.inputGradient(gy, weights: stacked(v, offs[index], rows: 9 * ci, cols: co),
                                                          channels: ci * b, height: h, width: w)
                    if var m = rgx {
                        for k in m.storage.indices { m.storage[k] += extra.storage[k] }
                        rgx = m
                    } else {
                        rgx = extra
                    }
                }
                rgy = rgx
            case let .activation(f):
                // R{∂x} = φ'(x)·R{g} + φ''(x)·R{x}·g, per example: its n slopes (and curvatures) then the b directions.
                let curved = rx != nil && gy != nil
                guard rgy != nil || curved else { break }
                let n = x.rows
                var rgx = Matrix(rows: n * b, cols: examples)
                var slope = [Double](repeating: 0, count: n), curvature = slope, adjoint = slope
                let none = Matrix(rows: 0, cols: 0)
                rgx.storage.withUnsafeMutableBufferPointer { p in
                    (rgy ?? none).storage.withUnsafeBufferPointer { pr in
                        (rx ?? none).storage.withUnsafeBufferPointer { px in
                            for e in 0..<examples {
                                for k in 0..<n {
                                    let xv = x.storage[e * n + k]
                                    slope[k] = f.slope(xv)
                                    if curved { curvature[k] = f.curvature(xv); adjoint[k] = gy!.storage[e * n + k] }
                                }
                                for j in 0..<b {
                                    let base = (e * b + j) * n
                                    switch (rgy != nil, curved) {
                                    case (true, true):
                                        for k in 0..<n { p[base + k] = slope[k] * pr[base + k] + curvature[k] * px[base + k] * adjoint[k] }
                                    case (true, false):
                                        for k in 0..<n { p[base + k] = slope[k] * pr[base + k] }
                                    default:
                                        for k in 0..<n { p[base + k] = curvature[k] * px[base + k] * adjoint[k] }
                                    }
                                }
                            }
                        }
                    }
                }
                rgy = rgx
            case .maxPool:
                rgy = rgy.map { Pooling.scatter($0, t.argmax[index]!, inputs: x.rows, directions: b) }
            }
        }
        return out
    }

    /// The weight of layer `index` as its (rows × cols) column-major matrix (the PyTorch [cols, rows] tensor).
    func weight(_ index: Int, _ rows: Int, _ cols: Int) -> Matrix {
        let o = offsets[index]
        return Matrix(rows: rows, cols: cols, storage: Array(parameters[o..<(o + rows * cols)]))
    }

    /// The same values as a matrix of `rows` rows (column-major storage reinterpreted, not copied).
    func reshaped(_ m: Matrix, rows: Int) -> Matrix {
        Matrix(rows: rows, cols: rows > 0 ? m.storage.count / rows : 0, storage: m.storage)
    }

    /// Elements offset..<offset+rows·cols of each column of V (a layer's weight in b directions) side by
    /// side: rows × (cols·b), direction j in columns j·cols..<(j+1)·cols.
    func sideBySide(_ v: Matrix, _ offset: Int, rows: Int, cols: Int) -> Matrix {
        let (n, d) = (rows * cols, v.rows)
        var m = Matrix(rows: rows, cols: cols * v.cols)
        for j in 0..<v.cols { m.storage.replaceSubrange((j * n)..<((j + 1) * n), with: v.storage[(j * d + offset)..<(j * d + offset + n)]) }
        return m
    }

    /// The same weights stacked: (rows·b) × cols, direction j in rows j·rows..<(j+1)·rows.
    func stacked(_ v: Matrix, _ offset: Int, rows: Int, cols: Int) -> Matrix {
        let (b, d) = (v.cols, v.rows)
        var m = Matrix(rows: rows * b, cols: cols)
        m.storage.withUnsafeMutableBufferPointer { p in
            v.storage.withUnsafeBufferPointer { pv in
                for j in 0..<b { for c in 0..<cols { for r in 0..<rows { p[c * rows * b + j * rows + r] = pv[j * d + offset + c * rows + r] } } }
            }
        }
        return m
    }

    /// Elements offset..<offset+count of each column of V, one after the other (a bias in b directions).
    func stackedBias(_ v: Matrix, _ offset: Int, count: Int) -> [Double] {
        (0..<v.cols).flatMap { j in v.storage[(j * v.rows + offset)..<(j * v.rows + offset + count)] }
    }

    /// Writes the b blocks of `count` values of a side-by-side matrix into rows offset..<offset+count of
    /// the columns of `out` (the inverse of `sideBySide`).
    func scatterSideBySide(_ m: Matrix, into out: inout Matrix, _ offset: Int, count: Int) {
        let d = out.rows
        for j in 0..<out.cols {
            out.storage.replaceSubrange((j * d + offset)..<(j * d + offset + count), with: m.storage[(j * count)..<((j + 1) * count)])
        }
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
