"""PyAV as the reference decoder: the same stream decoded by FFmpeg through PyAV."""

from typing import List, Tuple

import av
import numpy as np


def pyav_frames(path: str) -> List["av.VideoFrame"]:
    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "NONE"
        return list(container.decode(stream))


def pyav_planes(frame: "av.VideoFrame") -> Tuple[np.ndarray, ...]:
    """The decoded planes, exactly as PyAV's ``to_ndarray()`` gives them in the decoded format
    (Y rows, then U, then V), split into one 2-D array per plane."""
    w, h = frame.width, frame.height
    full = frame.to_ndarray()
    if w % 2 or h % 2:
        # to_ndarray packs odd-sized chroma rows in a way that does not split into planes;
        # read each plane's own buffer instead (the same memory to_ndarray copies from).
        dtype = full.dtype
        out = []
        for plane in frame.planes:
            rows = np.frombuffer(plane, dtype=np.uint8).reshape(plane.height, plane.line_size)
            out.append(rows.view(dtype)[:, : plane.width])
        return tuple(out)
    y = full[:h]
    chroma = full[h:].reshape(2, h // 2, w // 2)
    return (y, chroma[0], chroma[1])
