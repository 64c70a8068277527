"""The Python peers of `ifc extract` in scripts/bench-extract.py: decode a clip and turn every
frame into a 640x640 letterboxed float32 NCHW tensor the way notebooks do.

    python bench_peers.py pyav|opencv CLIP THREADS   (THREADS 0 = the library's default)
Prints the number of frames processed.
"""
import os
import sys

SIZE = 640


def letterbox(img, cv2, np):
    h, w = img.shape[:2]
    scale = min(SIZE / w, SIZE / h)
    nw, nh = round(w * scale), round(h * scale)
    resized = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_LINEAR)
    top, left = (SIZE - nh) // 2, (SIZE - nw) // 2
    return cv2.copyMakeBorder(resized, top, SIZE - nh - top, left, SIZE - nw - left,
                              cv2.BORDER_CONSTANT, value=(114, 114, 114))


def pyav(clip, threads):
    import av
    import cv2
    import numpy as np
    cv2.setNumThreads(max(threads, 0) if threads else -1)
    n = 0
    with av.open(clip) as container:
        stream = container.streams.video[0]
        if threads:
            stream.codec_context.thread_count = threads
            stream.codec_context.thread_type = "SLICE" if threads == 1 else "AUTO"
        else:
            stream.codec_context.thread_type = "AUTO"
        for frame in container.decode(stream):
            rgb = frame.to_ndarray(format="rgb24")
            boxed = letterbox(rgb, cv2, np)
            tensor = np.ascontiguousarray(boxed.transpose(2, 0, 1)[None], dtype=np.float32) / 255.0
            n += tensor.shape[0]
    return n


def opencv(clip, threads):
    if threads:
        os.environ["OPENCV_FFMPEG_CAPTURE_OPTIONS"] = f"threads;{threads}"
    import cv2
    import numpy as np
    cv2.setNumThreads(threads if threads else -1)
    cap = cv2.VideoCapture(clip, cv2.CAP_FFMPEG)
    n = 0
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        boxed = letterbox(bgr, cv2, np)
        blob = cv2.dnn.blobFromImage(boxed, scalefactor=1 / 255.0, size=(SIZE, SIZE), swapRB=True)
        n += blob.shape[0]
    return n


if __name__ == "__main__":
    tool, clip, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
    print({"pyav": pyav, "opencv": opencv}[tool](clip, threads))
