//! The English and Brazilian Portuguese READMEs are kept in sync: the same
//! commands, in the same order, under the same number of sections.

const ENGLISH: &str = include_str!("../../README.md");
const PORTUGUESE: &str = include_str!("../../README.pt-BR.md");

/// Every command line in the document's `sh` blocks, without comments.
fn commands(readme: &str) -> Vec<String> {
    let mut commands = Vec::new();
    let mut in_shell = false;
    for line in readme.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("```") {
            in_shell = !in_shell && trimmed == "```sh";
            continue;
        }
        if !in_shell || trimmed.starts_with('#') {
            continue;
        }
        // A comment starts at " # " (commands here never contain that).
        let command = trimmed.split(" # ").next().unwrap_or_default().trim_end();
        if !command.is_empty() {
            commands.push(command.to_owned());
        }
    }
    commands
}

fn headings(readme: &str) -> usize {
    readme
        .lines()
        .filter(|line| line.starts_with("## "))
        .count()
}

fn make_targets(readme: &str) -> Vec<&str> {
    let mut targets: Vec<&str> = readme
        .split("make ")
        .skip(1)
        .filter_map(|rest| rest.split(|c: char| !c.is_ascii_alphanumeric()).next())
        .filter(|target| ["run", "test", "soak", "setup", "clean"].contains(target))
        .collect();
    targets.sort_unstable();
    targets.dedup();
    targets
}

#[test]
fn both_readmes_list_the_same_commands_in_the_same_order() {
    let english = commands(ENGLISH);

    assert!(english.len() > 20, "the commands were found: {english:?}");
    assert_eq!(english, commands(PORTUGUESE));
}

#[test]
fn both_readmes_have_the_same_sections_and_make_targets() {
    assert_eq!(headings(ENGLISH), headings(PORTUGUESE));
    assert_eq!(make_targets(ENGLISH), make_targets(PORTUGUESE));
    assert!(make_targets(ENGLISH).contains(&"soak"));
}
