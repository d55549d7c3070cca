import VHDXFormat

/// The VHDX log: finding the active sequence of entries and replaying it (MS-VHDX 2.3.3).
///
/// The log is a circular buffer at the header's log offset. Entries carry the header's log
/// GUID and consecutive sequence numbers; each names in its tail the offset of the oldest entry
/// still to be replayed. The active sequence is the longest run of valid, consecutive entries
/// ending in the entry with the highest sequence number; replaying applies its entries from the
/// tail on, in order.
public enum VHDXLog {
    /// What the log held.
    public enum State: Sendable, Equatable {
        /// The log GUID is zero: nothing to replay.
        case empty
        /// The log GUID is set but no valid entry carries it: nothing to replay.
        case noValidEntries
        /// `entries` entries (the last with `sequenceNumber`) are to be replayed; they grow the
        /// file to `fileSize` if larger.
        case replayable(entries: Int, sequenceNumber: UInt64, fileSize: UInt64)

        /// The state in words, e.g. "empty" or "3 entries to replay (last sequence number 12)".
        public var description: String {
            switch self {
            case .empty: "empty"
            case .noValidEntries: "log GUID set but no valid entry (nothing to replay)"
            case let .replayable(entries, sequence, _): "\(entries) entries to replay (last sequence number \(sequence))"
            }
        }
    }

    /// The writes of a replay, in order: 4 KiB pieces and zeroed ranges of the file.
    public struct Replay: Sendable, Equatable {
        /// One write of the replay, at an absolute file offset.
        public enum Write: Sendable, Equatable {
            /// `bytes` (4 KiB from a data descriptor) written at file offset `offset`.
            case data(offset: Int64, bytes: [UInt8])
            /// `length` zero bytes written at file offset `offset`.
            case zero(offset: Int64, length: Int64)

            var range: Range<Int64> {
                switch self {
                case let .data(offset, bytes): offset..<(offset + Int64(bytes.count))
                case let .zero(offset, length): offset..<(offset + length)
                }
            }
        }

        /// The writes in replay order; a later one wins where they overlap.
        public var writes: [Write] = []
        /// The file size the log asks for (0 when it asks for none).
        public var extendedSize: Int64 = 0

        /// Whether the replay neither writes nor grows the file.
        public var isEmpty: Bool { writes.isEmpty && extendedSize == 0 }
        var writtenRanges: [Range<Int64>] { writes.map(\.range) }

        /// Applies the writes to `bytes`, which hold the file's bytes from `offset`.
        func apply(to bytes: inout [UInt8], at offset: Int64) {
            let span = offset..<(offset + Int64(bytes.count))
            for write in writes where write.range.overlaps(span) {
                let overlap = write.range.clamped(to: span)
                for position in overlap {
                    switch write {
                    case let .data(start, data): bytes[Int(position - offset)] = data[Int(position - start)]
                    case .zero: bytes[Int(position - offset)] = 0
                    }
                }
            }
        }
    }

