//! Viewers for `ifc serve`'s live view, for the benchmark (`scripts/bench-live.py`): N WebRTC
//! viewers (WHEP, on str0m, each with its own UDP socket) and M LL-HLS viewers (blocking
//! playlist reload, then the preload-hinted part, as hls.js does in low-latency mode), all in
//! this one process, for a while. Prints one JSON line: per kind, viewers, how many got
//! pictures, and the pictures/parts and bytes each received (min, median, max).
//!
//!     cargo run --release -p ifc-service --example live_load -- \
//!         http://127.0.0.1:8080 CAMERA_ID TOKEN --whep 50 --hls 50 --seconds 30

use std::time::{Duration, Instant};

use str0m::change::SdpAnswer;
use str0m::media::{Direction, MediaKind};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, RtcConfig};
use tokio::net::UdpSocket;

#[derive(Debug, Default, Clone, Copy)]
struct Received {
    /// Pictures (WHEP) or parts (LL-HLS).
    units: u64,
    bytes: u64,
}

struct Args {
    server: String,
    camera: String,
    token: String,
    whep: usize,
    hls: usize,
    seconds: u64,
}

fn args() -> Result<Args, String> {
    let mut positional = Vec::new();
    let (mut whep, mut hls, mut seconds) = (0, 0, 30);
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut number = |name: &str| -> Result<u64, String> {
            it.next().and_then(|v| v.parse().ok()).ok_or_else(|| format!("{name} needs a number"))
        };
        match a.as_str() {
            "--whep" => whep = number("--whep")? as usize,
            "--hls" => hls = number("--hls")? as usize,
            "--seconds" => seconds = number("--seconds")?,
            _ => positional.push(a),
        }
    }
    let [server, camera, token]: [String; 3] =
        positional.try_into().map_err(|_| "usage: live_load SERVER CAMERA_ID TOKEN [--whep N] [--hls M] [--seconds S]".to_owned())?;
    Ok(Args { server, camera, token, whep, hls, seconds })
}

/// One WebRTC viewer until `until`: offer (receive-only video), the server's answer, then
/// str0m driven over a UDP socket; counts the pictures str0m depacketizes.
async fn whep_viewer(server: String, camera: String, token: String, until: Instant) -> Result<Received, String> {
    let socket = UdpSocket::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let local = socket.local_addr().map_err(|e| e.to_string())?;
    let mut rtc = RtcConfig::new().clear_codecs().enable_h264(true).enable_h265(true).build(Instant::now());
    rtc.add_local_candidate(Candidate::host(local, "udp").map_err(|e| e.to_string())?);
    let mut api = rtc.sdp_api();
    api.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None);
    let (offer, pending) = api.apply().ok_or("no offer")?;
    let url = format!("{server}/api/v1/whep/cameras/{camera}");
    let body = offer.to_sdp_string();
    let answer = tokio::task::spawn_blocking(move || {
        ureq::post(&url)
            .set("Authorization", &format!("Bearer {token}"))
            .set("Content-Type", "application/sdp")
            .send_string(&body)
            .map_err(|e| e.to_string())?
            .into_string()
            .map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())??;
    let answer = SdpAnswer::from_sdp_string(&answer).map_err(|e| e.to_string())?;
    rtc.sdp_api().accept_answer(pending, answer).map_err(|e| e.to_string())?;
    let mut received = Received::default();
    let mut buf = vec![0u8; 2048];
    loop {
        let deadline = loop {
            match rtc.poll_output().map_err(|e| e.to_string())? {
                Output::Timeout(at) => break at,
                Output::Transmit(t) => {
                    let _ = socket.send_to(&t.contents, t.destination).await;
                }
                Output::Event(Event::MediaData(data)) => {
                    received.units += 1;
                    received.bytes += data.data.len() as u64;
                }
                Output::Event(_) => {}
            }
        };
        let now = Instant::now();
        if now >= until {
            return Ok(received);
        }
        let wake = deadline.min(until);
        tokio::select! {
            r = socket.recv_from(&mut buf) => if let Ok((n, source)) = r {
                if let Ok(receive) = Receive::new(Protocol::Udp, source, local, &buf[..n]) {
                    rtc.handle_input(Input::Receive(Instant::now(), receive)).map_err(|e| e.to_string())?;
                }
            },
            () = tokio::time::sleep_until(tokio::time::Instant::from_std(wake)) => {
                rtc.handle_input(Input::Timeout(Instant::now())).map_err(|e| e.to_string())?;
            }
        }
    }
}

