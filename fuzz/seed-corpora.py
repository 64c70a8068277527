#!/usr/bin/env python3
"""Writes the seed corpus of every fuzz target (fuzz/corpus/TARGET/) from the committed real
streams in testdata/ and the project's own documents; scripts/fuzz.sh then grows them and
`cargo fuzz cmin` minimises them. Targets that take a leading selector byte (codec, chunk
size, document kind) get it here. Idempotent: rewrites the seeds, keeps other inputs."""

import pathlib
import re
import struct

ROOT = pathlib.Path(__file__).resolve().parent.parent
TESTDATA = ROOT / "testdata"
CORPUS = ROOT / "fuzz" / "corpus"
RAW_BYTES = 16 << 10  # the first pictures of each raw stream: parameter sets, an IDR, P/B


def put(target, name, data):
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"seed-{name}").write_bytes(data)


def boxes(data, start, end):
    while start + 8 <= end:
        size, kind = struct.unpack(">I4s", data[start:start + 8])
        size = size or end - start
        yield kind, start, start + size
        start += size


def find_box(data, path, start=0, end=None):
    end = len(data) if end is None else end
    for kind, s, e in boxes(data, start, end):
        if kind == path[0]:
            if len(path) == 1:
                return s, e
            # stsd and sample entries carry fields before their children.
            skip = {b"stsd": 16, b"avc1": 86, b"hvc1": 86, b"hev1": 86}.get(kind, 8)
            found = find_box(data, path[1:], s + skip, e)
            if found:
                return found
    return None


raw = sorted(TESTDATA.glob("*.h26[45]"))
for f in raw:
    head = f.read_bytes()[:RAW_BYTES]
    codec = b"\x00" if f.suffix == ".h264" else b"\x01"
    put("nal_parameter_sets", f.stem, head)
    put("access_units", f.stem, codec + head)
    put("raw_remux", f.stem, codec + head)

mp4s = ["h264_main_320x240_25.mp4", "hevc_main_320x240_25.mp4", "h264_main_320x240_25_fragmented.mp4"]
for name in mp4s:
    data = (TESTDATA / name).read_bytes()
    put("mp4_demux", name, data)
    put("video_input", name, data)
# The small malformed files (the large ones are the fixtures with a word changed).
for f in sorted((TESTDATA / "malformed").glob("*.mp4")):
    if f.stat().st_size <= 8 << 10:
        put("mp4_demux", f.stem, f.read_bytes())
for f in raw[:2]:
    put("video_input", f.stem, f.read_bytes()[:RAW_BYTES])

for f in sorted(TESTDATA.glob("*.mp4")):
    data = f.read_bytes()
    for entry, codec in ((b"avc1", b"\x00"), (b"hvc1", b"\x01"), (b"hev1", b"\x01")):
        record_box = find_box(data, [b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stsd", entry,
                                     b"avcC" if codec == b"\x00" else b"hvcC"])
        if record_box:
            s, e = record_box
            put("config_records", f.stem, codec + data[s + 8:e])

for f in sorted((TESTDATA / "rtp").glob("*.rtp")):
    codec = b"\x00" if f.name.startswith("h264") else b"\x01"
    put("rtp_depacketizer", f.stem, codec + f.read_bytes()[:32 << 10])

sdp_tests = (ROOT / "libifc/src/rtsp/sdp_tests.rs").read_text()
descriptions = [bytes(m, "utf-8").decode("unicode_escape").encode("latin-1")
                for m in re.findall(r'const \w+: &str = "(v=0.*?)";', sdp_tests)]
for i, sdp in enumerate(descriptions):
    put("sdp", f"captured-{i}", sdp)

frame = lambda ch, p: b"$" + bytes([ch]) + struct.pack(">H", len(p)) + p
rtp = bytes([0x80, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0x65, 0x88, 0x84])
session = (b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nPublic: OPTIONS, DESCRIBE, SETUP, PLAY, GET_PARAMETER\r\n\r\n"
           b"RTSP/1.0 401 Unauthorized\r\nCSeq: 2\r\nWWW-Authenticate: Digest realm=\"cam\", nonce=\"abc\", "
           b"algorithm=MD5, qop=\"auth\"\r\nWWW-Authenticate: Basic realm=\"cam\"\r\n\r\n"
           b"RTSP/1.0 200 OK\r\nCSeq: 3\r\nContent-Type: application/sdp\r\nContent-Length: " +
           str(len(descriptions[0])).encode() + b"\r\n\r\n" + descriptions[0] +
           b"RTSP/1.0 200 OK\r\nCSeq: 4\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n"
           b"Session: 12345678;timeout=60\r\n\r\n" + frame(0, rtp) +
           b"RTSP/1.0 200 OK\r\nCSeq: 5\r\nSession: 12345678\r\n\r\n" + frame(1, bytes(28)) + frame(0, b"") +
           b"ANNOUNCE rtsp://cam/1 RTSP/1.0\r\nCSeq: 77\r\nContent-Length: 3\r\n\r\nv=0")
put("rtsp_reader", "session", b"\x07" + session)
put("rtsp_reader", "session-bytewise", b"\x00" + session)

# Publishers' real request streams (ffmpeg, GStreamer; testdata/rtsp): selector 0x04 (right
# password, UDP ports available, chunk 2), 0x05 (no password matches), 0xfc (whole, nonces old).
for f in sorted((TESTDATA / "rtsp").glob("publish_*.rtsp")):
    for selector in (0x04, 0x05, 0xfc):
        put("rtsp_publish", f"{f.stem}-{selector:02x}", bytes([selector]) + f.read_bytes())

for i, url in enumerate(["rtsp://cam/live", "rtsp://admin:s3cr3t-passw0rd@192.168.1.64:554/Streaming/Channels/101",
                         "rtsp://user:p%40ss%2Fw@[fe80::1]:8554/a?token=abc&x=1", "rtsps://cam/", "rtsp://h:99999/"]):
    put("rtsp_url", str(i), url.encode())

put("pipeline_document", "conveyor-embedded", b"\x00" + (ROOT / "examples/conveyor-embedded.yaml").read_bytes())
put("pipeline_document", "line3-triton", b"\x02" + (ROOT / "examples/line3-triton.json").read_bytes())
for f in sorted((ROOT / "models").glob("*.yaml")):
    put("pipeline_document", "labels-" + f.stem, b"\x01" + f.read_bytes())
put("pipeline_document", "labels-lines", b"\x01person\nbicycle\ncar\n")
put("pipeline_document", "labels-list", b'\x01["ok", "scratch", "dent"]')
