//! A bounded queue between a decode thread and its consumer, which either blocks the
//! producer or drops the oldest item when full. It never holds more than its capacity.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// What a full frame queue does with a new frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueuePolicy {
    /// Drop the oldest queued frame (and count it): inference consumers want the newest.
    #[default]
    DropOldest,
    /// Wait for the consumer. Packets keep queueing in front of the decoder meanwhile.
    Block,
}

pub(crate) struct BoundedQueue<T> {
    capacity: usize,
    policy: QueuePolicy,
    state: Mutex<QueueState<T>>,
    not_empty: Condvar,
    not_full: Condvar,
    dropped: AtomicU64,
}

struct QueueState<T> {
    items: VecDeque<T>,
    producer_done: bool,
    consumer_gone: bool,
}

/// What became of a pushed item.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Pushed<T> {
    Queued,
    /// Queued after evicting this, the oldest item.
    QueuedDroppingOldest(T),
    /// The consumer is gone; the item is handed back.
    ConsumerGone(T),
}

impl<T> BoundedQueue<T> {
    /// `capacity` must be at least 1.
    pub(crate) fn new(capacity: usize, policy: QueuePolicy) -> Self {
        Self {
            capacity,
            policy,
            state: Mutex::new(QueueState {
                items: VecDeque::with_capacity(capacity),
                producer_done: false,
                consumer_gone: false,
            }),
            not_empty: Condvar::new(),
            not_full: Condvar::new(),
            dropped: AtomicU64::new(0),
        }
    }

    // A panic on the other side must not take this side down: the queue's state is valid
    // after any interrupted operation, so a poisoned lock is simply taken over.
    fn lock(&self) -> MutexGuard<'_, QueueState<T>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn push(&self, item: T) -> Pushed<T> {
        let mut state = self.lock();
        loop {
            if state.consumer_gone {
                return Pushed::ConsumerGone(item);
            }
            if state.items.len() < self.capacity {
                state.items.push_back(item);
                self.not_empty.notify_one();
                return Pushed::Queued;
            }
            match self.policy {
                QueuePolicy::DropOldest => {
                    let oldest = state.items.pop_front();
                    state.items.push_back(item);
                    self.dropped.fetch_add(1, Ordering::Relaxed);
                    self.not_empty.notify_one();
                    return match oldest {
                        Some(oldest) => Pushed::QueuedDroppingOldest(oldest),
                        None => Pushed::Queued,
                    };
                }
                QueuePolicy::Block => state = self.not_full.wait(state).unwrap_or_else(PoisonError::into_inner),
            }
        }
    }

    /// Waits for an item; `None` once the producer is done and the queue is empty.
    pub(crate) fn pop(&self) -> Option<T> {
        let mut state = self.lock();
        loop {
            if let Some(item) = state.items.pop_front() {
                self.not_full.notify_one();
                return Some(item);
            }
            if state.producer_done {
                return None;
            }
            state = self.not_empty.wait(state).unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Like [`Self::pop`], giving up after `timeout`.
    pub(crate) fn pop_timeout(&self, timeout: Duration) -> Option<T> {
        let state = self.lock();
        let (mut state, _) = self
            .not_empty
            .wait_timeout_while(state, timeout, |s| s.items.is_empty() && !s.producer_done)
            .unwrap_or_else(PoisonError::into_inner);
        let item = state.items.pop_front();
        if item.is_some() {
            self.not_full.notify_one();
        }
        item
    }

    pub(crate) fn try_pop(&self) -> Option<T> {
        let item = self.lock().items.pop_front();
        if item.is_some() {
            self.not_full.notify_one();
        }
        item
    }

    pub(crate) fn close_producer(&self) {
        self.lock().producer_done = true;
        self.not_empty.notify_all();
    }

    /// Drops what is queued and refuses more; a blocked producer wakes up.
    pub(crate) fn close_consumer(&self) {
        let items = {
            let mut state = self.lock();
            state.consumer_gone = true;
            std::mem::take(&mut state.items)
        };
        self.not_full.notify_all();
        drop(items);
    }

    pub(crate) fn is_consumer_gone(&self) -> bool {
        self.lock().consumer_gone
    }

    pub(crate) fn is_finished(&self) -> bool {
        let state = self.lock();
        state.producer_done && state.items.is_empty()
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().items.len()
    }

    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn drop_oldest_keeps_the_newest_and_counts() {
        let q = BoundedQueue::new(3, QueuePolicy::DropOldest);
        for i in 0..10 {
            let pushed = q.push(i);
            assert!(q.len() <= 3);
            assert_eq!(pushed, if i < 3 { Pushed::Queued } else { Pushed::QueuedDroppingOldest(i - 3) });
        }
        assert_eq!(q.dropped(), 7);
        q.close_producer();
        assert_eq!(std::iter::from_fn(|| q.pop()).collect::<Vec<_>>(), [7, 8, 9]);
        assert!(q.is_finished());
    }

    #[test]
    fn block_waits_for_the_consumer_and_loses_nothing() {
        let q = Arc::new(BoundedQueue::new(2, QueuePolicy::Block));
        let producer = {
            let q = Arc::clone(&q);
            std::thread::spawn(move || {
                for i in 0..100 {
                    assert_eq!(q.push(i), Pushed::Queued);
                    assert!(q.len() <= 2);
                }
                q.close_producer();
            })
        };
        let got: Vec<i32> = std::iter::from_fn(|| q.pop()).collect();
        producer.join().unwrap();
        assert_eq!(got, (0..100).collect::<Vec<_>>());
        assert_eq!(q.dropped(), 0);
    }

    #[test]
    fn a_gone_consumer_unblocks_the_producer() {
        let q = Arc::new(BoundedQueue::new(1, QueuePolicy::Block));
        assert_eq!(q.push(1), Pushed::Queued);
        let producer = {
            let q = Arc::clone(&q);
            std::thread::spawn(move || q.push(2))
        };
        q.close_consumer();
        assert_eq!(producer.join().unwrap(), Pushed::ConsumerGone(2));
        assert_eq!(q.len(), 0);
    }

    #[test]
    fn pop_timeout_gives_up_and_still_sees_items() {
        let q = BoundedQueue::new(1, QueuePolicy::Block);
        assert_eq!(q.pop_timeout(Duration::from_millis(5)), None);
        assert_eq!(q.push(4), Pushed::Queued);
        assert_eq!(q.pop_timeout(Duration::from_millis(5)), Some(4));
        assert_eq!(q.try_pop(), None);
    }
}
