#!/usr/bin/env python3
"""Writes a dynamic VHD whose allocated blocks' sector bitmaps alternate bits (0x55 in even
blocks, 0xAA in odd ones): a data and a zero extent per 512-byte sector, 4096 extents per
2 MiB block. Data areas are left as holes, so the file takes about one page per block.

    make-fragmented-disk.py PATH [--size-gib 2040] [--blocks N]   (default: every block)

Same layout as Tests/TestSupport/FragmentedDisk.swift: footer copy at 0, header at 512, BAT at
1536, blocks (bitmap, data) from the next 4 KiB, footer at the end.
"""
import argparse
import os
import struct

BLOCK = 2 << 20
BITMAP = 512


def checksum(data):
    return (~sum(data)) & 0xFFFFFFFF


def footer(size):
    b = bytearray(512)
    b[0:8] = b"conectix"
    struct.pack_into(">IIQI", b, 8, 2, 0x00010000, 512, 0x2D24BD00)
    b[28:32] = b"vhdt"
    struct.pack_into(">I", b, 32, 0x00010000)
    b[36:40] = b"Wi2k"
    struct.pack_into(">QQHBBI", b, 40, size, size, 65535, 16, 255, 3)
    b[68:84] = bytes.fromhex("0123456789ab4cde8123456789abcdef")
    struct.pack_into(">I", b, 64, checksum(b))
    return bytes(b)


def header(entries):
    b = bytearray(1024)
    b[0:8] = b"cxsparse"
    struct.pack_into(">QQIII", b, 8, 0xFFFFFFFFFFFFFFFF, 1536, 0x00010000, entries, BLOCK)
    struct.pack_into(">I", b, 36, checksum(b))
    return bytes(b)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("path")
    parser.add_argument("--size-gib", type=int, default=2040)
    parser.add_argument("--blocks", type=int, default=0, help="allocated blocks, spread evenly (0: all)")
    args = parser.parse_args()
    size = args.size_gib << 30
    entries = size // BLOCK
    count = args.blocks or entries
    table_size = (entries * 4 + 511) // 512 * 512
    first = (1536 + table_size + 4095) // 4096 * 4096
    stride = BITMAP + BLOCK
    table = bytearray(b"\xff" * table_size)
    even, odd = b"\x55" * BITMAP, b"\xaa" * BITMAP
    fd = os.open(args.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        for index in range(count):
            block = index * entries // count
            offset = first + index * stride
            struct.pack_into(">I", table, block * 4, offset // 512)
            os.pwrite(fd, odd if block % 2 else even, offset)
        f = footer(size)
        os.pwrite(fd, f, 0)
        os.pwrite(fd, header(entries), 512)
        os.pwrite(fd, bytes(table), 1536)
        os.pwrite(fd, f, first + count * stride)
    finally:
        os.close(fd)


if __name__ == "__main__":
    main()
