//! What `audit-cargo` prints: one line (or JSON object) per finding as soon
//! as its crate is done, notes on standard error, and the summary; and the
//! counts the exit status follows.

use std::collections::HashSet;
use std::io::{self, Write};
use std::process::ExitCode;
use std::time::Instant;

use sealtar::audit::{CrateAudit, Finding};
use sealtar::escape;

use crate::output::{Lenient, note, write_json};

/// Counts and exit status of an audit.
#[derive(Default)]
pub(super) struct Tally {
    /// Crate directories audited.
    pub(super) crates: u64,
    pub(super) clean: u64,
    pub(super) with_findings: u64,
    pub(super) findings: u64,
    pub(super) informational: u64,
    pub(super) errors: u64,
    /// Crate directories without their `.crate`.
    pub(super) unverifiable: u64,
    /// `.crate` files checked against the index cache, a lock file, neither.
    pub(super) index_checked: u64,
    pub(super) lock_checked: u64,
    pub(super) unanchored: u64,
    /// `.crate` files never unpacked (checked on their own).
    pub(super) not_extracted: u64,
    /// Packages the lock files lock, and those found nowhere.
    pub(super) locked: u64,
    pub(super) locked_missing: u64,
    /// Index cache files that could not be used.
    pub(super) index_unusable: u64,
}

impl Tally {
    fn exit_code(&self) -> ExitCode {
        if self.findings > 0 {
            ExitCode::from(1)
        } else if self.errors > 0 {
            ExitCode::from(2)
        } else {
            ExitCode::SUCCESS
        }
    }
}

/// What was audited: a crate directory, or a `.crate` never unpacked.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Audited {
    Directory,
    CrateFile,
}

/// Prints findings and errors as they come, and counts them.
pub(super) struct Reporter {
    json: bool,
    strict: bool,
    pub(super) tally: Tally,
    out: Lenient<io::Stdout>,
    progress: bool,
    total: usize,
    seen: usize,
    /// Index cache files already said to be unusable: (registry, file).
    unusable_noted: HashSet<(String, String)>,
}

impl Reporter {
    pub(super) fn new(json: bool, strict: bool, total: usize) -> Reporter {
        use std::io::IsTerminal;
        Reporter {
            json,
            strict,
            tally: Tally::default(),
            out: Lenient::new(io::stdout()),
            progress: io::stderr().is_terminal(),
            total,
            seen: 0,
            unusable_noted: HashSet::new(),
        }
    }

    /// Reports one crate's audit (`index`: the registry, or where the crate
    /// was found).
    pub(super) fn crate_done(
        &mut self,
        index: &str,
        name: &str,
        audited: Audited,
        result: Result<CrateAudit, sealtar::Error>,
    ) -> io::Result<()> {
        self.seen += 1;
        match audited {
            Audited::Directory => self.tally.crates += 1,
            Audited::CrateFile => self.tally.not_extracted += 1,
        }
        let crate_name = escape(name.as_bytes());
        match result {
            Err(e) => {
                self.tally.errors += 1;
                note!("sealtar: could not audit {crate_name} (index {}): {e}", escape(index.as_bytes()));
            }
            Ok(audit) => {
                if let Some((file, why)) = &audit.index_unusable
                    && self.unusable_noted.insert((index.to_string(), file.clone()))
                {
                    self.tally.index_unusable += 1;
                    note!(
                        "sealtar: registry/index/{}/{file} cannot be used ({why}): no index record for its crates",
                        escape(index.as_bytes())
                    );
                }
                if audit.findings.iter().any(|f| f.problem.is_unverifiable()) {
                    self.tally.unverifiable += 1;
                }
                if audit.crate_file {
                    self.tally.index_checked += u64::from(audit.index_checked);
                    self.tally.lock_checked += u64::from(audit.lock_checked);
                    self.tally.unanchored += u64::from(!audit.index_checked && !audit.lock_checked);
                }
                let serious = audit.findings.iter().filter(|f| !self.informational(f)).count() as u64;
                self.tally.findings += serious;
                self.tally.informational += audit.findings.len() as u64 - serious;
                if serious > 0 {
                    self.tally.with_findings += 1;
                } else if audit.findings.is_empty() && audited == Audited::Directory {
                    self.tally.clean += 1;
                }
                for finding in &audit.findings {
                    self.finding(index, &crate_name, finding)?;
                }
            }
        }
        if self.progress && (self.seen.is_multiple_of(64) || self.seen == self.total) {
            let end = if self.seen == self.total { "\n" } else { "" };
            let _ = write!(io::stderr(), "\rsealtar: audited {}/{} crates{end}", self.seen, self.total);
        }
        Ok(())
    }

