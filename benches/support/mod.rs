//! Printing helpers shared by the benchmarks: the machine they ran on,
//! section headings, and the statistics of a handful of timings; and, in
//! `rings`, what the two ring benchmarks share.

pub mod rings;

use std::process::Command;
use std::time::Duration;

/// Prints what produced the figures and on what machine, so that a table
/// copied into a report carries its provenance.
pub fn print_machine(title: &str) {
    println!("{title}");
    println!(
        "machine: {} cores (nproc), Linux {} (uname -r)",
        command_output("nproc", &[]),
        command_output("uname", &["-r"])
    );
    println!("peer binary: {}", env!("CARGO_BIN_EXE_p2p"));
}

/// Prints a blank line, then a section's title and the lines that explain
/// its table, indented under the title, then a blank line.
pub fn print_heading(lines: &[String]) {
    println!();
    for (index, line) in lines.iter().enumerate() {
        let indent = if index == 0 { "" } else { "   " };
        println!("{indent}{line}");
    }
    println!();
}

/// The trimmed standard output of a command, or `unknown` if it cannot run.
pub fn command_output(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".to_string())
}

/// The median of `values`: the middle one, or the mean of the two middle
/// ones when there is an even number of them.
pub fn median(values: &[Duration]) -> Duration {
    let mut sorted = values.to_vec();
    sorted.sort();
    let middle = sorted.len() / 2;
    if sorted.len().is_multiple_of(2) {
        (sorted[middle - 1] + sorted[middle]) / 2
    } else {
        sorted[middle]
    }
}

pub fn worst(values: &[Duration]) -> Duration {
    values.iter().copied().max().unwrap_or_default()
}

pub fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
