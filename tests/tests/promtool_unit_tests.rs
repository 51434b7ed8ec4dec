//! The promtool differential: every unit-test file of `tests/rule-tests/` runs through Debian's
//! `promtool test rules` (Prometheus 2.42) and through `vitrine test rules`; the exit codes,
//! standard output and standard error must be the same, byte for byte.

use std::path::{Path, PathBuf};
use std::process::Command;
use vitrine_tests::binary;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("rule-tests")
}

/// Exit code, standard output and standard error of `program test rules FILE` in the corpus.
fn run(program: &Path, file: &str) -> (Option<i32>, String, String) {
    let out = Command::new(program)
        .args(["test", "rules", file])
        .current_dir(corpus())
        .env("VITRINE_LOG", "warn")
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", program.display()));
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn vitrine_test_rules_answers_as_promtool_on_every_file_of_the_corpus() {
    let mut files: Vec<String> = std::fs::read_dir(corpus())
        .expect("the corpus tests/rule-tests")
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|name| name.ends_with(".test.yml"))
        .collect();
    files.sort();
    assert!(files.len() >= 30, "the corpus is too small: {files:?}");
    let promtool = PathBuf::from("promtool");
    let (mut cases, mut failing, mut disagreements) = (0, 0, Vec::new());
    for file in &files {
        let text = std::fs::read_to_string(corpus().join(file)).expect("reading a test file");
        cases += text.matches("eval_time:").count();
        let expected = run(&promtool, file);
        let got = run(&binary(), file);
        failing += usize::from(expected.0 != Some(0));
        if expected != got {
            disagreements.push(format!(
                "{file}:\n  promtool (exit {:?}):\n{}{}\n  vitrine (exit {:?}):\n{}{}",
                expected.0, expected.1, expected.2, got.0, got.1, got.2
            ));
        }
    }
    println!(
        "promtool differential: {} files, {cases} cases ({failing} files failing in promtool), {} agree",
        files.len(),
        files.len() - disagreements.len()
    );
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}
