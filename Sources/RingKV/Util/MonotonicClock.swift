import RingIO

/// RingIO's clock under the name the engine's files use without importing RingIO.
typealias MonotonicClock = RingIO.MonotonicClock
