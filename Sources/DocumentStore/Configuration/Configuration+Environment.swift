extension Configuration {
    /// Reads SPEC section 2's variables; every problem found is reported, one line each naming the variable.
    public init(environment: [String: String]) throws(ConfigurationError) {
        var reader = EnvironmentReader(environment: environment)
        let database = reader.databaseSettings()
        let (accessKeys, keyFile) = reader.accessKeys()
        let prefixes = reader.tablePrefixes()
        guard reader.problems.isEmpty, let database else {
            throw ConfigurationError(problems: reader.problems)
        }
        self.init(database: database, accessKeys: accessKeys, keyFile: keyFile, tablePrefixes: prefixes)
    }
}

extension Configuration {
    /// Only the schema (`SUPABASE_SCHEMA`) and the stores' table prefixes: what naming tables needs,
    /// without database credentials or a service key.
    public static func naming(
        environment: [String: String]
    ) throws(ConfigurationError) -> (schema: String, tablePrefixes: [Store: String]) {
        var reader = EnvironmentReader(environment: environment)
        let schema = reader.schema()
        let prefixes = reader.tablePrefixes()
        guard reader.problems.isEmpty else { throw ConfigurationError(problems: reader.problems) }
        return (schema, prefixes)
    }
}

/// Reads variables and collects problems instead of stopping at the first; an empty variable counts as
/// unset.
public struct EnvironmentReader {
    let environment: [String: String]
    /// One line per problem, each starting with the variable's name.
    public private(set) var problems: [String] = []

    public init(environment: [String: String]) {
        self.environment = environment
    }

    public func value(_ name: String) -> String? {
        guard let value = environment[name], !value.isEmpty else { return nil }
        return value
    }

    public func string(_ name: String, default defaultValue: String) -> String {
        value(name) ?? defaultValue
    }

    /// Records a problem found by the caller; `problem` starts with the variable's name.
    public mutating func report(_ problem: String) {
        problems.append(problem)
    }

    /// A whole number in `range`, `defaultValue` when unset.
    public mutating func integer(_ name: String, default defaultValue: Int, in range: ClosedRange<Int>) -> Int {
        guard let text = value(name) else { return defaultValue }
        guard let number = Int(text), range.contains(number) else {
            problems.append("\(name): must be a whole number from \(range.lowerBound) to \(range.upperBound)")
            return defaultValue
        }
        return number
    }

    /// `SERVICE_KEY_FILE`'s keys, or `SERVICE_KEY`'s comma-separated ones, or `SUPABASE_KEY`.
    mutating func accessKeys() -> ([AccessKey], KeyFile?) {
        if let path = value("SERVICE_KEY_FILE") {
            if value("SERVICE_KEY") != nil {
                problems.append("SERVICE_KEY_FILE: set either it or SERVICE_KEY, not both")
            }
            let file = KeyFile(path: path)
            do {
                return (try file.load(), file)
            } catch {
                problems.append("SERVICE_KEY_FILE: \(error)")
                return ([], file)
            }
        }
        if let list = value("SERVICE_KEY") {
            do {
                return (try AccessKeyList.parse(list: list), nil)
            } catch {
                problems.append("SERVICE_KEY: \(error)")
                return ([], nil)
            }
        }
        guard let key = value("SUPABASE_KEY") else {
            problems.append(
                "SUPABASE_KEY: required (the key clients must present), unless SERVICE_KEY or SERVICE_KEY_FILE is set")
            return ([], nil)
        }
        if key.utf8.count < AccessKey.minimumLength {
            problems.append("SUPABASE_KEY: too short to be a secret; use at least \(AccessKey.minimumLength) characters")
        }
        return ([AccessKey(secret: key)], nil)
    }

    mutating func databaseSettings() -> DatabaseSettings? {
        let schema = schema()
        let poolSize = integer("DB_POOL_SIZE", default: 10, in: 1...500)
        let poolTimeout = integer("DB_POOL_TIMEOUT_MS", default: 5000, in: 1...600_000)
        let streamLimit = integer("STREAM_LIMIT", default: 16, in: 1...1000)
        let connectTimeout = integer("DB_CONNECT_TIMEOUT", default: 5, in: 1...300)
        let prepared = value("DB_PREPARED_STATEMENTS") ?? "auto"
        if !["auto", "on", "off"].contains(prepared) {
            problems.append("DB_PREPARED_STATEMENTS: must be auto, on or off")
        }
        let statementTimeout = integer("DB_STATEMENT_TIMEOUT_MS", default: 15_000, in: 100...3_600_000)
        let lockTimeout = integer("DB_LOCK_TIMEOUT_MS", default: min(5000, statementTimeout), in: 10...3_600_000)
        if lockTimeout > statementTimeout {
            problems.append("DB_LOCK_TIMEOUT_MS: must not exceed DB_STATEMENT_TIMEOUT_MS (\(statementTimeout))")
        }
        let maxLifetime = integer("DB_CONN_MAX_LIFETIME_S", default: 1800, in: 10...604_800)
        guard let conninfo = conninfo() else { return nil }
        let target = PostgresConnection.target(of: conninfo)
        let behindPooler = target.port == "6543" || target.host?.lowercased().hasSuffix(".pooler.supabase.com") == true
        let listening: ChangeListening
        switch value("DB_LISTEN_URL") {
        case "off": listening = .off
        case let url?: listening = .url(url)
        // A pooler, found or declared as for the timeouts below: LISTEN through it hears nothing.
        case nil: listening = behindPooler || prepared == "off" ? .off : .sameDatabase
        }
        return DatabaseSettings(
            conninfo: conninfo,
            schema: schema,
            poolSize: poolSize,
            poolTimeout: .milliseconds(poolTimeout),
            streamLimit: streamLimit,
            connectTimeoutSeconds: connectTimeout,
            usesPreparedStatements: prepared == "on" || (prepared == "auto" && !behindPooler),
            statementTimeout: .milliseconds(statementTimeout),
            lockTimeout: .milliseconds(lockTimeout),
            // A pooler (found by the auto rule, or declared by turning prepared statements off) refuses them.
            sendsServerTimeouts: !behindPooler && prepared != "off",
            connectionMaxLifetime: .seconds(maxLifetime),
            changeListening: listening
        )
    }

