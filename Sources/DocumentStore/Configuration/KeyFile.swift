#if canImport(Glibc)
    import Glibc
#endif

/// A keys file on disk (`SERVICE_KEY_FILE`, the form in which Kubernetes and Docker mount secrets).
public struct KeyFile: Sendable {
    public let path: String

    public init(path: String) {
        self.path = path
    }

    /// The largest keys file read.
    static let maximumBytes = 1 << 20

    /// Reads and parses the file; the error names the path or the line, never a key.
    public func load() throws(AccessKeyError) -> [AccessKey] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw AccessKeyError("cannot read \(path): \(Self.lastError())") }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw AccessKeyError("cannot read \(path): \(Self.lastError())") }
            guard count > 0 else { break }
            bytes += chunk[..<count]
            guard bytes.count <= Self.maximumBytes else {
                throw AccessKeyError("\(path) is larger than \(Self.maximumBytes) bytes; is it the keys file?")
            }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw AccessKeyError("\(path) is not UTF-8 text")
        }
        return try AccessKeyList.parse(file: text)
    }

    /// What tells this version of the file from the next: its device, inode, size and modification time
    /// (the path is followed, so a Kubernetes secret's swapped symlink counts); `nil` when it cannot be read.
    public func stamp() -> Stamp? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        return Stamp(
            device: UInt64(status.st_dev),
            inode: UInt64(status.st_ino),
            size: Int64(status.st_size),
            modifiedSeconds: Int64(status.st_mtim.tv_sec),
            modifiedNanoseconds: Int64(status.st_mtim.tv_nsec)
        )
    }

    public struct Stamp: Sendable, Equatable {
        let device: UInt64
        let inode: UInt64
        let size: Int64
        let modifiedSeconds: Int64
        let modifiedNanoseconds: Int64
    }

    private static func lastError() -> String {
        String(cString: strerror(errno))
    }
}
