//! Vetting uploads: every violation in an archive, and what a Cargo registry
//! needs of a `.crate` on top of the extraction policy. The pipeline's
//! checking sink.

use std::io::Read;

use crate::error::Error;
use crate::escape::{SHOWN_NAME_BYTES, escape_truncated};
use crate::kind::Kind;
use crate::list::Action;
use crate::options::Options;
use crate::pipeline::{Copies, Judged, LinkJudged, OnRefusal, Pipeline, Sink, refusal};
use crate::policy::{Outcome, Plan, normalize};
use crate::rule::{CrateProblem, Rule};

/// Violations a [`CheckReport`] keeps: 10,000. Every one after that is
/// counted in [`CheckReport::omitted`], so that an archive of a million bad
/// entries cannot make the report hold a million messages.
pub const MAX_VIOLATIONS: usize = 10_000;

/// Cargo unpacks at most this much of a crate whatever its compression ratio.
/// Applied by [`CrateRules`] (example there).
pub const CARGO_MAX_UNPACK_SIZE: u64 = 512 << 20;
/// Cargo's limit on the unpacked-to-compressed ratio above that floor.
/// Applied by [`CrateRules`] (example there).
pub const CARGO_MAX_RATIO: u64 = 20;

/// What a Cargo registry requires of a `.crate` file. Examples: the
/// setters below and [`Extractor::check`](crate::Extractor::check).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CrateRules {
    /// The directory every entry must be under: `<name>-<version>`.
    pub prefix: String,
    /// The size of the `.crate` file, for Cargo's ratio rule (`None`: only
    /// the 512 MiB floor applies).
    pub compressed_size: Option<u64>,
}

/// Building the rules: from a `.crate` file's name, or from a prefix, then
/// chained setters.
///
/// ```
/// use sealtar::CrateRules;
///
/// let rules = CrateRules::from_file_name("serde-1.0.200.crate", None).unwrap().compressed_size(77_000);
/// assert_eq!(rules.prefix, "serde-1.0.200");
/// assert_eq!(rules.compressed_size, Some(77_000));
///
/// let rules = CrateRules::new("anything", None).prefix("mycrate-0.1.0/");
/// assert_eq!(rules.prefix, "mycrate-0.1.0");
/// assert_eq!(rules.compressed_size, None);
/// ```
impl CrateRules {
    /// Rules with an explicit directory prefix (a trailing `/` is dropped).
    pub fn new(prefix: impl Into<String>, compressed_size: Option<u64>) -> CrateRules {
        CrateRules { prefix: prefix.into().trim_end_matches('/').to_string(), compressed_size }
    }

    /// Sets the directory every entry must be under (a trailing `/` is dropped).
    #[must_use]
    pub fn prefix(self, prefix: impl Into<String>) -> Self {
        CrateRules::new(prefix, self.compressed_size)
    }

    /// Sets the size of the `.crate` file, for Cargo's ratio rule.
    #[must_use]
    pub fn compressed_size(mut self, bytes: u64) -> Self {
        self.compressed_size = Some(bytes);
        self
    }

    /// Rules for a file named `<name>-<version>.crate`.
    pub fn from_file_name(file_name: &str, compressed_size: Option<u64>) -> Option<CrateRules> {
        let stem = file_name.strip_suffix(".crate")?;
        (!stem.is_empty()).then(|| CrateRules::new(stem, compressed_size))
    }

    fn size_limit(&self) -> u64 {
        CARGO_MAX_UNPACK_SIZE.max(self.compressed_size.unwrap_or(0).saturating_mul(CARGO_MAX_RATIO))
    }
}

/// One problem found by [`Extractor::check`](crate::Extractor::check) (which
/// has an example).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Violation {
    /// The entry, if the problem belongs to one.
    pub index: Option<u64>,
    /// The entry's path, escaped.
    pub path: Option<String>,
    /// The policy rule, for policy violations (`None` for malformed input and
    /// sandbox faults).
    pub rule: Option<Rule>,
    /// The whole explanation, escaped for display.
    pub message: String,
    id: &'static str,
}

impl Violation {
    fn of_rule(index: Option<u64>, path: Option<String>, rule: Rule, message: String) -> Violation {
        Violation { index, path, id: rule.id(), rule: Some(rule), message }
    }

    /// A stable identifier: the rule's id, or `malformed` (the archive cannot
    /// be parsed) or `sandbox` (the parser was stopped).
    pub fn id(&self) -> &'static str {
        self.id
    }
}

/// Everything [`Extractor::check`](crate::Extractor::check) found (which
/// has an example).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CheckReport {
    /// Entries read.
    pub entries: u64,
    /// Every violation, in archive order; archive-wide ones last. At most
    /// [`MAX_VIOLATIONS`] are kept.
    pub violations: Vec<Violation>,
    /// Violations found beyond the ones kept.
    pub omitted: u64,
    /// Entries that extraction would skip or replace by a copy
    /// (`--links`, `--special`), in archive order: (index, escaped path,
    /// what happens). Refused entries are violations instead. At most
    /// [`MAX_VIOLATIONS`] are kept; the rest are counted in
    /// [`actions_omitted`](Self::actions_omitted).
    pub actions: Vec<(u64, String, Action)>,
    /// Skipped or copied entries beyond the ones kept in
    /// [`actions`](Self::actions).
    pub actions_omitted: u64,
}

