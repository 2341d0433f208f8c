import Foundation
import TestSupport
import Testing

@testable import DocumentStore

#if canImport(Glibc)
    import Glibc
#endif

/// The `docstore` executable as an operator runs it: its subcommands, exit statuses, configuration
/// errors, access log and shutdown.
@Suite struct ExecutableTests {
    static let password = "S3cretPassw0rd!"

    // MARK: serve: shutdown

    @Test func sigtermLetsTheRequestInFlightFinishThenExitsZero() throws {
        let schema = TestPostgres.uniqueSchema("drain")
        defer { DocstoreCommand.dropSchema(schema) }
        let (process, port) = try ServiceProcess.serve(schema: schema, extra: ["SHUTDOWN_GRACE_SECONDS": "120"])
        let setup = HTTPClient(port: port)
        #expect(try setup.call("POST", "/sessions/sessions", json: #"{"id": "s1", "title": "before"}"#).status == 201)

        let lock = try RowLock(schema: schema, table: "parlant_sessions", id: "s1")
        defer { lock.release() }
        let inFlight = HTTPClient(port: port)
        try inFlight.write(
            RawSocket.request("PATCH", "/sessions/sessions/s1", port: port, json: #"{"title": "after"}"#))
        try #require(
            RowLock.waitUntilBlocked(schema: schema, table: "parlant_sessions"),
            "the PATCH never started waiting for the row lock")

        process.signal(SIGTERM)
        // New connections are refused (or at least not served) soon after the signal.
        var refused = false
        let deadline = Date().addingTimeInterval(15)
        while !refused && Date() < deadline {
            if let probe = RawSocket.connect(port: port) {
                try? probe.send(RawSocket.request("GET", "/healthz", port: port, key: nil))
                refused = (try? probe.readResponse(timeout: 2)) == nil
            } else {
                refused = true
            }
            if !refused { usleep(100_000) }
        }
        #expect(refused, "new connections were still served 15 s after SIGTERM")
        #expect(process.isRunning, "the process exited while a request was still in flight")

        lock.release()
        let response = try inFlight.readResponse()
        #expect(response.status == 200)
        #expect(response.object["title"] as? String == "after")
        let stored = try TestPostgres.sql(
            "SELECT data->>'title' FROM \(unsafeSQL: "\"\(schema)\".parlant_sessions") WHERE id = 's1'")
        #expect(stored.first?.first == "after")

        #expect(process.waitForExit(timeout: 60) == 0)
        let output = DocstoreCommand.waitForOutput(process, containing: "stopped")
        #expect(output.contains("SIGTERM"))
        #expect(output.contains("stopped"))
        #expect(!output.contains("cancelled"), "\(output)")
    }

    @Test func shutdownGraceSecondsBoundsTheWaitForARequestThatDoesNotFinish() throws {
        let schema = TestPostgres.uniqueSchema("grace")
        defer { DocstoreCommand.dropSchema(schema) }
        let (process, port) = try ServiceProcess.serve(schema: schema, extra: ["SHUTDOWN_GRACE_SECONDS": "1"])
        let setup = HTTPClient(port: port)
        #expect(try setup.call("POST", "/sessions/sessions", json: #"{"id": "g1"}"#).status == 201)

        // The row stays locked for the whole test: the PATCH cannot finish while the process shuts down.
        let lock = try RowLock(schema: schema, table: "parlant_sessions", id: "g1")
        defer { lock.release() }
        let inFlight = HTTPClient(port: port)
        try inFlight.write(RawSocket.request("PATCH", "/sessions/sessions/g1", port: port, json: #"{"x": 1}"#))
        try #require(
            RowLock.waitUntilBlocked(schema: schema, table: "parlant_sessions"),
            "the PATCH never started waiting for the row lock")

        process.signal(SIGTERM)
        // One second of grace, then the process must stop; 20 s is slack, not a timing requirement.
        let status = process.waitForExit(timeout: 20)
        #expect(
            status == 0,
            "still running 20 s after SIGTERM with SHUTDOWN_GRACE_SECONDS=1 (status \(String(describing: status)))")
        // The stuck statement was cancelled: its client got a retryable 503, not a silently closed socket.
        let answer = try inFlight.readResponse(method: "PATCH")
        #expect(answer.status == 503)
        #expect(answer.errorCode == "database_unavailable")
        #expect(answer.header("Retry-After") != nil)
        lock.release()
        let stored = try TestPostgres.sql(
            "SELECT data ->> 'x' FROM \(unsafeSQL: schema).parlant_sessions WHERE id = 'g1'")
        #expect(stored.first?.first == .some(nil), "the cancelled PATCH must not have written")
        let output = DocstoreCommand.waitForOutput(process, containing: "stopped")
        #expect(output.contains("cancelled 1 database statements"), "\(output)")
    }

    @Test func anUploadStillArrivingIsCutAtTheGraceDeadline() throws {
        let schema = TestPostgres.uniqueSchema("upload")
        defer { DocstoreCommand.dropSchema(schema) }
        let (process, port) = try ServiceProcess.serve(schema: schema, extra: ["SHUTDOWN_GRACE_SECONDS": "1"])
        // A head promising 100,000 bytes, then a few: the request stays in its body when SIGTERM comes.
        let upload = try #require(RawSocket.connect(port: port))
        let head =
            "POST /sessions/uploads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(TestService.key)\r\n"
            + "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"id\": \"u1\", \"pad\": \""
        try upload.send(Array(head.utf8))
        usleep(300_000)

        process.signal(SIGTERM)
        // 20 s is slack, not a timing requirement.
        #expect(process.waitForExit(timeout: 20) == 0)
        let output = process.output
        #expect(output.contains("requests still running after 1 s"), "\(output)")
        // Nothing was being answered, so nothing was waited for after the grace.
        #expect(!output.contains("stopping without waiting"), "\(output)")
        #expect(upload.receiveUntilClosed(timeout: 10) != .timedOut, "the upload's connection stayed open")
        #expect(try TestPostgres.sql("SELECT to_regclass(\(bind: "\(schema).parlant_sessions_uploads"))").first?.first == .some(nil))
    }

    @Test func sigintOnAnIdleServerExitsZero() throws {
        let schema = TestPostgres.uniqueSchema("sigint")
        let (process, port) = try ServiceProcess.serve(schema: schema)
        // An idle keep-alive connection stays open across the signal; it must not hold the exit up.
        let idle = HTTPClient(port: port)
        #expect(try idle.call("GET", "/healthz", key: nil).status == 200)
        process.signal(SIGINT)
        #expect(process.waitForExit(timeout: 60) == 0)
        let output = DocstoreCommand.waitForOutput(process, containing: "stopped")
        #expect(output.contains("SIGINT"))
        #expect(output.contains("stopped"))
    }

    // MARK: configuration errors

    @Test func noConfigurationAtAllExitsTwoNamingEachVariable() throws {
        for arguments in [[], ["serve"], ["verify"]] {
            let result = try DocstoreCommand.run(arguments, environment: [:])
            #expect(result.status == 2, "docstore \(arguments): \(result.output)")
            let lines = result.stderr.split(separator: "\n").map(String.init)
            for variable in ["SUPABASE_URL", "SUPABASE_KEY", "SUPABASE_DB_PASSWORD"] {
                #expect(
                    lines.filter { $0.contains("\(variable):") }.count == 1,
                    "docstore \(arguments): no single line names \(variable): \(result.stderr)")
            }
            #expect(lines.count == 3, "one line per problem expected: \(result.stderr)")
            #expect(!result.output.contains("listening"))
        }
    }

