//! [`NvdecOptions`]: how the NVDEC backend sizes and paces a session. Plain data, present in
//! every build so that callers need no `cfg`; used only with the `cuda` feature.

/// Settings of one NVDEC decoding session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct NvdecOptions {
    /// CUDA device ordinal.
    pub device_ordinal: u32,
    /// Pictures the parser holds before displaying one: 0 gives the lowest latency (each
    /// picture is mapped as soon as it is decoded); 1–4 let decodes overlap, for throughput.
    pub display_delay: u32,
    /// The largest picture a session takes without being recreated (0: the first sequence's
    /// size). Resolution changes up to this size reconfigure the session in place.
    pub max_width: u32,
    pub max_height: u32,
    /// Decode surfaces beyond the stream's minimum and the display delay.
    pub extra_decode_surfaces: u32,
    /// Decoded frames that may be held (mapped) at once; a picture displayed while all are
    /// held is dropped and counted, so size this above the frame queue behind the decoder
    /// (16 by default: about 50 MB of 1080p NV12 surfaces per session).
    pub output_surfaces: u32,
}

impl Default for NvdecOptions {
    fn default() -> Self {
        Self {
            device_ordinal: 0,
            display_delay: 0,
            max_width: 0,
            max_height: 0,
            extra_decode_surfaces: 2,
            output_surfaces: 16,
        }
    }
}

impl NvdecOptions {
    #[must_use]
    pub fn with_display_delay(mut self, display_delay: u32) -> Self {
        self.display_delay = display_delay;
        self
    }

    #[must_use]
    pub fn with_max_size(mut self, max_width: u32, max_height: u32) -> Self {
        self.max_width = max_width;
        self.max_height = max_height;
        self
    }

    #[must_use]
    pub fn with_output_surfaces(mut self, output_surfaces: u32) -> Self {
        self.output_surfaces = output_surfaces;
        self
    }

    #[must_use]
    pub fn with_device_ordinal(mut self, device_ordinal: u32) -> Self {
        self.device_ordinal = device_ordinal;
        self
    }
}