impl CheckReport {
    /// Whether the archive is acceptable.
    pub fn is_acceptable(&self) -> bool {
        self.violations.is_empty() && self.omitted == 0
    }
}

/// The checking sink: collects the violations of the judged entries and
/// links, and applies the crate rules to the tree extraction would write.
struct Collector<'a> {
    options: &'a Options,
    crate_state: Option<CrateState<'a>>,
    entries: u64,
    out: Vec<Violation>,
    omitted: u64,
    actions: Vec<(u64, String, Action)>,
    actions_omitted: u64,
}

/// Vets `reader` as [`Extractor::check`](crate::Extractor::check) does.
pub(crate) fn check<R: Read + Send>(
    pipeline: Pipeline<'_>,
    reader: R,
    crate_rules: Option<&CrateRules>,
) -> Result<CheckReport, Error> {
    let crate_state = crate_rules.map(|rules| CrateState { rules, cargo_toml: None, cargo_toml_dir: false, total: 0 });
    let mut collector = Collector {
        options: pipeline.options,
        crate_state,
        entries: 0,
        out: Vec::new(),
        omitted: 0,
        actions: Vec::new(),
        actions_omitted: 0,
    };
    let stopped = pipeline.run(reader, &mut collector)?.stopped;
    Ok(collector.finish(stopped))
}

impl Sink for Collector<'_> {
    fn wants_data(&self) -> bool {
        false
    }

    fn on_refusal(&self) -> OnRefusal {
        OnRefusal::Record
    }

    fn entry(&mut self, judged: &Judged<'_>) -> Result<(), Error> {
        let raw = judged.raw;
        self.entries += 1;
        if let Err(refused) = judged.verdict {
            self.refused(refused);
        }
        let Some(state) = self.crate_state.as_mut() else {
            if let Ok(accepted) = judged.verdict
                && accepted.plan == Plan::Skip
            {
                self.action(raw.index, &raw.path, Action::Skip);
            }
            return Ok(());
        };
        let mut found = state.archive_name(raw, self.options);
        if let Ok(accepted) = judged.verdict {
            match accepted.plan {
                Plan::Write => found.extend(state.written(raw.index, &accepted.path, accepted.kind, raw.size)),
                Plan::Skip => self.action(raw.index, &raw.path, Action::Skip),
                Plan::Copy | Plan::Excluded => {}
            }
        }
        for rule in found {
            self.crate_violation(raw.index, &raw.path, rule);
        }
        Ok(())
    }

    fn link(&mut self, link: &LinkJudged<'_>, copies: &mut Copies<'_, '_>) -> Result<(), Error> {
        let record = link.record;
        match link.outcome {
            Outcome::Copy { kind, bytes, .. } => {
                let of = copies.copy_of(link.outcome).unwrap_or_default();
                self.action(record.index, &record.raw_path, Action::Copy { of });
                if let (Some(state), Some(path)) = (self.crate_state.as_mut(), copies.written_path()) {
                    for rule in state.written(record.index, &path, *kind, *bytes) {
                        self.crate_violation(record.index, &record.raw_path, rule);
                    }
                }
            }
            Outcome::Skip(rule) => self.action(record.index, &record.raw_path, Action::SkipLink { rule: rule.clone() }),
            Outcome::Refuse(_) => {
                if let Some(refused) = link.refusal {
                    self.refused(refused);
                }
            }
            Outcome::NotWritten => {}
        }
        Ok(())
    }
}

