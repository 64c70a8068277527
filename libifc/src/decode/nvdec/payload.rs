//! The bytes handed to the NVDEC parser: it reads Annex B only, so length-prefixed (MP4)
//! packets are rewritten with start codes, and the track's parameter sets go first at the
//! start of each stream (MP4 keeps them in the avcC/hvcC record, not in band).

use bytes::Bytes;

use crate::codec::nal::length_prefixed_to_annex_b;

const START_CODE: [u8; 4] = [0, 0, 0, 1];

/// How this decoder's packets are framed, and the record's parameter sets if any.
#[derive(Debug, Clone)]
pub(super) enum InputFraming {
    AnnexB,
    LengthPrefixed { length_size: u8, parameter_sets: Vec<Bytes> },
}

/// The parser's input for one packet. Annex B input without parameter sets to add is passed
/// through without a copy.
pub(super) fn parser_payload(
    framing: &InputFraming,
    data: &Bytes,
    send_parameter_sets: bool,
) -> Result<Bytes, crate::ParseError> {
    match framing {
        InputFraming::AnnexB => Ok(data.clone()),
        InputFraming::LengthPrefixed { length_size, parameter_sets } => {
            let body = length_prefixed_to_annex_b(data, usize::from(*length_size))?;
            if !send_parameter_sets {
                return Ok(Bytes::from(body));
            }
            let header_len: usize = parameter_sets.iter().map(|p| p.len() + START_CODE.len()).sum();
            let mut out = Vec::with_capacity(header_len + body.len());
            for nal in parameter_sets {
                out.extend_from_slice(&START_CODE);
                out.extend_from_slice(nal);
            }
            out.extend_from_slice(&body);
            Ok(Bytes::from(out))
        }
    }
}

/// NAL units in an Annex B payload (for tests and checks).
#[cfg(test)]
fn nal_units(payload: &[u8]) -> Vec<Vec<u8>> {
    crate::codec::nal::AnnexBNals::new(payload).map(|(_, nal)| nal.to_vec()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPS: &[u8] = &[0x67, 0x64, 0x00, 0x1f];
    const PPS: &[u8] = &[0x68, 0xeb, 0xe3];
    const IDR: &[u8] = &[0x65, 0x88, 0x84, 0x21];

    fn length_prefixed(nals: &[&[u8]]) -> Bytes {
        let mut out = Vec::new();
        for nal in nals {
            out.extend_from_slice(&(nal.len() as u32).to_be_bytes());
            out.extend_from_slice(nal);
        }
        Bytes::from(out)
    }

    #[test]
    fn length_prefixed_packets_become_annex_b_with_the_records_parameter_sets_first() {
        let framing = InputFraming::LengthPrefixed {
            length_size: 4,
            parameter_sets: vec![Bytes::from_static(SPS), Bytes::from_static(PPS)],
        };
        let first = parser_payload(&framing, &length_prefixed(&[IDR]), true).expect("valid packet");
        assert_eq!(nal_units(&first), [SPS, PPS, IDR]);
        let later = parser_payload(&framing, &length_prefixed(&[IDR]), false).expect("valid packet");
        assert_eq!(nal_units(&later), [IDR]);
    }

    #[test]
    fn annex_b_passes_through_without_a_copy() {
        let data = Bytes::from_static(&[0, 0, 0, 1, 0x65, 0x88]);
        let out = parser_payload(&InputFraming::AnnexB, &data, true).expect("annex b");
        assert_eq!(out.as_ptr(), data.as_ptr());
    }

    #[test]
    fn a_length_running_past_the_packet_is_an_error() {
        let framing = InputFraming::LengthPrefixed { length_size: 4, parameter_sets: Vec::new() };
        let bad = Bytes::from_static(&[0, 0, 0, 9, 0x65]);
        assert!(parser_payload(&framing, &bad, false).is_err());
    }
}
