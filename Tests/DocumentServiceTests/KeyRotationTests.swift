import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Keys from `SERVICE_KEY_FILE`, rotated while the `docstore` executable serves (SPEC section 7, Auth).
@Suite struct KeyRotationTests {
    static let keyA = "rotation-key-a-0123456789"
    static let keyB = "rotation-key-b-0123456789"
    static let keyC = "rotation-key-c-0123456789"
    static let keyD = "rotation-key-d-0123456789"

    /// Replaces the file's contents in one step, as a secret mount or `mv` does.
    static func write(_ text: String, to path: String) throws {
        let staging = path + ".new"
        try text.write(toFile: staging, atomically: false, encoding: .utf8)
        guard rename(staging, path) == 0 else { throw HTTPClient.Failure(description: "rename failed") }
    }

    static func keysFile() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("docstore-keys-\(UUID().uuidString)").path
    }

    /// The process's output once it holds `text` `count` times, or after 10 seconds.
    static func waitForLog(_ process: ServiceProcess, _ text: String, count: Int = 1) -> Bool {
        let deadline = Date().addingTimeInterval(10)
        while process.output.components(separatedBy: text).count - 1 < count {
            guard Date() < deadline else { return false }
            usleep(20_000)
        }
        return true
    }

    static func status(_ port: Int, key: String) throws -> Int {
        try HTTPClient(port: port).call("GET", "/sessions?limit=1", key: key).status
    }

    @Test func sighupAndFileChangesRotateKeysWithoutRefusingAKeyInBothSets() throws {
        let path = Self.keysFile()
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Self.write("# first set\n\(Self.keyA)\n\(Self.keyB) access=read\n", to: path)
        let schema = TestPostgres.uniqueSchema("rotation")
        defer { DocstoreCommand.dropSchema(schema) }
        let (process, port) = try ServiceProcess.serve(
            schema: schema, extra: ["SERVICE_KEY": "", "SERVICE_KEY_FILE": path])
        #expect(Self.waitForLog(process, "service keys from \(path): 2 keys: "), "\(process.output)")
        #expect(try Self.status(port, key: Self.keyA) == 200)
        #expect(try Self.status(port, key: Self.keyC) == 401)

        // Clients keep using key B, which every set below holds, while the set changes under them.
        let stop = LockedValue(false)
        let refusals = ConcurrentResults()
        let served = LockedValue(0)
        let group = DispatchGroup()
        for _ in 0..<4 {
            DispatchQueue.global().async(group: group) {
                let client = HTTPClient(port: port)
                while !stop.value {
                    do {
                        let status = try client.call("GET", "/sessions?limit=1", key: Self.keyB).status
                        if status == 200 { served.add(1) } else { refusals.append("status \(status)") }
                    } catch {
                        refusals.append("\(error)")
                    }
                }
            }
        }

        try Self.write("\(Self.keyB)\n\(Self.keyC) stores=sessions\n", to: path)
        process.signal(SIGHUP)
        #expect(Self.waitForLog(process, "(SIGHUP): 2 keys: "), "\(process.output)")
        #expect(try Self.status(port, key: Self.keyC) == 200)
        #expect(try Self.status(port, key: Self.keyA) == 401, "a removed key is refused at once")

        try Self.write("\(Self.keyB)\nshort-key\n", to: path)
        process.signal(SIGHUP)
        #expect(Self.waitForLog(process, "service keys not reloaded from \(path) (SIGHUP): line 2: too short"))
        #expect(try Self.status(port, key: Self.keyC) == 200, "a bad file keeps the keys in force")

        let changed = "(file changed): 2 keys: "
        let earlier = process.output.components(separatedBy: changed).count - 1
        try Self.write("\(Self.keyB)\n\(Self.keyD)\n", to: path)
        #expect(Self.waitForLog(process, changed, count: earlier + 1), "no reload on the file's change")
        #expect(try Self.status(port, key: Self.keyD) == 200)
        #expect(try Self.status(port, key: Self.keyC) == 401)

        stop.value = true
        group.wait()
        #expect(refusals.all.isEmpty, "key B was refused: \(refusals.all.prefix(5))")
        #expect(served.value > 50, "too few requests ran during the rotation to show anything: \(served.value)")

        process.signal(SIGTERM)
        #expect(process.waitForExit() == 0)
        for key in [Self.keyA, Self.keyB, Self.keyC, Self.keyD] {
            #expect(!process.output.contains(key), "a key is in the log")
        }
    }

    @Test func sighupWithoutAKeysFileKeepsServing() throws {
        let schema = TestPostgres.uniqueSchema("rotation_env")
        defer { DocstoreCommand.dropSchema(schema) }
        let (process, port) = try ServiceProcess.serve(
            schema: schema, extra: ["SERVICE_KEY": "\(Self.keyA),\(Self.keyB)"])
        process.signal(SIGHUP)
        #expect(Self.waitForLog(process, "SIGHUP: keys come from SERVICE_KEY or SUPABASE_KEY"), "\(process.output)")
        #expect(process.isRunning)
        #expect(try Self.status(port, key: Self.keyA) == 200)
        #expect(try Self.status(port, key: Self.keyB) == 200)
        process.signal(SIGTERM)
        #expect(process.waitForExit() == 0)
    }

    @Test func aMalformedKeysFileStopsTheStartWithStatusTwo() throws {
        let path = Self.keysFile()
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Self.write("\(Self.keyA)\n\(Self.keyB) stores=everything\n", to: path)
        let result = try DocstoreCommand.run(
            ["serve"], environment: ["DATABASE_URL": TestPostgres.url, "SERVICE_KEY_FILE": path, "PORT": "0"])
        #expect(result.status == 2, "\(result.output)")
        #expect(result.stderr.contains("configuration error: SERVICE_KEY_FILE: line 2: stores= takes"))
        #expect(!result.output.contains(Self.keyB))
    }
}

/// A value shared between threads under a lock.
final class LockedValue<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value

    init(_ value: Value) {
        stored = value
    }

    var value: Value {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}

extension LockedValue where Value == Int {
    func add(_ amount: Int) {
        lock.withLock { stored += amount }
    }
}
