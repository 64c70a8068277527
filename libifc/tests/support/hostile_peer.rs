//! A hostile-peer kit: a scripted RTSP server (with its RTP sender, interleaved on the same
//! TCP connection) that misbehaves on purpose, one way per [`Misbehaviour`]. Each peer serves
//! one connection on 127.0.0.1, keeps misbehaving until the client goes away (or 60 s), and
//! counts what it sent, so a test can say the client gave up while the peer was still busy.
//! `py/tests/hostile_peer.py` is the same kit for the Python tests.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A Baseline SPS declaring 16880 × 16880 pictures (1055 × 1055 macroblocks), and a PPS for it.
pub const HUGE_SPS_B64: &str = "Z0IAKNoAEHwAg/k=";
pub const HUGE_PPS_B64: &str = "aM48gA==";
/// An IDR slice header for that SPS (I slice, frame_num 0), then filler.
pub const IDR_SLICE: [u8; 6] = [0x65, 0x88, 0x84, 0xff, 0xff, 0xff];
/// The real parameter sets of testdata/h264_main_320x240_25 (as gst-rtsp-server announces them).
const REAL_SPROP: &str = "Z01ADeygoP2AiAAAAwAIAAADAZB4oUyw,aOvjyyA=";

/// How the peer misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Misbehaviour {
    /// Answers OPTIONS one byte every 50 ms: a response that never completes.
    SlowLoris,
    /// Instead of answering DESCRIBE: zero-length interleaved frames, without end.
    EndlessEmptyFrames,
    /// Instead of answering DESCRIBE: 1 KiB interleaved frames of junk, without end.
    EndlessInterleavedJunk,
    /// DESCRIBE's `Content-Length` says 4000 bytes; 100 come, then a byte every 50 ms.
    LyingContentLength,
    /// Every answer carries another request's CSeq, one every 50 ms, without end.
    CseqMismatch,
    /// DESCRIBE's body is 2 MiB (`Content-Length` over the reader's limit).
    AbsurdSdpSize,
    /// An SDP whose sprop parameter sets declare 16880 × 16880 pictures; plays an IDR.
    HugePictureParameterSets,
    /// Plays, then sends RTCP and RTP fragments that never complete a picture, every 10 ms.
    NeverAPicture,
    /// Plays, then sends random bytes as interleaved RTP, every 5 ms: packets with a valid RTP
    /// header and a random payload (garbage NAL units), and frames that are random throughout.
    /// (Rust kit only: `ifc serve`'s tests use it; `py/tests/hostile_peer.py` has the others.)
    RandomRtp,
}

/// A running peer; stops when dropped.
pub struct HostilePeer {
    pub port: u16,
    /// Bytes the peer sent.
    pub sent: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl HostilePeer {
    pub fn start(misbehaviour: Misbehaviour) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let (sent, stop) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicBool::new(false)));
        let (sent2, stop2) = (sent.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let Ok((stream, _)) = listener.accept() else { return };
            let mut peer =
                Script { stream, port, sent: sent2, stop: stop2, until: Instant::now() + Duration::from_secs(60) };
            // Every misbehaviour ends when the client goes away; the error is the point.
            let _ = peer.run(misbehaviour);
        });
        Self { port, sent, stop, thread: Some(thread) }
    }

    pub fn url(&self) -> String {
        format!("rtsp://127.0.0.1:{}/cam", self.port)
    }
}

impl Drop for HostilePeer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct Script {
    stream: TcpStream,
    port: u16,
    sent: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    until: Instant,
}

type Step = std::io::Result<()>;

fn gone() -> std::io::Error {
    std::io::Error::other("stopped")
}

impl Script {
    fn send(&mut self, bytes: &[u8]) -> Step {
        if self.stop.load(Ordering::Relaxed) || Instant::now() > self.until {
            return Err(gone());
        }
        self.stream.write_all(bytes)?;
        self.sent.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        Ok(())
    }

    /// Reads one request through its empty line; returns its CSeq.
    fn request(&mut self) -> std::io::Result<String> {
        self.stream.set_read_timeout(Some(Duration::from_millis(100)))?;
        let mut text = Vec::new();
        let mut byte = [0u8; 1];
        while !text.ends_with(b"\r\n\r\n") {
            if self.stop.load(Ordering::Relaxed) || Instant::now() > self.until {
                return Err(gone());
            }
            match self.stream.read(&mut byte) {
                Ok(1) => text.push(byte[0]),
                Ok(_) => return Err(gone()),
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
                Err(e) => return Err(e),
            }
        }
        let text = String::from_utf8_lossy(&text).into_owned();
        Ok(text.lines().find_map(|l| l.strip_prefix("CSeq: ")).unwrap_or("0").trim().to_owned())
    }

    fn answer(&mut self, cseq: &str, headers: &str, body: &str) -> Step {
        let length = if body.is_empty() { String::new() } else { format!("Content-Length: {}\r\n", body.len()) };
        self.send(format!("RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\n{headers}{length}\r\n{body}").as_bytes())
    }

    fn sdp(&self, sprop: &str) -> String {
        format!(
            "v=0\r\ns=hostile\r\nt=0 0\r\na=control:rtsp://127.0.0.1:{}/cam\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1;sprop-parameter-sets={sprop}\r\na=control:rtsp://127.0.0.1:{}/cam/track1\r\n",
            self.port, self.port
        )
    }

