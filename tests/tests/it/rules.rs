//! The rule table in `host/src/rule/table.rs` ([`sealtar::RULES`],
//! [`sealtar::GRAMMAR_RULES`]) is the one source for `docs/RULES.md`: the
//! part between `<!-- rules:begin -->` and `<!-- rules:end -->` must be
//! exactly what [`rules_markdown`] makes of it. After changing the table,
//! regenerate the section with
//!
//! ```text
//! make rules-doc
//! ```
//!
//! (which runs `SEALTAR_BLESS=1 cargo test --release --locked -p sealtar-tests --test it rules::`)
//! and commit `docs/RULES.md`.

use std::collections::BTreeSet;
use std::path::PathBuf;

use sealtar::{GRAMMAR_RULES, RULES, RuleInfo};

const BEGIN: &str = "<!-- rules:begin -->\n";
const END: &str = "<!-- rules:end -->";

fn repo_file(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

fn table(out: &mut String, rows: &[RuleInfo]) {
    out.push_str("| id | applies | what is refused, and why |\n|---|---|---|\n");
    for row in rows {
        out.push_str(&format!("| `{}` | {} | {} |\n", row.id, row.applies, row.summary));
    }
}

/// The generated section: the host's rules, then the guest grammar's.
fn rules_markdown() -> String {
    let mut out = String::from(
        "<!-- Generated from host/src/rule/table.rs by `make rules-doc`; edit the table there, not here. -->\n\n",
    );
    out.push_str("### Host policy\n\nThe `rule` of `--json` output and of `sealtar::Rule::id`.\n\n");
    table(&mut out, RULES);
    out.push_str(
        "\n### Guest grammar\n\nHeaders that GNU tar 1.34 and Python's tarfile read differently; the \
         message of the malformed-archive error ends in `[rule <id>]`.\n\n",
    );
    table(&mut out, GRAMMAR_RULES);
    out
}

#[test]
fn rules_doc_is_generated_from_the_rule_table() {
    let path = repo_file("docs/RULES.md");
    let text = std::fs::read_to_string(&path).expect("docs/RULES.md");
    let start = text.find(BEGIN).expect("docs/RULES.md has <!-- rules:begin -->") + BEGIN.len();
    let end = start + text[start..].find(END).expect("docs/RULES.md has <!-- rules:end -->");
    let generated = rules_markdown();
    if std::env::var_os("SEALTAR_BLESS").is_some_and(|v| v == "1") {
        let updated = format!("{}{generated}{}", &text[..start], &text[end..]);
        std::fs::write(&path, updated).expect("writing docs/RULES.md");
        return;
    }
    assert!(
        text[start..end] == generated,
        "docs/RULES.md is not what host/src/rule/table.rs generates; run `make rules-doc` and commit it.\n\
         --- in the file ---\n{}\n--- generated ---\n{generated}",
        &text[start..end]
    );
}

/// The ids `GrammarRule::id` returns in `guest/src/rules.rs`, and the
/// number of the enum's variants.
fn guest_grammar_ids() -> (BTreeSet<String>, usize) {
    let source = std::fs::read_to_string(repo_file("guest/src/rules.rs")).expect("guest/src/rules.rs");
    let enum_body = source.split("pub enum GrammarRule {").nth(1).and_then(|s| s.split('}').next()).expect("the enum");
    let variants = enum_body
        .lines()
        .map(str::trim)
        .filter(|l| l.ends_with(',') && l.starts_with(|c: char| c.is_ascii_uppercase()))
        .count();
    let id_fn = source.split("pub fn id(self)").nth(1).and_then(|s| s.split("\n    }").next()).expect("fn id");
    let ids = id_fn
        .lines()
        .filter_map(|l| l.trim().strip_prefix("GrammarRule::"))
        .filter_map(|l| l.split('"').nth(1))
        .map(str::to_owned)
        .collect();
    (ids, variants)
}

#[test]
fn grammar_rule_table_has_exactly_the_guest_ids() {
    let (guest, variants) = guest_grammar_ids();
    assert!(variants >= 6, "found {variants} GrammarRule variants; did guest/src/rules.rs change shape?");
    assert_eq!(guest.len(), variants, "every GrammarRule variant has one id");
    let host: BTreeSet<String> = GRAMMAR_RULES.iter().map(|row| row.id.to_owned()).collect();
    assert_eq!(host.len(), GRAMMAR_RULES.len(), "an id twice in GRAMMAR_RULES");
    assert_eq!(host, guest, "GRAMMAR_RULES (host/src/rule/table.rs) and GrammarRule::id (guest/src/rules.rs) differ");
    for id in &guest {
        assert!(!RULES.iter().any(|row| row.id == id), "{id} is both a host and a grammar rule");
    }
}