    @Test func badPortExitsTwoNamingPort() throws {
        let result = try DocstoreCommand.run(
            ["serve"],
            environment: ["DATABASE_URL": TestPostgres.url, "SERVICE_KEY": TestService.key, "PORT": "abc"])
        #expect(result.status == 2)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(result.stderr)")
        #expect(lines.first?.contains("PORT") == true, "\(result.stderr)")
        #expect(!result.output.contains("listening"))
    }

    @Test func tooShortKeyExitsTwo() throws {
        let short = try DocstoreCommand.run(
            ["serve"], environment: ["DATABASE_URL": TestPostgres.url, "SERVICE_KEY": "short"])
        #expect(short.status == 2)
        #expect(short.stderr.contains("SERVICE_KEY"), "\(short.stderr)")
        #expect(!short.output.contains("listening"))
        let shortSupabase = try DocstoreCommand.run(
            ["serve"], environment: ["DATABASE_URL": TestPostgres.url, "SUPABASE_KEY": "abc"])
        #expect(shortSupabase.status == 2)
        #expect(shortSupabase.stderr.contains("SUPABASE_KEY"), "\(shortSupabase.stderr)")
    }

    @Test func thePasswordNeverAppearsInTheOutput() throws {
        let base = [
            "SUPABASE_URL": "https://abcdefgh.supabase.co",
            "SUPABASE_DB_PASSWORD": Self.password,
        ]
        // With another configuration error: exit 2, the error named, the password absent.
        let badPort = try DocstoreCommand.run(
            ["serve"], environment: base.merging(["SUPABASE_KEY": TestService.key, "PORT": "abc"]) { $1 })
        #expect(badPort.status == 2)
        #expect(badPort.stderr.contains("PORT"))
        #expect(!badPort.output.contains(Self.password), "\(badPort.output)")
        let noKey = try DocstoreCommand.run(["serve"], environment: base)
        #expect(noKey.status == 2)
        #expect(noKey.stderr.contains("SUPABASE_KEY"))
        #expect(!noKey.output.contains(Self.password), "\(noKey.output)")

        // A database that cannot be reached: verify fails, still without the password.
        let unreachable = [
            "SUPABASE_DB_HOST": "127.0.0.1", "SUPABASE_DB_PORT": "1", "SUPABASE_DB_PASSWORD": Self.password,
            "SUPABASE_KEY": TestService.key, "DB_CONNECT_TIMEOUT": "1",
        ]
        let verify = try DocstoreCommand.run(["verify"], environment: unreachable)
        #expect(verify.status == 1)
        #expect(!verify.output.contains(Self.password), "\(verify.output)")
        let inURL = try DocstoreCommand.run(
            ["verify"],
            environment: [
                "DATABASE_URL": "postgresql://postgres:\(Self.password)@127.0.0.1:1/postgres",
                "SERVICE_KEY": TestService.key, "DB_CONNECT_TIMEOUT": "1",
            ])
        #expect(inURL.status == 1)
        #expect(!inURL.output.contains(Self.password), "\(inURL.output)")

        // Served against it: the log and the answers never carry the password either.
        let (process, port) = try ServiceProcess.serve(
            schema: TestPostgres.uniqueSchema("pw"), extra: unreachable.merging(["DATABASE_URL": ""]) { $1 })
        let client = HTTPClient(port: port)
        let ready = try client.call("GET", "/readyz", key: nil)
        #expect(ready.status == 503)
        let find = try client.call("GET", "/sessions")
        #expect(find.status == 503)
        #expect(find.header("Retry-After") != nil)
        let verifyRoute = try client.call("GET", "/verify")
        for response in [ready, find, verifyRoute] {
            #expect(!response.text.contains(Self.password), "\(response.text)")
        }
        process.signal(SIGTERM)
        #expect(process.waitForExit() == 0)
        #expect(!process.output.contains(Self.password), "\(process.output)")
    }

