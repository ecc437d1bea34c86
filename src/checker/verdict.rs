//! The verdict on a ring: given what every peer said of itself, is the ring
//! the shape it should be, and does every file have its copies?
//!
//! This is a pure function of the peers' answers, so it is tested with
//! made-up views, and the simulator runs it on its rings of real state
//! machines as well as `p2p ring` on real processes.
//!
//! A ring is consistent when:
//! - every peer that was asked answered, and is a member (not joining or
//!   leaving);
//! - each peer's successors are the next live peers after it, as many as it
//!   keeps (or all the others, in a smaller ring);
//! - each peer is the first successor of some peer;
//! - every key (0-255) has exactly one peer that answers for it, the peer
//!   whose arc, from its first predecessor to itself, holds the key;
//! - every file has as many copies as the peer responsible for it keeps
//!   (`--replicas`), and with files that follow the ring, that peer holds
//!   it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::message::{FilePolicy, Standing, View};
use crate::ring::{FileName, PeerId, is_in_arc, peers_in_words};

/// What one peer said of itself: its view and the ring's files it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerReport {
    pub view: View,
    /// The files it is responsible for, kept as `NNNN.pdf`.
    pub stored: Vec<FileName>,
    /// The replicas it keeps, as `replica_NNNN.pdf`.
    pub replicas: Vec<FileName>,
}

/// Everything a survey of the ring found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Observed {
    /// The peers that answered, by identity.
    pub answered: BTreeMap<PeerId, PeerReport>,
    /// Peers whose port took a connection but which sent no view in time:
    /// frozen, overloaded, or not a peer at all.
    pub silent: BTreeSet<PeerId>,
}

/// One way the ring is not what it should be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// The peer's port took the connection but no view came back.
    Silent { peer: PeerId, named_by: Vec<PeerId> },
    /// Peers name this one as a neighbour, but nothing listens on its port.
    Gone { peer: PeerId, named_by: Vec<PeerId> },
    /// The peer is joining or leaving, not a settled member.
    Unsettled { peer: PeerId, standing: Standing },
    /// The peer's successors are not the live peers that follow it.
    WrongSuccessors {
        peer: PeerId,
        has: Vec<PeerId>,
        expected: Vec<PeerId>,
    },
    /// No peer has this one as its first successor: no ping, join or store
    /// reaches it along the ring.
    Unreached { peer: PeerId },
    /// More than one peer answers for these keys.
    SharedKeys {
        first: u8,
        last: u8,
        peers: Vec<PeerId>,
    },
    /// No peer answers for these keys.
    UnownedKeys { first: u8, last: u8 },
    /// The file has fewer copies than the peer responsible for it keeps.
    TooFewCopies {
        file: FileName,
        holders: Vec<PeerId>,
        wanted: usize,
    },
    /// Files follow the ring, but the peer responsible for this file does
    /// not hold it as its own.
    NotAtResponsible {
        file: FileName,
        responsible: PeerId,
        holders: Vec<PeerId>,
    },
}

/// Finds every problem of the ring; none means it is consistent.
pub fn check(observed: &Observed) -> Vec<Problem> {
    let mut problems = Vec::new();
    missing_peers(observed, &mut problems);
    let members: Vec<PeerId> = observed
        .answered
        .iter()
        .filter(|(_, report)| report.view.standing == Standing::Member)
        .map(|(&peer, _)| peer)
        .collect();
    for (&peer, report) in &observed.answered {
        if report.view.standing != Standing::Member {
            problems.push(Problem::Unsettled {
                peer,
                standing: report.view.standing,
            });
        }
    }
    successor_pointers(observed, &members, &mut problems);
    key_ownership(observed, &members, &mut problems);
    file_copies(observed, &members, &mut problems);
    problems
}

/// The live members after `peer`, clockwise, nearest first.
pub fn live_after(members: &[PeerId], peer: PeerId) -> Vec<PeerId> {
    let mut after: Vec<PeerId> = members.iter().copied().filter(|&p| p != peer).collect();
    after.sort_by_key(|p| p.0.wrapping_sub(peer.0));
    after
}

