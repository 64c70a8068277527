//! STUB: MP4 demuxer being written.
