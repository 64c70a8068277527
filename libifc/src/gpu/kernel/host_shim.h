// Just enough of CUDA's device environment to compile a kernel as host C++ and run its grid
// as a loop on one CPU thread, so that the tests can check the kernel's arithmetic without a
// GPU. Only what ifc's kernels use is here.
#pragma once

#include <cmath>
#include <cstring>

#define __global__
#define __device__
#define __forceinline__ inline
#define __restrict__ __restrict

struct IfcDim3 {
    unsigned int x, y, z;
};

// The launch position of the "thread" that runs now: set by ifc_host_launch before each call.
extern thread_local IfcDim3 blockIdx;
extern thread_local IfcDim3 threadIdx;
extern thread_local IfcDim3 blockDim;
extern thread_local IfcDim3 gridDim;

// cvt.rn.f16.f32: GCC's _Float16 conversion rounds to nearest, ties to even, like the PTX
// instruction, with overflow to infinity.
inline unsigned short ifc_f16_bits(float v) {
    _Float16 h = (_Float16)v;
    unsigned short bits;
    std::memcpy(&bits, &h, sizeof bits);
    return bits;
}

using std::rintf;

// Runs `kernel(args...)` once per thread of the grid, in order.
template <typename Kernel, typename... Args>
void ifc_host_launch(IfcDim3 grid, IfcDim3 block, Kernel kernel, const Args&... args) {
    gridDim = grid;
    blockDim = block;
    for (unsigned int bz = 0; bz < grid.z; ++bz)
        for (unsigned int by = 0; by < grid.y; ++by)
            for (unsigned int bx = 0; bx < grid.x; ++bx)
                for (unsigned int tz = 0; tz < block.z; ++tz)
                    for (unsigned int ty = 0; ty < block.y; ++ty)
                        for (unsigned int tx = 0; tx < block.x; ++tx) {
                            blockIdx = IfcDim3{bx, by, bz};
                            threadIdx = IfcDim3{tx, ty, tz};
                            kernel(args...);
                        }
}
