//! The ring as text: a table of the peers in ring order, then the verdict.

use std::fmt::Write;

use super::verdict::{Observed, Problem, in_a_row};
use crate::message::View;
use crate::ring::{FileName, PeerId};

/// The whole report: the table, then "Consistent" or the list of problems.
pub fn render(
    base_port: u16,
    observed: &Observed,
    order: &[PeerId],
    problems: &[Problem],
) -> String {
    let mut text = String::new();
    let peers = observed.answered.len();
    let start = order
        .first()
        .map_or(String::new(), |peer| format!(", from peer {peer}"));
    let _ = writeln!(
        text,
        "Ring on base port {base_port}: {peers} peer{} answered{start}",
        plural(peers)
    );
    let mut rows = vec![[
        "peer".to_string(),
        "successors".to_string(),
        "predecessors".to_string(),
        "files".to_string(),
        "replicas".to_string(),
    ]];
    for peer in order {
        if let Some(report) = observed.answered.get(peer) {
            rows.push([
                peer.to_string(),
                in_a_row(&report.view.successors),
                predecessors(&report.view),
                files(&report.stored),
                files(&report.replicas),
            ]);
        }
    }
    for peer in &observed.silent {
        rows.push([
            peer.to_string(),
            "(does not answer)".to_string(),
            String::new(),
            String::new(),
            String::new(),
        ]);
    }
    text.push_str(&table(&rows));
    text.push_str(&verdict(observed, problems));
    text
}

/// The last lines: the verdict alone, which is also what `--watch` and
/// scripts look for.
pub fn verdict(observed: &Observed, problems: &[Problem]) -> String {
    if problems.is_empty() {
        let files: usize = {
            let mut all: Vec<FileName> = observed
                .answered
                .values()
                .flat_map(|report| report.stored.iter().chain(&report.replicas))
                .copied()
                .collect();
            all.sort_unstable();
            all.dedup();
            all.len()
        };
        let files = match files {
            0 => "no peer holds a file".to_string(),
            1 => "the 1 file has all its copies".to_string(),
            many => format!("all {many} files have all their copies"),
        };
        return format!(
            "Consistent: each peer points at the next live peers, each key has one peer that \
             answers for it, and {files}.\n"
        );
    }
    let mut text = format!(
        "Not consistent: {} problem{}:\n",
        problems.len(),
        plural(problems.len())
    );
    for problem in problems {
        let _ = writeln!(text, "  - {problem}");
    }
    text
}

fn plural(count: usize) -> &'static str {
    if count == 1 { "" } else { "s" }
}

/// Predecessors by position, `?` where a position is unknown.
fn predecessors(view: &View) -> String {
    if view.predecessors.is_empty() {
        return "-".to_string();
    }
    let names: Vec<String> = view
        .predecessors
        .iter()
        .map(|peer| peer.map_or("?".to_string(), |peer| peer.to_string()))
        .collect();
    names.join(" ")
}

fn files(files: &[FileName]) -> String {
    if files.is_empty() {
        return "-".to_string();
    }
    let names: Vec<String> = files.iter().map(FileName::to_string).collect();
    names.join(" ")
}

/// Lines up the columns; the peer column is right-aligned, the others
/// left-aligned, two spaces apart.
fn table(rows: &[[String; 5]]) -> String {
    let mut widths = [0; 5];
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    let mut text = String::new();
    for row in rows {
        let mut line = format!("  {:>width$}", row[0], width = widths[0]);
        for (cell, width) in row.iter().zip(widths).skip(1) {
            let _ = write!(line, "  {cell:<width$}");
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}
