#!/usr/bin/env python3
"""Writes testdata/malformed/: broken inputs derived from the fixtures, each named after the
damage it carries. Deterministic (fixed seeds). The suite runs `ifc probe` and `ifc remux` on
every file and checks for a clean error or a clean recovery, never a crash or a hang.

    scripts/make-malformed.py [OUT_DIR]
"""
import os
import random
import struct
import sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
src = os.path.join(root, "testdata")
out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(src, "malformed")
os.makedirs(out, exist_ok=True)


def read(name):
    with open(os.path.join(src, name), "rb") as f:
        return f.read()


def write(name, data):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)


def boxes(data, start=0, end=None):
    """Top-level (or child) boxes as (offset, size, type)."""
    end = len(data) if end is None else end
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if size == 1:
            size = struct.unpack(">Q", data[pos + 8:pos + 16])[0]
        elif size == 0:
            size = end - pos
        yield pos, size, kind
        if size < 8:
            return
        pos += size


def find_box(data, path):
    """Offset of the box at a path like [b'moov', b'trak', b'mdia'] (first match each level)."""
    start, end = 0, len(data)
    found = None
    for kind in path:
        for pos, size, k in boxes(data, start, end):
            if k == kind:
                found = (pos, size)
                header = 16 if struct.unpack(">I", data[pos:pos + 4])[0] == 1 else 8
                start, end = pos + header, pos + size
                if kind == b"stsd":
                    start += 8  # version/flags + entry_count
                break
        else:
            raise KeyError(path)
    return found


def nals(data):
    """Annex B NAL units as (start_code_offset, payload_offset, end)."""
    positions = []
    i = 0
    while True:
        i = data.find(b"\x00\x00\x01", i)
        if i < 0:
            break
        sc = i - 1 if i > 0 and data[i - 1] == 0 else i
        positions.append((sc, i + 3))
        i += 3
    return [(sc, p, positions[k + 1][0] if k + 1 < len(positions) else len(data)) for k, (sc, p) in enumerate(positions)]


mp4 = read("h264_main_320x240_25.mp4")
hevc_mp4 = read("hevc_main_320x240_25.mp4")
raw = read("h264_main_320x240_25.h264")
hevc_raw = read("hevc_main_320x240_25.h265")
frag = read("h264_main_320x240_25_fragmented.mp4")

write("empty.mp4", b"")
write("empty.h264", b"")
write("garbage_only.mp4", random.Random(1).randbytes(4096))
write("garbage_only.h264", random.Random(2).randbytes(4096))

