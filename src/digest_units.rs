//! Digests, checked one unit of chains at a time.
//!
//! SPEC "Scale": work splits along chains. A digest's signature comes from its sidecar or
//! from the digest that names it as previous, and its chain links only to digests of the
//! same account, region and trail, so every check a digest needs lies in its *chain group*:
//! the digests whose canonical keys share `AWSLogs/[o-ID/]ACCOUNT/CloudTrail-Digest/REGION/`
//! (`group_of`). Discovery writes digests and sidecars into streams sorted by canonical key
//! (so a group's digests come together) and notes any digest that names a previous digest in
//! another group (a moved or forged file); groups so linked form one unit. Each unit is read, its sidecars attached, its
//! signatures verified (`digest.rs`), its links checked (`chain.rs`) and its findings
//! written; then only a small `digest::Checked` per digest is kept. Memory holds one unit's
//! digests in full, not every digest of the bundle: a year of hourly digests in every region
//! is some 150,000.
//!
//! The results are those of checking every digest at once: each lookup of a unit's
//! digests (a previous digest by canonical key, the digest naming it, other copies of its
//! key, the sidecars of its key, the chain's other digests: a chain is one organization
//! layout, account, region and trail) stays inside the unit.

use crate::chain::{self, MissingDigest};
use crate::digest::{self, Checked, DigestFile, Shared};
use crate::discover::{attach_sidecars, SidecarAt};
use crate::findings::Finding;
use crate::keys::KeyRing;
use crate::spill::{Cursor, Sorted, Spill, SpillError};
use std::collections::{BTreeMap, BTreeSet};

/// The chain group of a canonical digest key: `AWSLogs/[o-ID/]ACCOUNT/CloudTrail-Digest/REGION/`
/// (with its final `/`, so that a group's keys are exactly those starting with it, and groups
/// sort as their keys do). Any other text gives its whole self: it names no digest.
pub fn group_of(canonical: &str) -> &str {
    let org = canonical
        .split('/')
        .nth(1)
        .is_some_and(|s| s.starts_with("o-"));
    let segments = if org { 5 } else { 4 };
    canonical
        .match_indices('/')
        .nth(segments - 1)
        .and_then(|(i, _)| canonical.get(..=i))
        .unwrap_or(canonical)
}

/// Ranges of `groups` (sorted) to check together: linked groups (a digest naming a previous
/// digest in the other) fall in one range.
fn units(groups: &[String], links: &BTreeSet<(String, String)>) -> Vec<(usize, usize)> {
    let index = |g: &str| groups.binary_search_by(|x| x.as_str().cmp(g)).ok();
    // reach[i]: the furthest group that group i must be checked with.
    let mut reach: Vec<usize> = (0..groups.len()).collect();
    let mut join = |a: usize, b: usize| {
        let (lo, hi) = (a.min(b), a.max(b));
        if let Some(r) = reach.get_mut(lo) {
            *r = (*r).max(hi);
        }
    };
    for (a, b) in links {
        if let (Some(a), Some(b)) = (index(a), index(b)) {
            join(a, b);
        }
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < groups.len() {
        let mut end = reach.get(i).copied().unwrap_or(i);
        let mut j = i;
        while j <= end {
            end = end.max(reach.get(j).copied().unwrap_or(j));
            j += 1;
        }
        out.push((i, end));
        i = end + 1;
    }
    out
}

/// What the digest checks leave for the later stages.
pub struct Outcome {
    /// Every digest, in the order of the stream (canonical key, then path).
    pub digests: Vec<Checked>,
    /// Position in `digests` of the digest read `seq`-th (`discover::ListedAt::seq`).
    pub digest_at: Vec<u32>,
    /// Digests the chains name and the bundle lacks.
    pub missing: Vec<MissingDigest>,
}

/// The streams and facts discovery gathered about digests.
pub struct Inputs<'a> {
    pub digests: &'a Sorted<DigestFile>,
    pub sidecars: &'a Sorted<SidecarAt>,
    /// Every chain group, with how many digests it holds.
    pub groups: &'a BTreeMap<String, u32>,
    pub links: &'a BTreeSet<(String, String)>,
    pub count: u32,
    pub ring: &'a KeyRing,
    pub window: (i64, i64),
}

