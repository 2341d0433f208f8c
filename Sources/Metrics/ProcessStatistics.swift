#if canImport(Glibc)
    import Glibc
#endif

/// This process's resource use as Linux reports it in `/proc`, for the standard `process_*` metrics.
public struct ProcessStatistics: Sendable {
    /// Resident memory, in bytes.
    public var residentBytes: Int
    /// Virtual memory, in bytes.
    public var virtualBytes: Int
    /// CPU time spent in user and kernel mode, in seconds.
    public var cpuSeconds: Double
    /// Open file descriptors (client connections, database connections, files).
    public var openFiles: Int
    /// The limit of open file descriptors.
    public var maximumOpenFiles: Int
    /// When the process started, in seconds since the Unix epoch.
    public var startTimeSeconds: Double

    /// Reads the figures now; a figure `/proc` does not give stays 0.
    public static func current() -> ProcessStatistics {
        var statistics = ProcessStatistics(
            residentBytes: 0, virtualBytes: 0, cpuSeconds: 0, openFiles: countOpenFiles(),
            maximumOpenFiles: openFileLimit(), startTimeSeconds: startTime)
        if let fields = statFields() {
            let ticks = Double(clockTicksPerSecond)
            statistics.cpuSeconds = (Double(fields.field(14)) + Double(fields.field(15))) / ticks
            statistics.virtualBytes = fields.field(23)
            statistics.residentBytes = fields.field(24) * Int(sysconf(Int32(_SC_PAGESIZE)))
        }
        return statistics
    }

    private static let clockTicksPerSecond = max(1, sysconf(Int32(_SC_CLK_TCK)))

    /// Boot time (`btime` of `/proc/stat`) plus the process's start in ticks after boot; read once.
    private static let startTime: Double = {
        guard let fields = statFields(),
            let stat = readFile("/proc/stat"),
            let line = stat.split(separator: "\n").first(where: { $0.hasPrefix("btime ") }),
            let bootTime = Double(line.dropFirst("btime ".count))
        else { return 0 }
        return bootTime + Double(fields.field(22)) / Double(clockTicksPerSecond)
    }()

    /// The fields of `/proc/self/stat` after the command name (which may hold spaces), numbered as
    /// `proc(5)` numbers them.
    private struct StatFields {
        let afterName: [Substring]

        /// Field `number` (3 or more) as an integer, 0 when it is missing.
        func field(_ number: Int) -> Int {
            let index = number - 3
            guard afterName.indices.contains(index) else { return 0 }
            return Int(afterName[index]) ?? 0
        }
    }

    private static func statFields() -> StatFields? {
        guard let stat = readFile("/proc/self/stat"), let nameEnd = stat.lastIndex(of: ")") else { return nil }
        return StatFields(afterName: stat[stat.index(after: nameEnd)...].split(separator: " "))
    }

    private static func countOpenFiles() -> Int {
        guard let directory = opendir("/proc/self/fd") else { return 0 }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            if UInt8(bitPattern: entry.pointee.d_name.0) != UInt8(ascii: ".") { count += 1 }
        }
        // The descriptor of the directory being read is one of them.
        return max(0, count - 1)
    }

    private static func openFileLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 0 }
        return Int(clamping: limit.rlim_cur)
    }

    /// A small text file of `/proc`, read whole.
    private static func readFile(_ path: String) -> String? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            bytes.append(contentsOf: buffer[..<count])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
