// ifc's preprocessing kernel: one 4:2:0 picture (NV12 / P010 / P016 from NVDEC, or planar
// yuv420p / yuv420p10le uploaded from the CPU decoder) to one image of the model input,
// with exactly the semantics of libifc/src/preprocess (see its module docs).
//
// Everything that depends on the spec and the frame size (colour coefficients, resampling
// taps, content box, normalisation, pad values) is computed on the host by the same Rust code
// the CPU path uses and passed in `IfcPreprocessParams`; the kernel only evaluates it.
//
// The same file is compiled three ways: by NVRTC at run time (the real thing), by NVRTC +
// ptxas for sm_90 in the tests, and as plain C++ through kernel/host_shim.h so that the tests
// check its arithmetic on the CPU. Keep it free of includes and of CUDA features the shim
// does not provide.
//
// One thread per output pixel; a 2D grid covers the output image.

// Must match `PreprocessParams` in libifc/src/gpu/params.rs field for field (the tests
// compare sizes and offsets through the host build).
struct IfcPreprocessParams {
    // Plane base addresses (device pointers; host pointers in the host build).
    unsigned long long luma;
    unsigned long long chroma_u;  // U plane, or the interleaved UV plane
    unsigned long long chroma_v;  // V plane; unused when interleaved
    unsigned long long luma_stride_bytes;
    unsigned long long chroma_stride_bytes;
    // Resampling taps (AxisTaps), starts already in absolute frame coordinates.
    unsigned long long taps_x_start;   // u32[content_width]
    unsigned long long taps_x_weight;  // f32[content_width * taps_x_per_output]
    unsigned long long taps_y_start;   // u32[content_height]
    unsigned long long taps_y_weight;  // f32[content_height * taps_y_per_output]
    // First byte of this image in the output batch.
    unsigned long long out;
    // RGB = y_gain * Y + u[c] * U + v[c] * V + bias[c] on the 0-255 scale (RgbCoefficients).
    float coeff_u[4];
    float coeff_v[4];
    float coeff_bias[4];
    float y_gain;
    // Output channel k = rgb[rgb_index[k]] * gain[k] + offset[k] (PreprocessSpec::affine).
    float gain[3];
    float offset[3];
    // Normalised pad value of each output channel (PadFill's values, before encoding).
    float pad[3];
    unsigned int rgb_index[3];
    unsigned int sample_kind;   // 0: u8, 1: u16 LE low 10 bits, 2: u16 LE high 10 bits
    unsigned int interleaved;   // 1: UV interleaved in chroma_u
    unsigned int out_width;
    unsigned int out_height;
    unsigned int content_left;
    unsigned int content_top;
    unsigned int content_width;
    unsigned int content_height;
    unsigned int taps_x_per_output;
    unsigned int taps_y_per_output;
    unsigned int layout;        // 0: NCHW, 1: NHWC
    unsigned int dtype;         // 0: f32, 1: f16, 2: u8
};

#define IFC_SAMPLE_U8 0u
#define IFC_SAMPLE_U16_LOW10 1u
#define IFC_SAMPLE_U16_HIGH10 2u

#ifdef __CUDACC_RTC__
// binary16 bits of `v`, round to nearest, ties to even (what f32_to_f16_bits does).
__device__ __forceinline__ unsigned short ifc_f16_bits(float v) {
    unsigned short h;
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(v));
    return h;
}
#endif

// Sample `index` of a row starting at `row` (byte pointer).
__device__ __forceinline__ float ifc_sample(const unsigned char* row, unsigned int index, unsigned int kind) {
    if (kind == IFC_SAMPLE_U8) {
        return (float)row[index];
    }
    // Two byte loads: any stride is allowed, as on the CPU path.
    unsigned int value = (unsigned int)row[2u * index] | ((unsigned int)row[2u * index + 1u] << 8);
    return (float)(kind == IFC_SAMPLE_U16_LOW10 ? (value & 0x3ffu) : (value >> 6));
}

// clamp(v, 0, 255) written like clamp_255 in rows.rs (NaN becomes 0).
__device__ __forceinline__ float ifc_clamp_255(float v) {
    v = v > 0.0f ? v : 0.0f;
    return v < 255.0f ? v : 255.0f;
}

