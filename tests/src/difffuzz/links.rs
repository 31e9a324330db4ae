//! The links mode of the differential fuzzer: archives of files,
//! directories, symbolic and hard links (chains, links to directories and
//! to links, `..` and `.` in targets, targets that dangle, loop, or name a
//! later member), sometimes with `--strip-components 1` or an `--exclude`
//! pattern, extracted by sealtar under `--links copy` and by GNU tar and
//! Python's tarfile with their links, whose trees are read through them.
//!
//! Targets are generated to stay inside the destination by name (never
//! absolute, never more `..` than the link is deep), so that no reader
//! writes outside its temporary directory; through links to directories a
//! reader may still look outside (`..` climbs the physical tree), never
//! write there.

use super::generate::{Rng, case_seed};
use crate::Tar;

/// One generated case.
#[derive(Debug, Clone)]
pub struct LinkCase {
    /// The archive (plain tar).
    pub bytes: Vec<u8>,
    /// `--strip-components`.
    pub strip: usize,
    /// `--exclude` patterns.
    pub exclude: Vec<String>,
    /// What the generator did, for the report of a failing case.
    pub notes: Vec<String>,
}

/// A name placed so far.
#[derive(Debug, Clone)]
struct Placed {
    path: String,
    what: What,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum What {
    Dir,
    File,
    Symlink,
    Hardlink,
}

const NAMES: &[&str] = &["a", "b", "c", "lib", "src", "d", "x", "y"];

/// Case number `case` of the run with `seed`.
pub fn generate(seed: u64, case: u64) -> LinkCase {
    let mut rng = Rng::new(case_seed(seed ^ 0x4c49_4e4b, case));
    let mut notes = Vec::new();
    let strip = usize::from(rng.chance(1, 5));
    let top = if strip == 1 { "pkg/" } else { "" };
    if strip == 1 {
        notes.push("strip 1".into());
    }
    // The tree: directories, then files in them.
    let mut placed: Vec<Placed> = Vec::new();
    let mut dirs: Vec<String> = vec![String::new()];
    for _ in 0..rng.below(5) + 1 {
        let parent = dirs[rng.below(dirs.len())].clone();
        if parent.matches('/').count() >= 3 {
            continue;
        }
        let name = format!("{parent}{}/", rng.pick(NAMES));
        if !dirs.contains(&name) {
            dirs.push(name.clone());
            placed.push(Placed { path: name.trim_end_matches('/').to_string(), what: What::Dir });
        }
    }
    let mut taken: Vec<String> = placed.iter().map(|p| p.path.clone()).collect();
    let fresh = |rng: &mut Rng, taken: &mut Vec<String>, dirs: &[String]| -> String {
        loop {
            let dir = &dirs[rng.below(dirs.len())];
            let name = format!("{dir}{}{}", rng.pick(&["f", "g", "l", "m", "n"]), rng.below(9));
            // Not a name already taken, nor one that would be a directory.
            if !taken.contains(&name) && !dirs.iter().any(|d| d.trim_end_matches('/') == name) {
                taken.push(name.clone());
                return name;
            }
        }
    };
    let files = rng.below(5) + 1;
    let links = rng.below(10) + 1;
    // Members in archive order: files and links shuffled, so that links may
    // come before what they name.
    let mut order: Vec<bool> = std::iter::repeat_n(true, files).chain(std::iter::repeat_n(false, links)).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i + 1));
    }
    let mut t = Tar::new();
    for p in &placed {
        t.dir(&format!("{top}{}/", p.path));
    }
    for is_file in order {
        let name = fresh(&mut rng, &mut taken, &dirs);
        if is_file {
            let contents = format!("{name} {}\n", rng.below(1000));
            if rng.chance(1, 4) {
                t.exec_file(&format!("{top}{name}"), contents.as_bytes());
            } else {
                t.file(&format!("{top}{name}"), contents.as_bytes());
            }
            placed.push(Placed { path: name, what: What::File });
            continue;
        }
        let hard = rng.chance(1, 3);
        let target = if hard { hard_target(&mut rng, &placed, &taken) } else { sym_target(&mut rng, &name, &placed) };
        if hard {
            notes.push(format!("hard {name} -> {target}"));
            t.hardlink(&format!("{top}{name}"), &format!("{top}{target}"));
        } else {
            notes.push(format!("sym {name} -> {target}"));
            t.symlink(&format!("{top}{name}"), &target);
        }
        placed.push(Placed { path: name, what: if hard { What::Hardlink } else { What::Symlink } });
    }
    let mut exclude = Vec::new();
    if rng.chance(1, 5) {
        let pattern = match rng.below(3) {
            0 => rng.pick(NAMES).to_string(),
            1 => placed[rng.below(placed.len())].path.rsplit('/').next().unwrap_or("a").to_string(),
            _ => format!("*{}", rng.below(9)),
        };
        notes.push(format!("exclude {pattern}"));
        exclude.push(pattern);
    }
    LinkCase { bytes: t.finish(), strip, exclude, notes }
}

