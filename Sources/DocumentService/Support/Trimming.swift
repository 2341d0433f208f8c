extension StringProtocol {
    /// The text without leading and trailing characters from `characters`.
    func trimming(_ characters: String) -> String {
        guard let first = firstIndex(where: { !characters.contains($0) }),
            let last = lastIndex(where: { !characters.contains($0) })
        else { return "" }
        return String(self[first...last])
    }
}
