import ArgumentParser
import CommandLineSupport
import GalleryVocabulary

/// `vhdtool version create|list|show|latest|update|delete|replicate|cost`.
package struct VersionCommand: ParsableCommand {
    package static let configuration = CommandConfiguration(
        commandName: "version",
        abstract: "Manage image versions: local VHDs published under a definition and replicated to regions.",
        subcommands: [Create.self, List.self, Show.self, Latest.self, Update.self, Delete.self, Replicate.self, Cost.self])

    package init() {}

    /// Which definition: its gallery and name.
    package struct Definition: ParsableArguments {
        @Option(help: "The gallery.") package var gallery: String
        @Option(help: "The image definition.") package var definition: String

        package init() {}
    }

    /// Which version: its name and definition.
    package struct Where: ParsableArguments {
        @Argument(help: "The version, MAJOR.MINOR.PATCH.") package var version: String
        @OptionGroup package var definition: Definition

        package init() {}
    }

    /// Options create and update share.
    package struct Publishing: ParsableArguments {
        @Option(name: .customLong("target-region"), help: ArgumentHelp(
            "A region to replicate to: NAME, NAME=COUNT, NAME=TYPE or NAME=COUNT=TYPE; repeat for more (default: the store's default region).",
            valueName: "region"))
        package var targetRegions: [String] = []
        @Option(help: "Replicas in a region that does not give a count (1 to 100; default 1).") package var replicaCount: Int?
        @Option(name: .customLong("region-exclude-from-latest"), help: ArgumentHelp(
            "NAME[=true|false|default]: exclude from latest in one region (overrides the version's flag; 'default' clears).",
            valueName: "region[=flag]"))
        package var regionFlags: [String] = []
        @Option(help: "End of life: YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ, in the future (informational).") package var endOfLifeDate: String?
        @Option(name: .customLong("tag"), help: ArgumentHelp("A tag KEY=VALUE; repeat for more.", valueName: "key=value"))
        package var tags: [String] = []
        @Flag(name: .shortAndLong, help: "Print no progress.") package var quiet = false

        package init() {}

        /// A bad `--tag` is a usage error, found before the command runs (as in `vhdtool tag`).
        package func validate() throws {
            _ = try TagArguments.parse(tags)
        }
    }

    /// `vhdtool version create VERSION --gallery G --definition D --os-vhd FILE ...`.
    package struct Create: ParsableCommand {
        package static let configuration = CommandConfiguration(
            commandName: "create",
            abstract: "Publish local VHDs as a new image version and replicate it.",
            discussion: """
                Everything is checked before anything is recorded or copied: the version name, the regions and \
                replica counts, each disk (a VHD or a raw image of whole 512-byte sectors, at least 1 MiB, opens with \
                its structural checks, under 2 TiB, not given twice, LUNs 0 to 63 and unique) and the OS disk's OS \
                state against the definition. The version is recorded with one replication job per replica, under \
                this process's lease; then the jobs run (regions in parallel), each replica checked against the \
                recorded content digest. Exit 5 when a region failed (the version is recorded; 'version replicate' \
                resumes it).
                """)
        @OptionGroup package var place: Where
        @Option(help: "The OS disk (VHD or raw).") package var osVhd: String
        @Option(name: .customLong("data-vhd"), help: ArgumentHelp(
            "A data disk, FILE or FILE=LUN (default LUN: its position); repeat for more.", valueName: "file[=lun]"))
        package var dataVhds: [String] = []
        @Option(help: "Storage account type of a region that does not give one: Standard_LRS (default), Standard_ZRS, Premium_LRS.")
        package var storageAccountType: String?
        @Flag(help: "Never resolve 'latest' to this version (unless a region says otherwise).") package var excludeFromLatest = false
        @Option(help: "The OS disk's OS state when it carries no tag: generalized or specialized.")
        package var osState: Choice<OSState>?
        @Flag(help: "Take a source named .vhd that holds no VHD as a raw image.") package var raw = false
        @Flag(help: "Record the version and its replication jobs and return; replication workers ('version replicate --worker') make the copies.")
        package var noWait = false
        @OptionGroup package var publishing: Publishing
        @OptionGroup package var store: StoreOptions
        @OptionGroup package var output: OutputOptions

        package init() {}
        package func run() throws { try GalleryCommandLine.run(self) }
    }

    /// `vhdtool version list --gallery G --definition D`.
    package struct List: ParsableCommand {
        package static let configuration = CommandConfiguration(commandName: "list", abstract: "List a definition's versions, highest first.")
        @OptionGroup package var definition: Definition
        @OptionGroup package var store: StoreOptions
        @OptionGroup package var output: OutputOptions

        package init() {}
        package func run() throws { try GalleryCommandLine.run(self) }
    }

    /// `vhdtool version show VERSION --gallery G --definition D [--verify]`.
    package struct Show: ParsableCommand {
        package static let configuration = CommandConfiguration(
            commandName: "show",
            abstract: "Show a version: disks, target regions, replication state and progress per region.",
            discussion: "--verify checks every replica of the Completed regions against the recorded content digest; a region with a missing or changed replica is marked Failed (exit 5).")
        @OptionGroup package var place: Where
        @Flag(help: "Check that every replica is there with the recorded content.") package var verify = false
        @OptionGroup package var store: StoreOptions
        @OptionGroup package var output: OutputOptions

        package init() {}
        package func run() throws { try GalleryCommandLine.run(self) }
    }

    /// `vhdtool version latest --gallery G --definition D [--region R]`.
    package struct Latest: ParsableCommand {
        package static let configuration = CommandConfiguration(
            commandName: "latest",
            abstract: "Show the version 'latest' resolves to.",
            discussion: """
                In a region: the highest version (numerically, MAJOR then MINOR then PATCH) not excluded from latest \
                there (a region's own flag overrides the version's) whose replication there is Completed. Without \
                --region: the highest version not excluded that is Completed in at least one region. End of life \
                does not exclude a version.
                """)
        @OptionGroup package var definition: Definition
        @Option(help: "The region a deployment would run in.") package var region: String?
        @OptionGroup package var store: StoreOptions
        @OptionGroup package var output: OutputOptions

        package init() {}
        package func run() throws { try GalleryCommandLine.run(self) }
    }

    /// `vhdtool version update VERSION --gallery G --definition D ...`: the fields that cannot
    /// change are hidden options, so that giving one says so rather than that it is unknown.
    package struct Update: ParsableCommand {
        package static let configuration = CommandConfiguration(
            commandName: "update",
            abstract: "Change what may change: replica counts, target regions, exclude-from-latest, end of life, tags.",
            discussion: """
                --add-region and --remove-region change the list of target regions; --target-region replaces the \
                whole list. The first target region (the version's source, its location) cannot be removed; a region \
                that holds replicas is removed only with --allow-replica-deletion, and its replicas are deleted. A \
                region added or given more replicas is replicated now; a region's storage account type cannot \
                change. --replica-count alone sets every region's count. The disks, LUNs and content never change. \
                A version another process creates, updates, replicates or deletes is refused (exit 3) unless --wait.
                """)
        @OptionGroup package var place: Where
        @Option(name: .customLong("add-region"), help: ArgumentHelp(
            "A region to add: NAME, NAME=COUNT, NAME=TYPE or NAME=COUNT=TYPE; repeat for more.", valueName: "region"))
        package var addRegions: [String] = []
        @Option(name: .customLong("remove-region"), help: ArgumentHelp(
            "A region to remove (never the first, the version's source region); repeat for more.", valueName: "name"))
        package var removeRegions: [String] = []
        @Flag(help: "Let a removed region's replicas be deleted (without it, removing a region that holds replicas is refused).")
        package var allowReplicaDeletion = false
        @Flag(help: "When another process holds the version, wait for it instead of refusing.") package var wait = false
        @Flag(inversion: .prefixedNo, help: "Exclude the version from latest, or include it again.") package var excludeFromLatest: Bool?
        @Flag(help: "Remove every tag (before adding those given).") package var clearTags = false
        @OptionGroup package var publishing: Publishing
        @Option(help: .hidden) package var osVhd: String?
        @Option(name: .customLong("data-vhd"), help: .hidden) package var dataVhds: [String] = []
        @Option(help: .hidden) package var storageAccountType: String?
        @OptionGroup package var store: StoreOptions
        @OptionGroup package var output: OutputOptions

        package init() {}
        package func run() throws { try GalleryCommandLine.run(self) }
    }

    /// `vhdtool version delete VERSION --gallery G --definition D [--wait]`.
    package struct Delete: ParsableCommand {
        package static let configuration = CommandConfiguration(
            commandName: "delete",
            abstract: "Delete a version and its replicas.",
            discussion: "A version another process creates, updates or replicates is refused (exit 3) unless --wait; one whose process is gone is taken over.")
        @OptionGroup package var place: Where
        @Flag(help: "When another process holds the version, wait for it instead of refusing.") package var wait = false
        @OptionGroup package var store: StoreOptions

        package init() {}
        package func run() throws { try GalleryCommandLine.run(self) }
    }

    /// `vhdtool version replicate VERSION --gallery G --definition D`, or
    /// `vhdtool version replicate --worker [--region R]... [--once]`.
    package struct Replicate: ParsableCommand {
        package static let configuration = CommandConfiguration(
            commandName: "replicate",
            abstract: "Make the replicas a version is missing, or run as a replication worker for every version (--worker).",
            discussion: """
                Failed jobs are tried again; a done replica whose file is missing or has another size than recorded \
                is made again (--verify on 'version show' checks content digests). Several 'replicate' runs share \
                the jobs. A version a create, update or delete of another live process holds is refused (exit 3) \
                unless --wait; one whose process is gone is taken over.

                With --worker (no version named): claims pending jobs of any version (in the --region regions \
                only, when given), one at a time, renewing its lease while it copies; a job whose worker is gone \
                (its process on this host, its lease expired on another host) is taken over. With --once it does \
                the jobs there are now and exits; without, it waits for new ones until SIGINT or SIGTERM, which \
                stop the copy under way (its partial file removed, its job pending again). A region whose folder \
                this host cannot see is said once and left to other hosts. VHDTOOL_LEASE_SECONDS sets the lease \
                (30 s by default); VHDTOOL_HOST the host name leases record.
                """)
        @Argument(help: "The version, MAJOR.MINOR.PATCH (not with --worker).") package var version: String?
        @Option(help: "The gallery (not with --worker).") package var gallery: String?
        @Option(help: "The image definition (not with --worker).") package var definition: String?
        @Flag(help: "Run as a replication worker: claim pending jobs of every version.") package var worker = false
        @Option(name: .customLong("region"), help: ArgumentHelp("With --worker: only jobs in this region (repeatable).", valueName: "name"))
        package var regions: [String] = []
        @Flag(help: "With --worker: do the jobs there are now, then exit.") package var once = false
        @Flag(name: .shortAndLong, help: "Print no progress.") package var quiet = false
        @Flag(help: "When another process holds the version, wait for it instead of refusing.") package var wait = false
        @OptionGroup package var store: StoreOptions
        @OptionGroup package var output: OutputOptions

        package init() {}
        package func run() throws { try GalleryCommandLine.run(self) }

        package func validate() throws {
            if worker {
                guard version == nil, gallery == nil, definition == nil else {
                    throw ValidationError("--worker replicates every version; give no version, --gallery or --definition with it")
                }
                guard !wait else { throw ValidationError("--wait is for one version; a worker leaves held versions to their holders") }
            } else {
                guard version != nil else { throw ValidationError("Missing expected argument '<version>' (or --worker)") }
                guard gallery != nil else { throw ValidationError("Missing expected argument '--gallery <gallery>'") }
                guard definition != nil else { throw ValidationError("Missing expected argument '--definition <definition>'") }
                guard regions.isEmpty, !once else { throw ValidationError("--region and --once go with --worker") }
            }
        }
    }

    /// `vhdtool version cost VERSION --gallery G --definition D`.
    package struct Cost: ParsableCommand {
        package static let configuration = CommandConfiguration(
            commandName: "cost",
            abstract: "What a version's snapshots cost as it stands: occupied sizes, snapshots, bytes stored and egress.",
            discussion: "Each replica is billed as a snapshot of the disks' occupied size; each region but the first (the source) receives one copy across regions.")
        @OptionGroup package var place: Where
        @OptionGroup package var store: StoreOptions
        @OptionGroup package var output: OutputOptions

        package init() {}
        package func run() throws { try GalleryCommandLine.run(self) }
    }
}
