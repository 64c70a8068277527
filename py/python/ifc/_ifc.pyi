"""Type stubs of ifc's native module (``ifc._ifc``); the public names are re-exported by ``ifc``."""

import os
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union, final

import numpy as np
import numpy.typing as npt

__version__: str

_Source = Union[str, "os.PathLike[str]", bytes, bytearray]

__all__ = [
    "CudaTensor",
    "Frame",
    "FrameIterator",
    "LiveFrameIterator",
    "Geometry",
    "Model",
    "Pipeline",
    "PipelineResult",
    "PipelineRun",
    "Tensor",
    "TritonClient",
    "VideoDecoder",
    "VideoMetadata",
    "__version__",
    "preprocess",
]

@final
class Tensor:
    """A host buffer any DLPack consumer can take without a copy (``np.from_dlpack(t)``)."""

    def __dlpack__(
        self,
        *,
        stream: Optional[Any] = None,
        max_version: Optional[Tuple[int, int]] = None,
        dl_device: Optional[Tuple[int, int]] = None,
        copy: Optional[bool] = None,
    ) -> Any: ...
    def __dlpack_device__(self) -> Tuple[int, int]: ...
    @property
    def data_ptr(self) -> int: ...
    @property
    def shape(self) -> List[int]: ...

@final
class CudaTensor:
    """A batch of model inputs on a CUDA device (``ifc.preprocess`` of CUDA frames);
    ``torch.from_dlpack(t)`` takes it without a copy, ordered on the consumer's stream."""

    def __dlpack__(
        self,
        *,
        stream: Optional[Any] = None,
        max_version: Optional[Tuple[int, int]] = None,
        dl_device: Optional[Tuple[int, int]] = None,
        copy: Optional[bool] = None,
    ) -> Any: ...
    def __dlpack_device__(self) -> Tuple[int, int]: ...
    @property
    def data_ptr(self) -> int: ...
    @property
    def shape(self) -> List[int]: ...

@final
class Frame:
    """One decoded picture. Its planes stay in the decoder's memory; nothing is copied until
    asked for, and ``to_numpy()`` hands out views."""

    @property
    def pts_seconds(self) -> float: ...
    @property
    def duration_seconds(self) -> float: ...
    @property
    def index(self) -> int: ...
    @property
    def width(self) -> int: ...
    @property
    def height(self) -> int: ...
    @property
    def pix_fmt(self) -> str: ...
    @property
    def key_frame(self) -> bool: ...
    @property
    def colour(self) -> Tuple[int, int, int, bool]: ...
    @property
    def device(self) -> str:
        """``"cpu"``, or ``"cuda:N"`` for a frame decoded with ``device="cuda"``."""
    def to_numpy(self, format: str = "rgb", matrix: Optional[str] = None) -> Any:
        """``"rgb"``: H x W x 3 uint8 ndarray. ``"native"``: a tuple of 2-D plane ndarrays.
        ``matrix`` (``"bt601"``, ``"bt709"``, ``"bt2020"``) overrides the stream's colour matrix;
        streams that name none are converted as BT.601, like libswscale and OpenCV."""
    def _rgb(self) -> Tensor: ...
    def _planes(self) -> List[Tensor]: ...
    def _reference_rgb(self, matrix: Optional[str] = None, full_range: Optional[bool] = None) -> List[float]: ...
    def __dlpack__(
        self,
        *,
        stream: Optional[Any] = None,
        max_version: Optional[Tuple[int, int]] = None,
        dl_device: Optional[Tuple[int, int]] = None,
        copy: Optional[bool] = None,
    ) -> Any: ...
    def __dlpack_device__(self) -> Tuple[int, int]: ...

@final
class VideoMetadata:
    """Codec, size, timing and colour description of a video."""

    @property
    def codec(self) -> str: ...
    @property
    def codec_string(self) -> str: ...
    @property
    def profile(self) -> str: ...
    @property
    def width(self) -> int: ...
    @property
    def height(self) -> int: ...
    @property
    def bit_depth(self) -> int: ...
    @property
    def num_frames(self) -> int: ...
    @property
    def fps(self) -> float: ...
    @property
    def duration_seconds(self) -> float: ...
    @property
    def begin_seconds(self) -> float: ...
    @property
    def color_primaries(self) -> Optional[str]: ...
    @property
    def color_transfer(self) -> Optional[str]: ...
    @property
    def color_space(self) -> Optional[str]: ...
    @property
    def color_range(self) -> str: ...
    @property
    def is_live(self) -> bool: ...

@final
class FrameIterator:
    def __iter__(self) -> FrameIterator: ...
    def __next__(self) -> Frame: ...

@final
class LiveFrameIterator:
    def __iter__(self) -> LiveFrameIterator: ...
    def __next__(self) -> Frame: ...

