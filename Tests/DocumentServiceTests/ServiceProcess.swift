import Foundation
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// The `docstore` executable run as a child process, its standard error collected.
final class ServiceProcess: @unchecked Sendable {
    /// The built `docstore` binary, beside the test bundle.
    static let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        .appendingPathComponent("docstore")

    private let process = Process()
    private let lock = NSLock()
    private var collected = Data()

    /// Starts `docstore arguments...` with exactly `environment` (plus PATH).
    init(_ arguments: [String], environment: [String: String]) throws {
        process.executableURL = Self.binary
        process.arguments = arguments
        var environment = environment
        environment["PATH"] = ProcessInfo.processInfo.environment["PATH"]
        process.environment = environment
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = errors
        process.standardInput = FileHandle.nullDevice
        errors.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self, !data.isEmpty else { return }
            self.lock.withLock { self.collected.append(data) }
        }
        try process.run()
    }

    /// A `serve` process on a free port over its own schema, once it logs that it listens.
    static func serve(schema: String, extra: [String: String] = [:]) throws -> (ServiceProcess, port: Int) {
        var environment = [
            "DATABASE_URL": TestPostgres.url,
            "SERVICE_KEY": TestService.key,
            "HOST": "127.0.0.1",
            "PORT": "0",
            "SUPABASE_SCHEMA": schema,
        ]
        environment.merge(extra) { _, new in new }
        let process = try ServiceProcess(["serve"], environment: environment)
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if let range = process.output.range(of: "listening on http://127.0.0.1:") {
                let digits = process.output[range.upperBound...].prefix { $0.isNumber }
                // The line ends after the port as text, or the message's string does as JSON.
                let after = process.output[range.upperBound...].dropFirst(digits.count).first
                if let port = Int(digits), after == "\n" || after == "\"" {
                    return (process, port)
                }
            }
            guard process.isRunning else { break }
            usleep(20_000)
        }
        process.signal(SIGKILL)
        throw HTTPClient.Failure(description: "docstore serve did not start: \(process.output)")
    }

    /// Everything the process wrote so far.
    var output: String {
        lock.withLock { String(decoding: collected, as: UTF8.self) }
    }

    var isRunning: Bool { process.isRunning }

    /// A figure of `/proc/<pid>/status` (`VmRSS` and `VmHWM` in kB, `Threads`), nil once the process ended.
    func status(_ field: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)
        else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            return Int(line.dropFirst(field.count + 1).split(whereSeparator: { $0 == " " || $0 == "\t" }).first ?? "")
        }
        return nil
    }

    func signal(_ signal: Int32) {
        kill(process.processIdentifier, signal)
    }

    /// The exit status, waiting up to `timeout` seconds; nil if it is still running then.
    func waitForExit(timeout: Double = 30) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        guard !process.isRunning else { return nil }
        usleep(50_000)
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}
