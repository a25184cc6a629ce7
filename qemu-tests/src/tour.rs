//! Keeps `docs/course/tour.md` true: every `Where:` line names files and
//! functions, and each named function must still be defined in its file.

use crate::qemu::workspace_root;

/// The (file, function) pairs of one `Where:` line:
/// ``Where: `path`, `fn name`; `path`, `fn name` ``.
fn places(line: &str) -> Vec<(String, String)> {
    line.trim_start_matches("Where:")
        .split(';')
        .filter_map(|place| {
            let mut quoted = place.split('`').skip(1).step_by(2);
            let path = quoted.next()?.to_string();
            let function = quoted.next()?.strip_prefix("fn ")?.to_string();
            Some((path, function))
        })
        .collect()
}

#[test]
fn every_function_the_tour_names_is_defined_where_it_says() {
    let tour = std::fs::read_to_string(workspace_root().join("docs/course/tour.md"))
        .expect("docs/course/tour.md");
    let mut checked = 0;
    for line in tour.lines().filter(|line| line.starts_with("Where:")) {
        let found = places(line);
        assert!(!found.is_empty(), "a Where: line names nothing: {line:?}");
        for (path, function) in found {
            let source = std::fs::read_to_string(workspace_root().join(&path))
                .unwrap_or_else(|_| panic!("the tour names {path}, which does not exist"));
            let defined = [format!("fn {function}("), format!("fn {function}<")]
                .iter()
                .any(|definition| source.contains(definition.as_str()));
            assert!(
                defined,
                "the tour names fn {function} in {path}, which has none"
            );
            checked += 1;
        }
    }
    assert!(checked >= 20, "the tour names only {checked} functions");
}
