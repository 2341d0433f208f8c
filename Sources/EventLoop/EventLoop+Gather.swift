import Synchronization

extension EventLoop {
    /// Runs `body` on each of `loops` (given the loop it runs on) and hands `completion` the values, in the loops' order, once every
    /// loop has run it: for reading state that each loop owns without a lock. `completion` runs on the loop
    /// that finished last (at once when `loops` is empty).
    public static func gather<Value: Sendable>(
        from loops: [EventLoop],
        _ body: @escaping @Sendable (EventLoop) -> Value,
        completion: @escaping @Sendable ([Value]) -> Void
    ) {
        guard !loops.isEmpty else { return completion([]) }
        let gathered = Mutex((values: [Value?](repeating: nil, count: loops.count), missing: loops.count))
        for (index, loop) in loops.enumerated() {
            loop.execute {
                let value = body(loop)
                let values = gathered.withLock { state -> [Value]? in
                    state.values[index] = value
                    state.missing -= 1
                    return state.missing == 0 ? state.values.map { $0! } : nil
                }
                if let values { completion(values) }
            }
        }
    }
}