/// The member that answers for `key` when every pointer is right: the
/// first at or after it.
pub fn responsible_for(members: &[PeerId], key: u8) -> Option<PeerId> {
    members
        .iter()
        .copied()
        .min_by_key(|peer| peer.0.wrapping_sub(key))
}

/// The peers named as neighbours by those that answered, and which did not
/// answer themselves: silent ones, and ones whose port refused.
fn missing_peers(observed: &Observed, problems: &mut Vec<Problem>) {
    let mut named: BTreeMap<PeerId, BTreeSet<PeerId>> = BTreeMap::new();
    for (&peer, report) in &observed.answered {
        let view = &report.view;
        let neighbours = view.successors.iter().copied();
        for neighbour in neighbours.chain(view.predecessors.iter().flatten().copied()) {
            if neighbour != peer && !observed.answered.contains_key(&neighbour) {
                named.entry(neighbour).or_default().insert(peer);
            }
        }
    }
    for &peer in &observed.silent {
        let named_by = named.remove(&peer).unwrap_or_default();
        problems.push(Problem::Silent {
            peer,
            named_by: named_by.into_iter().collect(),
        });
    }
    for (peer, named_by) in named {
        problems.push(Problem::Gone {
            peer,
            named_by: named_by.into_iter().collect(),
        });
    }
}

fn successor_pointers(observed: &Observed, members: &[PeerId], problems: &mut Vec<Problem>) {
    let mut pointed_at = BTreeSet::new();
    for &peer in members {
        let view = &observed.answered[&peer].view;
        let mut expected = live_after(members, peer);
        expected.truncate(view.successor_count);
        let has = &view.successors;
        if has.get(..expected.len()) != Some(expected.as_slice()) {
            problems.push(Problem::WrongSuccessors {
                peer,
                has: has.clone(),
                expected,
            });
        }
        pointed_at.extend(has.first().copied());
    }
    if members.len() > 1 {
        for &peer in members {
            if !pointed_at.contains(&peer) {
                problems.push(Problem::Unreached { peer });
            }
        }
    }
}

/// Which members answer for each key, from their own first predecessors,
/// reported as runs of keys that share the same wrong answer.
fn key_ownership(observed: &Observed, members: &[PeerId], problems: &mut Vec<Problem>) {
    if members.is_empty() {
        return;
    }
    let arcs: Vec<(PeerId, PeerId)> = members
        .iter()
        .filter_map(|&peer| {
            let predecessor = observed.answered[&peer].view.first_predecessor()?;
            Some((predecessor, peer))
        })
        .collect();
    let answering = |key: u8| -> Vec<PeerId> {
        arcs.iter()
            .filter(|(predecessor, peer)| is_in_arc(predecessor.0, key, peer.0))
            .map(|&(_, peer)| peer)
            .collect()
    };
    // Runs are read starting just after a member, so that a run never
    // straddles the start of the scan.
    let start = members[0].0.wrapping_add(1);
    let mut run: Option<(u8, u8, Vec<PeerId>)> = None;
    let mut runs = Vec::new();
    for step in 0..=255u8 {
        let key = start.wrapping_add(step);
        let peers = answering(key);
        match &mut run {
            Some((_, last, same)) if *same == peers => *last = key,
            _ => {
                runs.extend(run.take());
                run = Some((key, key, peers));
            }
        }
    }
    runs.extend(run);
    for (first, last, peers) in runs {
        match peers.len() {
            0 => problems.push(Problem::UnownedKeys { first, last }),
            1 => {}
            _ => problems.push(Problem::SharedKeys { first, last, peers }),
        }
    }
}

