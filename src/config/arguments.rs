//! Cutting a command line into its positional arguments and its options,
//! for both programs, with the mistakes people make typing them (one dash,
//! an option twice, an option with its value missing) said as such.

use super::UsageError;

/// The names of the options, without their leading `--`.
pub(super) const OPTIONS: [&str; 12] = [
    "base-port",
    "dir",
    "mss",
    "drop",
    "seed",
    "fixed-timeout",
    "successors",
    "replicas",
    "handover",
    "log",
    "quiet-pings",
    "echo-commands",
];

/// The options among [`OPTIONS`] that take no value.
pub(super) const FLAGS: [&str; 3] = ["handover", "quiet-pings", "echo-commands"];

/// A command line cut into its positional arguments and its options.
pub(super) struct SplitArgs<'a> {
    pub positional: Vec<String>,
    /// Each option's name, without the leading `--`, and its value.
    pub options: Vec<(&'a str, String)>,
}

/// Separates `--name value` (or `--name=value`) options from positional
/// arguments, in any order, for a program whose options are `known`, with
/// `unknown` to say what an unknown one, as typed, is.
pub(super) fn split_options_of<'a>(
    args: &'a [String],
    known: &[&str],
    unknown: fn(&str) -> UsageError,
) -> Result<SplitArgs<'a>, UsageError> {
    let mut positional = Vec::new();
    let mut options = Vec::new();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let Some(option) = arg.strip_prefix("--") else {
            if let Some(name) = single_dash_option(arg) {
                return Err(if known.contains(&name) {
                    UsageError::new(format!("{arg}: an option begins with two dashes: --{name}"))
                } else {
                    unknown(arg)
                });
            }
            positional.push(arg.clone());
            continue;
        };
        let name = option.split_once('=').map_or(option, |(name, _)| name);
        if !known.contains(&name) {
            return Err(unknown(&format!("--{name}")));
        }
        // Which of two values was meant is anybody's guess, so neither is
        // taken.
        if options.iter().any(|&(given, _)| given == name) {
            return Err(UsageError::new(format!(
                "--{name} is given twice; give it once"
            )));
        }
        let (name, value) = match option.split_once('=') {
            Some((name, _)) if FLAGS.contains(&name) => {
                return Err(UsageError::new(format!("--{name} takes no value")));
            }
            Some((name, value)) => (name, value.to_string()),
            None if FLAGS.contains(&option) => (option, String::new()),
            None => {
                // `--mss --drop 0.1`: the next word is another option, not
                // this one's value.
                let Some(value) = rest.next().filter(|value| !value.starts_with("--")) else {
                    return Err(UsageError::new(format!("--{option} needs a value")));
                };
                (option, value.clone())
            }
        };
        options.push((name, value));
    }
    Ok(SplitArgs {
        positional,
        options,
    })
}

/// The name of `-mss` or `-x` without its dash: a word of one dash and a
/// letter is an option typed with one dash too few. A negative number
/// (`-1`) is not: it is a bad argument, said as such where it is read.
fn single_dash_option(arg: &str) -> Option<&str> {
    let name = arg.strip_prefix('-')?;
    let name = name.split_once('=').map_or(name, |(name, _)| name);
    name.starts_with(|c: char| c.is_ascii_alphabetic())
        .then_some(name)
}

/// Checks that exactly the named positional arguments of `form` (`init`,
/// `join` or `cdht`) are present; an error says what the form takes, since
/// the usage is not shown with it.
pub(super) fn positional_args<'a, const N: usize>(
    given: &'a [String],
    form: &str,
    names: &[&str; N],
) -> Result<[&'a str; N], UsageError> {
    if given.is_empty() {
        return Err(UsageError::new(format!(
            "missing the arguments: {form} takes {}",
            names.join(" ")
        )));
    }
    if given.len() < N {
        return Err(UsageError::new(format!(
            "missing {}; {form} takes {}",
            names[given.len()..].join(" "),
            names.join(" ")
        )));
    }
    if given.len() > N {
        return Err(UsageError::new(format!(
            "unexpected argument {:?}; {form} takes {}",
            given[N],
            names.join(" ")
        )));
    }
    Ok(std::array::from_fn(|i| given[i].as_str()))
}
