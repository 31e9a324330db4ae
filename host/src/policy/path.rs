//! Names: a raw member name split into safe components, or the rule it
//! breaks. The host applies this to every name on its own, trusting no
//! guest record, and `check` applies the same function, so that it never
//! accepts a name `extract` cannot create.

use crate::kind::Kind;
use crate::options::Options;
use crate::rule::Rule;

use super::portable;

/// Names starting with this are sealtar's staging directories; an archive may
/// not use them at its top level, or a later run would clean them up.
pub(crate) const STAGING_PREFIX: &str = ".sealtar-staging-";

/// The longest path the operating system opens: Linux's `PATH_MAX` is 4096
/// bytes *including* the terminating NUL. Paths are checked against this
/// whatever [`Options::max_path_bytes`] says, so that `check` never accepts
/// a path that `extract` cannot create.
pub(crate) const OS_PATH_MAX: usize = 4095;

/// The longest component the operating system stores: `NAME_MAX` on every
/// common file system.
pub(crate) const OS_NAME_MAX: usize = 255;

/// The path limit in force: the option, held to [`OS_PATH_MAX`].
pub(crate) fn max_path(options: &Options) -> usize {
    options.max_path_bytes.min(OS_PATH_MAX)
}

/// Splits a raw path into safe components, or names the rule it breaks.
/// A leading `./` and repeated `/` are dropped; a `.` component anywhere
/// else is refused ([`Rule::DotComponent`]).
pub(crate) fn normalize<'p>(raw: &'p [u8], kind: Kind, options: &Options) -> Result<Vec<&'p str>, Rule> {
    if raw.contains(&0) {
        return Err(Rule::NulByte);
    }
    let path = std::str::from_utf8(raw).map_err(|_| Rule::NotUtf8)?;
    let max_path = max_path(options);
    if path.len() > max_path {
        return Err(Rule::PathTooLong { len: path.len(), max: max_path });
    }
    if path.starts_with('/') {
        return Err(Rule::AbsolutePath);
    }
    let components: Vec<&str> = path.split('/').filter(|c| !c.is_empty() && *c != ".").collect();
    if components.contains(&"..") {
        return Err(Rule::ParentComponent);
    }
    if path.split('/').skip(1).any(|c| c == ".") {
        return Err(Rule::DotComponent);
    }
    let max_component = options.max_component_bytes.min(OS_NAME_MAX);
    if let Some(long) = components.iter().find(|c| c.len() > max_component) {
        return Err(Rule::ComponentTooLong { len: long.len(), max: max_component });
    }
    if components.len() > options.max_depth {
        return Err(Rule::TooDeep { depth: components.len(), max: options.max_depth });
    }
    for component in &components {
        // One rule, one id on every OS: what Windows itself cannot store is
        // reported exactly as `--portable` reports it elsewhere.
        if options.portable
            && let Some(why) = portable::component_problem(component)
        {
            return Err(Rule::NotPortable(why));
        }
        if let Some(why) = portable::native_problem(component) {
            return Err(Rule::NotPortable(why));
        }
    }
    if kind == Kind::File {
        if components.is_empty() {
            return Err(Rule::EmptyName);
        }
        if path.ends_with('/') {
            return Err(Rule::TrailingSlash);
        }
    }
    if components.first().is_some_and(|c| c.starts_with(STAGING_PREFIX)) {
        return Err(Rule::ReservedName);
    }
    Ok(components)
}

/// A path written by a link copy obeys the same length and depth limits as
/// a name: `len` bytes, `depth` components.
pub(crate) fn check_length(len: usize, depth: usize, options: &Options) -> Result<(), Rule> {
    let max_path = max_path(options);
    if len > max_path {
        return Err(Rule::PathTooLong { len, max: max_path });
    }
    if depth > options.max_depth {
        return Err(Rule::TooDeep { depth, max: options.max_depth });
    }
    Ok(())
}
