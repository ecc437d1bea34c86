//! The ring as a picture: an SVG file that any browser opens.
//!
//! Positions 0-255 go clockwise round a circle from the top. Each peer is a
//! dot at its position, with an arrow to its first successor; each file is
//! a small square on an inner circle at its hash, joined by thin lines to
//! the peers that hold it. What is wrong is drawn in red and listed under
//! the circle.

use std::collections::BTreeMap;
use std::f64::consts::PI;
use std::fmt::Write;

use super::verdict::{Observed, Problem};
use crate::message::Standing;
use crate::ring::{FileName, PeerId};

const SIZE: f64 = 640.0;
const CENTRE: f64 = SIZE / 2.0;
const PEER_RADIUS: f64 = 250.0;
const FILE_RADIUS: f64 = 195.0;
const LINE_HEIGHT: f64 = 18.0;

/// Peers fewer positions apart than this have their labels staggered.
const CLOSE: u8 = 5;

const OK_COLOUR: &str = "#2b6cb0";
const FILE_COLOUR: &str = "#2f855a";
const WRONG_COLOUR: &str = "#c53030";
const QUIET_COLOUR: &str = "#a0aec0";

/// The point at ring position `position`, on a circle of `radius`.
fn point(position: u8, radius: f64) -> (f64, f64) {
    let angle = f64::from(position) / 256.0 * 2.0 * PI;
    (CENTRE + radius * angle.sin(), CENTRE - radius * angle.cos())
}

/// The whole picture, as the text of an SVG file.
pub fn svg(base_port: u16, observed: &Observed, problems: &[Problem]) -> String {
    let lines: usize = problems
        .iter()
        .map(|problem| wrapped(&problem.to_string()).len())
        .sum();
    let height = SIZE + LINE_HEIGHT * (lines as f64 + 2.0);
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{SIZE}\" height=\"{height}\" \
         viewBox=\"0 0 {SIZE} {height}\" font-family=\"sans-serif\" font-size=\"13\">"
    );
    svg.push_str(
        "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" \
         markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\">\
         <path d=\"M 0 0 L 10 5 L 0 10 z\" fill=\"#4a5568\"/></marker></defs>\n",
    );
    let _ = writeln!(
        svg,
        "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <circle cx=\"{CENTRE}\" cy=\"{CENTRE}\" r=\"{PEER_RADIUS}\" fill=\"none\" \
         stroke=\"#e2e8f0\" stroke-width=\"2\"/>"
    );
    for position in [0u8, 64, 128, 192] {
        let (x, y) = point(position, PEER_RADIUS + 40.0);
        let _ = writeln!(
            svg,
            "<text x=\"{x:.1}\" y=\"{y:.1}\" fill=\"{QUIET_COLOUR}\" text-anchor=\"middle\" \
             dominant-baseline=\"middle\">{position}</text>"
        );
    }
    files(&mut svg, observed, problems);
    arrows(&mut svg, observed);
    peers(&mut svg, observed, problems);
    captions(&mut svg, base_port, problems);
    svg.push_str("</svg>\n");
    svg
}

/// Each file at its hash, joined to its holders.
fn files(svg: &mut String, observed: &Observed, problems: &[Problem]) {
    let mut holders: BTreeMap<FileName, Vec<PeerId>> = BTreeMap::new();
    for (&peer, report) in &observed.answered {
        for &file in report.stored.iter().chain(&report.replicas) {
            holders.entry(file).or_default().push(peer);
        }
    }
    // Files with the same hash are stacked inwards, so none hides another.
    let mut at_hash: BTreeMap<u8, f64> = BTreeMap::new();
    for (file, peers) in holders {
        let wrong = problems.iter().any(|problem| match problem {
            Problem::TooFewCopies { file: f, .. } | Problem::NotAtResponsible { file: f, .. } => {
                *f == file
            }
            _ => false,
        });
        let colour = if wrong { WRONG_COLOUR } else { FILE_COLOUR };
        let inset = at_hash.entry(file.hash()).or_insert(0.0);
        let (x, y) = point(file.hash(), FILE_RADIUS - *inset);
        *inset += 16.0;
        for peer in peers {
            let (px, py) = point(peer.0, PEER_RADIUS);
            let _ = writeln!(
                svg,
                "<line x1=\"{x:.1}\" y1=\"{y:.1}\" x2=\"{px:.1}\" y2=\"{py:.1}\" \
                 stroke=\"{colour}\" stroke-width=\"0.8\" stroke-dasharray=\"3 3\"/>"
            );
        }
        let _ = writeln!(
            svg,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"8\" height=\"8\" fill=\"{colour}\"/>\
             <text x=\"{x:.1}\" y=\"{:.1}\" fill=\"{colour}\" font-size=\"10\" \
             text-anchor=\"middle\">{file}</text>",
            x - 4.0,
            y - 4.0,
            y + 15.0
        );
    }
}

