#!/usr/bin/env python3
"""Edit the bytes of a VHD image in place and keep (or deliberately break) its checksums.

Used by scripts/make-test-images to normalise qemu-img output and to derive the broken
test images. Standard library only.

Layout facts used (see /work/shared/VHD-FACTS.md; all integers big-endian):
  footer   last 512 bytes of the file; dynamic/differencing disks also keep a copy at offset 0
           16 data offset (u64), 24 timestamp (u32), 60 disk type (u32), 64 checksum (u32),
           68..84 UUID
  header   dynamic disk header, 1024 bytes at the footer's data offset (usually 512)
           16 BAT offset (u64), 28 max table entries (u32), 32 block size (u32), 36 checksum (u32)
  BAT      u32 sector numbers, 0xFFFFFFFF = unallocated
  checksum bitwise NOT of the 32-bit sum of all bytes, with the checksum field read as zero

Usage: vhd_corrupt.py FILE COMMAND [ARGS...]   (run with -h for the commands)
"""

import argparse
import os
import struct
import sys
import uuid as uuidlib

FOOTER_SIZE = 512
HEADER_SIZE = 1024
FOOTER_CHECKSUM = 64
HEADER_CHECKSUM = 36
COOKIE = b"conectix"
HEADER_COOKIE = b"cxsparse"
UNALLOCATED = 0xFFFFFFFF


def die(msg):
    print(f"vhd_corrupt: {msg}", file=sys.stderr)
    sys.exit(1)


def checksum(buf, field):
    """Bitwise NOT of the byte sum of buf, with buf[field:field+4] taken as zero."""
    total = sum(buf) - sum(buf[field:field + 4])
    return (~total) & 0xFFFFFFFF


def get_u(buf, off, size):
    return int.from_bytes(buf[off:off + size], "big")


def put_u(buf, off, size, value):
    if value < 0 or value >= 1 << (8 * size):
        die(f"value {value:#x} does not fit in {size} bytes")
    buf[off:off + size] = value.to_bytes(size, "big")


def parse_int(text):
    return int(text, 0)


class Image:
    def __init__(self, path):
        self.path = path
        with open(path, "rb") as f:
            self.data = bytearray(f.read())
        if len(self.data) < FOOTER_SIZE:
            die(f"{path}: shorter than a footer")

    def save(self):
        with open(self.path, "wb") as f:
            f.write(self.data)

    # --- footers -------------------------------------------------------------------------
    def end_footer_offset(self):
        return len(self.data) - FOOTER_SIZE

    def footer_offsets(self, which):
        """Offsets of the footer copies selected by `which` (end, start, both)."""
        end = self.end_footer_offset()
        offsets = []
        if which in ("end", "both"):
            if self.data[end:end + 8] != COOKIE:
                die(f"{self.path}: no footer cookie at end offset {end}")
            offsets.append(end)
        if which in ("start", "both"):
            if self.data[0:8] != COOKIE:
                if which == "start":
                    die(f"{self.path}: no footer copy at offset 0")
            elif end != 0:
                offsets.append(0)
        return offsets

    def footer(self):
        end = self.end_footer_offset()
        if self.data[end:end + 8] == COOKIE:
            return end
        if self.data[0:8] == COOKIE:
            return 0
        die(f"{self.path}: no footer found")

    def fix_footer_checksum(self, off):
        put_u(self.data, off + FOOTER_CHECKSUM, 4,
              checksum(self.data[off:off + FOOTER_SIZE], FOOTER_CHECKSUM))

    # --- dynamic header / BAT --------------------------------------------------------------
    def header_offset(self):
        f = self.footer()
        disk_type = get_u(self.data, f + 60, 4)
        if disk_type not in (3, 4):
            die(f"{self.path}: disk type {disk_type} has no dynamic header")
        off = get_u(self.data, f + 16, 8)
        if off + HEADER_SIZE > len(self.data) or self.data[off:off + 8] != HEADER_COOKIE:
            die(f"{self.path}: no dynamic header at {off}")
        return off

    def fix_header_checksum(self, off):
        put_u(self.data, off + HEADER_CHECKSUM, 4,
              checksum(self.data[off:off + HEADER_SIZE], HEADER_CHECKSUM))

    def bat(self):
        h = self.header_offset()
        bat_off = get_u(self.data, h + 16, 8)
        entries = get_u(self.data, h + 28, 4)
        block_size = get_u(self.data, h + 32, 4)
        return h, bat_off, entries, block_size

    def bat_entry_offset(self, index):
        _, bat_off, entries, _ = self.bat()
        if not 0 <= index < entries:
            die(f"BAT index {index} out of range (0..{entries - 1})")
        return bat_off + 4 * index


