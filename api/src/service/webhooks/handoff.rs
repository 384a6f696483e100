//! Deliveries passed from the sequencer to this process's dispatcher in
//! memory.
//!
//! The sequencer's round queues every new delivery as a row, so none is ever
//! lost. Up to the dispatcher's room, it writes those rows already leased to
//! this process and hands them over with their event. The dispatcher then
//! sends them without leasing them itself: no read of what is due, no lease
//! `UPDATE`, no read of the events. On SQLite each lease was a write that
//! took every writer's turn, the requests' included (BENCHMARKS.md, events).
//!
//! A handed-over row is a leased row like any other. If the process ends
//! before sending it, its lease runs out and any process sends it, as after
//! a crash mid-attempt. Its lease is longer than one taken by
//! [`super::deliveries::lease_due`] by the time it may wait here, so the
//! attempt that takes it still has a whole lease. One that waited longer
//! (slow receivers hold every place of the dispatcher) is not sent: the
//! dispatcher releases its lease in the database, for any process to take.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use entity::{event, webhook_delivery};

/// Most deliveries leased in rounds and not yet taken by the dispatcher:
/// what it sends in under a second to receivers that answer at once.
pub const ROOM: usize = 256;

/// A delivery queued and leased in a sequencer round, with its event.
#[derive(Debug)]
pub struct Handed {
    pub delivery: webhook_delivery::Model,
    pub event: Arc<event::Model>,
}

/// The process's in-memory queue between the sequencer and the dispatcher.
/// Closed until a dispatcher opens it, so a process without one leases
/// nothing it would not send.
#[derive(Debug)]
pub struct Handoff {
    /// Deliveries a round may still lease: [`ROOM`] less those reserved by a
    /// round in progress or waiting in `waiting`, open or closed alike.
    room: AtomicUsize,
    /// The dispatcher's lease while it has the handoff open; `None` is
    /// closed.
    lease: Mutex<Option<Duration>>,
    waiting: Mutex<VecDeque<Handed>>,
}

impl Default for Handoff {
    fn default() -> Self {
        Handoff {
            room: AtomicUsize::new(ROOM),
            lease: Mutex::new(None),
            waiting: Mutex::new(VecDeque::new()),
        }
    }
}

impl Handoff {
    /// Called by the dispatcher when it starts: from now on rounds lease
    /// their deliveries for `lease` and hand them over, until the returned
    /// guard is dropped (the dispatcher stopped): then the handoff closes,
    /// and what waits in it is left to its leases.
    pub fn open(&self, lease: Duration) -> Opened<'_> {
        *lock(&self.lease) = Some(lease);
        Opened(self)
    }

    /// Takes room for up to `want` deliveries queued at `at`; what the
    /// round does not hand over returns to the room when the reservation is
    /// dropped (the round failed, or it queued fewer).
    pub fn reserve(&self, want: usize, at: DateTime<Utc>) -> Reservation<'_> {
        let lease = if want == 0 { None } else { *lock(&self.lease) };
        let Some(lease) = lease else {
            // Nothing wanted, or closed: no holder drawn for rows never
            // written.
            return Reservation {
                handoff: self,
                count: 0,
                lease_id: Uuid::nil(),
                until: at,
            };
        };
        let count = self
            .room
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |room| {
                Some(room - room.min(want))
            })
            .map_or(0, |room| room.min(want));
        Reservation {
            handoff: self,
            count,
            lease_id: crate::service::new_id(),
            until: at + lease,
        }
    }

    /// Up to `max` handed-over deliveries, oldest first, whose lease still
    /// outlasts `attempt` from `now` (ready), and those looked at on the way
    /// whose lease no longer does (late: the caller releases them).
    pub fn take(&self, max: usize, now: DateTime<Utc>, attempt: Duration) -> Taken {
        let mut taken = Taken::default();
        let mut freed = 0;
        {
            let mut waiting = lock(&self.waiting);
            while taken.ready.len() < max {
                let Some(handed) = waiting.pop_front() else {
                    break;
                };
                freed += 1;
                if handed
                    .delivery
                    .lease_until
                    .is_some_and(|until| until - now > attempt)
                {
                    taken.ready.push(handed);
                } else {
                    taken.late.push(handed.delivery);
                }
            }
        }
        self.room.fetch_add(freed, Ordering::AcqRel);
        taken
    }

    /// Deliveries waiting to be taken.
    #[cfg(test)]
    fn waiting(&self) -> usize {
        lock(&self.waiting).len()
    }
}

/// What [`Handoff::take`] found.
#[derive(Debug, Default)]
pub struct Taken {
    pub ready: Vec<Handed>,
    pub late: Vec<webhook_delivery::Model>,
}

/// The handoff open for one dispatcher; dropped, it closes the handoff.
#[must_use = "dropped, it closes the handoff"]
pub struct Opened<'a>(&'a Handoff);

impl Drop for Opened<'_> {
    fn drop(&mut self) {
        *lock(&self.0.lease) = None;
        let dropped = std::mem::take(&mut *lock(&self.0.waiting)).len();
        self.0.room.fetch_add(dropped, Ordering::AcqRel);
    }
}

