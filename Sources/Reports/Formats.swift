import Foundation

/// A JSON value written with a fixed key order and shortest round-trip numbers; non-finite numbers become null.
public indirect enum JSON {
    case number(Double)
    case integer(Int)
    /// A seed or other unsigned 64-bit value, written exactly (JSON numbers have no size limit; Python reads them exactly).
    case unsigned(UInt64)
    case string(String)
    case bool(Bool)
    case array([JSON])
    case object([(String, JSON)])
    case null

    public static func numbers(_ values: [Double]) -> JSON { .array(values.map { .number($0) }) }

    public func render(indent: Int = 0) -> String {
        let pad = String(repeating: "  ", count: indent + 1), close = String(repeating: "  ", count: indent)
        switch self {
        case .number(let v): return v.isFinite ? formatNumber(v) : "null"
        case .integer(let i): return String(i)
        case .unsigned(let u): return String(u)
        case .string(let s): return JSON.quoted(s)
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        case .array(let items):
            if items.allSatisfy({ if case .object = $0 { return false } else { return true } }) {
                return "[" + items.map { $0.render(indent: indent + 1) }.joined(separator: ", ") + "]"
            }
            return "[\n" + items.map { pad + $0.render(indent: indent + 1) }.joined(separator: ",\n") + "\n" + close + "]"
        case .object(let pairs):
            if pairs.isEmpty { return "{}" }
            return "{\n" + pairs.map { pad + JSON.quoted($0.0) + ": " + $0.1.render(indent: indent + 1) }.joined(separator: ",\n") + "\n" + close + "}"
        }
    }

    /// A JSON string literal: quotes, backslashes and control characters escaped (RFC 8259 §7).
    static func quoted(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            case _ where u.value < 0x20: out += String(format: "\\u%04x", u.value)
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }

    public var data: Data { (render() + "\n").data(using: .utf8)! }
}

/// Shortest decimal that reads back to the same double (Swift's description), with integers kept as x.0-free text.
public func formatNumber(_ v: Double) -> String {
    guard v.isFinite else { return "nan" }
    return "\(v)"
}