# --- commands ------------------------------------------------------------------------------

def cmd_normalize(img, args):
    """Fixed timestamp and UUID in every footer copy, checksums recomputed."""
    u = uuidlib.UUID(args.uuid).bytes
    for off in img.footer_offsets("both"):
        put_u(img.data, off + 24, 4, args.timestamp)
        img.data[off + 68:off + 84] = u
        img.fix_footer_checksum(off)


def cmd_set_footer(img, args):
    """Write an integer (or --bytes) at a footer offset in the selected copies."""
    if (args.bytes is None) == (args.value is None):
        die("give either VALUE or --bytes")
    for off in img.footer_offsets(args.copies):
        if args.bytes is not None:
            raw = args.bytes.encode("latin-1")
            img.data[off + args.offset:off + args.offset + len(raw)] = raw
        else:
            put_u(img.data, off + args.offset, args.size, args.value)
        if not args.keep_checksum:
            img.fix_footer_checksum(off)


def cmd_footer_checksum_add(img, args):
    for off in img.footer_offsets(args.copies):
        v = get_u(img.data, off + FOOTER_CHECKSUM, 4)
        put_u(img.data, off + FOOTER_CHECKSUM, 4, (v + args.delta) & 0xFFFFFFFF)


def cmd_set_header(img, args):
    h = img.header_offset()
    put_u(img.data, h + args.offset, args.size, args.value)
    if not args.keep_checksum:
        img.fix_header_checksum(h)


def cmd_header_checksum_add(img, args):
    h = img.header_offset()
    v = get_u(img.data, h + HEADER_CHECKSUM, 4)
    put_u(img.data, h + HEADER_CHECKSUM, 4, (v + args.delta) & 0xFFFFFFFF)


def cmd_set_bat(img, args):
    off = img.bat_entry_offset(args.index)
    old = get_u(img.data, off, 4)
    if args.require_unallocated and old != UNALLOCATED:
        die(f"BAT entry {args.index} is allocated ({old:#x})")
    if args.value.startswith("entry:"):
        src = img.bat_entry_offset(int(args.value[6:], 0))
        value = get_u(img.data, src, 4)
        if value == UNALLOCATED:
            die(f"source BAT entry {args.value} is unallocated")
    else:
        value = parse_int(args.value)
    put_u(img.data, off, 4, value)


