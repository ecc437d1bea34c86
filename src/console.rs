//! The terminal side of a peer: a thread that reads typed commands from
//! standard input.
//!
//! Peers often run in the background with nothing on their standard input,
//! so reaching the end of it only ends this thread; the peer goes on.

use std::io::{BufRead, Read};
use std::thread;

use crate::command::parse_command_of;
use crate::inbox::Inbox;
use crate::output::{Kind, Wording, echo_command, report};
use crate::peer::Event;

/// The longest line read as one command; a longer one is read in pieces,
/// each of which is then rejected as a command, so memory stays bounded.
const MAX_COMMAND_LEN: u64 = 1024;

/// Starts the thread that turns each typed line into an event. A line that
/// is not a command gets a one-line hint on standard error.
pub fn spawn_stdin_reader(inbox: Inbox, course: Wording) -> std::io::Result<()> {
    thread::Builder::new()
        .name("stdin-reader".into())
        .spawn(move || {
            let mut stdin = std::io::stdin().lock();
            let mut line = Vec::new();
            loop {
                line.clear();
                // Reading bytes rather than `lines()` means a line that is
                // not UTF-8 is just a bad command, and an error ends the loop
                // instead of repeating forever.
                match (&mut stdin)
                    .take(MAX_COMMAND_LEN)
                    .read_until(b'\n', &mut line)
                {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                let text = String::from_utf8_lossy(&line);
                echo_command(&text);
                match parse_command_of(course, &text) {
                    Ok(Some(command)) => {
                        if !inbox.event(Event::Typed(command)) {
                            return;
                        }
                    }
                    Ok(None) => {}
                    Err(error) => report!(Kind::Typing, "{error}"),
                }
            }
        })?;
    Ok(())
}
