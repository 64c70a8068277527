"""The Python peers of `ifc extract` (scripts/bench-extract.py) and of ifc's Python package
(scripts/bench-python.py): decode a clip and turn every frame into a 640x640 letterboxed
float32 NCHW tensor the way notebooks do.

    python bench_peers.py pyav|opencv|decord|torchcodec|ifc CLIP THREADS   (THREADS 0 = the library's default)
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


def to_tensor(rgb, cv2, np):
    boxed = letterbox(rgb, cv2, np)
    return np.ascontiguousarray(boxed.transpose(2, 0, 1)[None], dtype=np.float32) / 255.0


def decord_reader(clip, threads):
    import cv2
    import decord
    import numpy as np
    cv2.setNumThreads(max(threads, 0) if threads else -1)
    reader = decord.VideoReader(clip, ctx=decord.cpu(0), num_threads=threads)
    n = 0
    for _ in range(len(reader)):
        rgb = reader.next().asnumpy()
        n += to_tensor(rgb, cv2, np).shape[0]
    return n


def torchcodec_decoder(clip, threads):
    import cv2
    import numpy as np
    import torch
    from torchcodec.decoders import VideoDecoder
    cv2.setNumThreads(max(threads, 0) if threads else -1)
    if threads:
        torch.set_num_threads(threads)
    decoder = VideoDecoder(clip, dimension_order="NHWC", num_ffmpeg_threads=threads, device="cpu")
    n = 0
    for frame in decoder:
        n += to_tensor(frame.numpy(), cv2, np).shape[0]
    return n


def ifc_python(clip, threads):
    import ifc
    decoder = ifc.VideoDecoder(clip, threads=max(threads, 1))
    n = 0
    for frame in decoder:
        tensor, _ = ifc.preprocess(frame, size=(SIZE, SIZE), letterbox=True)
        n += tensor.shape[0]
    return n


if __name__ == "__main__":
    tool, clip, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
    tools = {"pyav": pyav, "opencv": opencv, "decord": decord_reader, "torchcodec": torchcodec_decoder,
             "ifc": ifc_python}
    print(tools[tool](clip, threads))
