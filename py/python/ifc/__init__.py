"""ifc (ImageFlowCanvas) from Python: decode video, preprocess frames for models, run models
and inspection pipelines — with numpy and DLPack, and without copies.

Quick start::

    import ifc
    decoder = ifc.VideoDecoder("clip.mp4")          # MP4, raw .h264/.h265, or bytes
    print(decoder.metadata)                          # codec, size, fps, duration, colour
    frame = decoder[10]                              # exact frame, display order
    rgb = frame.to_numpy()                           # H x W x 3 uint8, no copy
    batch = decoder.get_frames_at([0, 25, 50])
    tensor, geometry = ifc.preprocess(batch, size=(640, 640))   # N x 3 x 640 x 640 float32

The GIL is released while ifc decodes, converts, preprocesses and infers. Errors are
``ifc.IfcError`` subclasses carrying the library's message.
"""

from __future__ import annotations

from typing import Any, Iterator, List, Optional, Sequence, Tuple, Union, overload

import numpy as np

from ._errors import (
    ArgumentError,
    DecodeError,
    DeviceUnavailableError,
    FrameIndexError,
    IfcError,
    InferenceError,
    PipelineError,
    PreprocessError,
    SourceError,
    UnsupportedError,
)
from ._ifc import (
    CudaTensor,
    Frame,
    FrameIterator,
    LiveFrameIterator,
    Geometry,
    Model,
    Pipeline,
    PipelineResult,
    PipelineRun,
    Tensor,
    TritonClient,
    VideoDecoder,
    VideoMetadata,
    __version__,
    preprocess,
)


class FrameBatch:
    """Frames decoded together (``decoder[a:b]``, ``get_frames_at``, ``get_frames_played_at``).

    Indexing and iteration give the ``ifc.Frame`` objects; ``to_numpy()`` stacks them into one
    N x H x W x 3 uint8 array (one copy: the frames live in separate buffers).

    >>> batch = decoder.get_frames_at([0, 10])
    >>> batch.to_numpy().shape
    (2, 240, 320, 3)
    >>> batch.pts_seconds
    array([0. , 0.4])
    """

    def __init__(self, frames: Sequence[Frame]) -> None:
        self.frames: List[Frame] = list(frames)
        self._stacked: Optional[np.ndarray] = None

    def __len__(self) -> int:
        return len(self.frames)

    @overload
    def __getitem__(self, i: int) -> Frame: ...
    @overload
    def __getitem__(self, i: slice) -> "FrameBatch": ...
    def __getitem__(self, i: Union[int, slice]) -> Union[Frame, "FrameBatch"]:
        if isinstance(i, slice):
            return FrameBatch(self.frames[i])
        return self.frames[i]

    def __iter__(self) -> Iterator[Frame]:
        return iter(self.frames)

    @property
    def pts_seconds(self) -> np.ndarray:
        """Presentation times (seconds), float64, one per frame."""
        return np.array([f.pts_seconds for f in self.frames], dtype=np.float64)

    @property
    def duration_seconds(self) -> np.ndarray:
        """How long each frame is shown (seconds), float64."""
        return np.array([f.duration_seconds for f in self.frames], dtype=np.float64)

    @property
    def indices(self) -> List[int]:
        """Display-order index of each frame."""
        return [f.index for f in self.frames]

    def to_numpy(self) -> np.ndarray:
        """N x H x W x 3 uint8 RGB (frames must share one size); made once, then shared."""
        if self._stacked is None:
            if not self.frames:
                raise ArgumentError("an empty FrameBatch has no array")
            sizes = {(f.height, f.width) for f in self.frames}
            if len(sizes) != 1:
                raise ArgumentError(f"frames of different sizes cannot be stacked: {sorted(sizes)}")
            self._stacked = np.stack([f.to_numpy() for f in self.frames])
        return self._stacked

    def __dlpack__(
        self,
        *,
        stream: Any = None,
        max_version: Optional[Tuple[int, int]] = None,
        dl_device: Optional[Tuple[int, int]] = None,
        copy: Optional[bool] = None,
    ) -> Any:
        if stream is not None:
            raise BufferError(f"stream={stream!r}: ifc's CPU tensors take stream=None")
        kwargs: dict = {"stream": None}
        if max_version is not None:
            kwargs["max_version"] = max_version
        if dl_device is not None:
            kwargs["dl_device"] = dl_device
        if copy is not None:
            kwargs["copy"] = copy
        return self.to_numpy().__dlpack__(**kwargs)

    def __dlpack_device__(self) -> Tuple[int, int]:
        return (1, 0)

    def __repr__(self) -> str:
        return f"FrameBatch({len(self.frames)} frames)"


__all__ = [
    "ArgumentError",
    "CudaTensor",
    "DecodeError",
    "DeviceUnavailableError",
    "Frame",
    "FrameBatch",
    "FrameIndexError",
    "FrameIterator",
    "LiveFrameIterator",
    "Geometry",
    "IfcError",
    "InferenceError",
    "Model",
    "Pipeline",
    "PipelineError",
    "PipelineResult",
    "PipelineRun",
    "PreprocessError",
    "SourceError",
    "Tensor",
    "TritonClient",
    "UnsupportedError",
    "VideoDecoder",
    "VideoMetadata",
    "__version__",
    "preprocess",
]