/// Check every digest, unit by unit; their findings go to `findings`.
pub fn check(inp: &Inputs<'_>, findings: &mut Spill<Finding>) -> Result<Outcome, SpillError> {
    let groups: Vec<String> = inp.groups.keys().cloned().collect();
    let counts: Vec<usize> = inp.groups.values().map(|&n| n as usize).collect();
    // Where a key's group sorts among the groups: a sidecar whose group holds no digest
    // sorts between two and is passed over.
    let position =
        |canonical: &str| match groups.binary_search_by(|g| g.as_str().cmp(group_of(canonical))) {
            Ok(i) | Err(i) => i,
        };
    let mut out = Outcome {
        digests: Vec::with_capacity(usize::try_from(inp.count).unwrap_or(0)),
        digest_at: vec![0; usize::try_from(inp.count).unwrap_or(0)],
        missing: Vec::new(),
    };
    let mut shared = Shared::default();
    let mut digests = Cursor::new(inp.digests)?;
    let mut sidecars = Cursor::new(inp.sidecars)?;
    for (first, last) in units(&groups, inp.links) {
        // Sized exactly: a unit can be a year of one region's digests, and a vector that
        // doubles as it grows would hold up to twice that (three times while it moves).
        let size = counts.get(first..=last).map_or(0, |c| c.iter().sum());
        let mut unit: Vec<DigestFile> = Vec::with_capacity(size);
        while let Some(d) = digests.take_if(|d| position(&d.key.canonical) <= last)? {
            unit.push(d);
        }
        let mut signatures: Vec<SidecarAt> = Vec::new();
        while let Some(s) = sidecars.take_if(|s| position(&s.canonical) <= last)? {
            signatures.push(s);
        }
        attach_sidecars(&mut unit, signatures);
        let index = chain::Index::new(&unit);
        let next = index.next_signatures(&unit);
        digest::verify_all(&mut unit, &next, inp.ring);
        drop(next);
        let chains = chain::check(&unit, &index, inp.window);
        for f in chains
            .findings
            .into_iter()
            .chain(digest::findings(&unit, inp.window))
        {
            findings.push(f)?;
        }
        out.missing.extend(chains.missing);
        for d in &unit {
            let at = u32::try_from(out.digests.len()).unwrap_or(u32::MAX);
            if let Some(slot) = out.digest_at.get_mut(d.seq as usize) {
                *slot = at;
            }
            out.digests.push(d.checked(&mut shared));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const K: &str = "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2025/01/06/111122223333_CloudTrail-Digest_us-east-1_t_us-east-1_20250106T010000Z.json.gz";

    #[test]
    fn a_group_is_the_keys_account_and_region_folder() {
        assert_eq!(
            group_of(K),
            "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/"
        );
        assert_eq!(
            group_of("AWSLogs/o-abc/111122223333/CloudTrail-Digest/eu-west-1/2025/x"),
            "AWSLogs/o-abc/111122223333/CloudTrail-Digest/eu-west-1/"
        );
        // Too short to name a digest: itself.
        assert_eq!(group_of("AWSLogs/1/x"), "AWSLogs/1/x");
        assert_eq!(group_of(""), "");
        // A region that extends another's name is another group, sorted after it.
        let (a, b) = (
            group_of("AWSLogs/1/CloudTrail-Digest/us-east-1/2025/x"),
            group_of("AWSLogs/1/CloudTrail-Digest/us-east-1x/2025/x"),
        );
        assert!(a < b && !b.starts_with(a));
    }

    #[test]
    fn linked_groups_are_one_unit() {
        let g = |s: &str| s.to_owned();
        let groups = vec![
            g("AWSLogs/1/CloudTrail-Digest/a/"),
            g("AWSLogs/1/CloudTrail-Digest/b/"),
            g("AWSLogs/1/CloudTrail-Digest/c/"),
            g("AWSLogs/2/CloudTrail-Digest/a/"),
            g("AWSLogs/o-x/2/CloudTrail-Digest/a/"),
        ];
        // One account and region under two layouts are two chains, two units.
        assert_eq!(
            units(&groups, &BTreeSet::new()),
            vec![(0, 0), (1, 1), (2, 2), (3, 3), (4, 4)]
        );
        // A digest of group 2 naming one of group 0: 0..=2 together.
        let links = BTreeSet::from([(groups[2].clone(), groups[0].clone())]);
        assert_eq!(units(&groups, &links), vec![(0, 2), (3, 3), (4, 4)]);
        // A link to a group no digest is in changes nothing.
        let links = BTreeSet::from([(groups[1].clone(), g("AWSLogs/9/"))]);
        assert_eq!(
            units(&groups, &links),
            vec![(0, 0), (1, 1), (2, 2), (3, 3), (4, 4)]
        );
    }
}
