import Foundation
import Testing

@testable import DocumentStore

/// The smallest environment that configures a Supabase project.
private let supabaseEnvironment: [String: String] = [
    "SUPABASE_URL": "https://abcd.supabase.co",
    "SUPABASE_KEY": "service-role-key-0123456789",
    "SUPABASE_DB_PASSWORD": "db-password",
]

/// `supabaseEnvironment` with `overrides` applied and the `removing` variables left out.
private func configEnvironment(_ overrides: [String: String] = [:], removing: Set<String> = []) -> [String: String] {
    supabaseEnvironment.filter { !removing.contains($0.key) }.merging(overrides) { $1 }
}

/// The problem lines a configuration is rejected with; empty when it is accepted.
private func configProblems(_ environment: [String: String]) -> [String] {
    do {
        _ = try Configuration(environment: environment)
        return []
    } catch {
        return error.problems
    }
}

/// A new file in the temporary folder holding `text`; returns its path.
private func temporaryFile(_ text: String) throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("keys-\(UUID().uuidString)").path
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

/// The variable a problem line names: the text before its first `:`.
private func problemVariable(of problem: String) -> String {
    String(problem.prefix { $0 != ":" })
}

/// Parses a libpq keyword/value connection string whose values are single-quoted with `\'` and `\\`
/// escapes (or unquoted words); `nil` when it is malformed.
private func conninfoFields(_ conninfo: String) -> [String: String]? {
    var rest = Array(conninfo)[...]
    var fields: [String: String] = [:]
    while true {
        while rest.first == " " { rest.removeFirst() }
        guard !rest.isEmpty else { return fields }
        guard let equals = rest.firstIndex(of: "=") else { return nil }
        let key = String(rest[..<equals])
        rest = rest[(equals + 1)...]
        var value = ""
        if rest.first == "'" {
            rest.removeFirst()
            var isClosed = false
            while let character = rest.popFirst() {
                if character == "\\" {
                    guard let escaped = rest.popFirst() else { return nil }
                    value.append(escaped)
                } else if character == "'" {
                    isClosed = true
                    break
                } else {
                    value.append(character)
                }
            }
            guard isClosed else { return nil }
        } else {
            while let character = rest.first, character != " " {
                value.append(character)
                rest.removeFirst()
            }
        }
        guard fields[key] == nil else { return nil }
        fields[key] = value
    }
}

/// The fields of the connection string that `environment` configures.
private func connectionFields(_ environment: [String: String]) throws -> [String: String] {
    let configuration = try Configuration(environment: environment)
    return try #require(conninfoFields(configuration.database.conninfo))
}

@Suite("Configuration(environment:)")
struct ConfigurationTests {
    // MARK: Defaults and every variable

