import ArgumentParser
import CommandLineSupport

/// `vhdtool store check`.
package struct StoreCommand: ParsableCommand {
    package static let configuration = CommandConfiguration(
        commandName: "store", abstract: "Check the store: that what the catalog says is true of the region folders.",
        subcommands: [Check.self])

    package init() {}

    /// `vhdtool store check [--repair] [--deep]`.
    package struct Check: ParsableCommand {
        package static let configuration = CommandConfiguration(
            commandName: "check",
            abstract: "Check the catalog and every region folder; --repair puts right what can be.",
            discussion: """
                Reports replicas missing or of the wrong size (--deep: of the wrong content digest), files in region \
                folders that no replication job owns (orphans) and partial files no live job writes, leases whose \
                process is gone, regions whose folders overlap, and the catalog's integrity (SQLite integrity_check, \
                foreign keys, the names it holds). --repair makes missing and changed replicas pending again (run \
                'vhdtool version replicate' to make them), releases abandoned leases, and removes orphans and \
                partial files older than an hour. Exit 0: nothing wrong (or all repaired); 2: problems remain; 1: \
                the store could not be checked.
                """)
        @Flag(help: "Put right what can be put right.") package var repair = false
        @Flag(help: "Also read every replica and compare its content digest with the recorded one.") package var deep = false
        @OptionGroup package var store: StoreOptions
        @OptionGroup package var output: OutputOptions

        package init() {}
        package func run() throws { try GalleryCommandLine.run(self) }
    }
}
