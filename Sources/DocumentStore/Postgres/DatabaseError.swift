/// A failure talking to PostgreSQL. Its description is safe to log: it never holds a password,
/// a parameter value or a document.
struct DatabaseError: Error, CustomStringConvertible {
    enum Kind: Equatable {
        /// No connection could be opened.
        case connectFailed
        /// An open connection broke (server restart, network loss).
        case connectionLost
        /// The server answered with an error.
        case server(sqlState: String)
        /// No pooled connection became free in time.
        case poolTimeout
        /// The pool is shut down.
        case poolClosed
        /// A parameter value cannot be sent (it holds the NUL character).
        case invalidParameter
        /// PostgreSQL did not answer within the statement deadline; the connection was given up.
        case deadlineExceeded
        /// The request's client went away; its statement was cancelled and its connection given up.
        case abandoned
    }

    let kind: Kind
    /// The server's or libpq's own words, for logs only.
    let detail: String
    /// The constraint a server error names, if any (e.g. `parlant_sessions_pkey`).
    var constraint: String? = nil

    var sqlState: String? {
        if case .server(let state) = kind { return state }
        return nil
    }

    /// True when the database cannot be reached right now, so a later retry may succeed.
    var isUnavailable: Bool {
        switch kind {
        case .connectFailed, .connectionLost, .poolTimeout, .poolClosed, .deadlineExceeded:
            return true
        case .invalidParameter, .abandoned:
            return false
        case .server(let state):
            // 08: connection exception, 57P0x: shutdown/crash/cannot connect, 53300: too many connections.
            return state.hasPrefix("08") || state.hasPrefix("57P") || state == "53300"
        }
    }

    var description: String {
        switch kind {
        case .connectFailed: return "cannot connect to PostgreSQL: \(detail)"
        case .connectionLost: return "connection to PostgreSQL lost: \(detail)"
        case .server(let state): return "PostgreSQL error \(state): \(detail)"
        case .poolTimeout: return "no database connection became free in time: \(detail)"
        case .poolClosed: return "the connection pool is closed"
        case .invalidParameter: return detail
        case .deadlineExceeded: return "PostgreSQL did not answer in time: \(detail)"
        case .abandoned: return detail
        }
    }
}
