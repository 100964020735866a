import Foundation
import Linalg

/// 3×3 convolution, stride 1, zero padding 1, on channel-major images (one column per example),
/// by im2col and one `dgemm` per example. Weights are the PyTorch tensor [out, in, 3, 3] viewed as a
/// column-major (9·in)×out matrix.
enum Convolution {
    /// Patches of one image: (H·W)×(9·C), column r = c·9 + ky·3 + kx, row p = h·W + w.
    static func patches(_ x: UnsafeBufferPointer<Double>, _ base: Int, c: Int, h: Int, w: Int) -> Matrix {
        var m = Matrix(rows: h * w, cols: 9 * c)
        m.storage.withUnsafeMutableBufferPointer { p in
            for ch in 0..<c { for ky in 0..<3 { for kx in 0..<3 {
                let col = (ch * 9 + ky * 3 + kx) * h * w
                for i in 0..<h {
                    let si = i + ky - 1
                    if si < 0 || si >= h { continue }
                    for j in 0..<w {
                        let sj = j + kx - 1
                        if sj < 0 || sj >= w { continue }
                        p[col + i * w + j] = x[base + ch * h * w + si * w + sj]
                    }
                }
            } } }
        }
        return m
    }

    /// Adds the patch gradient back onto the image gradient (the adjoint of `patches`).
    static func scatterPatches(_ g: Matrix, into x: UnsafeMutableBufferPointer<Double>, _ base: Int, c: Int, h: Int, w: Int) {
        g.storage.withUnsafeBufferPointer { p in
            for ch in 0..<c { for ky in 0..<3 { for kx in 0..<3 {
                let col = (ch * 9 + ky * 3 + kx) * h * w
                for i in 0..<h {
                    let si = i + ky - 1
                    if si < 0 || si >= h { continue }
                    for j in 0..<w {
                        let sj = j + kx - 1
                        if sj < 0 || sj >= w { continue }
                        x[base + ch * h * w + si * w + sj] += p[col + i * w + j]
                    }
                }
            } } }
        }
    }

    /// The convolution of each column of x (an image of c channels) with the (9·c)×out weights, plus
    /// the bias of each output channel (none: nil). Stacked weights [W₁ … W_b] (9·c)×(out·b) give the b
    /// outputs of one image one above the other (channel j·out + k), the layout of the block R-pass.
    static func forward(_ x: Matrix, weights: Matrix, bias: [Double]?, channels c: Int, height h: Int, width w: Int) -> Matrix {
        let co = weights.cols
        var y = Matrix(rows: co * h * w, cols: x.cols)
        x.storage.withUnsafeBufferPointer { px in
            for e in 0..<x.cols {
                let out = BLAS.multiply(patches(px, e * x.rows, c: c, h: h, w: w), weights)  // (HW)×co, channel-major
                y.storage.replaceSubrange((e * y.rows)..<((e + 1) * y.rows), with: out.storage)
            }
        }
        if let bias { addChannelBias(&y, bias, channelSize: h * w) }
        return y
    }

    /// Adds bias[k] to every value of channel k of each column (channels of `channelSize` values).
    static func addChannelBias(_ y: inout Matrix, _ bias: [Double], channelSize hw: Int) {
        let (co, cols) = (bias.count, y.cols)
        precondition(co * hw == y.rows, "one bias per channel")
        y.storage.withUnsafeMutableBufferPointer { p in
            for e in 0..<cols { for k in 0..<co { for q in 0..<hw { p[e * co * hw + k * hw + q] += bias[k] } } }
        }
    }

    /// Weight gradient Σ_e patches(x_e)ᵀ·g_e ((9·c)×out) and bias gradient (per output channel) for
    /// output gradients g ((out·H·W) × examples). With x an image of c = c₀·b channels (b stacked
    /// inputs), row block j of the weight gradient is that of the j-th input.
    static func weightGradient(_ x: Matrix, outputGradient g: Matrix, channels c: Int, height h: Int, width w: Int)
        -> (weights: Matrix, bias: [Double])
    {
        let hw = h * w, co = g.rows / hw
        precondition(co * hw == g.rows && g.cols == x.cols, "output gradient does not fit the layer")
        var gw = Matrix(rows: 9 * c, cols: co)
        var gb = [Double](repeating: 0, count: co)
        x.storage.withUnsafeBufferPointer { px in
            for e in 0..<x.cols {
                let ge = Matrix(rows: hw, cols: co, storage: Array(g.storage[(e * g.rows)..<((e + 1) * g.rows)]))
                let pm = patches(px, e * x.rows, c: c, h: h, w: w)
                BLAS.accumulateBlock(pm, rows: 0..<hw, cols: 0..<(9 * c), transposeA: true, ge, rows: 0..<hw, cols: 0..<co,
                                     into: &gw, at: 0, 0)
                for k in 0..<co { for q in 0..<hw { gb[k] += ge[q, k] } }
            }
        }
        return (gw, gb)
    }

