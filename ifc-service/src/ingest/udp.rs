//! UDP ports for one publisher session (RFC 2326 §12.39 `server_port`): RTP on an even port,
//! RTCP on the next (what clients expect of `server_port=a-b`).

use std::io;
use std::net::{IpAddr, SocketAddr};

use tokio::net::UdpSocket;

/// The session's sockets. RTCP's is bound so that the publisher's reports are not answered
/// with ICMP errors; what arrives on it is never read (RTCP is not used).
#[derive(Debug)]
pub struct UdpPair {
    pub rtp: UdpSocket,
    _rtcp: UdpSocket,
    pub rtp_port: u16,
    pub rtcp_port: u16,
}

/// Tries a handful of kernel-chosen even ports whose successor is free too.
pub async fn bind_pair(ip: IpAddr) -> io::Result<UdpPair> {
    let mut last_error = io::Error::new(io::ErrorKind::AddrInUse, "no free even/odd UDP port pair");
    for _ in 0..32 {
        let rtp = UdpSocket::bind(SocketAddr::new(ip, 0)).await?;
        let rtp_port = rtp.local_addr()?.port();
        if rtp_port % 2 != 0 || rtp_port == u16::MAX {
            continue;
        }
        match UdpSocket::bind(SocketAddr::new(ip, rtp_port + 1)).await {
            Ok(rtcp) => return Ok(UdpPair { rtp, _rtcp: rtcp, rtp_port, rtcp_port: rtp_port + 1 }),
            Err(e) => last_error = e,
        }
    }
    Err(last_error)
}
