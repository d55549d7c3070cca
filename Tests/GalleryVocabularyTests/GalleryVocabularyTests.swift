import GalleryVocabulary
import TestSupport
import Testing

/// The gallery's words, once: Azure's spelling and the tags' spelling of each enum, Azure's tag
/// rules and the one `KEY=VALUE` parser both commands use.
struct GalleryVocabularyTests {
    @Test func rawValuesAreAzuresSpellingAndTagNamesTheTagsSpelling() {
        #expect(OSType.allCases.map(\.rawValue) == ["Linux", "Windows"])
        #expect(OSType.allCases.map(\.tagName) == ["linux", "windows"])
        #expect(OSState.allCases.map(\.rawValue) == ["Generalized", "Specialized"])
        #expect(OSState.allCases.map(\.tagName) == ["generalized", "specialized"])
        #expect(HyperVGeneration.allCases.map(\.tagName) == ["V1", "V2"])
        #expect(Architecture.allCases.map(\.rawValue) == ["x64", "Arm64"])
        #expect(Architecture.allCases.map(\.tagName) == ["x64", "arm64"])
    }

    @Test(arguments: ["linux", "Linux", "LINUX"])
    func wordsAreReadInAnyCase(_ text: String) {
        #expect(OSType(caseInsensitive: text) == .linux)
    }

    @Test func eitherSpellingReadsBack() {
        for state in OSState.allCases {
            #expect(OSState(caseInsensitive: state.rawValue) == state && OSState(caseInsensitive: state.tagName) == state)
        }
        for architecture in Architecture.allCases {
            #expect(Architecture(caseInsensitive: architecture.tagName) == architecture)
        }
        #expect(OSType(caseInsensitive: "beos") == nil && HyperVGeneration(caseInsensitive: "V3") == nil)
    }

    @Test func keyValueArgumentsAreSplitAtTheFirstEquals() throws {
        let tags = try AzureTags.parse(["env=prod", "empty=", "url=a=b"])
        #expect(tags == ["env": "prod", "empty": "", "url": "a=b"])
        #expect(try AzureTags.parse([]) == [:])
    }

    @Test func aRepeatedKeyIsRefused() {
        #expect(throws: AzureTagError.repeatedKey("env", again: "env")) { try AzureTags.parse(["env=prod", "env=test"]) }
        // Same value twice: still a mistake the user should see.
        #expect(throws: AzureTagError.repeatedKey("env", again: "env")) { try AzureTags.parse(["env=prod", "env=prod"]) }
        // Keys that differ only in case are one key to Azure.
        #expect(throws: AzureTagError.repeatedKey("Env", again: "env")) { try AzureTags.parse(["Env=1", "env=2"]) }
        #expect(throws: AzureTagError.repeatedKey("Env", again: "env")) { try AzureTags.check(["Env": "1", "env": "2"]) }
        #expect(AzureTagError.repeatedKey("Env", again: "env").description.contains("ignoring case"))
    }

    @Test(arguments: [
        (["novalue"], AzureTagError.notKeyValue("novalue")),
        (["=v"], .emptyKey),
        (["a/b=1"], .forbiddenCharacter(key: "a/b", "/")),
        (["a<b=1"], .forbiddenCharacter(key: "a<b", "<")),
        (["k=" + String(repeating: "v", count: 257)], .valueTooLong(key: "k")),
        ([String(repeating: "k", count: 513) + "=v"], .keyTooLong(String(repeating: "k", count: 513))),
        ((0...50).map { "k\($0)=v" }, .tooMany(51)),
    ])
    func azuresRulesAreEnforced(arguments: [String], expected: AzureTagError) {
        #expect(throws: expected) { try AzureTags.parse(arguments) }
    }

    @Test func theLimitsThemselvesAreAllowed() throws {
        let fifty = try AzureTags.parse((0..<50).map { "k\($0)=v" })
        #expect(fifty.count == 50)
        let longest = String(repeating: "k", count: 512) + "=" + String(repeating: "v", count: 256)
        #expect(try AzureTags.parse([longest]).count == 1)
    }

    /// A library's messages name no flag and not the program (the CLI words them).
    @Test func noMessageNamesAFlagOrTheProgram() throws {
        let found = try SourceWording.cliWords(in: "GalleryVocabulary")
        #expect(found.isEmpty, "\(found.joined(separator: "\n"))")
    }

    @Test func storageAccountTypesAndTargetRegionsParseAsAzDoes() throws {
        #expect(StorageAccountType(caseInsensitive: "premium_lrs") == .premiumLRS)
        #expect(try TargetRegion(parsing: "westeurope=2=standard_zrs") == TargetRegion(name: "westeurope", replicaCount: 2, storageType: .standardZRS))
        #expect(throws: SnapshotCostError.duplicateRegion("East US", "eastus")) { try TargetRegion.parseList(["East US", "eastus"]) }
    }
}
