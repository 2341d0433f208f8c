/// Something the database layer tells the operator without being asked: long work it does in the
/// background (building indexes) and what went wrong there.
public struct DatabaseNotice: Sendable {
    public enum Level: Sendable {
        case info
        case warning
    }

    public let level: Level
    public let message: String
}
