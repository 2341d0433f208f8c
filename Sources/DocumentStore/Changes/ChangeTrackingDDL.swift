/// What makes a collection's changes visible to watchers, added the first time the collection is watched
/// (collections never watched pay nothing on their writes):
///
/// - `change_xid`, the id of the transaction that last inserted or updated each row, set by a row trigger.
///   A watcher reads the rows changed by transactions from its watermark on: the oldest transaction
///   still running when it last read (`pg_snapshot_xmin`), so a transaction that commits late is never
///   skipped, whatever order transactions commit in.
/// - `<table>_deletions`, where a statement trigger records each deleted row with its transaction.
/// - A statement trigger that sends `NOTIFY docstore_changes, '<schema>.<table>'`, delivered when the
///   writing transaction commits, to every replica listening. It carries no document data.
///
/// Every statement is idempotent; they run in one transaction holding the table's DDL lock.
struct ChangeTrackingDDL {
    let names: TableNames

    /// The column that holds the transaction that last wrote each row.
    static let column = "change_xid"
    /// The channel every tracked table notifies on.
    static let channel = "docstore_changes"
    /// The payload of a table's notifications.
    static func payload(of names: TableNames) -> String { "\(names.schema.name).\(names.table.name)" }

    /// Deletions older than this are forgotten; a watcher away longer may miss them.
    static let deletionsKeptFor = "1 day"

    private static let stampTrigger = "docstore_change_stamp"
    private static let deletionsTrigger = "docstore_change_deletions"
    private static let notifyTrigger = "docstore_change_notify"

    var statements: [String] {
        let table = names.qualifiedTable.sql.text
        let deletions = names.qualifiedDeletionsTable.sql.text
        let schema = names.schema.quoted
        // Identifiers hold no quote (`SQLIdentifier`), so the name goes into a string literal as it is.
        let deletionsLiteral = "'\(deletions)'"
        return [
            "ALTER TABLE \(table) ADD COLUMN IF NOT EXISTS change_xid xid8",
            """
            CREATE INDEX IF NOT EXISTS \(names.index("change_xid").quoted) ON \(table) (change_xid) \
            WHERE change_xid IS NOT NULL
            """,
            """
            CREATE TABLE IF NOT EXISTS \(deletions) (
                id TEXT NOT NULL,
                data JSONB NOT NULL,
                change_xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
                deleted_at TIMESTAMPTZ NOT NULL DEFAULT now()
            )
            """,
            "CREATE INDEX IF NOT EXISTS \(names.index("deletions_change_xid").quoted) ON \(deletions) (change_xid)",
        ]
            + DataAPIRoles.closingStatements(for: [names.qualifiedDeletionsTable])
            + [
                """
                CREATE OR REPLACE FUNCTION \(schema).docstore_change_stamp() RETURNS trigger \
                LANGUAGE plpgsql SET search_path = pg_catalog AS $$ \
                BEGIN NEW.change_xid := pg_current_xact_id(); RETURN NEW; END $$
                """,
                """
                CREATE OR REPLACE FUNCTION \(schema).docstore_record_deletions() RETURNS trigger \
                LANGUAGE plpgsql SET search_path = pg_catalog AS $$ \
                BEGIN EXECUTE format('INSERT INTO %s (id, data) SELECT id, data FROM gone', TG_ARGV[0]); \
                RETURN NULL; END $$
                """,
                """
                CREATE OR REPLACE FUNCTION \(schema).docstore_notify_change() RETURNS trigger \
                LANGUAGE plpgsql SET search_path = pg_catalog AS $$ \
                BEGIN PERFORM pg_notify('\(Self.channel)', TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME); \
                RETURN NULL; END $$
                """,
                "DROP TRIGGER IF EXISTS \(Self.stampTrigger) ON \(table)",
                """
                CREATE TRIGGER \(Self.stampTrigger) BEFORE INSERT OR UPDATE ON \(table) \
                FOR EACH ROW EXECUTE FUNCTION \(schema).docstore_change_stamp()
                """,
                "DROP TRIGGER IF EXISTS \(Self.deletionsTrigger) ON \(table)",
                """
                CREATE TRIGGER \(Self.deletionsTrigger) AFTER DELETE ON \(table) \
                REFERENCING OLD TABLE AS gone FOR EACH STATEMENT \
                EXECUTE FUNCTION \(schema).docstore_record_deletions(\(deletionsLiteral))
                """,
                "DROP TRIGGER IF EXISTS \(Self.notifyTrigger) ON \(table)",
                """
                CREATE TRIGGER \(Self.notifyTrigger) AFTER INSERT OR UPDATE OR DELETE ON \(table) \
                FOR EACH STATEMENT EXECUTE FUNCTION \(schema).docstore_notify_change()
                """,
                "CREATE INDEX IF NOT EXISTS \(names.index("deletions_deleted_at").quoted) ON \(deletions) (deleted_at)",
                pruneStatement,
            ]
    }

    /// Forgets deletions older than `deletionsKeptFor` (an index range scan when there are none).
    var pruneStatement: String {
        """
        DELETE FROM \(names.qualifiedDeletionsTable.sql.text) \
        WHERE deleted_at < now() - interval '\(Self.deletionsKeptFor)'
        """
    }

    /// Whether the table already has everything: its three triggers and the deletions table.
    var isInstalledQuery: SQLQuery {
        """
        SELECT (SELECT count(*) FROM pg_trigger \
        WHERE tgrelid = to_regclass(\(bind: names.qualifiedTable.sql.text)) AND tgname IN \
        (\(bind: Self.stampTrigger), \(bind: Self.deletionsTrigger), \(bind: Self.notifyTrigger))) = 3 \
        AND to_regclass(\(bind: names.qualifiedDeletionsTable.sql.text)) IS NOT NULL
        """
    }
}
