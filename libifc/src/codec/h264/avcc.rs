//! The decoder configuration record (ISO/IEC 14496-15).
//! STUB: being written.

use bytes::Bytes;

use crate::codec::DecoderConfig;
use crate::error::{ParseError, Result};

pub fn parse_record(_record: Bytes) -> Result<DecoderConfig> {
    Err(ParseError::unsupported("avcc", "not implemented"))
}

pub fn build_record(_parameter_sets: &[&[u8]]) -> Result<DecoderConfig> {
    Err(ParseError::unsupported("avcc", "not implemented"))
}