    @Test("defaults: schema public, default prefixes, postgres@5432, TLS required")
    func defaults() throws {
        let configuration = try Configuration(environment: supabaseEnvironment)
        #expect(configuration.accessKeys == [AccessKey(secret: "service-role-key-0123456789")])
        #expect(configuration.keyFile == nil)
        #expect(configuration.tablePrefix(for: .sessions) == "parlant_sessions_")
        #expect(configuration.tablePrefix(for: .customers) == "parlant_customers_")
        #expect(configuration.tablePrefix(for: .variables) == "parlant_context_variables_")
        let database = configuration.database
        #expect(database.schema == "public")
        #expect(database.poolSize == 10)
        #expect(database.poolTimeout == .seconds(5))
        #expect(database.connectTimeoutSeconds == 5)
        #expect(database.usesPreparedStatements)
        #expect(
            conninfoFields(database.conninfo) == [
                "host": "db.abcd.supabase.co",
                "port": "5432",
                "user": "postgres",
                "password": "db-password",
                "dbname": "postgres",
                "sslmode": "require",
            ]
        )
    }

    @Test("every variable of SPEC section 2 (and the pool settings) is read")
    func everyVariable() throws {
        let configuration = try Configuration(
            environment: configEnvironment([
                "SUPABASE_SCHEMA": "parlant",
                "SUPABASE_DB_USER": "app_user",
                "SUPABASE_DB_NAME": "app_db",
                "SUPABASE_DB_PORT": "5433",
                "SESSIONS_TABLE_PREFIX": "s_",
                "CUSTOMERS_TABLE_PREFIX": "c_",
                "VARIABLES_TABLE_PREFIX": "v_",
                "DB_POOL_SIZE": "4",
                "DB_POOL_TIMEOUT_MS": "250",
                "DB_CONNECT_TIMEOUT": "9",
                "DB_PREPARED_STATEMENTS": "off",
            ])
        )
        #expect(configuration.tablePrefix(for: .sessions) == "s_")
        #expect(configuration.tablePrefix(for: .customers) == "c_")
        #expect(configuration.tablePrefix(for: .variables) == "v_")
        let database = configuration.database
        #expect(database.schema == "parlant")
        #expect(database.poolSize == 4)
        #expect(database.poolTimeout == .milliseconds(250))
        #expect(database.connectTimeoutSeconds == 9)
        #expect(!database.usesPreparedStatements)
        let fields = try #require(conninfoFields(database.conninfo))
        #expect(fields["host"] == "db.abcd.supabase.co")
        #expect(fields["port"] == "5433")
        #expect(fields["user"] == "app_user")
        #expect(fields["dbname"] == "app_db")
        #expect(fields["password"] == "db-password")
    }

    @Test("DB_LISTEN_URL: the database itself, nothing behind a transaction pooler, or the URL given")
    func changeListening() throws {
        let direct = try Configuration(environment: configEnvironment([:]))
        #expect(direct.database.changeListening == .sameDatabase)
        let pooled = try Configuration(environment: configEnvironment(["SUPABASE_DB_PORT": "6543"]))
        #expect(pooled.database.changeListening == .off)
        let given = try Configuration(
            environment: configEnvironment([
                "SUPABASE_DB_PORT": "6543", "DB_LISTEN_URL": "postgresql://postgres@db.abcd.supabase.co:5432/postgres",
            ]))
        #expect(given.database.changeListening == .url("postgresql://postgres@db.abcd.supabase.co:5432/postgres"))
        let off = try Configuration(environment: configEnvironment(["DB_LISTEN_URL": "off"]))
        #expect(off.database.changeListening == .off)
    }

    @Test("an empty variable counts as unset")
    func emptyValuesAreDefaults() throws {
        let configuration = try Configuration(
            environment: configEnvironment(["SUPABASE_SCHEMA": "", "SESSIONS_TABLE_PREFIX": ""])
        )
        #expect(configuration.database.schema == "public")
        #expect(configuration.tablePrefix(for: .sessions) == "parlant_sessions_")
    }

    // MARK: Database host and TLS

    @Test(
        "the database host is derived from SUPABASE_URL",
        arguments: [
            ("https://abcd.supabase.co", "db.abcd.supabase.co"),
            ("https://abcd.supabase.co/", "db.abcd.supabase.co"),
            ("https://ABCD.Supabase.co/rest/v1?apikey=x#top", "db.abcd.supabase.co"),
            ("https://abcd.supabase.co:443", "db.abcd.supabase.co"),
            ("https://db.abcd.supabase.co", "db.abcd.supabase.co"),
            ("http://localhost:54321", "localhost"),
            ("http://127.0.0.1:54321/", "127.0.0.1"),
            ("https://api.example.com/base", "api.example.com"),
        ]
    )
    func derivedHost(url: String, host: String) throws {
        let fields = try connectionFields(configEnvironment(["SUPABASE_URL": url]))
        #expect(fields["host"] == host)
        // TLS is required exactly for Supabase's own hosts.
        #expect(fields["sslmode"] == (host.hasSuffix(".supabase.co") ? "require" : nil))
    }

    @Test(
        "a SUPABASE_URL that names no host is rejected, naming the variable",
        arguments: [
            "abcd.supabase.co",
            "ftp://abcd.supabase.co",
            "https://",
            "https://user:pw@abcd.supabase.co",
            "https://a.b.supabase.co",
            "https://.supabase.co",
        ]
    )
    func invalidProjectURL(url: String) {
        let lines = configProblems(configEnvironment(["SUPABASE_URL": url]))
        #expect(lines.count == 1)
        #expect(lines.allSatisfy { $0.hasPrefix("SUPABASE_URL: ") })
    }

    @Test("SUPABASE_DB_HOST overrides the host derived from SUPABASE_URL")
    func explicitHost() throws {
        let fields = try connectionFields(
            configEnvironment(["SUPABASE_DB_HOST": "localhost", "SUPABASE_DB_PORT": "54322"]))
        #expect(fields["host"] == "localhost")
        #expect(fields["port"] == "54322")
        #expect(fields["sslmode"] == nil)
    }

    @Test("SUPABASE_DB_HOST makes SUPABASE_URL unnecessary")
    func explicitHostWithoutProjectURL() throws {
        let fields = try connectionFields(
            configEnvironment(["SUPABASE_DB_HOST": "db.internal"], removing: ["SUPABASE_URL"]))
        #expect(fields["host"] == "db.internal")
        #expect(fields["sslmode"] == nil)
    }

    @Test(
        "an explicit Supabase host requires TLS too",
        arguments: ["db.abcd.supabase.co", "aws-0-eu-central-1.pooler.supabase.com"]
    )
    func explicitSupabaseHostRequiresTLS(host: String) throws {
        let fields = try connectionFields(configEnvironment(["SUPABASE_DB_HOST": host]))
        #expect(fields["host"] == host)
        #expect(fields["sslmode"] == "require")
    }

    @Test(
        "host names are case-insensitive: an upper-case Supabase host requires TLS too",
    )
    func upperCaseSupabaseHostRequiresTLS() throws {
        let fields = try connectionFields(configEnvironment(["SUPABASE_DB_HOST": "DB.ABCD.SUPABASE.CO"]))
        #expect(fields["sslmode"] == "require")
    }

    @Test("PGSSLMODE is left to libpq: no sslmode is added to the connection string")
    func pgsslmodeIsHonoured() throws {
        let fields = try connectionFields(configEnvironment(["PGSSLMODE": "verify-full"]))
        #expect(fields["host"] == "db.abcd.supabase.co")
        #expect(fields["sslmode"] == nil)
    }

    @Test("DATABASE_URL replaces the derivation, and SUPABASE_URL / SUPABASE_DB_PASSWORD are then optional")
    func databaseURL() throws {
        let url = "postgresql://app:pw@db.example.com:5432/app?sslmode=disable"
        let alone = try Configuration(environment: ["DATABASE_URL": url, "SUPABASE_KEY": "service-role-key-0123456789"])
        #expect(alone.database.conninfo == url)
        let beside = try Configuration(
            environment: configEnvironment([
                "DATABASE_URL": url, "SUPABASE_DB_HOST": "localhost", "SUPABASE_DB_PORT": "1",
            ])
        )
        #expect(beside.database.conninfo == url)
    }

    // MARK: Keys

    @Test("SERVICE_KEY overrides SUPABASE_KEY and may replace it")
    func serviceKey() throws {
        let both = try Configuration(environment: configEnvironment(["SERVICE_KEY": "service-key-abcdefghijkl"]))
        #expect(both.accessKeys == [AccessKey(secret: "service-key-abcdefghijkl")])
        let alone = try Configuration(
            environment: configEnvironment(["SERVICE_KEY": "service-key-abcdefghijkl"], removing: ["SUPABASE_KEY"])
        )
        #expect(alone.accessKeys == [AccessKey(secret: "service-key-abcdefghijkl")])
    }

    @Test("SERVICE_KEY holds several keys separated by commas, each with full access")
    func severalServiceKeys() throws {
        let configuration = try Configuration(
            environment: configEnvironment(["SERVICE_KEY": "old-key-abcdefghijkl, new-key-mnopqrstuvwx"]))
        #expect(configuration.accessKeys.map(\.secret) == ["old-key-abcdefghijkl", "new-key-mnopqrstuvwx"])
        #expect(configuration.accessKeys.allSatisfy { $0.scope.isFull })
        let problems = configProblems(configEnvironment(["SERVICE_KEY": "old-key-abcdefghijkl,,short"]))
        #expect(problems == ["SERVICE_KEY: key 2 is empty (two commas in a row?)"])
        #expect(!configProblems(configEnvironment(["SERVICE_KEY": "good-key-abcdefghijkl,short"]))[0].contains("short,"))
    }

    @Test("SERVICE_KEY_FILE's keys replace SUPABASE_KEY; with SERVICE_KEY too, or unreadable, it is a problem")
    func serviceKeyFile() throws {
        let path = try temporaryFile("# rotated 2026-12\nfile-key-abcdefghijkl\nreader-key-abcdefghij access=read\n")
        let configuration = try Configuration(environment: configEnvironment(["SERVICE_KEY_FILE": path]))
        #expect(configuration.keyFile?.path == path)
        #expect(
            configuration.accessKeys == [
                AccessKey(secret: "file-key-abcdefghijkl"),
                AccessKey(secret: "reader-key-abcdefghij", scope: KeyScope(readOnly: true)),
            ])
        let alone = try Configuration(
            environment: configEnvironment(["SERVICE_KEY_FILE": path], removing: ["SUPABASE_KEY"]))
        #expect(alone.accessKeys.count == 2)
        #expect(
            configProblems(configEnvironment(["SERVICE_KEY_FILE": path, "SERVICE_KEY": "service-key-abcdefghijkl"]))
                == ["SERVICE_KEY_FILE: set either it or SERVICE_KEY, not both"])
        let missing = configProblems(configEnvironment(["SERVICE_KEY_FILE": path + ".missing"]))
        #expect(missing == ["SERVICE_KEY_FILE: cannot read \(path).missing: No such file or directory"])
        let bad = try temporaryFile("file-key-abcdefghijkl\nsecret-key-in-a-bad-line stores=orders\n")
        let problems = configProblems(configEnvironment(["SERVICE_KEY_FILE": bad]))
        #expect(problems.count == 1)
        #expect(problems.first?.hasPrefix("SERVICE_KEY_FILE: line 2: stores= takes") == true, "\(problems)")
        #expect(problems.first?.contains("secret-key-in-a-bad-line") == false, "a key is never repeated")
    }

    @Test("a missing or short key is a problem naming the variable in use")
    func keyProblems() {
        #expect(configProblems(configEnvironment(removing: ["SUPABASE_KEY"])).map(problemVariable) == ["SUPABASE_KEY"])
        #expect(configProblems(configEnvironment(["SUPABASE_KEY": "short"])).map(problemVariable) == ["SUPABASE_KEY"])
        #expect(configProblems(configEnvironment(["SERVICE_KEY": "short"])).map(problemVariable) == ["SERVICE_KEY"])
    }

    // MARK: Several problems at once

    @Test("an empty environment reports each required variable on its own line")
    func emptyEnvironment() {
        let lines = configProblems([:])
        #expect(Set(lines.map(problemVariable)) == ["SUPABASE_URL", "SUPABASE_DB_PASSWORD", "SUPABASE_KEY"])
        #expect(lines.count == 3)
    }

    @Test("every problem is reported, one line each naming its variable")
    func severalProblems() throws {
        let broken = configEnvironment(
            [
                "DB_CONNECT_TIMEOUT": "eighty",
                "SUPABASE_SCHEMA": "Bad-Schema",
                "SESSIONS_TABLE_PREFIX": "Bad",
                "DB_POOL_SIZE": "0",
                "SUPABASE_KEY": "short",
            ],
            removing: ["SUPABASE_DB_PASSWORD"]
        )
        let error = try #require(throws: ConfigurationError.self) { try Configuration(environment: broken) }
        let expected: Set = [
            "DB_CONNECT_TIMEOUT", "SUPABASE_SCHEMA", "SESSIONS_TABLE_PREFIX", "DB_POOL_SIZE", "SUPABASE_KEY",
            "SUPABASE_DB_PASSWORD",
        ]
        #expect(Set(error.problems.map(problemVariable)) == expected)
        #expect(error.problems.count == expected.count)
        #expect(error.problems.allSatisfy { !$0.contains("\n") && $0.count > problemVariable(of: $0).count + 2 })
        #expect(error.description.split(separator: "\n").map(String.init) == error.problems)
    }

    @Test(
        "an invalid DB_PREPARED_STATEMENTS does not hide the other problems",
    )
    func invalidPreparedStatementsKeepsOtherProblems() {
        let lines = configProblems(
            configEnvironment(["DB_PREPARED_STATEMENTS": "maybe"], removing: ["SUPABASE_DB_PASSWORD"]))
        #expect(Set(lines.map(problemVariable)) == ["DB_PREPARED_STATEMENTS", "SUPABASE_DB_PASSWORD"])
    }

    // MARK: Numbers, schema, prefixes

    @Test(
        "an invalid number is a problem naming the variable",
        arguments: [
            ("SUPABASE_DB_PORT", "0"), ("SUPABASE_DB_PORT", "70000"), ("SUPABASE_DB_PORT", "54.32"),
            ("SUPABASE_DB_PORT", "99999999999999999999999"), ("DB_POOL_SIZE", "0"), ("DB_POOL_SIZE", "501"),
            ("DB_POOL_TIMEOUT_MS", "0"), ("DB_POOL_TIMEOUT_MS", "fast"), ("DB_CONNECT_TIMEOUT", "301"),
            ("DB_STATEMENT_TIMEOUT_MS", "50"), ("DB_CONN_MAX_LIFETIME_S", "0"),
        ]
    )
    func invalidNumber(name: String, value: String) {
        let lines = configProblems(configEnvironment([name: value]))
        #expect(lines.count == 1)
        #expect(lines.first?.hasPrefix("\(name): must be a whole number from ") == true)
    }

    @Test("numbers at the edges of their ranges are accepted")
    func numbersAtTheEdges() throws {
        let configuration = try Configuration(
            environment: configEnvironment(["DB_POOL_SIZE": "500"])
        )
        #expect(configuration.database.poolSize == 500)
    }

    @Test(
        "an invalid schema name is a problem naming SUPABASE_SCHEMA",
        arguments: [
            "Public", "1schema", "my-schema", "my schema", "s;drop", "\"quoted\"", "é",
            String(repeating: "s", count: 64),
        ]
    )
    func invalidSchema(schema: String) {
        #expect(
            configProblems(configEnvironment(["SUPABASE_SCHEMA": schema])).map(problemVariable) == ["SUPABASE_SCHEMA"])
    }

    @Test(
        "valid schema names are kept", arguments: ["parlant", "_private", "app_2", String(repeating: "s", count: 63)])
    func validSchema(schema: String) throws {
        #expect(
            try Configuration(environment: configEnvironment(["SUPABASE_SCHEMA": schema])).database.schema == schema)
    }

    @Test(
        "an invalid table prefix is a problem naming its variable",
        arguments: ["Parlant_", "1p_", "p-x_", "p x_", "p$_", "é_", String(repeating: "p", count: 49)]
    )
    func invalidPrefix(prefix: String) {
        for store in Store.allCases {
            #expect(
                configProblems(configEnvironment([store.prefixVariable: prefix])).map(problemVariable) == [
                    store.prefixVariable
                ])
        }
    }

    @Test("valid table prefixes are kept")
    func validPrefixes() throws {
        let longest = String(repeating: "p", count: 47) + "_"
        let configuration = try Configuration(
            environment: configEnvironment(["SESSIONS_TABLE_PREFIX": longest, "CUSTOMERS_TABLE_PREFIX": "customers"])
        )
        #expect(configuration.tablePrefix(for: .sessions) == longest)
        #expect(configuration.tablePrefix(for: .customers) == "customers")
    }

    @Test("a prefix that starts with another store's prefix is a collision, reported for the longer one")
    func collidingPrefixes() {
        let lines = configProblems(configEnvironment(["SESSIONS_TABLE_PREFIX": "parlant_"]))
        #expect(Set(lines.map(problemVariable)) == ["CUSTOMERS_TABLE_PREFIX", "VARIABLES_TABLE_PREFIX"])
        #expect(lines.count == 2)
        #expect(lines.allSatisfy { $0.contains("SESSIONS_TABLE_PREFIX") })

        let nested = configProblems(configEnvironment(["VARIABLES_TABLE_PREFIX": "parlant_customers_vars_"]))
        #expect(nested.map(problemVariable) == ["VARIABLES_TABLE_PREFIX"])
        #expect(nested.first?.contains("CUSTOMERS_TABLE_PREFIX") == true)

        let same = configProblems(
            configEnvironment(["SESSIONS_TABLE_PREFIX": "shared_", "CUSTOMERS_TABLE_PREFIX": "shared_"]))
        #expect(Set(same.map(problemVariable)) == ["SESSIONS_TABLE_PREFIX", "CUSTOMERS_TABLE_PREFIX"])
    }

    // MARK: Password quoting and secrecy

    @Test(
        "values are quoted for libpq: quotes and backslashes survive",
        arguments: ["it's", #"back\slash"#, #"\'"#, "'", #"\"#, "two words", "quote\"double", "ünï-çødé", "a=b;c"]
    )
    func passwordQuoting(password: String) throws {
        let fields = try connectionFields(
            configEnvironment(["SUPABASE_DB_PASSWORD": password, "SUPABASE_DB_USER": "o'" + password]))
        #expect(fields["password"] == password)
        #expect(fields["user"] == "o'" + password)
    }

    @Test("the quoting is libpq's: \\' and \\\\ inside single quotes")
    func passwordQuotingText() throws {
        let configuration = try Configuration(environment: configEnvironment(["SUPABASE_DB_PASSWORD": #"a'b\c"#]))
        #expect(configuration.database.conninfo.contains(#"password='a\'b\\c'"#))
    }

    @Test("the password never appears in a problem line")
    func passwordIsNotEchoed() {
        let password = #"Sup3r'Secr3t\Pw"#
        let lines = configProblems(
            configEnvironment([
                "SUPABASE_DB_PASSWORD": password,
                "SUPABASE_URL": "https://postgres:\(password)@abcd.supabase.co",
                "DB_POOL_SIZE": password,
                "SUPABASE_SCHEMA": "Bad",
                "SESSIONS_TABLE_PREFIX": "Bad",
                "SUPABASE_KEY": "short",
            ])
        )
        #expect(lines.count == 5)
        #expect(lines.allSatisfy { !$0.contains("Secr3t") })

        let url = "postgresql://postgres:Sup3rSecr3t@db.abcd.supabase.co:5432/postgres"
        let withURL = configProblems(["DATABASE_URL": url, "SUPABASE_KEY": "short", "DB_POOL_SIZE": "x"])
        #expect(withURL.count == 2)
        #expect(withURL.allSatisfy { !$0.contains("Secr3t") })
    }

    // MARK: Database links

    @Test("the link settings have their defaults, and are read")
    func linkSettings() throws {
        let defaults = try Configuration(environment: configEnvironment()).database
        #expect(defaults.statementTimeout == .seconds(15))
        #expect(defaults.lockTimeout == .seconds(5))
        #expect(defaults.connectionMaxLifetime == .seconds(1800))
        #expect(defaults.sendsServerTimeouts)
        let parameters = Dictionary(uniqueKeysWithValues: defaults.linkOptions.parameters.map { ($0.keyword, $0.value) })
        #expect(parameters["options"] == "-c statement_timeout=15000 -c lock_timeout=5000")
        #expect(parameters["keepalives"] == "1" && parameters["tcp_user_timeout"] == "10000")

        let set = try Configuration(
            environment: configEnvironment([
                "DB_STATEMENT_TIMEOUT_MS": "800", "DB_LOCK_TIMEOUT_MS": "200", "DB_CONN_MAX_LIFETIME_S": "60",
            ])
        ).database
        #expect(set.statementTimeout == .milliseconds(800))
        #expect(set.lockTimeout == .milliseconds(200))
        #expect(set.connectionMaxLifetime == .seconds(60))
        #expect(set.statementDeadline == .milliseconds(1800))
    }

    @Test(
        "behind a transaction pooler the timeouts are not sent as startup options",
        arguments: [["SUPABASE_DB_PORT": "6543"], ["DB_PREPARED_STATEMENTS": "off"]]
    )
    func noStartupOptionsBehindAPooler(_ overrides: [String: String]) throws {
        let database = try Configuration(environment: configEnvironment(overrides)).database
        #expect(!database.sendsServerTimeouts)
        #expect(!database.linkOptions.parameters.contains { $0.keyword == "options" })
        #expect(database.statementDeadline == database.statementTimeout)
    }

    @Test("a lock timeout longer than the statement timeout is a problem")
    func lockTimeoutWithinStatementTimeout() {
        let lines = configProblems(configEnvironment(["DB_STATEMENT_TIMEOUT_MS": "1000", "DB_LOCK_TIMEOUT_MS": "2000"]))
        #expect(lines.map(problemVariable) == ["DB_LOCK_TIMEOUT_MS"])
    }

    // MARK: Prepared statements

    @Test(
        "DB_PREPARED_STATEMENTS=auto turns them off behind the transaction pooler (port 6543 or a pooler host)",
        arguments: [
            ([:], true),
            (["SUPABASE_DB_PORT": "6543"], false),
            (["SUPABASE_DB_HOST": "aws-0-eu-central-1.pooler.supabase.com"], false),
            (
                ["DATABASE_URL": "postgresql://postgres.abcd:pw@aws-0-eu-central-1.pooler.supabase.com:6543/postgres"],
                false
            ),
            (["DATABASE_URL": "host=localhost port=6543 dbname=postgres"], false),
            (["DATABASE_URL": "postgresql://postgres:pw@db.abcd.supabase.co:5432/postgres"], true),
            (["DB_PREPARED_STATEMENTS": "auto"], true),
            (["DB_PREPARED_STATEMENTS": "off"], false),
            (["SUPABASE_DB_PORT": "6543", "DB_PREPARED_STATEMENTS": "on"], true),
        ] as [([String: String], Bool)]
    )
    func preparedStatements(overrides: [String: String], expected: Bool) throws {
        let configuration = try Configuration(environment: configEnvironment(overrides))
        #expect(configuration.database.usesPreparedStatements == expected)
    }

    @Test(
        "a direct connection keeps prepared statements whatever its password or port contains",
        arguments: [
            ["SUPABASE_DB_PASSWORD": "pw-6543-xyz"],
            ["SUPABASE_DB_PORT": "16543"],
        ]
    )
    func preparedStatementsOnDirectConnections(overrides: [String: String]) throws {
        let configuration = try Configuration(environment: configEnvironment(overrides))
        #expect(configuration.database.usesPreparedStatements)
    }

    @Test("DB_PREPARED_STATEMENTS accepts only auto, on and off")
    func invalidPreparedStatements() {
        #expect(
            configProblems(configEnvironment(["DB_PREPARED_STATEMENTS": "yes"])).map(problemVariable) == [
                "DB_PREPARED_STATEMENTS"
            ])
    }
}

@Suite("Configuration printing")
struct ConfigurationPrintingTests {
    @Test("printing a configuration shows neither the password nor the key")
    func redacted() throws {
        let configuration = try Configuration(environment: [
            "SUPABASE_URL": "https://abcd.supabase.co",
            "SUPABASE_KEY": "service-key-0123456789-secret",
            "SUPABASE_DB_PASSWORD": "p4ss-w0rd-secret",
        ])
        for text in [String(describing: configuration), String(reflecting: configuration), "\(configuration.database)"]
        {
            #expect(!text.contains("p4ss-w0rd"))
            #expect(!text.contains("service-key"))
            #expect(text.contains("db.abcd.supabase.co:5432"))
        }
    }
}
