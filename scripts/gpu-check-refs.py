#!/usr/bin/env python3
"""Writes DATA/manifest.json: for every clip in DATA, the libavcodec reference of each frame
as ifc's CPU decoder gives it (`ifc extract --format raw --threads 1`): a sha256 of the planar
frame for 8-bit clips (checked for equality), the planar frames themselves for 10-bit clips
(refs/<clip>.raw, checked by PSNR). Used by scripts/gpu-check-prepare.sh.
"""
import csv
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

THROUGHPUT = {"h264_1080p30.mp4", "hevc_1080p30.mp4"}


def main() -> None:
    ifc, data = sys.argv[1], Path(sys.argv[2])
    clips = []
    for clip in sorted(p for p in data.iterdir() if p.suffix in {".mp4", ".h264", ".h265"}):
        with tempfile.TemporaryDirectory() as out:
            args = [ifc, "extract", str(clip), out, "--format", "raw", "--threads", "1", "--quiet"]
            if clip.suffix != ".mp4":
                # The input's frame rate (raw streams carry none); `--fps` would be a sampling rule.
                args += ["--input-fps", "25"]
            subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
            rows = list(csv.DictReader(open(Path(out) / "frames.csv")))
            raw = (Path(out) / "frames.raw").read_bytes()
            ten_bit = any("10" in r["pix_fmt"] for r in rows)
            entry = {"clip": clip.name, "kind": "psnr" if ten_bit else "exact", "throughput": clip.name in THROUGHPUT}
            frames = []
            for r in rows:
                off, size = int(r["offset_bytes"]), int(r["size_bytes"])
                frame = {"width": int(r["width"]), "height": int(r["height"]), "pix_fmt": r["pix_fmt"]}
                if ten_bit:
                    frame.update(offset_bytes=off, size_bytes=size)
                else:
                    frame["sha256"] = hashlib.sha256(raw[off : off + size]).hexdigest()
                frames.append(frame)
            if ten_bit:
                shutil.copy(Path(out) / "frames.raw", data / "refs" / f"{clip.name}.raw")
                entry["raw"] = f"refs/{clip.name}.raw"
            entry["frames"] = frames
            clips.append(entry)
            print(f"{clip.name}: {len(frames)} frames, {entry['kind']}")
    (data / "manifest.json").write_text(json.dumps({"clips": clips}))


if __name__ == "__main__":
    main()