# Truncations.
moov = find_box(mp4, [b"moov"])
write("mp4_truncated_in_moov.mp4", mp4[: moov[0] + moov[1] // 2])
write("mp4_truncated_in_mdat.mp4", mp4[: len(mp4) * 2 // 3])
write("mp4_header_only.mp4", mp4[:20])
write("fragmented_truncated_in_moof.mp4", frag[: find_box(frag, [b"moof"])[0] + 40])
write("h264_truncated_mid_nal.h264", raw[: len(raw) // 2 + 7])
write("hevc_truncated_mid_nal.h265", hevc_raw[: len(hevc_raw) // 3 + 5])

# Absurd sizes and counts.
d = bytearray(mp4)
pos, _ = find_box(d, [b"moov"])
struct.pack_into(">I", d, pos, 0xFFFFFFF0)
write("mp4_moov_size_past_eof.mp4", bytes(d))
d = bytearray(mp4)
pos, _ = find_box(d, [b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stsz"])
struct.pack_into(">I", d, pos + 16, 0xFFFFFFFF)  # sample_count
write("mp4_stsz_count_huge.mp4", bytes(d))
d = bytearray(mp4)
pos, _ = find_box(d, [b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stts"])
struct.pack_into(">I", d, pos + 12, 0x7FFFFFFF)  # entry_count
write("mp4_stts_entries_huge.mp4", bytes(d))
d = bytearray(mp4)
pos, _ = find_box(d, [b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stco"])
struct.pack_into(">I", d, pos + 16, 0x7FFFFFF0)  # first chunk offset
write("mp4_chunk_offset_past_eof.mp4", bytes(d))
d = bytearray(mp4)
pos, _ = find_box(d, [b"moov", b"trak", b"mdia", b"mdhd"])
struct.pack_into(">I", d, pos + 20, 0)  # timescale (version 0)
write("mp4_timescale_zero.mp4", bytes(d))
d = bytearray(mp4)
pos, _ = find_box(d, [b"moov", b"trak"])
struct.pack_into(">I", d, pos, 4)  # box size below its header
write("mp4_box_size_below_header.mp4", bytes(d))
d = bytearray(hevc_mp4)
pos, _ = find_box(d, [b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stsd", b"hvc1"])
hvcc = d.find(b"hvcC", pos)
d[hvcc + 4 + 22] = 0xFF  # numOfArrays
write("hevc_hvcc_array_count_huge.mp4", bytes(d))
d = bytearray(mp4)
avcc = d.find(b"avcC")
d[avcc + 4 + 5] = 0xFF  # numOfSequenceParameterSets (low 5 bits = 31)
write("mp4_avcc_sps_count_wrong.mp4", bytes(d))
d = bytearray(mp4)
avcc = d.find(b"avcC")
d[avcc + 4 + 6: avcc + 4 + 8] = b"\xff\xff"  # first SPS length
write("mp4_avcc_sps_length_huge.mp4", bytes(d))

# Flipped bits: in the moov (structure) and in slice data (content).
rng = random.Random(3)
d = bytearray(mp4)
pos, size = find_box(d, [b"moov"])
for _ in range(24):
    k = rng.randrange(pos + 8, pos + size)
    d[k] ^= 1 << rng.randrange(8)
write("mp4_moov_bits_flipped.mp4", bytes(d))
d = bytearray(raw)
units = nals(raw)
for sc, p, end in units[len(units) // 3:: 7]:
    if end - p > 40:
        k = rng.randrange(p + 8, end)
        d[k] ^= 1 << rng.randrange(8)
write("h264_slice_bits_flipped.h264", bytes(d))
d = bytearray(hevc_raw)
for sc, p, end in nals(hevc_raw)[5::6]:
    if end - p > 40:
        d[rng.randrange(p + 8, end)] ^= 0x10
write("hevc_slice_bits_flipped.h265", bytes(d))
d = bytearray(raw)
for sc, p, end in units:
    if raw[p] & 0x1F in (7, 8):
        d[p + 1 + rng.randrange(min(4, end - p - 1))] ^= 0x40
write("h264_parameter_sets_bits_flipped.h264", bytes(d))

# Missing parameter sets, and garbage between NAL units.
write("h264_no_parameter_sets.h264", b"".join(raw[sc:end] for sc, p, end in units if raw[p] & 0x1F not in (7, 8)))
hevc_units = nals(hevc_raw)
write("hevc_no_parameter_sets.h265", b"".join(hevc_raw[sc:end] for sc, p, end in hevc_units if (hevc_raw[p] >> 1) & 0x3F not in (32, 33, 34)))
garbage = random.Random(4)
parts = []
for sc, p, end in units:
    parts.append(raw[sc:end])
    # Garbage without start codes, like a corrupted transport would leave.
    parts.append(bytes(b | 0x80 for b in garbage.randbytes(garbage.randrange(1, 64))))
write("h264_garbage_between_nals.h264", b"".join(parts))
write("h264_starts_mid_gop.h264", raw[units[len(units) // 2][0]:])
write("h264_forbidden_bit_set.h264", bytes(b | 0x80 if i in {p for _, p, _ in units[3::5]} else b for i, b in enumerate(raw)))
print(f"malformed inputs in {out}: {len(os.listdir(out))} files")
