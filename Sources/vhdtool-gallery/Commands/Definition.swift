import ArgumentParser
import CommandLineSupport
import GalleryCommandLine
import ImageGallery

extension DefinitionCommand.Create: GalleryCommandImplementation {
    func perform() throws {
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

extension DefinitionCommand.Show: GalleryCommandImplementation {
    func perform() throws {
        try galleryCommand {
            let (definition, gallery) = try store.run { store in
                (try store.definition(place.name, gallery: place.gallery), try store.gallery(place.gallery))
            }
            try output.print(AzureShape.DefinitionJSON(definition, gallery: gallery)) { text($0) }
        }
    }
}

extension DefinitionCommand.List: GalleryCommandImplementation {
    func perform() throws {
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

extension DefinitionCommand.Update: GalleryCommandImplementation {
    func perform() throws {
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

extension DefinitionCommand.Delete: GalleryCommandImplementation {
    func perform() throws {
        try galleryCommand { try store.run { try $0.deleteDefinition(place.name, gallery: place.gallery) } }
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
