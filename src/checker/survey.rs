//! Asking the peers: every port of the ring's range is tried at once, and
//! each peer that answers is asked for its view and its files.
//!
//! Trying every port, rather than only following successors, is what finds
//! a live peer that no successor pointer reaches. A port that refuses has
//! no peer; a port that takes the connection but sends no view in time
//! belongs to a peer that is frozen or overloaded (or to something that is
//! not a peer), and is reported as silent.

use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use super::verdict::{Observed, PeerReport};
use crate::message::{Page, Reply, Request};
use crate::peer::NoAnswer;
use crate::ring::{FileName, Held, PeerId};
use crate::tcp::request_within;

/// How many ports are tried at the same time. A silent peer costs a whole
/// timeout, so trying ports one at a time would take minutes on a ring of
/// frozen peers; a few threads keep a survey within a few timeouts.
const PARALLEL_ASKS: usize = 16;

/// The most pages of files asked of one peer: enough for every one of the
/// 10,000 file names, so that a peer that claims more pages for ever is cut
/// off.
const MAX_PAGES: usize = 10_000 / crate::message::HELD_PAGE + 2;

/// Where the ring is and how long a peer may take to answer.
#[derive(Clone, Copy, Debug)]
pub struct SurveyConfig {
    pub host: IpAddr,
    pub base_port: u16,
    /// How long each question may take, connection included.
    pub timeout: Duration,
}

impl SurveyConfig {
    fn address(&self, peer: PeerId) -> Option<SocketAddr> {
        let port = self.base_port.checked_add(u16::from(peer.0))?;
        Some(SocketAddr::new(self.host, port))
    }
}

/// What one port said.
enum Answer {
    /// A peer of this ring, with its view and files.
    Peer(PeerReport),
    /// It took the connection but sent no view in time.
    Silent,
    /// Nothing listens there, or something that is not this ring's peer
    /// `id` answered.
    Nobody,
}

/// Asks every port of the range and gathers the answers.
pub fn survey(config: &SurveyConfig) -> Observed {
    // Each thread takes the next identity not yet asked until all 256 are.
    let next = AtomicUsize::new(0);
    let observed = Mutex::new(Observed::default());
    thread::scope(|scope| {
        for _ in 0..PARALLEL_ASKS {
            scope.spawn(|| {
                while let Ok(id) = u8::try_from(next.fetch_add(1, Ordering::Relaxed)) {
                    let peer = PeerId(id);
                    let answer = ask(config, peer);
                    let mut observed = observed.lock().unwrap_or_else(|e| e.into_inner());
                    match answer {
                        Answer::Peer(report) => {
                            observed.answered.insert(peer, report);
                        }
                        Answer::Silent => {
                            observed.silent.insert(peer);
                        }
                        Answer::Nobody => {}
                    }
                }
            });
        }
    });
    observed.into_inner().unwrap_or_else(|e| e.into_inner())
}

/// Asks one port for the view of peer `peer`, then for its files.
fn ask(config: &SurveyConfig, peer: PeerId) -> Answer {
    let Some(address) = config.address(peer) else {
        return Answer::Nobody;
    };
    let view = match request_within(address, &Request::Status, config.timeout) {
        Ok(Reply::View(view)) if view.peer == peer => view,
        Ok(_) | Err(NoAnswer::Refused) => return Answer::Nobody,
        Err(NoAnswer::Silent) => return Answer::Silent,
    };
    let files = |held| files_of(address, held, config.timeout);
    match (files(Held::Stored), files(Held::Replica)) {
        (Some(stored), Some(replicas)) => Answer::Peer(PeerReport {
            view,
            stored,
            replicas,
        }),
        // It answered once and then stopped: frozen in between.
        _ => Answer::Silent,
    }
}

/// Every file a peer holds as `held`, a page at a time.
fn files_of(address: SocketAddr, held: Held, timeout: Duration) -> Option<Vec<FileName>> {
    let mut files = Vec::new();
    let mut after = None;
    for _ in 0..MAX_PAGES {
        let request = Request::Holdings { held, after };
        let Ok(Reply::Held { page, files: more }) = request_within(address, &request, timeout)
        else {
            return None;
        };
        after = more.last().copied();
        files.extend(more);
        if page == Page::End || after.is_none() {
            return Some(files);
        }
    }
    Some(files)
}

/// The order to show the peers in: from `start` along first successors
/// (skipping a successor that did not answer), then any peer the walk did
/// not reach, in order of identity.
pub fn walk(observed: &Observed, start: PeerId) -> Vec<PeerId> {
    let mut order = vec![start];
    let mut at = start;
    while let Some(report) = observed.answered.get(&at) {
        let next = report
            .view
            .successors
            .iter()
            .copied()
            .find(|peer| observed.answered.contains_key(peer));
        match next {
            Some(next) if !order.contains(&next) => {
                order.push(next);
                at = next;
            }
            _ => break,
        }
    }
    let unreached: Vec<PeerId> = observed
        .answered
        .keys()
        .copied()
        .filter(|peer| !order.contains(peer))
        .collect();
    order.extend(unreached);
    order
}
