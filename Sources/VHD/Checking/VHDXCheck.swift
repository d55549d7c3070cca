import SystemPackage
import VHDXFormat

/// `check` of a VHDX: its structure (everything opening verifies), its log, its chain, and
/// with `azure` what Azure requires (a fixed VHD: the fix is a conversion).
enum VHDXCheck {
    static func isVHDX(_ path: FilePath, locking: Bool = true) throws(VHDError) -> Bool {
        do {
            return try HostFile.withOpened(at: path, lock: locking) { try ImageFormat.detect($0) } == .vhdx
        } catch let error as VHDError {
            if case .unsupportedFormat = error.kind { return false }
            throw error
        } catch {
            throw VHDError(path: path.string, .notAVHD(reason: "\(error)"))
        }
    }

    static func problems(at path: FilePath, azure: Bool, options: CopyOptions, locking: Bool = true) throws(VHDError) -> [CheckProblem] {
        let layout: VHDXLayout
        do {
            layout = try HostFile.withOpened(at: path, lock: locking) { try VHDXLayout(reading: $0) }
        } catch let error as VHDError {
            if case .io = error.kind { throw error }
            return [CheckProblem(check: "structure", message: error.description)]
        } catch {
            throw VHDError(path: path.string, .notAVHD(reason: "\(error)"))
        }
        var problems: [CheckProblem] = []
        for warning in layout.warnings {
            if case .replayable = layout.log, warning.hasPrefix("the log holds") {
                problems.append(CheckProblem(check: "log", message: warning, fix: DiskCheck.repairHint(path)))
            } else {
                problems.append(CheckProblem(check: "structure", message: warning))
            }
        }
        do {
            try Disk.withOpened(at: path, options: DiskOptions(open: OpenOptions(checksumPolicy: .ignore), locking: locking)) { disk in
                for warning in disk.chainWarnings { problems.append(CheckProblem(check: "chain", message: warning)) }
            }
        } catch let error as VHDError {
            problems.append(CheckProblem(
                check: "chain", message: error.description,
                fix: error.kind.isParentProblem ? .giveOrReparentParent(child: path.string) : nil))
        } catch {
            problems.append(CheckProblem(check: "chain", message: "\(error)"))
        }
        if azure {
            let convert = DiskCheck.convertForAzure(path)
            problems.append(CheckProblem(check: "azure", message: "Azure accepts only fixed VHDs; this is a \(layout.diskKind) VHDX", fix: convert))
            if layout.virtualSize % (1 << 20) != 0 {
                problems.append(CheckProblem(
                    check: "azure",
                    message: "the virtual size \(layout.virtualSize) is not a whole number of MiB (converted for Azure it becomes \(NewDiskMetadata.azureSize(atLeast: layout.virtualSize)) bytes)",
                    fix: convert))
            }
            if !DiskCheck.azureSizeRange.contains(layout.virtualSize) {
                problems.append(CheckProblem(
                    check: "azure", message: "the virtual size \(layout.virtualSize) is outside Azure's limits (20 MiB to 32 TiB)",
                    fix: layout.virtualSize < DiskCheck.azureSizeRange.lowerBound
                        ? DiskCheck.convertForAzure(path, minimumSize: DiskCheck.azureSizeRange.lowerBound) : nil))
            }
        }
        return problems
    }
}