    // MARK: help

    @Test func helpForEverySubcommandExitsZero() throws {
        let top = try DocstoreCommand.run(["--help"], environment: [:])
        #expect(top.status == 0)
        for subcommand in ["serve", "verify", "schema"] {
            #expect(top.output.contains(subcommand), "docstore --help does not mention \(subcommand)")
            let help = try DocstoreCommand.run([subcommand, "--help"], environment: [:])
            #expect(help.status == 0, "docstore \(subcommand) --help: \(help.output)")
            #expect(help.output.contains("USAGE: docstore \(subcommand)"), "\(help.output)")
        }
    }

    // MARK: schema

    @Test func schemaPrintsSQLThatCreatesTablesTheServiceThenUses() throws {
        let schema = TestPostgres.uniqueSchema("ddl")
        defer { DocstoreCommand.dropSchema(schema) }
        // Needs no database and no key.
        let printed = try DocstoreCommand.run(["schema"], environment: ["SUPABASE_SCHEMA": schema])
        #expect(printed.status == 0, "\(printed.stderr)")
        let collections: [(store: String, collection: String, table: String)] = [
            ("sessions", "sessions", "parlant_sessions"),
            ("sessions", "events", "parlant_sessions_events"),
            ("sessions", "metadata", "parlant_sessions_metadata"),
            ("customers", "customers", "parlant_customers"),
            ("customers", "customer_tag_associations", "parlant_customers_customer_tag_associations"),
            ("customers", "metadata", "parlant_customers_metadata"),
            ("variables", "variables", "parlant_context_variables"),
            ("variables", "variable_tag_associations", "parlant_context_variables_variable_tag_associations"),
            ("variables", "values", "parlant_context_variables_values"),
            ("variables", "metadata", "parlant_context_variables_metadata"),
        ]
        // A derived name longer than 63 bytes is shortened: 54 bytes of it, `_`, and 8 hex digits of its
        // SHA-256 (computed outside the service with sha256sum).
        func failedTable(_ table: String) -> String {
            table == "parlant_context_variables_variable_tag_associations"
                ? "parlant_context_variables_variable_tag_associations_fa_55c4da76" : table + "_failed_migrations"
        }
        for entry in collections {
            for table in [entry.table, failedTable(entry.table)] {
                #expect(
                    printed.stdout.contains("CREATE TABLE IF NOT EXISTS \"\(schema)\".\"\(table)\" ("),
                    "no CREATE TABLE for \(table)")
            }
        }
        #expect(printed.stdout.components(separatedBy: "CREATE TABLE").count - 1 == 20)
        let badSchema = try DocstoreCommand.run(["schema"], environment: ["SUPABASE_SCHEMA": "Bad-Name"])
        #expect(badSchema.status == 2)
        #expect(badSchema.stderr.contains("SUPABASE_SCHEMA"), "\(badSchema.stderr)")

