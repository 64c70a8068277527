"""Memory stays flat over 10 000 frames: resident memory and Python allocations."""

import gc
import resource
import tracemalloc

import ifc
from conftest import TESTDATA

CLIP = str(TESTDATA / "h264_main_320x240_25.mp4")


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def run_frames(count: int) -> int:
    done = 0
    while done < count:
        decoder = ifc.VideoDecoder(CLIP)
        for i, frame in enumerate(decoder):
            rgb = frame.to_numpy()
            y = frame.to_numpy(format="native")[0]
            assert rgb.shape[2] == 3 and y.ndim == 2
            if i % 5 == 0:
                ifc.preprocess(frame, size=(320, 320))
            done += 1
            if done == count:
                break
        decoder[len(decoder) // 2].to_numpy()  # random access too
    return done


def test_memory_is_flat_over_10000_frames():
    run_frames(1000)  # warm-up: caches, allocator pools, preprocessing filters
    gc.collect()
    tracemalloc.start()
    rss_before = rss_bytes()
    traced_before, _ = tracemalloc.get_traced_memory()
    assert run_frames(10_000) == 10_000
    gc.collect()
    traced_after, _ = tracemalloc.get_traced_memory()
    rss_after = rss_bytes()
    tracemalloc.stop()
    assert traced_after - traced_before < 256 * 1024, f"Python allocations grew by {traced_after - traced_before} B"
    assert rss_after - rss_before < 16 * 1024 * 1024, f"resident memory grew by {(rss_after - rss_before) >> 10} KiB"