    mutating func schema() -> String {
        let schema = string("SUPABASE_SCHEMA", default: "public")
        if SQLIdentifier(schema) == nil {
            problems.append("SUPABASE_SCHEMA: must be 1 to 63 characters of a-z, 0-9 and _, not starting with a digit")
        }
        return schema
    }

    /// `DATABASE_URL` as given, or a connection string built from the `SUPABASE_*` variables.
    mutating func conninfo() -> String? {
        if let url = value("DATABASE_URL") { return url }
        let host: String?
        if let explicit = value("SUPABASE_DB_HOST") {
            host = explicit
        } else if let projectURL = value("SUPABASE_URL") {
            host = Self.databaseHost(fromProjectURL: projectURL)
            if host == nil {
                problems.append("SUPABASE_URL: must look like https://<project-ref>.supabase.co")
            }
        } else {
            host = nil
            problems.append("SUPABASE_URL: required unless DATABASE_URL or SUPABASE_DB_HOST is set")
        }
        let password = value("SUPABASE_DB_PASSWORD")
        if password == nil {
            problems.append("SUPABASE_DB_PASSWORD: required unless DATABASE_URL is set")
        }
        let port = integer("SUPABASE_DB_PORT", default: 5432, in: 1...65535)
        guard let host, let password else { return nil }
        var parts: [(String, String)] = [
            ("host", host),
            ("port", String(port)),
            ("user", string("SUPABASE_DB_USER", default: "postgres")),
            ("password", password),
            ("dbname", string("SUPABASE_DB_NAME", default: "postgres")),
        ]
        let isSupabaseHost = host.lowercased().hasSuffix(".supabase.co") || host.lowercased().hasSuffix(".supabase.com")
        if isSupabaseHost && value("PGSSLMODE") == nil {
            parts.append(("sslmode", "require"))
        }
        return parts.map { "\($0.0)='\(Self.escaped($0.1))'" }.joined(separator: " ")
    }

    mutating func tablePrefixes() -> [Store: String] {
        var prefixes: [Store: String] = [:]
        for store in Store.allCases {
            let prefix = string(store.prefixVariable, default: store.defaultTablePrefix)
            let isValid = prefix.utf8.count <= 48 && SQLIdentifier(prefix) != nil && !prefix.contains("$")
            if !isValid {
                problems.append(
                    "\(store.prefixVariable): must be 1 to 48 characters of a-z, 0-9 and _, not starting with a digit"
                )
            }
            prefixes[store] = prefix
        }
        for first in Store.allCases {
            for second in Store.allCases where first != second {
                if let a = prefixes[first], let b = prefixes[second], b.hasPrefix(a) {
                    problems.append(
                        "\(second.prefixVariable): must not start with \(first.prefixVariable) ('\(a)'), "
                            + "or the two stores' tables could collide"
                    )
                }
            }
        }
        return prefixes
    }

    /// `db.<ref>.supabase.co` for `https://<ref>.supabase.co`, else the URL's own host.
    static func databaseHost(fromProjectURL url: String) -> String? {
        guard let schemeEnd = url.firstRange(of: "://") else { return nil }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "https" || scheme == "http" else { return nil }
        let rest = url[schemeEnd.upperBound...]
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        guard !authority.contains("@") else { return nil }
        let host = authority.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)[0].lowercased()
        guard !host.isEmpty else { return nil }
        if host.hasSuffix(".supabase.co"), !host.hasPrefix("db.") {
            let reference = host.dropLast(".supabase.co".count)
            guard !reference.isEmpty, !reference.contains(".") else { return nil }
            return "db.\(reference).supabase.co"
        }
        return host
    }

    /// A value quoted for a libpq keyword/value connection string.
    static func escaped(_ value: String) -> String {
        value.replacing("\\", with: "\\\\").replacing("'", with: "\\'")
    }
}
