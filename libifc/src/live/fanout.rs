//! [`Fanout`]: one source's configurations and packets shared with any number of consumers
//! (inspection, recording, distribution), none of which can slow the source or each other.
//!
//! ```text
//! publisher (RTSP pull or push session, WHIP) ─send─▶ ring of the last `capacity` items
//!                                                      ├─▶ Subscription (inspection thread)
//!                                                      ├─▶ Subscription (recorder)
//!                                                      └─▶ …
//! ```
//!
//! - Items are [`LiveItem`]s: the packet payloads are `Bytes`, shared, never copied.
//! - Sending never waits. A subscriber that falls more than `capacity` items behind loses the
//!   oldest ones and is told so ([`FeedItem::Break`] with [`BreakReason::Lagged`]); it then
//!   resumes at the next key packet, so what it gets always decodes.
//! - A subscriber joining mid-stream gets the current configuration first, then packets from
//!   the next key packet on.
//! - One publisher at a time ([`Fanout::publisher`]). When it goes (dropped), subscribers get
//!   [`BreakReason::SourceEnded`]; a later publisher's stream follows with its own
//!   configuration. Subscribers outlive publishers: a camera that reconnects is one feed.
//! - A subscriber that joins a live session, or falls behind, waits for a key packet: the feed
//!   then wants a key frame ([`FanoutPublisher::take_keyframe_request`]), which a publisher that
//!   can ask its source for one (WHIP: a PLI) should; RTSP cameras send them on their own.
//! - Blocking `std` primitives and no runtime: the service's threads and libifc's threads both
//!   wait on it with a deadline.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use crate::codec::DecoderConfig;
use crate::remux::LiveItem;
use crate::rtsp::Polled;

/// Why a subscriber's stream has a discontinuity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakReason {
    /// The publisher went away (a session ended); the next one starts with a configuration.
    SourceEnded,
    /// This subscriber fell behind and lost `items` items.
    Lagged { items: u64 },
}

/// What a subscriber receives.
#[derive(Debug, Clone)]
pub enum FeedItem {
    Item(LiveItem),
    /// A discontinuity: whatever depended on earlier packets (a decoder's references, an open
    /// segment) ends here. Packets after it start at a key packet.
    Break(BreakReason),
}

/// The publisher slot is taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the feed already has a publisher")]
pub struct FanoutBusy;

/// Counts and state of a feed, readable any time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FanoutStats {
    pub publishing: bool,
    /// Publishers so far (sessions).
    pub sessions: u64,
    pub items_sent: u64,
    pub packets_sent: u64,
    pub bytes_sent: u64,
    /// When the last item was sent (stall detection).
    pub last_item_at: Option<Instant>,
}

#[derive(Debug, Clone)]
enum Slot {
    Item(LiveItem),
    SourceEnded,
}

/// A slot and when it was sent.
struct Sent {
    slot: Slot,
    at: Instant,
}

struct State {
    /// `ring[0]` has sequence number `first_seq`.
    ring: VecDeque<Sent>,
    first_seq: u64,
    /// The configuration of the current session (given to subscribers joining late).
    config: Option<DecoderConfig>,
    stats: FanoutStats,
    closed: bool,
    /// Subscribers blocked in [`Subscription::poll`]: a send wakes them only when there are
    /// some (a notification is a system call even with nobody waiting, at every packet).
    waiting: usize,
    /// A subscriber waits for a key packet (joined mid-session, fell behind, or asked).
    keyframe_wanted: bool,
}

impl State {
    fn next_seq(&self) -> u64 {
        self.first_seq + self.ring.len() as u64
    }
}

struct Inner {
    capacity: usize,
    state: Mutex<State>,
    wake: Condvar,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn push(&self, slot: Slot) {
        let mut state = self.lock();
        if state.ring.len() == self.capacity {
            state.ring.pop_front();
            state.first_seq += 1;
        }
        match &slot {
            Slot::Item(LiveItem::Config(config)) => state.config = Some(config.clone()),
            Slot::Item(LiveItem::Packet(packet)) => {
                state.stats.packets_sent += 1;
                state.stats.bytes_sent += packet.data.len() as u64;
            }
            Slot::SourceEnded => state.config = None,
        }
        let at = Instant::now();
        if let Slot::Item(_) = slot {
            state.stats.items_sent += 1;
            state.stats.last_item_at = Some(at);
        }
        state.ring.push_back(Sent { slot, at });
        let anyone_waiting = state.waiting > 0;
        drop(state);
        if anyone_waiting {
            self.wake.notify_all();
        }
    }
}

/// See the module docs. Cloning shares the feed.
#[derive(Clone)]
pub struct Fanout {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Fanout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fanout").field("capacity", &self.inner.capacity).field("stats", &self.stats()).finish()
    }
}

impl Fanout {
    /// A feed keeping the last `capacity` items (at least 2) for subscribers that fall behind:
    /// a few seconds of packets is plenty (a subscriber further behind is broken anyway).
    pub fn new(capacity: usize) -> Self {
        let state = State {
            ring: VecDeque::new(),
            first_seq: 0,
            config: None,
            stats: FanoutStats::default(),
            closed: false,
            waiting: 0,
            keyframe_wanted: false,
        };
        Self { inner: Arc::new(Inner { capacity: capacity.max(2), state: Mutex::new(state), wake: Condvar::new() }) }
    }