    /// A finding that does not make the audit fail: informational, and under
    /// `--strict` not a directory that cannot be verified.
    fn informational(&self, finding: &Finding) -> bool {
        finding.problem.is_informational() && !(self.strict && finding.problem.is_unverifiable())
    }

    /// Prints one finding of the crate `crate_name` (escaped).
    pub(super) fn finding(&mut self, index: &str, crate_name: &str, finding: &Finding) -> io::Result<()> {
        let informational = self.informational(finding);
        if self.json {
            let doc = serde_json::json!({
                "crate": crate_name,
                "index": escape(index.as_bytes()),
                "path": finding.path,
                "finding": finding.problem.id(),
                "informational": informational,
                "message": finding.problem.to_string(),
            });
            write_json(&mut self.out, &doc)?;
            writeln!(self.out)?;
            return Ok(());
        }
        let note = if informational { " (informational)" } else { "" };
        let (problem, id) = (&finding.problem, finding.problem.id());
        if finding.path.is_empty() {
            writeln!(self.out, "{crate_name}: {problem}{note} [{id}]")
        } else {
            writeln!(self.out, "{crate_name} \"{}\": {problem}{note} [{id}]", finding.path)
        }
    }

    /// Counts and prints a finding that belongs to no audited crate (a
    /// locked package found nowhere).
    pub(super) fn extra_finding(&mut self, index: &str, crate_name: &str, finding: &Finding) -> io::Result<()> {
        if self.informational(finding) {
            self.tally.informational += 1;
        } else {
            self.tally.findings += 1;
            self.tally.with_findings += 1;
        }
        self.finding(index, &escape(crate_name.as_bytes()), finding)
    }

    /// Prints the summary (JSON on standard output with `--json`, a line on
    /// standard error always) and returns the exit code.
    pub(super) fn summary(mut self, what: &str, started: Instant) -> io::Result<ExitCode> {
        let t = &self.tally;
        let seconds = started.elapsed().as_secs_f64();
        if self.json {
            let doc = serde_json::json!({"summary": {
                "crates": t.crates,
                "clean": t.clean,
                "with_findings": t.with_findings,
                "findings": t.findings,
                "informational": t.informational,
                "unverifiable": t.unverifiable,
                "index_checked": t.index_checked,
                "lock_checked": t.lock_checked,
                "unanchored": t.unanchored,
                "not_extracted": t.not_extracted,
                "locked": t.locked,
                "locked_missing": t.locked_missing,
                "index_unusable": t.index_unusable,
                "errors": t.errors,
                "strict": self.strict,
                "seconds": seconds,
            }});
            write_json(&mut self.out, &doc)?;
            writeln!(self.out)?;
        }
        self.out.flush()?;
        let unverifiable = if self.strict { "a failure under --strict" } else { "informational; --strict fails them" };
        note!(
            "sealtar: audited {} {what} in {seconds:.2} s: {} clean, {} with {} finding(s), {} informational note(s), \
             {} could not be audited; {} without a .crate, which cannot be verified ({unverifiable}); \
             .crate SHA-256 checked against the index cache: {}, a lock file: {}, neither: {}; \
             {} .crate file(s) never extracted (checked on their own)",
            t.crates,
            t.clean,
            t.with_findings,
            t.findings,
            t.informational,
            t.errors,
            t.unverifiable,
            t.index_checked,
            t.lock_checked,
            t.unanchored,
            t.not_extracted,
        );
        if t.locked > 0 {
            note!("sealtar: {} locked package(s), {} of them not found [locked-missing]", t.locked, t.locked_missing);
        }
        Ok(t.exit_code())
    }
}
