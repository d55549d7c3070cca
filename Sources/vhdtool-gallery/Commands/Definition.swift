import ArgumentParser
import CommandLineSupport
import ImageGallery

extension VHDTool {
    struct DefinitionCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "definition", abstract: "Manage image definitions: what a family of image versions is.",
            subcommands: [Create.self, Show.self, List.self, Update.self, Delete.self])

        struct Where: ParsableArguments {
            @Argument(help: "The image definition's name.") var name: String
            @Option(help: "The gallery.") var gallery: String
        }

        /// The optional fields of create that update may also change.
        struct Changeable: ParsableArguments {
            @Option(help: "A description.") var description: String?
            @Option(help: "End of life: YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ, in the future (informational).")
            var endOfLifeDate: String?
            @Option(help: "The release notes' URI.") var releaseNoteUri: String?
            @Option(name: .customLong("tag"), help: ArgumentHelp("A tag KEY=VALUE; repeat for more.", valueName: "key=value"))
            var tags: [String] = []
            @Option(name: .customLong("min-vcpu"), help: "Recommended minimum vCPUs.") var minVCPUs: Int?
            @Option(name: .customLong("max-vcpu"), help: "Recommended maximum vCPUs.") var maxVCPUs: Int?
            @Option(help: "Recommended minimum memory: MB, or a size (2G).") var minMemory: String?
            @Option(help: "Recommended maximum memory: MB, or a size (8G).") var maxMemory: String?
        }

        struct Create: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Create an image definition in a gallery.")
            @OptionGroup var place: Where
            @Option(help: "Publisher (at most 128 letters, digits, '-', '_', '.').") var publisher: String
            @Option(help: "Offer (at most 64).") var offer: String
            @Option(help: "SKU (at most 64).") var sku: String
            @Option(help: "linux or windows.") var osType: Choice<GalleryOSType>
            @Option(help: "generalized or specialized.") var osState: Choice<GalleryOSState>
            @Option(help: "V1 (BIOS) or V2 (UEFI); default V1.") var hyperVGeneration: Choice<GalleryHyperVGeneration>?
            @Option(help: "x64 or arm64; default x64.") var architecture: Choice<GalleryArchitecture>?
            @Option(help: "The EULA.") var eula: String?
            @Option(help: "The privacy statement's URI.") var privacyStatementUri: String?
            @OptionGroup var changeable: Changeable
            @Option(name: .customLong("disallowed-disk-type"), help: "A disk type VMs from these images may not use; repeat for more.")
            var disallowedDiskTypes: [String] = []
            @Option(help: "Purchase plan name.") var planName: String?
            @Option(help: "Purchase plan publisher.") var planPublisher: String?
            @Option(help: "Purchase plan product.") var planProduct: String?
            @OptionGroup var store: StoreOptions
            @OptionGroup var output: OutputOptions

            func run() throws {
                try galleryCommand {
                    var request = DefinitionRequest(
                        name: place.name, publisher: publisher, offer: offer, sku: sku, osType: osType.value, osState: osState.value)
                    if let value = hyperVGeneration?.value { request.hyperVGeneration = value }
                    if let value = architecture?.value { request.architecture = value }
                    request.description = changeable.description
                    request.eula = eula
                    request.privacyStatementUri = privacyStatementUri
                    request.releaseNoteUri = changeable.releaseNoteUri
                    request.endOfLifeDate = changeable.endOfLifeDate
                    request.tags = try NameRules.parseTags(changeable.tags)
                    request.minVCPUs = changeable.minVCPUs
                    request.maxVCPUs = changeable.maxVCPUs
                    request.minMemoryMB = try memoryMB(changeable.minMemory, option: "--min-memory")
                    request.maxMemoryMB = try memoryMB(changeable.maxMemory, option: "--max-memory")
                    request.disallowedDiskTypes = disallowedDiskTypes
                    request.planName = planName
                    request.planPublisher = planPublisher
                    request.planProduct = planProduct
                    let (definition, gallery) = try store.run { store in
                        (try store.createDefinition(request, gallery: place.gallery), try store.gallery(place.gallery))
                    }
                    try output.print(AzureShape.DefinitionJSON(definition, gallery: gallery)) { text($0) }
                }
            }
        }

        struct Show: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Show an image definition.")
            @OptionGroup var place: Where
            @OptionGroup var store: StoreOptions
            @OptionGroup var output: OutputOptions

            func run() throws {
                try galleryCommand {
                    let (definition, gallery) = try store.run { store in
                        (try store.definition(place.name, gallery: place.gallery), try store.gallery(place.gallery))
                    }
                    try output.print(AzureShape.DefinitionJSON(definition, gallery: gallery)) { text($0) }
                }
            }
        }

        struct List: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List a gallery's image definitions.")
            @Option(help: "The gallery.") var gallery: String
            @OptionGroup var store: StoreOptions
            @OptionGroup var output: OutputOptions

            func run() throws {
                try galleryCommand {
                    let (definitions, gallery) = try store.run { store in
                        (try store.definitions(gallery: self.gallery), try store.gallery(self.gallery))
                    }
                    try output.print(definitions.map { AzureShape.DefinitionJSON($0, gallery: gallery) }) { list in
                        list.map {
                            "\($0.name)\t\($0.identifier.publisher):\($0.identifier.offer):\($0.identifier.sku)\t\($0.osType)\t\($0.osState)\t\($0.hyperVGeneration)\n"
                        }.joined()
                    }
                }
            }
        }

        struct Update: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Change what may change: recommended vCPUs and memory, description, end of life, release notes, tags.",
                discussion: "Publisher, offer, SKU, OS type, OS state, Hyper-V generation, architecture, EULA, privacy statement and purchase plan cannot change.")
            @OptionGroup var place: Where
            @OptionGroup var changeable: Changeable
            @Flag(help: "Remove every tag (before adding those given).") var clearTags = false
            @Option(help: .hidden) var publisher: String?
            @Option(help: .hidden) var offer: String?
            @Option(help: .hidden) var sku: String?
            @Option(help: .hidden) var osType: String?
            @Option(help: .hidden) var osState: String?
            @Option(help: .hidden) var hyperVGeneration: String?
            @Option(help: .hidden) var architecture: String?
            @Option(help: .hidden) var eula: String?
            @Option(help: .hidden) var privacyStatementUri: String?
            @Option(help: .hidden) var planName: String?
            @Option(help: .hidden) var planPublisher: String?
            @Option(help: .hidden) var planProduct: String?
            @OptionGroup var store: StoreOptions
            @OptionGroup var output: OutputOptions

            func run() throws {
                try galleryCommand {
                    let immutable: [(String, String?)] = [
                        ("publisher", publisher), ("offer", offer), ("SKU", sku), ("OS type", osType), ("OS state", osState),
                        ("Hyper-V generation", hyperVGeneration), ("architecture", architecture), ("EULA", eula),
                        ("privacy statement URI", privacyStatementUri), ("purchase plan", planName ?? planPublisher ?? planProduct),
                    ]
                    if let (field, _) = immutable.first(where: { $0.1 != nil }) {
                        throw GalleryExit(GalleryError(.rule, "the \(field) of an image definition cannot be changed after it is created"))
                    }
                    var update = DefinitionUpdate()
                    if let value = changeable.description { update.description = .some(value.isEmpty ? nil : value) }
                    if let value = changeable.endOfLifeDate { update.endOfLifeDate = .some(value.isEmpty ? nil : value) }
                    if let value = changeable.releaseNoteUri { update.releaseNoteUri = .some(value.isEmpty ? nil : value) }
                    if let value = changeable.minVCPUs { update.minVCPUs = .some(value) }
                    if let value = changeable.maxVCPUs { update.maxVCPUs = .some(value) }
                    if let value = try memoryMB(changeable.minMemory, option: "--min-memory") { update.minMemoryMB = .some(value) }
                    if let value = try memoryMB(changeable.maxMemory, option: "--max-memory") { update.maxMemoryMB = .some(value) }
                    let newTags = try NameRules.parseTags(changeable.tags)
                    let (definition, gallery) = try store.run { store in
                        if clearTags || !newTags.isEmpty {
                            let current = try store.definition(place.name, gallery: place.gallery)
                            update.tags = (clearTags ? [:] : current.tags).merging(newTags) { $1 }
                        }
                        return (try store.updateDefinition(place.name, gallery: place.gallery, update), try store.gallery(place.gallery))
                    }
                    try output.print(AzureShape.DefinitionJSON(definition, gallery: gallery)) { text($0) }
                }
            }
        }

        struct Delete: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Delete an image definition that has no versions.")
            @OptionGroup var place: Where
            @OptionGroup var store: StoreOptions

            func run() throws {
                try galleryCommand { try store.run { try $0.deleteDefinition(place.name, gallery: place.gallery) } }
            }
        }
    }
}

