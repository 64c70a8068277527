//! STUB: decoders being written.