/// Room taken by one round for the deliveries it leases.
#[must_use = "dropped, it gives its room back"]
#[derive(Debug)]
pub struct Reservation<'a> {
    handoff: &'a Handoff,
    /// Deliveries this round may lease.
    pub count: usize,
    /// The lease's holder, as in `webhook_deliveries.leased_by`.
    pub lease_id: Uuid,
    /// When the lease runs out.
    pub until: DateTime<Utc>,
}

impl Reservation<'_> {
    /// Hands the round's leased deliveries to the dispatcher, once their
    /// rows are committed.
    pub fn hand_over(mut self, mut handed: Vec<Handed>) {
        handed.truncate(self.count);
        self.count -= handed.len();
        lock(&self.handoff.waiting).extend(handed);
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        self.handoff.room.fetch_add(self.count, Ordering::AcqRel);
    }
}

/// A poisoned lock still holds consistent data here: every critical section
/// is a single push, pop or replace.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A delivery of one (nil) event to `endpoint`, handed over with a lease
    /// until `until`.
    pub(in crate::service::webhooks) fn handed_to(endpoint: Uuid, until: DateTime<Utc>) -> Handed {
        let at = crate::service::now();
        Handed {
            delivery: crate::service::webhooks::deliveries::pending(
                endpoint,
                Uuid::nil(),
                at,
                Some((until, Uuid::nil())),
            ),
            event: Arc::new(event::Model {
                id: Uuid::nil(),
                sequence: Some(1),
                change_id: Uuid::nil(),
                event_type: "ORDER_CREATED".into(),
                occurred_at: at,
                subject_type: "order".into(),
                subject_id: Uuid::nil(),
                actor_id: None,
                source: "API".into(),
                data: "{}".into(),
            }),
        }
    }

    fn handed(until: DateTime<Utc>) -> Handed {
        handed_to(Uuid::nil(), until)
    }

    #[test]
    fn a_closed_handoff_leases_nothing() {
        let handoff = Handoff::default();
        let r = handoff.reserve(10, crate::service::now());
        assert_eq!(r.count, 0);
    }

    #[test]
    fn the_room_bounds_what_rounds_lease_and_comes_back_when_taken() {
        let handoff = Handoff::default();
        let lease = Duration::seconds(25);
        let _open = handoff.open(lease);
        let _again = handoff.open(lease); // twice: the room is not doubled
        let now = crate::service::now();

        let first = handoff.reserve(ROOM - 6, now);
        assert_eq!(first.count, ROOM - 6);
        assert_eq!(first.until, now + lease);
        let second = handoff.reserve(10, now);
        assert_eq!(second.count, 6, "only what is left");
        assert_eq!(handoff.reserve(1, now).count, 0, "full");

        // The first round hands over 4 of its room; the rest comes back.
        first.hand_over((0..4).map(|_| handed(now + lease)).collect());
        assert_eq!(handoff.waiting(), 4);
        drop(second); // a failed round: all of its room comes back
        assert_eq!(handoff.reserve(ROOM, now).count, ROOM - 4);

        // Taking them frees their room.
        assert_eq!(handoff.take(3, now, Duration::seconds(15)).ready.len(), 3);
        assert_eq!(handoff.waiting(), 1);
        assert_eq!(handoff.reserve(ROOM, now).count, ROOM - 1);
    }

    #[test]
    fn a_delivery_whose_lease_would_not_outlast_its_attempt_is_handed_back_as_late() {
        let handoff = Handoff::default();
        let _open = handoff.open(Duration::seconds(25));
        let now = crate::service::now();
        let r = handoff.reserve(3, now);
        r.hand_over(vec![
            handed(now + Duration::seconds(10)), // too late for a 15 s attempt
            handed(now + Duration::seconds(25)),
            handed(now + Duration::seconds(16)),
        ]);
        let taken = handoff.take(10, now, Duration::seconds(15));
        let untils = |rows: Vec<&webhook_delivery::Model>| -> Vec<_> {
            rows.iter().map(|d| d.lease_until).collect()
        };
        assert_eq!(
            untils(taken.ready.iter().map(|h| &h.delivery).collect()),
            vec![
                Some(now + Duration::seconds(25)),
                Some(now + Duration::seconds(16))
            ]
        );
        assert_eq!(
            untils(taken.late.iter().collect()),
            vec![Some(now + Duration::seconds(10))],
            "the late one, for its lease to be released"
        );
        assert_eq!(handoff.waiting(), 0);
        assert_eq!(handoff.reserve(ROOM + 1, now).count, ROOM, "all room back");
    }

    #[test]
    fn a_stopped_dispatcher_closes_the_handoff() {
        let handoff = Handoff::default();
        let open = handoff.open(Duration::seconds(25));
        let now = crate::service::now();
        handoff
            .reserve(2, now)
            .hand_over(vec![handed(now + Duration::seconds(25))]);
        assert_eq!(handoff.waiting(), 1);
        drop(open);
        assert_eq!(handoff.waiting(), 0, "left to its lease");
        assert_eq!(handoff.reserve(5, now).count, 0, "nothing leased any more");
        // Opened again, it has its whole room, not more.
        let _open = handoff.open(Duration::seconds(25));
        assert_eq!(handoff.reserve(ROOM + 1, now).count, ROOM);
    }
}