private func text(_ definition: AzureShape.DefinitionJSON) -> String {
    var lines = AlignedLines()
    lines.add("Image definition", definition.name)
    lines.add("Publisher/offer/SKU", "\(definition.identifier.publisher) / \(definition.identifier.offer) / \(definition.identifier.sku)")
    lines.add("OS", "\(definition.osType), \(definition.osState)")
    lines.add("Hyper-V generation", definition.hyperVGeneration)
    lines.add("Architecture", definition.architecture)
    if let value = definition.description { lines.add("Description", value) }
    if let value = definition.eula { lines.add("EULA", value) }
    if let value = definition.privacyStatementUri { lines.add("Privacy statement", value) }
    if let value = definition.releaseNoteUri { lines.add("Release notes", value) }
    if let value = definition.endOfLifeDate { lines.add("End of life", value) }
    func range(_ range: AzureShape.Range?, unit: String) -> String {
        "\(range?.min.map(String.init) ?? "-") to \(range?.max.map(String.init) ?? "-")\(unit)"
    }
    if let recommended = definition.recommended {
        if recommended.vCPUs != nil { lines.add("Recommended vCPUs", range(recommended.vCPUs, unit: "")) }
        if recommended.memory != nil { lines.add("Recommended memory", range(recommended.memory, unit: " MB")) }
    }
    if let disallowed = definition.disallowed { lines.add("Disallowed disk types", disallowed.diskTypes.joined(separator: ", ")) }
    if let plan = definition.purchasePlan {
        lines.add("Purchase plan", "\(plan.name ?? "-") / \(plan.publisher ?? "-") / \(plan.product ?? "-")")
    }
    lines.add("Tags", tagsText(definition.tags))
    return lines.text
}
