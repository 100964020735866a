import Foundation
import Landscape
import Linalg

extension Network {
    /// Logits (classes × B).
    public func logits(_ x: Matrix) -> Matrix { forward(x).output }

    /// Mean loss (cross-entropy unless told) and its gradient over the batch (x: inputs × B,
    /// labels 0…C−1; `targets` for a regression set's mean squared error).
    public func lossAndGradient(_ x: Matrix, labels: [Int], loss: Loss = .crossEntropy,
                                targets: Matrix? = nil) -> (loss: Double, gradient: [Double], accuracy: Double) {
        let t = forward(x)
        let (value, g, accuracy) = loss.evaluate(t.output, labels: labels, targets: targets)
        return (value, backward(t, outputGradient: g).gradient, accuracy)
    }

    /// Mean cross-entropy, its gradient with respect to the logits ((p − y)/B) and the accuracy.
    static func crossEntropy(_ z: Matrix, labels: [Int]) -> (Double, Matrix, Double) {
        let (c, b) = (z.rows, z.cols)
        let p = softmaxRows(z.storage, classes: c)  // columns of z are rows of this view
        var g = Matrix(rows: c, cols: b, storage: p)
        var loss = 0.0, correct = 0
        for e in 0..<b {
            let y = labels[e]
            loss -= log(max(p[e * c + y], .leastNormalMagnitude))
            var best = 0
            for k in 1..<c where z[k, e] > z[best, e] { best = k }
            if best == y { correct += 1 }
            g[y, e] -= 1
        }
        for k in g.storage.indices { g.storage[k] /= Double(b) }
        return (loss / Double(b), g, Double(correct) / Double(b))
    }

    /// H·v for the mean loss over the batch (cross-entropy unless told), exactly, by
    /// forward-over-reverse differentiation: the one-column case of `CurvatureProducts`.
    public func hessianVectorProduct(_ x: Matrix, labels: [Int], _ v: [Double], loss: Loss = .crossEntropy,
                                     targets: Matrix? = nil) -> [Double] {
        CurvatureProducts(network: self, inputs: x, labels: labels, loss: loss, targets: targets)
            .apply(.hessian, to: Matrix(rows: v.count, cols: 1, storage: v)).storage
    }

    /// G·v for the Gauss–Newton (G-term) matrix (1/B)Σ_μ J^μᵀ (∂²ℓ/∂z²) J^μ of the same loss
    /// (cross-entropy: P^μ; the hinge: [Δ_μ > 0], which makes G the H₀ of Geiger et al.): the
    /// one-column case of `CurvatureProducts`.
    public func gaussNewtonVectorProduct(_ x: Matrix, _ v: [Double], loss: Loss = .crossEntropy, labels: [Int] = []) -> [Double] {
        CurvatureProducts(network: self, inputs: x, labels: labels, loss: loss)
            .apply(.gaussNewton, to: Matrix(rows: v.count, cols: 1, storage: v)).storage
    }

    /// (1/B)·P^μ·r^μ for each column, P^μ the softmax Hessian at logits z^μ; r may carry b directions
    /// per example, stacked ((C·b) × B), each multiplied by its example's P^μ.
    static func softmaxHessianTimes(_ z: Matrix, _ r: Matrix) -> Matrix {
        let (c, b) = (z.rows, z.cols)
        let directions = r.rows / c
        let p = softmaxRows(z.storage, classes: c)
        var out = Matrix(rows: r.rows, cols: b)
        for e in 0..<b {
            for j in 0..<directions {
                let base = (e * directions + j) * c
                var dot = 0.0
                for k in 0..<c { dot += p[e * c + k] * r.storage[base + k] }
                for k in 0..<c { out.storage[base + k] = p[e * c + k] * (r.storage[base + k] - dot) / Double(b) }
            }
        }
        return out
    }

    /// Per-example logit Jacobian products J·v (classes × B), by forward-mode differentiation.
    public func jacobianVectorProduct(_ x: Matrix, _ v: [Double]) -> Matrix { forward(x, direction: v).rOutput }
}

/// The per-example, per-logit gradients of a network's logits, kept factored: for a dense layer
/// ∂z^μ_k/∂W = δ^μ_k·a^μᵀ, so their inner products are (δ^μ_k·δ^ν_l)(a^μ·a^ν + 1) (the 1 for the
/// bias) and never need a D-vector; convolution gradients (few parameters) are kept explicitly.
public struct LogitGradients {
    public let examples: Int
    public let classes: Int
    /// Dense layers: inputs a (in × B) and output gradients Δ (out × B·C, column μ·C + k).
    var dense: [(inputs: Matrix, deltas: Matrix, offset: Int)] = []
    /// Convolution layers: explicit gradients (parameters of the layer × B·C).
    var conv: [(gradients: Matrix, offset: Int)] = []