        // The printed SQL runs as is on a fresh schema, and again (idempotent).
        let connection = try PostgresConnection(
            conninfo: TestPostgres.url, connectTimeoutSeconds: 5, usesPreparedStatements: false)
        try connection.execute(printed.stdout)
        try connection.execute(printed.stdout)
        func tables() throws -> Set<String> {
            Set(
                try TestPostgres.sql(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = \(bind: schema)"
                ).compactMap { $0.first ?? nil })
        }
        let expected = Set(collections.flatMap { [$0.table, failedTable($0.table)] })
        #expect(try tables() == expected)

        // A served process over that schema writes and reads documents in exactly those tables.
        let (process, port) = try ServiceProcess.serve(schema: schema)
        let client = HTTPClient(port: port)
        for entry in collections {
            let path = "/\(entry.store)/\(entry.collection)"
            let id = "doc-\(entry.collection)"
            let created = try client.call("POST", path, json: #"{"id": "\#(id)", "session_id": "s", "n": 1.5}"#)
            #expect(created.status == 201, "POST \(path): \(created.text)")
            let read = try client.call("GET", "\(path)/\(id)")
            #expect(read.status == 200)
            #expect(read.object["n"] as? Double == 1.5)
            let rows = try TestPostgres.sql(
                "SELECT session_id FROM \(unsafeSQL: "\"\(schema)\".\"\(entry.table)\"") WHERE id = \(bind: id)")
            #expect(rows.count == 1 && rows.first?.first == "s", "\(id) is not in \(entry.table)")
        }
        #expect(try tables() == expected, "the service created tables besides the ones the SQL made")
        process.signal(SIGTERM)
        #expect(process.waitForExit() == 0)

        let verify = try DocstoreCommand.run(
            ["verify"], environment: DocstoreCommand.serviceEnvironment(schema: schema))
        #expect(verify.status == 0, "\(verify.output)")
        for entry in collections {
            let line = verify.stdout.split(separator: "\n").first {
                $0.hasPrefix("\(entry.store)/\(entry.collection) ")
            }
            #expect(line?.contains(" ok ") == true, "\(entry.store)/\(entry.collection): \(line ?? "missing")")
        }
    }

