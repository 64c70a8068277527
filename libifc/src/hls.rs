//! HLS media playlist writer (RFC 8216bis) for fMP4 segments.
//! STUB: being written.
#![forbid(unsafe_code)]
