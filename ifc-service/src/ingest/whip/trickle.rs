//! Trickle ICE SDP fragments (RFC 8840 §4.4, `application/trickle-ice-sdpfrag`) as WHIP
//! clients PATCH them (RFC 9725 §4.3.1): the ICE credentials the candidates belong to, the
//! candidates, and whether gathering ended. Sans-IO; every refusal names its line.

use str0m::Candidate;

/// Candidates accepted in one fragment (a browser gathers a handful per interface).
const MAX_CANDIDATES: usize = 64;

/// What a fragment says.
#[derive(Debug, Default)]
pub struct TrickleFragment {
    /// `a=ice-ufrag` / `a=ice-pwd`, when the fragment carries them (it should: they say
    /// which ICE generation the candidates are for; a new pair is an ICE restart).
    pub ufrag: Option<String>,
    pub pwd: Option<String>,
    pub candidates: Vec<Candidate>,
    /// Candidates with an mDNS host name (`*.local`): not resolvable here, skipped.
    pub skipped_mdns: usize,
    pub end_of_candidates: bool,
}

/// Why a fragment was refused (400).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum TrickleError {
    #[error("the fragment is not UTF-8")]
    NotText,
    #[error("line {line}: not an SDP line (`x=value`)")]
    NotSdp { line: usize },
    #[error("line {line}: bad candidate: {message}")]
    BadCandidate { line: usize, message: String },
    #[error("more than {MAX_CANDIDATES} candidates")]
    TooManyCandidates,
    #[error("no candidate, no end-of-candidates and no ICE credentials: nothing to do")]
    Empty,
}

/// Parses a fragment. Lines other than the ones above (`m=`, `a=mid`, `a=ice-options`, …)
/// are allowed and ignored, as RFC 8840 §4.4 lets a fragment carry them.
pub fn parse_fragment(body: &[u8]) -> Result<TrickleFragment, TrickleError> {
    let text = std::str::from_utf8(body).map_err(|_| TrickleError::NotText)?;
    let mut fragment = TrickleFragment::default();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let raw = raw.trim_end_matches('\r');
        if raw.trim().is_empty() {
            continue;
        }
        let bytes = raw.as_bytes();
        if bytes.len() < 2 || bytes[1] != b'=' || !bytes[0].is_ascii_lowercase() {
            return Err(TrickleError::NotSdp { line });
        }
        let Some(attribute) = raw.strip_prefix("a=") else { continue };
        if let Some(ufrag) = attribute.strip_prefix("ice-ufrag:") {
            fragment.ufrag = Some(ufrag.trim().to_owned());
        } else if let Some(pwd) = attribute.strip_prefix("ice-pwd:") {
            fragment.pwd = Some(pwd.trim().to_owned());
        } else if attribute.trim() == "end-of-candidates" {
            fragment.end_of_candidates = true;
        } else if attribute.starts_with("candidate:") {
            if is_mdns(attribute) {
                fragment.skipped_mdns += 1;
                continue;
            }
            if fragment.candidates.len() == MAX_CANDIDATES {
                return Err(TrickleError::TooManyCandidates);
            }
            let candidate = Candidate::from_sdp_string(attribute.trim())
                .map_err(|e| TrickleError::BadCandidate { line, message: e.to_string() })?;
            fragment.candidates.push(candidate);
        }
    }
    let has_content = !fragment.candidates.is_empty()
        || fragment.skipped_mdns > 0
        || fragment.end_of_candidates
        || fragment.ufrag.is_some();
    if !has_content {
        return Err(TrickleError::Empty);
    }
    Ok(fragment)
}

/// `candidate:<foundation> <component> <transport> <priority> <address> …`: the address is a
/// host name ending in `.local` (a browser hiding its IP address behind mDNS).
fn is_mdns(attribute: &str) -> bool {
    attribute.split_ascii_whitespace().nth(4).is_some_and(|address| address.ends_with(".local"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What Chromium sends (RFC 8840 framing, its candidate extensions).
    const CHROMIUM: &str = "a=ice-ufrag:Xrxo\r\na=ice-pwd:nNblo1dz015j/nqi/IavlywV\r\nm=video 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\n\
        a=candidate:367725155 1 udp 2122194687 127.0.0.1 54594 typ host generation 0 ufrag Xrxo network-id 3 network-cost 50\r\n\
        a=candidate:80156907 1 udp 2122267903 ::1 37665 typ host generation 0 ufrag Xrxo network-id 4\r\n";

    #[test]
    fn a_chromium_fragment_gives_its_credentials_and_candidates() {
        let f = parse_fragment(CHROMIUM.as_bytes()).expect("parses");
        assert_eq!((f.ufrag.as_deref(), f.pwd.as_deref()), (Some("Xrxo"), Some("nNblo1dz015j/nqi/IavlywV")));
        assert_eq!(f.candidates.len(), 2);
        assert!(!f.end_of_candidates);
    }

    #[test]
    fn end_of_candidates_alone_is_enough() {
        let f = parse_fragment(
            b"a=ice-ufrag:Xrxo\na=ice-pwd:p\nm=video 9 UDP/TLS/RTP/SAVPF 0\na=mid:0\na=end-of-candidates\n",
        )
        .expect("parses");
        assert!(f.end_of_candidates && f.candidates.is_empty());
    }

    #[test]
    fn mdns_candidates_are_skipped_not_refused() {
        let f = parse_fragment(b"a=candidate:1 1 udp 2122194687 0b1c.local 54594 typ host\n").expect("parses");
        assert_eq!((f.candidates.len(), f.skipped_mdns), (0, 1));
    }

    #[test]
    fn bad_fragments_are_refused_naming_the_line() {
        assert_eq!(parse_fragment(b"").unwrap_err(), TrickleError::Empty);
        assert_eq!(parse_fragment(b"m=video 9 X 0\na=mid:0\n").unwrap_err(), TrickleError::Empty);
        assert_eq!(parse_fragment(b"a=mid:0\nhello\n").unwrap_err(), TrickleError::NotSdp { line: 2 });
        assert_eq!(parse_fragment(b"\xff\xfe").unwrap_err(), TrickleError::NotText);
        assert!(matches!(
            parse_fragment(b"a=ice-ufrag:x\na=candidate:1 1 udp notanumber 1.2.3.4 5 typ host\n").unwrap_err(),
            TrickleError::BadCandidate { line: 2, .. }
        ));
        let many: String =
            (0..65).map(|i| format!("a=candidate:{i} 1 udp 2122194687 127.0.0.1 {} typ host\n", 1000 + i)).collect();
        assert_eq!(parse_fragment(many.as_bytes()).unwrap_err(), TrickleError::TooManyCandidates);
    }
}
