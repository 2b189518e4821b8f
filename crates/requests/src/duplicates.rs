//! Duplicate detection: the open requests of the same category near a new one, through one
//! R-tree per category (rstar) on a local metric plane, so a lookup touches only the
//! neighbourhood, never the whole table.

use std::collections::HashMap;

use rstar::RTree;
use rstar::primitives::GeomWithData;

use crate::area::planar;

/// An open request as the index knows it: its position in metres, its id and when it was made
/// (Unix seconds).
type Entry = GeomWithData<[f64; 2], (i64, i64)>;

/// A request proposed as a duplicate.
#[derive(Debug, Clone, PartialEq)]
pub struct DuplicateCandidate {
    pub request_id: i64,
    pub distance_m: f64,
}

/// Open requests by category, for duplicate lookups.
#[derive(Debug, Default)]
pub struct DuplicateIndex {
    trees: HashMap<String, RTree<Entry>>,
    len: usize,
}

impl DuplicateIndex {
    pub fn new() -> DuplicateIndex {
        DuplicateIndex::default()
    }

    /// Builds the index in one pass (bulk loading gives a better tree than repeated inserts).
    pub fn bulk(open: impl IntoIterator<Item = (String, i64, f64, f64, i64)>) -> DuplicateIndex {
        let mut groups: HashMap<String, Vec<Entry>> = HashMap::new();
        for (code, id, lat, lon, at) in open {
            groups
                .entry(code)
                .or_default()
                .push(Entry::new(planar(lat, lon), (id, at)));
        }
        let len = groups.values().map(Vec::len).sum();
        DuplicateIndex {
            trees: groups
                .into_iter()
                .map(|(code, entries)| (code, RTree::bulk_load(entries)))
                .collect(),
            len,
        }
    }

    pub fn insert(&mut self, code: &str, id: i64, lat: f64, lon: f64, at: i64) {
        self.trees
            .entry(code.to_owned())
            .or_default()
            .insert(Entry::new(planar(lat, lon), (id, at)));
        self.len += 1;
    }

    /// Removes a request (closed or merged); returns whether it was there.
    pub fn remove(&mut self, code: &str, id: i64, lat: f64, lon: f64, at: i64) -> bool {
        let removed = self
            .trees
            .get_mut(code)
            .and_then(|tree| tree.remove(&Entry::new(planar(lat, lon), (id, at))))
            .is_some();
        self.len -= usize::from(removed);
        removed
    }

    /// Open requests of `code` within `radius_m` of the point, made at most `window_s` seconds
    /// before `at`, nearest first, at most `limit`.
    #[allow(clippy::too_many_arguments)]
    pub fn candidates(
        &self,
        code: &str,
        lat: f64,
        lon: f64,
        at: i64,
        radius_m: f64,
        window_s: i64,
        limit: usize,
    ) -> Vec<DuplicateCandidate> {
        let Some(tree) = self.trees.get(code) else {
            return Vec::new();
        };
        let point = planar(lat, lon);
        let mut found: Vec<DuplicateCandidate> = tree
            .locate_within_distance(point, radius_m * radius_m)
            .filter(|e| {
                let (_, made) = e.data;
                made <= at && at - made <= window_s
            })
            .map(|e| {
                let [x, y] = *e.geom();
                DuplicateCandidate {
                    request_id: e.data.0,
                    distance_m: ((x - point[0]).powi(2) + (y - point[1]).powi(2)).sqrt(),
                }
            })
            .collect();
        found.sort_by(|a, b| {
            a.distance_m
                .total_cmp(&b.distance_m)
                .then(a.request_id.cmp(&b.request_id))
        });
        found.truncate(limit);
        found
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_same_category_within_radius_and_window_nearest_first() {
        let mut index = DuplicateIndex::new();
        let day = 86_400;
        index.insert("OBJ-01", 1, 48.8606, 2.3376, 10 * day); // here
        index.insert("OBJ-01", 2, 48.8615, 2.3376, 10 * day); // ~100 m north
        index.insert("OBJ-01", 3, 48.8650, 2.3376, 10 * day); // ~490 m north
        index.insert("GRAF-01", 4, 48.8606, 2.3376, 10 * day); // other category
        index.insert("OBJ-01", 5, 48.8606, 2.3377, day); // too old
        let found = index.candidates("OBJ-01", 48.8607, 2.3376, 11 * day, 250.0, 7 * day, 10);
        let ids: Vec<i64> = found.iter().map(|c| c.request_id).collect();
        assert_eq!(ids, vec![1, 2]);
        assert!(found[0].distance_m < 15.0);

        assert!(index.remove("OBJ-01", 1, 48.8606, 2.3376, 10 * day));
        assert!(!index.remove("OBJ-01", 1, 48.8606, 2.3376, 10 * day));
        let ids: Vec<i64> = index
            .candidates("OBJ-01", 48.8607, 2.3376, 11 * day, 250.0, 7 * day, 10)
            .iter()
            .map(|c| c.request_id)
            .collect();
        assert_eq!(ids, vec![2]);
        assert_eq!(index.len(), 4);
    }
}
