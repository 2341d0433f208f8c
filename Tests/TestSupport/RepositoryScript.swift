import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A script of the repository's `scripts/` folder run from a test.
public enum RepositoryScript {
    /// Runs `scripts/<script> arguments...` with `environment` added to this process's, and returns its
    /// standard output, trimmed. The script is spawned with only standard input, output and error open (files, not pipes)
    /// and waited for with `waitpid`: the PostgreSQL server it starts would otherwise inherit a pipe, or
    /// the socket by which Foundation's `Process` notices an exit, or this process's client sockets, and
    /// hold them open for as long as it runs.
    public static func run(
        _ script: String,
        _ arguments: [String] = [],
        environment extra: [String: String] = [:],
        timeout: Double = 180
    ) throws -> String {
        let directory = FileManager.default.temporaryDirectory
        let name = "docstore-\(script)-\(UUID().uuidString)"
        let outputPath = directory.appendingPathComponent("\(name).out").path
        let errorPath = directory.appendingPathComponent("\(name).err").path
        defer {
            try? FileManager.default.removeItem(atPath: outputPath)
            try? FileManager.default.removeItem(atPath: errorPath)
        }
        var environment = ProcessInfo.processInfo.environment
        environment.merge(extra) { _, new in new }
        let path = TestPostgres.repository.appendingPathComponent("scripts/\(script)").path
        let pid = try spawn(
            ["/bin/bash", path] + arguments, environment: environment, output: outputPath, errors: errorPath)
        var status: Int32 = 0
        let deadline = Date().addingTimeInterval(timeout)
        while waitpid(pid, &status, WNOHANG) == 0 {
            guard Date() < deadline else {
                kill(pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                throw ScriptFailure("scripts/\(script) did not finish within \(timeout) s")
            }
            usleep(20_000)
        }
        let printed = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        // Exited normally with status 0: the low 7 bits (the signal) and the exit code are all zero.
        guard status == 0 else {
            let messages = (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? ""
            throw ScriptFailure("scripts/\(script) failed (wait status \(status)): \(messages.suffix(2000))")
        }
        return printed.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// posix_spawn with standard input from /dev/null, output and errors to files, every other
    /// descriptor closed.
    private static func spawn(
        _ arguments: [String],
        environment: [String: String],
        output: String,
        errors: String
    ) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errors, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        // glibc 2.34+; not in Swift's Glibc module, so looked up by name.
        typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np")
        else {
            throw ScriptFailure("posix_spawn_file_actions_addclosefrom_np is missing (glibc < 2.34)")
        }
        _ = unsafeBitCast(symbol, to: CloseFrom.self)(&actions, 3)
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        // The test threads (Dispatch's) block most signals, and a child inherits the mask: without this,
        // a daemon the script starts (PgBouncer) could never be stopped with SIGTERM.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
        var pid: pid_t = 0
        let result = posix_spawn(&pid, arguments[0], &actions, &attributes, argv, envp)
        guard result == 0 else {
            throw ScriptFailure("posix_spawn \(arguments[0]) failed: \(String(cString: strerror(result)))")
        }
        return pid
    }
}

/// A script that failed or did not finish.
public struct ScriptFailure: Error, CustomStringConvertible {
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}
