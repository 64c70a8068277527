//! The slot ring of a CUDA shared-memory region: which slots preprocessing may write and
//! which the server may still be reading. Ownership is carried by tokens: a [`Slot`] may be
//! written, a [`ReadySlot`] has finished its kernel (only obtainable by waiting), an
//! [`InFlightSlot`] belongs to a request whose response has not arrived. A slot returns to
//! the ring only when its token is dropped, so a region slot cannot be reused before its
//! response arrives.

use std::sync::{Arc, Mutex, PoisonError};

#[derive(Debug)]
struct RingState {
    busy: Vec<bool>,
    next: usize,
}

/// A fixed number of equally sized slots handed out round-robin.
#[derive(Debug, Clone)]
pub struct SlotRing {
    state: Arc<Mutex<RingState>>,
}

fn free(state: &Mutex<RingState>, index: usize) {
    let mut s = state.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(busy) = s.busy.get_mut(index) {
        *busy = false;
    }
}

/// A slot nobody else reads: preprocessing writes the batch here.
#[derive(Debug)]
pub struct Slot {
    state: Arc<Mutex<RingState>>,
    index: usize,
}

/// A slot whose kernel has finished: its bytes are final and a request may point at them.
#[derive(Debug)]
pub struct ReadySlot(Slot);

/// A slot a sent request points at; drop it (or call [`InFlightSlot::response_arrived`]) only
/// once the server's response (or the RPC's error) has arrived.
#[derive(Debug)]
pub struct InFlightSlot(Slot);

impl Drop for Slot {
    fn drop(&mut self) {
        free(&self.state, self.index);
    }
}

impl SlotRing {
    pub fn new(slots: usize) -> Self {
        Self { state: Arc::new(Mutex::new(RingState { busy: vec![false; slots], next: 0 })) }
    }

    pub fn len(&self) -> usize {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).busy.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The next free slot after the last one handed out, or `None` while all are taken
    /// (the caller waits for a response first).
    pub fn acquire(&self) -> Option<Slot> {
        let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let n = s.busy.len();
        let index = (0..n).map(|k| (s.next + k) % n).find(|&i| !s.busy[i])?;
        s.busy[index] = true;
        s.next = (index + 1) % n;
        Some(Slot { state: self.state.clone(), index })
    }

    /// Slots currently taken (being written, ready, or in flight).
    pub fn taken(&self) -> usize {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).busy.iter().filter(|&&b| b).count()
    }
}

impl Slot {
    pub fn index(&self) -> usize {
        self.index
    }

    /// Waits for the work that writes this slot (e.g. `PreprocessDone::wait`), then marks it
    /// ready. On error the slot stays writable (the caller may retry or drop it).
    pub fn ready_after<E>(self, wait: impl FnOnce() -> Result<(), E>) -> Result<ReadySlot, (Self, E)> {
        match wait() {
            Ok(()) => Ok(ReadySlot(self)),
            Err(e) => Err((self, e)),
        }
    }
}

impl ReadySlot {
    pub fn index(&self) -> usize {
        self.0.index
    }

    /// The request pointing at this slot is being sent.
    // Called by the CUDA shared-memory region (feature `cuda`) and the tests.
    #[cfg_attr(not(feature = "cuda"), allow(dead_code))]
    pub(crate) fn send(self) -> InFlightSlot {
        InFlightSlot(self.0)
    }
}

impl InFlightSlot {
    pub fn index(&self) -> usize {
        self.0.index
    }

    /// The response arrived: the slot goes back to the ring.
    pub fn response_arrived(self) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ready(slot: Slot) -> ReadySlot {
        slot.ready_after(|| Ok::<(), ()>(())).expect("no error")
    }

    #[test]
    fn slots_go_round_robin_and_run_out_while_in_flight() {
        let ring = SlotRing::new(3);
        let a = ring.acquire().expect("free");
        let b = ring.acquire().expect("free");
        let c = ring.acquire().expect("free");
        assert_eq!((a.index(), b.index(), c.index()), (0, 1, 2));
        assert!(ring.acquire().is_none(), "all three taken");
        let in_flight = ready(b).send();
        assert!(ring.acquire().is_none(), "in flight is still taken");
        in_flight.response_arrived();
        assert_eq!(ring.taken(), 2);
        assert_eq!(ring.acquire().map(|s| s.index()), Some(1), "the one whose response arrived");
    }

    #[test]
    fn a_failed_wait_keeps_the_slot_and_a_dropped_one_is_freed() {
        let ring = SlotRing::new(2);
        let slot = ring.acquire().expect("free");
        let (slot, err) = slot.ready_after(|| Err("kernel failed")).expect_err("wait failed");
        assert_eq!(err, "kernel failed");
        assert_eq!(ring.taken(), 1, "still owned by the caller");
        drop(slot);
        assert_eq!(ring.taken(), 0);
    }

    #[test]
    fn next_acquire_starts_after_the_last_slot_handed_out() {
        let ring = SlotRing::new(4);
        for expected in [0, 1, 2, 3, 0, 1] {
            let slot = ring.acquire().expect("free");
            assert_eq!(slot.index(), expected);
        }
        assert!(SlotRing::new(0).acquire().is_none());
    }
}