def cmd_truncate_mid_last_block(img, args):
    """Cut the file in the middle of the data area of the block stored last in the file."""
    _, bat_off, entries, block_size = img.bat()
    sectors = [get_u(img.data, bat_off + 4 * i, 4) for i in range(entries)]
    sectors = [s for s in sectors if s != UNALLOCATED]
    if not sectors:
        die("no allocated block")
    bitmap = ((block_size // 512 + 7) // 8 + 511) // 512 * 512
    start = max(sectors) * 512
    cut = start + bitmap + block_size // 2
    if cut >= len(img.data):
        die("file already ends before the cut point")
    del img.data[cut:]


def cmd_truncate(img, args):
    if args.length > len(img.data):
        die("truncate only shortens")
    del img.data[args.length:]


def cmd_zero(img, args):
    start = args.start if args.start >= 0 else len(img.data) + args.start
    end = start + args.length
    if not 0 <= start <= end <= len(img.data):
        die("range outside file")
    img.data[start:end] = bytes(args.length)


def cmd_info(img, args):
    """Print the fields the test-image README needs (read only)."""
    print(f"file size      {len(img.data)}")
    end = img.end_footer_offset()
    for off in sorted({0, end}):
        if img.data[off:off + 8] != COOKIE:
            print(f"footer @{off:<9} no cookie ({bytes(img.data[off:off + 8])!r})")
            continue
        d = img.data[off:off + FOOTER_SIZE]
        ok = checksum(d, FOOTER_CHECKSUM) == get_u(d, FOOTER_CHECKSUM, 4)
        c, hds, spt = get_u(d, 56, 2), d[58], d[59]
        print(f"footer @{off:<9} type {get_u(d, 60, 4)} creator {bytes(d[28:32])!r} "
              f"current_size {get_u(d, 48, 8)} chs {c}/{hds}/{spt} (= {c * hds * spt * 512} B) "
              f"data_offset {get_u(d, 16, 8):#x} checksum {'ok' if ok else 'BAD'} "
              f"uuid {uuidlib.UUID(bytes=bytes(d[68:84]))} timestamp {get_u(d, 24, 4)}")
    f = img.footer()
    if get_u(img.data, f + 60, 4) in (3, 4):
        h, bat_off, entries, block_size = img.bat()
        d = img.data[h:h + HEADER_SIZE]
        ok = checksum(d, HEADER_CHECKSUM) == get_u(d, HEADER_CHECKSUM, 4)
        print(f"header @{h} bat_offset {bat_off} max_table_entries {entries} "
              f"block_size {block_size} checksum {'ok' if ok else 'BAD'}")
        shown = min(entries, 64)
        bat = [get_u(img.data, bat_off + 4 * i, 4) for i in range(shown)]
        print("bat            " + " ".join("-" if s == UNALLOCATED else str(s) for s in bat)
              + (" ..." if shown < entries else ""))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("normalize", help="set footer timestamp and UUID (all copies), fix checksums")
    s.add_argument("--timestamp", type=parse_int, required=True)
    s.add_argument("--uuid", required=True)
    s.set_defaults(func=cmd_normalize)

    s = sub.add_parser("set-footer", help="write a field in footer copies, fix checksums")
    s.add_argument("offset", type=parse_int)
    s.add_argument("size", type=parse_int, choices=(1, 2, 4, 8))
    s.add_argument("value", type=parse_int, nargs="?")
    s.add_argument("--bytes", help="write these literal bytes instead of an integer")
    s.add_argument("--copies", choices=("end", "start", "both"), default="both")
    s.add_argument("--keep-checksum", action="store_true", help="do not recompute the checksum")
    s.set_defaults(func=cmd_set_footer)

    s = sub.add_parser("footer-checksum-add", help="add DELTA to the stored footer checksum(s)")
    s.add_argument("delta", type=parse_int)
    s.add_argument("--copies", choices=("end", "start", "both"), default="both")
    s.set_defaults(func=cmd_footer_checksum_add)

    s = sub.add_parser("set-header", help="write a dynamic-header field, fix its checksum")
    s.add_argument("offset", type=parse_int)
    s.add_argument("size", type=parse_int, choices=(1, 2, 4, 8))
    s.add_argument("value", type=parse_int)
    s.add_argument("--keep-checksum", action="store_true")
    s.set_defaults(func=cmd_set_header)

    s = sub.add_parser("header-checksum-add", help="add DELTA to the stored header checksum")
    s.add_argument("delta", type=parse_int)
    s.set_defaults(func=cmd_header_checksum_add)

    s = sub.add_parser("set-bat", help="set BAT[INDEX] to VALUE (an integer or entry:N)")
    s.add_argument("index", type=parse_int)
    s.add_argument("value")
    s.add_argument("--require-unallocated", action="store_true")
    s.set_defaults(func=cmd_set_bat)

    s = sub.add_parser("truncate-mid-last-block",
                       help="cut the file halfway through the data of the last block in the file")
    s.set_defaults(func=cmd_truncate_mid_last_block)

    s = sub.add_parser("truncate", help="shorten the file to LENGTH bytes")
    s.add_argument("length", type=parse_int)
    s.set_defaults(func=cmd_truncate)

    s = sub.add_parser("zero", help="zero LENGTH bytes from START (negative START counts from EOF)")
    s.add_argument("start", type=parse_int)
    s.add_argument("length", type=parse_int)
    s.set_defaults(func=cmd_zero)

    s = sub.add_parser("info", help="print footer/header/BAT fields")
    s.set_defaults(func=cmd_info)

    args = p.parse_args()
    if not os.path.isfile(args.file):
        die(f"{args.file}: not a file")
    img = Image(args.file)
    args.func(img, args)
    if args.func is not cmd_info:
        img.save()


if __name__ == "__main__":
    main()
