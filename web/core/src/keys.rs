//! What a key means outside of text fields: j/k move, Enter/o open, r reply, n note, a assign,
//! e solve, / search (`tandem_web::shortcuts` listens to the keyboard and runs them).

/// What a key asks the page to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Next,
    Prev,
    Open,
    Reply,
    Note,
    Assign,
    Solve,
    Search,
}

/// What a key means, outside of text fields.
pub fn command_for(key: &str) -> Option<Command> {
    Some(match key {
        "j" | "ArrowDown" => Command::Next,
        "k" | "ArrowUp" => Command::Prev,
        "Enter" | "o" => Command::Open,
        "r" => Command::Reply,
        "n" => Command::Note,
        "a" => Command::Assign,
        "e" => Command::Solve,
        "/" => Command::Search,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_map_to_commands() {
        assert_eq!(command_for("j"), Some(Command::Next));
        assert_eq!(command_for("k"), Some(Command::Prev));
        assert_eq!(command_for("r"), Some(Command::Reply));
        assert_eq!(command_for("n"), Some(Command::Note));
        assert_eq!(command_for("a"), Some(Command::Assign));
        assert_eq!(command_for("e"), Some(Command::Solve));
        assert_eq!(command_for("/"), Some(Command::Search));
        assert_eq!(command_for("x"), None);
        assert_eq!(command_for("J"), None);
    }
}