/// A symbolic link's target, relative to the link's directory: a placed
/// name reached up and down the tree (sometimes through `.`, a detour, or
/// another link), a name nobody has, or a directory above it (a cycle).
fn sym_target(rng: &mut Rng, link: &str, placed: &[Placed]) -> String {
    let depth = link.matches('/').count();
    let up = |n: usize| "../".repeat(n);
    let any = |rng: &mut Rng| placed.get(rng.below(placed.len().max(1))).map(|p| p.path.clone());
    let relative = |to: &str| -> String {
        // Up to the top, then down: never more `..` than the link is deep.
        format!("{}{to}", up(depth))
    };
    match rng.below(10) {
        0..=3 => any(rng).map_or_else(|| "nothing".into(), |p| shortest(link, &p).unwrap_or_else(|| relative(&p))),
        4 => any(rng).map_or_else(|| "nothing".into(), |p| format!("./{}", relative(&p))),
        5 => any(rng).map_or_else(
            || "nothing".into(),
            |p| {
                let detour = rng.pick(NAMES);
                format!("{}{detour}/../{p}", up(depth))
            },
        ),
        6 => format!("{}{}", up(depth), rng.pick(&["missing", "a/missing", "f9/x"])),
        7 if depth > 0 => up(rng.below(depth) + 1).trim_end_matches('/').to_string(),
        7 => ".".into(),
        8 => any(rng).map_or_else(|| "nothing".into(), |p| format!("{}/", relative(&p))),
        _ => any(rng).map_or_else(|| "nothing".into(), |p| relative(&p)),
    }
}

/// The shortest relative path from `link`'s directory to `to`, when `to`
/// is below that directory.
fn shortest(link: &str, to: &str) -> Option<String> {
    let dir = link.rsplit_once('/').map_or("", |(d, _)| d);
    if dir.is_empty() {
        return Some(to.to_string());
    }
    to.strip_prefix(&format!("{dir}/")).map(str::to_string)
}

/// A hard link's target, from the top: a placed name (often a file or a
/// link; sometimes a directory), a name placed later (taken, not yet
/// written), a name nobody has, or one with `..` inside.
fn hard_target(rng: &mut Rng, placed: &[Placed], taken: &[String]) -> String {
    let files: Vec<&Placed> = placed.iter().filter(|p| p.what != What::Dir).collect();
    let pick_file = |rng: &mut Rng| files.get(rng.below(files.len().max(1))).map(|p| p.path.clone());
    match rng.below(10) {
        0..=4 => pick_file(rng).unwrap_or_else(|| "missing".into()),
        5 => taken[rng.below(taken.len())].clone(),
        6 => pick_file(rng).map_or_else(|| "missing".into(), |p| format!("{}/../{p}", rng.pick(NAMES))),
        7 => pick_file(rng)
            .map_or_else(|| "missing".into(), |p| format!("{}/{}/../{p}", rng.pick(NAMES), rng.pick(NAMES))),
        8 => placed.iter().find(|p| p.what == What::Dir).map_or_else(|| "missing".into(), |p| p.path.clone()),
        _ => "missing".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases_are_reproducible_and_varied() {
        let a = generate(7, 3);
        let b = generate(7, 3);
        assert_eq!(a.bytes, b.bytes);
        let notes: Vec<String> = (0..200).flat_map(|c| generate(7, c).notes).collect();
        for needle in ["hard ", "sym ", "/../", "strip 1", "exclude ", "missing"] {
            assert!(notes.iter().any(|n| n.contains(needle)), "{needle} never generated");
        }
    }
}