    /// Finds the active sequence of the log of `header` in `file`.
    ///
    /// - Throws: ``VHDError`` if the log lies outside the file or is larger than `maximumLength`.
    static func read(_ file: some ByteSource, header: VHDXHeader, maximumLength: UInt32) throws(VHDError) -> (State, Replay) {
        let length = Int(header.logLength)
        guard header.logLength > 0, header.logLength <= maximumLength else {
            throw VHDError(path: file.name, .vhdxLayout(reason: "its log of \(header.logLength) bytes cannot be replayed (1 byte to \(maximumLength) bytes are)"))
        }
        guard header.logOffset >= 1 << 20, header.logOffset + UInt64(header.logLength) <= UInt64(file.sizeInBytes) else {
            throw VHDError(path: file.name, .vhdxLayout(reason: "its log (\(header.logLength) bytes at offset \(header.logOffset)) lies outside the file of \(file.sizeInBytes) bytes"))
        }
        let log = try file.bytes(at: Int64(header.logOffset), count: length)
        // Twice over, so that an entry wrapping around the end reads as one piece.
        let circular = log + log
        let sectors = length / VHDXLogEntry.sectorSize
        var entries: [Int: VHDXLogEntry] = [:]
        let whole = circular.span.bytes
        // Checksumming is bounded too: a hostile log of entry headers each claiming the whole
        // log would otherwise cost sectors x length.
        var checksummed = 0
        for sector in 0..<sectors where checksummed <= 4 * length {
            let start = sector * VHDXLogEntry.sectorSize
            // Anything that is not a whole, valid entry of this log is not part of a sequence.
            do {
                let found = try VHDXLogEntry.header(parsing: whole.extracting(start..<(start + VHDXLogEntry.headerSize)))
                guard found.logGUID == header.logGUID, Int(found.entryLength) <= length else { continue }
                checksummed += Int(found.entryLength)
                entries[start] = try VHDXLogEntry(parsing: whole.extracting(start..<(start + Int(found.entryLength))))
            } catch {
                continue
            }
        }
        // Runs start at entries no other entry continues (so each is followed once); follow
        // each while the next entry continues the sequence.
        var continued: Set<Int> = []
        for (offset, entry) in entries {
            let next = (offset + Int(entry.entryLength)) % length
            if let following = entries[next], following.sequenceNumber == entry.sequenceNumber &+ 1, next != offset { continued.insert(next) }
        }
        var best: [(offset: Int, entry: VHDXLogEntry)] = []
        for (offset, entry) in entries where !continued.contains(offset) || entries.count == continued.count {
            var run = [(offset, entry)]
            var next = (offset + Int(entry.entryLength)) % length
            while run.count < sectors, let following = entries[next], following.sequenceNumber == run.last!.1.sequenceNumber &+ 1 {
                run.append((next, following))
                next = (next + Int(following.entryLength)) % length
            }
            if best.isEmpty || run.last!.1.sequenceNumber > best.last!.entry.sequenceNumber {
                best = run.map { (offset: $0.0, entry: $0.1) }
            }
        }
        guard let last = best.last else { return (.noValidEntries, Replay()) }
        // Replay from the last entry's tail (the oldest entry still needed).
        guard let first = best.firstIndex(where: { $0.offset == Int(last.entry.tail) }) else {
            throw VHDError(path: file.name, .vhdxLayout(reason: "its log's newest entry (sequence \(last.entry.sequenceNumber)) names tail offset \(last.entry.tail), where no entry of its sequence starts"))
        }
        var replay = Replay()
        for (offset, entry) in best[first...] {
            var sectorOffsets = entry.dataSectorOffsets.makeIterator()
            for descriptor in entry.descriptors {
                switch descriptor {
                case let .zero(fileOffset, zeroLength, _):
                    guard fileOffset < 1 << 62, zeroLength < 1 << 62 else { continue }
                    replay.writes.append(.zero(offset: Int64(fileOffset), length: Int64(zeroLength)))
                case let .data(fileOffset, leading, trailing, _):
                    guard let sector = sectorOffsets.next(), fileOffset < 1 << 62 else { continue }
                    let content = VHDXLogEntry.sectorContent(
                        leadingBytes: leading, trailingBytes: trailing,
                        dataSector: whole.extracting((offset + sector)..<(offset + sector + VHDXLogEntry.sectorSize)))
                    replay.writes.append(.data(offset: Int64(fileOffset), bytes: content))
                }
            }
        }
        let size = last.entry.lastFileOffset
        replay.extendedSize = size > UInt64(file.sizeInBytes) && size < 1 << 62 ? Int64(size) : 0
        for write in replay.writes where write.range.upperBound > max(file.sizeInBytes, replay.extendedSize) {
            throw VHDError(path: file.name, .vhdxLayout(reason: "its log writes bytes \(write.range.lowerBound)..<\(write.range.upperBound), past the end of the file"))
        }
        return (.replayable(entries: best.count - first, sequenceNumber: last.entry.sequenceNumber, fileSize: size), replay)
    }
}
