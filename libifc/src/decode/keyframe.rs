//! Finding random-access points in a packet's bytes, for decoders that wait for a key frame
//! and callers that did not mark one.

use crate::codec::nal::{AnnexBNals, LengthPrefixedNals};
use crate::codec::{Codec, NalKind};

/// How a packet's NAL units are framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NalFraming {
    AnnexB,
    /// ISO/IEC 14496-15 length prefixes of this many bytes.
    LengthPrefixed(u8),
}

/// The packet's NAL units, without framing; a damaged length prefix ends the list.
pub(super) fn packet_nals(framing: NalFraming, data: &[u8]) -> Vec<&[u8]> {
    match framing {
        NalFraming::AnnexB => AnnexBNals::new(data).map(|(_, nal)| nal).collect(),
        NalFraming::LengthPrefixed(n) => LengthPrefixedNals::new(data, usize::from(n)).map_while(Result::ok).collect(),
    }
}

/// Does the packet hold an IDR (H.264 nal_unit_type 5) or IRAP (H.265 types 16–23) slice?
/// A damaged packet is simply not a key packet.
pub(super) fn has_random_access_slice(codec: Codec, framing: NalFraming, data: &[u8]) -> bool {
    let is_rap = |nal: &[u8]| matches!(codec.classify(nal), Some(NalKind::Slice { random_access: true, .. }));
    match framing {
        NalFraming::AnnexB => AnnexBNals::new(data).any(|(_, nal)| is_rap(nal)),
        NalFraming::LengthPrefixed(n) => {
            LengthPrefixedNals::new(data, usize::from(n)).map_while(Result::ok).any(is_rap)
        }
    }
}

/// What the packet's in-band sequence parameter sets declare (those that parse; a damaged one
/// is libavcodec's to refuse), so that a decoder can refuse absurd sizes before allocating.
pub(super) fn declared_params(codec: Codec, framing: NalFraming, data: &[u8]) -> Vec<crate::codec::VideoParams> {
    let sps = |nal: &[u8]| {
        matches!(codec.classify(nal), Some(NalKind::Sps)).then(|| crate::codec::parse_sps_params(codec, nal).ok())?
    };
    match framing {
        NalFraming::AnnexB => AnnexBNals::new(data).filter_map(|(_, nal)| sps(nal)).collect(),
        NalFraming::LengthPrefixed(n) => {
            LengthPrefixedNals::new(data, usize::from(n)).map_while(Result::ok).filter_map(sps).collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idr_and_irap_slices_are_found_in_both_framings() {
        let h264_idr = [0, 0, 0, 1, 0x67, 0x42, 0, 0, 1, 0x65, 0x88];
        let h264_p = [0, 0, 0, 1, 0x41, 0x9a];
        assert!(has_random_access_slice(Codec::H264, NalFraming::AnnexB, &h264_idr));
        assert!(!has_random_access_slice(Codec::H264, NalFraming::AnnexB, &h264_p));
        // H.265 CRA (type 21) behind a 2-byte length prefix.
        let hevc_cra = [0, 3, 21 << 1, 1, 0xaf];
        assert!(has_random_access_slice(Codec::H265, NalFraming::LengthPrefixed(2), &hevc_cra));
        // The same bytes read as H.264 are a non-IDR slice.
        assert!(!has_random_access_slice(Codec::H264, NalFraming::LengthPrefixed(2), &hevc_cra));
    }

    #[test]
    fn damaged_packets_are_not_key_packets() {
        assert!(!has_random_access_slice(Codec::H265, NalFraming::LengthPrefixed(4), &[0, 0, 9, 9, 42]));
        assert!(!has_random_access_slice(Codec::H264, NalFraming::AnnexB, &[]));
        assert!(!has_random_access_slice(Codec::H264, NalFraming::LengthPrefixed(3), &[0, 0, 1, 0x65]));
    }

    /// Exp-Golomb and fixed-width fields, MSB first, for a hand-made SPS.
    #[derive(Default)]
    struct Bits(Vec<bool>);

    impl Bits {
        fn u(&mut self, n: u32, value: u32) -> &mut Self {
            self.0.extend((0..n).rev().map(|i| value >> i & 1 == 1));
            self
        }
        fn ue(&mut self, value: u32) -> &mut Self {
            let code = value + 1;
            let len = 32 - code.leading_zeros();
            self.u(len - 1, 0).u(len, code)
        }
        fn bytes(&mut self) -> Vec<u8> {
            self.u(1, 1); // rbsp_stop_one_bit
            while self.0.len() % 8 != 0 {
                self.0.push(false);
            }
            self.0.chunks(8).map(|c| c.iter().fold(0u8, |b, &bit| b << 1 | u8::from(bit))).collect()
        }
    }

    /// A Baseline SPS (H.264 7.3.2.1.1) declaring `mbs` × `mbs` macroblocks.
    fn h264_sps(mbs: u32) -> Vec<u8> {
        let mut bits = Bits::default();
        bits.u(8, 66).u(8, 0).u(8, 40); // profile_idc, constraint flags, level_idc
        bits.ue(0).ue(0).ue(2).ue(1).u(1, 0); // id, log2_max_frame_num-4, poc type 2, refs, gaps
        bits.ue(mbs - 1).ue(mbs - 1).u(1, 1).u(1, 1).u(1, 0).u(1, 0); // size, frame_mbs_only, ...
        [vec![0x67], bits.bytes()].concat()
    }

    #[test]
    fn an_in_band_sps_declaring_16880_square_pictures_is_seen_in_both_framings() {
        let sps = h264_sps(1055);
        let annex_b = [&[0, 0, 0, 1][..], &sps, &[0, 0, 1, 0x65, 0x88]].concat();
        let params = declared_params(Codec::H264, NalFraming::AnnexB, &annex_b);
        assert_eq!(params.iter().map(|p| (p.coded_width, p.coded_height)).collect::<Vec<_>>(), [(16_880, 16_880)]);
        let prefixed = [&(sps.len() as u32).to_be_bytes()[..], &sps].concat();
        let params = declared_params(Codec::H264, NalFraming::LengthPrefixed(4), &prefixed);
        assert_eq!(params.len(), 1);
        let options = crate::decode::DecoderOptions::new(Codec::H264);
        let err = options.check_picture_size(&params[0]).expect_err("over the default cap");
        assert!(err.to_string().contains("16880x16880"), "{err}");
        assert!(declared_params(Codec::H264, NalFraming::AnnexB, &[0, 0, 1, 0x65, 0x88]).is_empty());
    }
}
