//! The selection options, compiled once per [`Extractor`](crate::Extractor):
//! members, `--exclude` patterns and `--strip-components`. They apply after
//! every check: an entry left out is still vetted on its full name.

use crate::error::Error;
use crate::escape;
use crate::options::Options;

use super::exclude::Pattern;

/// Members, exclusions and stripping, compiled.
#[derive(Debug, Clone, Default)]
pub(crate) struct Selection {
    strip: usize,
    /// Each member's components, as in the archive.
    members: Vec<Vec<String>>,
    exclude: Vec<Pattern>,
}

impl Selection {
    /// Compiles the options' selection.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`] for a member name that names nothing.
    pub(crate) fn new(options: &Options) -> Result<Selection, Error> {
        let mut members = Vec::new();
        for m in &options.members {
            let comps: Vec<String> = m.split('/').filter(|c| !c.is_empty() && *c != ".").map(str::to_string).collect();
            if comps.is_empty() {
                return Err(Error::InvalidOption(format!(
                    "member \"{}\" names no entry (use no members to extract everything)",
                    escape(m.as_bytes())
                )));
            }
            members.push(comps);
        }
        let exclude = options.exclude.iter().map(|p| Pattern::new(p)).collect();
        Ok(Selection { strip: options.strip_components, members, exclude })
    }

    /// Whether any option leaves entries out or renames them.
    pub(crate) fn is_active(&self) -> bool {
        self.strip != 0 || !self.members.is_empty() || !self.exclude.is_empty()
    }

    /// How many members were asked for.
    pub(crate) fn member_count(&self) -> usize {
        self.members.len()
    }

    /// Whether the members select an entry with these (normalized)
    /// components, marking in `used` the members that match it. Without
    /// members, everything is selected.
    pub(crate) fn selects(&self, components: &[&str], used: &mut [bool]) -> bool {
        if self.members.is_empty() {
            return true;
        }
        let mut selected = false;
        for (m, used) in self.members.iter().zip(used.iter_mut()) {
            if components.len() >= m.len() && components.iter().zip(m).all(|(c, m)| c == m) {
                *used = true;
                selected = true;
            }
        }
        selected
    }

    /// Whether an `--exclude` pattern leaves out the member named `raw`, as
    /// the archive spells it.
    pub(crate) fn excludes(&self, raw: &str) -> bool {
        self.exclude.iter().any(|p| p.excludes(raw))
    }

    /// `--strip-components`.
    pub(crate) fn strip(&self) -> usize {
        self.strip
    }
}