    // MARK: verify

    @Test func verifyPassesAgainstTheTestDatabase() throws {
        let schema = TestPostgres.uniqueSchema("verify")
        defer { DocstoreCommand.dropSchema(schema) }
        let result = try DocstoreCommand.run(
            ["verify"], environment: DocstoreCommand.serviceEnvironment(schema: schema))
        #expect(result.status == 0, "\(result.output)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("CHECK") == true)
        let names = [
            "connection", "schema", "sessions/sessions", "sessions/events", "sessions/metadata",
            "customers/customers", "customers/customer_tag_associations", "customers/metadata",
            "variables/variables", "variables/variable_tag_associations", "variables/values",
            "variables/metadata", "data_api", "probe", "storage",
        ]
        for name in names {
            let line = lines.first { $0.hasPrefix(name + " ") }
            #expect(line?.contains(" ok ") == true, "check \(name): \(line ?? "missing")")
        }
        #expect(!result.stdout.contains("FAILED"))
    }

    @Test func verifyFailsWhenTheDatabaseIsUnreachable() throws {
        let result = try DocstoreCommand.run(
            ["verify"],
            environment: [
                "DATABASE_URL": "postgresql://postgres@127.0.0.1:1/postgres", "DB_CONNECT_TIMEOUT": "1",
                "SERVICE_KEY": TestService.key,
            ])
        #expect(result.status == 1, "\(result.output)")
        #expect(result.output.contains("FAILED"))
        let connection = result.stdout.split(separator: "\n").first { $0.hasPrefix("connection ") }
        #expect(connection?.contains("FAILED") == true)
    }

    // MARK: access log