    public init(network: Network, inputs x: Matrix) {
        let arch = network.architecture
        let (b, c) = (x.cols, arch.classes)
        examples = b
        classes = c
        let t = network.forward(x)
        let offs = network.offsets
        var deltas: [Int: Matrix] = [:]
        var convGrads: [Int: Matrix] = [:]
        for (index, layer) in arch.layers.enumerated() {
            switch layer {
            case let .dense(_, _, o): deltas[index] = Matrix(rows: o, cols: b * c)
            case .conv: convGrads[index] = Matrix(rows: layer.parameterCount, cols: b * c)
            default: break
            }
        }
        for k in 0..<c {
            var g = Matrix(rows: c, cols: b)
            for e in 0..<b { g[k, e] = 1 }
            _ = network.backward(t, outputGradient: g) { index, gy in
                switch arch.layers[index] {
                case .dense:
                    var d = deltas[index]!
                    for e in 0..<b {
                        d.storage.replaceSubrange(((e * c + k) * d.rows)..<((e * c + k + 1) * d.rows),
                                                  with: gy.storage[(e * gy.rows)..<((e + 1) * gy.rows)])
                    }
                    deltas[index] = d
                case let .conv(_, ci, co, h, w):
                    var m = convGrads[index]!
                    for e in 0..<b {
                        let ge = Matrix(rows: h * w, cols: co, storage: Array(gy.storage[(e * gy.rows)..<((e + 1) * gy.rows)]))
                        let row = Convolution.exampleGradient(t.inputs[index], example: e, outputGradient: ge, channels: ci, height: h, width: w)
                        m.storage.replaceSubrange(((e * c + k) * m.rows)..<((e * c + k + 1) * m.rows), with: row)
                    }
                    convGrads[index] = m
                default: break
                }
            }
        }
        for (index, layer) in arch.layers.enumerated() {
            if case .dense = layer { dense.append((t.inputs[index], deltas[index]!, offs[index])) }
            if case .conv = layer { conv.append((convGrads[index]!, offs[index])) }
        }
    }

    /// The (B·C)×(B·C) Gram of all logit gradients (the empirical NTK), index μ·C + k, by the
    /// factorisation: one syrk per dense layer on the Δ's and one on the inputs.
    public var gram: Matrix {
        let n = examples * classes
        var k = Matrix(rows: n, cols: n)
        for layer in dense {
            let dd = BLAS.gram(layer.deltas)           // (δ·δ)
            let aa = BLAS.gram(layer.inputs)           // (a·a), B×B
            k.storage.withUnsafeMutableBufferPointer { pk in
                dd.storage.withUnsafeBufferPointer { pd in
                    aa.storage.withUnsafeBufferPointer { pa in
                        for j in 0..<n {
                            let nu = j / classes
                            for i in 0..<n { pk[i + j * n] += pd[i + j * n] * (pa[i / classes + nu * examples] + 1) }
                        }
                    }
                }
            }
        }
        for layer in conv { BLAS.accumulateGram(layer.gradients, into: &k) }
        return k
    }

    /// The explicit logit-gradient rows as a D×(B·C) matrix (column μ·C + k): the reference the
    /// factorised Gram is tested and timed against. Memory D·B·C.
    public func explicitJacobian(parameterCount d: Int) -> Matrix {
        let n = examples * classes
        var j = Matrix(rows: d, cols: n)
        for layer in dense {
            let (a, delta) = (layer.inputs, layer.deltas)
            let (inSize, outSize) = (a.rows, delta.rows)
            for col in 0..<n {
                let e = col / classes
                let base = col * d + layer.offset
                for o in 0..<outSize {
                    let dv = delta[o, col]
                    for i in 0..<inSize { j.storage[base + o * inSize + i] = dv * a[i, e] }
                    j.storage[base + outSize * inSize + o] = dv
                }
            }
        }
        for layer in conv {
            for col in 0..<n {
                for r in 0..<layer.gradients.rows { j.storage[col * d + layer.offset + r] = layer.gradients[r, col] }
            }
        }
        return j
    }
}
