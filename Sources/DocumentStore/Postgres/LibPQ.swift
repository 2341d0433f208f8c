import CLibPQ
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// What every kind of connection shares of libpq: opening, reading results and errors, and passing
/// parameters. With `PostgresConnection.swift`, `PipelinedConnection.swift` and
/// `StreamingConnection.swift`, the only code that touches libpq.
enum LibPQ {
    /// An open connection on its way between threads: from the worker that opened it to the loop that
    /// drives it, or to and from a pool. One thread at a time uses it; whoever holds it last closes it.
    struct Handle: @unchecked Sendable {
        let pointer: OpaquePointer

        /// Whether the connection is open, outside a transaction, and has nothing to read. An idle
        /// connection that has something to read almost surely got a termination notice (restart,
        /// `pg_terminate_backend`). One `poll` system call.
        var isReusable: Bool {
            guard PQstatus(pointer) == CONNECTION_OK, PQtransactionStatus(pointer) == PQTRANS_IDLE else {
                return false
            }
            var descriptor = pollfd(fd: PQsocket(pointer), events: Int16(POLLIN), revents: 0)
            return poll(&descriptor, 1, 0) == 0
        }

        /// Closes the connection.
        func finish() {
            PQfinish(pointer)
        }

        /// Cancels the statement running on the connection and waits for its results to end, blocking;
        /// returns whether the connection can be used again.
        func cancel() -> Bool {
            if let canceller = PQgetCancel(pointer) {
                var error = [CChar](repeating: 0, count: 256)
                _ = PQcancel(canceller, &error, Int32(error.count))
                PQfreeCancel(canceller)
            }
            PQsetnonblocking(pointer, 0)
            while let result = PQgetResult(pointer) {
                PQclear(result)
            }
            return isReusable
        }
    }

    /// What cancels the statement a connection runs (libpq's `PGcancel`), made on the connection's thread
    /// and usable from any other: it holds only what the connection learnt when it opened, and lives
    /// until its last holder lets go, even when the connection is closed first.
    final class Canceller: @unchecked Sendable {
        // @unchecked: the PGcancel is only read after it is made (PQcancel is safe from any thread).
        private let pointer: OpaquePointer

        /// The canceller of `connection`, made on the thread that owns it.
        init?(_ connection: OpaquePointer) {
            guard let pointer = PQgetCancel(connection) else { return nil }
            self.pointer = pointer
        }

        deinit {
            PQfreeCancel(pointer)
        }

        /// Asks PostgreSQL to cancel the statement, blocking while it connects to the server.
        func send() {
            var error = [CChar](repeating: 0, count: 256)
            _ = PQcancel(pointer, &error, Int32(error.count))
        }

        /// `send` on a thread of its own, as long as fewer than `backgroundLimit` are still being sent (one
        /// blocks for as long as the link to the server is silent); else dropped.
        func sendInBackground() {
            guard Self.sending.add(1, ordering: .relaxed).newValue <= Self.backgroundLimit,
                BackgroundThread.start({ [self] in
                    send()
                    Self.sending.subtract(1, ordering: .relaxed)
                })
            else {
                Self.sending.subtract(1, ordering: .relaxed)
                return
            }
        }

        private static let sending = Atomic<Int>(0)
        private static let backgroundLimit = 4
    }

    /// Opens a connection, blocking until it is open; `conninfo` is a libpq connection string or URL,
    /// whose own settings win over `options`.
    static func connect(conninfo: String, options: LinkOptions) throws(DatabaseError) -> OpaquePointer {
        let parameters = options.parameters
        let keywords: [String?] = parameters.map(\.keyword) + ["dbname"]
        let values: [String?] = parameters.map(\.value) + [conninfo]
        let connected = withCStrings(keywords) { keywordPointers in
            withCStrings(values) { valuePointers in
                PQconnectdbParams(keywordPointers, valuePointers, 1)
            }
        }
        guard let handle = connected else {
            throw DatabaseError(kind: .connectFailed, detail: "libpq could not allocate a connection")
        }
        guard PQstatus(handle) == CONNECTION_OK else {
            let detail = message(of: handle)
            PQfinish(handle)
            throw DatabaseError(kind: .connectFailed, detail: detail)
        }
        // Notices (such as "already exists, skipping" from idempotent DDL) are not errors: drop them.
        PQsetNoticeProcessor(handle, { _, _ in }, nil)
        return handle
    }

    /// The rows and affected-row count of a successful result; the error otherwise.
    static func outcome(of result: OpaquePointer, handle: OpaquePointer) -> Result<QueryResult, DatabaseError> {
        switch PQresultStatus(result) {
        case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
            let rowCount = Int(PQntuples(result))
            var rows: [[String?]] = []
            rows.reserveCapacity(rowCount)
            for row in 0..<rowCount {
                rows.append(LibPQ.row(Int32(row), of: result))
            }
            let affected = Int(String(cString: PQcmdTuples(result))) ?? rowCount
            return .success(QueryResult(rows: rows, affectedRows: affected))
        default:
            return .failure(failure(of: handle, result: result))
        }
    }

    /// The error a failed result (or, without one, the connection) reports.
    static func failure(of handle: OpaquePointer, result: OpaquePointer? = nil) -> DatabaseError {
        if PQstatus(handle) != CONNECTION_OK {
            return DatabaseError(kind: .connectionLost, detail: message(of: handle))
        }
        if let result, let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))) {
            let text = PQresultErrorField(result, Int32(UInt8(ascii: "M"))).map { String(cString: $0) } ?? ""
            let constraint = PQresultErrorField(result, Int32(UInt8(ascii: "n"))).map { String(cString: $0) }
            return DatabaseError(kind: .server(sqlState: String(cString: state)), detail: text, constraint: constraint)
        }
        return DatabaseError(kind: .connectionLost, detail: message(of: handle))
    }

    static func row(_ row: Int32, of result: OpaquePointer) -> [String?] {
        let columns = PQnfields(result)
        var values: [String?] = []
        values.reserveCapacity(Int(columns))
        for column in 0..<columns {
            if PQgetisnull(result, row, column) == 1 {
                values.append(nil)
            } else {
                values.append(String(cString: PQgetvalue(result, row, column)))
            }
        }
        return values
    }

    static func message(of handle: OpaquePointer) -> String {
        guard let text = PQerrorMessage(handle) else { return "" }
        var message = String(cString: text)
        while message.last == "\n" { message.removeLast() }
        return message
    }

    /// Parameter values travel as C strings, so one holding NUL would be cut short: refuse it.
    static func checked(_ values: [String?]) throws(DatabaseError) -> [String?] {
        for value in values where value?.utf8.contains(0) == true {
            throw DatabaseError(kind: .invalidParameter, detail: "a parameter value contains the NUL character")
        }
        return values
    }

    /// Lends C copies of the parameter values for the duration of `body`.
    /// The array ends with a NULL pointer, as `PQconnectdbParams` needs; other calls ignore it.
    static func withCStrings<R>(
        _ values: [String?],
        _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> R
    ) -> R {
        let copies: [UnsafeMutablePointer<CChar>?] = values.map { value in value.flatMap { strdup($0) } }
        defer { copies.forEach { free($0) } }
        let pointers = copies.map { UnsafePointer($0) } + [nil]
        return pointers.withUnsafeBufferPointer { body($0.baseAddress) }
    }
}
