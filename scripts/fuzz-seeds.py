#!/usr/bin/env python3
"""Writes tiny VHD seeds for the fuzzer into a folder: the real images are megabytes, and
libFuzzer mutates small inputs far faster. Each seed is a valid disk of one kind, a few KiB:
fixed, dynamic (4 KiB blocks, partial sector bitmaps), differencing (W2ku, W2ru and MacX
locators), and a dynamic disk with the 511-byte legacy footer. Standard library only.

Usage: fuzz-seeds.py FOLDER
"""

import gzip
import os
import struct
import sys

SECTOR = 512


def checksum(buf, field):
    return (~(sum(buf) - sum(buf[field:field + 4]))) & 0xFFFFFFFF


def footer(disk_type, size, data_offset, uid):
    cylinders, heads, sectors = max(1, size // (16 * 63 * SECTOR)), 16, 63
    buf = bytearray(
        b"conectix" + struct.pack(">IIQI", 2, 0x00010000, data_offset, 0x2A2A2A2A)
        + b"vhdt" + struct.pack(">I", 0x00010000) + b"Wi2k"
        + struct.pack(">QQHBBII", size, size, cylinders, heads, sectors, disk_type, 0)
        + uid + b"\0" + bytes(427))
    struct.pack_into(">I", buf, 64, checksum(buf, 64))
    return bytes(buf)


def header(table_offset, entries, block_size, parent_uid=bytes(16), parent_name="", locators=()):
    name = parent_name.encode("utf-16-be")[:512].ljust(512, b"\0")
    buf = bytearray(
        b"cxsparse" + struct.pack(">QQIIII", 0xFFFFFFFFFFFFFFFF, table_offset, 0x00010000, entries, block_size, 0)
        + parent_uid + struct.pack(">II", 0x2A2A2A2A, 0) + name)
    for code, space, length, offset in locators:
        buf += code + struct.pack(">IIIQ", space, length, 0, offset)
    buf = buf.ljust(1024, b"\0")
    struct.pack_into(">I", buf, 36, checksum(buf, 36))
    return bytes(buf)


def dynamic(block_size=4096, entries=16, blocks=None, disk_type=3, parent=None, legacy=False):
    """blocks: {index: (bitmap bytes, fill byte)}."""
    blocks = blocks if blocks is not None else {0: (b"\xff", 0x11), 5: (b"\xa5", 0x22), 15: (b"\x01", 0x33)}
    uid = bytes(range(16)) if parent is None else bytes(range(16, 32))
    table_offset = 1536
    table_bytes = (entries * 4 + SECTOR - 1) // SECTOR * SECTOR
    position = table_offset + table_bytes
    locators, locator_data = [], []
    if parent is not None:
        for code, data in ((b"W2ku", "C:\\images\\parent.vhd".encode("utf-16-le")),
                           (b"W2ru", ".\\parent.vhd".encode("utf-16-le")),
                           (b"MacX", b"file:///images/parent.vhd")):
            locators.append((code, SECTOR, len(data), position))
            locator_data.append((position, data))
            position += SECTOR
    bitmap_size = max(SECTOR, (block_size // SECTOR + 7) // 8 // SECTOR * SECTOR)
    bat = [0xFFFFFFFF] * entries
    body = {}
    for index, (bitmap, fill) in sorted(blocks.items()):
        bat[index] = position // SECTOR
        body[position] = bitmap.ljust(bitmap_size, b"\0") + bytes([fill]) * block_size
        position += bitmap_size + block_size
    size = entries * block_size
    foot = footer(disk_type, size, SECTOR, uid)
    image = bytearray(position)
    image[0:SECTOR] = foot
    image[SECTOR:1536] = header(table_offset, entries, block_size,
                                parent_uid=bytes(range(16)) if parent is not None else bytes(16),
                                parent_name="parent.vhd" if parent is not None else "", locators=locators)
    image[table_offset:table_offset + entries * 4] = struct.pack(f">{entries}I", *bat)
    for offset, data in locator_data + list(body.items()):
        image[offset:offset + len(data)] = data
    return bytes(image) + (foot[:511] if legacy else foot)


def fixed(size=4096):
    return bytes((i * 7 + 1) & 0xFF for i in range(size)) + footer(2, size, 0xFFFFFFFFFFFFFFFF, bytes(range(16)))


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    folder = sys.argv[1]
    os.makedirs(folder, exist_ok=True)
    seeds = {
        "fixed-4k.vhd": fixed(),
        "dynamic-64k.vhd": dynamic(),
        "dynamic-512-blocks.vhd": dynamic(block_size=512, entries=64, blocks={0: (b"\x80", 1), 63: (b"\x80", 2)}),
        "differencing-64k.vhd": dynamic(disk_type=4, parent="parent.vhd"),
        "dynamic-legacy-footer.vhd": dynamic(legacy=True),
        "dynamic-empty.vhd": dynamic(blocks={}),
    }
    # VHDX skeletons (see skeletonOffsets in Fuzz/Sources/VHDFuzz/FuzzTarget.swift): 4 KiB
    # from each place of a real VHDX where the readers look, concatenated.
    images = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "TestImages", "vhdx")
    offsets = [0, 64 << 10, 128 << 10, 192 << 10, 256 << 10, 1 << 20, 2 << 20, (2 << 20) + (64 << 10), 3 << 20, (3 << 20) + (64 << 10)]
    for name in sorted(os.listdir(images)) if os.path.isdir(images) else []:
        if name.endswith(".vhdx.gz"):
            with gzip.open(os.path.join(images, name)) as image:
                data = image.read()
            seeds["skeleton-" + name[:-3]] = b"".join(data[offset:offset + 4096] for offset in offsets)
    # Gzip input is decompressed before it is read (the fuzz target allows 1 MiB of content):
    # small compressed disks, instead of the compressed corpus images, which expand to 10-40 MiB.
    seeds["fixed-4k.vhd.gz"] = gzip.compress(seeds["fixed-4k.vhd"], mtime=0)
    seeds["dynamic-64k.vhd.gz"] = gzip.compress(seeds["dynamic-64k.vhd"], mtime=0)
    for name, data in seeds.items():
        with open(os.path.join(folder, name), "wb") as out:
            out.write(data)


if __name__ == "__main__":
    main()