fn file_copies(observed: &Observed, members: &[PeerId], problems: &mut Vec<Problem>) {
    let mut holders: BTreeMap<FileName, BTreeSet<PeerId>> = BTreeMap::new();
    let mut owners: BTreeMap<FileName, BTreeSet<PeerId>> = BTreeMap::new();
    for (&peer, report) in &observed.answered {
        for &file in &report.stored {
            holders.entry(file).or_default().insert(peer);
            owners.entry(file).or_default().insert(peer);
        }
        for &file in &report.replicas {
            holders.entry(file).or_default().insert(peer);
        }
    }
    for (file, at) in holders {
        let Some(responsible) = responsible_for(members, file.hash()) else {
            continue;
        };
        let view = &observed.answered[&responsible].view;
        let holders: Vec<PeerId> = at.into_iter().collect();
        let wanted = view.copies.min(members.len());
        if holders.len() < wanted {
            problems.push(Problem::TooFewCopies {
                file,
                holders: holders.clone(),
                wanted,
            });
        }
        let owned = owners.get(&file).is_some_and(|o| o.contains(&responsible));
        if view.files == FilePolicy::Follow && !owned {
            problems.push(Problem::NotAtResponsible {
                file,
                responsible,
                holders,
            });
        }
    }
}

/// Peers as a list has them: `4 5 8`, or `-` for none.
pub fn in_a_row(peers: &[PeerId]) -> String {
    if peers.is_empty() {
        return "-".to_string();
    }
    let names: Vec<String> = peers.iter().map(PeerId::to_string).collect();
    names.join(" ")
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let named = |named_by: &[PeerId]| match named_by {
            [] => String::new(),
            peers => format!(" (named by {})", peers_in_words(peers)),
        };
        let keys = |first: u8, last: u8| match first == last {
            true => format!("key {first}"),
            false => format!("keys {first}-{last}"),
        };
        match self {
            Problem::Silent { peer, named_by } => write!(
                f,
                "peer {peer} does not answer{}: its port takes connections, but no view came \
                 back (frozen, overloaded, or not a peer)",
                named(named_by)
            ),
            Problem::Gone { peer, named_by } => write!(
                f,
                "peer {peer} is named as a neighbour by {}, but nothing listens on its port",
                peers_in_words(named_by)
            ),
            Problem::Unsettled { peer, standing } => {
                let doing = match standing {
                    Standing::Joining => "still joining",
                    Standing::Leaving => "leaving",
                    Standing::Member => "a member",
                };
                write!(f, "peer {peer} is {doing}")
            }
            Problem::WrongSuccessors {
                peer,
                has,
                expected,
            } => write!(
                f,
                "peer {peer}'s successors are {}, but the live peers after it are {}",
                in_a_row(has),
                in_a_row(expected)
            ),
            Problem::Unreached { peer } => {
                write!(f, "no peer has peer {peer} as its first successor")
            }
            Problem::SharedKeys { first, last, peers } => write!(
                f,
                "peers {} each answer for {}",
                peers_in_words(peers),
                keys(*first, *last)
            ),
            Problem::UnownedKeys { first, last } => {
                write!(f, "no peer answers for {}", keys(*first, *last))
            }
            Problem::TooFewCopies {
                file,
                holders,
                wanted,
            } => write!(
                f,
                "file {file} has {} of its {wanted} copies (at {})",
                holders.len(),
                peers_in_words(holders)
            ),
            Problem::NotAtResponsible {
                file,
                responsible,
                holders,
            } => write!(
                f,
                "file {file} belongs to peer {responsible}, which does not hold it (held by {})",
                peers_in_words(holders)
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const TEACHING_RING: [u8; 7] = [2, 4, 5, 8, 9, 14, 19];

    fn file(number: u16) -> FileName {
        FileName::parse(&format!("{number:04}")).expect("a file name")
    }

    /// The report of a settled peer of `ring`, with R = 2 and K = `copies`.
    fn settled(ring: &[u8], peer: u8, copies: usize) -> PeerReport {
        let members: Vec<PeerId> = ring.iter().copied().map(PeerId).collect();
        let after = live_after(&members, PeerId(peer));
        let mut before = after.clone();
        before.reverse();
        PeerReport {
            view: View {
                peer: PeerId(peer),
                standing: Standing::Member,
                ping_interval: Duration::from_secs(1),
                successor_count: 2,
                copies,
                files: if copies > 1 {
                    FilePolicy::Follow
                } else {
                    FilePolicy::Stay
                },
                successors: after.iter().copied().take(2).collect(),
                predecessors: before.iter().copied().take(2).map(Some).collect(),
            },
            stored: Vec::new(),
            replicas: Vec::new(),
        }
    }

    fn ring_of(ring: &[u8], copies: usize) -> Observed {
        Observed {
            answered: ring
                .iter()
                .map(|&peer| (PeerId(peer), settled(ring, peer, copies)))
                .collect(),
            silent: BTreeSet::new(),
        }
    }

    fn report(observed: &mut Observed, peer: u8) -> &mut PeerReport {
        observed.answered.get_mut(&PeerId(peer)).expect("a peer")
    }

    fn described(observed: &Observed) -> Vec<String> {
        check(observed).iter().map(Problem::to_string).collect()
    }

    #[test]
    fn a_settled_ring_with_its_files_is_consistent() {
        let mut ring = ring_of(&TEACHING_RING, 2);
        report(&mut ring, 19).stored.push(file(2067));
        report(&mut ring, 2).replicas.push(file(2067));
        assert_eq!(check(&ring), []);
        let alone = ring_of(&[7, 200], 1);
        assert_eq!(described(&alone), Vec::<String>::new());
    }

    #[test]
    fn a_frozen_peer_is_silent_and_its_neighbours_point_past_nobody() {
        let mut ring = ring_of(&TEACHING_RING, 1);
        ring.answered.remove(&PeerId(5));
        ring.silent.insert(PeerId(5));
        let problems = described(&ring);
        assert_eq!(
            problems[0],
            "peer 5 does not answer (named by 2, 4, 8 and 9): its port takes connections, but no \
             view came back (frozen, overloaded, or not a peer)"
        );
        assert!(problems.contains(
            &"peer 4's successors are 5 8, but the live peers after it are 8 9".to_string()
        ));
        assert!(problems.contains(&"no peer has peer 8 as its first successor".to_string()));
        assert!(problems.contains(&"no peer answers for key 5".to_string()));
    }

    #[test]
    fn a_pointer_that_skips_a_live_peer_is_named() {
        let mut ring = ring_of(&TEACHING_RING, 1);
        report(&mut ring, 4).view.successors = vec![PeerId(8), PeerId(9)];
        report(&mut ring, 2).view.successors = vec![PeerId(4), PeerId(8)];
        assert_eq!(
            described(&ring),
            [
                "peer 2's successors are 4 8, but the live peers after it are 4 5",
                "peer 4's successors are 8 9, but the live peers after it are 5 8",
                "no peer has peer 5 as its first successor",
            ]
        );
    }

    #[test]
    fn a_stale_predecessor_makes_two_peers_answer_for_the_same_keys() {
        let mut ring = ring_of(&TEACHING_RING, 1);
        // 8 still believes 4 comes before it, as if 5 had not joined.
        report(&mut ring, 8).view.predecessors = vec![Some(PeerId(4)), Some(PeerId(2))];
        assert_eq!(described(&ring), ["peers 5 and 8 each answer for key 5"]);
    }

    #[test]
    fn a_peer_named_as_a_neighbour_whose_port_is_closed_is_gone() {
        let mut ring = ring_of(&TEACHING_RING, 1);
        ring.answered.remove(&PeerId(14));
        let problems = described(&ring);
        assert_eq!(
            problems[0],
            "peer 14 is named as a neighbour by 2, 8, 9 and 19, but nothing listens on its port"
        );
    }

    #[test]
    fn a_file_short_of_copies_or_away_from_its_peer_is_named() {
        let mut ring = ring_of(&TEACHING_RING, 3);
        report(&mut ring, 19).stored.push(file(2067));
        report(&mut ring, 2).replicas.push(file(2067));
        // 4103 hashes to 7, so it belongs to 8, but only 9 holds it.
        report(&mut ring, 9).replicas.push(file(4103));
        assert_eq!(
            described(&ring),
            [
                "file 2067 has 2 of its 3 copies (at 2 and 19)",
                "file 4103 has 1 of its 3 copies (at 9)",
                "file 4103 belongs to peer 8, which does not hold it (held by 9)",
            ]
        );
    }

    #[test]
    fn joining_and_leaving_peers_are_not_settled() {
        let mut ring = ring_of(&TEACHING_RING, 1);
        report(&mut ring, 9).view.standing = Standing::Leaving;
        let problems = described(&ring);
        assert_eq!(problems[0], "peer 9 is leaving");
    }
}
