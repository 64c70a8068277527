//! STUB: fMP4 muxer being written.
