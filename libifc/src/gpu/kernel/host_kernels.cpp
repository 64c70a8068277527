// The host build of ifc's CUDA kernels (tests only): the .cu sources compiled as C++ through
// host_shim.h, with C entry points the Rust tests call.
#include <cstddef>

#include "host_shim.h"

thread_local IfcDim3 blockIdx;
thread_local IfcDim3 threadIdx;
thread_local IfcDim3 blockDim;
thread_local IfcDim3 gridDim;

#include "preprocess.cu"

extern "C" {

// Runs ifc_preprocess over a grid x block launch, like cuLaunchKernel would.
void ifc_host_preprocess(const IfcPreprocessParams* params, const unsigned int grid[3], const unsigned int block[3]) {
    ifc_host_launch(IfcDim3{grid[0], grid[1], grid[2]}, IfcDim3{block[0], block[1], block[2]}, ifc_preprocess,
                    *params);
}

// sizeof(IfcPreprocessParams) then the offset of each field, in declaration order; returns
// how many values it wrote (at most `capacity`).
size_t ifc_host_preprocess_params_layout(size_t* out, size_t capacity) {
    const size_t values[] = {
        sizeof(IfcPreprocessParams),
        offsetof(IfcPreprocessParams, luma),
        offsetof(IfcPreprocessParams, chroma_u),
        offsetof(IfcPreprocessParams, chroma_v),
        offsetof(IfcPreprocessParams, luma_stride_bytes),
        offsetof(IfcPreprocessParams, chroma_stride_bytes),
        offsetof(IfcPreprocessParams, taps_x_start),
        offsetof(IfcPreprocessParams, taps_x_weight),
        offsetof(IfcPreprocessParams, taps_y_start),
        offsetof(IfcPreprocessParams, taps_y_weight),
        offsetof(IfcPreprocessParams, out),
        offsetof(IfcPreprocessParams, coeff_u),
        offsetof(IfcPreprocessParams, coeff_v),
        offsetof(IfcPreprocessParams, coeff_bias),
        offsetof(IfcPreprocessParams, y_gain),
        offsetof(IfcPreprocessParams, gain),
        offsetof(IfcPreprocessParams, offset),
        offsetof(IfcPreprocessParams, pad),
        offsetof(IfcPreprocessParams, rgb_index),
        offsetof(IfcPreprocessParams, sample_kind),
        offsetof(IfcPreprocessParams, interleaved),
        offsetof(IfcPreprocessParams, out_width),
        offsetof(IfcPreprocessParams, out_height),
        offsetof(IfcPreprocessParams, content_left),
        offsetof(IfcPreprocessParams, content_top),
        offsetof(IfcPreprocessParams, content_width),
        offsetof(IfcPreprocessParams, content_height),
        offsetof(IfcPreprocessParams, taps_x_per_output),
        offsetof(IfcPreprocessParams, taps_y_per_output),
        offsetof(IfcPreprocessParams, layout),
        offsetof(IfcPreprocessParams, dtype),
    };
    size_t n = sizeof values / sizeof values[0];
    if (n > capacity) n = capacity;
    for (size_t i = 0; i < n; ++i) out[i] = values[i];
    return n;
}
}