    /// Takes the publisher slot, or [`FanoutBusy`] while another publisher holds it.
    pub fn publisher(&self) -> Result<FanoutPublisher, FanoutBusy> {
        let mut state = self.inner.lock();
        if state.stats.publishing {
            return Err(FanoutBusy);
        }
        state.stats.publishing = true;
        state.stats.sessions += 1;
        Ok(FanoutPublisher { inner: Arc::clone(&self.inner) })
    }

    /// A new consumer: the current configuration first (if a session is live), then every
    /// item from the next key packet on.
    pub fn subscribe(&self) -> Subscription {
        let mut state = self.inner.lock();
        state.keyframe_wanted |= state.stats.publishing;
        let pending = state.config.clone().map(|c| FeedItem::Item(LiveItem::Config(c)));
        Subscription {
            inner: Arc::clone(&self.inner),
            next_seq: state.next_seq(),
            pending,
            wait_for_key: true,
            lost_items: 0,
            sent_at: None,
        }
    }

    pub fn stats(&self) -> FanoutStats {
        self.inner.lock().stats.clone()
    }

    /// Asks the publisher for a key frame (a consumer outside the feed, like a WebRTC viewer,
    /// needs one to start).
    pub fn request_keyframe(&self) {
        self.inner.lock().keyframe_wanted = true;
    }

    /// Ends the feed: subscribers drain what is buffered, then see [`Polled::Ended`].
    pub fn close(&self) {
        self.inner.lock().closed = true;
        self.inner.wake.notify_all();
    }
}

/// The one sender of a feed; dropping it ends the session ([`BreakReason::SourceEnded`]).
pub struct FanoutPublisher {
    inner: Arc<Inner>,
}

impl FanoutPublisher {
    /// Hands `item` to every subscriber; never waits.
    pub fn send(&self, item: LiveItem) {
        self.inner.push(Slot::Item(item));
    }

    /// Whether a subscriber has wanted a key frame since the last call (see the module docs).
    pub fn take_keyframe_request(&self) -> bool {
        std::mem::take(&mut self.inner.lock().keyframe_wanted)
    }
}

impl Drop for FanoutPublisher {
    fn drop(&mut self) {
        self.inner.push(Slot::SourceEnded);
        self.inner.lock().stats.publishing = false;
    }
}

/// One consumer's position in a feed.
pub struct Subscription {
    inner: Arc<Inner>,
    next_seq: u64,
    /// Delivered before anything from the ring (the configuration at join).
    pending: Option<FeedItem>,
    /// Packets are skipped until a key packet (at join, and after a break).
    wait_for_key: bool,
    lost_items: u64,
    sent_at: Option<Instant>,
}

impl Subscription {
    /// The next item, waiting until `until` at most ([`Polled::Pending`]); [`Polled::Ended`]
    /// once the feed is closed and drained.
    pub fn poll(&mut self, until: Instant) -> Polled<FeedItem> {
        if let Some(item) = self.pending.take() {
            return Polled::Ready(item);
        }
        let mut state = self.inner.lock();
        loop {
            if self.next_seq < state.first_seq {
                let items = state.first_seq - self.next_seq;
                self.next_seq = state.first_seq;
                self.lost_items += items;
                self.wait_for_key = true;
                state.keyframe_wanted = true;
                return Polled::Ready(FeedItem::Break(BreakReason::Lagged { items }));
            }
            let offset = usize::try_from(self.next_seq - state.first_seq).unwrap_or(usize::MAX);
            if let Some(Sent { slot, at }) = state.ring.get(offset) {
                self.next_seq += 1;
                self.sent_at = Some(*at);
                match slot {
                    Slot::SourceEnded => {
                        self.wait_for_key = true;
                        return Polled::Ready(FeedItem::Break(BreakReason::SourceEnded));
                    }
                    Slot::Item(LiveItem::Packet(p)) if self.wait_for_key && !p.is_key => continue,
                    Slot::Item(item) => {
                        if let LiveItem::Packet(_) = item {
                            self.wait_for_key = false;
                        }
                        return Polled::Ready(FeedItem::Item(item.clone()));
                    }
                }
            }
            if state.closed {
                return Polled::Ended;
            }
            let now = Instant::now();
            if now >= until {
                return Polled::Pending;
            }
            state.waiting += 1;
            state = self.inner.wake.wait_timeout(state, until - now).unwrap_or_else(PoisonError::into_inner).0;
            state.waiting -= 1;
        }
    }

    /// When the item [`Self::poll`] last returned from the feed was sent into it (`None`
    /// before any, and not updated by the configuration given at join): its arrival, for a
    /// subscriber that reads the feed some time after it was filled.
    pub fn sent_at(&self) -> Option<Instant> {
        self.sent_at
    }

    /// Items this subscriber lost by falling behind.
    pub fn lost_items(&self) -> u64 {
        self.lost_items
    }
}

#[cfg(test)]
#[path = "fanout_tests.rs"]
mod tests;
