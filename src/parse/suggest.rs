//! "Did you mean …?": the closest known name to a mistyped one.

/// Names longer than this are not compared: the distance costs the product of the lengths,
/// and a server-sent token can be megabytes long.
const MAX_LEN: usize = 64;

/// The candidate closest to `name` (case-insensitive), if one is a typo away: at most two
/// edits, and fewer than half of `name`'s letters.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    if name.len() > MAX_LEN {
        return None;
    }
    let name = name.to_ascii_lowercase();
    let allowed = 2.min(name.chars().count().saturating_sub(1) / 2).max(1);
    candidates
        .into_iter()
        .filter(|c| c.len() <= MAX_LEN)
        .map(|c| (edit_distance(&c.to_ascii_lowercase(), &name), c))
        .filter(|(distance, _)| *distance <= allowed)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, c)| c)
}

/// Optimal string alignment distance: typos like `ExpiresDefualt` are one transposition away.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance() {
        assert_eq!(edit_distance("expiresdefualt", "expiresdefault"), 1);
        assert_eq!(edit_distance("rewriteengin", "rewriteengine"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
    }

    #[test]
    fn a_typo_finds_its_name_and_nonsense_finds_none() {
        let names = ["wordfence", "solid-security", "aios"];
        assert_eq!(closest("wordfnece", names), Some("wordfence"));
        assert_eq!(closest("WORDFENCE", names), Some("wordfence"));
        assert_eq!(closest("aio", names), Some("aios"));
        assert_eq!(closest("xyz", names), None);
        assert_eq!(closest(&"a".repeat(1_000_000), names), None);
    }
}
