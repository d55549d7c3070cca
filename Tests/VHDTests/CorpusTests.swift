import Foundation
import TestSupport
import Testing
import VHD
import VHDFormat

/// Real images made by Windows, FreeBSD mkimg and QEMU (../shared/vhd-corpus, or the copies in
/// TestImages/corpus whose licenses allow them); each test skips when its image is absent.
struct CorpusTests {
    @Test(arguments: corpusImages.filter { TestPaths.hasCorpusImage($0.file) })
    func typeSizeAndCreatorMatchTheCorpusReadme(_ image: CorpusImage) throws {
        let path = try #require(TestPaths.corpusImage(image.file))
        let layout = try layout(of: path)
        #expect(layout.diskType == image.diskType)
        #expect(layout.virtualSize == image.virtualSize)
        #expect(layout.footer.creatorApplication.description == image.creator)
        #expect(layout.footer.creatorVersionText == image.creatorVersion)
        #expect(layout.dynamic?.header.blockSize == image.blockSize)
        if let qemuSize = image.qemuVirtualSize {
            #expect(QEMUSizeRule.virtualSize(of: layout.footer) == qemuSize)
        }
    }

    @Test(.enabled(if: TestPaths.hasCorpusImage("dissect-dynamic.vhd"), Comment(rawValue: TestPaths.corpusMissing)))
    func windowsDynamicDiskStoresBlocksOutOfOrder() throws {
        let layout = try layout(of: try #require(TestPaths.corpusImage("dissect-dynamic.vhd")), checksumPolicy: .verify)
        let table = try #require(layout.dynamic?.table)
        #expect(table.entries == [0xF, 0x201F, BlockAllocationTable.unallocated, 0x1017, BlockAllocationTable.unallocated])
        // CHS 301/4/17 is below the current size, as Windows writes it: every reader agrees, no warning.
        #expect(layout.warnings.isEmpty)
    }

    @Test(.enabled(if: TestPaths.hasCorpusImage("dfvfs-fat-differential.vhd"), Comment(rawValue: TestPaths.corpusMissing)))
    func windowsDifferencingDiskLocatorsDecode() throws {
        let layout = try layout(of: try #require(TestPaths.corpusImage("dfvfs-fat-differential.vhd")), checksumPolicy: .verify)
        let dynamic = try #require(layout.dynamic)
        #expect(dynamic.header.parentName == "C:\\Projects\\dfvfs\\test_data\\fat-parent.vhd")
        #expect(dynamic.header.parentUniqueId.description == "5fa21a55-f394-aa4d-9958-1951a67d5540")
        #expect(dynamic.locators.map(\.locator.platformCode) == [.w2ku, .w2ru])
        #expect(dynamic.locators.map(\.path) == ["C:\\Projects\\dfvfs\\test_data\\fat-parent.vhd", ".\\fat-parent.vhd"])
        #expect(dynamic.locators.map(\.locator.dataSpaceInBytes) == [4096, 65536])
        #expect(dynamic.table.entries == [0x9F, BlockAllocationTable.unallocated])
    }

    @Test(.enabled(if: TestPaths.hasCorpusImage("dfvfs-image.vhd"), Comment(rawValue: TestPaths.corpusMissing)))
    func wrongFooterChecksumIsRefusedUnlessAccepted() throws {
        let path = try #require(TestPaths.corpusImage("dfvfs-image.vhd"))
        #expect(openingError(path) == .checksumRefused(.footer, offset: 2_099_712, stored: 0xFFFF_F683, computed: 0xFFFF_EF25))
        let error = VHDError(path: "dfvfs-image.vhd", try #require(openingError(path)))
        #expect(error.description.contains("the bytes sum to 0xFFFFEF25") && !error.description.contains("--"))
        let layout = try layout(of: path)
        #expect(layout.warnings.first == .checksumMismatch(.footer, offset: 2_099_712, stored: 0xFFFF_F683, computed: 0xFFFF_EF25))
    }

    @Test(.enabled(if: TestPaths.hasCorpusImage("dfvfs-image-differential.vhd"), Comment(rawValue: TestPaths.corpusMissing)))
    func handEditedDifferencingDiskHasBothChecksumsWrong() throws {
        let layout = try layout(of: try #require(TestPaths.corpusImage("dfvfs-image-differential.vhd")))
        #expect(layout.warnings.contains(.checksumMismatch(.footer, offset: 2_099_712, stored: 0xFFFF_F683, computed: 0xFFFF_EEB6)))
        #expect(layout.warnings.contains(.checksumMismatch(.dynamicHeader, offset: 512, stored: 0xFFFF_F476, computed: 0xFFFF_E9A5)))
        #expect(layout.warnings.contains(.noParentLocators))
        #expect(layout.dynamic?.header.parentName == "image.vhd")
        #expect(layout.dynamic?.header.parentUniqueId.description == "d49c5c80-350a-4a89-898a-5ad6d10f6578")
    }

    @Test(.enabled(if: TestPaths.hasCorpusImage("freebsd-img-1x1-512-gpt.vhdf"), Comment(rawValue: TestPaths.corpusMissing)))
    func freeBSDImageIsSizedByCurrentSizeAndTheDisagreementIsReported() throws {
        let layout = try layout(of: try #require(TestPaths.corpusImage("freebsd-img-1x1-512-gpt.vhdf")), checksumPolicy: .verify)
        #expect(layout.virtualSize == 5_242_880)
        #expect(layout.warnings.contains(.chsSizeDiffers(currentSize: 5_242_880, chsSize: 5_222_400, qemuSize: 5_222_400)))
    }

    @Test(.enabled(if: TestPaths.hasCorpusImage("dissect-dynamic.vhdx.first-1MiB"), Comment(rawValue: TestPaths.corpusMissing)))
    func truncatedVHDXIsNotMistakenForAVHD() throws {
        let path = try #require(TestPaths.corpusImage("dissect-dynamic.vhdx.first-1MiB"))
        guard case .vhdxLayout = openingError(path) else {
            Issue.record("\(String(describing: openingError(path)))")
            return
        }
    }
}
