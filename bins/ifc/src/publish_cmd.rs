//! `ifc publish`: a recording pushed to an RTSP server as N live cameras (the load generator of
//! the recording benchmark and tests). The file is read once, in real time (a `SourcePump`
//! into a `Fanout`); each stream is a thread with its own RTSP publisher sharing the packets.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Args;
use ifc::inspect::{SourcePump, StreamSource};
use ifc::live::{BreakReason, Fanout, FeedItem};
use ifc::remux::LiveItem;
use ifc::rtsp::{Polled, PublishStats, Publisher, RtspOptions, RtspUrl};

use crate::run_cmd::stop_on_signals;

#[derive(Debug, Args)]
pub struct PublishArgs {
    /// The recording to send (MP4 or raw .h264/.h265), paced by its timestamps.
    pub input: PathBuf,
    /// Where to publish: rtsp://[user:pass@]host[:port]/path. With --streams above 1 the URL
    /// must hold `{n}`, replaced by 1, 2, … (e.g. rtsp://server:8554/cameras/cam{n}).
    pub url: String,
    /// Cameras to simulate, each its own RTSP session sending the same packets.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub streams: u32,
    /// Start the recording over at its end (timestamps keep increasing), until Ctrl-C or
    /// --duration.
    #[arg(long = "loop")]
    pub looped: bool,
    /// Stop after this many seconds.
    #[arg(long, value_name = "S")]
    pub duration: Option<f64>,
    /// No summary.
    #[arg(long, short)]
    pub quiet: bool,
}

/// The URL of stream `n` (1-based).
fn stream_url(template: &str, n: u32) -> String {
    template.replace("{n}", &n.to_string())
}

pub fn run(args: &PublishArgs) -> Result<()> {
    if args.streams > 1 && !args.url.contains("{n}") {
        bail!("--streams {} needs `{{n}}` in the URL, so that each stream has its own path", args.streams);
    }
    // A wrong URL fails here, with the URL redacted, before anything starts.
    RtspUrl::parse(&stream_url(&args.url, 1)).context("the publish URL")?;
    let stop = stop_on_signals()?;
    let feed = Fanout::new(4096);
    // Subscribed before the pump starts: every stream gets the file from its first packet.
    let subscriptions: Vec<_> = (1..=args.streams).map(|n| (n, feed.subscribe())).collect();
    let source = StreamSource::File { path: args.input.clone(), fps: None, realtime: true, looped: args.looped };
    let started = Instant::now();
    let pump = SourcePump::start(source, feed.clone(), 0, None, Box::new(|_| {}))
        .with_context(|| format!("cannot read {}", args.input.display()))?;
    let deadline = args.duration.map(|s| started + Duration::from_secs_f64(s.max(0.0)));
    let threads: Vec<_> = subscriptions
        .into_iter()
        .map(|(n, mut subscription)| {
            let url = stream_url(&args.url, n);
            let stop = std::sync::Arc::clone(&stop);
            std::thread::Builder::new().name(format!("ifc-publish-{n}")).spawn(move || -> Result<PublishStats> {
                let mut publisher: Option<Publisher> = None;
                loop {
                    if stop.load(Ordering::Relaxed) || deadline.is_some_and(|d| Instant::now() >= d) {
                        break;
                    }
                    match subscription.poll(Instant::now() + Duration::from_millis(200)) {
                        Polled::Pending => {}
                        // Behind the file (a slow server): the stream resumes at the next key frame.
                        Polled::Ready(FeedItem::Break(BreakReason::Lagged { items })) => {
                            eprintln!("ifc publish: stream {n} fell behind the recording by {items} items; skipped to a key frame");
                        }
                        Polled::Ended | Polled::Ready(FeedItem::Break(BreakReason::SourceEnded)) => break,
                        Polled::Ready(FeedItem::Item(LiveItem::Config(config))) => {
                            if publisher.is_none() {
                                let p = Publisher::announce(&url, &config, RtspOptions::default())
                                    .with_context(|| format!("stream {n}"))?;
                                publisher = Some(p);
                            }
                        }
                        Polled::Ready(FeedItem::Item(LiveItem::Packet(packet))) => {
                            if let Some(p) = publisher.as_mut() {
                                p.send(&packet).with_context(|| format!("stream {n}"))?;
                            }
                        }
                    }
                }
                let stats = publisher.as_ref().map(Publisher::stats).unwrap_or_default();
                if let Some(p) = publisher {
                    p.teardown().with_context(|| format!("stream {n}: TEARDOWN"))?;
                }
                Ok(stats)
            })
        })
        .collect::<std::io::Result<_>>()
        .context("cannot start the publishing threads")?;
    let mut totals = PublishStats::default();
    let mut failures = Vec::new();
    for (i, thread) in threads.into_iter().enumerate() {
        match thread.join() {
            Ok(Ok(stats)) => {
                totals.access_units += stats.access_units;
                totals.rtp_packets += stats.rtp_packets;
                totals.rtp_bytes += stats.rtp_bytes;
            }
            Ok(Err(e)) => failures.push(format!("{e:#}")),
            Err(_) => failures.push(format!("stream {}: the thread panicked", i + 1)),
        }
    }
    pump.stop();
    pump.join().with_context(|| format!("reading {}", args.input.display()))?;
    let seconds = started.elapsed().as_secs_f64();
    if !args.quiet {
        eprintln!(
            "ifc publish: {} stream(s), {} pictures, {} RTP packets, {:.1} Mbit/s in {seconds:.1} s",
            args.streams,
            totals.access_units,
            totals.rtp_packets,
            totals.rtp_bytes as f64 * 8.0 / seconds.max(1e-9) / 1e6,
        );
    }
    if !failures.is_empty() {
        bail!("{} of {} streams failed:\n  {}", failures.len(), args.streams, failures.join("\n  "));
    }
    Ok(())
}
