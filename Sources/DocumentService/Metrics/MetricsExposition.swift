import DocumentStore
import Metrics

/// One scrape of `GET /metrics` in Prometheus' text format: the HTTP server's, the database's, the
/// process's and the build's metrics (SPEC section 7b). Labels hold route templates, methods, statuses,
/// operation and pool names and SQLSTATE classes only: never an id, a filter value or a key.
struct MetricsExposition {
    let http: HTTPMetrics.Snapshot
    let database: DatabaseMetrics
    let process: ProcessStatistics

    var text: PrometheusText {
        var text = PrometheusText()
        writeHTTP(&text)
        writeDatabase(&text)
        writeProcess(&text)
        text.family("docstore_build_info", .gauge, help: "The service's version and the commit it was built from.")
        text.sample("docstore_build_info", 1, labels: [("version", BuildInfo.version), ("commit", BuildInfo.commit)])
        return text
    }

    private func writeHTTP(_ text: inout PrometheusText) {
        text.family("docstore_http_requests_total", .counter, help: "Requests answered, by route template, method and status.")
        for (key, count) in http.requests.sorted(by: { ($0.key.route, $0.key.method, $0.key.status) < ($1.key.route, $1.key.method, $1.key.status) }) {
            text.sample(
                "docstore_http_requests_total", count,
                labels: [("route", key.route), ("method", key.method), ("status", String(key.status))])
        }
        text.family(
            "docstore_http_request_duration_seconds", .histogram,
            help: "Time from a request's first line to its completion, by route template and method.")
        for (key, histogram) in http.durations.sorted(by: { ($0.key.route, $0.key.method) < ($1.key.route, $1.key.method) }) {
            text.histogram(
                "docstore_http_request_duration_seconds", histogram, labels: [("route", key.route), ("method", key.method)])
        }
        text.family("docstore_http_connections_open", .gauge, help: "Client connections open now.")
        text.sample("docstore_http_connections_open", http.connectionsOpen)
    }

    private func writeDatabase(_ text: inout PrometheusText) {
        text.family(
            "docstore_db_operation_duration_seconds", .histogram,
            help: "Time collection operations took in the database, connection wait included, by operation.")
        for (name, histogram) in database.operations.sorted(by: { $0.key < $1.key }) {
            text.histogram("docstore_db_operation_duration_seconds", histogram, labels: [("operation", name)])
        }
        text.family(
            "docstore_db_errors_total", .counter,
            help: "Operations that failed in PostgreSQL, by SQLSTATE class (08 also for connections that failed or broke).")
        for (errorClass, count) in database.errorsByClass.sorted(by: { $0.key < $1.key }) {
            text.sample("docstore_db_errors_total", count, labels: [("sqlstate_class", errorClass)])
        }
        text.family(
            "docstore_db_pool_timeouts_total", .counter,
            help: "Operations that failed because no connection became free within DB_POOL_TIMEOUT_MS.")
        text.sample("docstore_db_pool_timeouts_total", database.poolTimeouts)
        let pools: [(name: String, help: String, value: (DatabaseMetrics.Pool) -> Int)] = [
            ("docstore_db_pool_size", "The most connections a pool may open.", \.size),
            ("docstore_db_pool_open_connections", "Connections a pool has open now.", \.open),
            ("docstore_db_pool_busy_connections", "Connections carrying a request or a stream now.", \.busy),
            ("docstore_db_pool_waiting", "Requests waiting for a connection of a pool now.", \.waiting),
        ]
        for family in pools {
            text.family(family.name, .gauge, help: family.help + " Pools: blocking (workers), loop (event loops), stream (unlimited finds).")
            for pool in database.pools { text.sample(family.name, family.value(pool), labels: [("pool", pool.name)]) }
        }
        text.family(
            "docstore_db_connects_total", .counter,
            help: "Attempts to open a PostgreSQL connection for requests (first opens and reconnects), by result.")
        text.sample("docstore_db_connects_total", database.connectsSucceeded, labels: [("result", "success")])
        text.sample("docstore_db_connects_total", database.connectsFailed, labels: [("result", "failure")])
        text.family("docstore_db_connections_lost_total", .counter, help: "Open PostgreSQL connections found broken.")
        text.sample("docstore_db_connections_lost_total", database.connectionsLost)
    }

    private func writeProcess(_ text: inout PrometheusText) {
        let figures: [(name: String, type: PrometheusText.MetricType, help: String, value: Double)] = [
            ("process_resident_memory_bytes", .gauge, "Resident memory size in bytes.", Double(process.residentBytes)),
            ("process_virtual_memory_bytes", .gauge, "Virtual memory size in bytes.", Double(process.virtualBytes)),
            ("process_cpu_seconds_total", .counter, "Total user and system CPU time spent in seconds.", process.cpuSeconds),
            ("process_open_fds", .gauge, "Number of open file descriptors.", Double(process.openFiles)),
            ("process_max_fds", .gauge, "Maximum number of open file descriptors.", Double(process.maximumOpenFiles)),
            ("process_start_time_seconds", .gauge, "Start time of the process since unix epoch in seconds.", process.startTimeSeconds),
        ]
        for figure in figures {
            text.family(figure.name, figure.type, help: figure.help)
            text.sample(figure.name, figure.value)
        }
    }
}
