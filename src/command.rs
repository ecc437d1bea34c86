//! The commands a user types on a peer's standard input.
//!
//! The reference spells them `Quit`, `Store NNNN` and `Request NNNN`. We
//! also accept lower case, because a person at a terminal types `quit` as
//! often as `Quit`, and surrounding spaces, because they are invisible.

use std::fmt;

use crate::output::Wording;
use crate::ring::FileName;

/// The hint shown for a line that is not a command.
pub const COMMAND_HINT: &str = "the commands are Quit, Store NNNN, Request NNNN and Status, \
                                in any case, where NNNN is a four-digit file name such as 2067";

/// The hint of the older course version, which has no `Store`.
pub const CDHT_COMMAND_HINT: &str = "the commands are request NNNN, status and quit, \
                                     in any case, where NNNN is a four-digit file name such as 2012";

/// A command typed by the user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    Quit,
    Store(FileName),
    Request(FileName),
    /// Not a command of the course: prints the peer's view of the ring.
    Status,
}

/// Why a typed line is not a command; its `Display` is the whole hint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommandError {
    Unknown {
        line: String,
        hint: &'static str,
    },
    /// `help`: not a command of the course, but the question it asks is
    /// answered, on standard error, with the hint.
    Help {
        hint: &'static str,
    },
    BadFileName {
        verb: &'static str,
        name: String,
    },
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::Unknown { line, hint } => write!(f, "unknown command {line:?}; {hint}"),
            CommandError::Help { hint } => f.write_str(hint),
            CommandError::BadFileName { verb, name } => write!(
                f,
                "{verb} needs a file name of exactly four digits (0000-9999), such as {verb} 2067, not {name:?}"
            ),
        }
    }
}

impl std::error::Error for CommandError {}

/// Reads one typed line. `Ok(None)` means the line was blank, which is
/// neither a command nor a mistake.
pub fn parse_command(line: &str) -> Result<Option<Command>, CommandError> {
    parse_command_of(Wording::P2p, line)
}

/// Reads one typed line as the course version `course` has its commands:
/// the older one (`cdht`) has `request` and `quit` only.
pub fn parse_command_of(course: Wording, line: &str) -> Result<Option<Command>, CommandError> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let Some((verb, arguments)) = words.split_first() else {
        return Ok(None);
    };
    let file_command = |verb: &'static str, make: fn(FileName) -> Command| {
        let name = arguments.join(" ");
        match arguments {
            [single] => FileName::parse(single)
                .map(|file| Some(make(file)))
                .ok_or(CommandError::BadFileName { verb, name }),
            _ => Err(CommandError::BadFileName { verb, name }),
        }
    };
    let (hint, request) = match course {
        Wording::P2p => (COMMAND_HINT, "Request"),
        Wording::Cdht => (CDHT_COMMAND_HINT, "request"),
    };
    match verb.to_ascii_lowercase().as_str() {
        "quit" if arguments.is_empty() => Ok(Some(Command::Quit)),
        "store" if course == Wording::P2p => file_command("Store", Command::Store),
        "request" => file_command(request, Command::Request),
        "status" if arguments.is_empty() => Ok(Some(Command::Status)),
        "help" | "?" => Err(CommandError::Help { hint }),
        _ => Err(CommandError::Unknown {
            line: line.trim().chars().take(60).collect(),
            hint,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> FileName {
        FileName::parse(text).expect("a valid name")
    }

    #[test]
    fn the_reference_commands() {
        assert_eq!(parse_command("Quit"), Ok(Some(Command::Quit)));
        assert_eq!(parse_command("quit"), Ok(Some(Command::Quit)));
        assert_eq!(parse_command("  Quit \r"), Ok(Some(Command::Quit)));
        assert_eq!(
            parse_command("Store 2067"),
            Ok(Some(Command::Store(file("2067"))))
        );
        assert_eq!(
            parse_command("request 0042"),
            Ok(Some(Command::Request(file("0042"))))
        );
        assert_eq!(parse_command("   "), Ok(None));
    }

    #[test]
    fn file_names_are_exactly_four_digits() {
        for bad in ["206", "20677", "abcd", "-123", "+123", "20 67", "２０６７"] {
            assert!(
                matches!(
                    parse_command(&format!("Store {bad}")),
                    Err(CommandError::BadFileName { .. })
                ),
                "{bad:?}"
            );
        }
        assert!(matches!(
            parse_command("Request"),
            Err(CommandError::BadFileName { .. })
        ));
    }

    #[test]
    fn the_older_version_has_request_status_and_quit_only() {
        let cdht = |line| parse_command_of(Wording::Cdht, line);
        assert_eq!(
            cdht("request 2012"),
            Ok(Some(Command::Request(file("2012"))))
        );
        assert_eq!(cdht("quit"), Ok(Some(Command::Quit)));
        assert_eq!(cdht("Status"), Ok(Some(Command::Status)));
        let error = cdht("store 2012").unwrap_err();
        assert!(
            error.to_string().contains("request NNNN, status and quit"),
            "{error}"
        );
    }

    #[test]
    fn help_is_answered_with_the_commands() {
        let help = parse_command("help").unwrap_err().to_string();
        assert!(help.starts_with("the commands are Quit"), "{help}");
        let cdht = parse_command_of(Wording::Cdht, "HELP")
            .unwrap_err()
            .to_string();
        assert!(
            cdht.starts_with("the commands are request NNNN, status and quit"),
            "{cdht}"
        );
    }

    #[test]
    fn unknown_commands_get_the_hint() {
        let error = parse_command("Hello there").unwrap_err();
        assert!(error.to_string().contains("the commands are Quit"));
        assert!(parse_command("Quit now").is_err());
        assert_eq!(parse_command(" STATUS "), Ok(Some(Command::Status)));
        assert!(parse_command("Status 4").is_err());
    }
}
