//! What ifc asks of a WHIP offer before str0m negotiates it: SDP text of a bounded size, one
//! video section (RFC 9725 §4.2: a WHIP session publishes what its offer holds; ifc's cameras
//! are video only), and the client's ICE credentials (a trickle PATCH must name them).
//! Audio sections are allowed and refused in the answer (port 0) by str0m, which has no audio
//! codec enabled here.

/// Why an offer was refused before negotiation.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum OfferError {
    #[error("the offer is not UTF-8 text")]
    NotText,
    #[error("the offer has no video section (m=video)")]
    NoVideo,
    #[error("the offer has {0} video sections; a WHIP session publishes one video track")]
    SeveralVideos(usize),
    #[error("the offer has no a=ice-ufrag")]
    NoIceCredentials,
}

/// The parts of an offer ifc keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferSummary {
    /// The client's ICE username fragment (the session's first, or its video section's).
    pub ice_ufrag: String,
    /// Whether the client offers H.265 (logged; str0m answers with what both sides have).
    pub offers_h265: bool,
}

pub fn check_offer(body: &[u8]) -> Result<(String, OfferSummary), OfferError> {
    let text = std::str::from_utf8(body).map_err(|_| OfferError::NotText)?;
    let mut videos = 0;
    let mut ice_ufrag = None;
    let mut offers_h265 = false;
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.starts_with("m=video ") {
            videos += 1;
        } else if let Some(ufrag) = line.strip_prefix("a=ice-ufrag:") {
            ice_ufrag.get_or_insert_with(|| ufrag.trim().to_owned());
        } else if line.starts_with("a=rtpmap:") && line.to_ascii_uppercase().contains(" H265/") {
            offers_h265 = true;
        }
    }
    match videos {
        0 => return Err(OfferError::NoVideo),
        1 => {}
        n => return Err(OfferError::SeveralVideos(n)),
    }
    let ice_ufrag = ice_ufrag.filter(|u| !u.is_empty()).ok_or(OfferError::NoIceCredentials)?;
    Ok((text.to_owned(), OfferSummary { ice_ufrag, offers_h265 }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_video_section_with_credentials_passes() {
        let offer = b"v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 102\r\na=ice-ufrag:abcd\r\na=rtpmap:102 H264/90000\r\n";
        let (_, summary) = check_offer(offer).expect("ok");
        assert_eq!(summary, OfferSummary { ice_ufrag: "abcd".into(), offers_h265: false });
    }

    #[test]
    fn offers_without_video_with_two_videos_or_without_credentials_are_refused() {
        assert_eq!(check_offer(b"v=0\r\nm=audio 9 X 0\r\na=ice-ufrag:a\r\n"), Err(OfferError::NoVideo));
        assert_eq!(
            check_offer(b"m=video 9 X 0\r\nm=video 9 X 0\r\na=ice-ufrag:a\r\n"),
            Err(OfferError::SeveralVideos(2))
        );
        assert_eq!(check_offer(b"m=video 9 X 0\r\n"), Err(OfferError::NoIceCredentials));
        assert_eq!(check_offer(b"\xff"), Err(OfferError::NotText));
    }
}
