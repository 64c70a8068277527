/* Input to bindgen for ifc-sys (see generate.sh). FFmpeg's nv-codec-headers (Debian:
 * libffmpeg-nvenc-dev) describe NVDEC's entry points as function *types* (tcuvidX) for run-time
 * loading; declaring one function of each type here lets bindgen emit a libloading struct
 * (--dynamic-loading) that resolves every symbol when libnvcuvid.so.1 is opened. */
#include <ffnvcodec/dynlink_cuda.h>
#include <ffnvcodec/dynlink_nvcuvid.h>

tcuvidGetDecoderCaps cuvidGetDecoderCaps;
tcuvidCreateDecoder cuvidCreateDecoder;
tcuvidDestroyDecoder cuvidDestroyDecoder;
tcuvidDecodePicture cuvidDecodePicture;
tcuvidGetDecodeStatus cuvidGetDecodeStatus;
tcuvidReconfigureDecoder cuvidReconfigureDecoder;
tcuvidMapVideoFrame64 cuvidMapVideoFrame64;
tcuvidUnmapVideoFrame64 cuvidUnmapVideoFrame64;
tcuvidCtxLockCreate cuvidCtxLockCreate;
tcuvidCtxLockDestroy cuvidCtxLockDestroy;
tcuvidCreateVideoParser cuvidCreateVideoParser;
tcuvidParseVideoData cuvidParseVideoData;
tcuvidDestroyVideoParser cuvidDestroyVideoParser;
