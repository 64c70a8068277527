//! [`DamageGate`]: holds decoded pictures until the damage they may have inherited is known,
//! then releases them in display order with their verdict.
//!
//! Every access unit given to the decoder leaves a record (decode order). A record is
//! *settled* once its own damage is final: its picture came out of the backend (flagged or
//! not), it was never decoded, or it is given up as lost. A picture is released once every
//! reference picture decoded before it that could have damaged it is settled.

use std::collections::VecDeque;

use super::{Damage, PictureClass, PictureFacts};

/// A reference picture that has not come out after this many later-decoded pictures did is
/// taken as lost (never decoded): twice the largest reordering H.264/H.265 allow (16 frames).
const LOST_AFTER_LATER_PICTURES: u32 = 32;

#[derive(Debug)]
struct Record {
    index: u64,
    period: u64,
    class: PictureClass,
    reference: bool,
    inter: bool,
    own: Option<Damage>,
    settled: bool,
    /// Pictures decoded after this one that came out while it had not.
    later_outputs: u32,
}

/// Damage spreading from packet `source` to the predicted pictures of one period and class
/// decoded from packet `from` on.
#[derive(Debug, Clone, Copy)]
struct Taint {
    period: u64,
    class: PictureClass,
    from: u64,
    source: u64,
}

#[derive(Debug)]
struct Held<T> {
    index: Option<u64>,
    backend_damaged: bool,
    picture: T,
}

#[derive(Debug)]
pub(crate) struct DamageGate<T> {
    /// Counts key pictures: each starts a period of prediction.
    period: u64,
    records: VecDeque<Record>,
    taints: Vec<Taint>,
    held: VecDeque<Held<T>>,
    released: VecDeque<(T, Option<Damage>)>,
}

impl<T> DamageGate<T> {
    pub(crate) fn new() -> Self {
        Self {
            period: 0,
            records: VecDeque::new(),
            taints: Vec::new(),
            held: VecDeque::new(),
            released: VecDeque::new(),
        }
    }

    /// An access unit in decode order; `decoded`: the backend was given it.
    pub(crate) fn admit(&mut self, index: u64, facts: &PictureFacts, decoded: bool) {
        if facts.second_field {
            // Both fields come out as one frame, under the first field's packet.
            if let Some(first) = self.records.back_mut() {
                first.reference |= facts.reference;
                let newly_damaged = first.own.is_none() && facts.damage.is_some();
                if newly_damaged {
                    first.own = facts.damage.clone();
                }
                let (period, class, first_index, reference) = (first.period, first.class, first.index, first.reference);
                if facts.references_missing {
                    self.taint(period, class, index, index);
                }
                if reference && newly_damaged {
                    self.taint(period, class, first_index + 1, first_index);
                }
                return;
            }
        }
        if facts.key {
            self.period += 1;
        }
        let own = if decoded { facts.damage.clone() } else { Some(Damage::NotDecoded) };
        let record = Record {
            index,
            period: self.period,
            class: facts.class,
            reference: facts.reference,
            inter: facts.inter,
            own,
            // A picture the backend never outputs has only the damage known now.
            settled: !decoded || !facts.output,
            later_outputs: 0,
        };
        if facts.references_missing {
            self.taint(record.period, record.class, index, index);
        }
        if record.reference && record.own.is_some() {
            self.taint(record.period, record.class, index + 1, index);
        }
        self.records.push_back(record);
        self.release();
    }

    /// A picture out of the backend, in display order. `picture` is `None` when the caller
    /// dropped it (the record still learns what the backend said).
    pub(crate) fn picture(&mut self, index: Option<u64>, backend_damaged: bool, picture: Option<T>) {
        if let Some(index) = index {
            self.settle(index, backend_damaged.then_some(Damage::Concealed));
            let overdue: Vec<u64> = self
                .records
                .iter_mut()
                .filter(|r| !r.settled && r.index < index)
                .filter_map(|r| {
                    r.later_outputs += 1;
                    (r.later_outputs >= LOST_AFTER_LATER_PICTURES).then_some(r.index)
                })
                .collect();
            for lost in overdue {
                self.settle(lost, Some(Damage::NotDecoded));
            }
        }
        if let Some(picture) = picture {
            self.held.push_back(Held { index, backend_damaged, picture });
        }
        self.release();
    }