    @Test func accessLogHasOneLinePerRequestWithoutSecrets() throws {
        let secret = "zq_secret_value_9"
        let wrongKey = "wrong-key-zq_badkey_4242"
        let schema = TestPostgres.uniqueSchema("log")
        defer { DocstoreCommand.dropSchema(schema) }
        let (process, port) = try ServiceProcess.serve(schema: schema)
        let client = HTTPClient(port: port)
        let whereParameter = #"{"title":"\#(secret)"}"#.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        let sent: [(expected: String, response: HTTPClient.Response)] = [
            ("GET /healthz 200", try client.call("GET", "/healthz", key: nil)),
            ("POST /{store}/{collection} 201", try client.call("POST", "/sessions/logged", json: #"{"id": "d1"}"#)),
            ("GET /{store}/{collection}/{id} 200", try client.call("GET", "/sessions/logged/d1")),
            ("GET /{store}/{collection} 200", try client.call("GET", "/sessions/logged?where=\(whereParameter)")),
            ("GET /{store}/{collection} 200", try client.call("GET", "/sessions/logged?title=eq.\(secret)")),
            (
                "POST /{store}/{collection}:find 200",
                try client.call("POST", "/sessions/logged:find", json: #"{"where": {"title": "\#(secret)"}}"#)
            ),
            ("GET /{store}/{collection}/{id} 401", try client.call("GET", "/sessions/logged/d1", key: wrongKey)),
            (
                "GET /{store}/{collection} 401",
                try client.call("GET", "/sessions/logged", key: nil, headers: [("apikey", wrongKey)])
            ),
            (
                "GET /{store}/{collection} 200",
                try client.call("GET", "/sessions/logged", key: nil, headers: [("apikey", TestService.key)])
            ),
        ]
        for (expected, response) in sent {
            #expect(response.status == Int(expected.split(separator: " ").last!), "\(expected): \(response.text)")
        }

        let accessLine = try Regex(
            #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z info (GET|POST|PUT|PATCH|DELETE) \S+ \d{3} \d+\.\dms id=[A-Za-z0-9._:-]{1,128}( key=[0-9a-f]{8})?$"#
        )
        // `printf %s test-service-key-0123456789 | sha256sum | cut -c1-8`: the key's fingerprint.
        let fingerprint = "key=\(TestService.keyFingerprint)"
        func accessLines() -> [String] {
            process.output.split(separator: "\n").map(String.init).filter { $0.wholeMatch(of: accessLine) != nil }
        }
        let deadline = Date().addingTimeInterval(15)
        while accessLines().count < sent.count && Date() < deadline { usleep(50_000) }
        usleep(300_000)
        let lines = accessLines()
        #expect(lines.count == sent.count, "\(process.output)")
        var remaining = lines
        for (expected, _) in sent {
            if let index = remaining.firstIndex(where: { $0.contains(" \(expected) ") }) {
                let authorised = expected.hasSuffix(" 200") || expected.hasSuffix(" 201")
                #expect(
                    remaining[index].hasSuffix(fingerprint) == (authorised && !expected.contains("/healthz")),
                    "\(remaining[index]): only requests authorised by a key name it, by its fingerprint")
                remaining.remove(at: index)
            } else {
                Issue.record("no access line '\(expected) <n>ms' in:\n\(process.output)")
            }
        }

        process.signal(SIGTERM)
        #expect(process.waitForExit() == 0)
        let output = process.output
        #expect(!output.contains(TestService.key), "the service key is in the log")
        #expect(!output.contains(wrongKey), "a presented key is in the log")
        #expect(!output.contains(secret), "a filter value is in the log")
    }

    @Test func jsonLogsParseLineByLineAndHoldNoSecret() throws {
        let secret = "zq_json_secret_7"
        let wrongKey = "wrong-key-zq_jsonkey_31"
        let schema = TestPostgres.uniqueSchema("jsonlog")
        defer { DocstoreCommand.dropSchema(schema) }
        let (process, port) = try ServiceProcess.serve(schema: schema, extra: ["LOG_FORMAT": "json"])
        let client = HTTPClient(port: port)
        let created = try client.call("POST", "/sessions/logged", json: #"{"id": "\#(secret)_doc"}"#)
        #expect(created.status == 201)
        let missing = try client.call("GET", "/sessions/logged/\(secret)_none", headers: [("X-Request-Id", "trace-json-1")])
        #expect(missing.status == 404)
        let found = try client.call("POST", "/sessions/logged:find", json: #"{"where": {"title": "\#(secret)"}}"#)
        #expect(found.status == 200)
        let refused = try client.call("GET", "/sessions/logged", key: wrongKey)
        #expect(refused.status == 401)
        process.signal(SIGTERM)
        #expect(process.waitForExit() == 0)

        let output = process.output
        let lines = output.split(separator: "\n").map(String.init)
        var requests: [[String: Any]] = []
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["time"] is String && object?["level"] is String, "\(line)")
            if let object, object["request_id"] != nil { requests.append(object) }
        }
        #expect(requests.count == 4, "\(output)")
        for request in requests {
            for field in ["request_id", "method", "route", "status", "ms"] {
                #expect(request[field] != nil, "\(field) missing in \(request)")
            }
        }
        let logged404 = requests.first { $0["request_id"] as? String == "trace-json-1" }
        #expect(logged404?["route"] as? String == "/{store}/{collection}/{id}")
        #expect(logged404?["status"] as? Int == 404)
        #expect(logged404?["error"] as? String == "document_not_found")
        #expect(requests.contains { $0["status"] as? Int == 401 && $0["error"] as? String == "unauthorized" })

        // jq, as a log collector would read it: every line one JSON object.
        let jq = Process()
        jq.executableURL = URL(fileURLWithPath: "/usr/bin/jq")
        jq.arguments = ["if type == \"object\" and (.time | type) == \"string\" then empty else error(\"not a log line\") end"]
        let input = Pipe()
        jq.standardInput = input
        jq.standardOutput = FileHandle.nullDevice
        try jq.run()
        input.fileHandleForWriting.write(Data(output.utf8))
        input.fileHandleForWriting.closeFile()
        jq.waitUntilExit()
        #expect(jq.terminationStatus == 0, "jq could not read every line as a log object")

        #expect(!output.contains(TestService.key), "the service key is in the log")
        #expect(!output.contains(wrongKey), "a presented key is in the log")
        #expect(!output.contains(secret), "a document id or filter value is in the log")
    }

    @Test func anUnknownLogFormatExitsTwoNamingIt() throws {
        let result = try DocstoreCommand.run(
            ["serve"],
            environment: ["DATABASE_URL": TestPostgres.url, "SERVICE_KEY": TestService.key, "LOG_FORMAT": "xml"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("LOG_FORMAT"), "\(result.stderr)")
    }
}

// MARK: Helpers

/// Runs the `docstore` executable to completion.
enum DocstoreCommand {
    /// What a finished `docstore` run printed, and its exit status.
    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String

        var output: String { stdout + stderr }
    }

    /// Runs `docstore arguments...` with exactly `environment` (plus PATH) and waits for it to exit,
    /// killing it after `timeout` seconds.
    static func run(_ arguments: [String], environment: [String: String], timeout: Double = 120) throws
        -> Result
    {
        let process = Process()
        process.executableURL = ServiceProcess.binary
        process.arguments = arguments
        var environment = environment
        environment["PATH"] = ProcessInfo.processInfo.environment["PATH"]
        process.environment = environment
        let standardOutput = Pipe()
        let standardError = Pipe()
        process.standardOutput = standardOutput
        process.standardError = standardError
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let collected = ConcurrentResults()
        let group = DispatchGroup()
        for (name, pipe) in [("out", standardOutput), ("err", standardError)] {
            let handle = pipe.fileHandleForReading
            DispatchQueue.global().async(group: group) {
                let data = handle.readDataToEndOfFile()
                collected.append(name + String(decoding: data, as: UTF8.self))
            }
        }
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw HTTPClient.Failure(description: "docstore \(arguments) did not exit within \(timeout) s")
        }
        process.waitUntilExit()
        _ = group.wait(timeout: .now() + 30)
        let parts = collected.all
        func part(_ name: String) -> String {
            parts.first { $0.hasPrefix(name) }.map { String($0.dropFirst(name.count)) } ?? ""
        }
        return Result(status: process.terminationStatus, stdout: part("out"), stderr: part("err"))
    }

    /// The environment of a process using the test database with `schema`.
    static func serviceEnvironment(schema: String) -> [String: String] {
        ["DATABASE_URL": TestPostgres.url, "SERVICE_KEY": TestService.key, "SUPABASE_SCHEMA": schema]
    }

    /// The process's output once it contains `text`, or after a few seconds without it.
    static func waitForOutput(_ process: ServiceProcess, containing text: String) -> String {
        let deadline = Date().addingTimeInterval(5)
        while !process.output.contains(text) && Date() < deadline { usleep(20_000) }
        return process.output
    }

    /// Drops a test schema, ignoring failures.
    static func dropSchema(_ schema: String) {
        _ = try? TestPostgres.sql("DROP SCHEMA IF EXISTS \(unsafeSQL: "\"\(schema)\"") CASCADE")
    }
}