@final
class VideoDecoder:
    """A recording opened for exact, random-access decoding (display order), or a live
    ``rtsp://`` stream opened for iteration (frames as they arrive; ``timeout`` seconds for
    connecting and each read; credentials in the URL; ``close()`` or ``with`` ends the session).

    >>> decoder = ifc.VideoDecoder("clip.mp4")
    >>> frame = decoder[10]
    >>> batch = decoder[0:100:10]
    >>> with ifc.VideoDecoder("rtsp://user:pass@camera/stream1") as camera:
    ...     for frame in camera:
    ...         image = frame.to_numpy()
    """

    def __new__(
        cls,
        source: _Source,
        *,
        device: str = "auto",
        threads: int = 1,
        fps: Optional[float] = None,
        timeout: float = 10.0,
    ) -> VideoDecoder: ...
    @property
    def metadata(self) -> VideoMetadata: ...
    def __len__(self) -> int: ...
    def __getitem__(self, key: Union[int, slice], /) -> Any: ...
    def get_frames_at(self, indices: Sequence[int]) -> Any: ...
    def get_frames_played_at(self, seconds: Sequence[float]) -> Any: ...
    def __iter__(self) -> Iterator[Frame]: ...
    def close(self) -> None: ...
    def __enter__(self) -> VideoDecoder: ...
    def __exit__(self, *_exc: object) -> bool: ...

@final
class Geometry:
    """How model-input pixels map back to the frame (letterbox padding and scale)."""

    @property
    def scale_x(self) -> float: ...
    @property
    def scale_y(self) -> float: ...
    @property
    def pad_left(self) -> float: ...
    @property
    def pad_top(self) -> float: ...
    @property
    def roi_x(self) -> float: ...
    @property
    def roi_y(self) -> float: ...
    @property
    def content_width(self) -> int: ...
    @property
    def content_height(self) -> int: ...
    def to_source(self, x: float, y: float) -> Tuple[float, float]: ...
    def to_model(self, x: float, y: float) -> Tuple[float, float]: ...

def preprocess(
    frames: Any,
    *,
    size: Tuple[int, int] = ...,
    letterbox: bool = True,
    pad: Tuple[int, int, int] = ...,
    resize: str = "bilinear",
    scale: float = ...,
    mean: Tuple[float, float, float] = ...,
    std: Tuple[float, float, float] = ...,
    channels: str = "RGB",
    layout: str = "NCHW",
    dtype: str = "float32",
    matrix: Optional[str] = None,
    full_range: Optional[bool] = None,
    roi: Optional[Tuple[int, int, int, int]] = None,
) -> Tuple[Union[npt.NDArray[Any], CudaTensor], List[Geometry]]:
    """Frames (a Frame, a FrameBatch or a list) to one model input batch, with libifc's
    one-pass preprocessing: colour conversion, resize to ``size`` = (height, width),
    letterbox, ``(value * scale - mean) / std``, channel order, layout and dtype. Returns
    the array (N first) and each frame's geometry. Defaults: size=(640, 640), pad=(114, 114,
    114), scale=1/255, mean=(0, 0, 0), std=(1, 1, 1).

    CUDA frames (``VideoDecoder(..., device="cuda")``) are preprocessed on their GPU into a
    ``CudaTensor`` (no host copy).

    >>> tensor, geometries = ifc.preprocess(batch, size=(640, 640))
    """

@final
class Model:
    """An ONNX model run in process (the embedded tract runtime)."""

    def __new__(cls, path: Union[str, "os.PathLike[str]"], *, max_batch: int = 1) -> Model: ...
    @property
    def metadata(self) -> Dict[str, Any]: ...
    def infer(self, input: Any) -> Dict[str, npt.NDArray[np.float32]]: ...

@final
class TritonClient:
    """A model served by Triton Inference Server, over gRPC."""

    def __new__(
        cls,
        url: str,
        model_name: str,
        *,
        model_version: Optional[int] = None,
        timeout_ms: Optional[int] = None,
        shared_memory: Union[bool, str] = ...,
    ) -> TritonClient: ...
    @property
    def metadata(self) -> Dict[str, Any]: ...
    def infer(self, input: Any) -> Dict[str, npt.NDArray[np.float32]]: ...

@final
class PipelineResult:
    """One inferred frame: detections, verdict and the frame."""

    def to_dict(self) -> Dict[str, Any]: ...
    @property
    def frame_index(self) -> int: ...
    @property
    def pts_seconds(self) -> Optional[float]: ...
    @property
    def detections(self) -> List[Dict[str, Any]]: ...
    @property
    def verdict(self) -> Dict[str, Any]: ...
    @property
    def status(self) -> str: ...
    @property
    def frame(self) -> Frame: ...

@final
class PipelineRun:
    def __iter__(self) -> Iterator[PipelineResult]: ...
    def __next__(self) -> PipelineResult: ...
    @property
    def stats(self) -> Dict[str, int]: ...

@final
class Pipeline:
    """An inspection pipeline document, run by libifc's runner (as ``ifc run`` does)."""

    @staticmethod
    def from_file(path: Union[str, "os.PathLike[str]"]) -> Pipeline: ...
    @staticmethod
    def from_yaml(text: str) -> Pipeline: ...
    @property
    def source(self) -> str: ...
    def run(self, source: Optional[_Source] = None, *, fps: Optional[float] = None) -> PipelineRun: ...