    /// Nothing more comes out of what the backend was given: whatever did not is lost.
    pub(crate) fn drain(&mut self) {
        let pending: Vec<u64> = self.records.iter().filter(|r| !r.settled).map(|r| r.index).collect();
        for index in pending {
            self.settle(index, Some(Damage::NotDecoded));
        }
        self.release();
    }

    pub(crate) fn pull(&mut self) -> Option<(T, Option<Damage>)> {
        self.released.pop_front()
    }

    fn record(&self, index: u64) -> Option<&Record> {
        self.records.iter().find(|r| r.index == index)
    }

    fn settle(&mut self, index: u64, damage: Option<Damage>) {
        let Some(record) = self.records.iter_mut().find(|r| r.index == index) else { return };
        record.settled = true;
        let Some(damage) = damage else { return };
        let newly_damaged = record.own.is_none();
        record.own.get_or_insert(damage);
        let (period, class, reference) = (record.period, record.class, record.reference);
        if reference && newly_damaged {
            self.taint(period, class, index + 1, index);
        }
    }

    fn taint(&mut self, period: u64, class: PictureClass, from: u64, source: u64) {
        match self.taints.iter_mut().find(|t| t.period == period && t.class == class) {
            Some(t) if t.from <= from => {}
            Some(t) => *t = Taint { period, class, from, source },
            None => self.taints.push(Taint { period, class, from, source }),
        }
    }

    /// Releases held pictures from the front while their verdicts are known.
    fn release(&mut self) {
        while let Some(front) = self.held.front() {
            let record = front.index.and_then(|i| self.record(i));
            if record.is_some_and(|r| self.waits(r)) {
                break;
            }
            let damage = if front.backend_damaged {
                Some(Damage::Concealed)
            } else {
                record.and_then(|r| r.own.clone().or_else(|| self.inherited(r)))
            };
            if let Some(held) = self.held.pop_front() {
                self.released.push_back((held.picture, damage));
            }
        }
        self.forget();
    }

    /// Could a reference picture of `from`'s period and class have been used by `to`?
    /// H.265 7.4.3/8.1.3: trailing pictures use neither kind of leading picture, RADL pictures
    /// use no RASL picture, and only RASL pictures reach into the period before.
    fn may_use(to: &Record, from_period: u64, from_class: PictureClass) -> bool {
        use PictureClass::{Main, Radl, Rasl};
        if from_period + 1 == to.period {
            return to.class == Rasl;
        }
        from_period == to.period
            && match to.class {
                Main => from_class == Main,
                Radl => from_class != Rasl,
                Rasl => true,
            }
    }

    /// Must `r` wait for a reference picture decoded before it to settle?
    fn waits(&self, r: &Record) -> bool {
        r.inter
            && self
                .records
                .iter()
                .take_while(|o| o.index < r.index)
                .any(|o| !o.settled && o.reference && Self::may_use(r, o.period, o.class))
    }

    fn inherited(&self, r: &Record) -> Option<Damage> {
        if !r.inter {
            return None;
        }
        self.taints
            .iter()
            .find(|t| t.from <= r.index && Self::may_use(r, t.period, t.class))
            .map(|t| Damage::Inherited { packet_index: t.source })
    }

    /// Drops records no held picture can need, and taints of periods no record is in.
    fn forget(&mut self) {
        let oldest_held = self.held.iter().filter_map(|h| h.index).min();
        while self.records.front().is_some_and(|r| r.settled && oldest_held.is_none_or(|h| r.index < h)) {
            self.records.pop_front();
        }
        // RASL pictures reach one period back; pictures still held may be a period older.
        let oldest_period = self.records.front().map_or(self.period, |r| r.period).saturating_sub(2);
        self.taints.retain(|t| t.period >= oldest_period);
    }
}