    /// OPTIONS, DESCRIBE (with `sprop`), SETUP and PLAY answered properly.
    fn handshake(&mut self, sprop: &str) -> Step {
        let cseq = self.request()?;
        self.answer(&cseq, "Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN\r\n", "")?;
        let cseq = self.request()?;
        let sdp = self.sdp(sprop);
        self.answer(&cseq, "Content-Type: application/sdp\r\n", &sdp)?;
        let cseq = self.request()?;
        self.answer(&cseq, "Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\nSession: hostile;timeout=60\r\n", "")?;
        let cseq = self.request()?;
        self.answer(&cseq, "Session: hostile\r\n", "")
    }

    fn rtp(&mut self, seq: u16, timestamp: u32, marker: bool, payload: &[u8]) -> Step {
        let mut packet = vec![0x80, 96 | if marker { 0x80 } else { 0 }];
        packet.extend_from_slice(&seq.to_be_bytes());
        packet.extend_from_slice(&timestamp.to_be_bytes());
        packet.extend_from_slice(&0x1234_5678u32.to_be_bytes());
        packet.extend_from_slice(payload);
        self.send(&frame(0, &packet))
    }

    fn run(&mut self, misbehaviour: Misbehaviour) -> Step {
        match misbehaviour {
            Misbehaviour::SlowLoris => {
                let cseq = self.request()?;
                let response = format!("RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nPublic: OPTIONS, DESCRIBE\r\nX-Padding: ");
                for b in response.bytes().chain(std::iter::repeat(b'a')) {
                    self.send(&[b])?;
                    std::thread::sleep(Duration::from_millis(50));
                }
                Ok(())
            }
            Misbehaviour::EndlessEmptyFrames | Misbehaviour::EndlessInterleavedJunk => {
                let cseq = self.request()?;
                self.answer(&cseq, "Public: OPTIONS, DESCRIBE\r\n", "")?;
                self.request()?;
                let frames = if misbehaviour == Misbehaviour::EndlessEmptyFrames {
                    frame(0, &[]).repeat(256)
                } else {
                    frame(0, &[0xa5; 1024]).repeat(16)
                };
                loop {
                    self.send(&frames)?;
                }
            }
            Misbehaviour::LyingContentLength => {
                let cseq = self.request()?;
                self.answer(&cseq, "Public: OPTIONS, DESCRIBE\r\n", "")?;
                let cseq = self.request()?;
                let sdp = self.sdp(REAL_SPROP);
                self.send(
                    format!("RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nContent-Length: 4000\r\n\r\n{}", &sdp[..100])
                        .as_bytes(),
                )?;
                loop {
                    self.send(b" ")?;
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
            Misbehaviour::CseqMismatch => {
                let cseq: u32 = self.request()?.parse().unwrap_or(0);
                for other in cseq + 100.. {
                    self.answer(&other.to_string(), "Public: OPTIONS, DESCRIBE\r\n", "")?;
                    std::thread::sleep(Duration::from_millis(50));
                }
                Ok(())
            }
            Misbehaviour::AbsurdSdpSize => {
                let cseq = self.request()?;
                self.answer(&cseq, "Public: OPTIONS, DESCRIBE\r\n", "")?;
                let cseq = self.request()?;
                let body_len = 2 << 20;
                self.send(
                    format!("RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nContent-Length: {body_len}\r\n\r\nv=0\r\n").as_bytes(),
                )?;
                let filler = b"a=x-padding:0123456789abcdef0123456789abcdef0123456789abcdef\r\n".repeat(64);
                loop {
                    self.send(&filler)?;
                }
            }
            Misbehaviour::HugePictureParameterSets => {
                self.handshake(&format!("{HUGE_SPS_B64},{HUGE_PPS_B64}"))?;
                for (i, seq) in (0u16..).enumerate() {
                    self.rtp(seq, 3600 * i as u32, true, &IDR_SLICE)?;
                    std::thread::sleep(Duration::from_millis(40));
                }
                Ok(())
            }
            Misbehaviour::NeverAPicture => {
                self.handshake(REAL_SPROP)?;
                let rtcp = [
                    0x80, 200, 0, 6, 0x12, 0x34, 0x56, 0x78, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                ];
                for seq in 0u16.. {
                    self.send(&frame(1, &rtcp))?;
                    // An FU-A start of an IDR slice whose end never comes; each new timestamp
                    // abandons the last one.
                    self.rtp(seq, 3600 * u32::from(seq), false, &[0x7c, 0x85, 0x88, 0x84])?;
                    std::thread::sleep(Duration::from_millis(10));
                }
                Ok(())
            }
            Misbehaviour::RandomRtp => {
                self.handshake(REAL_SPROP)?;
                // xorshift64: reproducible garbage without a dependency.
                let mut state = 0x9e37_79b9_7f4a_7c15u64;
                let mut next = move || {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state
                };
                for seq in 0u16.. {
                    let len = 1 + (next() % 1400) as usize;
                    let payload: Vec<u8> = (0..len).map(|_| next() as u8).collect();
                    if seq % 2 == 0 {
                        self.rtp(seq, 3600 * u32::from(seq / 4), seq % 4 == 2, &payload)?;
                    } else {
                        self.send(&frame(0, &payload))?;
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
                Ok(())
            }
        }
    }
}

/// The resident set of a process (`"self"` or a pid), from /proc; 0 when unreadable.
pub fn resident_bytes(process: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{process}/status")).unwrap_or_default();
    let kib = status.lines().find_map(|l| l.strip_prefix("VmRSS:")).and_then(|v| v.trim().strip_suffix("kB"));
    kib.and_then(|v| v.trim().parse::<u64>().ok()).unwrap_or(0) * 1024
}

/// An interleaved frame (RFC 2326 §10.12).
pub fn frame(channel: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![b'$', channel];
    out.extend_from_slice(&u16::try_from(payload.len()).expect("short").to_be_bytes());
    out.extend_from_slice(payload);
    out
}