    /// Input gradient of output gradients g ((out·H·W) × examples) through weights (9·c)×out. With the
    /// weights of b directions stacked vertically ((9·c₀·b)×out, c = c₀·b), the b input gradients of one
    /// image come one above the other.
    static func inputGradient(_ g: Matrix, weights: Matrix, channels c: Int, height h: Int, width w: Int) -> Matrix {
        let co = weights.cols, hw = h * w
        precondition(weights.rows == 9 * c && g.rows == co * hw, "output gradient does not fit the layer")
        var gx = Matrix(rows: c * hw, cols: g.cols)
        gx.storage.withUnsafeMutableBufferPointer { pg in
            for e in 0..<g.cols {
                let ge = Matrix(rows: hw, cols: co, storage: Array(g.storage[(e * g.rows)..<((e + 1) * g.rows)]))
                let gp = BLAS.multiply(ge, weights, transposeB: true)  // (HW)×(9C)
                scatterPatches(gp, into: pg, e * gx.rows, c: c, h: h, w: w)
            }
        }
        return gx
    }

    /// The weight and bias gradient of one example for an output gradient ge ((H·W)×out).
    static func exampleGradient(_ x: Matrix, example e: Int, outputGradient ge: Matrix, channels c: Int, height h: Int, width w: Int) -> [Double] {
        let co = ge.cols, hw = h * w
        let pm = x.storage.withUnsafeBufferPointer { patches($0, e * x.rows, c: c, h: h, w: w) }
        let gw = BLAS.multiply(pm, transposeA: true, ge)
        var gb = [Double](repeating: 0, count: co)
        for k in 0..<co { for q in 0..<hw { gb[k] += ge[q, k] } }
        return gw.storage + gb
    }
}

/// 2×2 max pooling with stride 2 on channel-major images; the argmax (an input index per output)
/// fixes the routing for the backward and R passes.
enum Pooling {
    static func forward(_ x: Matrix, channels c: Int, height h: Int, width w: Int) -> (Matrix, [Int32]) {
        let (oh, ow) = (h / 2, w / 2)
        let outputs = c * oh * ow
        var y = Matrix(rows: outputs, cols: x.cols)
        var idx = [Int32](repeating: 0, count: outputs * x.cols)
        x.storage.withUnsafeBufferPointer { px in
            y.storage.withUnsafeMutableBufferPointer { py in
                for e in 0..<x.cols {
                    let base = e * x.rows
                    for ch in 0..<c { for i in 0..<oh { for j in 0..<ow {
                        var best = base + ch * h * w + 2 * i * w + 2 * j
                        for (di, dj) in [(0, 1), (1, 0), (1, 1)] {
                            let k = base + ch * h * w + (2 * i + di) * w + 2 * j + dj
                            if px[k] > px[best] { best = k }
                        }
                        let o = ch * oh * ow + i * ow + j
                        py[e * outputs + o] = px[best]
                        idx[e * outputs + o] = Int32(best - base)
                    } } }
                }
            }
        }
        return (y, idx)
    }

    /// The pooled values of b stacked inputs per column ((inputs·b) × B → (outputs·b) × B), routed by
    /// the argmax of the forward pass.
    static func gather(_ x: Matrix, _ idx: [Int32], outputs: Int, directions b: Int = 1) -> Matrix {
        let inputs = x.rows / b
        var y = Matrix(rows: outputs * b, cols: x.cols)
        for e in 0..<x.cols { for j in 0..<b { for o in 0..<outputs {
            y.storage[e * y.rows + j * outputs + o] = x.storage[e * x.rows + j * inputs + Int(idx[e * outputs + o])]
        } } }
        return y
    }

    /// The adjoint of `gather`: (outputs·b) × B → (inputs·b) × B.
    static func scatter(_ g: Matrix, _ idx: [Int32], inputs: Int, directions b: Int = 1) -> Matrix {
        let outputs = g.rows / b
        var x = Matrix(rows: inputs * b, cols: g.cols)
        for e in 0..<g.cols { for j in 0..<b { for o in 0..<outputs {
            x.storage[e * x.rows + j * inputs + Int(idx[e * outputs + o])] += g.storage[e * g.rows + j * outputs + o]
        } } }
        return x
    }
}
