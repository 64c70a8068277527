"""The exceptions ifc raises. Every one is an ``IfcError`` and carries the library's message."""


class IfcError(Exception):
    """Base class of every error ifc raises."""


class SourceError(IfcError):
    """The input cannot be read, or is not a video ifc reads (MP4, raw H.264/H.265)."""


class DecodeError(IfcError):
    """A frame could not be decoded (damaged or undecodable stream)."""


class PreprocessError(IfcError):
    """Preprocessing refused the frame (e.g. 4:2:2) or the settings."""


class InferenceError(IfcError):
    """Loading or running a model failed."""


class PipelineError(IfcError):
    """The pipeline document is invalid, or running it failed."""


class FrameIndexError(IfcError, IndexError):
    """A frame index or a time outside the video."""


class ArgumentError(IfcError, ValueError):
    """An argument has a value ifc cannot use."""


class UnsupportedError(IfcError, NotImplementedError):
    """Something this build of ifc cannot do yet."""


class DeviceUnavailableError(UnsupportedError):
    """``device="cuda"`` on a machine without the GPU path: the message says what is missing
    (CUDA driver, GPU, libnvcuvid.so.1, NVRTC)."""