// RGB (0-255, clamped) of source pixel (x, y): luma at (x, y), chroma at (x / 2, y / 2).
__device__ __forceinline__ void ifc_pixel_rgb(const IfcPreprocessParams& p, unsigned int x, unsigned int y, float rgb[3]) {
    const unsigned char* luma_row = (const unsigned char*)p.luma + (unsigned long long)y * p.luma_stride_bytes;
    const unsigned long long chroma_offset = (unsigned long long)(y / 2u) * p.chroma_stride_bytes;
    float luma = ifc_sample(luma_row, x, p.sample_kind);
    float u, v;
    if (p.interleaved) {
        const unsigned char* uv_row = (const unsigned char*)p.chroma_u + chroma_offset;
        u = ifc_sample(uv_row, 2u * (x / 2u), p.sample_kind);
        v = ifc_sample(uv_row, 2u * (x / 2u) + 1u, p.sample_kind);
    } else {
        u = ifc_sample((const unsigned char*)p.chroma_u + chroma_offset, x / 2u, p.sample_kind);
        v = ifc_sample((const unsigned char*)p.chroma_v + chroma_offset, x / 2u, p.sample_kind);
    }
    for (int c = 0; c < 3; ++c) {
        // The CPU path's order: chroma term first (chroma_terms), then luma (combine).
        float term = u * p.coeff_u[c] + v * p.coeff_v[c] + p.coeff_bias[c];
        rgb[c] = ifc_clamp_255(luma * p.y_gain + term);
    }
}

// Stores output channel k of pixel (ox, oy).
__device__ __forceinline__ void ifc_store(const IfcPreprocessParams& p, unsigned int ox, unsigned int oy, unsigned int k, float value) {
    const unsigned long long pixels = (unsigned long long)p.out_width * p.out_height;
    const unsigned long long pixel = (unsigned long long)oy * p.out_width + ox;
    const unsigned long long element = p.layout == 0u ? k * pixels + pixel : pixel * 3u + k;
    if (p.dtype == 0u) {
        ((float*)p.out)[element] = value;
    } else if (p.dtype == 1u) {
        ((unsigned short*)p.out)[element] = ifc_f16_bits(value);
    } else {
        // Round to nearest, ties to even (rintf in the default rounding mode), after clamping.
        ((unsigned char*)p.out)[element] = (unsigned char)rintf(ifc_clamp_255(value));
    }
}

extern "C" __global__ void ifc_preprocess(const IfcPreprocessParams p) {
    const unsigned int ox = blockIdx.x * blockDim.x + threadIdx.x;
    const unsigned int oy = blockIdx.y * blockDim.y + threadIdx.y;
    if (ox >= p.out_width || oy >= p.out_height) {
        return;
    }
    const bool inside = ox >= p.content_left && ox - p.content_left < p.content_width && oy >= p.content_top &&
                        oy - p.content_top < p.content_height;
    if (!inside) {
        for (unsigned int k = 0; k < 3u; ++k) {
            ifc_store(p, ox, oy, k, p.pad[k]);
        }
        return;
    }
    const unsigned int i = ox - p.content_left;
    const unsigned int j = oy - p.content_top;
    const unsigned int* starts_x = (const unsigned int*)p.taps_x_start;
    const float* weights_x = (const float*)p.taps_x_weight + (unsigned long long)i * p.taps_x_per_output;
    const unsigned int* starts_y = (const unsigned int*)p.taps_y_start;
    const float* weights_y = (const float*)p.taps_y_weight + (unsigned long long)j * p.taps_y_per_output;
    const unsigned int x0 = starts_x[i];
    const unsigned int y0 = starts_y[j];
    // Horizontal pass per source row, then the vertical sum, as Preprocessor::write_content.
    float acc[3] = {0.0f, 0.0f, 0.0f};
    bool first = true;
    for (unsigned int ty = 0; ty < p.taps_y_per_output; ++ty) {
        const float wy = weights_y[ty];
        if (wy == 0.0f) {
            continue;
        }
        float row[3] = {0.0f, 0.0f, 0.0f};
        for (unsigned int tx = 0; tx < p.taps_x_per_output; ++tx) {
            float rgb[3];
            ifc_pixel_rgb(p, x0 + tx, y0 + ty, rgb);
            const float wx = weights_x[tx];
            for (int c = 0; c < 3; ++c) {
                row[c] = tx == 0u ? rgb[c] * wx : row[c] + rgb[c] * wx;
            }
        }
        for (int c = 0; c < 3; ++c) {
            acc[c] = first ? row[c] * wy : acc[c] + row[c] * wy;
        }
        first = false;
    }
    for (unsigned int k = 0; k < 3u; ++k) {
        ifc_store(p, ox, oy, k, acc[p.rgb_index[k]] * p.gain[k] + p.offset[k]);
    }
}