/// The URI of the playlist's `EXT-X-PRELOAD-HINT` and the (segment, part) it names.
fn preload_hint(playlist: &str) -> Option<(String, u64, u32)> {
    let line = playlist.lines().find(|l| l.starts_with("#EXT-X-PRELOAD-HINT:"))?;
    let start = line.find("URI=\"")? + 5;
    let uri = &line[start..start + line[start..].find('"')?];
    let name = uri.split('?').next()?;
    let (msn, index) = name.strip_prefix("part-")?.strip_suffix(".m4s")?.split_once('-')?;
    Some((uri.to_owned(), msn.parse().ok()?, index.parse().ok()?))
}

/// One LL-HLS viewer until `until` (a thread): reload the playlist (blocking until it lists the
/// part fetched last), fetch the part it hints next (the server holds it until it is made).
fn hls_viewer(server: &str, camera: &str, token: &str, until: Instant) -> Result<Received, String> {
    let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(30)).build();
    let base = format!("{server}/api/v1/cameras/{camera}/live/");
    let mut received = Received::default();
    let mut next: Option<(u64, u32)> = None;
    while Instant::now() < until {
        let mut url = format!("{base}index.m3u8?access_token={token}");
        if let Some((msn, part)) = next {
            url.push_str(&format!("&_HLS_msn={msn}&_HLS_part={part}"));
        }
        let playlist = agent.get(&url).call().map_err(|e| e.to_string())?.into_string().map_err(|e| e.to_string())?;
        let (uri, msn, index) = preload_hint(&playlist).ok_or("no preload hint")?;
        match agent.get(&format!("{base}{uri}")).call() {
            Ok(response) => {
                let mut body = Vec::new();
                std::io::Read::read_to_end(&mut response.into_reader(), &mut body).map_err(|e| e.to_string())?;
                received.units += 1;
                received.bytes += body.len() as u64;
            }
            // The hinted part will not exist (its segment ended first): reload.
            Err(ureq::Error::Status(404, _)) => {}
            Err(e) => return Err(e.to_string()),
        }
        // Reload until the playlist lists the part just fetched: it then hints the one after,
        // and that request waits for it (one playlist and one part per part, as hls.js does).
        next = Some((msn, index));
    }
    Ok(received)
}

fn summary(results: &[Result<Received, String>]) -> serde_json::Value {
    let mut units: Vec<u64> = results.iter().filter_map(|r| r.as_ref().ok()).map(|r| r.units).collect();
    let mut bytes: Vec<u64> = results.iter().filter_map(|r| r.as_ref().ok()).map(|r| r.bytes).collect();
    units.sort_unstable();
    bytes.sort_unstable();
    let errors: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    let pick = |v: &[u64]| serde_json::json!({"min": v.first(), "median": v.get(v.len() / 2), "max": v.last()});
    serde_json::json!({
        "viewers": results.len(),
        "receiving": units.iter().filter(|&&u| u > 0).count(),
        "units": pick(&units),
        "bytes": pick(&bytes),
        "errors": errors.iter().take(3).collect::<Vec<_>>(),
    })
}

fn main() {
    let args = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let until = Instant::now() + Duration::from_secs(args.seconds);
    let hls: Vec<_> = (0..args.hls)
        .map(|_| {
            let (server, camera, token) = (args.server.clone(), args.camera.clone(), args.token.clone());
            std::thread::spawn(move || hls_viewer(&server, &camera, &token, until))
        })
        .collect();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("live_load: no async runtime: {e}");
            std::process::exit(1);
        }
    };
    let whep: Vec<Result<Received, String>> = runtime.block_on(async {
        let tasks: Vec<_> = (0..args.whep)
            .map(|_| tokio::spawn(whep_viewer(args.server.clone(), args.camera.clone(), args.token.clone(), until)))
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap_or_else(|e| Err(e.to_string())));
        }
        out
    });
    let hls: Vec<Result<Received, String>> =
        hls.into_iter().map(|t| t.join().unwrap_or_else(|_| Err("the viewer's thread panicked".into()))).collect();
    println!("{}", serde_json::json!({"whep": summary(&whep), "hls": summary(&hls)}));
}