impl Collector<'_> {
    fn push(&mut self, violation: impl FnOnce() -> Violation) {
        if self.out.len() < MAX_VIOLATIONS {
            self.out.push(violation());
        } else {
            self.omitted += 1;
        }
    }

    /// A refusal the pipeline built (an [`Error::Refused`]).
    fn refused(&mut self, refused: &Error) {
        if let Error::Refused { index, path, rule } = refused {
            self.push(|| Violation::of_rule(Some(*index), Some(path.clone()), rule.clone(), refused.to_string()));
        }
    }

    /// A crate rule broken by entry `index`, named `raw_path`.
    fn crate_violation(&mut self, index: u64, raw_path: &[u8], rule: Rule) {
        let refused = refusal(index, raw_path, rule);
        self.refused(&refused);
    }

    /// An entry extraction skips or replaces by a copy.
    fn action(&mut self, index: u64, raw_path: &[u8], action: Action) {
        if self.actions.len() < MAX_VIOLATIONS {
            self.actions.push((index, escape_truncated(raw_path, SHOWN_NAME_BYTES), action));
        } else {
            self.actions_omitted += 1;
        }
    }

    /// The report, given why reading stopped early (if it did).
    fn finish(mut self, error: Option<Error>) -> CheckReport {
        // Links were judged last; the report is in archive order.
        self.out.sort_by_key(|v| (v.index.is_none(), v.index));
        self.actions.sort_by_key(|(index, ..)| *index);
        if let Some(error) = &error {
            let message = error.to_string();
            match error {
                Error::Refused { index, path, rule } => {
                    // An archive-wide refusal is also the verdict of its entry; report it once.
                    let already = self.out.iter().any(|v| v.index == Some(*index) && v.rule.as_ref() == Some(rule));
                    if !already {
                        // Always shown, even past the cap: it is why reading stopped.
                        if self.omitted > 0 && *index + 1 == self.entries {
                            self.omitted -= 1;
                        }
                        self.out.push(Violation::of_rule(Some(*index), Some(path.clone()), rule.clone(), message));
                    }
                }
                other => {
                    let id = if matches!(other, Error::Malformed { .. }) { "malformed" } else { "sandbox" };
                    self.out.push(Violation { index: None, path: None, rule: None, message, id });
                }
            }
        }
        if let Some(state) = &self.crate_state
            && error.is_none()
            && state.cargo_toml.is_none()
            && !state.cargo_toml_dir
        {
            let rule = Rule::Crate(CrateProblem::MissingCargoToml);
            let message = format!("{rule} [rule {}]", rule.id());
            self.out.push(Violation::of_rule(None, None, rule, message));
        }
        CheckReport {
            entries: self.entries,
            violations: self.out,
            omitted: self.omitted,
            actions: self.actions,
            actions_omitted: self.actions_omitted,
        }
    }
}

/// The crate rules' state: judged on the archive's names (every entry under
/// the crate directory) and on the tree extraction writes (a `Cargo.toml`
/// that is a file, no `.cargo-ok`, Cargo's size rule).
struct CrateState<'r> {
    rules: &'r CrateRules,
    /// The first written `Cargo.toml` at the crate root (any letter case).
    cargo_toml: Option<u64>,
    /// A directory named `Cargo.toml` was reported already.
    cargo_toml_dir: bool,
    /// Bytes written, copies included.
    total: u64,
}

impl CrateState<'_> {
    /// Cargo refuses a `.crate` with any entry outside `<name>-<version>/`.
    fn archive_name(&mut self, raw: &crate::sandbox::RawEntry, options: &Options) -> Vec<Rule> {
        let kind = if raw.kind == Kind::Directory { Kind::Directory } else { Kind::File };
        // Entries the policy cannot even split are already violations.
        let Ok(components) = normalize(&raw.path, kind, options) else { return Vec::new() };
        match components.first() {
            Some(first) if *first == self.rules.prefix => Vec::new(),
            _ => vec![Rule::Crate(CrateProblem::OutsideDirectory { prefix: self.rules.prefix.clone() })],
        }
    }

    /// What entry `index` writes at `path` (a written path): a `kind` (file or
    /// directory) of `size` bytes in all.
    fn written(&mut self, index: u64, path: &str, kind: Kind, size: u64) -> Vec<Rule> {
        let mut found = Vec::new();
        self.total = self.total.saturating_add(size);
        let limit = self.rules.size_limit();
        if self.total > limit && self.total - size <= limit {
            found.push(Rule::Crate(CrateProblem::TooLarge { max: limit }));
        }
        let Some(rest) = path.strip_prefix(self.rules.prefix.as_str()).and_then(|r| r.strip_prefix('/')) else {
            return found;
        };
        let mut components = rest.split('/');
        let Some(name) = components.next() else { return found };
        let lower = name.to_lowercase();
        // `Cargo.toml` as a directory, explicit, implied by a path under it,
        // or a directory copy: Cargo needs the manifest to be a file.
        let is_dir = components.next().is_some() || kind == Kind::Directory;
        if lower == "cargo.toml" && is_dir {
            if !self.cargo_toml_dir {
                self.cargo_toml_dir = true;
                found.push(Rule::Crate(CrateProblem::CargoTomlNotFile));
            }
            return found;
        }
        if rest.contains('/') {
            return found;
        }
        if lower == "cargo.toml" {
            match self.cargo_toml {
                Some(first) => found.push(Rule::Crate(CrateProblem::SecondCargoToml { first })),
                None => self.cargo_toml = Some(index),
            }
        }
        if lower == ".cargo-ok" {
            found.push(Rule::Crate(CrateProblem::CargoOkFile));
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_comes_from_the_file_name() {
        let r = CrateRules::from_file_name("serde-1.0.200.crate", Some(10)).unwrap();
        assert_eq!(r.prefix, "serde-1.0.200");
        assert!(CrateRules::from_file_name("serde.tar.gz", None).is_none());
        assert_eq!(CrateRules::new("x-1.0/", None).prefix, "x-1.0");
    }

    #[test]
    fn cargo_size_rule() {
        assert_eq!(CrateRules::new("a", None).size_limit(), 512 << 20);
        assert_eq!(CrateRules::new("a", Some(100 << 20)).size_limit(), 2000 << 20);
    }
}
