import Dispatch

/// Holds one result written by a concurrent worker (each slot written by exactly one worker).
private final class ResultSlot<T>: @unchecked Sendable {
    var value: Result<T, Error>?
    init() {}
}

/// Runs two independent computations at once (e.g. two LAPACK calls that are each memory-bound)
/// and returns both results; rethrows the first error.
public func concurrently<A, B>(_ first: @escaping @Sendable () throws -> A, _ second: @escaping @Sendable () throws -> B) throws -> (A, B) {
    let a = ResultSlot<A>(), b = ResultSlot<B>()
    DispatchQueue.concurrentPerform(iterations: 2) { task in
        if task == 0 { a.value = Result { try first() } } else { b.value = Result { try second() } }
    }
    return (try a.value!.get(), try b.value!.get())
}
