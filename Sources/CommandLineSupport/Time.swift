#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Seconds since 1970-01-01T00:00:00Z, now.
package func currentUnixTime() -> Int64 { Int64(time(nil)) }
