#!/usr/bin/env python3
"""The device check's independent cross-check with the GPU machine's own PyTorch (run by
scripts/gpu-check.sh after ifc-gpu-check): for each frame ifc-gpu-check saved under
OUT/torch-frames/ (the NVDEC-decoded planes and ifc's 640x640 letterboxed f32 NCHW tensor made
by the CUDA kernel from the same surface), PyTorch converts the planes to RGB (the stream's
matrix and range, chroma upsampled bilinearly) and letterboxes them with
torch.nn.functional.interpolate (bilinear, align_corners=False; with and without antialias),
and the two tensors are compared in levels (1 level = 1/255).

Different resamplers agree only approximately (chroma siting, filter support when shrinking),
so the bar is the expected resampling tolerance: mean |difference| <= 1.5 levels and the 99th
percentile <= 8 levels over the content, padding exactly 114 levels. Exit 0 when every frame
passes, 1 otherwise.

    python3 scripts/gpu-check-torch.py OUT/torch-frames
"""
import json
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

MEAN_LEVELS = 1.5
P99_LEVELS = 8.0
KR_KB = {"bt601": (0.299, 0.114), "bt709": (0.2126, 0.0722), "bt2020": (0.2627, 0.0593)}


def matrix_name(code: int, height: int) -> str:
    # ifc's rule (libifc/src/preprocess/colour.rs, ColourMatrix::for_frame).
    if code == 1:
        return "bt709"
    if code in (5, 6):
        return "bt601"
    if code in (9, 10):
        return "bt2020"
    return "bt601" if height < 720 else "bt709"


def to_rgb(meta: dict, planes: bytes, device: torch.device) -> torch.Tensor:
    w, h = meta["width"], meta["height"]
    ten_bit = meta["format"] == "p010"
    dtype = torch.int16 if ten_bit else torch.uint8
    raw = torch.frombuffer(bytearray(planes), dtype=dtype).to(device)
    if ten_bit:
        raw = (raw.to(torch.int32) & 0xFFFF) >> 6  # P010: samples in the high bits
    y = raw[: w * h].reshape(h, w).to(torch.float64)
    uv = raw[w * h : w * h + w * (h // 2)].reshape(h // 2, w // 2, 2).to(torch.float64)
    peak = 1023.0 if ten_bit else 255.0
    scale = peak / 255.0
    if meta["full_range"]:
        yn, cn = y / peak, (uv - 128.0 * scale) / peak
    else:
        yn = (y - 16.0 * scale) / (219.0 * scale)
        cn = (uv - 128.0 * scale) / (224.0 * scale)
    # Chroma to full size, centre-sited bilinear.
    c = F.interpolate(cn.permute(2, 0, 1)[None], size=(h, w), mode="bilinear", align_corners=False)[0]
    cb, cr = c[0], c[1]
    kr, kb = KR_KB[matrix_name(meta["matrix"], h)]
    kg = 1.0 - kr - kb
    r = yn + 2.0 * (1.0 - kr) * cr
    b = yn + 2.0 * (1.0 - kb) * cb
    g = (yn - kr * r - kb * b) / kg
    return (torch.stack([r, g, b]) * 255.0).clamp(0.0, 255.0)  # 3 x H x W, levels


def letterbox(rgb: torch.Tensor, meta: dict, antialias: bool) -> torch.Tensor:
    _, h, w = rgb.shape
    ow, oh = meta["out_width"], meta["out_height"]
    r = min(ow / w, oh / h)
    cw, ch = max(1, min(ow, int(w * r + 0.5))), max(1, min(oh, int(h * r + 0.5)))
    out = torch.full((3, oh, ow), float(meta["pad"]), dtype=torch.float64, device=rgb.device)
    left, top = (ow - cw) // 2, (oh - ch) // 2
    out[:, top : top + ch, left : left + cw] = F.interpolate(
        rgb[None], size=(ch, cw), mode="bilinear", align_corners=False, antialias=antialias
    )[0].clamp(0.0, 255.0)
    return out, (left, top, cw, ch)


def main() -> int:
    frames = Path(sys.argv[1])
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    print(f"torch {torch.__version__} on {device}" + (f" ({torch.cuda.get_device_name(0)})" if device.type == "cuda" else ""))
    failed = 0
    metas = sorted(frames.glob("*.json"))
    if not metas:
        print("no frames saved by ifc-gpu-check: nothing compared")
        return 1
    for meta_path in metas:
        clip = meta_path.name[: -len(".json")]
        meta = json.loads(meta_path.read_text())
        rgb = to_rgb(meta, (frames / f"{clip}.planes").read_bytes(), device)
        ours = torch.frombuffer(bytearray((frames / f"{clip}.ifc.f32").read_bytes()), dtype=torch.float32)
        ours = ours.to(device).to(torch.float64).reshape(3, meta["out_height"], meta["out_width"]) * 255.0
        best = None
        for antialias in (False, True):
            theirs, (left, top, cw, ch) = letterbox(rgb, meta, antialias)
            content = (ours - theirs)[:, top : top + ch, left : left + cw].abs().flatten()
            mean, p99 = content.mean().item(), torch.quantile(content[:: max(1, content.numel() // 1_000_000)], 0.99).item()
            pad = ours.clone()
            pad[:, top : top + ch, left : left + cw] = float(meta["pad"])
            pad_max = (pad - float(meta["pad"])).abs().max().item()
            row = (mean, p99, pad_max, antialias)
            if best is None or row[:2] < best[:2]:
                best = row
        mean, p99, pad_max, antialias = best
        ok = mean <= MEAN_LEVELS and p99 <= P99_LEVELS and pad_max <= 0.5
        failed += not ok
        print(
            f"[{'PASS' if ok else 'FAIL'}] torch cross-check / {clip}: {meta['format']} {meta['width']}x{meta['height']}, "
            f"interpolate(bilinear, antialias={antialias}) vs ifc's kernel: mean {mean:.3f} levels (<= {MEAN_LEVELS}), "
            f"p99 {p99:.3f} levels (<= {P99_LEVELS}), padding off by {pad_max:.3f}"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