/// An arrow from each peer to its first successor, bowed towards the
/// centre so that arrows between neighbours stay visible.
fn arrows(svg: &mut String, observed: &Observed) {
    for (&peer, report) in &observed.answered {
        let Some(&successor) = report.view.successors.first() else {
            continue;
        };
        let (x1, y1) = point(peer.0, PEER_RADIUS - 10.0);
        let (x2, y2) = point(successor.0, PEER_RADIUS - 10.0);
        let middle = peer.0.wrapping_add(successor.0.wrapping_sub(peer.0) / 2);
        let span = f64::from(successor.0.wrapping_sub(peer.0));
        let (cx, cy) = point(middle, PEER_RADIUS - 30.0 - span / 2.0);
        let _ = writeln!(
            svg,
            "<path d=\"M {x1:.1} {y1:.1} Q {cx:.1} {cy:.1} {x2:.1} {y2:.1}\" fill=\"none\" \
             stroke=\"#4a5568\" stroke-width=\"1.5\" marker-end=\"url(#arrow)\"/>"
        );
    }
}

/// A dot and a label for each peer: blue when it answered as a member,
/// red when it has a problem or did not answer.
fn peers(svg: &mut String, observed: &Observed, problems: &[Problem]) {
    let named = |peer: PeerId| {
        problems.iter().any(|problem| match problem {
            Problem::Silent { peer: p, .. }
            | Problem::Gone { peer: p, .. }
            | Problem::Unsettled { peer: p, .. }
            | Problem::WrongSuccessors { peer: p, .. }
            | Problem::Unreached { peer: p } => *p == peer,
            _ => false,
        })
    };
    let mut everyone: Vec<(PeerId, &str)> = Vec::new();
    for (&peer, report) in &observed.answered {
        let settled = report.view.standing == Standing::Member;
        let colour = if named(peer) || !settled {
            WRONG_COLOUR
        } else {
            OK_COLOUR
        };
        everyone.push((peer, colour));
    }
    everyone.extend(observed.silent.iter().map(|&peer| (peer, WRONG_COLOUR)));
    everyone.sort_by_key(|&(peer, _)| peer);
    // Neighbours a few positions apart would write their labels over each
    // other: every other one of a close run goes further out.
    let mut previous: Option<(u8, bool)> = None;
    for (peer, colour) in everyone {
        let further = match previous {
            Some((before, was_further)) if peer.0 - before < CLOSE => !was_further,
            _ => false,
        };
        previous = Some((peer.0, further));
        let (x, y) = point(peer.0, PEER_RADIUS);
        let label_radius = PEER_RADIUS + if further { 36.0 } else { 20.0 };
        let (lx, ly) = point(peer.0, label_radius);
        let _ = writeln!(
            svg,
            "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"8\" fill=\"{colour}\"/>\
             <text x=\"{lx:.1}\" y=\"{ly:.1}\" fill=\"{colour}\" font-weight=\"bold\" \
             text-anchor=\"middle\" dominant-baseline=\"middle\">{peer}</text>"
        );
    }
}

/// The title and the verdict, under the circle.
fn captions(svg: &mut String, base_port: u16, problems: &[Problem]) {
    let mut y = SIZE;
    let (title, colour) = if problems.is_empty() {
        (
            format!("Ring on base port {base_port}: consistent"),
            OK_COLOUR,
        )
    } else {
        (
            format!("Ring on base port {base_port}: not consistent"),
            WRONG_COLOUR,
        )
    };
    let _ = writeln!(
        svg,
        "<text x=\"20\" y=\"{y}\" fill=\"{colour}\" font-weight=\"bold\">{title}</text>"
    );
    for problem in problems {
        for (index, line) in wrapped(&problem.to_string()).iter().enumerate() {
            y += LINE_HEIGHT;
            let indent = if index == 0 { 20 } else { 32 };
            let _ = writeln!(
                svg,
                "<text x=\"{indent}\" y=\"{y}\" fill=\"{WRONG_COLOUR}\">{}</text>",
                escape(line)
            );
        }
    }
}

/// A problem's text cut into lines that fit the picture's width.
fn wrapped(text: &str) -> Vec<String> {
    const WIDTH: usize = 80;
    let mut lines: Vec<String> = Vec::new();
    for word in text.split(' ') {
        match lines.last_mut() {
            Some(line) if line.len() + 1 + word.len() <= WIDTH => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    lines
}

/// Text made safe to put between XML tags.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
