import CZlib
import Foundation

/// gzip/zlib decompression through the system zlib, for the gzipped IDX files Debian ships.
public enum Gzip {
    /// True when `data` starts with the gzip magic bytes 1f 8b.
    public static func isGzip(_ data: Data) -> Bool {
        data.count >= 2 && data[data.startIndex] == 0x1F && data[data.startIndex + 1] == 0x8B
    }

    /// Inflates a gzip or zlib stream (header auto-detected; concatenated gzip members are joined),
    /// reading and writing in 64 KiB chunks. A corrupt or truncated stream throws `DataError.malformed`.
    public static func decompress(_ data: Data) throws -> Data {
        guard !data.isEmpty else { throw DataError.malformed("gzip stream is empty") }
        var stream = z_stream()
        // windowBits 15 + 32: 32 KiB window, detect gzip or zlib header automatically.
        let initStatus = inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard initStatus == Z_OK else { throw DataError.malformed("zlib could not start inflating (code \(initStatus))") }
        defer { inflateEnd(&stream) }

        let chunk = 1 << 16
        let buffer = UnsafeMutablePointer<Bytef>.allocate(capacity: chunk)
        defer { buffer.deallocate() }
        var output = Data()
        output.reserveCapacity(data.count * 4)

        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            let input = raw.bindMemory(to: Bytef.self)
            guard let base = input.baseAddress else { return }
            let total = input.count
            var fed = 0
            while true {
                if stream.avail_in == 0 && fed < total {
                    let n = min(chunk, total - fed)
                    stream.next_in = UnsafeMutablePointer(mutating: base + fed)
                    stream.avail_in = uInt(n)
                    fed += n
                }
                stream.next_out = buffer
                stream.avail_out = uInt(chunk)
                let status = inflate(&stream, Z_NO_FLUSH)
                output.append(buffer, count: chunk - Int(stream.avail_out))
                switch status {
                case Z_OK:
                    continue
                case Z_STREAM_END:
                    if stream.avail_in == 0 && fed == total { return }
                    // Another gzip member follows (as `cat a.gz b.gz` makes).
                    _ = inflateReset(&stream)
                case Z_BUF_ERROR where stream.avail_in == 0 && fed == total:
                    throw DataError.malformed(
                        "gzip stream is truncated (input ended before the end-of-stream marker after \(output.count) bytes); the file is incomplete, re-download or re-install it")
                case Z_DATA_ERROR, Z_NEED_DICT, Z_STREAM_ERROR:
                    let reason = stream.msg.map { String(cString: $0) } ?? "code \(status)"
                    throw DataError.malformed("gzip stream is corrupt (\(reason)); the file is damaged, re-download or re-install it")
                case Z_MEM_ERROR:
                    throw DataError.malformed("zlib ran out of memory while inflating")
                default:
                    throw DataError.malformed("zlib failed while inflating (code \(status))")
                }
            }
        }
        return output
    }

    /// The contents of a file, inflated if it starts with the gzip magic and returned as-is otherwise.
    public static func contents(of url: URL) throws -> Data {
        let raw: Data
        do {
            raw = try Data(contentsOf: url, options: .mappedIfSafe)
        } catch {
            throw DataError.notFound("\(url.path) could not be read (\(error.localizedDescription)); check the path and permissions")
        }
        guard isGzip(raw) else { return raw }
        do {
            return try decompress(raw)
        } catch let DataError.malformed(message) {
            throw DataError.malformed("\(url.path): \(message)")
        }
    }
}
