"""numpy reference for libifc's postprocessing tests (libifc/src/postprocess/numpy_reference.rs).

Reads one JSON object on stdin, writes one on stdout:
  {"nms": [{"boxes": [[x1,y1,x2,y2],...], "scores": [...], "classes": [...],
            "iou_threshold": t, "max_detections": m}, ...],
   "letterbox": [{"source": [w,h], "input": [w,h], "boxes": [[x1,y1,x2,y2],...]}, ...]}
  -> {"nms": [[kept indices], ...], "letterbox": [[[x1,y1,x2,y2],...], ...]}

NMS follows torchvision.ops.batched_nms as Ultralytics calls it (greedy, per class, suppress
IoU > t), with ties broken by index. The letterbox follows ultralytics LetterBox (resize to
round(src * r), pad round(slack / 2 - 0.1)) and scale_boxes (undo pad and scale, clip).
"""
import json
import sys

import numpy as np


def iou_one_to_many(box, boxes):
    ix1 = np.maximum(box[0], boxes[:, 0])
    iy1 = np.maximum(box[1], boxes[:, 1])
    ix2 = np.minimum(box[2], boxes[:, 2])
    iy2 = np.minimum(box[3], boxes[:, 3])
    inter = np.maximum(ix2 - ix1, 0.0) * np.maximum(iy2 - iy1, 0.0)
    area = lambda b: np.maximum(b[..., 2] - b[..., 0], 0.0) * np.maximum(b[..., 3] - b[..., 1], 0.0)
    union = area(box) + area(boxes) - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union > 0, inter / union, 0.0)


def nms(case):
    boxes = np.asarray(case["boxes"], dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(case["scores"], dtype=np.float64)
    classes = np.asarray(case["classes"], dtype=np.int64)
    n = len(scores)
    order = np.lexsort((np.arange(n), -scores))  # score descending, then index ascending
    suppressed = np.zeros(n, dtype=bool)
    keep = []
    for i in order:
        if suppressed[i]:
            continue
        keep.append(int(i))
        suppressed |= (classes == classes[i]) & (iou_one_to_many(boxes[i], boxes) > case["iou_threshold"])
    return keep[: case["max_detections"]]


def letterbox(case):
    src_w, src_h = case["source"]
    in_w, in_h = case["input"]
    r = min(in_h / src_h, in_w / src_w)
    new_w, new_h = int(round(src_w * r)), int(round(src_h * r))
    pad_left = int(round((in_w - new_w) / 2 - 0.1))
    pad_top = int(round((in_h - new_h) / 2 - 0.1))
    b = np.asarray(case["boxes"], dtype=np.float64).reshape(-1, 4)
    out = np.empty_like(b)
    # Ultralytics divides by the gain; libifc multiplies by its inverse (source pixels per
    # model pixel, as the preprocessor reports it): written the same way here so that the
    # float64 results are bit-identical.
    out[:, [0, 2]] = (b[:, [0, 2]] - pad_left) * (src_w / new_w)
    out[:, [1, 3]] = (b[:, [1, 3]] - pad_top) * (src_h / new_h)
    out[:, [0, 2]] = np.clip(out[:, [0, 2]], 0, src_w)
    out[:, [1, 3]] = np.clip(out[:, [1, 3]], 0, src_h)
    return out.tolist()


def main():
    request = json.load(sys.stdin)
    json.dump(
        {
            "nms": [nms(c) for c in request.get("nms", [])],
            "letterbox": [letterbox(c) for c in request.get("letterbox", [])],
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
