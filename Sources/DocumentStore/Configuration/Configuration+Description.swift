/// Printing a configuration never shows the database password or the service key.
extension Configuration: CustomStringConvertible, CustomDebugStringConvertible {
    public var description: String {
        let prefixes = Store.allCases.map { "\($0.rawValue)=\(tablePrefix(for: $0))" }.joined(separator: " ")
        return "prefixes \(prefixes), \(database), \(accessKeys.count) service key(s)"
    }

    public var debugDescription: String { description }
}

extension DatabaseSettings: CustomStringConvertible, CustomDebugStringConvertible {
    public var description: String {
        let target = PostgresConnection.target(of: conninfo)
        return "database \(target.host ?? "default host"):\(target.port ?? "default port") schema \(schema), "
            + "pool \(poolSize), streams \(streamLimit), prepared statements \(usesPreparedStatements ? "on" : "off")"
    }

    public var debugDescription: String { description }
}
