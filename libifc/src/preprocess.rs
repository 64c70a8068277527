//! STUB: preprocessing being written.
