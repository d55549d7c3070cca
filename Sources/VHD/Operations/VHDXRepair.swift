import VHDXFormat

/// `repair` of a VHDX: replays a dirty log into the file (MS-VHDX 2.3.3), then marks the log
/// empty in both headers.
///
/// The changes, in order: each write of the active sequence (4 KiB data sectors and zeroed
/// ranges; growing the file when the log says so), then the header not in use with the next
/// sequence number and a zero log GUID, then the other with the one after. Replaying is
/// idempotent: a crash part-way leaves a dirty log the next `repair` (or any reader) replays again.
enum VHDXRepair {
    /// Zeroed ranges larger than this are refused rather than planned as bytes in memory.
    static let maximumZeroedBytes: Int64 = 256 << 20

    static func plan(_ file: some ByteSource) throws(VHDError) -> [RepairChange] {
        var headers: [(offset: Int64, header: VHDXHeader)] = []
        for offset in VHDXHeader.offsets {
            do {
                headers.append((offset, try VHDXHeader(parsing: try file.bytes(at: offset, count: VHDXHeader.size))))
            } catch {
                continue
            }
        }
        guard let current = headers.max(by: { $0.header.sequenceNumber < $1.header.sequenceNumber }) else {
            throw VHDError(path: file.name, .cannotRepair(reason: "neither VHDX header is valid"))
        }
        guard !current.header.logGUID.isZero else { return [] }
        let (state, replay) = try VHDXLog.read(file, header: current.header, maximumLength: VHDXLayout.maximumLogLength)
        var changes: [RepairChange] = []
        func oldBytes(_ offset: Int64, _ count: Int) throws(VHDError) -> [UInt8] {
            let stored = max(0, min(Int64(count), file.sizeInBytes - offset))
            return (stored > 0 ? try file.bytes(at: offset, count: Int(stored)) : []) + [UInt8](repeating: 0, count: count - Int(stored))
        }
        if case let .replayable(entries, sequence, _) = state {
            var zeroed: Int64 = 0
            for write in replay.writes {
                switch write {
                case let .data(offset, bytes):
                    changes.append(RepairChange(
                        offset: offset, oldBytes: try oldBytes(offset, bytes.count), newBytes: bytes,
                        reason: "replay the log (\(entries) entries up to sequence \(sequence)): 4 KiB at \(offset)"))
                case let .zero(offset, length):
                    zeroed += length
                    guard zeroed <= maximumZeroedBytes else {
                        throw VHDError(path: file.name, .cannotRepair(reason: "the log zeroes more than \(maximumZeroedBytes) bytes"))
                    }
                    changes.append(RepairChange(
                        offset: offset, oldBytes: try oldBytes(offset, Int(length)), newBytes: [UInt8](repeating: 0, count: Int(length)),
                        reason: "replay the log: zero \(length) bytes at \(offset)"))
                }
            }
            if replay.extendedSize > file.sizeInBytes {
                let last = replay.extendedSize - 1
                changes.append(RepairChange(
                    offset: last, oldBytes: [], newBytes: [0], reason: "grow the file to \(replay.extendedSize) bytes as the log says"))
            }
        }
        // The log is empty from now on: both headers say so, the one not in use first.
        let other = VHDXHeader.offsets.first { $0 != current.offset }!
        var header = current.header
        header.logGUID = .zero
        header.fileWriteGUID = VHDXGUID.random()
        for (step, offset) in [other, current.offset].enumerated() {
            header.sequenceNumber = current.header.sequenceNumber + UInt64(step) + 1
            let bytes = header.serialized()
            changes.append(RepairChange(
                offset: offset, oldBytes: try file.bytes(at: offset, count: bytes.count), newBytes: bytes,
                reason: "header at \(offset): log marked empty (sequence \(header.sequenceNumber))"))
        }
        return changes
    }
}
